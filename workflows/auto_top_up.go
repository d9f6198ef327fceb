package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mobayilo/mobayilo/activities"
)

// AutoTopUp payment states, as set in MobayiloPaymentState and reported by
// the state query. Idle is query-only: nothing to find in the UI.
const (
	AutoTopUpIdle                = "idle"
	AutoTopUpCharging            = "charging"
	AutoTopUpNeedsAuthentication = "needs_authentication"
	AutoTopUpFailed              = "failed"
	AutoTopUpSucceeded           = "succeeded"
)

// AutoTopUpNeedsAttentionQuery is the visibility query that finds every
// auto top-up waiting for a human: the admin page runs it and the RUNBOOK
// documents it (as WorkflowType="AutoTopUp" AND ExecutionStatus="Running"
// AND MobayiloPaymentState IN ("failed","needs_authentication")).
var AutoTopUpNeedsAttentionQuery = fmt.Sprintf(`WorkflowType=%q AND ExecutionStatus="Running" AND %s IN (%q,%q)`,
	NameAutoTopUp, AttrPaymentState.GetName(), AutoTopUpFailed, AutoTopUpNeedsAuthentication)

// Defaults for the knobs in AutoTopUpInput.
const (
	DefaultAutoTopUpCooldown         = 30 * time.Second
	DefaultAutoTopUpRetryBackoff     = time.Hour
	DefaultAutoTopUpMaxTries         = 3
	DefaultAutoTopUpFailureWait      = 7 * 24 * time.Hour
	DefaultAutoTopUpIdleTimeout      = 25 * time.Hour
	DefaultAutoTopUpContinueAsNewAt  = 500
	autoTopUpKeptAttempts            = 10
	autoTopUpActivityStartToClose    = time.Minute
	autoTopUpActivityMaximumAttempts = 10
	autoTopUpKeptPayments            = 10
	// The approve update answers a person waiting on a page: its
	// activity gets a short leash (the Idempotency-Key makes a retry, or
	// the owner's second click, harmless).
	autoTopUpApproveStartToClose = 20 * time.Second
	autoTopUpApproveMaxAttempts  = 3
)

// Stripe's payment_intent events about an auto top-up's PaymentIntent, as
// the webhook signals them.
const (
	EventPaymentIntentSucceeded = "payment_intent.succeeded"
	EventPaymentIntentFailed    = "payment_intent.payment_failed"
)

// PaymentIntentEvent is the SignalAutoTopUpPaymentEvent payload: what the
// webhook read from one verified payment_intent.* event whose metadata names
// an auto top-up attempt. AmountCents is Stripe's; the credit is the
// attempt's own amount, after checking they agree.
type PaymentIntentEvent struct {
	EventID         string
	Type            string
	PaymentIntentID string
	AttemptID       string
	AmountCents     int64
	// Message is the bank's reason for a failed payment, if any.
	Message string
}

// AutoTopUpApproval is what the approve update answers: where to send the
// owner to authenticate, or that the payment went through at once.
type AutoTopUpApproval struct {
	AttemptID       string
	PaymentIntentID string
	AmountCents     int64
	// RedirectURL is the bank's authentication page; empty when there is
	// nothing for the owner to do there.
	RedirectURL string
	// Succeeded: paid at once; the credit follows within seconds.
	Succeeded bool
	// Declined is the bank's reason when the confirmation was declined.
	Declined string
}

// versionUniqueAttemptIDs marks runs whose attempt ids carry the chain's
// run tag (see autoTopUp.attemptPrefix); runs started before it keep the
// old ids when replayed.
const versionUniqueAttemptIDs = "unique-attempt-ids"

// AutoTopUpRunTag is the part of a run id that attempt ids carry.
func AutoTopUpRunTag(runID string) string {
	t := strings.ReplaceAll(runID, "-", "")
	if len(t) > 12 {
		t = t[:12]
	}
	return t
}

// ErrTypeNothingToApprove is the approve validator's rejection type.
const ErrTypeNothingToApprove = "AutoTopUpNothingToApprove"

