package credits_test

import (
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/internal/wire"
	"github.com/mobayilo/mobayilo/models"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func TestValidateAmount_NamesTheMinimumForEachKindAndTheMaximum(t *testing.T) {
	cases := []struct {
		kind   models.AccountKind
		amount int64
		says   string
	}{
		{models.AccountIndividual, 499, "minimum top-up is $5.00"},
		{models.AccountCompany, 9999, "minimum top-up is $100.00"},
		{models.AccountIndividual, 100001, "maximum top-up is $1000.00"},
	}
	for _, c := range cases {
		err := credits.ValidateAmount(c.kind, c.amount, 100000)
		if !errors.Is(err, money.ErrTopUpAmount) || err.Error() != "the "+c.says {
			t.Errorf("%s %d: %v", c.kind, c.amount, err)
		}
	}
	for _, ok := range []struct {
		kind   models.AccountKind
		amount int64
	}{{models.AccountIndividual, 500}, {models.AccountCompany, 10000}, {models.AccountIndividual, 100000}} {
		if err := credits.ValidateAmount(ok.kind, ok.amount, 100000); err != nil {
			t.Errorf("%s %d refused: %v", ok.kind, ok.amount, err)
		}
	}
}

// The server refuses with the rule the CLI applies before asking: one
// cent under money's minimum is refused, the minimum itself is taken, and
// the refusal reads as the CLI's own.
func TestValidateAmount_UsesTheSharedMinimumTheCLIApplies(t *testing.T) {
	for kind, minCents := range map[models.AccountKind]int64{
		models.AccountIndividual: money.MinIndividualTopUpCents, models.AccountCompany: money.MinCompanyTopUpCents,
	} {
		if got := credits.MinimumCents(kind); got != minCents {
			t.Errorf("MinimumCents(%s) = %d, want money's %d", kind, got, minCents)
		}
		err := credits.ValidateAmount(kind, minCents-1, 100000)
		cli := money.CheckTopUp(minCents-1, minCents, math.MaxInt64)
		if !errors.Is(err, money.ErrTopUpAmount) || cli == nil || err.Error() != cli.Error() {
			t.Errorf("%s: server refuses %d with %v, the shared rule with %v", kind, minCents-1, err, cli)
		}
		if err := credits.ValidateAmount(kind, minCents, 100000); err != nil {
			t.Errorf("%s: the minimum %d refused: %v", kind, minCents, err)
		}
	}
	// No wallet takes less than the CLI's local floor.
	for _, kind := range []models.AccountKind{models.AccountIndividual, models.AccountCompany} {
		if credits.MinimumCents(kind) < money.MinIndividualTopUpCents {
			t.Errorf("%s takes %d, under the CLI's floor %d", kind, credits.MinimumCents(kind), money.MinIndividualTopUpCents)
		}
	}
}

// The CLI waits on the statuses package wire names; they are the ones the
// store writes.
func TestTopUpStatuses_AreTheOnesTheCLIReads(t *testing.T) {
	for stored, onWire := range map[models.TopUpStatus]wire.TopUpStatus{
		models.TopUpAwaitingPayment: wire.TopUpAwaitingPayment, models.TopUpSucceeded: wire.TopUpSucceeded,
		models.TopUpExpired: wire.TopUpExpired, models.TopUpFailed: wire.TopUpFailed,
	} {
		if string(stored) != string(onWire) {
			t.Errorf("stored %q is %q on the wire", stored, onWire)
		}
	}
}

func TestStore_TopUpLifecycleEventDedupeAndCustomers(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		u, _, err := identity.New(db, ledger.New(db)).CreateUser(ctx, identity.NewUser{Email: "s@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		s := credits.New(db)
		tu, _, err := s.Create(ctx, credits.NewTopUp{AccountID: u.AccountID, UserID: u.ID, AmountCents: 500})
		if err != nil || tu.Status != models.TopUpAwaitingPayment {
			t.Fatalf("create %+v, %v", tu, err)
		}
		if _, err := s.GetForAccount(ctx, u.AccountID+1, tu.ID); !errors.Is(err, credits.ErrTopUpNotFound) {
			t.Fatalf("another account read the top-up: %v", err)
		}
		if err := s.RecordCheckout(ctx, tu.ID, "cs_1", "https://x/cs_1", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetBySession(ctx, "cs_1"); err != nil || got.ID != tu.ID {
			t.Fatalf("by session %+v, %v", got, err)
		}
		if err := s.RecordPayment(ctx, tu.ID, credits.Receipt{PaymentIntentID: "pi_1", CardBrand: "visa", CardLast4: "4242", LedgerEntryID: 1}); err != nil {
			t.Fatal(err)
		}
		// A paid top-up never becomes expired.
		if err := s.Finish(ctx, tu.ID, models.TopUpExpired, "late"); err != nil {
			t.Fatal(err)
		}
		rs, err := s.Receipts(ctx, u.AccountID, 10)
		if err != nil || len(rs) != 1 || rs[0].Status != models.TopUpSucceeded || rs[0].CardLast4 != "4242" || rs[0].PaidAt == nil {
			t.Fatalf("receipts %+v, %v", rs, err)
		}

		// Looking an event up writes nothing.
		for range 2 {
			if seen, err := s.EventSeen(ctx, "evt_1"); err != nil || seen {
				t.Fatalf("an unrecorded event seen=%v, %v", seen, err)
			}
		}
		// Twenty concurrent deliveries of one event: one is fresh.
		var wg sync.WaitGroup
		var mu sync.Mutex
		fresh := 0
		for range 20 {
			wg.Go(func() {
				f, err := s.RecordEvent(ctx, "evt_1", "checkout.session.completed", "cs_1")
				if err != nil {
					t.Error(err)
				}
				if f {
					mu.Lock()
					fresh++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if fresh != 1 {
			t.Fatalf("%d deliveries were fresh, want 1", fresh)
		}
		if seen, err := s.EventSeen(ctx, "evt_1"); err != nil || !seen {
			t.Fatalf("a recorded event seen=%v, %v", seen, err)
		}
		if seen, err := s.EventSeen(ctx, "evt_2"); err != nil || seen {
			t.Fatalf("another event seen=%v, %v", seen, err)
		}

		if id, err := s.CustomerID(ctx, u.AccountID); err != nil || id != "" {
			t.Fatalf("customer before creation %q, %v", id, err)
		}
		first, _ := s.SaveCustomerID(ctx, u.AccountID, "cus_a")
		second, err := s.SaveCustomerID(ctx, u.AccountID, "cus_b")
		if err != nil || first != "cus_a" || second != "cus_a" {
			t.Fatalf("customers %q then %q, %v: the first must win", first, second, err)
		}
	})
}

func TestStore_RequestKeyNamesOneTopUpPerAccount(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		ids := identity.New(db, ledger.New(db))
		u, _, err := ids.CreateUser(ctx, identity.NewUser{Email: "k@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		v, _, err := ids.CreateUser(ctx, identity.NewUser{Email: "v@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		s := credits.New(db)
		in := credits.NewTopUp{AccountID: u.AccountID, UserID: u.ID, AmountCents: 500, SaveCard: true, RequestKey: "form-key-123"}
		first, replayed, err := s.Create(ctx, in)
		if err != nil || replayed {
			t.Fatalf("first = %+v %v %v", first, replayed, err)
		}
		again, replayed, err := s.Create(ctx, in)
		if err != nil || !replayed || again.ID != first.ID {
			t.Fatalf("repeat = %+v %v %v, want %s replayed", again, replayed, err, first.ID)
		}
		changed := in
		changed.SaveCard = false
		if _, _, err := s.Create(ctx, changed); !errors.Is(err, credits.ErrRequestKeyReused) {
			t.Fatalf("same key, other card choice: %v", err)
		}
		// Another account's identical key is its own top-up.
		other, replayed, err := s.Create(ctx, credits.NewTopUp{AccountID: v.AccountID, UserID: v.ID, AmountCents: 500, SaveCard: true, RequestKey: in.RequestKey})
		if err != nil || replayed || other.ID == first.ID {
			t.Fatalf("other account = %+v %v %v", other, replayed, err)
		}
		for _, bad := range []string{"short", strings.Repeat("k", 201), "has space in it", "naïve-key-1"} {
			in.RequestKey = bad
			if _, _, err := s.Create(ctx, in); !errors.Is(err, credits.ErrRequestKeyInvalid) {
				t.Errorf("key %q: %v", bad, err)
			}
		}
		var n int64
		db.Model(&models.TopUp{}).Count(&n)
		if n != 2 {
			t.Fatalf("%d top-ups stored, want 2", n)
		}
	})
}

func TestCheckAmount_FirstTopUpIsCappedUntilAPaymentSucceeds(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		led := ledger.New(db)
		s := credits.New(db)
		limits := credits.Limits{MaxCents: 100000, FirstMaxCents: 10000}
		newAccount := func(email string) models.User { return newUsers(t, db, email)[0] }
		capped := func(u models.User, amount int64) {
			t.Helper()
			err := s.CheckAmount(ctx, u.AccountID, models.AccountIndividual, amount, limits)
			var fe *credits.FirstTopUpLimitError
			if !errors.As(err, &fe) || !errors.Is(err, credits.ErrFirstTopUpLimit) || errors.Is(err, money.ErrTopUpAmount) ||
				fe.LimitCents != 10000 || !strings.Contains(err.Error(), "first top-up can be at most $100.00") {
				t.Fatalf("%d cents from an account that never paid: %v; want the first-purchase limit of $100.00", amount, err)
			}
			if m, err := s.MaxCents(ctx, u.AccountID, limits); err != nil || m != 10000 {
				t.Fatalf("max while never paid = %d, %v; want 10000", m, err)
			}
		}
		allowed := func(u models.User, amount int64) {
			t.Helper()
			if err := s.CheckAmount(ctx, u.AccountID, models.AccountIndividual, amount, limits); err != nil {
				t.Fatalf("%d cents refused: %v", amount, err)
			}
		}

		ana := newAccount("first@example.com")
		allowed(ana, 10000)
		capped(ana, 10001)
		// The general bounds still come first and keep their own error.
		if err := s.CheckAmount(ctx, ana.AccountID, models.AccountIndividual, 499, limits); !errors.Is(err, money.ErrTopUpAmount) {
			t.Fatalf("below the minimum: %v", err)
		}
		if err := s.CheckAmount(ctx, ana.AccountID, models.AccountIndividual, 100001, limits); !errors.Is(err, money.ErrTopUpAmount) {
			t.Fatalf("above the maximum: %v", err)
		}

		// Unpaid, expired and failed top-ups are not payments.
		open, _, err := s.Create(ctx, credits.NewTopUp{AccountID: ana.AccountID, UserID: ana.ID, AmountCents: 10000})
		if err != nil {
			t.Fatal(err)
		}
		for i, st := range []models.TopUpStatus{models.TopUpExpired, models.TopUpFailed} {
			tu, _, err := s.Create(ctx, credits.NewTopUp{AccountID: ana.AccountID, UserID: ana.ID, AmountCents: 5000})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Finish(ctx, tu.ID, st, "test"); err != nil {
				t.Fatalf("finish %d: %v", i, err)
			}
		}
		capped(ana, 20000)

		// Another account's payment changes nothing for ana.
		ben := newAccount("paid@example.com")
		paid, _, err := s.Create(ctx, credits.NewTopUp{AccountID: ben.AccountID, UserID: ben.ID, AmountCents: 5000})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RecordPayment(ctx, paid.ID, credits.Receipt{PaymentIntentID: "pi_ben", LedgerEntryID: 1}); err != nil {
			t.Fatal(err)
		}
		capped(ana, 20000)
		allowed(ben, 20000)
		allowed(ben, 100000)

		// Once ana's first top-up is paid, the general maximum applies.
		if err := s.RecordPayment(ctx, open.ID, credits.Receipt{PaymentIntentID: "pi_ana", LedgerEntryID: 2}); err != nil {
			t.Fatal(err)
		}
		allowed(ana, 20000)
		if m, err := s.MaxCents(ctx, ana.AccountID, limits); err != nil || m != 100000 {
			t.Fatalf("max after a paid top-up = %d, %v; want 100000", m, err)
		}

		// An auto top-up charged a card saved without a payment: that
		// charge is the account's first purchase.
		cy := newAccount("auto@example.com")
		capped(cy, 20000)
		if _, err := led.Post(ctx, ledger.Posting{AccountID: cy.AccountID, Kind: models.EntryAutoTopUp, AmountCents: 2000,
			IdempotencyKey: "auto_topup:pi_cy", Actor: "system:auto_topup"}); err != nil {
			t.Fatal(err)
		}
		allowed(cy, 20000)
	})
}
