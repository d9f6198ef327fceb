package numbers_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/calls"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/numbers"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

const fee = 300

type company struct {
	ctx   context.Context
	db    *gorm.DB
	led   *ledger.Service
	svc   *numbers.Service
	shop  *providers.SandboxNumbers
	admin models.User
	seat  models.User
}

func newCompany(t *testing.T, db *gorm.DB, balance int64) *company {
	t.Helper()
	ctx := context.Background()
	led := ledger.New(db)
	admin, _, err := identity.New(db, led).CreateUser(ctx, identity.NewUser{Email: fmt.Sprintf("admin%d@acme.test", time.Now().UnixNano()),
		AccountKind: models.AccountCompany, AccountName: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	seat := models.User{AccountID: admin.AccountID, Email: fmt.Sprintf("seat%d@acme.test", now.UnixNano()), Role: models.RoleSeat,
		Status: models.StatusActive, CreatedAt: now, UpdatedAt: now}
	if err := db.Create(&seat).Error; err != nil {
		t.Fatal(err)
	}
	if balance > 0 {
		if _, err := led.Post(ctx, ledger.Posting{AccountID: admin.AccountID, Kind: models.EntryBonus, AmountCents: balance,
			IdempotencyKey: fmt.Sprintf("seed-%d", admin.ID), Actor: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	shop := providers.NewSandboxNumbers()
	return &company{ctx: ctx, db: db, led: led, shop: shop, admin: admin, seat: seat,
		svc: numbers.New(db, led, shop, numbers.Policy{FeeCents: fee, GraceDays: 14})}
}

func (c *company) available(t *testing.T) int64 {
	t.Helper()
	a, err := c.led.Account(c.ctx, c.admin.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	return a.AvailableCents()
}

func TestStates_AreTheWorkflowsStates(t *testing.T) {
	for m, w := range map[models.NumberState]string{models.NumberPurchasing: workflows.NumberPurchasing, models.NumberActive: workflows.NumberActive,
		models.NumberSuspended: workflows.NumberSuspended, models.NumberReleased: workflows.NumberReleased, models.NumberFailed: workflows.NumberFailed} {
		if string(m) != w {
			t.Errorf("models %q differs from the workflow's %q", m, w)
		}
	}
}

func TestReserve_PreChecksTheFirstMonthAndAsksTwilioNothing(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		c := newCompany(t, db, fee-1)
		var fe *numbers.FundsError
		_, err := c.svc.Reserve(c.ctx, c.admin, "+14155550150")
		if !errors.As(err, &fe) || !errors.Is(err, ledger.ErrInsufficientFunds) || fe.FeeCents != fee || fe.AvailableCents != fee-1 {
			t.Fatalf("reserve with $2.99 = %v, want a FundsError", err)
		}
		var rows int64
		db.Model(&models.PhoneNumber{}).Where("account_id = ?", c.admin.AccountID).Count(&rows)
		if rows != 0 || len(c.shop.Requests()) != 0 {
			t.Fatalf("%d rows, requests %v: a refused reserve writes nothing and asks nothing", rows, c.shop.Requests())
		}
		for _, bad := range []string{"", "4155550150", "+1 415", "not a number"} {
			if _, err := c.svc.Reserve(c.ctx, c.admin, bad); !errors.Is(err, numbers.ErrInvalid) {
				t.Errorf("reserve %q = %v, want ErrInvalid", bad, err)
			}
		}
		if _, err := c.svc.Reserve(c.ctx, c.seat, "+14155550150"); !errors.Is(err, identity.ErrNotCompanyAdmin) {
			t.Errorf("a seat reserving = %v", err)
		}
	})
}

func TestReserve_OneLiveRowPerNumber(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		c := newCompany(t, db, 10000)
		pn, err := c.svc.Reserve(c.ctx, c.admin, "+14155550151")
		if err != nil {
			t.Fatal(err)
		}
		if pn.State != models.NumberPurchasing || pn.MonthlyFeeCents != fee || pn.Country != "US" {
			t.Fatalf("reserved %+v", pn)
		}
		if _, err := c.svc.Reserve(c.ctx, c.admin, "+14155550151"); !errors.Is(err, numbers.ErrTaken) {
			t.Fatalf("second reserve = %v, want ErrTaken", err)
		}
		// Once released, it may be bought again.
		if err := c.svc.Record(c.ctx, numbers.Progress{NumberID: pn.ID, State: models.NumberReleased}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.svc.Reserve(c.ctx, c.admin, "+14155550151"); err != nil {
			t.Fatalf("reserve after release = %v", err)
		}
	})
}

func TestChargeFee_OncePerNumberAndPeriodAndRefundOnce(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		c := newCompany(t, db, 1000)
		pn, err := c.svc.Reserve(c.ctx, c.admin, "+14155550152")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now().UTC().Truncate(time.Second)
		for range 3 {
			if _, err := c.svc.ChargeFee(c.ctx, pn.ID, start); err != nil {
				t.Fatal(err)
			}
		}
		if got := c.available(t); got != 1000-fee {
			t.Fatalf("available %d after three tries of one period, want %d", got, 1000-fee)
		}
		if _, err := c.svc.ChargeFee(c.ctx, pn.ID, start.AddDate(0, 1, 0)); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := c.svc.RefundFee(c.ctx, pn.ID, start); err != nil {
				t.Fatal(err)
			}
		}
		if got := c.available(t); got != 1000-fee {
			t.Fatalf("available %d after two periods and one refund, want %d", got, 1000-fee)
		}
		// A period never charged is never refunded.
		if err := c.svc.RefundFee(c.ctx, pn.ID, start.AddDate(0, 5, 0)); err != nil || c.available(t) != 1000-fee {
			t.Fatalf("refund of an uncharged period: %v, available %d", err, c.available(t))
		}
		empty := newCompany(t, db, fee-1)
		pn2 := models.PhoneNumber{AccountID: empty.admin.AccountID, E164: "+14155550153", State: models.NumberActive, MonthlyFeeCents: fee,
			BoughtBy: empty.admin.ID, CreatedAt: start, UpdatedAt: start}
		if err := db.Create(&pn2).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := empty.svc.ChargeFee(empty.ctx, pn2.ID, start); !errors.Is(err, ledger.ErrInsufficientFunds) {
			t.Fatalf("fee without funds = %v", err)
		}
	})
}

