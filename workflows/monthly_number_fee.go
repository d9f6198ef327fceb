package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mobayilo/mobayilo/activities"
)

// MonthlyNumberFee: one workflow per company number, for its whole life.
// Its first run charges the first month and only then buys the number at
// Twilio (a failed purchase refunds the fee); every later run charges one
// period's fee (keyed by number and period, so a retry never charges
// twice), sleeps to the next period and continues as new. A fee the
// balance cannot pay suspends the number; a credit to the company (a
// top-up, an auto top-up) signals the workflow, which charges at once and
// restores it. Unpaid after the grace period, the number is released.

// Number states: the state query's, the row's (models.NumberState holds
// the same strings) and MobayiloNumberState's.
const (
	NumberPurchasing = "purchasing"
	NumberActive     = "active"
	NumberSuspended  = "suspended"
	NumberReleased   = "released"
	NumberFailed     = "failed"
)

// NumberSuspendedQuery finds every suspended number (RUNBOOK).
var NumberSuspendedQuery = `WorkflowType="` + NameMonthlyNumberFee + `" AND ExecutionStatus="Running" AND ` +
	AttrNumberState.GetName() + `="` + NumberSuspended + `"`

// Defaults of the fee's knobs.
const (
	DefaultNumberGraceDays = 14
	// numberRecheckEvery is how often a suspended number tries its fee
	// again on its own, in case a credit's signal was missed (an
	// operator's adjustment sends none).
	numberRecheckEvery = 24 * time.Hour
	// numberNoticeBefore is how long before release the last notice goes.
	numberNoticeBefore = 3 * 24 * time.Hour
)

// MonthlyNumberFeeInput is one run: the purchase (Period 0) or one period's
// fee.
type MonthlyNumberFeeInput struct {
	NumberID  int64
	AccountID int64
	E164      string
	// Anchor is when the number was bought (the purchase run sets it):
	// period n starts NumberPeriodStart(Anchor, n).
	Anchor    time.Time
	Period    int
	GraceDays int
	// BaseURL is the site's address, for the emails' links.
	BaseURL string
}

// NumberFeeState is what the `state` query returns.
type NumberFeeState struct {
	NumberID     int64
	E164         string
	State        string
	Period       int
	PeriodStart  time.Time
	NextChargeAt time.Time
	GraceEndsAt  time.Time
	FeesCharged  int
	LastError    string
	NextAction   string
}

// NumberPurchase is the purchase update's answer: how the buy ended.
type NumberPurchase struct {
	State     string
	E164      string
	FeeCents  int64
	LastError string
}

// MonthlyNumberFeeResult is how a number's life ended (a run that
// continues as new returns none).
type MonthlyNumberFeeResult struct {
	State string
}

// NumberPeriodStart is when period n of a number bought at anchor starts:
// n calendar months later, on the same day or that month's last (bought on
// 31 January, it renews on the last day of February, then on 31 March).
func NumberPeriodStart(anchor time.Time, n int) time.Time {
	anchor = anchor.UTC()
	y, m, d := anchor.Date()
	first := time.Date(y, m+time.Month(n), 1, anchor.Hour(), anchor.Minute(), anchor.Second(), anchor.Nanosecond(), time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

type numberFee struct {
	in       MonthlyNumberFeeInput
	st       NumberFeeState
	funds    workflow.ReceiveChannel
	bought   bool
	purchase NumberPurchase
	sid      string
	feeCents int64
}

// MonthlyNumberFee runs a number's purchase or one of its periods.
func MonthlyNumberFee(ctx workflow.Context, in MonthlyNumberFeeInput) (MonthlyNumberFeeResult, error) {
	if in.GraceDays <= 0 {
		in.GraceDays = DefaultNumberGraceDays
	}
	n := &numberFee{in: in, funds: workflow.GetSignalChannel(ctx, SignalNumberFunds),
		st: NumberFeeState{NumberID: in.NumberID, E164: in.E164, State: NumberActive, Period: in.Period}}
	if in.Period == 0 {
		n.st.State = NumberPurchasing
	} else {
		n.bought = true
		n.purchase = NumberPurchase{State: NumberActive, E164: in.E164}
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (NumberFeeState, error) { return n.st, nil }); err != nil {
		return MonthlyNumberFeeResult{}, err
	}
	// The purchase update answers once the buy has ended, so the admin's
	// page says at once whether the number is theirs.
	if err := workflow.SetUpdateHandler(ctx, UpdateNumberPurchase, func(ctx workflow.Context) (NumberPurchase, error) {
		if err := workflow.Await(ctx, func() bool { return n.bought }); err != nil {
			return NumberPurchase{}, err
		}
		return n.purchase, nil
	}); err != nil {
		return MonthlyNumberFeeResult{}, err
	}
	if in.Period == 0 {
		ok, err := n.buy(ctx)
		if err != nil || !ok {
			if err != nil {
				return MonthlyNumberFeeResult{}, err
			}
			return n.finish(ctx, NumberFailed)
		}
	} else {
		start := NumberPeriodStart(in.Anchor, in.Period)
		n.st.PeriodStart = start
		if d := start.Sub(workflow.Now(ctx)); d > 0 {
			n.st.NextAction = "wait for the period to start"
			if err := workflow.Sleep(ctx, d); err != nil {
				return MonthlyNumberFeeResult{}, err
			}
		}
		paid, err := n.charge(ctx, start)
		if err != nil {
			return MonthlyNumberFeeResult{}, err
		}
		if !paid {
			released, err := n.suspended(ctx, start)
			if err != nil {
				return MonthlyNumberFeeResult{}, err
			}
			if released {
				return n.finish(ctx, NumberReleased)
			}
		}
		if err := n.record(ctx, NumberActive); err != nil {
			return MonthlyNumberFeeResult{}, err
		}
		if !paid {
			n.notify(ctx, activities.NumberNoticeRestored)
		}
	}

	// Paid: sleep to the next period, then continue as new with it.
	next := NumberPeriodStart(n.in.Anchor, n.in.Period+1)
	n.st.NextAction = "charge the next period's fee on " + next.Format("2006-01-02")
	if d := next.Sub(workflow.Now(ctx)); d > 0 {
		if err := workflow.Sleep(ctx, d); err != nil {
			return MonthlyNumberFeeResult{}, err
		}
	}
	// A credit signalled while paid up needs nothing; none is left behind.
	if err := n.quiesce(ctx); err != nil {
		return MonthlyNumberFeeResult{}, err
	}
	nextIn := n.in
	nextIn.Period++
	return MonthlyNumberFeeResult{}, workflow.NewContinueAsNewError(ctx, MonthlyNumberFee, nextIn)
}

func (n *numberFee) activityCtx(ctx workflow.Context, attempts int32, nonRetryable ...string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 5 * time.Minute, MaximumAttempts: attempts,
			NonRetryableErrorTypes: nonRetryable},
	})
}

