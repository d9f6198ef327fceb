package activities_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/models"
)

// fakeAutoTopUps is the auto top-up store in memory.
type fakeAutoTopUps struct {
	settings models.AutoTopUpSettings
	account  models.Account
	attempts map[string]models.AutoTopUpAttempt
	credited map[string]bool
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
	if a.CreatedAt.IsZero() {
		a.ID, a.CreatedAt = int64(len(f.attempts)+1), time.Now()
	}
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
func (f *fakeAutoTopUps) Attempt(_ context.Context, id string) (models.AutoTopUpAttempt, error) {
	return f.attempts[id], nil
}
func (f *fakeAutoTopUps) Credited(_ context.Context, pi string) (bool, error) {
	return f.credited[pi], nil
}
func (f *fakeAutoTopUps) SpentSince(_ context.Context, accountID int64, since time.Time) (n int, cents int64, _ error) {
	for _, a := range f.attempts {
		if a.AccountID == accountID && !a.CreatedAt.Before(since) && (a.Status == models.AttemptSucceeded || a.Status == models.AttemptCharging) {
			n, cents = n+1, cents+a.AmountCents
		}
	}
	return n, cents, nil
}
func (f *fakeAutoTopUps) ChargingAttempts(_ context.Context, accountID int64) ([]models.AutoTopUpAttempt, error) {
	var out []models.AutoTopUpAttempt
	for _, a := range f.attempts {
		if a.AccountID == accountID && a.Status == models.AttemptCharging {
			out = append(out, a)
		}
	}
	return out, nil
}
func (f *fakeAutoTopUps) Credit(context.Context, int64, int64, string, string) (int64, error) {
	return 0, errors.New("not used")
}

// flakyCharges fails the first call like a network error, then answers as
// the sandbox does, recording each call's params. With answersLost, every
// charge is made at the sandbox but its answer lost (a timeout after Stripe
// took it).
type flakyCharges struct {
	sandbox     providers.Payments
	calls       []providers.ChargeParams
	confirms    []providers.ConfirmParams
	cancels     []string
	answersLost bool
}

func (f *flakyCharges) ChargeSaved(ctx context.Context, in providers.ChargeParams) (providers.ChargeResult, error) {
	f.calls = append(f.calls, in)
	if f.answersLost {
		_, _ = f.sandbox.ChargeSaved(ctx, in)
		return providers.ChargeResult{}, errors.New("stripe: context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
	}
	if len(f.calls) == 1 {
		return providers.ChargeResult{}, errors.New("stripe: connection reset")
	}
	return f.sandbox.ChargeSaved(ctx, in)
}

func (f *flakyCharges) FindCharge(ctx context.Context, attemptID string) (providers.ChargeResult, bool, error) {
	return f.sandbox.FindCharge(ctx, attemptID)
}

func (f *flakyCharges) CancelPayment(ctx context.Context, pi, attemptID string) (bool, error) {
	f.cancels = append(f.cancels, pi)
	return providers.Sandbox(nil).Payments.CancelPayment(ctx, pi, attemptID)
}

func (f *flakyCharges) ConfirmOnSession(ctx context.Context, in providers.ConfirmParams) (providers.ConfirmResult, error) {
	f.confirms = append(f.confirms, in)
	return providers.Sandbox(nil).Payments.ConfirmOnSession(ctx, in)
}

func newAutoTopUpActs(pm string) (*activities.Activities, *fakeAutoTopUps, *flakyCharges, *mail.Mailbox) {
	store := &fakeAutoTopUps{settings: models.AutoTopUpSettings{Enabled: true, PaymentMethodID: pm, CustomerID: "cus_1", ThresholdCents: 200, AmountCents: 2000, DailyMaxCount: 3, DailyMaxCents: 6000},
		account: models.Account{ID: 7, Status: models.StatusActive, BalanceCents: 150, HeldCents: 100}, attempts: map[string]models.AutoTopUpAttempt{}}
	ch := &flakyCharges{sandbox: providers.Sandbox(nil).Payments}
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
	if err != nil || res.Outcome != activities.ChargeSoftDecline {
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
		!strings.Contains(auth.Text, "https://app.example/autotopup/approve") || strings.Contains(auth.Text, "/credits?amount=") {
		t.Fatalf("authentication email: %+v", auth)
	}
	if !strings.Contains(declined.Subject, "declined") || !strings.Contains(declined.Text, "insufficient_funds") || !strings.Contains(declined.Text, "retry") {
		t.Fatalf("decline email: %+v", declined)
	}
}

// needsAuth stores an attempt that waits for the owner's approval.
func needsAuth(store *fakeAutoTopUps) models.AutoTopUpAttempt {
	a := models.AutoTopUpAttempt{ID: 1, AttemptID: "auto-top-up-7-1", AccountID: 7, AmountCents: 2000,
		Status: models.AttemptNeedsAuthentication, PaymentIntentID: "pi_sandbox_auto-top-up-7-1"}
	store.attempts[a.AttemptID] = a
	return a
}

func nonRetryable(err error, typ string) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.NonRetryable() && app.Type() == typ
}

func TestApproveAutoTopUp_ConfirmsTheAttemptsOwnPaymentIntentWithTheSavedCard(t *testing.T) {
	acts, store, ch, _ := newAutoTopUpActs(providers.SandboxCardAuthenticationRequire)
	at := needsAuth(store)
	in := activities.ApproveAutoTopUpInput{AttemptID: at.AttemptID, AccountID: 7, PaymentIntentID: at.PaymentIntentID, Round: 1, ReturnURL: "https://app.example/autotopup?done=approved"}
	res, err := acts.ApproveAutoTopUp(context.Background(), in)
	if err != nil || res.Outcome != activities.ChargeNeedsAuthentication || !strings.Contains(res.RedirectURL, "/sandbox/authenticate/"+at.PaymentIntentID) {
		t.Fatalf("approve = %+v, %v; want the authentication page of the original PaymentIntent", res, err)
	}
	if len(ch.calls) != 0 || len(ch.confirms) != 1 || ch.confirms[0].PaymentIntentID != at.PaymentIntentID ||
		ch.confirms[0].PaymentMethodID != providers.SandboxCardAuthenticationRequire || ch.confirms[0].Round != 1 || ch.confirms[0].ReturnURL != in.ReturnURL {
		t.Fatalf("charges %+v, confirms %+v; want one confirmation of the original PaymentIntent and no new charge", ch.calls, ch.confirms)
	}
	// Another account's attempt, or another PaymentIntent, is refused for good.
	for _, bad := range []activities.ApproveAutoTopUpInput{{AttemptID: at.AttemptID, AccountID: 8, PaymentIntentID: at.PaymentIntentID},
		{AttemptID: at.AttemptID, AccountID: 7, PaymentIntentID: "pi_other"}, {AttemptID: "nope", AccountID: 7, PaymentIntentID: at.PaymentIntentID}} {
		if _, err := acts.ApproveAutoTopUp(context.Background(), bad); !nonRetryable(err, activities.ErrTypePaymentMismatch) {
			t.Errorf("approve %+v: %v, want a non-retryable %s", bad, err, activities.ErrTypePaymentMismatch)
		}
	}
	// Paid meanwhile: nothing to confirm, and Stripe is not called again.
	at.Status = models.AttemptSucceeded
	store.attempts[at.AttemptID] = at
	if res, err := acts.ApproveAutoTopUp(context.Background(), in); err != nil || res.Outcome != activities.ChargeSucceeded || len(ch.confirms) != 1 {
		t.Fatalf("approving a paid attempt: %+v, %v after %d confirmations", res, err, len(ch.confirms))
	}
	at.Status = models.AttemptHardDecline
	store.attempts[at.AttemptID] = at
	if _, err := acts.ApproveAutoTopUp(context.Background(), in); !nonRetryable(err, activities.ErrTypeAttemptNotWaiting) {
		t.Fatalf("approving a declined attempt: %v", err)
	}
}

func TestVerifyAutoTopUpPayment_CreditsTheAttemptsAmountNeverAnotherOne(t *testing.T) {
	acts, store, _, _ := newAutoTopUpActs(providers.SandboxCardAuthenticationRequire)
	at := needsAuth(store)
	ctx := context.Background()
	for _, in := range []activities.VerifyAutoTopUpPaymentInput{
		{AccountID: 7, AttemptID: at.AttemptID, PaymentIntentID: at.PaymentIntentID, AmountCents: 2000},
		{AccountID: 7, AttemptID: at.AttemptID, PaymentIntentID: at.PaymentIntentID}, // paid at once on approval: no event amount
	} {
		if pay, err := acts.VerifyAutoTopUpPayment(ctx, in); err != nil || pay.AmountCents != 2000 || pay.AlreadyCredited {
			t.Fatalf("verify %+v = %+v, %v; want the attempt's 2000, not yet credited", in, pay, err)
		}
	}
	store.credited = map[string]bool{at.PaymentIntentID: true}
	if pay, err := acts.VerifyAutoTopUpPayment(ctx, activities.VerifyAutoTopUpPaymentInput{AccountID: 7, AttemptID: at.AttemptID, PaymentIntentID: at.PaymentIntentID}); err != nil || !pay.AlreadyCredited {
		t.Fatalf("verify of a credited payment = %+v, %v; want it reported credited", pay, err)
	}
	for _, bad := range []activities.VerifyAutoTopUpPaymentInput{
		{AccountID: 7, AttemptID: at.AttemptID, PaymentIntentID: at.PaymentIntentID, AmountCents: 999999},
		{AccountID: 8, AttemptID: at.AttemptID, PaymentIntentID: at.PaymentIntentID, AmountCents: 2000},
		{AccountID: 7, AttemptID: at.AttemptID, PaymentIntentID: "pi_someone_else", AmountCents: 2000},
		{AccountID: 7, AttemptID: "auto-top-up-7-99", PaymentIntentID: at.PaymentIntentID, AmountCents: 2000},
	} {
		if pay, err := acts.VerifyAutoTopUpPayment(ctx, bad); !nonRetryable(err, activities.ErrTypePaymentMismatch) || pay.AmountCents != 0 {
			t.Errorf("verify %+v = %+v, %v; want a non-retryable %s", bad, pay, err, activities.ErrTypePaymentMismatch)
		}
	}
}

func TestReleaseAutoTopUp_CancelsTheWaitingPaymentIntentAndRecordsItReplaced(t *testing.T) {
	acts, store, ch, _ := newAutoTopUpActs(providers.SandboxCardAuthenticationRequire)
	at := needsAuth(store)
	in := activities.ReleaseAutoTopUpInput{AttemptID: at.AttemptID, AccountID: 7, PaymentIntentID: at.PaymentIntentID}
	paid, err := acts.ReleaseAutoTopUp(context.Background(), in)
	if err != nil || paid || len(ch.cancels) != 1 || ch.cancels[0] != at.PaymentIntentID {
		t.Fatalf("release = %v, %v after cancels %v; want the PaymentIntent canceled", paid, err, ch.cancels)
	}
	if got := store.attempts[at.AttemptID]; got.Status != models.AttemptError || got.DeclineCode != "canceled" || got.PaymentIntentID != at.PaymentIntentID {
		t.Fatalf("attempt %+v, want recorded as canceled (so the sandbox bank page closes and the banner moves on)", got)
	}
	// Paid meanwhile: report it, cancel nothing.
	at.Status = models.AttemptSucceeded
	store.attempts[at.AttemptID] = at
	if paid, err := acts.ReleaseAutoTopUp(context.Background(), in); err != nil || !paid || len(ch.cancels) != 1 {
		t.Fatalf("release of a paid attempt = %v, %v after %d cancels; want paid and no cancellation", paid, err, len(ch.cancels))
	}
}

// The attempt fixes its card when it is created: a card changed between
// two tries of one charge does not change the request (Stripe would refuse
// the reused Idempotency-Key).
func TestChargeAutoTopUp_ACardChangedBetweenTriesDoesNotChangeTheCharge(t *testing.T) {
	acts, store, ch, _ := newAutoTopUpActs(providers.SandboxCardVisa)
	in := activities.ChargeAutoTopUpInput{AttemptID: "auto-top-up-7-2", AccountID: 7, AmountCents: 2000}
	if _, err := acts.ChargeAutoTopUp(context.Background(), in); err == nil {
		t.Fatal("the first try should fail")
	}
	store.settings.PaymentMethodID, store.settings.AmountCents = providers.SandboxCardDeclined, 5000
	if res, err := acts.ChargeAutoTopUp(context.Background(), in); err != nil || res.Outcome != activities.ChargeSucceeded {
		t.Fatalf("retry: %+v, %v; want the original visa charge", res, err)
	}
	if len(ch.calls) != 2 || ch.calls[0] != ch.calls[1] || ch.calls[1].PaymentMethodID != providers.SandboxCardVisa {
		t.Fatalf("calls %+v, want the same request twice", ch.calls)
	}
}

// Stripe took the charge but every answer timed out: reconciliation finds
// the PaymentIntent and records it, and nothing is charged a second time.
func TestReconcileAutoTopUp_FindsAChargeWhoseAnswerWasLostWithoutChargingAgain(t *testing.T) {
	acts, store, ch, _ := newAutoTopUpActs(providers.SandboxCardVisa)
	ch.answersLost = true
	in := activities.ChargeAutoTopUpInput{AttemptID: "auto-top-up-7-3", AccountID: 7, AmountCents: 2000}
	for range 3 {
		if _, err := acts.ChargeAutoTopUp(context.Background(), in); err == nil {
			t.Fatal("a lost answer must fail the try")
		}
	}
	if a := store.attempts[in.AttemptID]; a.Status != models.AttemptCharging {
		t.Fatalf("attempt %+v, want still charging: the outcome is unknown", a)
	}
	calls := len(ch.calls)
	r, err := acts.ReconcileAutoTopUp(context.Background(), activities.ReconcileAutoTopUpInput{AttemptID: in.AttemptID, AccountID: 7})
	if err != nil || !r.Known || r.Result.Outcome != activities.ChargeSucceeded || r.Result.PaymentIntentID != "pi_sandbox_"+in.AttemptID || r.AmountCents != 2000 {
		t.Fatalf("reconcile = %+v, %v; want the succeeded charge found", r, err)
	}
	if len(ch.calls) != calls {
		t.Fatalf("reconciliation charged again (%d calls, had %d)", len(ch.calls), calls)
	}
	if a := store.attempts[in.AttemptID]; a.Status != models.AttemptSucceeded || a.PaymentIntentID != r.Result.PaymentIntentID {
		t.Fatalf("attempt %+v, want recorded as succeeded", a)
	}
}

// No charge at the provider while its Idempotency-Key is alive: the very
// same request is replayed (Stripe answers the original, or charges once);
// after the key expired, nothing found means nothing was charged.
func TestReconcileAutoTopUp_ReplaysWhileTheKeyLivesAndAfterItNothingFoundIsNotCharged(t *testing.T) {
	acts, store, ch, _ := newAutoTopUpActs(providers.SandboxCardVisa)
	in := activities.ChargeAutoTopUpInput{AttemptID: "auto-top-up-7-4", AccountID: 7, AmountCents: 2000}
	if _, err := acts.ChargeAutoTopUp(context.Background(), in); err == nil {
		t.Fatal("the first try should fail before reaching the provider")
	}
	r, err := acts.ReconcileAutoTopUp(context.Background(), activities.ReconcileAutoTopUpInput{AttemptID: in.AttemptID, AccountID: 7})
	if err != nil || !r.Known || r.Result.Outcome != activities.ChargeSucceeded || len(ch.calls) != 2 || ch.calls[1] != ch.calls[0] {
		t.Fatalf("reconcile = %+v, %v after %d calls; want the same request replayed once", r, err, len(ch.calls))
	}

	late := activities.ChargeAutoTopUpInput{AttemptID: "auto-top-up-7-5", AccountID: 7, AmountCents: 2000}
	store.attempts[late.AttemptID] = models.AutoTopUpAttempt{ID: 99, AttemptID: late.AttemptID, AccountID: 7, AmountCents: 2000,
		Status: models.AttemptCharging, PaymentMethodID: providers.SandboxCardVisa, CreatedAt: time.Now().Add(-48 * time.Hour)}
	calls := len(ch.calls)
	r, err = acts.ReconcileAutoTopUp(context.Background(), activities.ReconcileAutoTopUpInput{AttemptID: late.AttemptID, AccountID: 7})
	if err != nil || r.Known || len(ch.calls) != calls {
		t.Fatalf("reconcile of a two-day-old attempt = %+v, %v; want not charged and nothing sent", r, err)
	}
	if a := store.attempts[late.AttemptID]; a.Status != models.AttemptError || a.DeclineCode != "not_charged" {
		t.Fatalf("attempt %+v, want recorded as not charged", a)
	}
}
