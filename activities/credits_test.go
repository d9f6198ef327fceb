package activities_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/models"
)

// fakeTopUps is the top-up store in memory.
type fakeTopUps struct {
	topUps    map[string]models.TopUp
	customers map[int64]string
	// autos are the auto top-up receipts by PaymentIntent.
	autos map[string]models.AutoTopUpReceipt
}

func newFakeTopUps(t models.TopUp) *fakeTopUps {
	return &fakeTopUps{topUps: map[string]models.TopUp{t.ID: t}, customers: map[int64]string{}}
}

func (f *fakeTopUps) Get(_ context.Context, id string) (models.TopUp, error) {
	t, ok := f.topUps[id]
	if !ok {
		return t, credits.ErrTopUpNotFound
	}
	return t, nil
}
func (f *fakeTopUps) RecordCheckout(_ context.Context, id, sid, url string, exp time.Time) error {
	t := f.topUps[id]
	t.CheckoutSessionID, t.CheckoutURL, t.ExpiresAt = sid, url, &exp
	f.topUps[id] = t
	return nil
}
func (f *fakeTopUps) Finish(_ context.Context, id string, s models.TopUpStatus, reason string) error {
	t := f.topUps[id]
	t.Status, t.FailureReason = s, reason
	f.topUps[id] = t
	return nil
}
func (f *fakeTopUps) RecordPayment(_ context.Context, id string, r credits.Receipt) error {
	t := f.topUps[id]
	t.Status, t.PaymentIntentID, t.CardBrand, t.CardLast4 = models.TopUpSucceeded, r.PaymentIntentID, r.CardBrand, r.CardLast4
	f.topUps[id] = t
	return nil
}
func (f *fakeTopUps) MarkReceiptEmailed(_ context.Context, id string) error {
	t := f.topUps[id]
	now := time.Now()
	t.ReceiptEmailedAt = &now
	f.topUps[id] = t
	return nil
}
func (f *fakeTopUps) CustomerID(_ context.Context, acct int64) (string, error) {
	return f.customers[acct], nil
}
func (f *fakeTopUps) SaveCustomerID(_ context.Context, acct int64, id string) (string, error) {
	if f.customers[acct] == "" {
		f.customers[acct] = id
	}
	return f.customers[acct], nil
}
func (f *fakeTopUps) PayerOf(context.Context, models.TopUp) (models.User, error) {
	return models.User{ID: 3, Email: "payer@example.com"}, nil
}

// fakePayments records what the activity asks of the provider.
type fakePayments struct {
	customers int
	checkouts []providers.CheckoutParams
	fail      error
}

func (f *fakePayments) EnsureCustomer(context.Context, providers.CustomerParams) (string, error) {
	f.customers++
	return "cus_1", nil
}
func (f *fakePayments) CreateCheckout(_ context.Context, in providers.CheckoutParams) (providers.CheckoutSession, error) {
	f.checkouts = append(f.checkouts, in)
	if f.fail != nil {
		return providers.CheckoutSession{}, f.fail
	}
	return providers.CheckoutSession{ID: "cs_1", URL: "https://checkout.test/cs_1", ExpiresAt: in.ExpiresAt}, nil
}
func (f *fakePayments) PaymentCard(context.Context, string) (providers.Card, error) {
	return providers.Card{Brand: "visa", Last4: "4242"}, nil
}

// fakePostings is a ledger that replays keys, as the real one does.
type fakePostings struct {
	byKey   map[string]ledger.Result
	balance int64
	posted  []ledger.Posting
}

func (f *fakePostings) Post(_ context.Context, p ledger.Posting) (ledger.Result, error) {
	f.posted = append(f.posted, p)
	if r, ok := f.byKey[p.IdempotencyKey]; ok {
		r.Replayed = true
		return r, nil
	}
	f.balance += p.AmountCents
	r := ledger.Result{Entry: models.LedgerEntry{ID: int64(len(f.byKey) + 1), AccountID: p.AccountID, Kind: p.Kind, AmountCents: p.AmountCents,
		BalanceAfter: f.balance, IdempotencyKey: p.IdempotencyKey, TopUpRef: p.TopUpRef}}
	f.byKey[p.IdempotencyKey] = r
	return r, nil
}

var created = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func topUpActs() (*activities.Activities, *fakeTopUps, *fakePayments, *fakePostings, *mail.Mailbox) {
	store := newFakeTopUps(models.TopUp{ID: "tu_1", AccountID: 7, UserID: 3, AmountCents: 500, SaveCard: true, Status: models.TopUpAwaitingPayment, CreatedAt: created})
	pay := &fakePayments{}
	post := &fakePostings{byKey: map[string]ledger.Result{}}
	box := mail.NewMailbox(nil)
	return &activities.Activities{TopUps: store, Payments: pay, Postings: post, Mailer: box}, store, pay, post, box
}