// AutoTopUpInput starts (or continues) an account's AutoTopUp workflow.
// Zero knobs take the defaults above; tests shorten them.
type AutoTopUpInput struct {
	AccountID int64
	BaseURL   string
	// Cooldown collects a burst of debits into one check.
	Cooldown time.Duration
	// RetryBackoff is the first wait after a soft decline; it doubles.
	RetryBackoff time.Duration
	// MaxTries bounds the charges per top-up on soft declines.
	MaxTries int
	// FailureWait is how long a failed auto top-up waits for a retry or a
	// new card before the workflow closes.
	FailureWait time.Duration
	// IdleTimeout closes the workflow after this long with nothing to do;
	// longer than a day, so the daily cap is never forgotten mid-day.
	IdleTimeout time.Duration
	// ContinueAsNewAfter bounds history: after this many signals and
	// activities the workflow continues as new with its state.
	ContinueAsNewAfter int
	// Carried is the state of the previous run, after continue-as-new.
	Carried *AutoTopUpState
}

// AutoTopUpAttempt is one charge as the state query reports it.
type AutoTopUpAttempt struct {
	AttemptID       string
	AmountCents     int64
	Outcome         string
	DeclineCode     string
	PaymentIntentID string
	At              time.Time
}

// AutoTopUpState is the workflow's state: what the `state` query returns and
// what continue-as-new carries.
type AutoTopUpState struct {
	AccountID   int64
	State       string
	AmountCents int64
	// Seq numbers attempts across runs: attempt ids are <workflowID>-<Seq>.
	Seq int
	// Attempts holds the latest few, newest last.
	Attempts        []AutoTopUpAttempt
	LastError       string
	LastPaymentID   string
	NextAction      string
	Day             string
	DayCount        int
	DayCents        int64
	TotalCredited   int64
	PendingDebit    bool
	PendingRetry    bool
	Events          int
	ContinuedAsNew  int
	LastChangedAt   time.Time
	FailedAt        time.Time
	CreditedEntries int
	// AuthAttemptID, AuthPaymentIntentID and AuthAmountCents name the charge
	// waiting for the owner's on-session approval; AuthRound numbers the
	// owner's tries at it (part of Stripe's Idempotency-Key).
	AuthAttemptID       string
	AuthPaymentIntentID string
	AuthAmountCents     int64
	AuthRound           int
	// AuthConfirmed is the round last sent to the bank by an approval: a
	// payment failure counts as the owner's failed try only then (Stripe
	// also reports the off-session decline that asked for authentication).
	AuthConfirmed int
	// CreditedPayments are the latest PaymentIntents credited, so a repeated
	// event changes no counter (the ledger key keeps the money once anyway).
	CreditedPayments []string
	// PendingPayments are payment events received but not handled yet;
	// continue-as-new carries them.
	PendingPayments  []PaymentIntentEvent
	LastPaymentEvent string
}

// AutoTopUpResult is how the workflow closed.
type AutoTopUpResult struct {
	State AutoTopUpState
	// Reason is why it closed: "idle" or "failure_wait_expired".
	Reason string
}

type autoTopUp struct {
	in AutoTopUpInput
	id string
	// attemptPrefix starts every attempt id of this chain of runs: the
	// workflow id plus, since version 1, a tag of the chain's first run, so
	// a later execution for the same account (after an idle or failure
	// close) never reuses an earlier attempt's id, Stripe Idempotency-Key
	// or sandbox PaymentIntent.
	attemptPrefix string
	st            AutoTopUpState
	debit         workflow.ReceiveChannel
	retry         workflow.ReceiveChannel
	card          workflow.ReceiveChannel
	// payment carries the webhook's payment_intent events; approved the
	// approve update's own "paid at once", so the main loop credits both.
	payment  workflow.ReceiveChannel
	approved workflow.Channel
}

