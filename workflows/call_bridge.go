package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mobayilo/mobayilo/activities"
)

// A bridge call (`moby call`) is two Call workflows. The owner leg rings
// the owner's verified phone: after its hold it has Twilio place the call
// itself (PlaceBridgeCall), follows it as any call, and hangs it up when
// asked (SignalCallHangup → EndCall). The destination leg is a plain call
// that the bridge webhook claims once the owner answers. An owner leg that
// ends before the destination leg was dialed (unanswered, or hung up first)
// tells the destination leg, which releases its hold without billing.

// The legs of a bridge call (CallInput.Leg).
const (
	CallLegOwner       = "owner"
	CallLegDestination = "destination"
)

// ownerLeg is an owner leg's own state.
type ownerLeg struct {
	hangup workflow.ReceiveChannel
	// asked: a hang-up was signalled; ended is the last Twilio status it
	// was hung up with ("canceled" while ringing, "completed" once
	// answered), so an answer that raced the first is hung up again.
	asked bool
	ended string
}

// place has Twilio ring the owner's phone; the call is then dialing. A
// refusal by Twilio fails the leg (nothing was talked).
func (c *call) place(ctx workflow.Context) {
	c.st.NextAction = "have Twilio ring the owner's phone"
	var a *activities.Activities
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		// Bounded: a phone that rings minutes late is no use to anyone.
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 10 * time.Second, MaximumAttempts: 5},
	})
	var sid string
	if err := workflow.ExecuteActivity(actx, a.PlaceBridgeCall, c.in.CallID).Get(ctx, &sid); err != nil {
		c.st.LastError = "twilio create call: " + errorMessage(err)
		c.advance(CallStatusEvent{State: CallFailed, DurationSeconds: 0, Source: "twilio create call"})
		return
	}
	c.advance(CallStatusEvent{State: CallDialing, DurationSeconds: -1, Source: "twilio create call"})
}

// hangUpIfAsked hangs the owner's call up at Twilio once asked, again with
// "completed" if it was answered after a first "canceled".
func (c *call) hangUpIfAsked(ctx workflow.Context) {
	b := c.bridge
	if !b.asked || callRank(c.st.State) >= 4 || callRank(c.st.State) < 1 {
		return
	}
	status := "canceled"
	if c.st.State == CallInProgress {
		status = "completed"
	}
	if status == b.ended {
		return
	}
	b.ended = status
	var a *activities.Activities
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 10 * time.Second, MaximumAttempts: 5},
	})
	if err := workflow.ExecuteActivity(actx, a.EndCall, activities.EndCallInput{CallID: c.in.CallID, Status: status}).Get(ctx, nil); err != nil {
		c.st.LastError = "twilio hang up: " + errorMessage(err)
	}
}

// releaseDestination tells the destination leg that the owner's call is
// over: a destination leg not dialed by then never will be, so it is
// canceled and its hold released at once (not at its dial window's end).
// One already dialed ignores it and follows its own callbacks: Twilio ends
// it with the owner's call.
func (c *call) releaseDestination(ctx workflow.Context) {
	if c.in.BridgeID == "" {
		return
	}
	ev := CallStatusEvent{State: CallCanceled, DurationSeconds: 0, Source: "owner leg " + c.st.State, UnlessDialed: true}
	if err := workflow.SignalExternalWorkflow(ctx, CallWorkflowID(c.in.BridgeID), "", SignalCallStatus, ev).Get(ctx, nil); err != nil {
		// The destination leg ended already (it expired): nothing is held.
		c.st.LastError = "release the destination leg: " + errorMessage(err)
	}
}
