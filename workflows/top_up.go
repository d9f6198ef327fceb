package workflows

import (
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mobayilo/mobayilo/activities"
)

// TopUp: one workflow per top-up through Stripe Checkout. It opens the
// checkout session, waits for the webhook's signal or the session's expiry,
// and on payment credits the wallet once (the ledger key is the
// PaymentIntent id), stores the receipt and mails it.

// Stripe's checkout.session events, as the webhook signals them.
const (
	EventCheckoutCompleted              = "checkout.session.completed"
	EventCheckoutAsyncPaymentSucceeded  = "checkout.session.async_payment_succeeded"
	EventCheckoutAsyncPaymentFailed     = "checkout.session.async_payment_failed"
	EventCheckoutExpired                = "checkout.session.expired"
	checkoutPaymentStatusPaid           = "paid"
	checkoutPaymentStatusNoPaymentNeeds = "no_payment_required"
)

// TopUpExpiryGrace is how long after the session's expiry the workflow
// still waits, so a checkout.session.expired (or a late payment) event in
// flight is not cut off by the timer.
const TopUpExpiryGrace = 5 * time.Minute

// TopUpAsyncSettlement is how long a checkout that completed with an
// asynchronous payment method (a bank debit) may take to settle. Stripe
// says such payments settle within days; the workflow keeps waiting that
// long rather than expire a payment that is still on its way.
const TopUpAsyncSettlement = 14 * 24 * time.Hour

// TopUpInput describes a top-up the API has stored.
type TopUpInput struct {
	TopUpID     string
	AccountID   int64
	AmountCents int64
	// BaseURL is PUBLIC_BASE_URL, where checkout returns the payer.
	BaseURL string
}

// TopUpResult is the top-up's final state.
type TopUpResult struct {
	// State is succeeded, expired or failed (the Payment* constants).
	State             string
	PaymentIntentID   string
	BalanceAfterCents int64
	Reason            string
}

// CheckoutEvent is the SignalTopUpCheckoutEvent payload: what the webhook
// read from one verified checkout.session.* event.
type CheckoutEvent struct {
	EventID         string
	Type            string
	SessionID       string
	PaymentIntentID string
	// PaymentStatus is the session's payment_status: paid, unpaid (an
	// asynchronous method still processing) or no_payment_required.
	PaymentStatus string
}

// CheckoutLink is UpdateTopUpCheckoutURL's answer.
type CheckoutLink struct {
	URL       string
	SessionID string
	ExpiresAt time.Time
}

// TopUpState is what the `state` query returns.
type TopUpState struct {
	TopUpID           string
	AccountID         int64
	AmountCents       int64
	State             string
	CheckoutSessionID string
	CheckoutURL       string
	ExpiresAt         time.Time
	PaymentIntentID   string
	// Processing: checkout completed with an asynchronous payment method
	// that has not settled yet.
	Processing        bool
	EventsSeen        int
	LastEvent         string
	LastError         string
	BalanceAfterCents int64
	// NextAction says what the workflow waits for, in words.
	NextAction string
}

// topUp is the workflow's state with its small decisions.
type topUp struct {
	st TopUpState
	// outcome is set once: paid, expired or failed.
	outcome string
	reason  string
	// latePaid: a payment was reported after the outcome was decided
	// otherwise (expired as the payer paid); it is credited before closing.
	latePaid bool
	// wake nudges the wait when the deliver update applied an event.
	wake workflow.Channel
}

// versionHandleLateEvents marks runs that handle events accepted while
// closing; earlier runs replay as they ran.
const versionHandleLateEvents = "handle-late-checkout-events"

// ErrTypeBadEvent is the deliver updates' rejection of a malformed event.
const ErrTypeBadEvent = "BadCheckoutEvent"

// EventReceipt is the deliver updates' answer: the event was applied, and
// how the workflow stands after it.
type EventReceipt struct {
	State   string
	Decided string
}

// checkoutFailedMessage answers the update when no checkout could be
// opened.
const checkoutFailedMessage = "the checkout could not be opened; try again"

