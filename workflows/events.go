package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Helpers of the workflows that wait on provider events (TopUp, SaveCard):
// events arrive by the deliver update (the webhook's way in) or, in runs
// from before it, by signal; either way none is dropped at close.

// drainSignal applies every value already delivered on the signal name and
// reports how many there were: a workflow calls it before it returns, so a
// signal accepted while it was closing is handled, not left behind.
func drainSignal[T any](ctx workflow.Context, name string, apply func(T)) int {
	c := workflow.GetSignalChannel(ctx, name)
	n := 0
	for {
		var v T
		if !c.ReceiveAsync(&v) {
			return n
		}
		apply(v)
		n++
	}
}

// requireEvent is the deliver updates' validator: an event the workflow
// could not apply is refused before it is accepted.
func requireEvent(eventID, typ string) error {
	if eventID == "" || typ == "" {
		return temporal.NewApplicationError("an event needs its event id and type", ErrTypeBadEvent)
	}
	return nil
}
