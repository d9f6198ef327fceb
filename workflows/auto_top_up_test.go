package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/workflows"
)

const testAccount int64 = 42

// wallet is a fake account behind the AutoTopUp activities: its balance,
// settings and card, and a record of every charge, credit and email.
type wallet struct {
	env       *testsuite.TestWorkflowEnvironment
	balance   int64
	enabled   bool
	threshold int64
	amount    int64
	maxCount  int
	maxCents  int64
	// card decides each charge's outcome; outcomes, when set, are used in
	// order first.
	card     activities.ChargeOutcome
	outcomes []activities.ChargeOutcome
	charges  []activities.ChargeAutoTopUpInput
	chargeAt []time.Time
	credits  map[string]int64
	notices  []activities.NotifyAutoTopUpInput
	// confirms records each on-session confirmation; confirm decides its
	// outcome (needs authentication when unset).
	confirms []activities.ApproveAutoTopUpInput
	confirm  activities.ChargeOutcome
	// releases records each cancellation of a charge waiting for approval;
	// paidMeanwhile makes them find it paid.
	releases      []activities.ReleaseAutoTopUpInput
	paidMeanwhile bool
	// releaseErrs is how many cancellations fail (Stripe unreachable, or
	// the payment processing) before one works.
	releaseErrs int
	// earlierAttempt is a charge of a closed run, known to the attempt rows.
	earlierAttempt activities.ChargeAutoTopUpInput
	// spentToday is what the database says was charged today before this
	// run (an earlier execution's charges).
	spentToday, spentTodayCents int
	// receipts records each receipt stored and mailed; receiptErr, when
	// set, makes every try fail (mail down), counted in receiptTries.
	receipts     []activities.AutoTopUpReceiptInput
	receiptErr   error
	receiptTries int
	// answersLost makes every charge's every try time out after the
	// provider took it (taken) or before it reached it (!taken): the
	// outcome is unknown until reconciled.
	answersLost, taken bool
	// unsettled are attempts the database still has "charging" (an earlier
	// run died mid-charge); reconciled records each reconciliation.
	unsettled  []activities.ChargeAutoTopUpInput
	reconciled []string
	// onCheck runs at each balance check (what changes between tries).
	onCheck func(n int)
	checks  int
}

func newWallet() *wallet {
	return &wallet{balance: 100, enabled: true, threshold: 200, amount: 2000, maxCount: 3, maxCents: 6000,
		card: activities.ChargeSucceeded, credits: map[string]int64{}}
}