// TopUp runs one top-up to a final state.
func TopUp(ctx workflow.Context, in TopUpInput) (TopUpResult, error) {
	s := &topUp{st: TopUpState{TopUpID: in.TopUpID, AccountID: in.AccountID, AmountCents: in.AmountCents,
		State: PaymentAwaiting, NextAction: "open the checkout session"}, wake: workflow.NewBufferedChannel(ctx, 1)}
	log := workflow.GetLogger(ctx)
	if err := s.publish(ctx); err != nil {
		return TopUpResult{}, err
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (TopUpState, error) { return s.st, nil }); err != nil {
		return TopUpResult{}, err
	}
	if err := workflow.SetUpdateHandler(ctx, UpdateTopUpCheckoutURL, s.checkoutLink); err != nil {
		return TopUpResult{}, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateTopUpCheckoutEvent, s.deliverEvent,
		workflow.UpdateHandlerOptions{Validator: s.validateEvent}); err != nil {
		return TopUpResult{}, err
	}
	closeLate := workflow.GetVersion(ctx, versionHandleLateEvents, workflow.DefaultVersion, 1) == 1

	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 10 * time.Second, MaximumAttempts: 5},
	})
	var a *activities.Activities
	var co activities.CreateTopUpCheckoutResult
	if err := workflow.ExecuteActivity(actx, a.CreateTopUpCheckout, activities.CreateTopUpCheckoutInput{TopUpID: in.TopUpID, BaseURL: in.BaseURL}).Get(ctx, &co); err != nil {
		s.st.LastError = err.Error()
		s.decide(PaymentFailed, "checkout could not be opened")
	} else {
		s.st.CheckoutSessionID, s.st.CheckoutURL, s.st.ExpiresAt = co.SessionID, co.URL, co.ExpiresAt
		s.st.NextAction = "wait for the payer to pay at checkout (webhook signal) or for the session to expire"
		s.await(ctx, co.ExpiresAt.Add(TopUpExpiryGrace))
	}

	// Money-moving and recording steps retry until they succeed: a payment
	// Stripe took must reach the wallet.
	settle := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
	})
	if s.outcome == PaymentSucceeded {
		if err := s.credit(ctx, in, settle, actx); err != nil {
			return TopUpResult{}, err
		}
	} else {
		s.st.State = s.outcome
		if err := workflow.ExecuteActivity(settle, a.FinishTopUp, activities.FinishTopUpInput{TopUpID: in.TopUpID,
			Status: s.outcome, Reason: s.reason}).Get(ctx, nil); err != nil {
			return TopUpResult{}, err
		}
	}
	// Never close with an event pending: one accepted while the top-up was
	// closing (Stripe's retry of a payment made as the expiry timer fired)
	// is handled, and a payment in it is credited here.
	if closeLate {
		for {
			s.drainEvents(ctx)
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return TopUpResult{}, err
			}
			if s.drainEvents(ctx) == 0 && (!s.latePaid || s.st.State == PaymentSucceeded) {
				break
			}
			if s.latePaid && s.st.State != PaymentSucceeded {
				log.Warn("payment reported while the top-up closed: crediting it", "topup_id", in.TopUpID, "payment_intent", s.st.PaymentIntentID)
				s.reason = ""
				if err := s.credit(ctx, in, settle, actx); err != nil {
					return TopUpResult{}, err
				}
			}
		}
	}
	s.st.NextAction = "none"
	res := TopUpResult{State: s.st.State, PaymentIntentID: s.st.PaymentIntentID, BalanceAfterCents: s.st.BalanceAfterCents, Reason: s.reason}
	if err := s.publish(ctx); err != nil {
		return TopUpResult{}, err
	}
	if !closeLate {
		// A checkout-url update still in flight must get its answer.
		if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
			return TopUpResult{}, err
		}
	}
	return res, nil
}

// credit posts the top-up's one ledger credit (keyed by the PaymentIntent)
// and mails the receipt.
func (s *topUp) credit(ctx workflow.Context, in TopUpInput, settle, actx workflow.Context) error {
	var a *activities.Activities
	s.st.NextAction = "credit the wallet"
	var cr activities.CreditTopUpResult
	if err := workflow.ExecuteActivity(settle, a.CreditTopUp, activities.CreditTopUpInput{TopUpID: in.TopUpID, PaymentIntentID: s.st.PaymentIntentID}).Get(ctx, &cr); err != nil {
		// Only a permanent refusal gets here; ops must look.
		s.st.LastError = err.Error()
		s.st.State, s.st.NextAction = PaymentFailed, "ops: the payment was taken but the ledger refused the credit"
		_ = s.publish(ctx)
		return err
	}
	s.st.BalanceAfterCents = cr.BalanceAfterCents
	s.st.State = PaymentSucceeded
	if err := workflow.ExecuteActivity(actx, a.EmailTopUpReceipt, in.TopUpID).Get(ctx, nil); err != nil {
		// The receipt stays on the Credits page; the credit stands.
		workflow.GetLogger(ctx).Warn("receipt email failed", "topup_id", in.TopUpID, "error", err)
	}
	return nil
}

// drainEvents applies every event already signalled.
func (s *topUp) drainEvents(ctx workflow.Context) int {
	return drainSignal(ctx, SignalTopUpCheckoutEvent, s.onEvent)
}

