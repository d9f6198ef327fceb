package workflows_test

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
)

// clockShiftEnv moves every workflow test's clock by a Go duration, so a
// child run of this package can prove the suite does not depend on the day
// it runs (TestWorkflowTests_PassAYearFromToday).
const clockShiftEnv = "MOBAYILO_TEST_CLOCK_SHIFT"

// testStart is where every workflow test's clock starts: 09:00 UTC today,
// moved by MOBAYILO_TEST_CLOCK_SHIFT. Fixtures derive their times from it
// (never from a fixed date), and the fixed time of day keeps tests that
// skip hours ahead clear of midnight, where the auto top-up day rolls.
var testStart = func() time.Time {
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(9 * time.Hour)
	if s := os.Getenv(clockShiftEnv); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			panic(clockShiftEnv + ": " + err.Error())
		}
		start = start.Add(d)
	}
	return start
}()

// newTestEnv is the one way workflow tests get a test environment: on the
// skipping clock, started at testStart, and failing the test when the
// workflow ends with signals it never handled or update handlers still
// running (an event accepted and then dropped).
func newTestEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(strictLogger{t})
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(testStart)
	return env
}

// strictLogger passes the SDK's warnings and errors to the test log and
// fails the test on the two the SDK gives when a workflow returns with work
// left: signals never received, and update handlers not finished.
type strictLogger struct{ t *testing.T }

func (l strictLogger) Debug(string, ...any) {}
func (l strictLogger) Info(string, ...any)  {}
func (l strictLogger) Warn(msg string, kv ...any) {
	if strings.Contains(msg, "unhandled signals") || strings.Contains(msg, "update handlers") {
		l.t.Errorf("workflow ended with work left: %s %v", msg, kv)
		return
	}
	l.t.Logf("WARN %s %v", msg, kv)
}
func (l strictLogger) Error(msg string, kv ...any) { l.t.Logf("ERROR %s %v", msg, kv) }

// TestWorkflowTests_PassAYearFromToday runs every workflow test that starts
// a test environment again, in a child process whose clock starts a year
// later: a fixture tied to a fixed date (the cause of a red main once)
// fails there.
func TestWorkflowTests_PassAYearFromToday(t *testing.T) {
	if os.Getenv(clockShiftEnv) != "" {
		t.Skip("already the shifted run")
	}
	cmd := exec.Command(os.Args[0], "-test.count=1",
		"-test.run", "^Test(TopUp|SaveCard|DeviceLogin|AutoTopUp|SendLoginLink|CreditLateTopUp|ReconcileLedger)_")
	cmd.Env = append(os.Environ(), clockShiftEnv+"=8760h")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the workflow tests fail with the clock a year ahead: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("PASS")) {
		t.Fatalf("the shifted run ran nothing:\n%s", out)
	}
}
