package activities_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/models"
)

// fakeAutoTopUps is the auto top-up store in memory.
type fakeAutoTopUps struct {
	settings models.AutoTopUpSettings
	account  models.Account
	attempts map[string]models.AutoTopUpAttempt
}

func (f *fakeAutoTopUps) Settings(context.Context, int64) (models.AutoTopUpSettings, error) {
	return f.settings, nil
}
func (f *fakeAutoTopUps) Account(context.Context, int64) (models.Account, error) {
	return f.account, nil
}
func (f *fakeAutoTopUps) OwnerEmail(context.Context, int64) (string, error) {
	return "ana@example.com", nil
}
func (f *fakeAutoTopUps) StartAttempt(_ context.Context, a models.AutoTopUpAttempt) error {
	if _, ok := f.attempts[a.AttemptID]; !ok {
		f.attempts[a.AttemptID] = a
	}
	return nil
}
func (f *fakeAutoTopUps) FinishAttempt(_ context.Context, id string, st models.AutoTopUpAttemptStatus, code, msg, pi string) error {
	a := f.attempts[id]
	a.Status, a.DeclineCode, a.Message, a.PaymentIntentID = st, code, msg, pi
	f.attempts[id] = a
	return nil
}
func (f *fakeAutoTopUps) Credit(context.Context, int64, int64, string, string) (int64, error) {
	return 0, errors.New("not used")
}

// flakyCharges fails the first call like a network error, then answers as
// the sandbox does, recording each call's params.
type flakyCharges struct {
	calls []providers.ChargeParams
}

func (f *flakyCharges) ChargeSaved(ctx context.Context, in providers.ChargeParams) (providers.ChargeResult, error) {
	f.calls = append(f.calls, in)
	if len(f.calls) == 1 {
		return providers.ChargeResult{}, errors.New("stripe: connection reset")
	}
	return providers.New(config.Config{}, nil).Payments.ChargeSaved(ctx, in)
}

func newAutoTopUpActs(pm string) (*activities.Activities, *fakeAutoTopUps, *flakyCharges, *mail.Mailbox) {
	store := &fakeAutoTopUps{settings: models.AutoTopUpSettings{Enabled: true, PaymentMethodID: pm, CustomerID: "cus_1", ThresholdCents: 200, AmountCents: 2000, DailyMaxCount: 3, DailyMaxCents: 6000},
		account: models.Account{ID: 7, Status: models.StatusActive, BalanceCents: 150, HeldCents: 100}, attempts: map[string]models.AutoTopUpAttempt{}}
	ch := &flakyCharges{}
	box := mail.NewMailbox(nil)
	return &activities.Activities{AutoTopUps: store, Charges: ch, Mailer: box}, store, ch, box
}

func TestChargeAutoTopUp_ARetryAfterAnErrorUsesTheSameAttemptAndRecordsTheOutcome(t *testing.T) {
	acts, store, ch, _ := newAutoTopUpActs(providers.SandboxCardInsufficientFunds)
	in := activities.ChargeAutoTopUpInput{AttemptID: "auto-top-up-7-1", AccountID: 7, AmountCents: 2000}
	if _, err := acts.ChargeAutoTopUp(context.Background(), in); err == nil {
		t.Fatal("a network error should fail the activity so Temporal retries it")
	}
	res, err := acts.ChargeAutoTopUp(context.Background(), in)
	if err != nil || res.Outcome != providers.ChargeSoftDecline {
		t.Fatalf("retry: %+v, %v; want a soft decline as a result", res, err)
	}
	if ch.calls[0] != ch.calls[1] || ch.calls[0].AttemptID != in.AttemptID || ch.calls[0].CustomerID != "cus_1" || ch.calls[0].PaymentMethodID != providers.SandboxCardInsufficientFunds {
		t.Fatalf("calls %+v, want identical params (so the same Idempotency-Key) on the retry", ch.calls)
	}
	if a := store.attempts[in.AttemptID]; len(store.attempts) != 1 || a.Status != models.AttemptSoftDecline || a.DeclineCode != "insufficient_funds" {
		t.Fatalf("attempts %+v, want one row recording the soft decline", store.attempts)
	}
}

func TestChargeAutoTopUp_NoSavedCardIsNotRetried(t *testing.T) {
	acts, _, ch, _ := newAutoTopUpActs("")
	_, err := acts.ChargeAutoTopUp(context.Background(), activities.ChargeAutoTopUpInput{AttemptID: "a", AccountID: 7, AmountCents: 2000})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !app.NonRetryable() || app.Type() != activities.ErrTypeNoCard || len(ch.calls) != 0 {
		t.Fatalf("err %v after %d charges, want a non-retryable %s and no charge", err, len(ch.calls), activities.ErrTypeNoCard)
	}
}

func TestCheckAutoTopUp_UsesTheAvailableBalance(t *testing.T) {
	acts, _, _, _ := newAutoTopUpActs(providers.SandboxCardVisa)
	chk, err := acts.CheckAutoTopUp(context.Background(), 7)
	if err != nil || !chk.Enabled || chk.AvailableCents != 50 || !chk.Below() {
		t.Fatalf("check %+v (%v), want enabled with 50 cents available (150 minus a 100 hold), below the threshold", chk, err)
	}
}

func TestNotifyAutoTopUp_EmailsTheOwnerWhatHappenedAndWhereToFixIt(t *testing.T) {
	acts, _, _, box := newAutoTopUpActs(providers.SandboxCardVisa)
	ctx := context.Background()
	if err := acts.NotifyAutoTopUp(ctx, activities.NotifyAutoTopUpInput{AccountID: 7, Notice: activities.NoticeNeedsAuthentication, AmountCents: 2000, BaseURL: "https://app.example"}); err != nil {
		t.Fatal(err)
	}
	if err := acts.NotifyAutoTopUp(ctx, activities.NotifyAutoTopUpInput{AccountID: 7, Notice: activities.NoticeDeclined, AmountCents: 2000, Reason: "insufficient_funds", WillRetry: true, BaseURL: "https://app.example"}); err != nil {
		t.Fatal(err)
	}
	msgs := box.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d emails", len(msgs))
	}
	// The dev mailbox lists newest first.
	declined, auth := msgs[0], msgs[1]
	if auth.To != "ana@example.com" || !strings.Contains(auth.Subject, "approval") || !strings.Contains(auth.Text, "https://app.example/autotopup") || !strings.Contains(auth.Text, "$20.00") ||
		!strings.Contains(auth.Text, "https://app.example/credits?amount=2000") {
		t.Fatalf("authentication email: %+v", auth)
	}
	if !strings.Contains(declined.Subject, "declined") || !strings.Contains(declined.Text, "insufficient_funds") || !strings.Contains(declined.Text, "retry") {
		t.Fatalf("decline email: %+v", declined)
	}
}
