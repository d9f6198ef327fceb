package workflows_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

// callRun drives one Call with mocked activities on the skipping clock.
type callRun struct {
	t        *testing.T
	env      *testsuite.TestWorkflowEnvironment
	settles  []activities.SettleCallInput
	fetches  int
	fetch    activities.FetchCallResult
	refuse   bool
	auth     workflows.CallAuthorization
	authErr  error
	settleAt time.Duration
	// adjust changes the input before the run (a bridge call's legs).
	adjust func(*workflows.CallInput)
}

const callPrice = 7 // cents a minute

func newCallRun(t *testing.T) *callRun {
	env := newTestEnv(t)
	r := &callRun{t: t, env: env}
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.CallWorkflowID("call_1")})
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.OpenCall, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.OpenCallInput) (activities.OpenCallResult, error) {
		if r.refuse {
			return activities.OpenCallResult{}, temporal.NewNonRetryableApplicationError("insufficient funds", activities.ErrTypeCallRefused, nil)
		}
		return activities.OpenCallResult{MaxMinutes: 10, HoldCents: 10 * callPrice, ExpiresAt: env.Now().Add(2 * time.Minute)}, nil
	})
	env.OnActivity(a.FetchCall, mock.Anything, mock.Anything).Return(func(_ context.Context, _ string) (activities.FetchCallResult, error) {
		r.fetches++
		return r.fetch, nil
	})
	env.OnActivity(a.SettleCall, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SettleCallInput) (activities.SettleCallResult, error) {
		r.settles = append(r.settles, in)
		r.settleAt = env.Now().Sub(testStart)
		cost := int64(0)
		if in.Status == workflows.CallCompleted {
			cost = rates.CallCostCents(in.DurationSeconds, callPrice)
		}
		return activities.SettleCallResult{DurationSeconds: in.DurationSeconds, BilledMinutes: cost / callPrice, CostCents: cost, BalanceAfterCents: 1000 - cost}, nil
	})
	// The API's update-with-start: authorize as the workflow starts.
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(workflows.UpdateCallAuthorize, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { r.authErr = err },
			OnComplete: func(v any, err error) { r.auth, _ = v.(workflows.CallAuthorization); r.authErr = err },
		})
	}, 0)
	return r
}

// at sends states at offsets from the start.
func (r *callRun) at(d time.Duration, evs ...workflows.CallStatusEvent) {
	r.env.RegisterDelayedCallback(func() {
		for _, ev := range evs {
			r.env.SignalWorkflow(workflows.SignalCallStatus, ev)
		}
	}, d)
}

func (r *callRun) run() workflows.CallResult {
	r.t.Helper()
	in := workflows.CallInput{CallID: "call_1", AccountID: 42, UserID: 7, Identity: "user_7", To: "+14155550100",
		CallerID: "+14155550199", PricePerMinuteCents: callPrice, MaxMinutes: 10, DialWindow: 2 * time.Minute}
	if r.adjust != nil {
		r.adjust(&in)
	}
	r.env.ExecuteWorkflow(workflows.Call, in)
	if !r.env.IsWorkflowCompleted() {
		r.t.Fatal("workflow did not complete")
	}
	var res workflows.CallResult
	if err := r.env.GetWorkflowResult(&res); err != nil {
		r.t.Fatalf("workflow error: %v", err)
	}
	return res
}

func st(state string, duration int64) workflows.CallStatusEvent {
	return workflows.CallStatusEvent{State: state, DurationSeconds: duration, Source: "test"}
}

var dialing, inProgress = st(workflows.CallDialing, -1), st(workflows.CallInProgress, -1)

func TestCall_CompletedCallIsBilledOncePerStartedMinute(t *testing.T) {
	r := newCallRun(t)
	r.at(10*time.Second, dialing)
	r.at(20*time.Second, inProgress)
	r.at(90*time.Second, st(workflows.CallCompleted, 61))
	res := r.run()
	if r.authErr != nil || r.auth.MaxMinutes != 10 || r.auth.HoldCents != 70 {
		t.Fatalf("authorisation %+v, %v", r.auth, r.authErr)
	}
	if len(r.settles) != 1 || r.settles[0] != (activities.SettleCallInput{CallID: "call_1", Status: workflows.CallCompleted, DurationSeconds: 61}) {
		t.Fatalf("settlements %+v, want one completed of 61 s", r.settles)
	}
	if res.State != workflows.CallCompleted || res.BilledMinutes != 2 || res.CostCents != 14 {
		t.Fatalf("result %+v, want 2 minutes, 14 cents", res)
	}
}

