package workflows_test

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"

	mworker "github.com/mobayilo/mobayilo/worker"
)

// TestReplay_StoredHistories replays every history in testdata/histories
// against today's workflow code. A change to a running workflow that is not
// behind workflow.GetVersion fails here with a non-determinism error.
//
// Histories come from real runs on a real Temporal server: run
// `MOBAYILO_RECORD_HISTORIES=1 go test ./worker/` to record them afresh, and
// keep old ones while executions of that shape may still be open.
func TestReplay_StoredHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no histories in testdata/histories: the replay harness would test nothing")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			mworker.RegisterWorkflows(r)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
