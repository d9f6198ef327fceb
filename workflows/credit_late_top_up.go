package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mobayilo/mobayilo/activities"
)

// CreditLateTopUpInput names a payment Stripe reported after its top-up's
// workflow had already closed as expired or failed.
type CreditLateTopUpInput struct {
	TopUpID         string
	PaymentIntentID string
}

// CreditLateTopUpResult is the wallet after the credit.
type CreditLateTopUpResult struct {
	LedgerEntryID     int64
	BalanceAfterCents int64
	Replayed          bool
}

// CreditLateTopUp credits a payment that arrived after its top-up closed:
// the money was taken, so it must reach the wallet. The credit is keyed by
// the PaymentIntent like every top-up credit, so this can never double one
// that TopUp already made. One run per PaymentIntent (LateTopUpWorkflowID).
func CreditLateTopUp(ctx workflow.Context, in CreditLateTopUpInput) (CreditLateTopUpResult, error) {
	settle := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
	})
	var a *activities.Activities
	var cr activities.CreditTopUpResult
	if err := workflow.ExecuteActivity(settle, a.CreditTopUp, activities.CreditTopUpInput{TopUpID: in.TopUpID, PaymentIntentID: in.PaymentIntentID}).Get(ctx, &cr); err != nil {
		return CreditLateTopUpResult{}, err
	}
	mail := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 10},
	})
	if err := workflow.ExecuteActivity(mail, a.EmailTopUpReceipt, in.TopUpID).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("receipt email failed", "topup_id", in.TopUpID, "error", err)
	}
	return CreditLateTopUpResult{LedgerEntryID: cr.LedgerEntryID, BalanceAfterCents: cr.BalanceAfterCents, Replayed: cr.Replayed}, nil
}
