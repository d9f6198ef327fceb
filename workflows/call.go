package workflows

import (
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mobayilo/mobayilo/activities"
)

// Call: one workflow per call, started by POST /api/calls with
// update-with-start. Its authorize update places the hold (a local
// activity) and answers at once; then it waits to be dialed (Twilio's voice
// webhook claims the call and signals), follows the status callbacks, and
// on the final status bills ceil(duration/60) × price exactly once. A call
// never dialed expires and releases its hold; a call whose final status
// never comes is reconciled from Twilio's own record of it.

// Call states, as the state query and MobayiloCallState report them. The
// strings are models.CallStatus's (a test holds that).
const (
	CallAuthorized = "authorized"
	CallDialing    = "dialing"
	CallRinging    = "ringing"
	CallInProgress = "in-progress"
	CallCompleted  = "completed"
	CallBusy       = "busy"
	CallNoAnswer   = "no-answer"
	CallFailed     = "failed"
	CallCanceled   = "canceled"
	CallExpired    = "expired"
	// CallRefused: the authorisation was refused (the money was gone by the
	// time the hold was placed); nothing was held.
	CallRefused = "refused"
)

// CallStuckQuery finds every call still open in a state short of final:
// the RUNBOOK documents it.
var CallStuckQuery = `WorkflowType="` + NameCall + `" AND ExecutionStatus="Running" AND ` + AttrCallState.GetName() +
	` IN ("` + CallAuthorized + `","` + CallDialing + `","` + CallRinging + `","` + CallInProgress + `")`

// callRank orders call states: a status never moves backwards, and the
// first final one stands.
func callRank(state string) int {
	switch state {
	case CallAuthorized:
		return 0
	case CallDialing:
		return 1
	case CallRinging:
		return 2
	case CallInProgress:
		return 3
	case CallCompleted, CallBusy, CallNoAnswer, CallFailed, CallCanceled, CallExpired, CallRefused:
		return 4
	}
	return -1
}

// Defaults of the Call workflow's knobs.
const (
	DefaultCallDialWindow = 2 * time.Minute
	// CallRingAllowance is how long the phone may ring before talk time
	// starts (Twilio's <Dial timeout> is 30 s; queuing adds some).
	CallRingAllowance = 2 * time.Minute
	// CallReconcileMargin is how long after the call's time limit the
	// workflow waits for the final callback before asking Twilio.
	CallReconcileMargin = 5 * time.Minute
	// callReconcileTries bounds the asks to Twilio for a call it still
	// reports open; then the call is settled as failed (nothing billed).
	callReconcileTries = 6
)

// CallInput is an authorised call's plan, as POST /api/calls decided it.
type CallInput struct {
	CallID              string
	AccountID           int64
	UserID              int64
	Seat                bool
	Identity            string
	To                  string
	ToNational          string
	ToCountry           string
	CallerID            string
	PricePerMinuteCents int64
	// MaxMinutes is what the balance covered when planned; the hold may
	// cover fewer.
	MaxMinutes int64
	// DialWindow is how long the call may wait to be dialed.
	DialWindow time.Duration
	// BridgeID and Leg are a bridge call's (`moby call`): BridgeID is the
	// destination leg's call id, Leg CallLegOwner or CallLegDestination.
	// The owner leg is placed by the workflow itself, through Twilio's
	// REST API; the destination leg is dialed when the owner answers.
	BridgeID string
	Leg      string
}

// CallAuthorization is the authorize update's answer.
type CallAuthorization struct {
	CallID     string
	MaxMinutes int64
	HoldCents  int64
	ExpiresAt  time.Time
}

// CallStatusEvent is the SignalCallStatus payload: a status of the call,
// from the voice webhook (dialing) or a status callback.
type CallStatusEvent struct {
	State string
	// DurationSeconds is Twilio's CallDuration on a final status, -1 when
	// the callback had none.
	DurationSeconds int64
	// Source names where it came from, for the state's record.
	Source string
	// UnlessDialed: the status applies only to a call not dialed yet (a
	// bridge's owner leg ending before its destination leg was dialed).
	UnlessDialed bool `json:",omitempty"`
}

// CallState is what the `state` query returns.
type CallState struct {
	CallID              string
	AccountID           int64
	State               string
	PricePerMinuteCents int64
	MaxMinutes          int64
	HoldCents           int64
	DurationSeconds     int64
	BilledMinutes       int64
	CostCents           int64
	Events              int
	LastEvent           string
	LastError           string
	// NextAction says what the workflow waits for, in words.
	NextAction string
}

// CallResult is how the call ended and what it cost.
type CallResult struct {
	State             string
	DurationSeconds   int64
	BilledMinutes     int64
	CostCents         int64
	BalanceAfterCents int64
}

