package testenv

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
)

// WorkflowHistory returns a workflow run's whole history as JSON, in the
// format worker.WorkflowReplayer reads. An empty runID means the latest run.
func WorkflowHistory(t testing.TB, c client.Client, workflowID, runID string) []byte {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", workflowID, err)
		}
		h.Events = append(h.Events, e)
	}
	b, err := protojson.MarshalOptions{Multiline: true}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var recordMu sync.Mutex

// RecordHistory keeps a real history as workflows/testdata/histories/<name>.json
// for the replay test, when MOBAYILO_RECORD_HISTORIES=1; otherwise it does
// nothing. Subtests that record the same name write one whole file.
func RecordHistory(t testing.TB, hist []byte, name string) {
	t.Helper()
	if os.Getenv("MOBAYILO_RECORD_HISTORIES") != "1" {
		return
	}
	recordMu.Lock()
	defer recordMu.Unlock()
	path := filepath.Join(RepoRoot(), "workflows", "testdata", "histories", name+".json")
	if err := os.WriteFile(path, hist, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %s", path)
}