func TestCreateTopUpCheckout_ARetryAsksForTheSameSessionAndMakesOneCustomer(t *testing.T) {
	a, store, pay, _, _ := topUpActs()
	for range 2 {
		r, err := a.CreateTopUpCheckout(context.Background(), activities.CreateTopUpCheckoutInput{TopUpID: "tu_1", BaseURL: "http://m.test/"})
		if err != nil || r.URL != "https://checkout.test/cs_1" {
			t.Fatalf("checkout %+v, %v", r, err)
		}
	}
	if pay.customers != 1 || len(pay.checkouts) != 2 || pay.checkouts[0] != pay.checkouts[1] {
		t.Fatalf("%d customers made; checkouts %+v", pay.customers, pay.checkouts)
	}
	c := pay.checkouts[0]
	if c.CustomerID != "cus_1" || !c.SaveCard || c.AmountCents != 500 || !c.ExpiresAt.Equal(created.Add(activities.CheckoutLifetime)) ||
		c.SuccessURL != "http://m.test/dial?topup=tu_1" || c.CancelURL != "http://m.test/credits?topup=tu_1" {
		t.Fatalf("checkout params %+v", c)
	}
	if store.topUps["tu_1"].CheckoutSessionID != "cs_1" {
		t.Fatal("the session was not recorded")
	}
}

func TestCreateTopUpCheckout_AMissingTopUpIsNotRetried(t *testing.T) {
	a, _, _, _, _ := topUpActs()
	_, err := a.CreateTopUpCheckout(context.Background(), activities.CreateTopUpCheckoutInput{TopUpID: "tu_gone"})
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || !ae.NonRetryable() || ae.Type() != activities.ErrTypeTopUpGone {
		t.Fatalf("err = %v", err)
	}
}

func TestCreditTopUp_CreditsOncePerPaymentIntentAndStoresTheReceipt(t *testing.T) {
	a, store, _, post, box := topUpActs()
	ctx := context.Background()
	for i := range 3 {
		r, err := a.CreditTopUp(ctx, activities.CreditTopUpInput{TopUpID: "tu_1", PaymentIntentID: "pi_1"})
		if err != nil || r.BalanceAfterCents != 500 || r.Replayed != (i > 0) {
			t.Fatalf("credit %d: %+v, %v", i, r, err)
		}
	}
	if len(post.byKey) != 1 || post.byKey["topup:pi_1"].Entry.Kind != models.EntryTopUp || post.byKey["topup:pi_1"].Entry.TopUpRef != "tu_1" {
		t.Fatalf("postings %+v", post.byKey)
	}
	if tu := store.topUps["tu_1"]; tu.Status != models.TopUpSucceeded || tu.CardLast4 != "4242" || tu.PaymentIntentID != "pi_1" {
		t.Fatalf("receipt %+v", tu)
	}
	for range 2 {
		if err := a.EmailTopUpReceipt(ctx, "tu_1"); err != nil {
			t.Fatal(err)
		}
	}
	msgs := box.Messages()
	if len(msgs) != 1 || msgs[0].To != "payer@example.com" || !strings.Contains(msgs[0].Text, "visa ending in 4242") || !strings.Contains(msgs[0].Subject, "$5.00") {
		t.Fatalf("receipts mailed: %+v", msgs)
	}
	if _, err := a.CreditTopUp(ctx, activities.CreditTopUpInput{TopUpID: "tu_1"}); err == nil {
		t.Fatal("a credit without a payment intent was accepted")
	}
}

type savedCard struct{ customer, pm, brand, last4 string }

type fakeSavedCards struct{ saved []savedCard }

func (f *fakeSavedCards) SaveTopUpCard(_ context.Context, _ int64, customer, pm, brand, last4 string) error {
	f.saved = append(f.saved, savedCard{customer, pm, brand, last4})
	return nil
}

func TestCreditTopUp_SavesTheCardForAutoTopUpWhenAsked(t *testing.T) {
	a, store, _, _, _ := topUpActs()
	cards := &fakeSavedCards{}
	a.SavedCards = cards
	store.customers = map[int64]string{7: "cus_7"}
	a.Payments = &cardPayments{fakePayments: &fakePayments{}, card: providers.Card{Brand: "visa", Last4: "4242", PaymentMethodID: "pm_123"}}
	if _, err := a.CreditTopUp(context.Background(), activities.CreditTopUpInput{TopUpID: "tu_1", PaymentIntentID: "pi_1"}); err != nil {
		t.Fatal(err)
	}
	if len(cards.saved) != 1 || cards.saved[0] != (savedCard{"cus_7", "pm_123", "visa", "4242"}) {
		t.Fatalf("saved cards = %+v", cards.saved)
	}
	tu := store.topUps["tu_1"]
	tu.SaveCard = false
	store.topUps["tu_1"] = tu
	cards.saved = nil
	if _, err := a.CreditTopUp(context.Background(), activities.CreditTopUpInput{TopUpID: "tu_1", PaymentIntentID: "pi_2"}); err != nil {
		t.Fatal(err)
	}
	if len(cards.saved) != 0 {
		t.Fatal("a card was saved though the payer did not ask")
	}
}

type cardPayments struct {
	*fakePayments
	card providers.Card
}

func (c *cardPayments) PaymentCard(context.Context, string) (providers.Card, error) {
	return c.card, nil
}

// A paid checkout is credited even if the account was disabled after the
// payment: the posting says the money was collected.
func TestCreditTopUp_PostsThePaymentAsCollected(t *testing.T) {
	a, _, _, post, _ := topUpActs()
	if _, err := a.CreditTopUp(context.Background(), activities.CreditTopUpInput{TopUpID: "tu_1", PaymentIntentID: "pi_1"}); err != nil {
		t.Fatal(err)
	}
	if len(post.posted) != 1 || !post.posted[0].Collected || post.posted[0].Kind != models.EntryTopUp {
		t.Fatalf("postings %+v, want one collected top-up", post.posted)
	}
}
