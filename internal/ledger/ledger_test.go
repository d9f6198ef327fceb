package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func openAccount(t testing.TB, svc *ledger.Service, startCents int64) models.Account {
	t.Helper()
	ctx := context.Background()
	a, err := svc.OpenAccount(ctx, models.AccountIndividual, "test")
	if err != nil {
		t.Fatal(err)
	}
	if startCents > 0 {
		if _, err := svc.Post(ctx, ledger.Posting{AccountID: a.ID, Kind: models.EntryBonus, AmountCents: startCents,
			IdempotencyKey: fmt.Sprintf("start-%d", a.ID), Actor: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func mustBalance(t testing.TB, svc *ledger.Service, id, wantBalance, wantHeld int64) {
	t.Helper()
	a, err := svc.Account(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if a.BalanceCents != wantBalance || a.HeldCents != wantHeld {
		t.Fatalf("account %d: balance %d held %d, want balance %d held %d", id, a.BalanceCents, a.HeldCents, wantBalance, wantHeld)
	}
}

func mustVerifyClean(t testing.TB, svc *ledger.Service) {
	t.Helper()
	ds, err := svc.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) > 0 {
		t.Fatalf("ledger verify found discrepancies: %v", ds)
	}
}

func countEntries(t testing.TB, db *gorm.DB, key string) int64 {
	t.Helper()
	var n int64
	if err := db.Model(&models.LedgerEntry{}).Where("idempotency_key = ?", key).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPost_FiftyConcurrentDebitsOfOneFromTenLeaveExactlyZero(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		svc := ledger.New(db)
		a := openAccount(t, svc, 10)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, insufficient := 0, 0
		var other []error
		for i := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := svc.Post(context.Background(), ledger.Posting{AccountID: a.ID, Kind: models.EntryCallCharge,
					AmountCents: -1, IdempotencyKey: fmt.Sprintf("debit-%d", i), Actor: "test"})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, ledger.ErrInsufficientFunds):
					insufficient++
				default:
					other = append(other, err)
				}
			}()
		}
		wg.Wait()
		if len(other) > 0 {
			t.Fatalf("unexpected errors: %v", other)
		}
		if ok != 10 || insufficient != 40 {
			t.Fatalf("%d debits succeeded and %d were refused; want 10 and 40", ok, insufficient)
		}
		mustBalance(t, svc, a.ID, 0, 0)
		mustVerifyClean(t, svc)
	})
}

func TestPost_TwentyConcurrentPostingsWithOneKeyMakeOneEntry(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		svc := ledger.New(db)
		a := openAccount(t, svc, 0)
		var wg sync.WaitGroup
		results := make([]ledger.Result, 20)
		errs := make([]error, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = svc.Post(context.Background(), ledger.Posting{AccountID: a.ID, Kind: models.EntryTopUp,
					AmountCents: 500, IdempotencyKey: "topup:pi_123", TopUpRef: "tu_1", Actor: "system:test"})
			}()
		}
		wg.Wait()
		fresh := 0
		for i := range 20 {
			if errs[i] != nil {
				t.Fatalf("posting %d: %v", i, errs[i])
			}
			if !results[i].Replayed {
				fresh++
			}
			if results[i].Entry.ID != results[0].Entry.ID {
				t.Fatalf("posting %d returned entry %d, posting 0 returned %d", i, results[i].Entry.ID, results[0].Entry.ID)
			}
		}
		if fresh != 1 {
			t.Fatalf("%d postings wrote an entry; want exactly 1", fresh)
		}
		if n := countEntries(t, db, "topup:pi_123"); n != 1 {
			t.Fatalf("%d entries with the key; want 1", n)
		}
		mustBalance(t, svc, a.ID, 500, 0)
		mustVerifyClean(t, svc)
	})
}

func TestPost_ReplayReturnsOriginalEvenWhenWalletIsNowEmpty(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := ledger.New(db)
		a := openAccount(t, svc, 100)
		p := ledger.Posting{AccountID: a.ID, Kind: models.EntryCallCharge, AmountCents: -100, IdempotencyKey: "call:CA1", Actor: "test"}
		first, err := svc.Post(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		again, err := svc.Post(ctx, p)
		if err != nil {
			t.Fatalf("replay on an empty wallet: %v", err)
		}
		if !again.Replayed || again.Entry.ID != first.Entry.ID || again.BalanceBefore != 100 {
			t.Fatalf("replay = %+v, want the original entry %d with balance before 100", again, first.Entry.ID)
		}
		mustBalance(t, svc, a.ID, 0, 0)
	})
}

