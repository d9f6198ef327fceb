package workflows

import (
	"github.com/mobayilo/mobayilo/activities"
	"go.temporal.io/sdk/workflow"
)

// AutoTopUp's failures and the owner's notices.

// fail records a failed top-up, emails the owner when tell is set (the
// first failure of this top-up) and leaves the workflow waiting for a fix.
func (w *autoTopUp) fail(ctx workflow.Context, state string, notice activities.AutoTopUpNotice, reason string, willRetry, tell bool) error {
	w.st.LastError = reason
	w.st.FailedAt = workflow.Now(ctx)
	next := "wait for an operator's retry signal or a new card"
	if state == AutoTopUpNeedsAuthentication {
		next = "wait for the owner to pay on-session or save a new card; never retried automatically"
	}
	if err := w.setState(ctx, state, next); err != nil {
		return err
	}
	if tell {
		return w.notify(ctx, notice, reason, willRetry)
	}
	return nil
}

func (w *autoTopUp) notify(ctx workflow.Context, notice activities.AutoTopUpNotice, reason string, willRetry bool) error {
	var a *activities.Activities
	w.st.Events++
	err := workflow.ExecuteActivity(w.activityCtx(ctx), a.NotifyAutoTopUp, activities.NotifyAutoTopUpInput{
		AccountID: w.st.AccountID, Notice: notice, AmountCents: w.st.AmountCents, Reason: reason, WillRetry: willRetry, BaseURL: w.in.BaseURL}).Get(ctx, nil)
	if err != nil {
		// Mail being down must not stop the payment logic; the banner and
		// the admin page still show the problem.
		workflow.GetLogger(ctx).Warn("auto top-up email not sent", "account_id", w.st.AccountID, "error", err)
	}
	return nil
}
