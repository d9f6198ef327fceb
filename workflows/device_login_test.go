package workflows_test

import (
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/mobayilo/mobayilo/workflows"
)

// deviceRun drives one DeviceLogin in the SDK's test environment, on its
// skipping clock: polls and decisions are scheduled at offsets from the
// moment the code was issued.
type deviceRun struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	// answers are the poll results in the order the workflow gave them.
	answers []pollOutcome
}

type pollOutcome struct {
	at       time.Duration
	result   workflows.DevicePollResult
	rejected error
	err      error
}

func newDeviceRun(t *testing.T) *deviceRun {
	env := newTestEnv(t)
	return &deviceRun{t: t, env: env}
}

func deviceInput() workflows.DeviceLoginInput {
	return workflows.DeviceLoginInput{ClientID: "moby", DeviceName: "ada-laptop", IP: "203.0.113.7",
		RequestedAt: testStart, ExpiresIn: 600 * time.Second, Interval: 5 * time.Second}
}

// pollNow sends one poll from inside a callback.
func (d *deviceRun) pollNow(at time.Duration, clientID string) {
	d.env.UpdateWorkflow(workflows.UpdateDevicePoll, "", &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) { d.answers = append(d.answers, pollOutcome{at: at, rejected: err}) },
		OnComplete: func(v any, err error) {
			r, _ := v.(workflows.DevicePollResult)
			d.answers = append(d.answers, pollOutcome{at: at, result: r, err: err})
		},
	}, workflows.DevicePoll{ClientID: clientID})
}

func (d *deviceRun) pollAt(at time.Duration) {
	d.env.RegisterDelayedCallback(func() { d.pollNow(at, "moby") }, at)
}

func (d *deviceRun) decideAt(at time.Duration, approve bool, userID int64) {
	d.env.RegisterDelayedCallback(func() {
		d.env.SignalWorkflow(workflows.SignalDeviceDecision, workflows.DeviceDecision{Approve: approve, UserID: userID})
	}, at)
}

func (d *deviceRun) run() workflows.DeviceLoginResult {
	d.t.Helper()
	d.env.ExecuteWorkflow(workflows.DeviceLogin, deviceInput())
	if !d.env.IsWorkflowCompleted() {
		d.t.Fatal("workflow did not complete")
	}
	if err := d.env.GetWorkflowError(); err != nil {
		d.t.Fatalf("workflow failed: %v", err)
	}
	var res workflows.DeviceLoginResult
	if err := d.env.GetWorkflowResult(&res); err != nil {
		d.t.Fatal(err)
	}
	return res
}

func (d *deviceRun) wantAnswers(want ...workflows.DevicePollAnswer) {
	d.t.Helper()
	if len(d.answers) != len(want) {
		d.t.Fatalf("got %d answers %+v, want %v", len(d.answers), d.answers, want)
	}
	for i, w := range want {
		if a := d.answers[i]; a.err != nil || a.rejected != nil || a.result.Answer != w {
			d.t.Errorf("poll %d at %s: %+v, want %s", i+1, a.at, a, w)
		}
	}
}

func TestDeviceLogin_ApprovalIsHandedToExactlyOnePoll(t *testing.T) {
	d := newDeviceRun(t)
	d.pollAt(5 * time.Second)
	d.decideAt(30*time.Second, true, 42)
	// Two polls in the same instant after the approval: one gets it.
	d.env.RegisterDelayedCallback(func() {
		d.pollNow(35*time.Second, "moby")
		d.pollNow(35*time.Second, "moby")
	}, 35*time.Second)
	res := d.run()

	if len(d.answers) < 2 || d.answers[0].result.Answer != workflows.PollPending {
		t.Fatalf("answers %+v: want pending before the approval", d.answers)
	}
	approved := 0
	for _, a := range d.answers[1:] {
		switch {
		case a.err == nil && a.result.Answer == workflows.PollApproved:
			approved++
			if a.result.UserID != 42 {
				t.Errorf("approved poll names user %d, want 42", a.result.UserID)
			}
		case a.err == nil && a.result.Answer == workflows.PollExpired:
		case a.err != nil || a.rejected != nil:
			// The workflow closed once the token was collected; the API
			// answers such a poll from the result.
		default:
			t.Errorf("poll after approval answered %+v", a)
		}
	}
	if approved != 1 {
		t.Fatalf("%d polls were approved, want exactly 1: %+v", approved, d.answers)
	}
	if res.Status != workflows.DeviceLoginApproved || !res.TokenIssued || res.DecidedBy != 42 || !res.DecidedAt.Equal(testStart.Add(30*time.Second)) {
		t.Fatalf("result %+v", res)
	}
	if res.LateAnswer() != workflows.PollExpired {
		t.Fatalf("a poll after the token was issued must answer expired_token, got %s", res.LateAnswer())
	}
	if ended := d.env.Now().Sub(testStart); ended != 35*time.Second {
		t.Fatalf("workflow ended %s after the request; it should end once the token is collected (35s)", ended)
	}
}

