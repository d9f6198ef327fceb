package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/mobayilo/mobayilo/activities"
)

// A caller-ID verification proves twice that the account holds the number:
// an SMS code through Twilio Verify (the workflow keeps the verification's
// SID, so confirming needs the code alone), then Twilio's Outgoing Caller
// ID validation, where Twilio calls the number and its owner keys in the
// 6-digit code we show. Running out of time or attempts is a state the
// page and the CLI explain, never an error.

// The states of a caller-ID verification (its `state` query, its row and
// the MobayiloCallerIDState search attribute).
const (
	CallerIDChecking     = "checking"
	CallerIDRefused      = "refused"
	CallerIDAwaitingCode = "awaiting_code"
	CallerIDAwaitingCall = "awaiting_call"
	CallerIDVerified     = "verified"
	// CallerIDCodeExpired: no right SMS code within the code's lifetime.
	CallerIDCodeExpired = "code_expired"
	// CallerIDTooManyAttempts: the SMS code was wrong too many times.
	CallerIDTooManyAttempts = "too_many_attempts"
	// CallerIDCallExpired: Twilio's validation result did not come in time.
	CallerIDCallExpired = "call_expired"
	// CallerIDValidationFailed: the validation call failed every attempt
	// (a wrong keypad code, or not answered).
	CallerIDValidationFailed = "validation_failed"
	// CallerIDRemoved: the owner removed the number, verified or not.
	CallerIDRemoved = "removed"
)

// CallerIDFinal reports whether state ends a verification.
func CallerIDFinal(state string) bool {
	switch state {
	case CallerIDRefused, CallerIDVerified, CallerIDCodeExpired, CallerIDTooManyAttempts, CallerIDCallExpired, CallerIDValidationFailed,
		CallerIDRemoved:
		return true
	}
	return false
}

// CallerIDVerificationInput is one verification of one number. The limits
// default when zero (DefaultCallerID*).
type CallerIDVerificationInput struct {
	AccountID, UserID int64
	E164, Country     string
	// CodeTTL is how long the SMS code may be entered; MaxCodeAttempts how
	// many wrong codes end it.
	CodeTTL         time.Duration
	MaxCodeAttempts int
	// CallTTL is how long one validation call's result may take;
	// MaxCallAttempts how many validation calls are made before failing.
	CallTTL         time.Duration
	MaxCallAttempts int
}

// Defaults of the verification's limits. Twilio Verify's own code lives 10
// minutes and allows 5 checks.
const (
	DefaultCallerIDCodeTTL         = 10 * time.Minute
	DefaultCallerIDMaxCodeAttempts = 5
	DefaultCallerIDCallTTL         = 5 * time.Minute
	DefaultCallerIDMaxCallAttempts = 2
)

func (in CallerIDVerificationInput) withDefaults() CallerIDVerificationInput {
	if in.CodeTTL <= 0 {
		in.CodeTTL = DefaultCallerIDCodeTTL
	}
	if in.MaxCodeAttempts <= 0 {
		in.MaxCodeAttempts = DefaultCallerIDMaxCodeAttempts
	}
	if in.CallTTL <= 0 {
		in.CallTTL = DefaultCallerIDCallTTL
	}
	if in.MaxCallAttempts <= 0 {
		in.MaxCallAttempts = DefaultCallerIDMaxCallAttempts
	}
	return in
}

// CallerIDCode is the UpdateCallerIDCode argument.
type CallerIDCode struct{ Code string }

// CallerIDCodeAnswer is what UpdateCallerIDCode returns: whether the code
// was right, and the state after it.
type CallerIDCodeAnswer struct {
	Approved bool
	State    CallerIDState
}

// CallerIDValidationResult is the SignalCallerIDValidationResult payload:
// Twilio's word on one validation call.
type CallerIDValidationResult struct {
	CallSID  string
	Verified bool
}

// CallerIDState is what QueryState returns.
type CallerIDState struct {
	State         string
	E164, Country string
	// Reason explains a refusal (the gate's message).
	Reason string
	// CodeAttempts are the wrong SMS codes so far, of MaxCodeAttempts.
	CodeAttempts, MaxCodeAttempts int
	CodeExpiresAt                 time.Time
	// ValidationCode is the 6-digit code to key in on the phone during the
	// validation call; CallAttempts the calls made so far.
	ValidationCode string
	CallAttempts   int
	CallExpiresAt  time.Time
	VerifiedAt     time.Time
}

// CallerIDVerificationResult is how a verification ended.
type CallerIDVerificationResult struct{ CallerIDState }

type callerIDRun struct {
	in CallerIDVerificationInput
	st CallerIDState
	// sid is Twilio Verify's reference of the code sent; it stays in the
	// workflow so the confirm needs only the code.
	sid string
	// checking serialises code checks: one Twilio check at a time.
	checking bool
	// removing is set by the remove update; every wait and every step
	// between activities then ends the verification as removed. wake
	// interrupts the wait for a validation call's result.
	removing bool
	wake     workflow.Channel
	// ended is set once the final state is recorded.
	ended bool
}