// AutoTopUp charges an account's saved card when debits leave its balance
// below the threshold: one workflow per account, started with
// signal-with-start on a debit. A burst of debits is collected for a
// cooldown and checked once; a daily cap bounds count and amount; soft
// declines are retried a bounded number of times with backoff, hard ones and
// authentication requests stop at once, and a failure waits for an
// operator's retry or a new card before the workflow closes. A charge that
// needs authentication waits for the owner's on-session approval (the
// approve update) and is credited when its PaymentIntent succeeds, wherever
// the workflow is waiting.
func AutoTopUp(ctx workflow.Context, in AutoTopUpInput) (AutoTopUpResult, error) {
	w := &autoTopUp{in: withAutoTopUpDefaults(in), id: workflow.GetInfo(ctx).WorkflowExecution.ID,
		debit:    workflow.GetSignalChannel(ctx, SignalAutoTopUpDebit),
		retry:    workflow.GetSignalChannel(ctx, SignalAutoTopUpRetry),
		card:     workflow.GetSignalChannel(ctx, SignalAutoTopUpCardUpdated),
		payment:  workflow.GetSignalChannel(ctx, SignalAutoTopUpPaymentEvent),
		approved: workflow.NewBufferedChannel(ctx, 8)}
	w.attemptPrefix = w.id
	if workflow.GetVersion(ctx, versionUniqueAttemptIDs, workflow.DefaultVersion, 1) == 1 {
		info := workflow.GetInfo(ctx)
		run := info.FirstRunID
		if run == "" {
			run = info.WorkflowExecution.RunID
		}
		w.attemptPrefix = w.id + "-" + AutoTopUpRunTag(run)
	}
	if in.Carried != nil {
		w.st = *in.Carried
		w.st.Events = 0
		w.st.ContinuedAsNew++
	} else {
		w.st = AutoTopUpState{AccountID: in.AccountID, State: AutoTopUpIdle, NextAction: "wait for a debit below the threshold"}
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (AutoTopUpState, error) { return w.st, nil }); err != nil {
		return AutoTopUpResult{}, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAutoTopUpApprove, w.approve,
		workflow.UpdateHandlerOptions{Validator: w.validateApprove}); err != nil {
		return AutoTopUpResult{}, err
	}
	if err := w.upsert(ctx); err != nil {
		return AutoTopUpResult{}, err
	}
	if err := w.takePayments(ctx); err != nil {
		return AutoTopUpResult{}, err
	}
	if w.st.State == AutoTopUpFailed || w.st.State == AutoTopUpNeedsAuthentication {
		if res, done, err := w.awaitFix(ctx); done || err != nil {
			return res, err
		}
	}
	for {
		if w.st.Events >= w.in.ContinueAsNewAfter {
			return w.continueAsNew(ctx)
		}
		if !w.st.PendingDebit {
			debit, err := w.waitForDebit(ctx)
			if err != nil {
				return AutoTopUpResult{}, err
			}
			if !debit {
				return AutoTopUpResult{State: w.st, Reason: "idle"}, nil
			}
		}
		// Let the burst settle, then look at the balance once.
		if err := workflow.Sleep(ctx, w.in.Cooldown); err != nil {
			return AutoTopUpResult{}, err
		}
		w.drain(w.debit)
		w.st.PendingDebit = false
		if err := w.topUpIfBelow(ctx); err != nil {
			return AutoTopUpResult{}, err
		}
		if w.st.State == AutoTopUpFailed || w.st.State == AutoTopUpNeedsAuthentication {
			if res, done, err := w.awaitFix(ctx); done || err != nil {
				return res, err
			}
		}
	}
}

func withAutoTopUpDefaults(in AutoTopUpInput) AutoTopUpInput {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&in.Cooldown, DefaultAutoTopUpCooldown)
	def(&in.RetryBackoff, DefaultAutoTopUpRetryBackoff)
	def(&in.FailureWait, DefaultAutoTopUpFailureWait)
	def(&in.IdleTimeout, DefaultAutoTopUpIdleTimeout)
	if in.MaxTries <= 0 {
		in.MaxTries = DefaultAutoTopUpMaxTries
	}
	if in.ContinueAsNewAfter <= 0 {
		in.ContinueAsNewAfter = DefaultAutoTopUpContinueAsNewAt
	}
	return in
}

// waitForDebit blocks until a debit signal or the idle timeout; retry and
// card-updated signals while idle are noted and answered by a fresh check.
// A payment event meanwhile (an approved charge, possibly of an earlier
// run) is credited and the wait goes on.
func (w *autoTopUp) waitForDebit(ctx workflow.Context) (bool, error) {
	timerCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timer := workflow.NewTimer(timerCtx, w.in.IdleTimeout)
	for {
		got, expired := false, false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(w.debit, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); w.st.Events++; got = true })
		sel.AddReceive(w.retry, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); w.st.Events++; got = true })
		sel.AddReceive(w.card, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); w.st.Events++; got = true })
		w.addPaymentReceivers(ctx, sel)
		sel.AddFuture(timer, func(workflow.Future) { expired = true })
		sel.Select(ctx)
		if err := w.takePayments(ctx); err != nil {
			return false, err
		}
		if got || expired {
			// A signal that raced the idle timer must not be dropped by closing.
			return got || w.drain(w.debit)+w.drain(w.retry)+w.drain(w.card) > 0, nil
		}
	}
}