func TestDeviceLogin_DenialEndsTheLoginAsDenied(t *testing.T) {
	d := newDeviceRun(t)
	d.pollAt(5 * time.Second)
	d.decideAt(20*time.Second, false, 42)
	res := d.run()
	d.wantAnswers(workflows.PollPending)
	if res.Status != workflows.DeviceLoginDenied || res.TokenIssued || res.DecidedBy != 42 {
		t.Fatalf("result %+v", res)
	}
	if res.LateAnswer() != workflows.PollDenied {
		t.Fatalf("late poll after a denial answers %s, want access_denied", res.LateAnswer())
	}
	if ended := d.env.Now().Sub(testStart); ended != 20*time.Second {
		t.Fatalf("workflow ended at %s, want at the denial (20s)", ended)
	}
}

func TestDeviceLogin_ItsOwnTimerExpiresTheCode(t *testing.T) {
	d := newDeviceRun(t)
	d.pollAt(5 * time.Second)
	d.pollAt(599 * time.Second)
	res := d.run()
	d.wantAnswers(workflows.PollPending, workflows.PollPending)
	if res.Status != workflows.DeviceLoginExpired || res.TokenIssued || res.DecidedBy != 0 || res.Polls != 2 {
		t.Fatalf("result %+v, want expired after 2 polls", res)
	}
	if ended := d.env.Now().Sub(testStart); ended != 600*time.Second {
		t.Fatalf("workflow ended %s after the request, want exactly the 600s lifetime", ended)
	}
	if res.LateAnswer() != workflows.PollExpired {
		t.Fatalf("late answer %s", res.LateAnswer())
	}
}

func TestDeviceLogin_AnApprovalNobodyCollectsExpiresWithTheCode(t *testing.T) {
	d := newDeviceRun(t)
	d.decideAt(10*time.Second, true, 42)
	res := d.run()
	if res.Status != workflows.DeviceLoginExpired || res.TokenIssued || res.DecidedBy != 42 {
		t.Fatalf("result %+v, want expired, approved by 42, no token", res)
	}
	if ended := d.env.Now().Sub(testStart); ended != 600*time.Second {
		t.Fatalf("workflow ended at %s, want when the code expires (600s)", ended)
	}
}

func TestDeviceLogin_SlowDownAddsFiveSecondsEachTime(t *testing.T) {
	d := newDeviceRun(t)
	for _, ms := range []time.Duration{10_000, 14_500, 16_500, 23_000, 33_000, 53_000} {
		d.pollAt(ms * time.Millisecond)
	}
	// 10s: first poll. 14.5s: 4.5s later, within the jitter allowance of a
	// 5s interval. 16.5s: 2s later, too soon: slow_down, interval 10s.
	// 23s: 6.5s later, still too soon for 10s: interval 15s. 33s: 10s
	// later, too soon for 15s: interval 20s. 53s: 20s later: on time.
	d.decideAt(60*time.Second, false, 42)
	d.run()
	d.wantAnswers(workflows.PollPending, workflows.PollPending, workflows.PollSlowDown,
		workflows.PollSlowDown, workflows.PollSlowDown, workflows.PollPending)
	for i, want := range []time.Duration{5, 5, 10, 15, 20, 20} {
		if got := d.answers[i].result.Interval; got != want*time.Second {
			t.Errorf("poll %d: interval %s, want %s", i+1, got, want*time.Second)
		}
	}
}

func TestDeviceLogin_OnlyTheFirstDecisionCounts(t *testing.T) {
	d := newDeviceRun(t)
	d.decideAt(10*time.Second, true, 0) // no user: ignored
	d.decideAt(20*time.Second, false, 7)
	d.decideAt(20*time.Second, true, 8) // too late
	res := d.run()
	if res.Status != workflows.DeviceLoginDenied || res.DecidedBy != 7 || !res.DecidedAt.Equal(testStart.Add(20*time.Second)) {
		t.Fatalf("result %+v, want denied by user 7 at 20s", res)
	}
}

func TestDeviceLogin_StateQueryShowsTheDeviceAndThePace(t *testing.T) {
	d := newDeviceRun(t)
	d.pollAt(5 * time.Second)
	d.pollAt(6 * time.Second)
	var st workflows.DeviceLoginState
	d.env.RegisterDelayedCallback(func() {
		v, err := d.env.QueryWorkflow(workflows.QueryState)
		if err != nil {
			t.Error(err)
			return
		}
		if err := v.Get(&st); err != nil {
			t.Error(err)
		}
	}, 7*time.Second)
	d.decideAt(8*time.Second, false, 1)
	d.run()
	want := workflows.DeviceLoginState{Status: workflows.DeviceLoginPending, ClientID: "moby", DeviceName: "ada-laptop",
		IP: "203.0.113.7", RequestedAt: testStart, ExpiresAt: testStart.Add(10 * time.Minute),
		Interval: 10 * time.Second, Polls: 2, LastPollAt: testStart.Add(6 * time.Second)}
	if st != want {
		t.Fatalf("state\n got %+v\nwant %+v", st, want)
	}
}

func TestDeviceLogin_RefusesPollsFromAnotherClient(t *testing.T) {
	d := newDeviceRun(t)
	d.env.RegisterDelayedCallback(func() { d.pollNow(5*time.Second, "someone-else") }, 5*time.Second)
	d.decideAt(10*time.Second, false, 1)
	res := d.run()
	if len(d.answers) != 1 || d.answers[0].rejected == nil {
		t.Fatalf("answers %+v: want the poll rejected by the validator", d.answers)
	}
	if res.Polls != 0 {
		t.Fatalf("a rejected poll was counted: %+v", res)
	}
}