type call struct {
	in       CallInput
	st       CallState
	opened   bool
	refusal  error
	duration int64
	status   workflow.ReceiveChannel
	auth     CallAuthorization
	// bridge is an owner leg's: its hang-up and what became of it.
	bridge *ownerLeg
}

// errTypeCallClosed answers an authorize update that came too late.
const errTypeCallClosed = "CallClosed"

// Call runs one call to its bill.
func Call(ctx workflow.Context, in CallInput) (CallResult, error) {
	if in.DialWindow <= 0 {
		in.DialWindow = DefaultCallDialWindow
	}
	c := &call{in: in, duration: -1, status: workflow.GetSignalChannel(ctx, SignalCallStatus),
		st: CallState{CallID: in.CallID, AccountID: in.AccountID, State: CallAuthorized, PricePerMinuteCents: in.PricePerMinuteCents,
			NextAction: "place the hold"}}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (CallState, error) { return c.st, nil }); err != nil {
		return CallResult{}, err
	}
	if err := workflow.SetUpdateHandler(ctx, UpdateCallAuthorize, c.authorize); err != nil {
		return CallResult{}, err
	}
	// The API starts every call with the authorize update
	// (update-with-start), which places the hold before anything else.
	if err := workflow.Await(ctx, func() bool { return c.opened || c.refusal != nil }); err != nil {
		return CallResult{}, err
	}
	if c.refusal != nil {
		c.st.State, c.st.NextAction = CallRefused, "none"
		return c.finish(ctx, CallResult{State: CallRefused})
	}
	if in.Leg == CallLegOwner {
		c.bridge = &ownerLeg{hangup: workflow.GetSignalChannel(ctx, SignalCallHangup)}
		c.place(ctx)
	}

	c.st.NextAction = "wait for the browser to dial (Twilio's voice webhook)"
	if !c.await(ctx, in.DialWindow, func() bool { return callRank(c.st.State) >= 1 }) {
		c.advance(CallStatusEvent{State: CallExpired, DurationSeconds: 0, Source: "dial window"})
	}
	limit := time.Duration(c.st.MaxMinutes)*time.Minute + CallRingAllowance + CallReconcileMargin
	for try := 0; callRank(c.st.State) < 4; try++ {
		c.st.NextAction = "follow the call's status callbacks to its final status"
		if c.await(ctx, limit, func() bool { return callRank(c.st.State) >= 4 }) {
			break
		}
		// No final status in time: Twilio's own record says how it ended.
		if err := c.reconcile(ctx, try); err != nil {
			return CallResult{}, err
		}
		limit = CallReconcileMargin
	}
	if c.st.State == CallCompleted && c.duration < 0 {
		// A completed callback without its duration: ask Twilio.
		if err := c.reconcile(ctx, callReconcileTries); err != nil {
			return CallResult{}, err
		}
	}
	if c.bridge != nil {
		c.releaseDestination(ctx)
	}
	res, err := c.settle(ctx)
	if err != nil {
		return CallResult{}, err
	}
	return c.finish(ctx, res)
}

// authorize places the hold once and answers what it covers; a repeat
// answers the same.
func (c *call) authorize(ctx workflow.Context) (CallAuthorization, error) {
	if c.refusal != nil {
		return CallAuthorization{}, c.refusal
	}
	if !c.opened {
		if c.st.State != CallAuthorized {
			return CallAuthorization{}, temporal.NewApplicationError("the call is over", errTypeCallClosed)
		}
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: 5 * time.Second,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumAttempts: 3},
		})
		var a *activities.Activities
		var o activities.OpenCallResult
		err := workflow.ExecuteLocalActivity(lctx, a.OpenCall, activities.OpenCallInput{CallID: c.in.CallID, AccountID: c.in.AccountID,
			UserID: c.in.UserID, Seat: c.in.Seat, Identity: c.in.Identity, To: c.in.To, ToNational: c.in.ToNational, ToCountry: c.in.ToCountry,
			CallerID: c.in.CallerID, PricePerMinuteCents: c.in.PricePerMinuteCents, MaxMinutes: c.in.MaxMinutes,
			BridgeID: c.in.BridgeID, Leg: c.in.Leg, DialWindow: c.in.DialWindow}).Get(ctx, &o)
		if err != nil {
			c.refusal = err
			c.st.LastError = errorMessage(err)
			return CallAuthorization{}, err
		}
		c.opened = true
		c.st.MaxMinutes, c.st.HoldCents = o.MaxMinutes, o.HoldCents
		c.st.NextAction = "wait for the browser to dial"
		c.auth = CallAuthorization{CallID: c.in.CallID, MaxMinutes: o.MaxMinutes, HoldCents: o.HoldCents, ExpiresAt: o.ExpiresAt}
	}
	return c.auth, nil
}