// addPaymentReceivers queues payment events for takePayments.
func (w *autoTopUp) addPaymentReceivers(ctx workflow.Context, sel workflow.Selector) {
	queue := func(c workflow.ReceiveChannel, _ bool) {
		var ev PaymentIntentEvent
		c.Receive(ctx, &ev)
		w.st.PendingPayments = append(w.st.PendingPayments, ev)
	}
	sel.AddReceive(w.payment, queue)
	sel.AddReceive(w.approved, queue)
}

// queuePayments moves every payment event already delivered to the queue
// and reports whether any is waiting.
func (w *autoTopUp) queuePayments() bool {
	for _, c := range []workflow.ReceiveChannel{w.payment, w.approved} {
		var ev PaymentIntentEvent
		for c.ReceiveAsync(&ev) {
			w.st.PendingPayments = append(w.st.PendingPayments, ev)
			ev = PaymentIntentEvent{}
		}
	}
	return len(w.st.PendingPayments) > 0
}

// takePayments handles every queued payment event, in order.
func (w *autoTopUp) takePayments(ctx workflow.Context) error {
	for w.queuePayments() {
		ev := w.st.PendingPayments[0]
		w.st.PendingPayments = w.st.PendingPayments[1:]
		if err := w.onPayment(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

// drain consumes every signal already delivered on c.
func (w *autoTopUp) drain(c workflow.ReceiveChannel) int {
	n := 0
	for c.ReceiveAsync(nil) {
		n++
	}
	w.st.Events += n
	return n
}

func (w *autoTopUp) activityCtx(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: autoTopUpActivityStartToClose,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute, MaximumAttempts: autoTopUpActivityMaximumAttempts},
	})
}

