package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

// topUpRun drives one TopUp with mocked activities on the skipping clock.
type topUpRun struct {
	t       *testing.T
	env     *testsuite.TestWorkflowEnvironment
	credits []activities.CreditTopUpInput
	finish  []activities.FinishTopUpInput
	mailed  int
	link    workflows.CheckoutLink
	linkErr error
	// onFinish runs while FinishTopUp is in flight (events racing the close).
	onFinish func()
	// delivered are the deliver update's answers, rejected its refusals.
	delivered []workflows.EventReceipt
	rejected  []error
}

func newTopUpRun(t *testing.T, checkoutErr error) *topUpRun {
	env := newTestEnv(t)
	r := &topUpRun{t: t, env: env}
	var a *activities.Activities
	env.RegisterActivity(a)
	if checkoutErr != nil {
		env.OnActivity(a.CreateTopUpCheckout, mock.Anything, mock.Anything).Return(activities.CreateTopUpCheckoutResult{}, checkoutErr)
	} else {
		env.OnActivity(a.CreateTopUpCheckout, mock.Anything, activities.CreateTopUpCheckoutInput{TopUpID: "tu_1", BaseURL: "http://m.test"}).
			Return(activities.CreateTopUpCheckoutResult{SessionID: "cs_1", URL: "https://checkout.test/cs_1", ExpiresAt: testStart.Add(time.Hour)}, nil)
	}
	env.OnActivity(a.CreditTopUp, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CreditTopUpInput) (activities.CreditTopUpResult, error) {
			r.credits = append(r.credits, in)
			return activities.CreditTopUpResult{LedgerEntryID: 9, BalanceAfterCents: 700, Replayed: len(r.credits) > 1}, nil
		})
	env.OnActivity(a.FinishTopUp, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FinishTopUpInput) error {
			r.finish = append(r.finish, in)
			if r.onFinish != nil {
				r.onFinish()
			}
			return nil
		})
	env.OnActivity(a.EmailTopUpReceipt, mock.Anything, "tu_1").Return(func(_ context.Context, _ string) error { r.mailed++; return nil })
	// The API's update-with-start: ask for the link as the workflow starts.
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(workflows.UpdateTopUpCheckoutURL, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { r.linkErr = err },
			OnComplete: func(v any, err error) { r.link, _ = v.(workflows.CheckoutLink); r.linkErr = err },
		})
	}, 0)
	return r
}

func (r *topUpRun) signalAt(at time.Duration, evs ...workflows.CheckoutEvent) {
	r.env.RegisterDelayedCallback(func() {
		for _, ev := range evs {
			r.env.SignalWorkflow(workflows.SignalTopUpCheckoutEvent, ev)
		}
	}, at)
}

// deliver sends events through the webhook's update, recording answers.
func (r *topUpRun) deliver(evs ...workflows.CheckoutEvent) {
	for _, ev := range evs {
		r.env.UpdateWorkflow(workflows.UpdateTopUpCheckoutEvent, ev.EventID, &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { r.rejected = append(r.rejected, err) },
			OnComplete: func(v any, err error) {
				if err != nil {
					r.rejected = append(r.rejected, err)
					return
				}
				rc, _ := v.(workflows.EventReceipt)
				r.delivered = append(r.delivered, rc)
			},
		}, ev)
	}
}

func (r *topUpRun) deliverAt(at time.Duration, evs ...workflows.CheckoutEvent) {
	r.env.RegisterDelayedCallback(func() { r.deliver(evs...) }, at)
}

func (r *topUpRun) run() workflows.TopUpResult {
	r.t.Helper()
	r.env.ExecuteWorkflow(workflows.TopUp, workflows.TopUpInput{TopUpID: "tu_1", AccountID: 42, AmountCents: 500, BaseURL: "http://m.test"})
	if !r.env.IsWorkflowCompleted() {
		r.t.Fatal("workflow did not complete")
	}
	var res workflows.TopUpResult
	if err := r.env.GetWorkflowResult(&res); err != nil {
		r.t.Fatalf("workflow error: %v", err)
	}
	return res
}