// CallerIDVerification verifies in.E164 as the account's caller ID.
func CallerIDVerification(ctx workflow.Context, in CallerIDVerificationInput) (CallerIDVerificationResult, error) {
	r := &callerIDRun{in: in.withDefaults(), wake: workflow.NewBufferedChannel(ctx, 1)}
	r.st = CallerIDState{State: CallerIDChecking, E164: in.E164, Country: in.Country, MaxCodeAttempts: r.in.MaxCodeAttempts}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (CallerIDState, error) { return r.st, nil }); err != nil {
		return CallerIDVerificationResult{}, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateCallerIDCode, r.submitCode,
		workflow.UpdateHandlerOptions{Validator: r.validateCode}); err != nil {
		return CallerIDVerificationResult{}, err
	}
	if err := workflow.SetUpdateHandler(ctx, UpdateCallerIDRemove, r.remove); err != nil {
		return CallerIDVerificationResult{}, err
	}
	if err := r.run(ctx); err != nil {
		return CallerIDVerificationResult{}, err
	}
	r.ended = true
	// A code being checked when the verification ended still gets its
	// answer.
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return CallerIDVerificationResult{}, err
	}
	return CallerIDVerificationResult{r.st}, nil
}

func (r *callerIDRun) run(ctx workflow.Context) error {
	var a *activities.Activities
	var gate activities.CallerIDGateResult
	if err := workflow.ExecuteActivity(shortActivity(ctx), a.CheckCallerIDGate, r.in.AccountID).Get(ctx, &gate); err != nil {
		return err
	}
	if !gate.Allowed {
		r.st.Reason = gate.Reason
		return r.enter(ctx, CallerIDRefused)
	}
	if r.removing {
		return r.endRemoved(ctx)
	}
	if err := workflow.ExecuteActivity(twilioActivity(ctx), a.SendCallerIDCode, r.in.E164).Get(ctx, &r.sid); err != nil {
		return err
	}
	if r.removing {
		return r.endRemoved(ctx)
	}
	r.st.CodeExpiresAt = workflow.Now(ctx).Add(r.in.CodeTTL)
	if err := r.enter(ctx, CallerIDAwaitingCode); err != nil {
		return err
	}
	if _, err := workflow.AwaitWithTimeout(ctx, r.in.CodeTTL, func() bool { return r.st.State != CallerIDAwaitingCode || r.removing }); err != nil {
		return err
	}
	// A code check under way when the timer fired decides first.
	if err := workflow.Await(ctx, func() bool { return !r.checking }); err != nil {
		return err
	}
	if r.removing {
		return r.endRemoved(ctx)
	}
	switch r.st.State {
	case CallerIDAwaitingCode:
		return r.enter(ctx, CallerIDCodeExpired)
	case CallerIDTooManyAttempts:
		return r.enter(ctx, CallerIDTooManyAttempts)
	}
	return r.validate(ctx)
}

// validate runs Twilio's validation calls until one is verified, the
// attempts run out, or a result does not come in time.
func (r *callerIDRun) validate(ctx workflow.Context) error {
	var a *activities.Activities
	results := workflow.GetSignalChannel(ctx, SignalCallerIDValidationResult)
	for r.st.CallAttempts < r.in.MaxCallAttempts {
		if r.removing {
			return r.endRemoved(ctx)
		}
		var vr activities.CallerIDValidationRequest
		err := workflow.ExecuteActivity(twilioActivity(ctx), a.RequestCallerIDValidation,
			activities.RequestCallerIDValidationInput{AccountID: r.in.AccountID, E164: r.in.E164}).Get(ctx, &vr)
		if err != nil {
			return err
		}
		if r.removing {
			return r.endRemoved(ctx)
		}
		r.st.CallAttempts++
		r.st.ValidationCode = vr.ValidationCode
		r.st.CallExpiresAt = workflow.Now(ctx).Add(r.in.CallTTL)
		if err := r.enter(ctx, CallerIDAwaitingCall); err != nil {
			return err
		}
		var res CallerIDValidationResult
		got, err := receiveWithTimeout(ctx, results, r.wake, r.in.CallTTL, &res)
		if err != nil {
			return err
		}
		if r.removing {
			// Removal wins over a result that came with it: the owner
			// asked for the number to be out of use.
			return r.endRemoved(ctx)
		}
		if !got {
			return r.enter(ctx, CallerIDCallExpired)
		}
		if res.Verified {
			r.st.VerifiedAt = workflow.Now(ctx)
			r.st.ValidationCode = ""
			return r.enter(ctx, CallerIDVerified)
		}
	}
	return r.enter(ctx, CallerIDValidationFailed)
}

