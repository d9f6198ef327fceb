package workflows

import (
	"context"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// numberPurchaseTimeout bounds the wait for a purchase's answer (one fee
// and one Twilio purchase, with their retries); past it the page says the
// purchase is still running and the row shows how it ends.
const numberPurchaseTimeout = 45 * time.Second

// StartNumber starts a reserved number's MonthlyNumberFee workflow with
// its purchase update and returns how the purchase ended (update-with-
// start). Every purchase reserves a fresh row, so a row's workflow is
// started once; a repeat of the same start joins it. Errors:
// ErrUnavailable.
func (w *Client) StartNumber(ctx context.Context, in MonthlyNumberFeeInput) (NumberPurchase, error) {
	var p NumberPurchase
	uctx, cancel := context.WithTimeout(ctx, numberPurchaseTimeout)
	defer cancel()
	err := w.updateWithStart(uctx, client.StartWorkflowOptions{
		ID:                       NumberWorkflowID(in.NumberID),
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    NumberSearchAttributes(in.AccountID, NumberPurchasing),
	}, NameMonthlyNumberFee, in, UpdateNumberPurchase, &p)
	return p, err
}

// ResumeNumber starts the workflow of a number at a period (an operator
// restoring one whose workflow was terminated, and tests), or leaves the
// running one alone. Errors: ErrUnavailable.
func (w *Client) ResumeNumber(ctx context.Context, in MonthlyNumberFeeInput) error {
	if err := w.ready(); err != nil {
		return err
	}
	_, err := w.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: NumberWorkflowID(in.NumberID), TaskQueue: w.o.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    NumberSearchAttributes(in.AccountID, NumberActive),
	}, NameMonthlyNumberFee, in)
	return translate(err, "start "+NumberWorkflowID(in.NumberID))
}

// SignalNumberFunds tells a suspended number's workflow the company was
// credited. Errors: ErrUnavailable, ErrNotRunning.
func (w *Client) SignalNumberFunds(ctx context.Context, numberID int64, f NumberFunds) error {
	return w.signal(ctx, NumberWorkflowID(numberID), SignalNumberFunds, f)
}

// NumberState queries a number's workflow. Errors: ErrUnavailable,
// ErrNotRunning.
func (w *Client) NumberState(ctx context.Context, numberID int64) (NumberFeeState, error) {
	var st NumberFeeState
	return st, w.query(ctx, NumberWorkflowID(numberID), &st)
}