func (r *topUpRun) state() workflows.TopUpState {
	r.t.Helper()
	v, err := r.env.QueryWorkflow(workflows.QueryState)
	if err != nil {
		r.t.Fatal(err)
	}
	var st workflows.TopUpState
	if err := v.Get(&st); err != nil {
		r.t.Fatal(err)
	}
	return st
}

func completed(id, status string) workflows.CheckoutEvent {
	return workflows.CheckoutEvent{EventID: id, Type: workflows.EventCheckoutCompleted, SessionID: "cs_1", PaymentIntentID: "pi_1", PaymentStatus: status}
}

func TestTopUp_PaidCheckoutCreditsOnceAndMailsTheReceipt(t *testing.T) {
	r := newTopUpRun(t, nil)
	r.env.RegisterDelayedCallback(func() {
		if st := r.state(); st.State != workflows.PaymentAwaiting || st.CheckoutURL == "" {
			t.Errorf("state while waiting = %+v", st)
		}
	}, time.Minute)
	r.signalAt(2*time.Minute, completed("evt_1", "paid"))
	res := r.run()
	if res.State != workflows.PaymentSucceeded || res.PaymentIntentID != "pi_1" || res.BalanceAfterCents != 700 {
		t.Fatalf("result = %+v", res)
	}
	if r.link.URL != "https://checkout.test/cs_1" || r.linkErr != nil {
		t.Fatalf("update answered %+v, %v; want the checkout URL", r.link, r.linkErr)
	}
	if len(r.credits) != 1 || r.credits[0] != (activities.CreditTopUpInput{TopUpID: "tu_1", PaymentIntentID: "pi_1"}) {
		t.Fatalf("credits = %+v", r.credits)
	}
	if r.mailed != 1 || len(r.finish) != 0 {
		t.Fatalf("mailed %d receipts, finished %v", r.mailed, r.finish)
	}
	if st := r.state(); st.State != workflows.PaymentSucceeded || st.NextAction != "none" {
		t.Fatalf("final state = %+v", st)
	}
}

func TestTopUp_UnpaidSessionExpiresAtItsDeadlineWithoutCredit(t *testing.T) {
	r := newTopUpRun(t, nil)
	r.env.RegisterDelayedCallback(func() {
		if st := r.state(); st.State != workflows.PaymentAwaiting {
			t.Errorf("state just before expiry + grace = %+v", st)
		}
	}, time.Hour+workflows.TopUpExpiryGrace-time.Minute)
	res := r.run()
	if res.State != workflows.PaymentExpired || len(r.credits) != 0 || r.mailed != 0 {
		t.Fatalf("result %+v, credits %v, mailed %d", res, r.credits, r.mailed)
	}
	if len(r.finish) != 1 || r.finish[0].Status != string(models.TopUpExpired) {
		t.Fatalf("finish = %+v", r.finish)
	}
}

func TestTopUp_ExpiredEventClosesWithoutCredit(t *testing.T) {
	r := newTopUpRun(t, nil)
	r.signalAt(10*time.Minute, workflows.CheckoutEvent{EventID: "evt_x", Type: workflows.EventCheckoutExpired, SessionID: "cs_1"})
	res := r.run()
	if res.State != workflows.PaymentExpired || len(r.credits) != 0 {
		t.Fatalf("result %+v, credits %v", res, r.credits)
	}
}

