package workflows

import (
	"context"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// StartSaveCard starts a card setup's SaveCard workflow (or joins it) and
// returns the setup checkout's link once it exists. Errors: ErrUnavailable,
// ErrCheckoutFailed.
func (w *Client) StartSaveCard(ctx context.Context, in SaveCardInput) (CheckoutLink, error) {
	if in.BaseURL == "" {
		in.BaseURL = w.o.BaseURL
	}
	var link CheckoutLink
	err := w.updateWithStart(ctx, client.StartWorkflowOptions{
		ID:                       SaveCardWorkflowID(in.SetupID),
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, NameSaveCard, in, UpdateSaveCardCheckoutURL, &link)
	return link, err
}

// DeliverSaveCardCheckoutEvent hands a verified checkout.session.* event of
// a card setup to its workflow and returns once the workflow applied it.
// Errors: ErrUnavailable, ErrNotRunning, ErrBadEvent.
func (w *Client) DeliverSaveCardCheckoutEvent(ctx context.Context, setupID string, ev SetupEvent) (EventReceipt, error) {
	var rc EventReceipt
	return rc, w.update(ctx, SaveCardWorkflowID(setupID), UpdateSaveCardCheckoutEvent, &rc, ev)
}

// WaitSaveCard blocks until the setup's workflow closes or ctx ends.
func (w *Client) WaitSaveCard(ctx context.Context, setupID string) error {
	return w.wait(ctx, SaveCardWorkflowID(setupID), nil)
}
