package workflows

import (
	"fmt"
	"time"

	"github.com/mobayilo/mobayilo/activities"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// AutoTopUp's charging: the check that decides a top-up, the off-session
// charge with its soft-decline retries, the credit, and the release of a
// charge still waiting for approval before a new one.

func (w *autoTopUp) activityCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: autoTopUpActivityStartToClose,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute, MaximumAttempts: autoTopUpActivityMaximumAttempts},
	})
}

// versionSafeRetries marks runs where a retry is a new decision (the
// check runs again before every soft-decline retry), a charge whose every
// try failed is an unknown outcome that is reconciled with the provider
// (never told to the owner as a decline), and attempts left "charging" are
// reconciled before anything else is charged. Earlier runs replay as they
// ran.
const versionSafeRetries = "reconcile-unknown-charges"

// topUpIfBelow checks settings and balance and, when the wallet is below
// its threshold and the day's cap allows, runs one top-up: up to MaxTries
// charges, each decided afresh.
func (w *autoTopUp) topUpIfBelow(ctx workflow.Context) error {
	var a *activities.Activities
	safe := workflow.GetVersion(ctx, versionSafeRetries, workflow.DefaultVersion, 1) == 1
	actx := w.activityCtx(ctx)
	chk, proceed, err := w.check(ctx, safe)
	if !proceed || err != nil {
		return err
	}
	if done, err := w.releaseWaiting(ctx); done || err != nil {
		return err
	}
	w.st.AmountCents = chk.AmountCents
	backoff := w.in.RetryBackoff
	for try := 1; ; try++ {
		if try > 1 && safe {
			// A retry is a new decision: the owner may have turned auto
			// top-up off, topped up by hand, or reached the cap meanwhile.
			if chk, proceed, err = w.check(ctx, safe); !proceed || err != nil {
				return err
			}
			w.st.AmountCents = chk.AmountCents
		}
		w.st.Seq++
		attemptID := fmt.Sprintf("%s-%d", w.attemptPrefix, w.st.Seq)
		if err := w.setState(ctx, AutoTopUpCharging, "charging the saved card"); err != nil {
			return err
		}
		var res activities.ChargeResult
		w.st.Events++
		err := workflow.ExecuteActivity(actx, a.ChargeAutoTopUp, activities.ChargeAutoTopUpInput{AttemptID: attemptID, AccountID: w.st.AccountID, AmountCents: chk.AmountCents}).Get(ctx, &res)
		if err != nil && (!safe || isApplicationError(err, activities.ErrTypeNoCard)) {
			// No card (nothing was sent), or a run from before unknown
			// outcomes were reconciled: a failure for a human to look at.
			w.record(ctx, attemptID, chk.AmountCents, activities.ChargeResult{Outcome: "error", Message: errorMessage(err)})
			return w.fail(ctx, AutoTopUpFailed, activities.NoticeDeclined, errorMessage(err), false, try == 1)
		}
		if err != nil {
			// Every try failed: the provider may have taken the charge with
			// the answer lost. That is not a decline; ask the provider.
			w.st.LastError = "charge " + attemptID + " did not answer: " + errorMessage(err)
			r, err := w.reconcile(ctx, attemptID)
			if err != nil {
				return err
			}
			if !r.Known {
				w.record(ctx, attemptID, chk.AmountCents, activities.ChargeResult{Outcome: activities.DeclineNotCharged, DeclineCode: activities.DeclineNotCharged})
				return w.fail(ctx, AutoTopUpFailed, activities.NoticeNotCharged, "the payment provider did not answer; nothing was charged", false, try == 1)
			}
			res = r.Result
		}
		w.record(ctx, attemptID, chk.AmountCents, res)
		switch res.Outcome {
		case activities.ChargeSucceeded:
			return w.credit(ctx, attemptID, chk.AmountCents, res.PaymentIntentID)
		case activities.ChargeNeedsAuthentication:
			w.st.AuthAttemptID, w.st.AuthPaymentIntentID, w.st.AuthAmountCents, w.st.AuthRound, w.st.AuthConfirmed = attemptID, res.PaymentIntentID, chk.AmountCents, 1, 0
			return w.fail(ctx, AutoTopUpNeedsAuthentication, activities.NoticeNeedsAuthentication, declineText(res), false, true)
		case activities.ChargeHardDecline:
			return w.fail(ctx, AutoTopUpFailed, activities.NoticeDeclined, declineText(res), false, try == 1)
		}
		// Soft decline: tell the owner at the first one, then back off.
		if try >= w.in.MaxTries {
			return w.fail(ctx, AutoTopUpFailed, activities.NoticeDeclined, declineText(res), false, try == 1)
		}
		if try == 1 {
			if err := w.notify(ctx, activities.NoticeDeclined, declineText(res), true); err != nil {
				return err
			}
		}
		w.st.LastError = declineText(res)
		w.st.NextAction = fmt.Sprintf("retry %d of %d after %s", try+1, w.in.MaxTries, backoff)
		if err := workflow.Sleep(ctx, backoff); err != nil {
			return err
		}
		backoff *= 2
	}
}