func TestTopUp_DuplicateAndOutOfOrderWebhooksCreditOnce(t *testing.T) {
	r := newTopUpRun(t, nil)
	// "paid" arrives before "processing", then everything again.
	succeeded := workflows.CheckoutEvent{EventID: "evt_2", Type: workflows.EventCheckoutAsyncPaymentSucceeded, SessionID: "cs_1", PaymentIntentID: "pi_1", PaymentStatus: "paid"}
	r.signalAt(time.Minute, succeeded, completed("evt_1", "unpaid"), succeeded, completed("evt_1", "unpaid"),
		workflows.CheckoutEvent{EventID: "evt_3", Type: workflows.EventCheckoutExpired, SessionID: "cs_1"})
	res := r.run()
	if res.State != workflows.PaymentSucceeded || len(r.credits) != 1 || r.mailed != 1 {
		t.Fatalf("result %+v, credits %v, mailed %d", res, r.credits, r.mailed)
	}
}

func TestTopUp_ProcessingThenAsyncSuccessCreditsOnce(t *testing.T) {
	r := newTopUpRun(t, nil)
	r.signalAt(time.Minute, completed("evt_1", "unpaid"))
	r.env.RegisterDelayedCallback(func() {
		if st := r.state(); st.State != workflows.PaymentAwaiting || !st.Processing || len(r.credits) != 0 {
			t.Errorf("after an unpaid completion: %+v, credits %v", st, r.credits)
		}
	}, 2*time.Minute)
	r.signalAt(3*time.Minute, workflows.CheckoutEvent{EventID: "evt_2", Type: workflows.EventCheckoutAsyncPaymentSucceeded, SessionID: "cs_1", PaymentIntentID: "pi_1"},
		workflows.CheckoutEvent{EventID: "evt_2", Type: workflows.EventCheckoutAsyncPaymentSucceeded, SessionID: "cs_1", PaymentIntentID: "pi_1"})
	res := r.run()
	if res.State != workflows.PaymentSucceeded || len(r.credits) != 1 {
		t.Fatalf("result %+v, credits %v", res, r.credits)
	}
}

func TestTopUp_AsyncPaymentFailureFailsWithoutCredit(t *testing.T) {
	r := newTopUpRun(t, nil)
	r.signalAt(time.Minute, completed("evt_1", "unpaid"),
		workflows.CheckoutEvent{EventID: "evt_2", Type: workflows.EventCheckoutAsyncPaymentFailed, SessionID: "cs_1", PaymentIntentID: "pi_1"})
	res := r.run()
	if res.State != workflows.PaymentFailed || len(r.credits) != 0 {
		t.Fatalf("result %+v, credits %v", res, r.credits)
	}
	if len(r.finish) != 1 || r.finish[0].Status != string(models.TopUpFailed) {
		t.Fatalf("finish = %+v", r.finish)
	}
}

func TestTopUp_EventForAnotherSessionIsIgnored(t *testing.T) {
	r := newTopUpRun(t, nil)
	r.signalAt(time.Minute, workflows.CheckoutEvent{EventID: "evt_9", Type: workflows.EventCheckoutCompleted, SessionID: "cs_other", PaymentIntentID: "pi_9", PaymentStatus: "paid"})
	res := r.run()
	if res.State != workflows.PaymentExpired || len(r.credits) != 0 {
		t.Fatalf("result %+v, credits %v", res, r.credits)
	}
}

func TestTopUp_CheckoutThatCannotOpenFailsAndAnswersTheUpdate(t *testing.T) {
	r := newTopUpRun(t, temporal.NewNonRetryableApplicationError("stripe down", "X", errors.New("boom")))
	res := r.run()
	if res.State != workflows.PaymentFailed || len(r.credits) != 0 {
		t.Fatalf("result %+v", res)
	}
	if r.linkErr == nil || r.link.URL != "" {
		t.Fatalf("update answered %+v, %v; want an error", r.link, r.linkErr)
	}
}

// A bank debit completes the checkout unpaid and settles days later, long
// after the session's expiry: the money must still be credited.
func TestTopUp_AsyncPaymentSettlingAfterTheSessionExpiryIsStillCredited(t *testing.T) {
	r := newTopUpRun(t, nil)
	r.signalAt(time.Minute, completed("evt_1", "unpaid"))
	r.signalAt(3*24*time.Hour, workflows.CheckoutEvent{EventID: "evt_2", Type: workflows.EventCheckoutAsyncPaymentSucceeded, SessionID: "cs_1", PaymentIntentID: "pi_1"})
	res := r.run()
	if res.State != workflows.PaymentSucceeded || len(r.credits) != 1 {
		t.Fatalf("result %+v, credits %v", res, r.credits)
	}
}

