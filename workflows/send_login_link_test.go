package workflows_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/workflows"
)

var linkInput = workflows.SendLoginLinkInput{Kind: activities.LinkSignIn, UserID: 42, Email: "ana@example.com", BaseURL: "https://app.example", Next: "/dial"}

// sendFunc is an alias: the SDK checks the mock's type exactly.
type sendFunc = func(ctx context.Context, in activities.SendLoginLinkInput) (activities.SendLoginLinkResult, error)

// runSendLoginLink runs the workflow with the activity replaced by what
// send returns; send gets the test environment to read its clock.
func runSendLoginLink(t *testing.T, send func(env *testsuite.TestWorkflowEnvironment) sendFunc) (*testsuite.TestWorkflowEnvironment, workflows.SendLoginLinkResult) {
	t.Helper()
	env := newTestEnv(t)
	env.RegisterActivity(&activities.Activities{})
	var a *activities.Activities
	env.OnActivity(a.SendLoginLink, mock.Anything, mock.Anything).Return(send(env))
	env.ExecuteWorkflow(workflows.SendLoginLink, linkInput)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	var res workflows.SendLoginLinkResult
	if env.GetWorkflowError() == nil {
		if err := env.GetWorkflowResult(&res); err != nil {
			t.Fatal(err)
		}
	}
	return env, res
}

func TestSendLoginLink_RetriesAFailedSendWithBackoffUntilItGoesThrough(t *testing.T) {
	var attempts []time.Time
	env, res := runSendLoginLink(t, func(env *testsuite.TestWorkflowEnvironment) sendFunc {
		return func(_ context.Context, in activities.SendLoginLinkInput) (activities.SendLoginLinkResult, error) {
			attempts = append(attempts, env.Now())
			if in.Kind != linkInput.Kind || in.UserID != linkInput.UserID || in.Email != linkInput.Email || in.BaseURL != linkInput.BaseURL || in.Next != linkInput.Next {
				t.Errorf("activity got %+v, want the workflow's input %+v", in, linkInput)
			}
			if len(attempts) < 4 {
				return activities.SendLoginLinkResult{}, errors.New("smtp: 451 try again later")
			}
			return activities.SendLoginLinkResult{Sent: true}, nil
		}
	})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if !res.Sent || res.Skipped != "" || len(attempts) != 4 {
		t.Fatalf("result %+v after %d attempts, want sent on the 4th", res, len(attempts))
	}
	// Backoff: 5 s, then 10 s, then 20 s between attempts.
	for i, want := range []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second} {
		if got := attempts[i+1].Sub(attempts[i]); got < want {
			t.Errorf("attempt %d came %s after the previous one, want at least %s", i+2, got, want)
		}
	}
}

func TestSendLoginLink_GivesUpAfterTheDeliveryWindow(t *testing.T) {
	var attempts []time.Time
	env, _ := runSendLoginLink(t, func(env *testsuite.TestWorkflowEnvironment) sendFunc {
		return func(context.Context, activities.SendLoginLinkInput) (activities.SendLoginLinkResult, error) {
			attempts = append(attempts, env.Now())
			return activities.SendLoginLinkResult{}, errors.New("smtp: connection refused")
		}
	})
	if env.GetWorkflowError() == nil {
		t.Fatal("want the workflow to fail once mail stays down for the whole window")
	}
	if len(attempts) == 0 {
		t.Fatal("the activity never ran")
	}
	span := attempts[len(attempts)-1].Sub(attempts[0])
	if len(attempts) < 15 || span < 50*time.Minute || span > workflows.LoginLinkDeliveryWindow {
		t.Fatalf("%d attempts over %s; want retries spread over about %s", len(attempts), span, workflows.LoginLinkDeliveryWindow)
	}
}

func TestSendLoginLink_AnIncompleteRequestIsNotRetried(t *testing.T) {
	env := newTestEnv(t)
	env.RegisterActivity(&activities.Activities{})
	// The real activity refuses a request without a user before touching
	// any of its dependencies.
	env.ExecuteWorkflow(workflows.SendLoginLink, workflows.SendLoginLinkInput{Kind: activities.LinkSignIn, Email: "ana@example.com", BaseURL: "https://app.example"})
	err := env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), activities.ErrTypeBadLinkRequest) {
		t.Fatalf("workflow error %v, want a non-retryable %s", err, activities.ErrTypeBadLinkRequest)
	}
}

func TestSendLoginLink_ADisabledUserIsAResultNotAFailure(t *testing.T) {
	calls := 0
	env, res := runSendLoginLink(t, func(*testsuite.TestWorkflowEnvironment) sendFunc {
		return func(context.Context, activities.SendLoginLinkInput) (activities.SendLoginLinkResult, error) {
			calls++
			return activities.SendLoginLinkResult{Skipped: activities.SkipUserDisabled}, nil
		}
	})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if res.Sent || res.Skipped != activities.SkipUserDisabled || calls != 1 {
		t.Fatalf("result %+v after %d calls, want skipped once", res, calls)
	}
}

func TestLoginLinkWorkflowID_CollapsesRequestsWithinTheWindow(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	id := workflows.LoginLinkWorkflowID("signin", 42, at)
	if same := workflows.LoginLinkWorkflowID("signin", 42, at.Add(workflows.LoginLinkDedupWindow-time.Millisecond)); same != id {
		t.Fatalf("a repeat within the window got %q, want %q", same, id)
	}
	for _, other := range []string{
		workflows.LoginLinkWorkflowID("signin", 42, at.Add(workflows.LoginLinkDedupWindow)),
		workflows.LoginLinkWorkflowID("password_reset", 42, at),
		workflows.LoginLinkWorkflowID("signin", 43, at),
	} {
		if other == id {
			t.Fatalf("%q collides with %q", other, id)
		}
	}
	if strings.Contains(id, "@") {
		t.Fatalf("workflow id %q should not carry an email address", id)
	}
}
