package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

func TestDefaultTaskQueue_IsConfigDefault(t *testing.T) {
	c, err := config.Load(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if c.TemporalTaskQueue != workflows.DefaultTaskQueue {
		t.Fatalf("config default task queue %q, workflows.DefaultTaskQueue %q: the API and the worker would disagree", c.TemporalTaskQueue, workflows.DefaultTaskQueue)
	}
}

func TestReconcileLedgerWorkflowID_IsDeterministic(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.FixedZone("x", 3600))
	a := workflows.ReconcileLedgerWorkflowID("admin:1", at)
	if a != workflows.ReconcileLedgerWorkflowID("admin:1", at.UTC()) || !strings.Contains(a, "20261122T090000Z") {
		t.Fatalf("id %q is not derived from its inputs in UTC", a)
	}
}

func TestAutoTopUpNeedsAttentionQuery_IsTheOneTheRunbookDocuments(t *testing.T) {
	const documented = `WorkflowType="AutoTopUp" AND ExecutionStatus="Running" AND MobayiloPaymentState IN ("failed","needs_authentication")`
	if workflows.AutoTopUpNeedsAttentionQuery != documented {
		t.Fatalf("query %s, RUNBOOK documents %s", workflows.AutoTopUpNeedsAttentionQuery, documented)
	}
}

func TestStatesAreTheStoredStatuses(t *testing.T) {
	for _, c := range [][2]string{
		{workflows.PaymentAwaiting, string(models.TopUpAwaitingPayment)},
		{workflows.PaymentSucceeded, string(models.TopUpSucceeded)},
		{workflows.PaymentExpired, string(models.TopUpExpired)},
		{workflows.PaymentFailed, string(models.TopUpFailed)},
		{workflows.CardSetupPending, string(models.CardSetupPending)},
		{workflows.CardSetupSaved, string(models.CardSetupSaved)},
		{workflows.CardSetupExpired, string(models.CardSetupExpired)},
		{workflows.CardSetupFailed, string(models.CardSetupFailed)},
	} {
		if c[0] != c[1] {
			t.Errorf("workflow state %q is stored as %q", c[0], c[1])
		}
	}
}
