package activities_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/models"
)

// fakeCardSetups is the card setup store in memory.
type fakeCardSetups struct{ setups map[string]models.CardSetup }

func (f *fakeCardSetups) Setup(_ context.Context, id string) (models.CardSetup, error) {
	cs, ok := f.setups[id]
	if !ok {
		return cs, errors.New("card setup not found")
	}
	return cs, nil
}
func (f *fakeCardSetups) RecordSetupCheckout(_ context.Context, id, sid, url string, exp time.Time) error {
	cs := f.setups[id]
	cs.CheckoutSessionID, cs.CheckoutURL, cs.ExpiresAt = sid, url, &exp
	f.setups[id] = cs
	return nil
}
func (f *fakeCardSetups) FinishSetup(_ context.Context, id string, st models.CardSetupStatus, seti, brand, last4 string) error {
	cs := f.setups[id]
	if cs.Status == models.CardSetupPending {
		cs.Status, cs.SetupIntentID, cs.CardBrand, cs.CardLast4 = st, seti, brand, last4
	}
	f.setups[id] = cs
	return nil
}

// fakeSetupPayments records the setup checkouts asked for.
type fakeSetupPayments struct {
	checkouts []providers.SetupCheckoutParams
	card      providers.Card
}

func (f *fakeSetupPayments) CreateSetupCheckout(_ context.Context, in providers.SetupCheckoutParams) (providers.CheckoutSession, error) {
	f.checkouts = append(f.checkouts, in)
	return providers.CheckoutSession{ID: "cs_setup_1", URL: "https://checkout.test/cs_setup_1", ExpiresAt: in.ExpiresAt}, nil
}
func (f *fakeSetupPayments) SetupCard(_ context.Context, seti string) (providers.Card, error) {
	if seti != "seti_1" {
		return providers.Card{}, errors.New("no such setup intent")
	}
	return f.card, nil
}

func cardSetupActs() (*activities.Activities, *fakeCardSetups, *fakeSetupPayments, *fakePayments, *fakeSavedCards) {
	setups := &fakeCardSetups{setups: map[string]models.CardSetup{"cset_1": {ID: "cset_1", AccountID: 7, UserID: 3, Status: models.CardSetupPending, CreatedAt: created}}}
	sp := &fakeSetupPayments{card: providers.Card{Brand: "mastercard", Last4: "4444", PaymentMethodID: "pm_44"}}
	pay := &fakePayments{}
	cards := &fakeSavedCards{}
	store := newFakeTopUps(models.TopUp{ID: "tu_other"})
	return &activities.Activities{CardSetups: setups, SetupPayments: sp, Payments: pay, TopUps: store, SavedCards: cards}, setups, sp, pay, cards
}

func TestCreateCardSetupCheckout_ARetryAsksForTheSameSessionAndMakesOneCustomer(t *testing.T) {
	a, setups, sp, pay, _ := cardSetupActs()
	for range 2 {
		r, err := a.CreateCardSetupCheckout(context.Background(), activities.CreateCardSetupCheckoutInput{SetupID: "cset_1", BaseURL: "http://m.test/"})
		if err != nil || r.URL != "https://checkout.test/cs_setup_1" || r.SessionID != "cs_setup_1" {
			t.Fatalf("checkout %+v, %v", r, err)
		}
	}
	if pay.customers != 1 || len(sp.checkouts) != 2 || sp.checkouts[0] != sp.checkouts[1] {
		t.Fatalf("%d customers made; checkouts %+v", pay.customers, sp.checkouts)
	}
	c := sp.checkouts[0]
	if c.SetupID != "cset_1" || c.AccountID != 7 || c.CustomerID != "cus_1" || !c.ExpiresAt.Equal(created.Add(activities.CheckoutLifetime)) ||
		c.SuccessURL != "http://m.test/autotopup?done=card-saved" || c.CancelURL != "http://m.test/autotopup" {
		t.Fatalf("setup checkout params %+v", c)
	}
	if setups.setups["cset_1"].CheckoutSessionID != "cs_setup_1" {
		t.Fatal("the session was not recorded")
	}
	if _, err := a.CreateCardSetupCheckout(context.Background(), activities.CreateCardSetupCheckoutInput{SetupID: "cset_gone"}); err == nil {
		t.Fatal("a checkout for a missing setup was opened")
	}
}

func TestSaveSetupCard_SavesTheSetupIntentsCardWithTheAccountsCustomer(t *testing.T) {
	a, setups, _, _, cards := cardSetupActs()
	a.TopUps.(*fakeTopUps).customers[7] = "cus_7"
	for range 2 {
		r, err := a.SaveSetupCard(context.Background(), activities.SaveSetupCardInput{SetupID: "cset_1", SetupIntentID: "seti_1"})
		if err != nil || r != (activities.SaveSetupCardResult{Brand: "mastercard", Last4: "4444"}) {
			t.Fatalf("save %+v, %v", r, err)
		}
	}
	if len(cards.saved) == 0 || cards.saved[0] != (savedCard{"cus_7", "pm_44", "mastercard", "4444"}) {
		t.Fatalf("saved cards %+v", cards.saved)
	}
	if cs := setups.setups["cset_1"]; cs.Status != models.CardSetupSaved || cs.SetupIntentID != "seti_1" || cs.CardLast4 != "4444" {
		t.Fatalf("setup after saving %+v", cs)
	}
	if _, err := a.SaveSetupCard(context.Background(), activities.SaveSetupCardInput{SetupID: "cset_1"}); err == nil {
		t.Fatal("a completion without a setup intent saved something")
	}
}

func TestFinishCardSetup_RecordsExpiryWithoutACard(t *testing.T) {
	a, setups, _, _, cards := cardSetupActs()
	if err := a.FinishCardSetup(context.Background(), activities.FinishCardSetupInput{SetupID: "cset_1", Status: string(models.CardSetupExpired)}); err != nil {
		t.Fatal(err)
	}
	if cs := setups.setups["cset_1"]; cs.Status != models.CardSetupExpired || cs.CardLast4 != "" || len(cards.saved) != 0 {
		t.Fatalf("setup %+v, saved %v", cs, cards.saved)
	}
}
