package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

// saveCardRun drives one SaveCard with mocked activities on the skipping
// clock.
type saveCardRun struct {
	t        *testing.T
	env      *testsuite.TestWorkflowEnvironment
	saves    []activities.SaveSetupCardInput
	finish   []activities.FinishCardSetupInput
	notified int
	link     workflows.CheckoutLink
	linkErr  error
	// onFinish runs while FinishCardSetup is in flight.
	onFinish func()
}

func newSaveCardRun(t *testing.T, checkoutErr error) *saveCardRun {
	env := newTestEnv(t)
	r := &saveCardRun{t: t, env: env}
	var a *activities.Activities
	env.RegisterActivity(a)
	if checkoutErr != nil {
		env.OnActivity(a.CreateCardSetupCheckout, mock.Anything, mock.Anything).Return(activities.CreateCardSetupCheckoutResult{}, checkoutErr)
	} else {
		env.OnActivity(a.CreateCardSetupCheckout, mock.Anything, activities.CreateCardSetupCheckoutInput{SetupID: "cset_1", BaseURL: "http://m.test"}).
			Return(activities.CreateCardSetupCheckoutResult{SessionID: "cs_1", URL: "https://checkout.test/cs_1", ExpiresAt: testStart.Add(time.Hour)}, nil)
	}
	env.OnActivity(a.SaveSetupCard, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SaveSetupCardInput) (activities.SaveSetupCardResult, error) {
			r.saves = append(r.saves, in)
			return activities.SaveSetupCardResult{Brand: "visa", Last4: "0002"}, nil
		})
	env.OnActivity(a.FinishCardSetup, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FinishCardSetupInput) error {
			r.finish = append(r.finish, in)
			if r.onFinish != nil {
				r.onFinish()
			}
			return nil
		})
	env.OnSignalExternalWorkflow(mock.Anything, workflows.AutoTopUpWorkflowID(42), "", workflows.SignalAutoTopUpCardUpdated, nil).Return(
		func(_, _, _, _ string, _ any) error { r.notified++; return nil })
	// The API's update-with-start: ask for the link as the workflow starts.
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(workflows.UpdateSaveCardCheckoutURL, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { r.linkErr = err },
			OnComplete: func(v any, err error) { r.link, _ = v.(workflows.CheckoutLink); r.linkErr = err },
		})
	}, 0)
	return r
}

func (r *saveCardRun) signalAt(at time.Duration, evs ...workflows.SetupEvent) {
	r.env.RegisterDelayedCallback(func() {
		for _, ev := range evs {
			r.env.SignalWorkflow(workflows.SignalSaveCardCheckoutEvent, ev)
		}
	}, at)
}

func (r *saveCardRun) run() workflows.SaveCardResult {
	r.t.Helper()
	r.env.ExecuteWorkflow(workflows.SaveCard, workflows.SaveCardInput{SetupID: "cset_1", AccountID: 42, BaseURL: "http://m.test"})
	if !r.env.IsWorkflowCompleted() {
		r.t.Fatal("workflow did not complete")
	}
	var res workflows.SaveCardResult
	if err := r.env.GetWorkflowResult(&res); err != nil {
		r.t.Fatalf("workflow error: %v", err)
	}
	return res
}

func (r *saveCardRun) state() workflows.SaveCardState {
	r.t.Helper()
	v, err := r.env.QueryWorkflow(workflows.QueryState)
	if err != nil {
		r.t.Fatal(err)
	}
	var st workflows.SaveCardState
	if err := v.Get(&st); err != nil {
		r.t.Fatal(err)
	}
	return st
}

func setupCompleted(id, session string) workflows.SetupEvent {
	return workflows.SetupEvent{EventID: id, Type: workflows.EventCheckoutCompleted, SessionID: session, SetupIntentID: "seti_1"}
}

func TestSaveCard_CompletedCheckoutSavesTheCardAndWakesAutoTopUp(t *testing.T) {
	r := newSaveCardRun(t, nil)
	r.env.RegisterDelayedCallback(func() {
		if st := r.state(); st.State != string(models.CardSetupPending) || st.CheckoutURL != "https://checkout.test/cs_1" || len(r.saves) != 0 {
			t.Errorf("state while waiting = %+v, saves %v", st, r.saves)
		}
	}, time.Minute)
	r.signalAt(2*time.Minute, setupCompleted("evt_1", "cs_1"))
	res := r.run()
	if res != (workflows.SaveCardResult{State: string(models.CardSetupSaved), CardBrand: "visa", CardLast4: "0002"}) {
		t.Fatalf("result = %+v", res)
	}
	if r.link.URL != "https://checkout.test/cs_1" || r.link.SessionID != "cs_1" || r.linkErr != nil {
		t.Fatalf("update answered %+v, %v; want the checkout URL", r.link, r.linkErr)
	}
	if len(r.saves) != 1 || r.saves[0] != (activities.SaveSetupCardInput{SetupID: "cset_1", SetupIntentID: "seti_1"}) {
		t.Fatalf("saves = %+v", r.saves)
	}
	if r.notified != 1 || len(r.finish) != 0 {
		t.Fatalf("card-updated sent %d times, finished %v; want once and no finish", r.notified, r.finish)
	}
	if st := r.state(); st.State != string(models.CardSetupSaved) || st.NextAction != "none" || st.CardLast4 != "0002" {
		t.Fatalf("final state = %+v", st)
	}
}

