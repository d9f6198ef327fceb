package calls_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/callerid"
	"github.com/mobayilo/mobayilo/internal/calls"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// env is an account with balance on one database, and the service.
type env struct {
	ctx  context.Context
	db   *gorm.DB
	led  *ledger.Service
	svc  *calls.Service
	user models.User
}

func newEnv(t *testing.T, db *gorm.DB, balanceCents int64) *env {
	t.Helper()
	ctx := context.Background()
	if _, err := rates.SeedIfEmpty(ctx, db); err != nil {
		t.Fatal(err)
	}
	led := ledger.New(db)
	u, _, err := identity.New(db, led).CreateUser(ctx, identity.NewUser{Email: fmt.Sprintf("caller%d@example.com", time.Now().UnixNano()), AccountKind: models.AccountIndividual})
	if err != nil {
		t.Fatal(err)
	}
	if balanceCents > 0 {
		if _, err := led.Post(ctx, ledger.Posting{AccountID: u.AccountID, Kind: models.EntryBonus, AmountCents: balanceCents, IdempotencyKey: fmt.Sprintf("seed-%d", u.ID), Actor: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	svc := calls.New(db, led, rates.NewCache(db, time.Minute), calls.Policy{Blocked: map[string]bool{"CU": true, "001": true}, MaxMinutes: 240,
		DialWindow: 2 * time.Minute, DefaultCallerID: "+14155550199"})
	return &env{ctx: ctx, db: db, led: led, svc: svc, user: u}
}

// companyNumber gives the user an active company number: company calls
// need one (internal/numbers tests the rules).
func (e *env) companyNumber(t *testing.T) {
	t.Helper()
	now := time.Now().UTC()
	pn := models.PhoneNumber{AccountID: e.user.AccountID, E164: fmt.Sprintf("+1415555%04d", e.user.ID%10000), State: models.NumberActive,
		MonthlyFeeCents: 300, BoughtBy: e.user.ID, CreatedAt: now, UpdatedAt: now}
	if err := e.db.Create(&pn).Error; err != nil {
		t.Fatal(err)
	}
	if err := e.db.Model(&models.User{}).Where("id = ?", e.user.ID).Update("phone_number_id", pn.ID).Error; err != nil {
		t.Fatal(err)
	}
}

func (e *env) caller() calls.Caller {
	return calls.Caller{UserID: e.user.ID, AccountID: e.user.AccountID}
}

func (e *env) open(t *testing.T, to string) models.Call {
	t.Helper()
	p, err := e.svc.Plan(e.ctx, e.caller(), to, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.svc.Open(e.ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) balance(t *testing.T) models.Account {
	t.Helper()
	a, err := e.led.Account(e.ctx, e.user.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Billing per started minute: 0, 1, 60, 61 and 3601 seconds bill 0, 1, 1,
// 2 and 61 minutes; the hold is captured by that much and the rest freed.
func TestSettle_BillsPerStartedMinute(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		for _, c := range []struct{ seconds, minutes int64 }{{0, 0}, {1, 1}, {60, 1}, {61, 2}, {3601, 61}} {
			e := newEnv(t, db, 100000)
			call := e.open(t, "+14155550100")
			b, err := e.svc.Settle(e.ctx, calls.Settlement{CallID: call.ID, Status: models.CallCompleted, DurationSeconds: c.seconds, Actor: "test"})
			if err != nil {
				t.Fatal(err)
			}
			want := c.minutes * call.PricePerMinuteCents
			if b.BilledMinutes != c.minutes || b.CostCents != want {
				t.Errorf("%d s: billed %d min, %d cents; want %d min, %d cents", c.seconds, b.BilledMinutes, b.CostCents, c.minutes, want)
			}
			if a := e.balance(t); a.BalanceCents != 100000-want || a.HeldCents != 0 {
				t.Errorf("%d s: balance %d held %d; want %d and nothing held", c.seconds, a.BalanceCents, a.HeldCents, 100000-want)
			}
			// Settling again bills nothing more.
			if again, err := e.svc.Settle(e.ctx, calls.Settlement{CallID: call.ID, Status: models.CallCompleted, DurationSeconds: 9999, Actor: "test"}); err != nil || again.CostCents != want {
				t.Errorf("%d s: a second settlement = %+v, %v", c.seconds, again, err)
			}
			if a := e.balance(t); a.BalanceCents != 100000-want {
				t.Errorf("%d s: a second settlement moved the balance to %d", c.seconds, a.BalanceCents)
			}
		}
		if ds, err := ledger.New(db).Verify(context.Background()); err != nil || len(ds) != 0 {
			t.Fatalf("ledger verify: %v %v", ds, err)
		}
	})
}

// Two authorisations racing for a balance that covers one call: the
// ledger's conditional hold lets one through, the other is refused.
func TestOpen_TwoConcurrentCallsCannotHoldTheSameMoney(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, 0)
		// A balance of exactly one minute to the US.
		probe, _ := rates.Normalize("+14155550100", "")
		tbl, _ := rates.NewCache(db, time.Minute).Table(e.ctx)
		r, _ := tbl.Lookup(probe.E164)
		price := rates.PriceCents(r, models.AudienceIndividual)
		if _, err := e.led.Post(e.ctx, ledger.Posting{AccountID: e.user.AccountID, Kind: models.EntryBonus, AmountCents: price, IdempotencyKey: "one-minute", Actor: "test"}); err != nil {
			t.Fatal(err)
		}
		var plans []calls.Plan
		for range 2 {
			p, err := e.svc.Plan(e.ctx, e.caller(), "+14155550100", "")
			if err != nil {
				t.Fatal(err)
			}
			plans = append(plans, p)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, p := range plans {
			wg.Add(1)
			go func() { defer wg.Done(); _, errs[i] = e.svc.Open(e.ctx, p) }()
		}
		wg.Wait()
		ok, refused := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ledger.ErrInsufficientFunds):
				refused++
			default:
				t.Fatalf("unexpected error %v", err)
			}
		}
		if ok != 1 || refused != 1 {
			t.Fatalf("%d opened, %d refused; want one each", ok, refused)
		}
		if a := e.balance(t); a.HeldCents != price {
			t.Fatalf("held %d, want one minute (%d)", a.HeldCents, price)
		}
	})
}