// Twilio promises neither order nor single delivery: every ordering, with
// duplicates, bills the first final status once; nothing moves backwards.
func TestCall_EveryStatusOrderingAndDuplicatesBillOnce(t *testing.T) {
	done := st(workflows.CallCompleted, 30)
	orders := map[string][]workflows.CallStatusEvent{
		"in order":                  {dialing, inProgress, done},
		"completed first":           {done, inProgress, dialing},
		"completed before answered": {dialing, done, inProgress},
		"duplicated":                {dialing, dialing, inProgress, inProgress, done, done, done},
		"late ringing":              {dialing, inProgress, done, st(workflows.CallRinging, -1)},
		"completed then busy":       {dialing, done, st(workflows.CallBusy, 0)},
	}
	for name, evs := range orders {
		t.Run(name, func(t *testing.T) {
			r := newCallRun(t)
			for i, ev := range evs {
				r.at(time.Duration(10+i)*time.Second, ev)
			}
			res := r.run()
			if len(r.settles) != 1 || r.settles[0].Status != workflows.CallCompleted || r.settles[0].DurationSeconds != 30 || res.CostCents != callPrice {
				t.Fatalf("settlements %+v, result %+v; want one completed of 30 s, one minute", r.settles, res)
			}
		})
	}
}

func TestCall_BusyNoAnswerFailedAndCanceledCostNothing(t *testing.T) {
	for _, final := range []string{workflows.CallBusy, workflows.CallNoAnswer, workflows.CallFailed, workflows.CallCanceled} {
		t.Run(final, func(t *testing.T) {
			r := newCallRun(t)
			r.at(5*time.Second, dialing)
			r.at(20*time.Second, st(final, 0))
			res := r.run()
			if len(r.settles) != 1 || r.settles[0].Status != final || res.CostCents != 0 {
				t.Fatalf("settlements %+v, result %+v", r.settles, res)
			}
		})
	}
}

// Authorised but never dialed: expired at the end of the dial window, its
// hold released, nothing charged.
func TestCall_NeverDialedExpiresAtTheDialWindow(t *testing.T) {
	r := newCallRun(t)
	res := r.run()
	if len(r.settles) != 1 || r.settles[0].Status != workflows.CallExpired || res.CostCents != 0 || r.settleAt != 2*time.Minute {
		t.Fatalf("settlements %+v at %s, result %+v; want expired at 2m, free", r.settles, r.settleAt, res)
	}
}

// No final callback at all (the 0105 sandbox number): after the call's time
// limit and a margin the workflow asks Twilio, and bills Twilio's duration.
func TestCall_NoFinalCallbackIsReconciledFromTwilio(t *testing.T) {
	r := newCallRun(t)
	r.fetch = activities.FetchCallResult{State: workflows.CallCompleted, DurationSeconds: 5}
	r.at(5*time.Second, dialing, inProgress)
	res := r.run()
	limit := 10*time.Minute + workflows.CallRingAllowance + workflows.CallReconcileMargin
	if r.fetches != 1 || len(r.settles) != 1 || r.settles[0].DurationSeconds != 5 || res.CostCents != callPrice {
		t.Fatalf("%d fetches, settlements %+v, result %+v; want Twilio's 5 s billed", r.fetches, r.settles, res)
	}
	if r.settleAt < limit {
		t.Fatalf("settled at %s, before the time limit and margin %s", r.settleAt, limit)
	}
}

// A completed callback without its duration: the duration is Twilio's.
func TestCall_CompletedWithoutDurationAsksTwilio(t *testing.T) {
	r := newCallRun(t)
	r.fetch = activities.FetchCallResult{State: workflows.CallCompleted, DurationSeconds: 125}
	r.at(5*time.Second, dialing, inProgress, st(workflows.CallCompleted, -1))
	res := r.run()
	if r.fetches != 1 || len(r.settles) != 1 || r.settles[0].DurationSeconds != 125 || res.BilledMinutes != 3 {
		t.Fatalf("%d fetches, settlements %+v, result %+v", r.fetches, r.settles, res)
	}
}

// The hold could not be placed (another call took the money): the update
// fails, nothing is held or billed, and the workflow closes refused.
func TestCall_RefusedAuthorisationHoldsAndBillsNothing(t *testing.T) {
	r := newCallRun(t)
	r.refuse = true
	res := r.run()
	if r.authErr == nil || res.State != workflows.CallRefused || len(r.settles) != 0 {
		t.Fatalf("auth err %v, result %+v, settlements %+v; want refused, nothing settled", r.authErr, res, r.settles)
	}
}

// Callbacks that arrive after the bill change nothing and are not left
// pending (the webhook has recorded them).
func TestCall_LateCallbacksAfterTheBillChangeNothing(t *testing.T) {
	r := newCallRun(t)
	r.at(5*time.Second, dialing, st(workflows.CallCompleted, 10), st(workflows.CallCompleted, 99), st(workflows.CallRinging, -1))
	res := r.run()
	if len(r.settles) != 1 || r.settles[0].DurationSeconds != 10 || res.CostCents != callPrice {
		t.Fatalf("settlements %+v, result %+v", r.settles, res)
	}
}

func TestCallStates_AreTheStoredStatuses(t *testing.T) {
	for _, s := range []string{workflows.CallAuthorized, workflows.CallDialing, workflows.CallRinging, workflows.CallInProgress,
		workflows.CallCompleted, workflows.CallBusy, workflows.CallNoAnswer, workflows.CallFailed, workflows.CallCanceled, workflows.CallExpired} {
		if models.CallStatus(s).Rank() < 0 {
			t.Errorf("workflow state %q is no stored call status", s)
		}
	}
	if got := fmt.Sprint(models.CallCompleted.Final(), models.CallRinging.Final()); got != "true false" {
		t.Fatalf("final: %s", got)
	}
}
