package workflows_test

import (
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/workflows"
)

// approval is one approve update's answer.
type approval struct {
	done     bool
	got      workflows.AutoTopUpApproval
	err      error
	rejected error
}

// approveAt sends the owner's approve update at offset.
func (w *wallet) approveAt(env *testsuite.TestWorkflowEnvironment, offset time.Duration) *approval {
	r := &approval{}
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(workflows.UpdateAutoTopUpApprove, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { r.done, r.rejected = true, err },
			OnComplete: func(v any, err error) {
				r.done, r.err = true, err
				r.got, _ = v.(workflows.AutoTopUpApproval)
			},
		})
	}, offset)
	return r
}

// paymentAt signals payment_intent events at offset, as the webhook does.
func (w *wallet) paymentAt(env *testsuite.TestWorkflowEnvironment, offset time.Duration, evs ...workflows.PaymentIntentEvent) {
	env.RegisterDelayedCallback(func() {
		for _, ev := range evs {
			env.SignalWorkflow(workflows.SignalAutoTopUpPaymentEvent, ev)
		}
	}, offset)
}

// queryAt reads the state query at offset into st.
func (w *wallet) queryAt(t *testing.T, env *testsuite.TestWorkflowEnvironment, offset time.Duration, st *workflows.AutoTopUpState) {
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(workflows.QueryState)
		if err == nil {
			err = v.Get(st)
		}
		if err != nil {
			t.Errorf("query: %v", err)
		}
	}, offset)
}

// firstAttempt is the first attempt id in the test environment, whose run
// id is "default-test-run-id" (AutoTopUpRunTag: "defaulttestr").
const firstAttempt = "auto-top-up-42-defaulttestr-1"

func succeeded(eventID, attempt string, cents int64) workflows.PaymentIntentEvent {
	return workflows.PaymentIntentEvent{EventID: eventID, Type: workflows.EventPaymentIntentSucceeded, PaymentIntentID: "pi_" + attempt, AttemptID: attempt, AmountCents: cents}
}