// A company user calls with their assigned active number and nothing else:
// none, a suspended or a released one refuses the call with what to do.
func TestPlan_CompanyCallsNeedAnActiveAssignedNumber(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		c := newCompany(t, db, 10000)
		if _, err := rates.SeedIfEmpty(c.ctx, db); err != nil {
			t.Fatal(err)
		}
		planner := calls.New(db, c.led, rates.NewCache(db, time.Minute), calls.Policy{MaxMinutes: 60, DialWindow: time.Minute, DefaultCallerID: "+14155550199"})
		seat := calls.Caller{UserID: c.seat.ID, AccountID: c.seat.AccountID, Seat: true, Company: true}
		admin := calls.Caller{UserID: c.admin.ID, AccountID: c.admin.AccountID, Company: true}
		var ne *numbers.NoNumberError
		if _, err := planner.Plan(c.ctx, seat, "+447911123456", ""); !errors.As(err, &ne) || ne.Admin {
			t.Fatalf("seat without a number: %v", err)
		}
		if _, err := planner.Plan(c.ctx, admin, "+447911123456", ""); !errors.As(err, &ne) || !ne.Admin {
			t.Fatalf("admin without a number: %v", err)
		}
		pn, err := c.svc.Reserve(c.ctx, c.admin, "+14155550154")
		if err != nil {
			t.Fatal(err)
		}
		if err := c.svc.Assign(c.ctx, c.admin, c.seat.ID, &pn.ID); !errors.Is(err, numbers.ErrNotAssignable) {
			t.Fatalf("assigning a number still being bought = %v", err)
		}
		if err := c.svc.Record(c.ctx, numbers.Progress{NumberID: pn.ID, State: models.NumberActive, TwilioSID: "PN1"}); err != nil {
			t.Fatal(err)
		}
		for _, u := range []models.User{c.seat, c.admin} {
			if err := c.svc.Assign(c.ctx, c.admin, u.ID, &pn.ID); err != nil {
				t.Fatal(err)
			}
		}
		for _, who := range []calls.Caller{seat, admin} {
			p, err := planner.Plan(c.ctx, who, "+447911123456", "")
			if err != nil || p.CallerID != "+14155550154" {
				t.Fatalf("plan with an active number: %+v, %v", p, err)
			}
		}
		grace := time.Now().UTC().AddDate(0, 0, 14)
		if err := c.svc.Record(c.ctx, numbers.Progress{NumberID: pn.ID, State: models.NumberSuspended, GraceEndsAt: &grace}); err != nil {
			t.Fatal(err)
		}
		var se *numbers.SuspendedError
		if _, err := planner.Plan(c.ctx, seat, "+447911123456", ""); !errors.As(err, &se) || se.E164 != "+14155550154" || se.GraceEndsAt == nil {
			t.Fatalf("suspended number: %v", err)
		}
		if err := c.svc.Record(c.ctx, numbers.Progress{NumberID: pn.ID, State: models.NumberReleased}); err != nil {
			t.Fatal(err)
		}
		users, err := c.svc.SeatsOf(c.ctx, pn.ID)
		if err != nil || len(users) != 0 {
			t.Fatalf("after release %d users still hold it (%v)", len(users), err)
		}
		if _, err := planner.Plan(c.ctx, seat, "+447911123456", ""); !errors.As(err, &ne) {
			t.Fatalf("released number: %v", err)
		}
		// Another company's number is not yours to assign.
		other := newCompany(t, db, 0)
		if err := other.svc.Assign(other.ctx, other.admin, c.seat.ID, nil); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("assigning another company's seat = %v", err)
		}
	})
}

func TestSearch_ValidatesAndAsksTheShop(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		c := newCompany(t, db, 0)
		got, err := c.svc.Search(c.ctx, c.admin, "us", "415")
		if err != nil || len(got) == 0 || got[0].E164[:5] != "+1415" {
			t.Fatalf("search US 415 = %v, %v", got, err)
		}
		gb, err := c.svc.Search(c.ctx, c.admin, "GB", "")
		if err != nil || len(gb) == 0 || gb[0].E164[:3] != "+44" {
			t.Fatalf("search GB = %v, %v", gb, err)
		}
		for _, bad := range [][2]string{{"XX", ""}, {"", ""}, {"US", "41a"}, {"US", "1234567"}} {
			if _, err := c.svc.Search(c.ctx, c.admin, bad[0], bad[1]); !errors.Is(err, numbers.ErrInvalid) {
				t.Errorf("search %q = %v, want ErrInvalid", bad, err)
			}
		}
		if want := []string{"search US 415", "search GB"}; fmt.Sprint(c.shop.Requests()) != fmt.Sprint(want) {
			t.Errorf("requests %v, want %v (bad input asks nothing)", c.shop.Requests(), want)
		}
	})
}
