package worker_test

import (
	"context"
	"os"
	"testing"
	"time"

	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
	mworker "github.com/mobayilo/mobayilo/worker"
	"github.com/mobayilo/mobayilo/workflows"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func TestEnsureSearchAttributes_RegistersEveryAttributeAndIsIdempotent(t *testing.T) {
	srv := testenv.Temporal(t)
	c := srv.Client(t)
	ctx := context.Background()
	for range 2 {
		if err := mworker.EnsureSearchAttributes(ctx, c, srv.Namespace); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: srv.Namespace})
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range workflows.SearchAttributes {
		if got.GetCustomAttributes()[name] != typ {
			t.Errorf("search attribute %s = %v, want %v", name, got.GetCustomAttributes()[name], typ)
		}
	}
}

// TestReconcileLedger_OnRealTemporalReportsTamperedBooks runs the worker with
// the real ledger on Postgres against a real Temporal server.
func TestReconcileLedger_OnRealTemporalReportsTamperedBooks(t *testing.T) {
	srv := testenv.Temporal(t)
	c := srv.Client(t)
	db := testenv.Postgres(t)
	svc := ledger.New(db)
	ctx := context.Background()
	acct, err := svc.OpenAccount(ctx, models.AccountIndividual, "worker-test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Post(ctx, ledger.Posting{AccountID: acct.ID, Kind: models.EntryBonus, AmountCents: 500, IdempotencyKey: "w-bonus", Actor: "test"}); err != nil {
		t.Fatal(err)
	}

	queue := "worker-test-" + time.Now().Format("150405.000")
	w := mworker.New(c, queue, &activities.Activities{Ledger: svc})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if err := mworker.EnsureSchedules(ctx, c, queue); err != nil {
		t.Fatal(err)
	}
	if err := mworker.EnsureSchedules(ctx, c, queue); err != nil {
		t.Fatalf("second EnsureSchedules must be a no-op: %v", err)
	}

	run := func(id string) workflows.ReconcileLedgerResult {
		t.Helper()
		wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, workflows.ReconcileLedger, workflows.ReconcileLedgerInput{})
		if err != nil {
			t.Fatal(err)
		}
		var res workflows.ReconcileLedgerResult
		if err := wr.Get(ctx, &res); err != nil {
			t.Fatal(err)
		}
		testenv.RecordHistory(t, testenv.WorkflowHistory(t, c, id, wr.GetRunID()), id)
		return res
	}
	if res := run("reconcile-clean"); !res.Clean {
		t.Fatalf("clean books reported %v", res.Discrepancies)
	}
	if err := db.Exec("UPDATE accounts SET balance_cents = balance_cents + 1 WHERE id = ?", acct.ID).Error; err != nil {
		t.Fatal(err)
	}
	res := run("reconcile-tampered")
	if res.Clean || len(res.Discrepancies) != 1 {
		t.Fatalf("tampered books: result %+v, want one discrepancy", res)
	}
}
