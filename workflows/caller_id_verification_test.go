package workflows_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/internal/callerid"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/workflows"
)

// fakeVerify is Twilio Verify and the validation requests: the right SMS
// code is "123456"; every validation request answers a new code.
type fakeVerify struct {
	mu          sync.Mutex
	sent        []string
	checks      []string
	validations int
	gateErr     error
	records     []callerid.Progress
}

func (f *fakeVerify) SendVerificationCode(_ context.Context, e164 string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, e164)
	return "VE0123456789abcdef0123456789abcdef", nil
}

func (f *fakeVerify) CheckVerificationCode(_ context.Context, sid, _ string, code string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks = append(f.checks, sid+":"+code)
	return code == "123456", nil
}

func (f *fakeVerify) RequestValidation(_ context.Context, _, _, _ string) (providers.ValidationRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.validations++
	return providers.ValidationRequest{ValidationCode: []string{"", "654321", "111222", "333444"}[min(f.validations, 3)], CallSID: "CA1"}, nil
}

func (f *fakeVerify) CallerIDCallbackURL(accountID int64) string { return "https://example.test/cb" }

func (f *fakeVerify) Gate(context.Context, int64) error { return f.gateErr }

func (f *fakeVerify) Record(_ context.Context, p callerid.Progress) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records = append(f.records, p)
	return nil
}

func (f *fakeVerify) lastRecord(t *testing.T) callerid.Progress {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.records) == 0 {
		t.Fatal("nothing recorded")
	}
	return f.records[len(f.records)-1]
}

type callerIDRun struct {
	t       *testing.T
	env     *testsuite.TestWorkflowEnvironment
	f       *fakeVerify
	answers []workflows.CallerIDCodeAnswer
	errs    []error
}

func newCallerIDRun(t *testing.T) *callerIDRun {
	env := newTestEnv(t)
	f := &fakeVerify{}
	env.RegisterActivity(&activities.Activities{CallerIDs: f, CallerIDVerifier: f, CallerIDCallbacks: f})
	return &callerIDRun{t: t, env: env, f: f}
}

func (r *callerIDRun) codeAt(at time.Duration, code string) {
	r.env.RegisterDelayedCallback(func() {
		r.env.UpdateWorkflow(workflows.UpdateCallerIDCode, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { r.errs = append(r.errs, err) },
			OnComplete: func(v any, err error) {
				if err != nil {
					r.errs = append(r.errs, err)
					return
				}
				r.answers = append(r.answers, v.(workflows.CallerIDCodeAnswer))
			},
		}, workflows.CallerIDCode{Code: code})
	}, at)
}

func (r *callerIDRun) resultAt(at time.Duration, verified bool) {
	r.env.RegisterDelayedCallback(func() {
		r.env.SignalWorkflow(workflows.SignalCallerIDValidationResult, workflows.CallerIDValidationResult{CallSID: "CA1", Verified: verified})
	}, at)
}

func (r *callerIDRun) queryAt(at time.Duration, into *workflows.CallerIDState) {
	r.env.RegisterDelayedCallback(func() {
		v, err := r.env.QueryWorkflow(workflows.QueryState)
		if err != nil {
			r.t.Errorf("query: %v", err)
			return
		}
		if err := v.Get(into); err != nil {
			r.t.Error(err)
		}
	}, at)
}

func (r *callerIDRun) run() workflows.CallerIDVerificationResult {
	r.t.Helper()
	r.env.ExecuteWorkflow(workflows.CallerIDVerification, workflows.CallerIDVerificationInput{AccountID: 7, UserID: 9,
		E164: "+447700900123", Country: "GB", CodeTTL: 10 * time.Minute, MaxCodeAttempts: 3, CallTTL: 5 * time.Minute, MaxCallAttempts: 2})
	if !r.env.IsWorkflowCompleted() {
		r.t.Fatal("workflow did not complete")
	}
	if err := r.env.GetWorkflowError(); err != nil {
		r.t.Fatalf("workflow error: %v", err)
	}
	var res workflows.CallerIDVerificationResult
	if err := r.env.GetWorkflowResult(&res); err != nil {
		r.t.Fatal(err)
	}
	return res
}

