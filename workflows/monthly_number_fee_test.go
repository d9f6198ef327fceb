package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/numbers"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

const numberFeeCents = 300

// fakeNumbers is the numbers store, the ledger's fee postings, Twilio's
// number shop and the mailer of one company with one number.
type fakeNumbers struct {
	mu       sync.Mutex
	balance  int64
	charges  map[string]int // fee key → times posted (must stay 1)
	refunds  []string
	records  []numbers.Progress
	shop     []string
	mails    []string
	sid      string
	buyError error
}

func newFakeNumbers(balance int64) *fakeNumbers {
	return &fakeNumbers{balance: balance, charges: map[string]int{}}
}

func (f *fakeNumbers) Get(_ context.Context, id int64) (models.PhoneNumber, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return models.PhoneNumber{ID: id, AccountID: 7, E164: "+14155550150", MonthlyFeeCents: numberFeeCents, TwilioSID: f.sid}, nil
}

func (f *fakeNumbers) ChargeFee(_ context.Context, id int64, start time.Time) (ledger.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := numbers.FeeKey(id, start)
	if f.charges[key] > 0 {
		return ledger.Result{Replayed: true, Entry: models.LedgerEntry{AmountCents: -numberFeeCents, BalanceAfter: f.balance}}, nil
	}
	if f.balance < numberFeeCents {
		return ledger.Result{}, fmt.Errorf("%w: fee", ledger.ErrInsufficientFunds)
	}
	f.balance -= numberFeeCents
	f.charges[key]++
	return ledger.Result{Entry: models.LedgerEntry{AmountCents: -numberFeeCents, BalanceAfter: f.balance}}, nil
}

func (f *fakeNumbers) RefundFee(_ context.Context, id int64, start time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refunds = append(f.refunds, numbers.FeeKey(id, start))
	f.balance += numberFeeCents
	return nil
}

func (f *fakeNumbers) Record(_ context.Context, p numbers.Progress) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records = append(f.records, p)
	return nil
}

func (f *fakeNumbers) AdminEmail(context.Context, int64) (string, error) {
	return "admin@acme.test", nil
}

func (f *fakeNumbers) SearchNumbers(context.Context, string, string) ([]providers.AvailableNumber, error) {
	return nil, nil
}

func (f *fakeNumbers) BuyNumber(_ context.Context, e164, voiceURL string) (providers.BoughtNumber, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shop = append(f.shop, "buy "+e164+" "+voiceURL)
	if f.buyError != nil {
		return providers.BoughtNumber{}, f.buyError
	}
	f.sid = "PN0001"
	return providers.BoughtNumber{SID: f.sid, E164: e164}, nil
}

func (f *fakeNumbers) FindNumber(_ context.Context, e164 string) (providers.BoughtNumber, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shop = append(f.shop, "find "+e164)
	return providers.BoughtNumber{}, false, nil
}

func (f *fakeNumbers) ReleaseNumber(_ context.Context, sid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shop = append(f.shop, "release "+sid)
	return nil
}

func (f *fakeNumbers) IncomingCallURL() string {
	return "https://mobayilo.example/api/webhooks/twilio/incoming"
}

func (f *fakeNumbers) Send(_ context.Context, m mail.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mails = append(f.mails, m.Subject)
	return nil
}

func (f *fakeNumbers) credit(cents int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.balance += cents
}

func (f *fakeNumbers) states() []models.NumberState {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []models.NumberState
	for _, r := range f.records {
		out = append(out, r.State)
	}
	return out
}

func newNumberEnv(t *testing.T, f *fakeNumbers) *testsuite.TestWorkflowEnvironment {
	env := newTestEnv(t)
	env.RegisterWorkflow(workflows.MonthlyNumberFee)
	env.RegisterActivity(&activities.Activities{Numbers: f, NumberShop: f, NumberCallbacks: f, Mailer: f})
	return env
}

// continuedWith is the next run's input of a run that continued as new.
func continuedWith(t *testing.T, env *testsuite.TestWorkflowEnvironment) workflows.MonthlyNumberFeeInput {
	t.Helper()
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("run ended with %v, want continue-as-new", err)
	}
	var next workflows.MonthlyNumberFeeInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	return next
}

