package workflows

import (
	"context"
	"errors"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// StartTopUp starts a top-up's TopUp workflow, or joins the one already
// running for it, and returns its checkout link once the session exists
// (update-with-start: one round trip). A top-up has one workflow, ever: a
// repeated request for a top-up whose workflow has closed gets
// ErrAlreadyStarted and never a second checkout. Errors: ErrUnavailable,
// ErrAlreadyStarted, ErrCheckoutFailed.
func (w *Client) StartTopUp(ctx context.Context, in TopUpInput) (CheckoutLink, error) {
	if in.BaseURL == "" {
		in.BaseURL = w.o.BaseURL
	}
	var link CheckoutLink
	err := w.updateWithStart(ctx, client.StartWorkflowOptions{
		ID:                       TopUpWorkflowID(in.TopUpID),
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, NameTopUp, in, UpdateTopUpCheckoutURL, &link)
	return link, err
}

// DeliverTopUpCheckoutEvent hands a verified checkout.session.* event to
// the top-up's workflow and returns once the workflow has applied it (an
// update, not a signal): only then may the webhook record the event as
// handled. Errors: ErrUnavailable, ErrNotRunning (the workflow has closed:
// a payment now goes to StartCreditLateTopUp), ErrBadEvent, or a failure
// of the round trip (answer Stripe with an error so it delivers again).
func (w *Client) DeliverTopUpCheckoutEvent(ctx context.Context, topUpID string, ev CheckoutEvent) (EventReceipt, error) {
	var rc EventReceipt
	return rc, w.update(ctx, TopUpWorkflowID(topUpID), UpdateTopUpCheckoutEvent, &rc, ev)
}

// WaitTopUp blocks until the top-up's workflow closes or ctx ends.
func (w *Client) WaitTopUp(ctx context.Context, topUpID string) error {
	return w.wait(ctx, TopUpWorkflowID(topUpID), nil)
}

// StartCreditLateTopUp starts the one CreditLateTopUp run of a payment that
// arrived after its top-up closed; a run already started for that
// PaymentIntent is not an error. Errors: ErrUnavailable.
func (w *Client) StartCreditLateTopUp(ctx context.Context, in CreditLateTopUpInput) error {
	if err := w.ready(); err != nil {
		return err
	}
	_, err := w.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: LateTopUpWorkflowID(in.PaymentIntentID), TaskQueue: w.o.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, NameCreditLateTopUp, in)
	if err = translate(err, "start "+LateTopUpWorkflowID(in.PaymentIntentID)); errors.Is(err, ErrAlreadyStarted) {
		return nil
	}
	return err
}