func TestTopUp_AsyncPaymentThatNeverSettlesExpiresAfterTheSettlementWindow(t *testing.T) {
	r := newTopUpRun(t, nil)
	r.signalAt(time.Minute, completed("evt_1", "unpaid"))
	res := r.run()
	if res.State != workflows.PaymentExpired || len(r.credits) != 0 {
		t.Fatalf("result %+v, credits %v", res, r.credits)
	}
}

// The review's scenario: the payer pays at the last second, our webhook is
// down, the expiry timer fires, and Stripe's retry arrives while the
// workflow records the expiry. The event is accepted, so it must be
// credited, exactly once.
func TestTopUp_PaidEventArrivingWhileTheExpiryIsRecordedIsCreditedOnce(t *testing.T) {
	// onFinish runs on the activity's goroutine, where the test
	// environment's update bookkeeping is not safe against an update
	// completing on the workflow's: the update variant sends the
	// redelivery from the first delivery's completion instead.
	for name, sendTwice := range map[string]func(r *topUpRun, ev workflows.CheckoutEvent){
		"signal": func(r *topUpRun, ev workflows.CheckoutEvent) {
			r.env.SignalWorkflow(workflows.SignalTopUpCheckoutEvent, ev)
			r.env.SignalWorkflow(workflows.SignalTopUpCheckoutEvent, ev) // and its redelivery
		},
		"update": func(r *topUpRun, ev workflows.CheckoutEvent) {
			r.env.UpdateWorkflow(workflows.UpdateTopUpCheckoutEvent, ev.EventID, &testsuite.TestUpdateCallback{
				OnAccept: func() {},
				OnReject: func(err error) { r.rejected = append(r.rejected, err) },
				OnComplete: func(v any, err error) {
					if rc, ok := v.(workflows.EventReceipt); ok && err == nil {
						r.delivered = append(r.delivered, rc)
					}
					r.deliver(ev) // and its redelivery
				},
			}, ev)
		},
	} {
		t.Run(name, func(t *testing.T) {
			r := newTopUpRun(t, nil)
			r.onFinish = func() { sendTwice(r, completed("evt_late", "paid")) }
			res := r.run()
			if len(r.finish) != 1 || r.finish[0].Status != string(models.TopUpExpired) {
				t.Fatalf("finish %+v, want the expiry recorded first", r.finish)
			}
			if res.State != workflows.PaymentSucceeded || res.PaymentIntentID != "pi_1" || len(r.credits) != 1 || r.mailed != 1 {
				t.Fatalf("result %+v after %d credits and %d receipts; want the late payment credited once", res, len(r.credits), r.mailed)
			}
		})
	}
}

func TestTopUp_DeliverUpdateAppliesTheEventBeforeItAnswers(t *testing.T) {
	r := newTopUpRun(t, nil)
	r.deliverAt(2*time.Minute, completed("evt_1", "paid"), completed("evt_1", "paid"))
	r.deliverAt(time.Minute, workflows.CheckoutEvent{Type: workflows.EventCheckoutCompleted})
	res := r.run()
	if res.State != workflows.PaymentSucceeded || len(r.credits) != 1 {
		t.Fatalf("result %+v, %d credits; want one", res, len(r.credits))
	}
	if len(r.delivered) != 2 || r.delivered[0].Decided != workflows.PaymentSucceeded {
		t.Fatalf("answers %+v, want both deliveries applied (decided succeeded)", r.delivered)
	}
	if len(r.rejected) != 1 {
		t.Fatalf("refusals %v, want the event without an id refused", r.rejected)
	}
}