func finished(t *testing.T, env *testsuite.TestWorkflowEnvironment) workflows.MonthlyNumberFeeResult {
	t.Helper()
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow error: %v", err)
	}
	var res workflows.MonthlyNumberFeeResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func purchaseUpdate(t *testing.T, env *testsuite.TestWorkflowEnvironment, got *workflows.NumberPurchase) {
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(workflows.UpdateNumberPurchase, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { t.Errorf("purchase rejected: %v", err) },
			OnComplete: func(v any, err error) {
				if err != nil {
					t.Errorf("purchase: %v", err)
					return
				}
				*got = v.(workflows.NumberPurchase)
			},
		})
	}, 0)
}

func TestMonthlyNumberFee_PurchaseChargesFirstMonthThenBuysAndRenewsNextMonth(t *testing.T) {
	f := newFakeNumbers(1000)
	env := newNumberEnv(t, f)
	var got workflows.NumberPurchase
	purchaseUpdate(t, env, &got)
	env.ExecuteWorkflow(workflows.MonthlyNumberFee, workflows.MonthlyNumberFeeInput{NumberID: 5, AccountID: 7, E164: "+14155550150"})
	next := continuedWith(t, env)
	if got.State != workflows.NumberActive || got.FeeCents != numberFeeCents {
		t.Errorf("purchase answered %+v", got)
	}
	if want := numbers.FeeKey(5, testStart); f.charges[want] != 1 || len(f.charges) != 1 {
		t.Errorf("charges %v, want one under %s", f.charges, want)
	}
	if len(f.shop) != 1 || f.shop[0] != "buy +14155550150 https://mobayilo.example/api/webhooks/twilio/incoming" {
		t.Errorf("shop requests %v", f.shop)
	}
	if last := f.records[len(f.records)-1]; last.State != models.NumberActive || last.TwilioSID != "PN0001" ||
		!last.NextChargeAt.Equal(testStart.AddDate(0, 1, 0)) {
		t.Errorf("last record %+v", last)
	}
	if next.Period != 1 || !next.Anchor.Equal(testStart) {
		t.Errorf("continued with %+v, want period 1 anchored at %s", next, testStart)
	}
	if f.balance != 1000-numberFeeCents {
		t.Errorf("balance %d", f.balance)
	}
}

func TestMonthlyNumberFee_NoFundsBuysNothing(t *testing.T) {
	f := newFakeNumbers(numberFeeCents - 1)
	env := newNumberEnv(t, f)
	var got workflows.NumberPurchase
	purchaseUpdate(t, env, &got)
	env.ExecuteWorkflow(workflows.MonthlyNumberFee, workflows.MonthlyNumberFeeInput{NumberID: 5, AccountID: 7, E164: "+14155550150"})
	if res := finished(t, env); res.State != workflows.NumberFailed {
		t.Errorf("ended %s", res.State)
	}
	if got.State != workflows.NumberFailed || got.LastError == "" {
		t.Errorf("purchase answered %+v", got)
	}
	if len(f.shop) != 0 || len(f.charges) != 0 {
		t.Errorf("shop %v, charges %v: nothing may be bought or charged without funds", f.shop, f.charges)
	}
}

func TestMonthlyNumberFee_RefusedPurchaseRefundsTheFee(t *testing.T) {
	f := newFakeNumbers(1000)
	f.buyError = fmt.Errorf("%w: taken", providers.ErrNumberUnavailable)
	env := newNumberEnv(t, f)
	var got workflows.NumberPurchase
	purchaseUpdate(t, env, &got)
	env.ExecuteWorkflow(workflows.MonthlyNumberFee, workflows.MonthlyNumberFeeInput{NumberID: 5, AccountID: 7, E164: "+14155550150"})
	if res := finished(t, env); res.State != workflows.NumberFailed {
		t.Errorf("ended %s", res.State)
	}
	if got.State != workflows.NumberFailed {
		t.Errorf("purchase answered %+v", got)
	}
	if len(f.refunds) != 1 || f.refunds[0] != numbers.FeeKey(5, testStart) || f.balance != 1000 {
		t.Errorf("refunds %v, balance %d: the fee must come back once", f.refunds, f.balance)
	}
}

func TestMonthlyNumberFee_TwoPeriodsRollOverWithOneFeeEach(t *testing.T) {
	f := newFakeNumbers(1000)
	anchor := testStart.AddDate(0, -1, 0)
	in := workflows.MonthlyNumberFeeInput{NumberID: 5, AccountID: 7, E164: "+14155550150", Anchor: anchor, Period: 1}
	for period := 1; period <= 2; period++ {
		env := newNumberEnv(t, f)
		env.ExecuteWorkflow(workflows.MonthlyNumberFee, in)
		in = continuedWith(t, env)
		if in.Period != period+1 || !in.Anchor.Equal(anchor) {
			t.Fatalf("period %d continued with %+v", period, in)
		}
	}
	want := map[string]int{numbers.FeeKey(5, workflows.NumberPeriodStart(anchor, 1)): 1, numbers.FeeKey(5, workflows.NumberPeriodStart(anchor, 2)): 1}
	if fmt.Sprint(f.charges) != fmt.Sprint(want) || f.balance != 1000-2*numberFeeCents {
		t.Errorf("charges %v balance %d, want %v", f.charges, f.balance, want)
	}
}

