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

// SignalTopUpCheckoutEvent hands a verified checkout.session.* event to the
// top-up's workflow. Errors: ErrUnavailable, ErrNotRunning (the workflow
// has closed).
func (w *Client) SignalTopUpCheckoutEvent(ctx context.Context, topUpID string, ev CheckoutEvent) error {
	return w.signal(ctx, TopUpWorkflowID(topUpID), SignalTopUpCheckoutEvent, ev)
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