// validateEvent admits a checkout event to the deliver update only when it
// can be applied: the webhook then knows the workflow took it.
func (s *topUp) validateEvent(_ workflow.Context, ev CheckoutEvent) error {
	return requireEvent(ev.EventID, ev.Type)
}

// deliverEvent is the webhook's way in (UpdateTopUpCheckoutEvent): the
// event is applied before the answer, so an accepted event is never lost.
func (s *topUp) deliverEvent(_ workflow.Context, ev CheckoutEvent) (EventReceipt, error) {
	s.onEvent(ev)
	s.wake.SendAsync(true)
	return EventReceipt{State: s.st.State, Decided: s.outcome}, nil
}

// checkoutLink answers UpdateTopUpCheckoutURL once the session exists.
func (s *topUp) checkoutLink(ctx workflow.Context) (CheckoutLink, error) {
	if err := workflow.Await(ctx, func() bool { return s.st.CheckoutURL != "" || s.outcome != "" }); err != nil {
		return CheckoutLink{}, err
	}
	if s.st.CheckoutURL == "" {
		return CheckoutLink{}, temporal.NewApplicationError(checkoutFailedMessage, errTypeCheckoutFailed)
	}
	return CheckoutLink{URL: s.st.CheckoutURL, SessionID: s.st.CheckoutSessionID, ExpiresAt: s.st.ExpiresAt}, nil
}

// await waits for a deciding checkout event, or until deadline: then the
// top-up has expired.
func (s *topUp) await(ctx workflow.Context, deadline time.Time) {
	timerCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	wait := deadline.Sub(workflow.Now(ctx))
	if wait < time.Second {
		wait = time.Second
	}
	timer := workflow.NewTimer(timerCtx, wait)
	settling := false
	events := workflow.GetSignalChannel(ctx, SignalTopUpCheckoutEvent)
	for s.outcome == "" {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(events, func(c workflow.ReceiveChannel, _ bool) {
			var ev CheckoutEvent
			c.Receive(ctx, &ev)
			s.onEvent(ev)
		})
		sel.AddReceive(s.wake, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
		sel.AddFuture(timer, func(workflow.Future) {
			// A completed checkout whose payment is still processing has
			// not expired: its money may yet arrive, and must be credited.
			if s.st.Processing && !settling {
				settling = true
				timer = workflow.NewTimer(timerCtx, TopUpAsyncSettlement)
				s.st.NextAction = "wait up to 14 days for the asynchronous payment to settle"
				return
			}
			s.decide(PaymentExpired, "checkout session expired unpaid")
		})
		sel.Select(ctx)
	}
}

// onEvent applies one webhook event. Events may repeat and arrive in any
// order; the first that decides wins, and a payment beats everything.
func (s *topUp) onEvent(ev CheckoutEvent) {
	s.st.EventsSeen++
	s.st.LastEvent = ev.Type
	if ev.SessionID != "" && s.st.CheckoutSessionID != "" && ev.SessionID != s.st.CheckoutSessionID {
		s.st.LastError = "ignored an event for another checkout session: " + ev.SessionID
		return
	}
	if ev.PaymentIntentID != "" && s.st.PaymentIntentID == "" {
		s.st.PaymentIntentID = ev.PaymentIntentID
	}
	switch ev.Type {
	case EventCheckoutCompleted:
		if ev.PaymentStatus == checkoutPaymentStatusPaid || ev.PaymentStatus == checkoutPaymentStatusNoPaymentNeeds {
			s.paid(ev)
			return
		}
		s.st.Processing = true
		s.st.NextAction = "wait for the asynchronous payment to settle (async_payment_succeeded or _failed)"
	case EventCheckoutAsyncPaymentSucceeded:
		s.paid(ev)
	case EventCheckoutAsyncPaymentFailed:
		s.decide(PaymentFailed, "the payment failed")
	case EventCheckoutExpired:
		s.decide(PaymentExpired, "checkout session expired unpaid")
	}
}

func (s *topUp) paid(ev CheckoutEvent) {
	if s.st.PaymentIntentID == "" {
		s.st.LastError = ev.Type + " carried no payment intent"
		return
	}
	if s.outcome != "" && s.outcome != PaymentSucceeded {
		s.latePaid = true
	}
	s.decide(PaymentSucceeded, "")
}

func (s *topUp) decide(outcome, reason string) {
	if s.outcome == "" {
		s.outcome, s.reason = outcome, reason
	}
}

// publish updates the search attributes ops query by.
func (s *topUp) publish(ctx workflow.Context) error {
	return workflow.UpsertTypedSearchAttributes(ctx,
		AttrAccountID.ValueSet(strconv.FormatInt(s.st.AccountID, 10)),
		AttrPaymentState.ValueSet(s.st.State),
		AttrAmountCents.ValueSet(s.st.AmountCents))
}
