package workflows

import (
	"fmt"
	"slices"
	"time"

	"github.com/mobayilo/mobayilo/activities"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// AutoTopUp's payment events and on-session approval: the webhook's
// payment_intent events, the owner's approve update, and crediting a
// PaymentIntent once wherever the workflow waits.

// addPaymentReceivers queues payment events for takePayments.
func (w *autoTopUp) addPaymentReceivers(ctx workflow.Context, sel workflow.Selector) {
	queue := func(c workflow.ReceiveChannel, _ bool) {
		var ev PaymentIntentEvent
		c.Receive(ctx, &ev)
		w.st.PendingPayments = append(w.st.PendingPayments, ev)
	}
	sel.AddReceive(w.payment, queue)
	sel.AddReceive(w.approved, queue)
}

// queuePayments moves every payment event already delivered to the queue
// and reports whether any is waiting.
func (w *autoTopUp) queuePayments() bool {
	for _, c := range []workflow.ReceiveChannel{w.payment, w.approved} {
		var ev PaymentIntentEvent
		for c.ReceiveAsync(&ev) {
			w.st.PendingPayments = append(w.st.PendingPayments, ev)
			ev = PaymentIntentEvent{}
		}
	}
	return len(w.st.PendingPayments) > 0
}

// takePayments handles every queued payment event, in order.
func (w *autoTopUp) takePayments(ctx workflow.Context) error {
	for w.queuePayments() {
		ev := w.st.PendingPayments[0]
		w.st.PendingPayments = w.st.PendingPayments[1:]
		if err := w.onPayment(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

// validateApprove admits the approve update only while a charge waits for
// the owner's authentication, so a stale page or a second tab cannot start
// anything.
func (w *autoTopUp) validateApprove() error {
	if w.st.State != AutoTopUpNeedsAuthentication || w.st.AuthAttemptID == "" || w.st.AuthPaymentIntentID == "" {
		return temporal.NewApplicationError(fmt.Sprintf("no auto top-up is waiting for approval (state %s)", w.st.State), ErrTypeNothingToApprove)
	}
	return nil
}

// approve confirms the waiting charge's own PaymentIntent on-session and
// answers where the owner authenticates. It never charges anew: the
// PaymentIntent can succeed only once, and a repeated click in the same
// round reuses Stripe's Idempotency-Key. The outcome arrives as a payment
// event (the webhook's, or approved's when paid at once).
func (w *autoTopUp) approve(ctx workflow.Context) (AutoTopUpApproval, error) {
	var a *activities.Activities
	out := AutoTopUpApproval{AttemptID: w.st.AuthAttemptID, PaymentIntentID: w.st.AuthPaymentIntentID, AmountCents: w.st.AuthAmountCents}
	round := w.st.AuthRound
	w.st.Events++
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: autoTopUpApproveStartToClose,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: autoTopUpApproveMaxAttempts},
	})
	var res activities.ConfirmResult
	err := workflow.ExecuteActivity(actx, a.ApproveAutoTopUp, activities.ApproveAutoTopUpInput{AttemptID: out.AttemptID, AccountID: w.st.AccountID,
		PaymentIntentID: out.PaymentIntentID, Round: round, ReturnURL: w.in.BaseURL + "/autotopup?done=approved"}).Get(ctx, &res)
	if err != nil {
		return AutoTopUpApproval{}, err
	}
	out.RedirectURL = res.RedirectURL
	switch res.Outcome {
	case activities.ChargeSucceeded:
		out.Succeeded = true
		w.approved.SendAsync(PaymentIntentEvent{EventID: fmt.Sprintf("approve-%s-%d", out.AttemptID, round), Type: EventPaymentIntentSucceeded,
			PaymentIntentID: out.PaymentIntentID, AttemptID: out.AttemptID})
	case activities.ChargeNeedsAuthentication:
		w.st.AuthConfirmed = round
		w.st.NextAction = "wait for the bank's answer to the owner's authentication; never retried automatically"
	default:
		out.Declined = declineText(activities.ChargeResult{Outcome: res.Outcome, DeclineCode: res.DeclineCode, Message: res.Message})
		w.st.LastError = out.Declined
		if w.st.AuthAttemptID == out.AttemptID && w.st.AuthRound == round {
			w.st.AuthRound++
		}
	}
	return out, nil
}

// onPayment handles one payment event. A success is credited once, at the
// attempt's own amount, whichever attempt or run it belongs to: the money
// was taken. A failure of the waiting charge leaves it waiting; nothing is
// charged again automatically.
func (w *autoTopUp) onPayment(ctx workflow.Context, ev PaymentIntentEvent) error {
	var a *activities.Activities
	w.st.Events++
	// Set once handled, so a query seeing it sees the credit too.
	defer func() { w.st.LastPaymentEvent = ev.EventID }()
	log := workflow.GetLogger(ctx)
	switch ev.Type {
	case EventPaymentIntentSucceeded:
		if ev.PaymentIntentID == "" || slices.Contains(w.st.CreditedPayments, ev.PaymentIntentID) {
			return nil
		}
		// Checking the payment against its attempt retries without a limit,
		// as the credit does: the card was charged.
		vctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: autoTopUpActivityStartToClose,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 10 * time.Minute},
		})
		var pay activities.AutoTopUpPayment
		err := workflow.ExecuteActivity(vctx, a.VerifyAutoTopUpPayment, activities.VerifyAutoTopUpPaymentInput{AccountID: w.st.AccountID,
			AttemptID: ev.AttemptID, PaymentIntentID: ev.PaymentIntentID, AmountCents: ev.AmountCents}).Get(ctx, &pay)
		if err != nil {
			// Only a payment that is not this account's attempt fails for
			// good: a person must look at it; nothing is credited.
			w.st.LastError = fmt.Sprintf("payment %s not credited: %s", ev.PaymentIntentID, errorMessage(err))
			log.Error("auto top-up payment does not match its attempt", "payment_intent", ev.PaymentIntentID, "attempt_id", ev.AttemptID, "error", err)
			return nil
		}
		if pay.AlreadyCredited {
			// Stripe's event for a charge an earlier run credited: count
			// nothing twice.
			w.noteCredited(ev.PaymentIntentID)
			return nil
		}
		w.rollDay(ctx)
		if err := w.credit(ctx, ev.AttemptID, pay.AmountCents, ev.PaymentIntentID); err != nil {
			return err
		}
		for i := range w.st.Attempts {
			if w.st.Attempts[i].AttemptID == ev.AttemptID {
				w.st.Attempts[i].Outcome, w.st.Attempts[i].PaymentIntentID = string(activities.ChargeSucceeded), ev.PaymentIntentID
			}
		}
		if ev.AttemptID == w.st.AuthAttemptID {
			w.st.AuthAttemptID, w.st.AuthPaymentIntentID, w.st.AuthAmountCents, w.st.AuthRound, w.st.AuthConfirmed = "", "", 0, 0, 0
		}
	case EventPaymentIntentFailed:
		if w.st.State != AutoTopUpNeedsAuthentication || ev.AttemptID != w.st.AuthAttemptID || w.st.AuthConfirmed != w.st.AuthRound {
			log.Info("auto top-up payment failure for no approval in progress: nothing to do", "payment_intent", ev.PaymentIntentID, "attempt_id", ev.AttemptID)
			return nil
		}
		// The next approval is a new try at Stripe: a fresh key.
		w.st.AuthRound++
		w.st.LastError = "authentication failed"
		if ev.Message != "" {
			w.st.LastError += ": " + ev.Message
		}
		w.st.NextAction = "wait for the owner to approve again or save a new card; never retried automatically"
		w.st.LastChangedAt = workflow.Now(ctx)
	}
	return nil
}

// noteCredited remembers a credited PaymentIntent, so Stripe's own event
// about it (which follows every successful charge) counts nothing again.
func (w *autoTopUp) noteCredited(pi string) {
	w.st.CreditedPayments = append(w.st.CreditedPayments, pi)
	if n := len(w.st.CreditedPayments); n > autoTopUpKeptPayments {
		w.st.CreditedPayments = append([]string(nil), w.st.CreditedPayments[n-autoTopUpKeptPayments:]...)
	}
}