// check reads the settings and balance and says whether to charge now:
// auto top-up on with a card, the wallet below its threshold, the day's cap
// not reached. When it says no, it has settled the state with the reason.
// In safe runs, attempts whose outcome was never heard are reconciled
// first, and the check runs again on what they turned out to be.
func (w *autoTopUp) check(ctx workflow.Context, safe bool) (activities.AutoTopUpCheck, bool, error) {
	var a *activities.Activities
	for {
		var chk activities.AutoTopUpCheck
		w.st.Events++
		if err := workflow.ExecuteActivity(w.activityCtx(ctx), a.CheckAutoTopUp, w.st.AccountID).Get(ctx, &chk); err != nil {
			// The database stayed unreachable through the activity's
			// retries: skip this round rather than fail the workflow; the
			// next debit (or retry) checks again.
			w.st.LastError = "balance check failed: " + errorMessage(err)
			return chk, false, w.settle(ctx, AutoTopUpIdle, "balance check failed; the next debit checks again")
		}
		if safe && len(chk.Unsettled) > 0 {
			if proceed, err := w.settleUnknown(ctx, chk.Unsettled); !proceed || err != nil {
				return chk, false, err
			}
			continue
		}
		switch {
		case !chk.Enabled:
			return chk, false, w.settle(ctx, AutoTopUpIdle, "auto top-up is off or has no card; nothing to do")
		case !chk.Below():
			return chk, false, w.settle(ctx, AutoTopUpIdle, "balance is at or above the threshold; wait for a debit")
		}
		w.rollDay(ctx)
		// The database's count holds across runs (a new execution, a
		// restart); the run's own covers a check recorded before the
		// activity counted.
		count, cents := max(w.st.DayCount, chk.TodayCount), max(w.st.DayCents, chk.TodayCents)
		if count+1 > chk.DailyMaxCount || cents+chk.AmountCents > chk.DailyMaxCents {
			return chk, false, w.settle(ctx, AutoTopUpIdle, fmt.Sprintf("daily cap reached (%d top-ups, %d cents today); the next debit after midnight UTC tries again", count, cents))
		}
		return chk, true, nil
	}
}

// settleUnknown reconciles attempts left "charging" (a run that died
// mid-charge, an earlier unknown outcome) before anything new is charged: a
// charge found is credited (or waits for approval), one never made is
// recorded as such. proceed is false when the workflow now waits for the
// owner.
func (w *autoTopUp) settleUnknown(ctx workflow.Context, attemptIDs []string) (proceed bool, err error) {
	for _, id := range attemptIDs {
		r, err := w.reconcile(ctx, id)
		if err != nil {
			return false, err
		}
		if !r.Known {
			continue
		}
		switch r.Result.Outcome {
		case activities.ChargeSucceeded:
			if err := w.credit(ctx, id, r.AmountCents, r.Result.PaymentIntentID); err != nil {
				return false, err
			}
		case activities.ChargeNeedsAuthentication:
			w.st.AuthAttemptID, w.st.AuthPaymentIntentID, w.st.AuthAmountCents, w.st.AuthRound, w.st.AuthConfirmed = id, r.Result.PaymentIntentID, r.AmountCents, 1, 0
			w.st.AmountCents = r.AmountCents
			return false, w.fail(ctx, AutoTopUpNeedsAuthentication, activities.NoticeNeedsAuthentication, declineText(r.Result), false, true)
		}
	}
	return true, nil
}

// reconcile asks the provider what became of an attempt whose answer was
// lost. It retries until the provider answers: until then nothing else is
// charged, and the daily cap counts the attempt as spent.
func (w *autoTopUp) reconcile(ctx workflow.Context, attemptID string) (activities.ReconcileAutoTopUpResult, error) {
	var a *activities.Activities
	if err := w.setState(ctx, AutoTopUpUnknown, "ask the payment provider what became of charge "+attemptID+"; nothing else is charged until it answers"); err != nil {
		return activities.ReconcileAutoTopUpResult{}, err
	}
	rctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: autoTopUpActivityStartToClose,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 10 * time.Minute},
	})
	var r activities.ReconcileAutoTopUpResult
	w.st.Events++
	err := workflow.ExecuteActivity(rctx, a.ReconcileAutoTopUp, activities.ReconcileAutoTopUpInput{AttemptID: attemptID, AccountID: w.st.AccountID}).Get(ctx, &r)
	if err != nil {
		// Only a permanent refusal (the attempt is another account's) ends
		// here: a person must look; the state stays unknown.
		w.st.LastError = "could not reconcile " + attemptID + ": " + errorMessage(err)
		return r, err
	}
	return r, nil
}

// versionAutoTopUpReceipts marks runs that store and mail a receipt after
// each credit; runs started before it replay without the activity.
const versionAutoTopUpReceipts = "auto-top-up-receipts"