func TestAutoTopUp_ApprovedOnSessionThenPaidCreditsExactlyOnce(t *testing.T) {
	w := newWallet()
	w.card = activities.ChargeNeedsAuthentication
	var approved approval
	var during workflows.AutoTopUpState
	creditedDuring := -1
	res, err := w.run(t, workflows.AutoTopUpInput{BaseURL: "https://app.example", FailureWait: 72 * time.Hour}, func(env *testsuite.TestWorkflowEnvironment) {
		w.debitAt(env, 0, 0)
		a := w.approveAt(env, time.Hour)
		env.RegisterDelayedCallback(func() { approved, creditedDuring = *a, len(w.credits) }, time.Hour+time.Minute)
		w.queryAt(t, env, time.Hour+time.Minute, &during)
		// Stripe's event, then a redelivery under a new event id, then a
		// third one much later.
		w.paymentAt(env, 2*time.Hour, succeeded("evt_1", firstAttempt, 2000), succeeded("evt_2", firstAttempt, 2000))
		w.paymentAt(env, 5*time.Hour, succeeded("evt_3", firstAttempt, 2000))
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if !approved.done || approved.err != nil || approved.got.RedirectURL != "https://bank.example/3ds/pi_"+firstAttempt ||
		approved.got.AmountCents != 2000 || approved.got.PaymentIntentID != "pi_"+firstAttempt {
		t.Fatalf("approve answered %+v, want the bank's page for the original PaymentIntent", approved)
	}
	if len(w.confirms) != 1 || w.confirms[0].PaymentIntentID != "pi_"+firstAttempt || w.confirms[0].Round != 1 ||
		w.confirms[0].ReturnURL != "https://app.example/autotopup?done=approved" || w.confirms[0].AccountID != testAccount {
		t.Fatalf("confirmations %+v, want one of the original PaymentIntent returning to /autotopup", w.confirms)
	}
	if during.State != workflows.AutoTopUpNeedsAuthentication || creditedDuring != 0 {
		t.Fatalf("after approving but before the bank answered: state %q, %d credits; want still waiting and nothing credited", during.State, creditedDuring)
	}
	if len(w.charges) != 1 || len(w.credits) != 1 || w.totalCredited() != 2000 || w.balance != 2100 {
		t.Fatalf("%d charges, credits %v, balance %d; want the one charge credited exactly once", len(w.charges), w.credits, w.balance)
	}
	st := res.State
	if st.State != workflows.AutoTopUpSucceeded || st.TotalCredited != 2000 || st.CreditedEntries != 1 || st.DayCount != 1 || st.AuthAttemptID != "" || st.LastError != "" || res.Reason != "idle" {
		t.Fatalf("result %+v, want succeeded, counted once, nothing waiting, closed when idle", res)
	}
	// Paid on-session, credited from the payment event: one receipt too.
	if len(w.receipts) != 1 || w.receipts[0].PaymentIntentID != "pi_"+w.charges[0].AttemptID {
		t.Fatalf("receipts %+v, want one for the approved charge", w.receipts)
	}
}

func TestAutoTopUp_PaidAtOnceOnApprovalCreditsOnceEvenWithTheWebhook(t *testing.T) {
	w := newWallet()
	w.card, w.confirm = activities.ChargeNeedsAuthentication, activities.ChargeSucceeded
	var approved *approval
	res, err := w.run(t, workflows.AutoTopUpInput{FailureWait: 72 * time.Hour}, func(env *testsuite.TestWorkflowEnvironment) {
		w.debitAt(env, 0, 0)
		approved = w.approveAt(env, time.Hour)
		w.paymentAt(env, time.Hour+time.Minute, succeeded("evt_1", firstAttempt, 2000))
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if !approved.done || !approved.got.Succeeded || approved.got.RedirectURL != "" {
		t.Fatalf("approve answered %+v, want paid at once", approved)
	}
	if len(w.charges) != 1 || len(w.credits) != 1 || w.totalCredited() != 2000 || res.State.TotalCredited != 2000 || res.State.State != workflows.AutoTopUpSucceeded {
		t.Fatalf("%d charges, credits %v, state %+v; want one credit", len(w.charges), w.credits, res.State)
	}
}

func TestAutoTopUp_FailedAuthenticationKeepsWaitingAndNeverCharges(t *testing.T) {
	w := newWallet()
	w.card = activities.ChargeNeedsAuthentication
	var after workflows.AutoTopUpState
	var before workflows.AutoTopUpState
	res, err := w.run(t, workflows.AutoTopUpInput{FailureWait: 72 * time.Hour}, func(env *testsuite.TestWorkflowEnvironment) {
		w.debitAt(env, 0, 0)
		// Stripe's event for the off-session decline itself: no try yet.
		w.paymentAt(env, time.Minute, workflows.PaymentIntentEvent{EventID: "evt_f0", Type: workflows.EventPaymentIntentFailed,
			PaymentIntentID: "pi_" + firstAttempt, AttemptID: firstAttempt, Message: "This payment requires authentication."})
		w.queryAt(t, env, 30*time.Minute, &before)
		w.approveAt(env, time.Hour)
		w.paymentAt(env, 2*time.Hour, workflows.PaymentIntentEvent{EventID: "evt_f1", Type: workflows.EventPaymentIntentFailed,
			PaymentIntentID: "pi_" + firstAttempt, AttemptID: firstAttempt, Message: "The bank refused the authentication."})
		w.queryAt(t, env, 3*time.Hour, &after)
		// Debits go on, the owner tries again: still no new charge.
		w.debitAt(env, 4*time.Hour, 10)
		w.approveAt(env, 5*time.Hour)
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if before.AuthRound != 1 || strings.Contains(before.LastError, "authentication failed") {
		t.Fatalf("after Stripe's event for the off-session decline: %+v, want it taken for no failed try", before)
	}
	if after.State != workflows.AutoTopUpNeedsAuthentication || !strings.Contains(after.LastError, "refused the authentication") || after.AuthAttemptID != firstAttempt {
		t.Fatalf("after the failure: %+v, want still waiting for approval with the bank's reason", after)
	}
	if len(w.charges) != 1 || len(w.credits) != 0 {
		t.Fatalf("%d charges, %d credits; want the one charge, never repeated, and no credit", len(w.charges), len(w.credits))
	}
	if len(w.confirms) != 2 || w.confirms[1].PaymentIntentID != "pi_"+firstAttempt || w.confirms[1].Round != 2 {
		t.Fatalf("confirmations %+v, want a second try of the same PaymentIntent under a new round (a new Idempotency-Key)", w.confirms)
	}
	if res.State.State != workflows.AutoTopUpNeedsAuthentication || res.Reason != "failure_wait_expired" || len(w.notices) != 1 {
		t.Fatalf("result %+v after %d emails, want closed waiting for authentication after one email", res, len(w.notices))
	}
}

func TestAutoTopUp_ApproveIsRejectedWhenNothingWaitsForApproval(t *testing.T) {
	w := newWallet()
	var early, late *approval
	_, err := w.run(t, workflows.AutoTopUpInput{}, func(env *testsuite.TestWorkflowEnvironment) {
		early = w.approveAt(env, 0)
		w.debitAt(env, time.Minute, 0)
		late = w.approveAt(env, time.Hour)
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	for name, a := range map[string]*approval{"idle": early, "succeeded": late} {
		if !a.done || a.rejected == nil || !strings.Contains(a.rejected.Error(), "no auto top-up is waiting for approval") {
			t.Errorf("approve while %s: %+v, want a rejection saying nothing waits", name, a)
		}
	}
	if len(w.confirms) != 0 || len(w.charges) != 1 || len(w.credits) != 1 {
		t.Fatalf("%d confirmations, %d charges, %d credits; want the rejected approvals to touch nothing", len(w.confirms), len(w.charges), len(w.credits))
	}
}

// The run that asked for authentication closed after its failure wait; the
// owner paid later anyway. The webhook's signal-with-start begins a fresh
// run, which credits the payment once, at the attempt's amount.
func TestAutoTopUp_PaymentSignalledIntoAFreshRunIsCreditedOnce(t *testing.T) {
	w := newWallet()
	w.balance = 5000 // above the threshold: the payment, not a debit, is news
	w.earlierAttempt = activities.ChargeAutoTopUpInput{AttemptID: "auto-top-up-42-defaulttestr-7", AccountID: testAccount, AmountCents: 2500}
	res, err := w.run(t, workflows.AutoTopUpInput{}, func(env *testsuite.TestWorkflowEnvironment) {
		w.paymentAt(env, 0, succeeded("evt_1", "auto-top-up-42-defaulttestr-7", 2500))
		w.paymentAt(env, time.Minute, succeeded("evt_2", "auto-top-up-42-defaulttestr-7", 2500))
		// A forged or mistaken amount is not credited.
		w.paymentAt(env, 2*time.Minute, workflows.PaymentIntentEvent{EventID: "evt_3", Type: workflows.EventPaymentIntentSucceeded,
			PaymentIntentID: "pi_auto-top-up-42-defaulttestr-8", AttemptID: "auto-top-up-42-defaulttestr-8", AmountCents: 99999})
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.charges) != 0 || len(w.credits) != 1 || w.credits["pi_auto-top-up-42-defaulttestr-7"] != 2500 {
		t.Fatalf("%d charges, credits %v; want the late payment credited once and nothing charged", len(w.charges), w.credits)
	}
	if res.State.State != workflows.AutoTopUpSucceeded || res.State.TotalCredited != 2500 || !strings.Contains(res.State.LastError, "pi_auto-top-up-42-defaulttestr-8 not credited") || res.Reason != "idle" {
		t.Fatalf("result %+v, want succeeded with the unknown payment reported", res)
	}
}

// A payment event received just before continue-as-new rides along in the
// carried state and is credited first thing by the next run.
func TestAutoTopUp_PaymentCarriedAcrossContinueAsNewIsCredited(t *testing.T) {
	w := newWallet()
	w.balance = 5000
	w.earlierAttempt = activities.ChargeAutoTopUpInput{AttemptID: "auto-top-up-42-defaulttestr-3", AccountID: testAccount, AmountCents: 2000}
	carried := &workflows.AutoTopUpState{AccountID: testAccount, State: workflows.AutoTopUpNeedsAuthentication, Seq: 3,
		AuthAttemptID: "auto-top-up-42-defaulttestr-3", AuthPaymentIntentID: "pi_auto-top-up-42-defaulttestr-3", AuthAmountCents: 2000, AuthRound: 1,
		PendingPayments: []workflows.PaymentIntentEvent{succeeded("evt_1", "auto-top-up-42-defaulttestr-3", 2000)}}
	res, err := w.run(t, workflows.AutoTopUpInput{Carried: carried}, func(env *testsuite.TestWorkflowEnvironment) {
		w.paymentAt(env, time.Minute, succeeded("evt_2", "auto-top-up-42-defaulttestr-3", 2000))
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.charges) != 0 || len(w.credits) != 1 || res.State.TotalCredited != 2000 || res.State.State != workflows.AutoTopUpSucceeded ||
		res.State.AuthAttemptID != "" || len(res.State.PendingPayments) != 0 {
		t.Fatalf("%d charges, credits %v, state %+v; want the carried payment credited once", len(w.charges), w.credits, res.State)
	}
}

// A new card replaces the charge waiting for approval: its PaymentIntent is
// canceled before the new card is charged, so the owner cannot pay both.
func TestAutoTopUp_NewCardCancelsTheChargeWaitingForApprovalFirst(t *testing.T) {
	w := newWallet()
	w.card = activities.ChargeNeedsAuthentication
	var approvedLater *approval
	res, err := w.run(t, workflows.AutoTopUpInput{FailureWait: 72 * time.Hour}, func(env *testsuite.TestWorkflowEnvironment) {
		w.debitAt(env, 0, 0)
		env.RegisterDelayedCallback(func() {
			if len(w.releases) != 0 {
				t.Error("released before any new charge")
			}
			w.card = activities.ChargeSucceeded
			env.SignalWorkflow(workflows.SignalAutoTopUpCardUpdated, nil)
		}, time.Hour)
		approvedLater = w.approveAt(env, 2*time.Hour)
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.releases) != 1 || w.releases[0].AttemptID != firstAttempt || w.releases[0].PaymentIntentID != "pi_"+firstAttempt {
		t.Fatalf("releases %+v, want the waiting charge canceled once", w.releases)
	}
	if len(w.charges) != 2 || len(w.credits) != 1 || w.credits["pi_auto-top-up-42-defaulttestr-2"] != 2000 {
		t.Fatalf("%d charges, credits %v; want the new card charged and credited once", len(w.charges), w.credits)
	}
	if approvedLater.rejected == nil || len(w.confirms) != 0 || res.State.State != workflows.AutoTopUpSucceeded {
		t.Fatalf("approve after the new charge: %+v, %d confirmations, state %q; want it rejected", approvedLater, len(w.confirms), res.State.State)
	}
}

// The owner finished the bank's page just as a new card arrived: the
// cancellation finds the PaymentIntent paid, which is credited, and the
// new card is not charged.
func TestAutoTopUp_ChargeWaitingForApprovalPaidMeanwhileIsCreditedNotChargedAgain(t *testing.T) {
	w := newWallet()
	w.card, w.paidMeanwhile = activities.ChargeNeedsAuthentication, true
	res, err := w.run(t, workflows.AutoTopUpInput{FailureWait: 72 * time.Hour}, func(env *testsuite.TestWorkflowEnvironment) {
		w.debitAt(env, 0, 0)
		env.RegisterDelayedCallback(func() {
			w.card = activities.ChargeSucceeded
			env.SignalWorkflow(workflows.SignalAutoTopUpCardUpdated, nil)
		}, time.Hour)
		// Stripe's own event for it arrives too.
		w.paymentAt(env, 2*time.Hour, succeeded("evt_1", firstAttempt, 2000))
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.charges) != 1 || len(w.credits) != 1 || w.credits["pi_"+firstAttempt] != 2000 || res.State.TotalCredited != 2000 {
		t.Fatalf("%d charges, credits %v, state %+v; want the paid charge credited once and no new charge", len(w.charges), w.credits, res.State)
	}
}

// Every successful charge is followed by Stripe's payment_intent.succeeded,
// which the webhook passes on: it counts nothing a second time, in the run
// that charged and in a fresh run alike.
func TestAutoTopUp_StripesEventForAnOffSessionSuccessCountsNothingTwice(t *testing.T) {
	w := newWallet()
	res, err := w.run(t, workflows.AutoTopUpInput{}, func(env *testsuite.TestWorkflowEnvironment) {
		w.debitAt(env, 0, 0)
		w.paymentAt(env, 10*time.Second, succeeded("evt_1", firstAttempt, 2000)) // during the cooldown: handled after the credit
		w.paymentAt(env, time.Hour, succeeded("evt_2", firstAttempt, 2000))
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.charges) != 1 || len(w.credits) != 1 || res.State.TotalCredited != 2000 || res.State.DayCount != 1 || res.State.CreditedEntries != 1 {
		t.Fatalf("%d charges, credits %v, state %+v; want one charge counted once", len(w.charges), w.credits, res.State)
	}
	// The same event reaching a fresh run (the first closed): nothing new.
	w2 := newWallet()
	w2.balance = 5000
	w2.earlierAttempt = activities.ChargeAutoTopUpInput{AttemptID: firstAttempt, AccountID: testAccount, AmountCents: 2000}
	w2.credits["pi_"+firstAttempt] = 2000
	res, err = w2.run(t, workflows.AutoTopUpInput{}, func(env *testsuite.TestWorkflowEnvironment) {
		w2.paymentAt(env, 0, succeeded("evt_3", firstAttempt, 2000))
	})
	if err != nil || res.State.TotalCredited != 0 || res.State.DayCount != 0 || res.State.State != workflows.AutoTopUpIdle {
		t.Fatalf("fresh run: %+v, %v; want nothing counted for a payment already credited", res.State, err)
	}
}

// The failure wait runs out while a charge still waits on the bank's page:
// before closing, the workflow cancels it, so a later run's new charge can
// never be paid alongside it.
func TestAutoTopUp_ClosingAfterTheFailureWaitCancelsTheChargeWaitingForApproval(t *testing.T) {
	w := newWallet()
	w.card = activities.ChargeNeedsAuthentication
	res, err := w.run(t, workflows.AutoTopUpInput{FailureWait: 72 * time.Hour}, func(env *testsuite.TestWorkflowEnvironment) {
		w.debitAt(env, 0, 0)
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if res.Reason != "failure_wait_expired" || len(w.releases) != 1 || w.releases[0].AttemptID != firstAttempt || len(w.credits) != 0 {
		t.Fatalf("closed %q with releases %+v, credits %v; want the waiting charge canceled before closing", res.Reason, w.releases, w.credits)
	}
}

// Paid on the bank's page just before the wait ran out: the cancellation
// finds it paid, it is credited, and the workflow does not close failed.
func TestAutoTopUp_ChargePaidAsTheFailureWaitEndsIsCredited(t *testing.T) {
	w := newWallet()
	w.card, w.paidMeanwhile = activities.ChargeNeedsAuthentication, true
	res, err := w.run(t, workflows.AutoTopUpInput{FailureWait: 72 * time.Hour}, func(env *testsuite.TestWorkflowEnvironment) {
		w.debitAt(env, 0, 0)
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.credits) != 1 || w.credits["pi_"+firstAttempt] != 2000 || res.Reason == "failure_wait_expired" || len(w.charges) != 1 {
		t.Fatalf("reason %q, charges %d, credits %v; want the paid charge credited once", res.Reason, len(w.charges), w.credits)
	}
}

// A waiting charge that cannot be canceled yet (processing at the bank)
// keeps the workflow open for another wait instead of leaving it behind.
func TestAutoTopUp_AnUncancelableWaitingChargeKeepsTheWorkflowOpen(t *testing.T) {
	w := newWallet()
	w.card, w.releaseErrs = activities.ChargeNeedsAuthentication, 1
	res, err := w.run(t, workflows.AutoTopUpInput{FailureWait: 72 * time.Hour}, func(env *testsuite.TestWorkflowEnvironment) {
		w.debitAt(env, 0, 0)
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.releases) != 2 || res.Reason != "failure_wait_expired" || len(w.credits) != 0 || len(w.charges) != 1 {
		t.Fatalf("releases %d, reason %q, charges %d; want a second wait, then the cancellation, then the close", len(w.releases), res.Reason, len(w.charges))
	}
	if res.State.LastError == "" || !strings.Contains(res.State.LastError, "processing") {
		t.Fatalf("last error %q: want the processing payment named", res.State.LastError)
	}
}
