package activities_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/models"
)

// autoReceipts are the receipts stored; the first one stored for a
// PaymentIntent wins, as the database's unique index makes it.
func (f *fakeTopUps) autoReceipts() map[string]models.AutoTopUpReceipt {
	if f.autos == nil {
		f.autos = map[string]models.AutoTopUpReceipt{}
	}
	return f.autos
}

func (f *fakeTopUps) AutoTopUpReceipt(_ context.Context, pi string) (models.AutoTopUpReceipt, error) {
	r, ok := f.autoReceipts()[pi]
	if !ok {
		return r, credits.ErrReceiptNotFound
	}
	return r, nil
}
func (f *fakeTopUps) RecordAutoTopUpReceipt(_ context.Context, r models.AutoTopUpReceipt) (models.AutoTopUpReceipt, error) {
	if prev, ok := f.autoReceipts()[r.PaymentIntentID]; ok {
		return prev, nil
	}
	r.ID, r.PaidAt = credits.AutoTopUpReceiptID(r.PaymentIntentID), created
	f.autoReceipts()[r.PaymentIntentID] = r
	return r, nil
}
func (f *fakeTopUps) MarkAutoTopUpReceiptEmailed(_ context.Context, id string) error {
	for pi, r := range f.autoReceipts() {
		if r.ID == id {
			now := time.Now()
			r.EmailedAt = &now
			f.autoReceipts()[pi] = r
			return nil
		}
	}
	return credits.ErrReceiptNotFound
}

// flakyMailer fails its first fails sends, then delivers to the mailbox.
type flakyMailer struct {
	box   *mail.Mailbox
	fails int
}

func (f *flakyMailer) Send(ctx context.Context, m mail.Message) error {
	if f.fails > 0 {
		f.fails--
		return errors.New("smtp: connection refused")
	}
	return f.box.Send(ctx, m)
}

// countingCards answers PaymentCard with card or err, counting the calls.
type countingCards struct {
	*fakePayments
	card  providers.Card
	err   error
	calls int
}

func (c *countingCards) PaymentCard(context.Context, string) (providers.Card, error) {
	c.calls++
	return c.card, c.err
}

const autoPI = "pi_auto-top-up-7-ab12-1"

func receiptActs(mailFails int) (*activities.Activities, *fakeTopUps, *fakeAutoTopUps, *countingCards, *mail.Mailbox) {
	a, autos, _, box := newAutoTopUpActs(providers.SandboxCardVisa)
	autos.settings.CardBrand, autos.settings.CardLast4 = "mastercard", "4444"
	autos.credited = map[string]bool{autoPI: true}
	store := newFakeTopUps(models.TopUp{ID: "tu_unused"})
	cards := &countingCards{fakePayments: &fakePayments{}, card: providers.Card{Brand: "visa", Last4: "4242"}}
	a.TopUps, a.Payments, a.Mailer = store, cards, &flakyMailer{box: box, fails: mailFails}
	return a, store, autos, cards, box
}

var receiptIn = activities.AutoTopUpReceiptInput{AccountID: 7, AttemptID: "auto-top-up-7-ab12-1", AmountCents: 2000,
	PaymentIntentID: autoPI, BaseURL: "https://app.example/"}

func TestEmailAutoTopUpReceipt_StoresOneReceiptAndMailsItOnceWhenRetried(t *testing.T) {
	a, store, _, cards, box := receiptActs(0)
	for range 3 {
		if err := a.EmailAutoTopUpReceipt(context.Background(), receiptIn); err != nil {
			t.Fatal(err)
		}
	}
	r, ok := store.autoReceipts()[autoPI]
	if !ok || len(store.autoReceipts()) != 1 || r.AccountID != 7 || r.AttemptID != receiptIn.AttemptID || r.AmountCents != 2000 ||
		r.CardBrand != "visa" || r.CardLast4 != "4242" || r.EmailedAt == nil || cards.calls != 1 {
		t.Fatalf("receipts %+v after %d card look-ups; want one, of the charge's card, mailed", store.autoReceipts(), cards.calls)
	}
	msgs := box.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d receipt emails, want 1: %+v", len(msgs), msgs)
	}
	m := msgs[0]
	for _, want := range []string{"visa ending in 4242", "$20.00", autoPI, "https://app.example/credits/receipts/" + r.ID, "auto top-up threshold"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("receipt email lacks %q:\n%s", want, m.Text)
		}
	}
	if m.To != "ana@example.com" || m.Subject != "Your Mobayilo auto top-up receipt: $20.00 added" {
		t.Fatalf("receipt email to %q, subject %q", m.To, m.Subject)
	}
}

func TestEmailAutoTopUpReceipt_AFailedSendIsRetriedAndMailedOnce(t *testing.T) {
	a, store, _, cards, box := receiptActs(2)
	for i := range 2 {
		if err := a.EmailAutoTopUpReceipt(context.Background(), receiptIn); err == nil {
			t.Fatalf("try %d: a failed send must fail the activity so Temporal retries it", i+1)
		}
	}
	if r := store.autoReceipts()[autoPI]; r.ID == "" || r.EmailedAt != nil || len(box.Messages()) != 0 {
		t.Fatalf("after failed sends: receipt %+v, %d emails; want it stored, not marked mailed", r, len(box.Messages()))
	}
	for range 2 {
		if err := a.EmailAutoTopUpReceipt(context.Background(), receiptIn); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(box.Messages()); n != 1 || len(store.autoReceipts()) != 1 || cards.calls != 1 {
		t.Fatalf("%d emails, %d receipts, %d card look-ups; want one of each", n, len(store.autoReceipts()), cards.calls)
	}
}

func TestEmailAutoTopUpReceipt_UsesTheSavedCardWhenTheProviderCannotSay(t *testing.T) {
	a, store, _, cards, box := receiptActs(0)
	cards.err = errors.New("stripe: unreachable")
	// In an activity context, where the fallback is logged.
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	if _, err := env.ExecuteActivity(a.EmailAutoTopUpReceipt, receiptIn); err != nil {
		t.Fatal(err)
	}
	if r := store.autoReceipts()[autoPI]; r.CardBrand != "mastercard" || r.CardLast4 != "4444" {
		t.Fatalf("receipt %+v, want the saved card", r)
	}
	if msgs := box.Messages(); len(msgs) != 1 || !strings.Contains(msgs[0].Text, "mastercard ending in 4444") {
		t.Fatalf("emails %+v", msgs)
	}
}

func TestEmailAutoTopUpReceipt_NoReceiptForAPaymentTheLedgerHasNotCredited(t *testing.T) {
	a, store, autos, _, box := receiptActs(0)
	autos.credited = map[string]bool{}
	for _, in := range []activities.AutoTopUpReceiptInput{receiptIn, {AccountID: 7, AmountCents: 2000}} {
		err := a.EmailAutoTopUpReceipt(context.Background(), in)
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) || !ae.NonRetryable() || ae.Type() != activities.ErrTypeReceiptRefused {
			t.Fatalf("%+v: err = %v, want a non-retryable refusal", in, err)
		}
	}
	if len(store.autoReceipts()) != 0 || len(box.Messages()) != 0 {
		t.Fatalf("receipts %+v, emails %+v; want none", store.autoReceipts(), box.Messages())
	}
}