func TestPlan_RefusesWithTheReason(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, 1000)
		broke := newEnv(t, db, 0)
		var ne *rates.NumberError
		if _, err := e.svc.Plan(e.ctx, e.caller(), "06 12", "FR"); !errors.As(err, &ne) {
			t.Errorf("a short number: %v, want its NumberError", err)
		}
		if _, err := e.svc.Plan(e.ctx, e.caller(), "+53 5 123 4567", ""); !errors.Is(err, calls.ErrDestinationBlocked) {
			t.Errorf("Cuba: %v, want destination blocked", err)
		}
		if _, err := broke.svc.Plan(broke.ctx, broke.caller(), "+14155550100", ""); !errors.Is(err, ledger.ErrInsufficientFunds) {
			t.Errorf("no balance: %v, want insufficient funds", err)
		}
		p, err := e.svc.Plan(e.ctx, e.caller(), "07911 123456", "GB")
		if err != nil || p.To.E164 != "+447911123456" || p.CallerID != "+14155550199" || p.MaxMinutes < 1 {
			t.Fatalf("a national UK number: %+v, %v", p, err)
		}
	})
}

// A seat's daily cap: a call that would exceed it is refused, naming it.
func TestPlan_SeatDailyCapRefusesACallPastIt(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, 100000)
		capCents := int64(5)
		if err := db.Model(&models.User{}).Where("id = ?", e.user.ID).Update("daily_spend_cap_cents", capCents).Error; err != nil {
			t.Fatal(err)
		}
		seat := e.caller()
		seat.Seat = true
		e.companyNumber(t)
		if _, err := e.svc.Plan(e.ctx, seat, "+447911123456", ""); !errors.Is(err, calls.ErrSeatCapReached) {
			t.Fatalf("a call past a 5-cent cap: %v, want seat cap reached", err)
		}
	})
}

// Twilio's voice webhook connects a call once, for its identity, before it
// expires; a retry of the same webhook gets the same answer.
func TestClaim_OnceForItsIdentityBeforeItExpires(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, 1000)
		c := e.open(t, "+14155550100")
		identity := e.caller().Identity()
		var ce *calls.ClaimError
		if _, err := e.svc.Claim(e.ctx, c.ID, "user_999", "CA1"); !errors.As(err, &ce) || ce.Reason != calls.ClaimMismatch {
			t.Fatalf("another identity: %v", err)
		}
		if got, err := e.svc.Claim(e.ctx, c.ID, identity, "CA1"); err != nil || got.Status != models.CallDialing {
			t.Fatalf("claim: %+v %v", got, err)
		}
		if _, err := e.svc.Claim(e.ctx, c.ID, identity, "CA1"); err != nil {
			t.Fatalf("Twilio retrying the same webhook: %v", err)
		}
		if _, err := e.svc.Claim(e.ctx, c.ID, identity, "CA2"); !errors.As(err, &ce) || ce.Reason != calls.ClaimUsed {
			t.Fatalf("a second call with the same id: %v", err)
		}
		if _, err := e.svc.Claim(e.ctx, "call_nope", identity, "CA3"); !errors.As(err, &ce) || ce.Reason != calls.ClaimUnknown {
			t.Fatalf("an unknown call: %v", err)
		}
		late := e.open(t, "+14155550100")
		future := e.svc.WithClock(func() time.Time { return time.Now().UTC().Add(3 * time.Minute) })
		if _, err := future.Claim(e.ctx, late.ID, identity, "CA4"); !errors.As(err, &ce) || ce.Reason != calls.ClaimExpired {
			t.Fatalf("a claim after the dial window: %v", err)
		}
	})
}