// await takes status events until done holds or d passes, and reports
// whether done holds.
func (c *call) await(ctx workflow.Context, d time.Duration, done func() bool) bool {
	timerCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	fired := false
	timer := workflow.NewTimer(timerCtx, d)
	for !done() && !fired {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(c.status, func(ch workflow.ReceiveChannel, _ bool) {
			var ev CallStatusEvent
			ch.Receive(ctx, &ev)
			c.advance(ev)
		})
		if c.bridge != nil {
			c.hangUpIfAsked(ctx)
			sel.AddReceive(c.bridge.hangup, func(ch workflow.ReceiveChannel, _ bool) {
				ch.Receive(ctx, nil)
				c.bridge.asked = true
			})
		}
		sel.AddFuture(timer, func(workflow.Future) { fired = true })
		sel.Select(ctx)
	}
	return done()
}

// advance applies a status: never backwards, and the first final one
// stands (with its duration).
func (c *call) advance(ev CallStatusEvent) {
	c.st.Events++
	c.st.LastEvent = ev.State + " (" + ev.Source + ")"
	if callRank(ev.State) <= callRank(c.st.State) || ev.UnlessDialed && callRank(c.st.State) >= 1 {
		if callRank(ev.State) == 4 && c.st.State == ev.State && c.duration < 0 && ev.DurationSeconds >= 0 {
			c.duration = ev.DurationSeconds // the same final status, now with its duration
		}
		return
	}
	c.st.State = ev.State
	if callRank(ev.State) == 4 {
		c.duration = ev.DurationSeconds
	}
}

// reconcile asks Twilio how the call ended when its callbacks did not say.
func (c *call) reconcile(ctx workflow.Context, try int) error {
	var a *activities.Activities
	c.st.NextAction = "ask Twilio how the call ended (no final status callback)"
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute, MaximumAttempts: 10},
	})
	var r activities.FetchCallResult
	err := workflow.ExecuteActivity(actx, a.FetchCall, c.in.CallID).Get(ctx, &r)
	switch {
	case err != nil:
		c.st.LastError = "twilio fetch: " + errorMessage(err)
	case callRank(r.State) == 4:
		c.advance(CallStatusEvent{State: r.State, DurationSeconds: r.DurationSeconds, Source: "twilio fetch"})
		if c.duration < 0 {
			c.duration = r.DurationSeconds
		}
		return nil
	}
	if try >= callReconcileTries {
		// Twilio cannot say (the call never reached it): nothing to bill.
		c.advance(CallStatusEvent{State: CallFailed, DurationSeconds: 0, Source: "reconcile gave up"})
		if c.duration < 0 {
			c.duration = 0
		}
	}
	return nil
}

// settle bills the call once; the activity retries until it lands (the
// money is owed, or the hold is to be released).
func (c *call) settle(ctx workflow.Context) (CallResult, error) {
	var a *activities.Activities
	c.st.NextAction = "bill the call"
	sctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 5 * time.Minute},
	})
	var b activities.SettleCallResult
	if err := workflow.ExecuteActivity(sctx, a.SettleCall, activities.SettleCallInput{CallID: c.in.CallID, Status: c.st.State,
		DurationSeconds: max(c.duration, 0)}).Get(ctx, &b); err != nil {
		return CallResult{}, err
	}
	c.st.DurationSeconds, c.st.BilledMinutes, c.st.CostCents = b.DurationSeconds, b.BilledMinutes, b.CostCents
	return CallResult{State: c.st.State, DurationSeconds: b.DurationSeconds, BilledMinutes: b.BilledMinutes, CostCents: b.CostCents,
		BalanceAfterCents: b.BalanceAfterCents}, nil
}

// finish publishes the final state and returns once no event is pending:
// late callbacks are recorded by the webhook; here they change nothing.
func (c *call) finish(ctx workflow.Context, res CallResult) (CallResult, error) {
	c.st.NextAction = "none"
	if err := workflow.UpsertTypedSearchAttributes(ctx, AttrCallState.ValueSet(c.st.State)); err != nil {
		return CallResult{}, err
	}
	for {
		drainSignal(ctx, SignalCallStatus, func(ev CallStatusEvent) { c.st.Events++; c.st.LastEvent = ev.State + " (late)" })
		drainSignal(ctx, SignalCallHangup, func(struct{}) {}) // over already
		if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
			return CallResult{}, err
		}
		late := drainSignal(ctx, SignalCallStatus, func(ev CallStatusEvent) { c.st.Events++; c.st.LastEvent = ev.State + " (late)" })
		if late+drainSignal(ctx, SignalCallHangup, func(struct{}) {}) == 0 {
			return res, nil
		}
	}
}

// CallSearchAttributes are set when the call starts (free of actions).
func CallSearchAttributes(accountID int64) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(AttrAccountID.ValueSet(strconv.FormatInt(accountID, 10)), AttrCallState.ValueSet(CallAuthorized))
}
