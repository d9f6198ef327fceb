package workflows_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	mworker "github.com/mobayilo/mobayilo/worker"
)

// registeredNames collects the names mworker.RegisterWorkflows gives the
// worker, so the replay test knows which workflows need a history.
type registeredNames []string

func (r *registeredNames) RegisterWorkflowWithOptions(_ interface{}, o workflow.RegisterOptions) {
	*r = append(*r, o.Name)
}

// historyWorkflowType is the workflow type a stored history ran.
func historyWorkflowType(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	name := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()
	if name == "" {
		t.Fatalf("%s does not start with a workflow execution started event", path)
	}
	return name
}

// TestReplay_StoredHistories replays every history in testdata/histories
// against today's workflow code. A change to a running workflow that is not
// behind workflow.GetVersion fails here with a non-determinism error. Every
// workflow the worker registers must have at least one history, so a new
// workflow cannot ship with nothing holding its running executions.
//
// Histories come from real runs on a real Temporal server: the tests that
// drive a workflow end to end (in ./api, ./internal/autotopup and ./worker)
// keep its history when run with MOBAYILO_RECORD_HISTORIES=1, e.g.
// `MOBAYILO_RECORD_HISTORIES=1 CI=true go test ./api/ ./internal/autotopup/ ./worker/`.
// Keep old ones while executions of that shape may still be open.
func TestReplay_StoredHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no histories in testdata/histories: the replay harness would test nothing")
	}
	var registered registeredNames
	mworker.RegisterWorkflows(&registered)
	var replayed []string
	for _, f := range files {
		replayed = append(replayed, historyWorkflowType(t, f))
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			mworker.RegisterWorkflows(r)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
	for _, name := range registered {
		if name == "" {
			t.Error("a workflow is registered without a stable name")
		} else if !slices.Contains(replayed, name) {
			t.Errorf("workflow %s is registered with the worker but has no history in testdata/histories: record one from a real run (see this test's comment)", name)
		}
	}
}