// Callbacks are all recorded; the status only moves forward; a late one
// after billing with another duration flags the call.
func TestRecordStatus_RecordsEverythingAndNeverMovesBackwards(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, 1000)
		c := e.open(t, "+14155550100")
		rec := func(status string, seq, d int64) calls.Recorded {
			r, err := e.svc.RecordStatus(e.ctx, calls.StatusEvent{CallID: c.ID, CallSID: "CAchild", Status: status, SequenceNumber: seq, DurationSeconds: d})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		if r := rec("in-progress", 2, -1); !r.Advanced || r.Call.Status != models.CallInProgress || r.Call.AnsweredAt == nil {
			t.Fatalf("answered: %+v", r)
		}
		if r := rec("ringing", 1, -1); r.Advanced || r.Call.Status != models.CallInProgress {
			t.Fatalf("a late ringing moved the call: %+v", r)
		}
		if r := rec("completed", 3, 30); !r.Advanced || r.Call.Status != models.CallCompleted {
			t.Fatalf("completed: %+v", r)
		}
		if r := rec("completed", 3, 30); r.Advanced {
			t.Fatalf("a duplicate advanced: %+v", r)
		}
		if _, err := e.svc.Settle(e.ctx, calls.Settlement{CallID: c.ID, Status: models.CallCompleted, DurationSeconds: 30, Actor: "test"}); err != nil {
			t.Fatal(err)
		}
		if r := rec("completed", 4, 95); r.Call.ReconcileReason == "" {
			t.Fatalf("a late callback with another duration was not flagged: %+v", r.Call)
		}
		var n int64
		db.Model(&models.CallEvent{}).Where("call_id = ?", c.ID).Count(&n)
		if n != 5 {
			t.Fatalf("%d events recorded, want all 5", n)
		}
	})
}

// An individual whose caller ID was verified calls with it; before that,
// and for company accounts, the deployment's default is used.
func TestPlan_IndividualWithVerifiedCallerIDCallsWithIt(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, 10000)
		p, err := e.svc.Plan(e.ctx, e.caller(), "+14155550100", "")
		if err != nil || p.CallerID != "+14155550199" {
			t.Fatalf("before verification: caller ID %q, %v; want the default", p.CallerID, err)
		}
		at := time.Now().UTC()
		if err := callerid.New(db, e.led).Record(e.ctx, callerid.Progress{AccountID: e.user.AccountID, UserID: e.user.ID, E164: "+447700900123",
			Country: "GB", State: callerid.StateVerified, VerifiedAt: &at}); err != nil {
			t.Fatal(err)
		}
		p, err = e.svc.Plan(e.ctx, e.caller(), "+14155550100", "")
		if err != nil || p.CallerID != "+447700900123" {
			t.Fatalf("after verification: caller ID %q, %v; want the verified number", p.CallerID, err)
		}
		// A number still being verified is not used.
		other := newEnv(t, db, 10000)
		if err := callerid.New(db, e.led).Record(e.ctx, callerid.Progress{AccountID: other.user.AccountID, UserID: other.user.ID, E164: "+447700900124",
			Country: "GB", State: callerid.StateAwaitingCode}); err != nil {
			t.Fatal(err)
		}
		if p, err := other.svc.Plan(other.ctx, other.caller(), "+14155550100", ""); err != nil || p.CallerID != "+14155550199" {
			t.Fatalf("pending number: caller ID %q, %v; want the default", p.CallerID, err)
		}
	})
}

func (e *env) verify(t *testing.T, e164 string) {
	t.Helper()
	at := time.Now().UTC()
	if err := callerid.New(e.db, e.led).Record(e.ctx, callerid.Progress{AccountID: e.user.AccountID, UserID: e.user.ID, E164: e164,
		State: callerid.StateVerified, VerifiedAt: &at}); err != nil {
		t.Fatal(err)
	}
}