func TestSaveCard_UnusedSessionExpiresAtItsDeadlineWithoutSaving(t *testing.T) {
	r := newSaveCardRun(t, nil)
	r.env.RegisterDelayedCallback(func() {
		if st := r.state(); st.State != string(models.CardSetupPending) {
			t.Errorf("state just before expiry + grace = %+v", st)
		}
	}, time.Hour+workflows.TopUpExpiryGrace-time.Minute)
	res := r.run()
	if res.State != string(models.CardSetupExpired) || len(r.saves) != 0 || r.notified != 0 {
		t.Fatalf("result %+v, saves %v, notified %d", res, r.saves, r.notified)
	}
	if len(r.finish) != 1 || r.finish[0] != (activities.FinishCardSetupInput{SetupID: "cset_1", Status: string(models.CardSetupExpired)}) {
		t.Fatalf("finish = %+v", r.finish)
	}
}

func TestSaveCard_ExpiredEventClosesWithoutSaving(t *testing.T) {
	r := newSaveCardRun(t, nil)
	r.signalAt(10*time.Minute, workflows.SetupEvent{EventID: "evt_x", Type: workflows.EventCheckoutExpired, SessionID: "cs_1"})
	res := r.run()
	if res.State != string(models.CardSetupExpired) || len(r.saves) != 0 || len(r.finish) != 1 {
		t.Fatalf("result %+v, saves %v, finish %v", res, r.saves, r.finish)
	}
}

func TestSaveCard_DuplicateCompletionEventsSaveOnce(t *testing.T) {
	r := newSaveCardRun(t, nil)
	// Redeliveries, an event for another session, then a late expiry: the
	// first completion of this session decides.
	r.signalAt(time.Minute, setupCompleted("evt_9", "cs_other"), setupCompleted("evt_1", "cs_1"), setupCompleted("evt_1", "cs_1"),
		setupCompleted("evt_2", "cs_1"), workflows.SetupEvent{EventID: "evt_3", Type: workflows.EventCheckoutExpired, SessionID: "cs_1"})
	res := r.run()
	if res.State != string(models.CardSetupSaved) || len(r.saves) != 1 || r.notified != 1 || len(r.finish) != 0 {
		t.Fatalf("result %+v, saves %v, notified %d, finish %v", res, r.saves, r.notified, r.finish)
	}
}

func TestSaveCard_CheckoutThatCannotOpenFailsTheUpdateAndTheSetup(t *testing.T) {
	r := newSaveCardRun(t, errors.New("stripe is down"))
	res := r.run()
	if res.State != string(models.CardSetupFailed) || r.linkErr == nil || r.link.URL != "" {
		t.Fatalf("result %+v, update %+v, %v; want failed and an update error", res, r.link, r.linkErr)
	}
	if len(r.finish) != 1 || r.finish[0].Status != string(models.CardSetupFailed) || len(r.saves) != 0 {
		t.Fatalf("finish %v, saves %v", r.finish, r.saves)
	}
}

func TestSaveCard_NoAutoTopUpRunningStillSaves(t *testing.T) {
	env := newTestEnv(t)
	var a *activities.Activities
	env.RegisterActivity(a)
	env.OnActivity(a.CreateCardSetupCheckout, mock.Anything, mock.Anything).
		Return(activities.CreateCardSetupCheckoutResult{SessionID: "cs_1", URL: "https://checkout.test/cs_1", ExpiresAt: testStart.Add(time.Hour)}, nil)
	env.OnActivity(a.SaveSetupCard, mock.Anything, mock.Anything).Return(activities.SaveSetupCardResult{Brand: "visa", Last4: "4242"}, nil)
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", workflows.SignalAutoTopUpCardUpdated, nil).
		Return(errors.New("unknown external workflow execution"))
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalSaveCardCheckoutEvent, setupCompleted("evt_1", "cs_1")) }, time.Minute)
	env.ExecuteWorkflow(workflows.SaveCard, workflows.SaveCardInput{SetupID: "cset_1", AccountID: 42})
	var res workflows.SaveCardResult
	if err := env.GetWorkflowResult(&res); err != nil || res.State != string(models.CardSetupSaved) {
		t.Fatalf("result %+v, %v; want saved", res, err)
	}
}

// A checkout Stripe completed as our timer expired the setup: its event,
// accepted while the expiry is recorded, still saves the card.
func TestSaveCard_CompletionArrivingWhileTheExpiryIsRecordedSavesTheCard(t *testing.T) {
	r := newSaveCardRun(t, nil)
	r.onFinish = func() {
		r.env.SignalWorkflow(workflows.SignalSaveCardCheckoutEvent, setupCompleted("evt_late", "cs_1"))
		r.env.SignalWorkflow(workflows.SignalSaveCardCheckoutEvent, setupCompleted("evt_late", "cs_1"))
	}
	res := r.run()
	if len(r.finish) != 1 || r.finish[0].Status != string(models.CardSetupExpired) {
		t.Fatalf("finish %+v, want the expiry recorded first", r.finish)
	}
	if res.State != workflows.CardSetupSaved || len(r.saves) != 1 || r.notified != 1 {
		t.Fatalf("result %+v, %d saves, %d notices; want the card saved once", res, len(r.saves), r.notified)
	}
}
