package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// system is `mobayilo dev` as `make run` starts it, on free ports and a
// fresh data folder.
type system struct {
	t      *testing.T
	bin    string
	env    []string
	base   string
	uiPort int
	// temporal is the dev server's frontend address, for the temporal CLI.
	temporal string
	cmd      *exec.Cmd
	out      *syncBuffer
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mobayilo")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func newSystem(t *testing.T, bin string, dataDir string) *system {
	if _, err := os.Stat(testenv.TemporalBinary()); err != nil {
		testenv.Unavailable(t, "Temporal CLI", err)
	}
	port, tport, uiPort := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	s := &system{t: t, bin: bin, uiPort: uiPort, base: fmt.Sprintf("http://localhost:%d", port), temporal: fmt.Sprintf("127.0.0.1:%d", tport)}
	s.env = append(os.Environ(),
		"MOBAYILO_DATA_DIR="+dataDir,
		fmt.Sprintf("PORT=%d", port),
		fmt.Sprintf("TEMPORAL_ADDRESS=127.0.0.1:%d", tport),
		fmt.Sprintf("TEMPORAL_UI_PORT=%d", uiPort),
		"MOBAYILO_TEMPORAL_CLI="+testenv.TemporalBinary(),
		"DATABASE_URL=", "TWILIO_ACCOUNT_SID=", "STRIPE_SECRET_KEY=", "TWILIO_AUTH_TOKEN=", "STRIPE_WEBHOOK_SECRET=",
	)
	return s
}

func (s *system) start() {
	s.t.Helper()
	s.out = &syncBuffer{}
	s.cmd = exec.Command(s.bin, "dev")
	s.cmd.Env = s.env
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Signal(syscall.SIGINT)
			_ = s.cmd.Wait()
		}
	})
	deadline := time.Now().Add(120 * time.Second)
	for {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) || strings.Contains(s.out.String(), "exited at start") {
			s.t.Fatalf("/readyz never answered 200; output:\n%s", s.out)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// stop sends Ctrl-C and expects a clean exit that takes Temporal down too.
func (s *system) stop() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			s.t.Fatalf("mobayilo dev exited with %v after Ctrl-C; output:\n%s", err, s.out)
		}
	case <-time.After(40 * time.Second):
		_ = s.cmd.Process.Kill()
		s.t.Fatalf("mobayilo dev did not stop within 40 s of Ctrl-C; output:\n%s", s.out)
	}
	if resp, err := http.Get(fmt.Sprintf("http://localhost:%d/", s.uiPort)); err == nil {
		resp.Body.Close()
		s.t.Fatal("the Temporal UI still answers after Ctrl-C: the dev server was left running")
	}
}

func (s *system) admin(args ...string) (string, int) {
	s.t.Helper()
	cmd := exec.Command(s.bin, args...)
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	return string(out), code
}

func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &body)
	return resp.StatusCode, body
}