func TestCallerIDVerification_VerifiedAfterCodeAndValidationCall(t *testing.T) {
	r := newCallerIDRun(t)
	var during workflows.CallerIDState
	r.codeAt(time.Minute, "123456")
	r.queryAt(2*time.Minute, &during)
	r.resultAt(3*time.Minute, true)
	res := r.run()
	if res.State != workflows.CallerIDVerified {
		t.Fatalf("state %q, want verified", res.State)
	}
	if during.State != workflows.CallerIDAwaitingCall || during.ValidationCode != "654321" || during.CallAttempts != 1 {
		t.Errorf("during the call the state is %+v; want awaiting_call with Twilio's code 654321", during)
	}
	if len(r.answers) != 1 || !r.answers[0].Approved {
		t.Errorf("code answers %+v, want one approval", r.answers)
	}
	// Confirm carried the code alone; the workflow supplied Verify's SID.
	if len(r.f.checks) != 1 || r.f.checks[0] != "VE0123456789abcdef0123456789abcdef:123456" {
		t.Errorf("checks %v", r.f.checks)
	}
	last := r.f.lastRecord(t)
	if last.State != workflows.CallerIDVerified || last.VerifiedAt == nil || !last.VerifiedAt.Equal(testStart.Add(3*time.Minute)) {
		t.Errorf("last record %+v, want verified at start+3m", last)
	}
}

func TestCallerIDVerification_CodeExpired(t *testing.T) {
	r := newCallerIDRun(t)
	r.codeAt(11*time.Minute, "123456") // after the end: rejected or never delivered
	res := r.run()
	if res.State != workflows.CallerIDCodeExpired {
		t.Fatalf("state %q, want code_expired", res.State)
	}
	if r.f.validations != 0 {
		t.Errorf("%d validation calls after an expired code", r.f.validations)
	}
	if got := r.f.lastRecord(t).State; got != workflows.CallerIDCodeExpired {
		t.Errorf("recorded %q", got)
	}
}

func TestCallerIDVerification_WrongCodeThenRight(t *testing.T) {
	r := newCallerIDRun(t)
	r.codeAt(time.Minute, "000000")
	r.codeAt(2*time.Minute, "123456")
	r.resultAt(3*time.Minute, true)
	res := r.run()
	if res.State != workflows.CallerIDVerified || res.CodeAttempts != 1 {
		t.Fatalf("result %+v, want verified after one wrong code", res)
	}
	if len(r.answers) != 2 || r.answers[0].Approved || r.answers[0].State.CodeAttempts != 1 || !r.answers[1].Approved {
		t.Errorf("answers %+v", r.answers)
	}
}

func TestCallerIDVerification_TooManyAttempts(t *testing.T) {
	r := newCallerIDRun(t)
	for i := range 3 {
		r.codeAt(time.Duration(i+1)*time.Minute, "000000")
	}
	r.codeAt(5*time.Minute, "123456") // too late: the verification is over
	res := r.run()
	if res.State != workflows.CallerIDTooManyAttempts || res.CodeAttempts != 3 {
		t.Fatalf("result %+v, want too_many_attempts after 3", res)
	}
	if r.f.validations != 0 {
		t.Errorf("a validation call after too many attempts")
	}
	if got := r.f.lastRecord(t); got.State != workflows.CallerIDTooManyAttempts || got.Attempts != 3 {
		t.Errorf("recorded %+v", got)
	}
}

func TestCallerIDVerification_ValidationFailedEveryCall(t *testing.T) {
	r := newCallerIDRun(t)
	r.codeAt(time.Minute, "123456")
	r.resultAt(2*time.Minute, false)
	r.resultAt(3*time.Minute, false)
	res := r.run()
	if res.State != workflows.CallerIDValidationFailed || res.CallAttempts != 2 || r.f.validations != 2 {
		t.Fatalf("result %+v after %d validation requests; want validation_failed after 2", res, r.f.validations)
	}
}