// receiveWithTimeout receives one signal from ch into v, or reports false
// once d passed without one, or as soon as wake receives (the removal).
// wake is an in-workflow channel: waiting on it adds nothing to history.
func receiveWithTimeout(ctx workflow.Context, ch, wake workflow.ReceiveChannel, d time.Duration, v any) (bool, error) {
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	got := false
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, v); got = true })
	sel.AddReceive(wake, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	sel.AddFuture(workflow.NewTimer(tctx, d), func(workflow.Future) {})
	sel.Select(ctx)
	if !got {
		// A result that arrived with the timer still counts.
		got = ch.ReceiveAsync(v)
	}
	return got, ctx.Err()
}

// ErrTypeCodeRejected is the application-error type of a code the
// verification refused before checking it (malformed, or not awaited).
const ErrTypeCodeRejected = "CallerIDCodeRejected"

func (r *callerIDRun) validateCode(c CallerIDCode) error {
	if len(c.Code) < 4 || len(c.Code) > 10 {
		return temporal.NewApplicationError("the code has 4 to 10 digits", ErrTypeCodeRejected)
	}
	for _, ch := range c.Code {
		if ch < '0' || ch > '9' {
			return temporal.NewApplicationError("the code has only digits", ErrTypeCodeRejected)
		}
	}
	if r.st.State != CallerIDAwaitingCode {
		return temporal.NewApplicationError("this verification is not waiting for a code (it is "+r.st.State+")", ErrTypeCodeRejected)
	}
	return nil
}

// submitCode checks one SMS code with Twilio Verify.
func (r *callerIDRun) submitCode(ctx workflow.Context, c CallerIDCode) (CallerIDCodeAnswer, error) {
	if err := workflow.Await(ctx, func() bool { return !r.checking }); err != nil {
		return CallerIDCodeAnswer{}, err
	}
	if r.st.State != CallerIDAwaitingCode {
		return CallerIDCodeAnswer{State: r.st}, nil
	}
	r.checking = true
	defer func() { r.checking = false }()
	var a *activities.Activities
	var approved bool
	err := workflow.ExecuteActivity(twilioActivity(ctx), a.CheckCallerIDCode,
		activities.CheckCallerIDCodeInput{VerificationSID: r.sid, E164: r.in.E164, Code: c.Code}).Get(ctx, &approved)
	if err != nil {
		return CallerIDCodeAnswer{}, err
	}
	if approved {
		// The main loop moves on to the validation call.
		r.st.State = CallerIDAwaitingCall
		return CallerIDCodeAnswer{Approved: true, State: r.st}, nil
	}
	r.st.CodeAttempts++
	if r.st.CodeAttempts >= r.in.MaxCodeAttempts {
		r.st.State = CallerIDTooManyAttempts
	} else if err := r.record(ctx); err != nil {
		return CallerIDCodeAnswer{}, err
	}
	return CallerIDCodeAnswer{State: r.st}, nil
}

// remove asks the verification to end as removed and answers once its
// final state is recorded: removed, or the state it had already ended in.
func (r *callerIDRun) remove(ctx workflow.Context) (CallerIDState, error) {
	if !r.ended && !r.removing {
		r.removing = true
		r.wake.SendAsync(struct{}{})
	}
	err := workflow.Await(ctx, func() bool { return r.ended })
	return r.st, err
}

// callerIDRemoveVersion marks histories that ended by a removal; workflows
// started before the remove update existed never reach it.
const callerIDRemoveVersion = "caller-id-remove"

func (r *callerIDRun) endRemoved(ctx workflow.Context) error {
	workflow.GetVersion(ctx, callerIDRemoveVersion, workflow.DefaultVersion, 1)
	r.st.ValidationCode = ""
	return r.enter(ctx, CallerIDRemoved)
}

// enter moves to state and records it (row and search attribute). The
// query shows the new state only once the row holds it, so whoever reads
// the state may act on the row (a code-only confirm finds its number).
func (r *callerIDRun) enter(ctx workflow.Context, state string) error {
	if err := workflow.UpsertTypedSearchAttributes(ctx, AttrCallerIDState.ValueSet(state)); err != nil {
		return err
	}
	if err := r.recordAs(ctx, state); err != nil {
		return err
	}
	r.st.State = state
	return nil
}

func (r *callerIDRun) record(ctx workflow.Context) error { return r.recordAs(ctx, r.st.State) }

func (r *callerIDRun) recordAs(ctx workflow.Context, state string) error {
	var a *activities.Activities
	p := activities.CallerIDProgress{AccountID: r.in.AccountID, UserID: r.in.UserID, E164: r.in.E164, Country: r.in.Country,
		State: state, VerificationSID: r.sid, Attempts: int64(r.st.CodeAttempts)}
	if !r.st.VerifiedAt.IsZero() {
		t := r.st.VerifiedAt
		p.VerifiedAt = &t
	}
	return workflow.ExecuteActivity(shortActivity(ctx), a.RecordCallerID, p).Get(ctx, nil)
}

// shortActivity is for our own database.
func shortActivity(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{MaximumInterval: 30 * time.Second}})
}

// twilioActivity is for Twilio: a few tries, since each may cost an SMS or
// a call; a failure that outlasts them fails the verification.
func twilioActivity(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 20 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 3, InitialInterval: 2 * time.Second}})
}