// A bridge call needs a verified caller ID; its two legs are priced each at
// its own rate and capped to the same minutes, available / (both prices),
// which the two holds then cover exactly; a national number without a
// country is read in the caller ID's country, and says it was guessed.
func TestPlanBridge_TwoLegsCappedToWhatBothPricesLeave(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, 10000)
		var cre *calls.CallerIDRequiredError
		if _, err := e.svc.PlanBridge(e.ctx, e.caller(), "+14155550100", ""); !errors.As(err, &cre) || cre.Company || !errors.Is(err, calls.ErrCallerIDRequired) {
			t.Fatalf("without a caller ID: %v; want CallerIDRequiredError", err)
		}
		company := e.caller()
		company.Company = true
		if _, err := e.svc.PlanBridge(e.ctx, company, "+14155550100", ""); !errors.As(err, &cre) || !cre.Company {
			t.Fatalf("a company: %v; want CallerIDRequiredError for companies", err)
		}
		e.verify(t, "+447400123456")
		p, err := e.svc.PlanBridge(e.ctx, e.caller(), "020 7946 0123", "")
		if err != nil || !p.CountryGuessed || p.Destination.To.E164 != "+442079460123" || p.Owner.To.E164 != "+447400123456" ||
			p.Destination.CallerID != "+447400123456" || p.Owner.CallerID != "+14155550199" || p.Destination.BridgeID != p.Destination.CallID ||
			p.Owner.BridgeID != p.Destination.CallID || p.Owner.Leg != models.LegOwner || p.Destination.Leg != models.LegDestination {
			t.Fatalf("plan %+v, %v", p, err)
		}
		if p, err := e.svc.PlanBridge(e.ctx, e.caller(), "415 555 0100", "US"); err != nil || p.CountryGuessed || p.Destination.To.E164 != "+14155550100" {
			t.Fatalf("with --country: %+v, %v", p, err)
		}
		per := p.Owner.PricePerMinuteCents + p.Destination.PricePerMinuteCents

		small := newEnv(t, db, 3*per+1)
		small.verify(t, "+447400123456")
		p, err = small.svc.PlanBridge(small.ctx, small.caller(), "020 7946 0123", "")
		if err != nil || p.MaxMinutes != 3 || p.Owner.MaxMinutes != 3 || p.Destination.MaxMinutes != 3 {
			t.Fatalf("with 3 minutes of both legs: %+v, %v", p, err)
		}
		for _, leg := range []calls.Plan{p.Destination, p.Owner} {
			if c, err := small.svc.Open(small.ctx, leg); err != nil || c.MaxMinutes != 3 || c.BridgeID != p.Destination.CallID {
				t.Fatalf("open %s: %+v, %v", leg.Leg, c, err)
			}
		}
		if a := small.balance(t); a.AvailableCents() != 1 {
			t.Fatalf("available after both holds %d, want 1", a.AvailableCents())
		}
		owner, dest, err := small.svc.Bridge(small.ctx, small.user.AccountID, p.Destination.CallID)
		if err != nil || owner.ID != p.Owner.CallID || dest.ID != p.Destination.CallID {
			t.Fatalf("bridge: %s %s %v", owner.ID, dest.ID, err)
		}
		if _, _, err := e.svc.Bridge(e.ctx, e.user.AccountID, p.Destination.CallID); !errors.Is(err, calls.ErrCallNotFound) {
			t.Fatalf("another account's bridge: %v", err)
		}

		poor := newEnv(t, db, per-1)
		poor.verify(t, "+447400123456")
		if _, err := poor.svc.PlanBridge(poor.ctx, poor.caller(), "020 7946 0123", ""); !errors.Is(err, ledger.ErrInsufficientFunds) {
			t.Fatalf("less than a minute of both legs: %v", err)
		}
	})
}

// The bridge webhook claims the destination leg once, for the owner leg's
// own Twilio call only.
func TestClaimBridge_OnceForTheOwnersCall(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, 10000)
		e.verify(t, "+447400123456")
		p, err := e.svc.PlanBridge(e.ctx, e.caller(), "+14155550100", "")
		if err != nil {
			t.Fatal(err)
		}
		for _, leg := range []calls.Plan{p.Destination, p.Owner} {
			if _, err := e.svc.Open(e.ctx, leg); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.svc.RecordPlaced(e.ctx, p.Owner.CallID, "CAowner"); err != nil {
			t.Fatal(err)
		}
		var ce *calls.ClaimError
		if _, err := e.svc.ClaimBridge(e.ctx, p.Destination.CallID, "CAother"); !errors.As(err, &ce) || ce.Reason != calls.ClaimMismatch {
			t.Fatalf("another call's SID: %v", err)
		}
		if _, err := e.svc.ClaimBridge(e.ctx, "call_unknown", "CAowner"); !errors.As(err, &ce) || ce.Reason != calls.ClaimUnknown {
			t.Fatalf("an unknown bridge: %v", err)
		}
		c, err := e.svc.ClaimBridge(e.ctx, p.Destination.CallID, "CAowner")
		if err != nil || c.ID != p.Destination.CallID || c.Status != models.CallDialing || c.TwilioCallSID != "CAowner" {
			t.Fatalf("claim: %+v, %v", c, err)
		}
		if again, err := e.svc.ClaimBridge(e.ctx, p.Destination.CallID, "CAowner"); err != nil || again.ID != c.ID {
			t.Fatalf("Twilio retrying the webhook: %v", err)
		}
	})
}