// topUpIfBelow checks settings and balance and, when the wallet is below
// its threshold and the day's cap allows, runs one top-up: up to MaxTries
// charges.
func (w *autoTopUp) topUpIfBelow(ctx workflow.Context) error {
	var a *activities.Activities
	actx := w.activityCtx(ctx)
	var chk activities.AutoTopUpCheck
	w.st.Events++
	if err := workflow.ExecuteActivity(actx, a.CheckAutoTopUp, w.st.AccountID).Get(ctx, &chk); err != nil {
		// The database stayed unreachable through the activity's retries:
		// skip this round rather than fail the workflow; the next debit
		// (or retry) checks again.
		w.st.LastError = "balance check failed: " + errorMessage(err)
		return w.settle(ctx, AutoTopUpIdle, "balance check failed; the next debit checks again")
	}
	switch {
	case !chk.Enabled:
		return w.settle(ctx, AutoTopUpIdle, "auto top-up is off or has no card; nothing to do")
	case !chk.Below():
		return w.settle(ctx, AutoTopUpIdle, "balance is at or above the threshold; wait for a debit")
	}
	w.rollDay(ctx)
	// The database's count holds across runs (a new execution, a restart);
	// the run's own covers a check recorded before the activity counted.
	count, cents := max(w.st.DayCount, chk.TodayCount), max(w.st.DayCents, chk.TodayCents)
	if count+1 > chk.DailyMaxCount || cents+chk.AmountCents > chk.DailyMaxCents {
		return w.settle(ctx, AutoTopUpIdle, fmt.Sprintf("daily cap reached (%d top-ups, %d cents today); the next debit after midnight UTC tries again", count, cents))
	}
	if done, err := w.releaseWaiting(ctx); done || err != nil {
		return err
	}
	w.st.AmountCents = chk.AmountCents
	backoff := w.in.RetryBackoff
	for try := 1; ; try++ {
		w.st.Seq++
		attemptID := fmt.Sprintf("%s-%d", w.attemptPrefix, w.st.Seq)
		if err := w.setState(ctx, AutoTopUpCharging, "charging the saved card"); err != nil {
			return err
		}
		var res activities.ChargeResult
		w.st.Events++
		err := workflow.ExecuteActivity(actx, a.ChargeAutoTopUp, activities.ChargeAutoTopUpInput{AttemptID: attemptID, AccountID: w.st.AccountID, AmountCents: chk.AmountCents}).Get(ctx, &res)
		if err != nil {
			// The provider stayed unreachable through every activity retry,
			// or there is no card: a failure for a human to look at.
			w.record(ctx, attemptID, chk.AmountCents, activities.ChargeResult{Outcome: "error", Message: errorMessage(err)})
			return w.fail(ctx, AutoTopUpFailed, activities.NoticeDeclined, errorMessage(err), false, try == 1)
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

// validateApprove admits the approve update only while a charge waits for
// the owner's authentication, so a stale page or a second tab cannot start
// anything.
func (w *autoTopUp) validateApprove() error {
	if w.st.State != AutoTopUpNeedsAuthentication || w.st.AuthAttemptID == "" || w.st.AuthPaymentIntentID == "" {
		return temporal.NewApplicationError(fmt.Sprintf("no auto top-up is waiting for approval (state %s)", w.st.State), ErrTypeNothingToApprove)
	}
	return nil
}

// approve confirms the waiting charge's own PaymentIntent on-session and
// answers where the owner authenticates. It never charges anew: the
// PaymentIntent can succeed only once, and a repeated click in the same
// round reuses Stripe's Idempotency-Key. The outcome arrives as a payment
// event (the webhook's, or approved's when paid at once).
func (w *autoTopUp) approve(ctx workflow.Context) (AutoTopUpApproval, error) {
	var a *activities.Activities
	out := AutoTopUpApproval{AttemptID: w.st.AuthAttemptID, PaymentIntentID: w.st.AuthPaymentIntentID, AmountCents: w.st.AuthAmountCents}
	round := w.st.AuthRound
	w.st.Events++
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: autoTopUpApproveStartToClose,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: autoTopUpApproveMaxAttempts},
	})
	var res activities.ConfirmResult
	err := workflow.ExecuteActivity(actx, a.ApproveAutoTopUp, activities.ApproveAutoTopUpInput{AttemptID: out.AttemptID, AccountID: w.st.AccountID,
		PaymentIntentID: out.PaymentIntentID, Round: round, ReturnURL: w.in.BaseURL + "/autotopup?done=approved"}).Get(ctx, &res)
	if err != nil {
		return AutoTopUpApproval{}, err
	}
	out.RedirectURL = res.RedirectURL
	switch res.Outcome {
	case activities.ChargeSucceeded:
		out.Succeeded = true
		w.approved.SendAsync(PaymentIntentEvent{EventID: fmt.Sprintf("approve-%s-%d", out.AttemptID, round), Type: EventPaymentIntentSucceeded,
			PaymentIntentID: out.PaymentIntentID, AttemptID: out.AttemptID})
	case activities.ChargeNeedsAuthentication:
		w.st.AuthConfirmed = round
		w.st.NextAction = "wait for the bank's answer to the owner's authentication; never retried automatically"
	default:
		out.Declined = declineText(activities.ChargeResult{Outcome: res.Outcome, DeclineCode: res.DeclineCode, Message: res.Message})
		w.st.LastError = out.Declined
		if w.st.AuthAttemptID == out.AttemptID && w.st.AuthRound == round {
			w.st.AuthRound++
		}
	}
	return out, nil
}