func TestMonthlyNumberFee_SuspendedThenHealedByATopUp(t *testing.T) {
	f := newFakeNumbers(0)
	env := newNumberEnv(t, f)
	var during workflows.NumberFeeState
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(workflows.QueryState)
		if err != nil {
			t.Error(err)
			return
		}
		_ = v.Get(&during)
	}, time.Hour)
	env.RegisterDelayedCallback(func() {
		f.credit(2000)
		env.SignalWorkflow(workflows.SignalNumberFunds, workflows.NumberFunds{AccountID: 7, AmountCents: 2000})
	}, 2*time.Hour)
	in := workflows.MonthlyNumberFeeInput{NumberID: 5, AccountID: 7, E164: "+14155550150", Anchor: testStart.AddDate(0, -1, 0), Period: 1}
	env.ExecuteWorkflow(workflows.MonthlyNumberFee, in)
	next := continuedWith(t, env)
	if during.State != workflows.NumberSuspended || !during.GraceEndsAt.Equal(workflows.NumberPeriodStart(in.Anchor, 1).AddDate(0, 0, 14)) {
		t.Errorf("an hour in: %+v", during)
	}
	if got := fmt.Sprint(f.states()); got != "[suspended active]" {
		t.Errorf("states %s", got)
	}
	if len(f.charges) != 1 || f.balance != 2000-numberFeeCents {
		t.Errorf("charges %v balance %d", f.charges, f.balance)
	}
	if len(f.mails) != 2 || f.mails[0] != "Your company number +14155550150 is suspended" || f.mails[1] != "Your company number +14155550150 is active again" {
		t.Errorf("mails %q", f.mails)
	}
	if next.Period != 2 {
		t.Errorf("continued with %+v", next)
	}
}

func TestMonthlyNumberFee_ReleasedAfterGraceWithNoticeFirst(t *testing.T) {
	f := newFakeNumbers(0)
	f.sid = "PN0001"
	env := newNumberEnv(t, f)
	in := workflows.MonthlyNumberFeeInput{NumberID: 5, AccountID: 7, E164: "+14155550150", Anchor: testStart.AddDate(0, -1, 0), Period: 1, GraceDays: 14}
	env.ExecuteWorkflow(workflows.MonthlyNumberFee, in)
	if res := finished(t, env); res.State != workflows.NumberReleased {
		t.Errorf("ended %s", res.State)
	}
	if got := fmt.Sprint(f.states()); got != "[suspended released]" {
		t.Errorf("states %s", got)
	}
	want := []string{"Your company number +14155550150 is suspended",
		"Your company number +14155550150 will be released on " + workflows.NumberPeriodStart(in.Anchor, 1).AddDate(0, 0, 14).Format("2 January 2006"),
		"Your company number +14155550150 was released"}
	if fmt.Sprint(f.mails) != fmt.Sprint(want) {
		t.Errorf("mails %q, want %q", f.mails, want)
	}
	if fmt.Sprint(f.shop) != "[release PN0001]" || len(f.charges) != 0 {
		t.Errorf("shop %v charges %v", f.shop, f.charges)
	}
}

func TestNumberPeriodStart_ClampsToTheMonthsLastDay(t *testing.T) {
	// Derived from this year, so it holds on any date: 31 January renews
	// on the last day of February, then on 31 March.
	y := testStart.Year()
	jan31 := time.Date(y, time.January, 31, 10, 0, 0, 0, time.UTC)
	feb := time.Date(y, time.March, 1, 10, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
	for n, want := range []time.Time{jan31, feb, time.Date(y, time.March, 31, 10, 0, 0, 0, time.UTC), time.Date(y+1, time.January, 31, 10, 0, 0, 0, time.UTC)} {
		p := n
		if n == 3 {
			p = 12
		}
		if got := workflows.NumberPeriodStart(jan31, p); !got.Equal(want) {
			t.Errorf("period %d starts %s, want %s", p, got, want)
		}
	}
}
