package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"

	"github.com/mobayilo/mobayilo/internal/app"
	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

func TestLedgerAdjust_ADebitBelowTheThresholdStartsAutoTopUp(t *testing.T) {
	ctx := context.Background()
	tmp := testenv.Temporal(t)
	tc := tmp.Client(t)
	t.Setenv("MOBAYILO_DATA_DIR", t.TempDir())
	t.Setenv("DATABASE_URL", "")
	t.Setenv("TEMPORAL_ADDRESS", tmp.HostPort)
	t.Setenv("TEMPORAL_TASK_QUEUE", "autotopup-trigger-test") // no worker: the test only sees the start
	t.Setenv("AUTO_TOPUP_FAILURE_WAIT", "48h")
	t.Setenv("AUTO_TOPUP_RETRY_BACKOFF", "15m")
	if _, err := mobayilo(t, "users", "create", "--email", "ana@example.test"); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.FromOS()
	if err != nil {
		t.Fatal(err)
	}
	db, err := app.OpenDB(ctx, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	var ana models.User
	db.Where("email = ?", "ana@example.test").Take(&ana)
	svc := autotopup.New(db, ledger.New(db))
	card, _ := autotopup.SandboxCard(providers.SandboxCardVisa)
	if _, err := svc.SaveCard(ctx, ana.AccountID, card); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Save(ctx, ana.AccountID, autotopup.Update{Enabled: true, ThresholdCents: 200, AmountCents: 2000, DailyMaxCount: 3, DailyMaxCents: 6000}); err != nil {
		t.Fatal(err)
	}
	if s, _ := db.DB(); s != nil {
		_ = s.Close()
	}
	id := workflows.AutoTopUpWorkflowID(ana.AccountID)
	t.Cleanup(func() { _ = tc.TerminateWorkflow(context.Background(), id, "", "test over") })

	if out, err := mobayilo(t, "ledger", "adjust", "--email", "ana@example.test", "--amount-cents", "500", "--reason", "seed"); err != nil || strings.Contains(out, "auto top-up") {
		t.Fatalf("a credit: %q %v; want no auto top-up", out, err)
	}
	if out, err := mobayilo(t, "ledger", "adjust", "--email", "ana@example.test", "--amount-cents", "-200", "--reason", "still above"); err != nil || strings.Contains(out, "auto top-up") {
		t.Fatalf("a debit leaving $3: %q %v; want no auto top-up", out, err)
	}
	if _, err := tc.DescribeWorkflowExecution(ctx, id, ""); err == nil {
		t.Fatal("the workflow started while the balance was above the threshold")
	}
	out, err := mobayilo(t, "ledger", "adjust", "--email", "ana@example.test", "--amount-cents", "-250", "--reason", "below")
	if err != nil || !strings.Contains(out, fmt.Sprintf("auto top-up triggered (workflow %s)", id)) {
		t.Fatalf("a debit leaving 50 cents: %q %v; want the trigger reported", out, err)
	}
	d, err := tc.DescribeWorkflowExecution(ctx, id, "")
	if err != nil || d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING || d.GetWorkflowExecutionInfo().GetType().GetName() != workflows.NameAutoTopUp {
		t.Fatalf("describe %s: %v %v; want a running AutoTopUp", id, d, err)
	}
	// The deployment's AUTO_TOPUP_FAILURE_WAIT reaches the workflow.
	ev, err := tc.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT).Next()
	if err != nil {
		t.Fatal(err)
	}
	var in workflows.AutoTopUpInput
	if err := converter.GetDefaultDataConverter().FromPayloads(ev.GetWorkflowExecutionStartedEventAttributes().GetInput(), &in); err != nil {
		t.Fatal(err)
	}
	if in.FailureWait != 48*time.Hour || in.RetryBackoff != 15*time.Minute || in.AccountID != ana.AccountID {
		t.Fatalf("started with %+v; want FailureWait 48h from AUTO_TOPUP_FAILURE_WAIT and RetryBackoff 15m from AUTO_TOPUP_RETRY_BACKOFF", in)
	}
}