// onPayment handles one payment event. A success is credited once, at the
// attempt's own amount, whichever attempt or run it belongs to: the money
// was taken. A failure of the waiting charge leaves it waiting; nothing is
// charged again automatically.
func (w *autoTopUp) onPayment(ctx workflow.Context, ev PaymentIntentEvent) error {
	var a *activities.Activities
	w.st.Events++
	// Set once handled, so a query seeing it sees the credit too.
	defer func() { w.st.LastPaymentEvent = ev.EventID }()
	log := workflow.GetLogger(ctx)
	switch ev.Type {
	case EventPaymentIntentSucceeded:
		if ev.PaymentIntentID == "" || slices.Contains(w.st.CreditedPayments, ev.PaymentIntentID) {
			return nil
		}
		// Checking the payment against its attempt retries without a limit,
		// as the credit does: the card was charged.
		vctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: autoTopUpActivityStartToClose,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 10 * time.Minute},
		})
		var pay activities.AutoTopUpPayment
		err := workflow.ExecuteActivity(vctx, a.VerifyAutoTopUpPayment, activities.VerifyAutoTopUpPaymentInput{AccountID: w.st.AccountID,
			AttemptID: ev.AttemptID, PaymentIntentID: ev.PaymentIntentID, AmountCents: ev.AmountCents}).Get(ctx, &pay)
		if err != nil {
			// Only a payment that is not this account's attempt fails for
			// good: a person must look at it; nothing is credited.
			w.st.LastError = fmt.Sprintf("payment %s not credited: %s", ev.PaymentIntentID, errorMessage(err))
			log.Error("auto top-up payment does not match its attempt", "payment_intent", ev.PaymentIntentID, "attempt_id", ev.AttemptID, "error", err)
			return nil
		}
		if pay.AlreadyCredited {
			// Stripe's event for a charge an earlier run credited: count
			// nothing twice.
			w.noteCredited(ev.PaymentIntentID)
			return nil
		}
		w.rollDay(ctx)
		if err := w.credit(ctx, ev.AttemptID, pay.AmountCents, ev.PaymentIntentID); err != nil {
			return err
		}
		for i := range w.st.Attempts {
			if w.st.Attempts[i].AttemptID == ev.AttemptID {
				w.st.Attempts[i].Outcome, w.st.Attempts[i].PaymentIntentID = string(activities.ChargeSucceeded), ev.PaymentIntentID
			}
		}
		if ev.AttemptID == w.st.AuthAttemptID {
			w.st.AuthAttemptID, w.st.AuthPaymentIntentID, w.st.AuthAmountCents, w.st.AuthRound, w.st.AuthConfirmed = "", "", 0, 0, 0
		}
	case EventPaymentIntentFailed:
		if w.st.State != AutoTopUpNeedsAuthentication || ev.AttemptID != w.st.AuthAttemptID || w.st.AuthConfirmed != w.st.AuthRound {
			log.Info("auto top-up payment failure for no approval in progress: nothing to do", "payment_intent", ev.PaymentIntentID, "attempt_id", ev.AttemptID)
			return nil
		}
		// The next approval is a new try at Stripe: a fresh key.
		w.st.AuthRound++
		w.st.LastError = "authentication failed"
		if ev.Message != "" {
			w.st.LastError += ": " + ev.Message
		}
		w.st.NextAction = "wait for the owner to approve again or save a new card; never retried automatically"
		w.st.LastChangedAt = workflow.Now(ctx)
	}
	return nil
}

// noteCredited remembers a credited PaymentIntent, so Stripe's own event
// about it (which follows every successful charge) counts nothing again.
func (w *autoTopUp) noteCredited(pi string) {
	w.st.CreditedPayments = append(w.st.CreditedPayments, pi)
	if n := len(w.st.CreditedPayments); n > autoTopUpKeptPayments {
		w.st.CreditedPayments = append([]string(nil), w.st.CreditedPayments[n-autoTopUpKeptPayments:]...)
	}
}

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