func TestPost_KeyReusedWithDifferentContentConflictsAndWritesNothing(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := ledger.New(db)
		a := openAccount(t, svc, 1000)
		b := openAccount(t, svc, 1000)
		base := ledger.Posting{AccountID: a.ID, Kind: models.EntryCallCharge, AmountCents: -10, IdempotencyKey: "k", Actor: "test"}
		if _, err := svc.Post(ctx, base); err != nil {
			t.Fatal(err)
		}
		variants := map[string]ledger.Posting{}
		v := base
		v.AmountCents = -11
		variants["amount"] = v
		v = base
		v.Kind = models.EntryNumberFee
		variants["kind"] = v
		v = base
		v.AccountID = b.ID
		variants["account"] = v
		// The whole posting counts, as Formance hashes it: a key reused for
		// another reason or business reference is a conflict too.
		v = base
		v.Description = "another reason"
		variants["reason"] = v
		v = base
		v.CallRef = "call_2"
		variants["call reference"] = v
		v = base
		v.TopUpRef = "tu_2"
		variants["top-up reference"] = v
		v = base
		v.NumberRef = "num_2"
		variants["number reference"] = v
		for name, p := range variants {
			if _, err := svc.Post(ctx, p); !errors.Is(err, ledger.ErrIdempotencyConflict) {
				t.Errorf("%s changed: err = %v, want ErrIdempotencyConflict", name, err)
			}
		}
		mustBalance(t, svc, a.ID, 990, 0)
		mustBalance(t, svc, b.ID, 1000, 0)
		mustVerifyClean(t, svc)
		// The same posting by another actor (a retry from another worker)
		// is still the original.
		same := base
		same.Actor = "another worker"
		if res, err := svc.Post(ctx, same); err != nil || !res.Replayed {
			t.Fatalf("an identical posting: %+v, %v; want a replay", res, err)
		}
	})
}

func TestPost_InvalidPostingsNameTheFieldAndWriteNothing(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := ledger.New(db)
		a := openAccount(t, svc, 100)
		ok := ledger.Posting{AccountID: a.ID, Kind: models.EntryAdjustment, AmountCents: -5, IdempotencyKey: "x", Actor: "admin:1"}
		cases := map[string]func(p *ledger.Posting){
			"account_id":      func(p *ledger.Posting) { p.AccountID = 0 },
			"kind":            func(p *ledger.Posting) { p.Kind = "gift" },
			"amount_cents":    func(p *ledger.Posting) { p.AmountCents = 0 },
			"actor":           func(p *ledger.Posting) { p.Actor = "" },
			"idempotency_key": func(p *ledger.Posting) { p.IdempotencyKey = "" },
			"allow_overdraft": func(p *ledger.Posting) { p.AllowOverdraft = true },
		}
		for field, mutate := range cases {
			p := ok
			mutate(&p)
			_, err := svc.Post(ctx, p)
			var ve *ledger.ValidationError
			if !errors.As(err, &ve) || ve.Field != field || !errors.Is(err, ledger.ErrInvalid) {
				t.Errorf("%s: err = %v, want a validation error naming %s", field, err, field)
			}
		}
		for _, c := range []struct {
			kind   models.EntryKind
			amount int64
		}{{models.EntryTopUp, -5}, {models.EntryCallCharge, 5}, {models.EntryRefund, -1}, {models.EntryNumberFee, 1}} {
			p := ok
			p.Kind, p.AmountCents = c.kind, c.amount
			if _, err := svc.Post(ctx, p); !errors.Is(err, ledger.ErrInvalid) {
				t.Errorf("%s of %d: err = %v, want ErrInvalid for the wrong sign", c.kind, c.amount, err)
			}
		}
		if _, err := svc.Post(ctx, ledger.Posting{AccountID: 999999, Kind: models.EntryBonus, AmountCents: 5, IdempotencyKey: "nobody", Actor: "t"}); !errors.Is(err, ledger.ErrAccountNotFound) {
			t.Errorf("unknown account: err = %v", err)
		}
		mustBalance(t, svc, a.ID, 100, 0)
		var n int64
		db.Model(&models.LedgerEntry{}).Count(&n)
		if n != 1 {
			t.Fatalf("%d entries after rejected postings; want only the opening one", n)
		}
	})
}

