package workflows_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/workflows"
)

func runReconcile(t *testing.T, setup func(env *testsuite.TestWorkflowEnvironment)) (*testsuite.TestWorkflowEnvironment, workflows.ReconcileLedgerResult) {
	t.Helper()
	env := newTestEnv(t)
	env.RegisterActivity(&activities.Activities{})
	setup(env)
	env.ExecuteWorkflow(workflows.ReconcileLedger, workflows.ReconcileLedgerInput{})
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	var res workflows.ReconcileLedgerResult
	if env.GetWorkflowError() == nil {
		if err := env.GetWorkflowResult(&res); err != nil {
			t.Fatal(err)
		}
	}
	return env, res
}

func TestReconcileLedger_CleanBooksReportClean(t *testing.T) {
	var a *activities.Activities
	env, res := runReconcile(t, func(env *testsuite.TestWorkflowEnvironment) {
		env.OnActivity(a.VerifyLedger, mock.Anything).Return(activities.VerifyLedgerResult{}, nil).Once()
	})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if !res.Clean || len(res.Discrepancies) != 0 || res.CheckedAt.IsZero() {
		t.Fatalf("result = %+v, want clean with a check time", res)
	}
	env.AssertExpectations(t)
}

func TestReconcileLedger_DiscrepanciesAreAResultNotAFailure(t *testing.T) {
	var a *activities.Activities
	found := []string{"account 7: cached balance 999, computed 100"}
	env, res := runReconcile(t, func(env *testsuite.TestWorkflowEnvironment) {
		env.OnActivity(a.VerifyLedger, mock.Anything).Return(activities.VerifyLedgerResult{Discrepancies: found}, nil)
	})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v; discrepancies must be reported, not retried", err)
	}
	if res.Clean || len(res.Discrepancies) != 1 || res.Discrepancies[0] != found[0] {
		t.Fatalf("result = %+v", res)
	}
}

func TestReconcileLedger_RetriesATransientDatabaseError(t *testing.T) {
	var a *activities.Activities
	env, res := runReconcile(t, func(env *testsuite.TestWorkflowEnvironment) {
		env.OnActivity(a.VerifyLedger, mock.Anything).Return(activities.VerifyLedgerResult{}, errors.New("connection reset")).Times(2)
		env.OnActivity(a.VerifyLedger, mock.Anything).Return(activities.VerifyLedgerResult{}, nil).Once()
	})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if !res.Clean {
		t.Fatalf("result = %+v", res)
	}
	env.AssertExpectations(t)
}

func TestReconcileLedger_GivesUpAfterFiveAttempts(t *testing.T) {
	var a *activities.Activities
	env, _ := runReconcile(t, func(env *testsuite.TestWorkflowEnvironment) {
		env.OnActivity(a.VerifyLedger, mock.Anything).Return(activities.VerifyLedgerResult{}, errors.New("database down")).Times(5)
	})
	if env.GetWorkflowError() == nil {
		t.Fatal("want the workflow to fail once the database stays down")
	}
	env.AssertExpectations(t)
}