// awaitFix waits after a failure for an operator's retry or a new card, up
// to FailureWait; done means the workflow should close with res.
func (w *autoTopUp) awaitFix(ctx workflow.Context) (res AutoTopUpResult, done bool, err error) {
	for {
		if w.st.Events >= w.in.ContinueAsNewAfter {
			res, err = w.continueAsNew(ctx)
			return res, true, err
		}
		fixed := w.st.PendingRetry
		if !fixed {
			timerCtx, cancel := workflow.WithCancel(ctx)
			deadline := w.st.FailedAt.Add(w.in.FailureWait).Sub(workflow.Now(ctx))
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(w.retry, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); w.st.Events++; fixed = true })
			sel.AddReceive(w.card, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); w.st.Events++; fixed = true })
			// Debits while failed change nothing: the card is the problem.
			sel.AddReceive(w.debit, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); w.st.Events++ })
			// The owner approving on-session ends here as a payment event.
			w.addPaymentReceivers(ctx, sel)
			sel.AddFuture(workflow.NewTimer(timerCtx, max(deadline, time.Second)), func(workflow.Future) {})
			sel.Select(ctx)
			cancel()
			if err := w.takePayments(ctx); err != nil {
				return AutoTopUpResult{}, true, err
			}
			if w.st.State != AutoTopUpFailed && w.st.State != AutoTopUpNeedsAuthentication {
				return AutoTopUpResult{}, false, nil // paid after all
			}
			if !fixed && w.drain(w.retry)+w.drain(w.card) > 0 {
				fixed = true // raced the deadline
			}
			if !fixed && !workflow.Now(ctx).Before(w.st.FailedAt.Add(w.in.FailureWait)) {
				// Never close with a charge still payable on the bank's page:
				// cancel it first (or credit it, if it was paid meanwhile).
				if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
					return AutoTopUpResult{}, true, err
				}
				if w.st.AuthAttemptID != "" {
					if _, err := w.releaseWaiting(ctx); err != nil {
						return AutoTopUpResult{}, true, err
					}
					if w.st.State != AutoTopUpFailed && w.st.State != AutoTopUpNeedsAuthentication {
						return AutoTopUpResult{}, false, nil // it was paid: credited
					}
					if w.st.AuthAttemptID != "" {
						// Could not cancel (Stripe unreachable, or the payment is
						// processing): keep waiting rather than leave it behind.
						w.st.FailedAt = workflow.Now(ctx)
						continue
					}
				}
				w.st.NextAction = "closed: no retry or new card arrived in time; the next debit starts afresh"
				return AutoTopUpResult{State: w.st, Reason: "failure_wait_expired"}, true, nil
			}
			if !fixed {
				continue
			}
		}
		w.st.PendingRetry = false
		w.drain(w.retry)
		w.drain(w.card)
		w.drain(w.debit)
		if err := w.topUpIfBelow(ctx); err != nil {
			return AutoTopUpResult{}, true, err
		}
		if w.st.State != AutoTopUpFailed && w.st.State != AutoTopUpNeedsAuthentication {
			return AutoTopUpResult{}, false, nil
		}
	}
}

// continueAsNew carries the state into a fresh run once every signal
// delivered so far is accounted for, so none is lost.
func (w *autoTopUp) continueAsNew(ctx workflow.Context) (AutoTopUpResult, error) {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return AutoTopUpResult{}, err
	}
	if w.drain(w.debit) > 0 {
		w.st.PendingDebit = true
	}
	if w.drain(w.retry)+w.drain(w.card) > 0 && (w.st.State == AutoTopUpFailed || w.st.State == AutoTopUpNeedsAuthentication) {
		w.st.PendingRetry = true
	}
	w.queuePayments()
	next := w.in
	carried := w.st
	next.Carried = &carried
	return AutoTopUpResult{}, workflow.NewContinueAsNewError(ctx, AutoTopUp, next)
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

// settle ends a check that charged nothing. A success or failure stays
// visible in the search attribute until the next charge.
func (w *autoTopUp) settle(ctx workflow.Context, state, next string) error {
	w.st.NextAction = next
	if w.st.State == AutoTopUpCharging || w.st.State == AutoTopUpIdle {
		w.st.State = state
	}
	if w.st.State == AutoTopUpFailed || w.st.State == AutoTopUpNeedsAuthentication {
		// Balance recovered or auto top-up turned off after a failure: the
		// failure is moot.
		return w.setState(ctx, AutoTopUpIdle, next)
	}
	return nil
}

func (w *autoTopUp) setState(ctx workflow.Context, state, next string) error {
	w.st.State = state
	w.st.NextAction = next
	w.st.LastChangedAt = workflow.Now(ctx)
	return w.upsert(ctx)
}

func (w *autoTopUp) upsert(ctx workflow.Context) error {
	ups := []temporal.SearchAttributeUpdate{AttrAccountID.ValueSet(fmt.Sprint(w.st.AccountID))}
	if w.st.State != AutoTopUpIdle && w.st.State != "" {
		ups = append(ups, AttrPaymentState.ValueSet(w.st.State), AttrAmountCents.ValueSet(w.st.AmountCents))
	} else {
		ups = append(ups, AttrPaymentState.ValueUnset())
	}
	return workflow.UpsertTypedSearchAttributes(ctx, ups...)
}

func declineText(r activities.ChargeResult) string {
	if r.Message != "" && r.DeclineCode != "" {
		return fmt.Sprintf("%s: %s", r.DeclineCode, r.Message)
	}
	return string(r.Outcome) + " " + r.DeclineCode
}

func errorMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Error()
	}
	return err.Error()
}