// run executes AutoTopUp with the fake wallet; setup schedules signals.
func (w *wallet) run(t *testing.T, in workflows.AutoTopUpInput, setup func(env *testsuite.TestWorkflowEnvironment)) (workflows.AutoTopUpResult, error) {
	t.Helper()
	env := newTestEnv(t)
	w.env = env
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.AutoTopUpWorkflowID(testAccount)})
	env.RegisterActivity(&activities.Activities{})
	var a *activities.Activities
	env.OnActivity(a.CheckAutoTopUp, mock.Anything, mock.Anything).Return(func(_ context.Context, id int64) (activities.AutoTopUpCheck, error) {
		w.checks++
		if w.onCheck != nil {
			w.onCheck(w.checks)
		}
		chk := activities.AutoTopUpCheck{Enabled: w.enabled, HasCard: true, AvailableCents: w.balance, ThresholdCents: w.threshold,
			AmountCents: w.amount, DailyMaxCount: w.maxCount, DailyMaxCents: w.maxCents, TodayCount: w.spentToday, TodayCents: int64(w.spentTodayCents)}
		for _, u := range w.unsettled {
			chk.Unsettled = append(chk.Unsettled, u.AttemptID)
		}
		return chk, nil
	})
	env.OnActivity(a.ReconcileAutoTopUp, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ReconcileAutoTopUpInput) (activities.ReconcileAutoTopUpResult, error) {
		w.reconciled = append(w.reconciled, in.AttemptID)
		for i, u := range w.unsettled {
			if u.AttemptID == in.AttemptID {
				w.unsettled = append(w.unsettled[:i:i], w.unsettled[i+1:]...)
				w.earlierAttempt = u
				return activities.ReconcileAutoTopUpResult{Known: true, AmountCents: u.AmountCents,
					Result: activities.ChargeResult{PaymentIntentID: "pi_" + u.AttemptID, Outcome: activities.ChargeSucceeded}}, nil
			}
		}
		for _, c := range w.charges {
			if c.AttemptID == in.AttemptID && w.taken {
				return activities.ReconcileAutoTopUpResult{Known: true, AmountCents: c.AmountCents,
					Result: activities.ChargeResult{PaymentIntentID: "pi_" + c.AttemptID, Outcome: w.card}}, nil
			}
		}
		return activities.ReconcileAutoTopUpResult{}, nil
	})
	env.OnActivity(a.ChargeAutoTopUp, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ChargeAutoTopUpInput) (activities.ChargeResult, error) {
		w.charges = append(w.charges, in)
		w.chargeAt = append(w.chargeAt, env.Now())
		if w.answersLost {
			return activities.ChargeResult{}, errors.New("stripe: context deadline exceeded")
		}
		out := w.card
		if len(w.outcomes) > 0 {
			out, w.outcomes = w.outcomes[0], w.outcomes[1:]
		}
		res := activities.ChargeResult{PaymentIntentID: "pi_" + in.AttemptID, Outcome: out}
		switch out {
		case activities.ChargeHardDecline:
			res.DeclineCode, res.Message = "generic_decline", "Your card was declined."
		case activities.ChargeSoftDecline:
			res.DeclineCode, res.Message = "insufficient_funds", "Your card has insufficient funds."
		case activities.ChargeNeedsAuthentication:
			res.DeclineCode = "authentication_required"
		}
		return res, nil
	})
	env.OnActivity(a.CreditAutoTopUp, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.CreditAutoTopUpInput) (int64, error) {
		if _, dup := w.credits[in.PaymentIntentID]; !dup {
			w.credits[in.PaymentIntentID] = in.AmountCents
			w.balance += in.AmountCents
		}
		return w.balance, nil
	})
	env.OnActivity(a.NotifyAutoTopUp, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.NotifyAutoTopUpInput) error {
		w.notices = append(w.notices, in)
		return nil
	})
	env.OnActivity(a.ApproveAutoTopUp, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ApproveAutoTopUpInput) (activities.ConfirmResult, error) {
		w.confirms = append(w.confirms, in)
		if w.confirm == activities.ChargeSucceeded {
			return activities.ConfirmResult{PaymentIntentID: in.PaymentIntentID, Outcome: activities.ChargeSucceeded}, nil
		}
		return activities.ConfirmResult{PaymentIntentID: in.PaymentIntentID, Outcome: activities.ChargeNeedsAuthentication,
			RedirectURL: "https://bank.example/3ds/" + in.PaymentIntentID}, nil
	})
	env.OnActivity(a.ReleaseAutoTopUp, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ReleaseAutoTopUpInput) (bool, error) {
		w.releases = append(w.releases, in)
		if w.releaseErrs > 0 {
			w.releaseErrs--
			return false, temporal.NewNonRetryableApplicationError("payment is processing", activities.ErrTypePaymentProcessing, nil)
		}
		return w.paidMeanwhile, nil
	})
	env.OnActivity(a.EmailAutoTopUpReceipt, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.AutoTopUpReceiptInput) error {
		w.receiptTries++
		if w.receiptErr != nil {
			return w.receiptErr
		}
		w.receipts = append(w.receipts, in)
		return nil
	})
	// The attempt rows: every charge's amount, as ChargeAutoTopUp stored it.
	env.OnActivity(a.VerifyAutoTopUpPayment, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.VerifyAutoTopUpPaymentInput) (activities.AutoTopUpPayment, error) {
		_, credited := w.credits[in.PaymentIntentID]
		for _, c := range append(w.charges, w.earlierAttempt) {
			if c.AttemptID == in.AttemptID && "pi_"+c.AttemptID == in.PaymentIntentID && (in.AmountCents == 0 || in.AmountCents == c.AmountCents) {
				return activities.AutoTopUpPayment{AmountCents: c.AmountCents, AlreadyCredited: credited}, nil
			}
		}
		return activities.AutoTopUpPayment{}, temporal.NewNonRetryableApplicationError("no such attempt", activities.ErrTypePaymentMismatch, nil)
	})
	if in.AccountID == 0 {
		in.AccountID = testAccount
	}
	if setup != nil {
		setup(env)
	}
	env.ExecuteWorkflow(workflows.AutoTopUp, in)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	var res workflows.AutoTopUpResult
	err := env.GetWorkflowError()
	if err == nil {
		if err := env.GetWorkflowResult(&res); err != nil {
			t.Fatal(err)
		}
	}
	return res, err
}