func (w *autoTopUp) credit(ctx workflow.Context, attemptID string, amount int64, pi string) error {
	var a *activities.Activities
	var balance int64
	w.st.Events++
	// The card was charged: the credit must land, so it retries without a
	// limit (a stuck credit shows as a pending activity in the UI).
	cctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: autoTopUpActivityStartToClose,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 10 * time.Minute},
	})
	if err := workflow.ExecuteActivity(cctx, a.CreditAutoTopUp, activities.CreditAutoTopUpInput{
		AttemptID: attemptID, AccountID: w.st.AccountID, AmountCents: amount, PaymentIntentID: pi}).Get(ctx, &balance); err != nil {
		return err
	}
	w.st.DayCount++
	w.st.DayCents += amount
	w.st.TotalCredited += amount
	w.st.CreditedEntries++
	w.noteCredited(pi)
	w.st.LastPaymentID = pi
	w.st.LastError = ""
	w.st.FailedAt = time.Time{}
	if err := w.setState(ctx, AutoTopUpSucceeded, fmt.Sprintf("credited; balance now %d cents; wait for a debit below the threshold", balance)); err != nil {
		return err
	}
	if workflow.GetVersion(ctx, versionAutoTopUpReceipts, workflow.DefaultVersion, 1) == 1 {
		w.st.Events++
		err := workflow.ExecuteActivity(w.activityCtx(ctx), a.EmailAutoTopUpReceipt, activities.AutoTopUpReceiptInput{AccountID: w.st.AccountID,
			AttemptID: attemptID, AmountCents: amount, PaymentIntentID: pi, BaseURL: w.in.BaseURL}).Get(ctx, nil)
		if err != nil {
			// The credit stands and the receipt shows on the Credits page
			// once stored; mail being down must not stop the workflow.
			workflow.GetLogger(ctx).Warn("auto top-up receipt not sent", "account_id", w.st.AccountID, "payment_intent", pi, "error", err)
		}
	}
	return nil
}

// releaseWaiting cancels the charge waiting for approval before a new one
// replaces it, so the owner can never pay both. done means no new charge
// may follow: the waiting one was paid meanwhile (and is now credited), or
// it could not be canceled (the workflow keeps waiting for a fix).
func (w *autoTopUp) releaseWaiting(ctx workflow.Context) (done bool, err error) {
	if w.st.AuthAttemptID == "" {
		return false, nil
	}
	var a *activities.Activities
	w.st.Events++
	var paid bool
	err = workflow.ExecuteActivity(w.activityCtx(ctx), a.ReleaseAutoTopUp, activities.ReleaseAutoTopUpInput{AttemptID: w.st.AuthAttemptID,
		AccountID: w.st.AccountID, PaymentIntentID: w.st.AuthPaymentIntentID}).Get(ctx, &paid)
	if err != nil {
		w.st.LastError = "could not cancel the payment waiting for approval: " + errorMessage(err)
		w.st.NextAction = "wait for the owner to approve, or for a retry once Stripe answers; no new charge until the old one is canceled"
		return true, nil
	}
	if paid {
		w.st.PendingPayments = append(w.st.PendingPayments, PaymentIntentEvent{EventID: "release-" + w.st.AuthAttemptID,
			Type: EventPaymentIntentSucceeded, PaymentIntentID: w.st.AuthPaymentIntentID, AttemptID: w.st.AuthAttemptID})
		return true, w.takePayments(ctx)
	}
	w.st.AuthAttemptID, w.st.AuthPaymentIntentID, w.st.AuthAmountCents, w.st.AuthRound, w.st.AuthConfirmed = "", "", 0, 0, 0
	return false, nil
}

func (w *autoTopUp) rollDay(ctx workflow.Context) {
	if day := workflow.Now(ctx).UTC().Format("2006-01-02"); day != w.st.Day {
		w.st.Day, w.st.DayCount, w.st.DayCents = day, 0, 0
	}
}

func (w *autoTopUp) record(ctx workflow.Context, attemptID string, amount int64, res activities.ChargeResult) {
	w.st.Attempts = append(w.st.Attempts, AutoTopUpAttempt{AttemptID: attemptID, AmountCents: amount, Outcome: string(res.Outcome),
		DeclineCode: res.DeclineCode, PaymentIntentID: res.PaymentIntentID, At: workflow.Now(ctx)})
	if n := len(w.st.Attempts); n > autoTopUpKeptAttempts {
		w.st.Attempts = append([]AutoTopUpAttempt(nil), w.st.Attempts[n-autoTopUpKeptAttempts:]...)
	}
	if res.PaymentIntentID != "" {
		w.st.LastPaymentID = res.PaymentIntentID
	}
}

func declineText(r activities.ChargeResult) string {
	if r.Message != "" && r.DeclineCode != "" {
		return fmt.Sprintf("%s: %s", r.DeclineCode, r.Message)
	}
	return string(r.Outcome) + " " + r.DeclineCode
}