// TestDev_RunsTheWholeSystemAndKeepsItsDataAcrossRestarts is `make run`'s
// promise: /readyz 200, the Temporal UI up, demo account and rates seeded,
// operator commands working beside it, a clean Ctrl-C, and a second start
// reusing the data.
func TestDev_RunsTheWholeSystemAndKeepsItsDataAcrossRestarts(t *testing.T) {
	bin := buildBinary(t)
	data := t.TempDir()
	s := newSystem(t, bin, data)
	s.start()

	resp, err := http.Get(fmt.Sprintf("http://localhost:%d/", s.uiPort))
	if err != nil {
		t.Fatalf("Temporal UI: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("Temporal UI answered %d", resp.StatusCode)
	}
	if !strings.Contains(s.out.String(), "demo@mobayilo.local") {
		t.Fatalf("the banner does not show the demo login:\n%s", s.out)
	}
	if code, body := getJSON(t, s.base+"/api/rates/calculate?phone_number=0612345678&country=FR"); code != 200 || body["e164"] != "+33612345678" {
		t.Fatalf("rate lookup on the seeded table: %d %v", code, body)
	}

	// The sandbox delivers signed webhooks to the real endpoint; a forged
	// one is refused.
	ctx := context.Background()
	good := providers.NewSandboxWebhooks(s.base, config.DevTwilioAuthToken, config.DevStripeWebhookSecret, nil)
	if code, err := good.DeliverStripe(ctx, providers.NewStripeEvent("evt_dev_1", "customer.created", map[string]any{"id": "cus_1", "object": "customer"})); err != nil || code != 200 {
		t.Fatalf("signed stripe event: %d %v", code, err)
	}
	forged := providers.NewSandboxWebhooks(s.base, "wrong", "whsec_wrong", nil)
	if code, _ := forged.DeliverStripe(ctx, providers.NewStripeEvent("evt_dev_2", "customer.created", map[string]any{"id": "cus_1"})); code != 400 {
		t.Fatalf("forged stripe event answered %d, want 400", code)
	}
	if code, err := good.DeliverTwilio(ctx, "/api/webhooks/twilio/status", map[string][]string{"CallSid": {"CA1"}, "CallStatus": {"completed"}}); err != nil || code != 204 {
		t.Fatalf("signed twilio callback: %d %v", code, err)
	}
	if code, _ := forged.DeliverTwilio(ctx, "/api/webhooks/twilio/status", map[string][]string{"CallSid": {"CA1"}}); code != 403 {
		t.Fatalf("forged twilio callback answered %d, want 403", code)
	}

	out, code := s.admin("ledger", "adjust", "--email", "demo@mobayilo.local", "--amount-cents", "-500", "--reason", "e2e debit")
	if code != 0 || !strings.Contains(out, "2000 -> 1500") {
		t.Fatalf("ledger adjust: exit %d\n%s", code, out)
	}
	out, code = s.admin("ledger", "adjust", "--email", "demo@mobayilo.local", "--amount-cents", "-500", "--reason", "e2e debit")
	if code != 0 || !strings.Contains(out, "already applied") {
		t.Fatalf("repeated ledger adjust must apply once: exit %d\n%s", code, out)
	}
	if out, code = s.admin("ledger", "verify"); code != 0 || !strings.Contains(out, "1 accounts and 2 entries") {
		t.Fatalf("ledger verify: exit %d\n%s", code, out)
	}
	if out, code = s.admin("ledger", "adjust", "--email", "nobody@example.com", "--amount-cents", "5", "--reason", "x"); code == 0 || !strings.Contains(out, "user not found") {
		t.Fatalf("adjust for an unknown user: exit %d\n%s", code, out)
	}
	if out, code = s.admin("ledger", "adjust", "--email", "demo@mobayilo.local", "--amount-cents", "-999999", "--reason", "too much"); code == 0 || !strings.Contains(out, "insufficient funds") {
		t.Fatalf("overdrawing adjust: exit %d\n%s", code, out)
	}
	s.stop()

	s2 := newSystem(t, bin, data)
	s2.start()
	if out, code = s2.admin("ledger", "verify"); code != 0 || !strings.Contains(out, "1 accounts and 2 entries") {
		t.Fatalf("after restart the data must be reused, not re-seeded: exit %d\n%s", code, out)
	}
	s2.stop()
}

func TestMobayilo_BadConfigurationNamesTheVariable(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "migrate")
	cmd.Env = append(os.Environ(), "PORT=eighty", "MOBAYILO_DATA_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "PORT") {
		t.Fatalf("exit %v, output %q; want exit 2 naming PORT", err, out)
	}
}

// A Temporal dev server that dies at start (a taken port, a broken binary)
// is reported with the end of its log, not as a silent dial timeout.
func TestDev_ATemporalServerThatDiesAtStartIsReportedWithItsLog(t *testing.T) {
	bin := buildBinary(t)
	s := newSystem(t, bin, t.TempDir())
	fake := filepath.Join(t.TempDir(), "temporal")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'listen tcp: bind: address already in use' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s.env = append(s.env, "MOBAYILO_TEMPORAL_CLI="+fake)
	out, code := s.admin("dev")
	if code == 0 || !strings.Contains(out, "the temporal dev server exited at start (exit status 3)") || !strings.Contains(out, "address already in use") {
		t.Fatalf("mobayilo dev exited %d with:\n%s\nwant the server's exit and its log", code, out)
	}
}
