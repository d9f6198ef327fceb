package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// AutoTopUp payment states, as set in MobayiloPaymentState and reported by
// the state query. Idle is query-only: nothing to find in the UI.
const (
	AutoTopUpIdle                = "idle"
	AutoTopUpCharging            = "charging"
	AutoTopUpNeedsAuthentication = "needs_authentication"
	AutoTopUpFailed              = "failed"
	AutoTopUpSucceeded           = "succeeded"
	// AutoTopUpUnknown: a charge's every try failed, so whether the provider
	// took it is not known; the workflow reconciles it before anything else.
	AutoTopUpUnknown = "unknown"
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

// drain consumes every signal already delivered on c.
func (w *autoTopUp) drain(c workflow.ReceiveChannel) int {
	n := 0
	for c.ReceiveAsync(nil) {
		n++
	}
	w.st.Events += n
	return n
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
				// Never close with a payment event pending: one that arrived
				// meanwhile is credited, and then this is no failure.
				if w.queuePayments() {
					if err := w.takePayments(ctx); err != nil {
						return AutoTopUpResult{}, true, err
					}
					if w.st.State != AutoTopUpFailed && w.st.State != AutoTopUpNeedsAuthentication {
						return AutoTopUpResult{}, false, nil
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

func errorMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Error()
	}
	return err.Error()
}