func TestPost_DisabledAccountRefusesSpendingButTakesCorrections(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := ledger.New(db)
		a := openAccount(t, svc, 100)
		if err := db.Model(&models.Account{}).Where("id = ?", a.ID).Update("status", models.StatusDisabled).Error; err != nil {
			t.Fatal(err)
		}
		for _, p := range []ledger.Posting{
			{AccountID: a.ID, Kind: models.EntryCallCharge, AmountCents: -1, IdempotencyKey: "d1", Actor: "t"},
			{AccountID: a.ID, Kind: models.EntryTopUp, AmountCents: 500, IdempotencyKey: "d2", Actor: "t"},
			{AccountID: a.ID, Kind: models.EntryNumberFee, AmountCents: -1, IdempotencyKey: "d3", Actor: "t"},
		} {
			if _, err := svc.Post(ctx, p); !errors.Is(err, ledger.ErrAccountDisabled) {
				t.Errorf("%s on a disabled account: err = %v, want ErrAccountDisabled", p.Kind, err)
			}
		}
		// A payment taken before the account was disabled is the customer's
		// money: it is credited (a refund is an operator's decision), and the
		// account still cannot spend it.
		for _, p := range []ledger.Posting{
			{AccountID: a.ID, Kind: models.EntryTopUp, AmountCents: 500, IdempotencyKey: "paid1", Actor: "t", Collected: true},
			{AccountID: a.ID, Kind: models.EntryAutoTopUp, AmountCents: 200, IdempotencyKey: "paid2", Actor: "t", Collected: true},
		} {
			if _, err := svc.Post(ctx, p); err != nil {
				t.Errorf("%s paid to a disabled account: %v, want it credited", p.Kind, err)
			}
		}
		if _, err := svc.PlaceHold(ctx, ledger.HoldRequest{AccountID: a.ID, AmountCents: 1, IdempotencyKey: "h"}); !errors.Is(err, ledger.ErrAccountDisabled) {
			t.Errorf("hold on a disabled account: err = %v", err)
		}
		if _, err := svc.Post(ctx, ledger.Posting{AccountID: a.ID, Kind: models.EntryAdjustment, AmountCents: -30, IdempotencyKey: "adj", Actor: "admin:1"}); err != nil {
			t.Errorf("adjustment on a disabled account: %v", err)
		}
		if _, err := svc.Post(ctx, ledger.Posting{AccountID: a.ID, Kind: models.EntryRefund, AmountCents: 10, IdempotencyKey: "ref", Actor: "admin:1"}); err != nil {
			t.Errorf("refund on a disabled account: %v", err)
		}
		mustBalance(t, svc, a.ID, 780, 0)
		if _, err := svc.Post(ctx, ledger.Posting{AccountID: a.ID, Kind: models.EntryBonus, AmountCents: 1, IdempotencyKey: "b", Actor: "t", Collected: true}); !errors.Is(err, ledger.ErrInvalid) {
			t.Errorf("a bonus claiming to be collected: %v, want ErrInvalid", err)
		}
	})
}

func TestPost_CallChargeMayOverdrawOnlyWhenAsked(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := ledger.New(db)
		a := openAccount(t, svc, 10)
		p := ledger.Posting{AccountID: a.ID, Kind: models.EntryCallCharge, AmountCents: -25, IdempotencyKey: "c1", Actor: "t"}
		if _, err := svc.Post(ctx, p); !errors.Is(err, ledger.ErrInsufficientFunds) {
			t.Fatalf("err = %v, want ErrInsufficientFunds", err)
		}
		p.AllowOverdraft = true
		r, err := svc.Post(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if r.BalanceAfter() != -15 {
			t.Fatalf("balance after = %d, want -15", r.BalanceAfter())
		}
		mustVerifyClean(t, svc)
	})
}

