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

// CreditLateTopUp credits a payment that arrived after its top-up closed,
// through its one CreditLateTopUp run, and returns once the credit is in
// the ledger: the webhook records the event only then. A run already going
// (or done) for the PaymentIntent is joined; one that failed or was
// terminated runs again, so Stripe's redelivery after a failure is acted
// on. Errors: ErrUnavailable, the run's failure, or ctx ending first (the
// credit goes on; answer Stripe with an error so it asks again).
func (w *Client) CreditLateTopUp(ctx context.Context, in CreditLateTopUpInput) (CreditLateTopUpResult, error) {
	if err := w.ready(); err != nil {
		return CreditLateTopUpResult{}, err
	}
	id := LateTopUpWorkflowID(in.PaymentIntentID)
	_, err := w.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: w.o.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
	}, NameCreditLateTopUp, in)
	if err = translate(err, "start "+id); err != nil && !errors.Is(err, ErrAlreadyStarted) {
		return CreditLateTopUpResult{}, err
	}
	var res CreditLateTopUpResult
	return res, w.wait(ctx, id, &res)
}