// debitAt schedules a debit of cents at offset, then the debit signal, as
// the ledger hook would send it.
func (w *wallet) debitAt(env *testsuite.TestWorkflowEnvironment, offset time.Duration, cents int64) {
	env.RegisterDelayedCallback(func() {
		w.balance -= cents
		env.SignalWorkflow(workflows.SignalAutoTopUpDebit, nil)
	}, offset)
}

// attempts are the distinct charges made (an activity retry is the same
// attempt).
func (w *wallet) attempts() []string {
	var ids []string
	for _, c := range w.charges {
		if len(ids) == 0 || ids[len(ids)-1] != c.AttemptID {
			ids = append(ids, c.AttemptID)
		}
	}
	return ids
}

func (w *wallet) totalCredited() int64 {
	var n int64
	for _, c := range w.credits {
		n += c
	}
	return n
}

func TestAutoTopUp_DebitBelowThresholdChargesOnceAndCreditsOnce(t *testing.T) {
	w := newWallet()
	res, err := w.run(t, workflows.AutoTopUpInput{BaseURL: "https://app.example"}, func(env *testsuite.TestWorkflowEnvironment) {
		w.debitAt(env, 0, 0)
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.charges) != 1 || w.charges[0].AttemptID != "auto-top-up-42-defaulttestr-1" || w.charges[0].AmountCents != 2000 {
		t.Fatalf("charges %+v, want one of 2000 cents with attempt id auto-top-up-42-defaulttestr-1", w.charges)
	}
	if w.totalCredited() != 2000 || len(w.credits) != 1 || w.balance != 2100 {
		t.Fatalf("credits %v, balance %d; want one credit of 2000 and a balance of 2100", w.credits, w.balance)
	}
	if res.State.State != workflows.AutoTopUpSucceeded || res.Reason != "idle" || res.State.LastPaymentID != "pi_auto-top-up-42-defaulttestr-1" {
		t.Fatalf("result %+v, want succeeded and closed when idle", res)
	}
	if len(w.notices) != 0 {
		t.Fatalf("a successful top-up sent %d emails", len(w.notices))
	}
}

func TestAutoTopUp_BalanceAboveThresholdChargesNothing(t *testing.T) {
	w := newWallet()
	w.balance = 500
	res, err := w.run(t, workflows.AutoTopUpInput{}, func(env *testsuite.TestWorkflowEnvironment) { w.debitAt(env, 0, 0) })
	if err != nil || len(w.charges) != 0 || res.State.State != workflows.AutoTopUpIdle {
		t.Fatalf("err %v, %d charges, state %q; want no charge and idle", err, len(w.charges), res.State.State)
	}
}

func TestAutoTopUp_BurstOfTwentyDebitsChargesExactlyOnce(t *testing.T) {
	w := newWallet()
	w.balance = 1000
	// Generous caps, and a burst so deep that even after one top-up the
	// wallet stays low: only the cooldown keeps it at one charge.
	w.maxCount, w.maxCents = 10, 100000
	_, err := w.run(t, workflows.AutoTopUpInput{Cooldown: 30 * time.Second}, func(env *testsuite.TestWorkflowEnvironment) {
		for i := 0; i < 20; i++ {
			w.debitAt(env, time.Duration(i)*time.Second, 200)
		}
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.charges) != 1 || len(w.credits) != 1 {
		t.Fatalf("%d charges and %d credits for a burst of 20 debits, want exactly one of each", len(w.charges), len(w.credits))
	}
}

func TestAutoTopUp_SoftDeclineIsRetriedWithBackoffThenSucceeds(t *testing.T) {
	w := newWallet()
	w.outcomes = []activities.ChargeOutcome{activities.ChargeSoftDecline, activities.ChargeSoftDecline, activities.ChargeSucceeded}
	res, err := w.run(t, workflows.AutoTopUpInput{RetryBackoff: time.Hour}, func(env *testsuite.TestWorkflowEnvironment) { w.debitAt(env, 0, 0) })
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.charges) != 3 || len(w.credits) != 1 || w.totalCredited() != 2000 {
		t.Fatalf("%d charges, credits %v; want 3 charges and one credit", len(w.charges), w.credits)
	}
	ids := map[string]bool{}
	for _, c := range w.charges {
		ids[c.AttemptID] = true
	}
	if len(ids) != 3 {
		t.Fatalf("attempt ids %v, want a fresh id (and Idempotency-Key) per try", ids)
	}
	for i, want := range []time.Duration{time.Hour, 2 * time.Hour} {
		if got := w.chargeAt[i+1].Sub(w.chargeAt[i]); got < want {
			t.Errorf("try %d came %s after the previous one, want at least %s", i+2, got, want)
		}
	}
	if len(w.notices) != 1 || w.notices[0].Notice != activities.NoticeDeclined || !w.notices[0].WillRetry {
		t.Fatalf("notices %+v, want one email at the first decline saying we retry", w.notices)
	}
	if res.State.State != workflows.AutoTopUpSucceeded {
		t.Fatalf("state %q, want succeeded", res.State.State)
	}
}

func TestAutoTopUp_SoftDeclinesRunOutIntoFailedAndTellTheOwnerOnlyOnce(t *testing.T) {
	w := newWallet()
	w.card = activities.ChargeSoftDecline
	res, err := w.run(t, workflows.AutoTopUpInput{MaxTries: 3, FailureWait: 48 * time.Hour}, func(env *testsuite.TestWorkflowEnvironment) {
		w.debitAt(env, 0, 0)
		w.debitAt(env, 10*time.Hour, 10)
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.charges) != 3 || len(w.credits) != 0 || len(w.notices) != 1 {
		t.Fatalf("%d charges, %d credits, %d emails; want 3 tries, no credit, one email", len(w.charges), len(w.credits), len(w.notices))
	}
	if res.State.State != workflows.AutoTopUpFailed || res.Reason != "failure_wait_expired" {
		t.Fatalf("result %+v, want failed and closed after the failure wait", res)
	}
}

func TestAutoTopUp_HardDeclineStopsAtOnce(t *testing.T) {
	w := newWallet()
	w.card = activities.ChargeHardDecline
	res, err := w.run(t, workflows.AutoTopUpInput{FailureWait: 72 * time.Hour}, func(env *testsuite.TestWorkflowEnvironment) {
		w.debitAt(env, 0, 0)
		w.debitAt(env, time.Hour, 10) // later debits do not charge a dead card again
		w.debitAt(env, 30*time.Hour, 10)
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.charges) != 1 || len(w.credits) != 0 {
		t.Fatalf("%d charges and %d credits after a hard decline, want 1 and 0", len(w.charges), len(w.credits))
	}
	if len(w.notices) != 1 || w.notices[0].Notice != activities.NoticeDeclined || w.notices[0].WillRetry {
		t.Fatalf("notices %+v, want one decline email that promises no retry", w.notices)
	}
	if res.State.State != workflows.AutoTopUpFailed || res.State.LastError == "" || res.Reason != "failure_wait_expired" {
		t.Fatalf("result %+v, want failed with the decline as last error", res)
	}
}

func TestAutoTopUp_AuthenticationRequiredWaitsForTheOwnerAndIsNeverRetried(t *testing.T) {
	w := newWallet()
	w.card = activities.ChargeNeedsAuthentication
	var queried workflows.AutoTopUpState
	res, err := w.run(t, workflows.AutoTopUpInput{FailureWait: 72 * time.Hour}, func(env *testsuite.TestWorkflowEnvironment) {
		w.debitAt(env, 0, 0)
		env.RegisterDelayedCallback(func() {
			v, err := env.QueryWorkflow(workflows.QueryState)
			if err != nil {
				t.Errorf("query: %v", err)
				return
			}
			if err := v.Get(&queried); err != nil {
				t.Error(err)
			}
		}, 5*time.Hour)
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.charges) != 1 || len(w.credits) != 0 {
		t.Fatalf("%d charges, %d credits; want one charge and no credit", len(w.charges), len(w.credits))
	}
	if len(w.notices) != 1 || w.notices[0].Notice != activities.NoticeNeedsAuthentication {
		t.Fatalf("notices %+v, want one needs-authentication email", w.notices)
	}
	if queried.State != workflows.AutoTopUpNeedsAuthentication || len(queried.Attempts) != 1 || queried.NextAction == "" || queried.LastPaymentID == "" {
		t.Fatalf("state query gave %+v, want needs_authentication with the attempt, Stripe id and next action", queried)
	}
	if res.State.State != workflows.AutoTopUpNeedsAuthentication {
		t.Fatalf("closed in state %q", res.State.State)
	}
}

func TestAutoTopUp_DailyCapLimitsChargesUntilTheNextDay(t *testing.T) {
	w := newWallet()
	w.maxCount = 2
	_, err := w.run(t, workflows.AutoTopUpInput{}, func(env *testsuite.TestWorkflowEnvironment) {
		start := env.Now().UTC()
		nextDay := start.Truncate(24 * time.Hour).Add(24*time.Hour + time.Hour).Sub(start)
		// Each debit takes the wallet back below the threshold.
		for i := 0; i < 4; i++ {
			w.debitAt(env, time.Duration(i)*time.Minute*5, 2000)
		}
		w.debitAt(env, nextDay, 2000)
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.charges) != 3 {
		t.Fatalf("%d charges, want 2 on the first day (the cap) and 1 the next", len(w.charges))
	}
	if d0, d1 := w.chargeAt[1].UTC().Format("2006-01-02"), w.chargeAt[2].UTC().Format("2006-01-02"); d0 == d1 {
		t.Fatalf("the third charge came on %s, the same day as the second", d1)
	}
}

func TestAutoTopUp_ChargesOfAnEarlierExecutionTodayCountAgainstTheCap(t *testing.T) {
	for name, w := range map[string]*wallet{
		"count": func() *wallet { w := newWallet(); w.spentToday, w.spentTodayCents = 3, 3000; return w }(),
		"cents": func() *wallet { w := newWallet(); w.spentToday, w.spentTodayCents = 1, 5000; return w }(),
	} {
		_, err := w.run(t, workflows.AutoTopUpInput{}, func(env *testsuite.TestWorkflowEnvironment) { w.debitAt(env, 0, 0) })
		if err != nil {
			t.Fatalf("%s: workflow failed: %v", name, err)
		}
		if len(w.charges) != 0 {
			t.Fatalf("%s: %d charges with the day's cap already spent by an earlier execution", name, len(w.charges))
		}
	}
}

func TestAutoTopUp_AdminRetryAfterFailureChargesTheNewCard(t *testing.T) {
	w := newWallet()
	w.card = activities.ChargeHardDecline
	res, err := w.run(t, workflows.AutoTopUpInput{}, func(env *testsuite.TestWorkflowEnvironment) {
		w.debitAt(env, 0, 0)
		env.RegisterDelayedCallback(func() {
			w.card = activities.ChargeSucceeded
			env.SignalWorkflow(workflows.SignalAutoTopUpRetry, nil)
		}, 3*time.Hour)
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.charges) != 2 || len(w.credits) != 1 || w.totalCredited() != 2000 {
		t.Fatalf("%d charges, credits %v; want the retry to credit once", len(w.charges), w.credits)
	}
	if w.charges[0].AttemptID == w.charges[1].AttemptID {
		t.Fatal("the retry reused the failed attempt's id")
	}
	if res.State.State != workflows.AutoTopUpSucceeded || res.State.LastError != "" {
		t.Fatalf("result %+v, want succeeded with the error cleared", res)
	}
}

func TestAutoTopUp_ContinuesAsNewCarryingItsState(t *testing.T) {
	w := newWallet()
	w.maxCount = 10
	w.maxCents = 100000
	_, err := w.run(t, workflows.AutoTopUpInput{ContinueAsNewAfter: 8}, func(env *testsuite.TestWorkflowEnvironment) {
		for i := 0; i < 3; i++ {
			w.debitAt(env, time.Duration(i)*time.Hour, 2000)
		}
	})
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	var next workflows.AutoTopUpInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	c := next.Carried
	if c == nil || next.AccountID != testAccount {
		t.Fatalf("next run's input %+v carries no state", next)
	}
	if c.Seq != len(w.charges) || c.TotalCredited != w.totalCredited() || c.DayCount != len(w.credits) || c.Day == "" {
		t.Fatalf("carried %+v after %d charges and %d credited, want the attempt sequence, totals and daily counters", c, len(w.charges), w.totalCredited())
	}
	// The next run continues the attempt sequence, so attempt ids (and
	// Stripe keys) never repeat across runs.
	w2 := newWallet()
	w2.maxCount, w2.maxCents = 10, 100000
	res, err := w2.run(t, next, func(env *testsuite.TestWorkflowEnvironment) { w2.debitAt(env, 0, 0) })
	if err != nil {
		t.Fatalf("second run failed: %v", err)
	}
	if want := fmt.Sprintf("auto-top-up-42-defaulttestr-%d", c.Seq+1); len(w2.charges) != 1 || w2.charges[0].AttemptID != want {
		t.Fatalf("second run charged %+v, want attempt %s", w2.charges, want)
	}
	if res.State.ContinuedAsNew != 1 || res.State.TotalCredited != c.TotalCredited+2000 {
		t.Fatalf("second run's state %+v", res.State)
	}
}

// Soft-decline retries are new decisions: turning auto top-up off during
// the backoff stops them.
func TestAutoTopUp_DisablingDuringTheBackoffStopsFurtherCharges(t *testing.T) {
	w := newWallet()
	w.card = activities.ChargeSoftDecline
	w.onCheck = func(n int) { w.enabled = n == 1 } // off before the first retry
	_, err := w.run(t, workflows.AutoTopUpInput{}, func(env *testsuite.TestWorkflowEnvironment) { w.debitAt(env, 0, 0) })
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.charges) != 1 {
		t.Fatalf("%d charges, want the first only: auto top-up was turned off during the backoff", len(w.charges))
	}
}

// A manual top-up during the backoff lifts the balance: no retry.
func TestAutoTopUp_AManualTopUpDuringTheBackoffStopsFurtherCharges(t *testing.T) {
	w := newWallet()
	w.card = activities.ChargeSoftDecline
	_, err := w.run(t, workflows.AutoTopUpInput{RetryBackoff: time.Hour}, func(env *testsuite.TestWorkflowEnvironment) {
		w.debitAt(env, 0, 0)
		env.RegisterDelayedCallback(func() { w.balance += 2000 }, 20*time.Minute)
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.charges) != 1 {
		t.Fatalf("%d charges, want the first only: the owner topped up by hand during the backoff", len(w.charges))
	}
}

// The daily cap holds across retries: a charge made meanwhile (approved
// on-session, or by another run) that reaches the cap stops the retry.
func TestAutoTopUp_TheDailyCapHoldsAcrossRetries(t *testing.T) {
	w := newWallet()
	w.card, w.maxCount = activities.ChargeSoftDecline, 1
	w.onCheck = func(n int) {
		if n > 1 {
			w.spentToday, w.spentTodayCents = 1, 2000
		}
	}
	_, err := w.run(t, workflows.AutoTopUpInput{}, func(env *testsuite.TestWorkflowEnvironment) { w.debitAt(env, 0, 0) })
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.charges) != 1 {
		t.Fatalf("%d charges, want one: the day's cap was reached before the retry", len(w.charges))
	}
}

// The backoff between soft-decline retries is the input's, doubling.
func TestAutoTopUp_RetryBackoffIsConfigurableAndDoubles(t *testing.T) {
	w := newWallet()
	w.outcomes = []activities.ChargeOutcome{activities.ChargeSoftDecline, activities.ChargeSoftDecline, activities.ChargeSucceeded}
	_, err := w.run(t, workflows.AutoTopUpInput{RetryBackoff: 10 * time.Minute}, func(env *testsuite.TestWorkflowEnvironment) { w.debitAt(env, 0, 0) })
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.chargeAt) != 3 || w.chargeAt[1].Sub(w.chargeAt[0]) != 10*time.Minute || w.chargeAt[2].Sub(w.chargeAt[1]) != 20*time.Minute {
		t.Fatalf("charges at %v, want 10 then 20 minutes apart", w.chargeAt)
	}
}

// Every try of a charge timed out after Stripe took it: the outcome is
// unknown, not a decline. The workflow asks Stripe, credits what it finds,
// charges nothing more and tells the owner nothing false.
func TestAutoTopUp_AChargeWhoseAnswersWereLostIsReconciledNotChargedAgain(t *testing.T) {
	w := newWallet()
	w.answersLost, w.taken = true, true
	res, err := w.run(t, workflows.AutoTopUpInput{}, func(env *testsuite.TestWorkflowEnvironment) { w.debitAt(env, 0, 0) })
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.attempts()) != 1 || len(w.reconciled) != 1 || w.reconciled[0] != w.attempts()[0] {
		t.Fatalf("attempts %v, reconciled %v; want one attempt, reconciled once", w.attempts(), w.reconciled)
	}
	if w.totalCredited() != 2000 || res.State.State != workflows.AutoTopUpSucceeded {
		t.Fatalf("credited %d, state %q; want the found charge credited", w.totalCredited(), res.State.State)
	}
	if len(w.notices) != 0 {
		t.Fatalf("notices %+v, want none for a charge that went through", w.notices)
	}
}

// Reconciled and not found: nothing was charged. The owner is told that,
// never "declined".
func TestAutoTopUp_AnUnknownChargeThatNeverHappenedIsNotCalledADecline(t *testing.T) {
	w := newWallet()
	w.answersLost = true
	res, err := w.run(t, workflows.AutoTopUpInput{FailureWait: time.Hour}, func(env *testsuite.TestWorkflowEnvironment) { w.debitAt(env, 0, 0) })
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.attempts()) != 1 || w.totalCredited() != 0 || res.State.State != workflows.AutoTopUpFailed {
		t.Fatalf("attempts %v, credited %d, state %q", w.attempts(), w.totalCredited(), res.State.State)
	}
	if len(w.notices) != 1 || w.notices[0].Notice != activities.NoticeNotCharged {
		t.Fatalf("notices %+v, want one not-charged notice", w.notices)
	}
}

// An attempt an earlier run left "charging" is reconciled before anything
// new is charged: here Stripe had taken it, so it is credited and no new
// charge follows.
func TestAutoTopUp_AnAttemptLeftChargingIsReconciledBeforeAnyNewCharge(t *testing.T) {
	w := newWallet()
	w.unsettled = []activities.ChargeAutoTopUpInput{{AttemptID: "auto-top-up-42-oldrun-1", AccountID: testAccount, AmountCents: 2000}}
	_, err := w.run(t, workflows.AutoTopUpInput{}, func(env *testsuite.TestWorkflowEnvironment) { w.debitAt(env, 0, 0) })
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.reconciled) != 1 || len(w.charges) != 0 {
		t.Fatalf("reconciled %v, charges %+v; want the old attempt reconciled and no new charge", w.reconciled, w.charges)
	}
	if w.credits["pi_auto-top-up-42-oldrun-1"] != 2000 {
		t.Fatalf("credits %v, want the old attempt's payment credited", w.credits)
	}
}
