package main_test

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/internal/testenv"
)

// cleanEnv is a process environment with no provider settings at all.
func cleanEnv(t *testing.T, extra ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "MOBAYILO_DATA_DIR=" + t.TempDir()}, extra...)
}

// The production processes never fall back to the sandbox quietly: without
// live provider settings they refuse to start, naming what is missing, and
// a half-live sandbox is refused too.
func TestMobayilo_APIAndWorkerRefuseToStartWithoutLiveSettings(t *testing.T) {
	bin := buildBinary(t)
	for _, sub := range []string{"api", "worker"} {
		cmd := exec.Command(bin, sub)
		cmd.Env = cleanEnv(t, "TEMPORAL_ADDRESS=127.0.0.1:1")
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 {
			t.Fatalf("mobayilo %s without provider settings: %v\n%s\nwant exit 2", sub, err, out)
		}
		for _, want := range []string{"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "MOBAYILO_SANDBOX=true"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("mobayilo %s: %q does not name %s", sub, out, want)
			}
		}
		cmd = exec.Command(bin, sub)
		cmd.Env = cleanEnv(t, "TEMPORAL_ADDRESS=127.0.0.1:1", "MOBAYILO_SANDBOX=true", "STRIPE_SECRET_KEY=sk_test_1", "STRIPE_WEBHOOK_SECRET=whsec_1")
		out, err = cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "all live or all sandbox") {
			t.Fatalf("mobayilo %s with live Stripe in sandbox mode: %v\n%s\nwant exit 2, mixing refused", sub, err, out)
		}
	}
}

// Chosen, the sandbox says so at start-up, loudly.
func TestMobayilo_APIInChosenSandboxModeWarnsAtStart(t *testing.T) {
	bin := buildBinary(t)
	tsrv := testenv.Temporal(t)
	cmd := exec.Command(bin, "api")
	out := &syncBuffer{}
	cmd.Env = cleanEnv(t, "MOBAYILO_SANDBOX=true", "TEMPORAL_ADDRESS="+tsrv.HostPort, "PORT="+strconv.Itoa(testenv.FreePort(t)))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if s := out.String(); strings.Contains(s, "api listening") {
			if !strings.Contains(s, "SANDBOX MODE") {
				t.Fatalf("the api started in sandbox mode without a warning:\n%s", s)
			}
			return
		}
	}
	t.Fatalf("the api did not start:\n%s", out.String())
}