// buy charges the first month, then buys; a failed buy is refunded.
func (n *numberFee) buy(ctx workflow.Context) (bool, error) {
	var a *activities.Activities
	n.in.Anchor = workflow.Now(ctx).UTC()
	start := n.in.Anchor
	n.st.PeriodStart = start
	n.st.NextAction = "charge the first month"
	paid, err := n.charge(ctx, start)
	if err != nil {
		return false, err
	}
	if !paid {
		return false, n.purchased(ctx, NumberFailed)
	}
	n.st.NextAction = "buy the number at Twilio"
	var b activities.BuyNumberResult
	err = workflow.ExecuteActivity(n.activityCtx(ctx, 5, activities.ErrTypeNumberUnavailable), a.BuyNumber,
		activities.BuyNumberInput{NumberID: n.in.NumberID, E164: n.in.E164}).Get(ctx, &b)
	if err != nil {
		n.st.LastError = "twilio: " + errorMessage(err)
		n.st.NextAction = "refund the first month"
		if err := workflow.ExecuteActivity(n.activityCtx(ctx, 0), a.RefundNumberFee,
			activities.NumberFeeInput{NumberID: n.in.NumberID, PeriodStart: start}).Get(ctx, nil); err != nil {
			return false, err
		}
		return false, n.purchased(ctx, NumberFailed)
	}
	n.sid = b.SID
	return true, n.purchased(ctx, NumberActive)
}

// purchased records how the purchase ended and only then answers the
// purchase update: the page reads the row right after.
func (n *numberFee) purchased(ctx workflow.Context, state string) error {
	if err := n.record(ctx, state); err != nil {
		return err
	}
	n.purchase = NumberPurchase{State: state, E164: n.in.E164, LastError: n.st.LastError}
	if state == NumberActive {
		n.purchase.FeeCents = n.feeCents
	}
	n.bought = true
	return nil
}

// charge charges the fee of the period starting at start; false when the
// balance could not pay it (LastError says why).
func (n *numberFee) charge(ctx workflow.Context, start time.Time) (bool, error) {
	var a *activities.Activities
	var r activities.ChargeNumberFeeResult
	if err := workflow.ExecuteActivity(n.activityCtx(ctx, 0), a.ChargeNumberFee,
		activities.NumberFeeInput{NumberID: n.in.NumberID, PeriodStart: start}).Get(ctx, &r); err != nil {
		return false, err
	}
	if !r.Charged {
		n.st.LastError = r.Reason
		return false, nil
	}
	n.feeCents = r.FeeCents
	n.st.FeesCharged++
	n.st.LastError = ""
	return true, nil
}