func TestCallerIDVerification_ValidationFailedThenVerifiedOnSecondCall(t *testing.T) {
	r := newCallerIDRun(t)
	var second workflows.CallerIDState
	r.codeAt(time.Minute, "123456")
	r.resultAt(2*time.Minute, false)
	r.queryAt(150*time.Second, &second)
	r.resultAt(3*time.Minute, true)
	res := r.run()
	if res.State != workflows.CallerIDVerified || res.CallAttempts != 2 {
		t.Fatalf("result %+v", res)
	}
	if second.ValidationCode != "111222" {
		t.Errorf("second call's code %q, want Twilio's new one", second.ValidationCode)
	}
}

func TestCallerIDVerification_CallResultNeverCame(t *testing.T) {
	r := newCallerIDRun(t)
	r.codeAt(time.Minute, "123456")
	res := r.run()
	if res.State != workflows.CallerIDCallExpired {
		t.Fatalf("state %q, want call_expired", res.State)
	}
}

func TestCallerIDVerification_RefusedBelowTheBalanceGate(t *testing.T) {
	r := newCallerIDRun(t)
	r.f.gateErr = &callerid.BalanceError{AvailableCents: 120}
	res := r.run()
	if res.State != workflows.CallerIDRefused || res.Reason == "" {
		t.Fatalf("result %+v, want refused with a reason", res)
	}
	if len(r.f.sent) != 0 {
		t.Errorf("an SMS was sent below the gate")
	}
}

func (r *callerIDRun) removeAt(at time.Duration, into *workflows.CallerIDState) {
	r.env.RegisterDelayedCallback(func() {
		r.env.UpdateWorkflow(workflows.UpdateCallerIDRemove, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { r.t.Errorf("remove rejected: %v", err) },
			OnComplete: func(v any, err error) {
				if err != nil {
					r.t.Errorf("remove: %v", err)
					return
				}
				*into = v.(workflows.CallerIDState)
			},
		})
	}, at)
}

func TestCallerIDVerification_RemovedWhileAwaitingTheCodeEndsAtOnce(t *testing.T) {
	r := newCallerIDRun(t)
	var answer workflows.CallerIDState
	r.removeAt(time.Minute, &answer)
	res := r.run()
	if res.State != workflows.CallerIDRemoved || answer.State != workflows.CallerIDRemoved {
		t.Fatalf("result %q, remove answered %q; want removed", res.State, answer.State)
	}
	if r.f.validations != 0 {
		t.Errorf("a validation call after the removal")
	}
	if got := r.f.lastRecord(t).State; got != workflows.CallerIDRemoved {
		t.Errorf("recorded %q, want removed", got)
	}
	// It ended at the removal, not when the code's 10 minutes ran out.
	if now := r.env.Now(); now.Sub(testStart) > 2*time.Minute {
		t.Errorf("ended %v after start", now.Sub(testStart))
	}
}

func TestCallerIDVerification_RemovedDuringTheValidationCallIgnoresItsResult(t *testing.T) {
	r := newCallerIDRun(t)
	var answer workflows.CallerIDState
	r.codeAt(time.Minute, "123456")
	r.removeAt(2*time.Minute, &answer)
	res := r.run()
	if res.State != workflows.CallerIDRemoved || answer.State != workflows.CallerIDRemoved || res.ValidationCode != "" {
		t.Fatalf("result %+v, remove answered %q; want removed with no keypad code", res, answer.State)
	}
	if r.f.validations != 1 {
		t.Errorf("%d validation calls, want the one under way", r.f.validations)
	}
	if got := r.f.lastRecord(t); got.State != workflows.CallerIDRemoved || got.VerifiedAt != nil {
		t.Errorf("recorded %+v, want removed, never verified", got)
	}
}
