package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/workflows"
)

// ownerRun is a bridge call's owner leg on the skipping clock: Twilio's
// create and update are mocked, and so is the signal to the destination
// leg's workflow.
type ownerRun struct {
	*callRun
	placed   []string
	placedAt time.Duration
	ended    []activities.EndCallInput
	released []workflows.CallStatusEvent
	toWhom   []string
	// refusePlace: Twilio refuses the create (a 4xx).
	refusePlace bool
}

func newOwnerRun(t *testing.T) *ownerRun {
	r := &ownerRun{callRun: newCallRun(t)}
	r.adjust = func(in *workflows.CallInput) {
		in.Leg, in.BridgeID, in.To, in.CallerID = workflows.CallLegOwner, "call_b", "+447400123456", "+14155550199"
		in.DialWindow = 4 * time.Minute
	}
	var a *activities.Activities
	r.env.OnActivity(a.PlaceBridgeCall, mock.Anything, mock.Anything).Return(func(_ context.Context, callID string) (string, error) {
		if r.refusePlace {
			return "", temporal.NewNonRetryableApplicationError("to is not a valid phone number", activities.ErrTypeCallNotPlaced, nil)
		}
		r.placed = append(r.placed, callID)
		r.placedAt = r.env.Now().Sub(testStart)
		return "CA0wner", nil
	})
	r.env.OnActivity(a.EndCall, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.EndCallInput) error {
		r.ended = append(r.ended, in)
		return nil
	})
	r.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, workflows.SignalCallStatus, mock.Anything).Return(
		func(_, workflowID, _, _ string, arg any) error {
			r.toWhom = append(r.toWhom, workflowID)
			r.released = append(r.released, arg.(workflows.CallStatusEvent))
			return nil
		})
	return r
}

// The owner answers: the leg was placed through Twilio right after its
// hold (no browser dials it), talks, and is billed per started minute at
// its own rate; the destination leg is left to its own callbacks (the
// bridge webhook dialed it when the owner answered).
func TestCall_OwnerLegIsPlacedAfterItsHoldAndBilledAtItsRate(t *testing.T) {
	r := newOwnerRun(t)
	r.at(3*time.Second, inProgress)
	r.at(95*time.Second, st(workflows.CallCompleted, 92))
	res := r.run()
	if len(r.placed) != 1 || r.placed[0] != "call_1" || r.placedAt != 0 {
		t.Fatalf("placed %v at %s, want call_1 placed once at the start", r.placed, r.placedAt)
	}
	if len(r.settles) != 1 || r.settles[0].Status != workflows.CallCompleted || res.BilledMinutes != 2 || res.CostCents != 2*callPrice {
		t.Fatalf("settlements %+v, result %+v; want 92 s billed as 2 minutes", r.settles, res)
	}
	// The destination leg is told only "unless dialed": the bridge webhook
	// dialed it when the owner answered, so it follows its own callbacks.
	if len(r.released) != 1 || !r.released[0].UnlessDialed || len(r.ended) != 0 {
		t.Fatalf("released %v, ended %v; want one unless-dialed release and no hang-up", r.released, r.ended)
	}
}

// The owner does not answer: nothing is billed on their leg, and the
// destination leg is told to cancel (its hold released, nothing billed).
func TestCall_OwnerNotAnsweringReleasesTheDestinationLeg(t *testing.T) {
	for _, final := range []string{workflows.CallNoAnswer, workflows.CallBusy, workflows.CallFailed} {
		t.Run(final, func(t *testing.T) {
			r := newOwnerRun(t)
			r.at(60*time.Second, st(final, 0))
			res := r.run()
			if res.State != final || res.CostCents != 0 || len(r.settles) != 1 {
				t.Fatalf("result %+v, settlements %+v; want %s, free", res, r.settles, final)
			}
			if len(r.released) != 1 || r.toWhom[0] != workflows.CallWorkflowID("call_b") || r.released[0].State != workflows.CallCanceled {
				t.Fatalf("signals to %v: %+v; want the destination leg canceled once", r.toWhom, r.released)
			}
		})
	}
}

// Twilio refuses to place the owner's call: the leg fails free and the
// destination leg is released.
func TestCall_OwnerLegTwilioRefusesFailsAndReleasesTheDestination(t *testing.T) {
	r := newOwnerRun(t)
	r.refusePlace = true
	res := r.run()
	if res.State != workflows.CallFailed || res.CostCents != 0 || len(r.released) != 1 {
		t.Fatalf("result %+v, released %+v; want failed, free, destination released", res, r.released)
	}
}

// Hang-up (Ctrl-C in `moby call`): while ringing the call is canceled at
// Twilio; an answer that raced it is hung up again as completed; the talk
// up to then is billed.
func TestCall_OwnerLegHangUpCancelsThenCompletesAtTwilio(t *testing.T) {
	r := newOwnerRun(t)
	r.env.RegisterDelayedCallback(func() { r.env.SignalWorkflow(workflows.SignalCallHangup, nil) }, 2*time.Second)
	r.at(3*time.Second, inProgress)
	r.at(10*time.Second, st(workflows.CallCompleted, 7))
	res := r.run()
	want := []activities.EndCallInput{{CallID: "call_1", Status: "canceled"}, {CallID: "call_1", Status: "completed"}}
	if len(r.ended) != 2 || r.ended[0] != want[0] || r.ended[1] != want[1] {
		t.Fatalf("ended %+v, want %+v", r.ended, want)
	}
	if res.State != workflows.CallCompleted || res.CostCents != callPrice {
		t.Fatalf("result %+v; want the 7 s billed as one minute", res)
	}
}

// The destination leg waits for the owner to answer longer than a
// browser's call waits to be dialed, then is dialed and billed at its own
// rate; a destination leg canceled by its owner leg bills nothing.
func TestCall_DestinationLegDialedAfterTheOwnerAnswersOrReleased(t *testing.T) {
	dest := func(in *workflows.CallInput) {
		in.Leg, in.BridgeID, in.DialWindow = workflows.CallLegDestination, "call_1", 4*time.Minute
	}
	r := newCallRun(t)
	r.adjust = dest
	r.at(150*time.Second, dialing)
	r.at(160*time.Second, inProgress)
	r.at(221*time.Second, st(workflows.CallCompleted, 61))
	if res := r.run(); res.State != workflows.CallCompleted || res.BilledMinutes != 2 {
		t.Fatalf("dialed destination leg: %+v, want 61 s billed as 2 minutes", res)
	}

	release := workflows.CallStatusEvent{State: workflows.CallCanceled, DurationSeconds: 0, Source: "owner leg no-answer", UnlessDialed: true}
	r = newCallRun(t)
	r.adjust = dest
	r.at(60*time.Second, release)
	res := r.run()
	if res.State != workflows.CallCanceled || res.CostCents != 0 || len(r.settles) != 1 || r.settleAt != 60*time.Second {
		t.Fatalf("released destination leg: %+v settled %+v at %s; want canceled at once, free", res, r.settles, r.settleAt)
	}

	// Dialed already: the owner leg's release changes nothing; the leg is
	// billed from its own callbacks.
	r = newCallRun(t)
	r.adjust = dest
	r.at(10*time.Second, dialing, inProgress)
	r.at(40*time.Second, release)
	r.at(41*time.Second, st(workflows.CallCompleted, 30))
	if res := r.run(); res.State != workflows.CallCompleted || res.BilledMinutes != 1 {
		t.Fatalf("dialed destination leg released: %+v, want its 30 s billed", res)
	}
}