// suspended suspends the number and waits for the money: a credit's
// signal or the daily re-check charges the fee and ends it (false); the
// grace period's end releases the number (true).
func (n *numberFee) suspended(ctx workflow.Context, start time.Time) (bool, error) {
	grace := start.Add(time.Duration(n.in.GraceDays) * 24 * time.Hour)
	n.st.GraceEndsAt = grace
	if err := n.record(ctx, NumberSuspended); err != nil {
		return false, err
	}
	n.notify(ctx, activities.NumberNoticeSuspended)
	notice := grace.Add(-min(numberNoticeBefore, time.Duration(n.in.GraceDays)*12*time.Hour))
	noticed := false
	for {
		now := workflow.Now(ctx)
		if !now.Before(grace) {
			// The grace period is over: one last try before letting go.
			paid, err := n.charge(ctx, start)
			if err != nil || paid {
				return false, n.restored(ctx, err)
			}
			return true, n.release(ctx)
		}
		n.st.NextAction = "wait for a credit to the company (released on " + grace.Format("2006-01-02") + " otherwise)"
		wake := min(grace.Sub(now), numberRecheckEvery)
		if !noticed && notice.After(now) {
			wake = min(wake, notice.Sub(now))
		}
		// Woken by a credit or a timer, the fee is tried again.
		tctx, cancel := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(n.funds, func(ch workflow.ReceiveChannel, _ bool) { ch.Receive(ctx, nil) })
		sel.AddFuture(workflow.NewTimer(tctx, wake), func(workflow.Future) {})
		sel.Select(ctx)
		cancel()
		drainSignal(ctx, SignalNumberFunds, func(NumberFunds) {})
		paid, err := n.charge(ctx, start)
		if err != nil || paid {
			return false, n.restored(ctx, err)
		}
		if now := workflow.Now(ctx); !noticed && !now.Before(notice) && now.Before(grace) {
			noticed = true
			n.notify(ctx, activities.NumberNoticeReleaseSoon)
		}
	}
}

// restored ends a suspension once its fee is paid (err: the charge
// failed for good).
func (n *numberFee) restored(_ workflow.Context, err error) error {
	if err == nil {
		n.st.GraceEndsAt = time.Time{}
	}
	return err
}

// release gives the number back and unassigns its seats.
func (n *numberFee) release(ctx workflow.Context) error {
	var a *activities.Activities
	n.st.NextAction = "release the number at Twilio"
	if err := workflow.ExecuteActivity(n.activityCtx(ctx, 0), a.ReleaseNumber, n.in.NumberID).Get(ctx, nil); err != nil {
		return err
	}
	if err := n.record(ctx, NumberReleased); err != nil {
		return err
	}
	n.notify(ctx, activities.NumberNoticeReleased)
	return nil
}

// record writes the state to the number's row and the search attribute.
func (n *numberFee) record(ctx workflow.Context, state string) error {
	var a *activities.Activities
	n.st.State = state
	p := activities.NumberProgress{NumberID: n.in.NumberID, State: state, TwilioSID: n.sid, LastError: n.st.LastError}
	if !n.in.Anchor.IsZero() && state != NumberFailed {
		anchor := n.in.Anchor
		p.AnchorAt = &anchor
	}
	switch state {
	case NumberActive:
		through := NumberPeriodStart(n.in.Anchor, n.in.Period+1)
		n.st.NextChargeAt = through
		p.PaidThrough, p.NextChargeAt = &through, &through
	case NumberSuspended:
		grace := n.st.GraceEndsAt
		p.GraceEndsAt = &grace
	}
	if err := workflow.ExecuteActivity(n.activityCtx(ctx, 0), a.RecordNumber, p).Get(ctx, nil); err != nil {
		return err
	}
	return workflow.UpsertTypedSearchAttributes(ctx, AttrNumberState.ValueSet(state))
}

// notify emails the company admin; a mail that cannot go out is logged,
// never a reason to hold the number's state back.
func (n *numberFee) notify(ctx workflow.Context, notice activities.NumberNotice) {
	var a *activities.Activities
	err := workflow.ExecuteActivity(n.activityCtx(ctx, 5), a.NotifyNumber, activities.NotifyNumberInput{NumberID: n.in.NumberID,
		Notice: notice, GraceEndsAt: n.st.GraceEndsAt, BaseURL: n.in.BaseURL}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("number notice not sent", "number", n.in.NumberID, "notice", string(notice), "error", err.Error())
	}
}

// finish ends the number's life once no message is pending.
func (n *numberFee) finish(ctx workflow.Context, state string) (MonthlyNumberFeeResult, error) {
	n.st.NextAction = "none"
	if err := n.quiesce(ctx); err != nil {
		return MonthlyNumberFeeResult{}, err
	}
	return MonthlyNumberFeeResult{State: state}, nil
}

// quiesce takes every pending credit signal and waits for running update
// handlers, until none is left.
func (n *numberFee) quiesce(ctx workflow.Context) error {
	for {
		drainSignal(ctx, SignalNumberFunds, func(NumberFunds) {})
		if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
			return err
		}
		if drainSignal(ctx, SignalNumberFunds, func(NumberFunds) {}) == 0 {
			return nil
		}
	}
}

// NumberFunds is the SignalNumberFunds payload: the company's balance was
// credited.
type NumberFunds struct {
	AccountID   int64
	EntryID     int64
	AmountCents int64
}

// NumberSearchAttributes are set when a number's workflow starts.
func NumberSearchAttributes(accountID int64, state string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(AttrAccountID.ValueSet(fmt.Sprint(accountID)), AttrNumberState.ValueSet(state))
}
