package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mobayilo/mobayilo/activities"
)

// ReconcileLedgerInput is empty today; it exists so that fields can be added
// without changing the workflow's signature.
type ReconcileLedgerInput struct{}

// ReconcileLedgerResult reports what the reconciliation found.
type ReconcileLedgerResult struct {
	CheckedAt     time.Time
	Clean         bool
	Discrepancies []string
}

// ReconcileLedger proves that every account's cached balance equals the sum of
// its entries, like `mobayilo ledger verify`, on a schedule. A discrepancy is a
// result, not a failure: retrying would not fix the books, and the run stays
// visible with its findings for ops.
func ReconcileLedger(ctx workflow.Context, in ReconcileLedgerInput) (ReconcileLedgerResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumAttempts: 5},
	})
	var a *activities.Activities
	var found activities.VerifyLedgerResult
	if err := workflow.ExecuteActivity(ctx, a.VerifyLedger).Get(ctx, &found); err != nil {
		return ReconcileLedgerResult{}, err
	}
	res := ReconcileLedgerResult{CheckedAt: workflow.Now(ctx), Clean: len(found.Discrepancies) == 0, Discrepancies: found.Discrepancies}
	if !res.Clean {
		workflow.GetLogger(ctx).Error("ledger reconciliation found discrepancies", "count", len(res.Discrepancies), "discrepancies", res.Discrepancies)
	}
	return res, nil
}