func TestResult_ThresholdCrossing(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := ledger.New(db)
		a := openAccount(t, svc, 300)
		post := func(key string, amt int64) ledger.Result {
			r, err := svc.Post(ctx, ledger.Posting{AccountID: a.ID, Kind: models.EntryAdjustment, AmountCents: amt, IdempotencyKey: key, Actor: "t"})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		r := post("a", -50) // 300 -> 250
		if r.CrossedBelow(200) || r.LeftBelow(200) {
			t.Fatal("250 is not below 200")
		}
		r = post("b", -100) // 250 -> 150
		if !r.CrossedBelow(200) || !r.LeftBelow(200) {
			t.Fatal("250 -> 150 crosses 200")
		}
		r = post("c", -10) // 150 -> 140
		if r.CrossedBelow(200) || !r.LeftBelow(200) {
			t.Fatal("150 -> 140 stays below: left below, not crossed")
		}
		if r = post("c", -10); r.LeftBelow(200) || r.CrossedBelow(200) {
			t.Fatal("a replay must not trigger")
		}
		if r = post("d", 500); r.LeftBelow(200) {
			t.Fatal("a credit must not trigger")
		}
	})
}

func TestHolds_ReserveCaptureReleaseExactlyOnce(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := ledger.New(db)
		a := openAccount(t, svc, 100)

		h, err := svc.PlaceHold(ctx, ledger.HoldRequest{AccountID: a.ID, AmountCents: 60, IdempotencyKey: "hold:call:1", Reference: "call:1"})
		if err != nil {
			t.Fatal(err)
		}
		mustBalance(t, svc, a.ID, 100, 60)
		if again, err := svc.PlaceHold(ctx, ledger.HoldRequest{AccountID: a.ID, AmountCents: 60, IdempotencyKey: "hold:call:1"}); err != nil || again.ID != h.ID {
			t.Fatalf("hold replay = %v, %v; want the same hold", again.ID, err)
		}
		if _, err := svc.PlaceHold(ctx, ledger.HoldRequest{AccountID: a.ID, AmountCents: 61, IdempotencyKey: "hold:call:2"}); !errors.Is(err, ledger.ErrInsufficientFunds) {
			t.Fatalf("hold above available: %v", err)
		}
		if _, err := svc.Post(ctx, ledger.Posting{AccountID: a.ID, Kind: models.EntryNumberFee, AmountCents: -41, IdempotencyKey: "fee", Actor: "t"}); !errors.Is(err, ledger.ErrInsufficientFunds) {
			t.Fatalf("debit into held funds: %v", err)
		}
		if _, err := svc.CaptureHold(ctx, ledger.CaptureRequest{HoldID: h.ID, AmountCents: 61, IdempotencyKey: "charge:call:1", Actor: "t"}); !errors.Is(err, ledger.ErrCaptureExceedsHold) {
			t.Fatalf("capture above hold: %v", err)
		}
		cap1, err := svc.CaptureHold(ctx, ledger.CaptureRequest{HoldID: h.ID, AmountCents: 45, IdempotencyKey: "charge:call:1", Actor: "t", CallRef: "call:1"})
		if err != nil {
			t.Fatal(err)
		}
		if cap1.Entry.AmountCents != -45 || cap1.BalanceAfter() != 55 || cap1.Entry.Kind != models.EntryCallCharge {
			t.Fatalf("capture entry = %+v", cap1.Entry)
		}
		mustBalance(t, svc, a.ID, 55, 0)
		replay, err := svc.CaptureHold(ctx, ledger.CaptureRequest{HoldID: h.ID, AmountCents: 45, IdempotencyKey: "charge:call:1", Actor: "t"})
		if err != nil || !replay.Replayed || replay.Entry.ID != cap1.Entry.ID {
			t.Fatalf("capture replay = %+v, %v", replay, err)
		}
		if _, err := svc.CaptureHold(ctx, ledger.CaptureRequest{HoldID: h.ID, AmountCents: 10, IdempotencyKey: "charge:call:1b", Actor: "t"}); !errors.Is(err, ledger.ErrHoldSettled) {
			t.Fatalf("second capture: %v", err)
		}
		if _, err := svc.ReleaseHold(ctx, h.ID); !errors.Is(err, ledger.ErrHoldSettled) {
			t.Fatalf("release after capture: %v", err)
		}

		h2, err := svc.PlaceHold(ctx, ledger.HoldRequest{AccountID: a.ID, AmountCents: 50, IdempotencyKey: "hold:call:3"})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			r, err := svc.ReleaseHold(ctx, h2.ID)
			if err != nil || r.Status != models.HoldReleased {
				t.Fatalf("release = %v, %v", r.Status, err)
			}
		}
		if _, err := svc.CaptureHold(ctx, ledger.CaptureRequest{HoldID: h2.ID, AmountCents: 1, IdempotencyKey: "charge:call:3", Actor: "t"}); !errors.Is(err, ledger.ErrHoldSettled) {
			t.Fatalf("capture after release: %v", err)
		}
		if _, err := svc.ReleaseHold(ctx, 987654); !errors.Is(err, ledger.ErrHoldNotFound) {
			t.Fatalf("release of unknown hold: %v", err)
		}
		mustBalance(t, svc, a.ID, 55, 0)
		mustVerifyClean(t, svc)
	})
}

func TestHolds_ConcurrentCapturesOfOneHoldChargeOnce(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := ledger.New(db)
		a := openAccount(t, svc, 100)
		h, err := svc.PlaceHold(ctx, ledger.HoldRequest{AccountID: a.ID, AmountCents: 100, IdempotencyKey: "h"})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		captured, settled, released := 0, 0, 0
		for i := range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				if i%2 == 0 {
					_, err = svc.CaptureHold(ctx, ledger.CaptureRequest{HoldID: h.ID, AmountCents: 30, IdempotencyKey: fmt.Sprintf("cap-%d", i), Actor: "t"})
				} else {
					var r models.Hold
					r, err = svc.ReleaseHold(ctx, h.ID)
					if err == nil && r.Status == models.HoldReleased {
						mu.Lock()
						released++
						mu.Unlock()
						return
					}
				}
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					captured++
				case errors.Is(err, ledger.ErrHoldSettled):
					settled++
				default:
					t.Errorf("unexpected: %v", err)
				}
			}()
		}
		wg.Wait()
		if captured > 1 || (captured == 1) == (released > 0) {
			t.Fatalf("captured %d times, released %d times; want exactly one of capture or release", captured, released)
		}
		mustVerifyClean(t, svc)
		acct, _ := svc.Account(ctx, a.ID)
		if acct.HeldCents != 0 || (captured == 1 && acct.BalanceCents != 70) || (captured == 0 && acct.BalanceCents != 100) {
			t.Fatalf("account after race: %+v", acct)
		}
	})
}

func TestVerify_ReportsTamperedCache(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := ledger.New(db)
		a := openAccount(t, svc, 100)
		b := openAccount(t, svc, 50)
		mustVerifyClean(t, svc)
		// Simulate a bug or a hand edit that bypassed the ledger service.
		if err := db.Exec("UPDATE accounts SET balance_cents = 999, held_cents = 3 WHERE id = ?", a.ID).Error; err != nil {
			t.Fatal(err)
		}
		ds, err := svc.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 2 || ds[0].AccountID != a.ID || ds[1].AccountID != a.ID {
			t.Fatalf("discrepancies = %v; want balance and held for account %d only (not %d)", ds, a.ID, b.ID)
		}
		if ds[0].What != "balance" || ds[0].Cached != 999 || ds[0].Computed != 100 {
			t.Fatalf("balance discrepancy = %+v", ds[0])
		}
	})
}

// Calls place holds; a hold no call settled (a lost workflow, a bug) must
// not reserve money silently for ever: Verify reports every hold active for
// longer than the longest call plus a margin, and none younger.
func TestVerify_ReportsHoldsOlderThanTheLongestCall(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		now := time.Now().UTC()
		svc := ledger.New(db).WithStaleHoldAge(4*time.Hour + 30*time.Minute)
		a := openAccount(t, svc, 1000)
		placedAt := func(at time.Time, key string) models.Hold {
			h, err := svc.WithClock(func() time.Time { return at }).PlaceHold(ctx, ledger.HoldRequest{AccountID: a.ID, AmountCents: 100, IdempotencyKey: key})
			if err != nil {
				t.Fatal(err)
			}
			return h
		}
		old := placedAt(now.Add(-5*time.Hour), "hold:old")
		placedAt(now.Add(-4*time.Hour), "hold:young")
		settled := placedAt(now.Add(-6*time.Hour), "hold:settled")
		if _, err := svc.ReleaseHold(ctx, settled.ID); err != nil {
			t.Fatal(err)
		}
		ds, err := svc.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 1 || ds[0].What != "stale_hold" || ds[0].HoldID != old.ID || ds[0].AccountID != a.ID || ds[0].Cached != 100 {
			t.Fatalf("discrepancies %v, want the one hold older than 4h30m", ds)
		}
		if !strings.Contains(ds[0].String(), "RUNBOOK") {
			t.Fatalf("report %q does not point at the RUNBOOK", ds[0])
		}
	})
}
