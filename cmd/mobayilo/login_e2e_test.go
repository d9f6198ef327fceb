package main_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mobayilo/mobayilo/internal/testenv"
)

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDev_MobyAuthLoginCompletesThroughBrowserApproval is the identity
// issue's promise end to end: against `mobayilo dev`, `moby auth login`
// prints a code, a person signs in with the demo password in a real browser
// and approves the code on /device, and `moby auth status` then shows the
// account.
func TestDev_MobyAuthLoginCompletesThroughBrowserApproval(t *testing.T) {
	bin := buildBinary(t)
	s := newSystem(t, bin, t.TempDir())
	s.start()

	moby := filepath.Join(t.TempDir(), "moby")
	if out, err := exec.Command("go", "build", "-o", moby, "../moby").CombinedOutput(); err != nil {
		t.Fatalf("build moby: %v\n%s", err, out)
	}
	cfgDir := t.TempDir()
	mobyEnv := append(os.Environ(), "MOBY_HOST="+s.base, "MOBY_CONFIG_DIR="+cfgDir, "MOBY_NO_KEYRING=1", "MOBY_TOKEN=", "NO_COLOR=1")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	login := exec.CommandContext(ctx, moby, "auth", "login", "--no-browser")
	login.Env = mobyEnv
	out := &syncBuffer{}
	login.Stdout, login.Stderr = out, out
	if err := login.Start(); err != nil {
		t.Fatal(err)
	}
	codeRE := regexp.MustCompile(`[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}`)
	var code string
	for deadline := time.Now().Add(30 * time.Second); code == ""; {
		code = codeRE.FindString(out.String())
		if time.Now().After(deadline) {
			t.Fatalf("moby auth login printed no code:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	browser := testenv.Browser(t)
	if err := chromedp.Do(browser,
		chromedp.Navigate(s.base+"/signin/password"),
		chromedp.SendKeys(chromedp.CSS("#password-email"), "demo@mobayilo.local"),
		chromedp.SendKeys(chromedp.CSS("#password-password"), "mobayilo-demo"),
		chromedp.Submit(chromedp.CSS("#password-password")),
		// The signed-in page, not the form page that also has the tab bar:
		// navigating on before the sign-in lands would abort it.
		chromedp.WaitReady(chromedp.CSS("[data-viewer-email]")),
		chromedp.Navigate(s.base+"/device?user_code="+code),
		chromedp.WaitVisible(chromedp.CSS("[data-device-approve]")),
		chromedp.Click(chromedp.CSS("[data-device-approve]")),
		chromedp.WaitNotPresent(chromedp.CSS("[data-device-approve]")),
	); err != nil {
		t.Fatalf("browser approval: %v\nmoby said:\n%s", err, out.String())
	}
	if err := login.Wait(); err != nil {
		t.Fatalf("moby auth login: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "demo@mobayilo.local") {
		t.Fatalf("login output does not name the account:\n%s", out.String())
	}

	status := exec.Command(moby, "auth", "status", "--json")
	status.Env = mobyEnv
	raw, err := status.Output()
	if err != nil {
		t.Fatalf("moby auth status: %v\n%s", err, raw)
	}
	var st map[string]any
	if err := json.NewDecoder(bufio.NewReader(bytes.NewReader(raw))).Decode(&st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, raw)
	}
	if !strings.Contains(string(raw), "demo@mobayilo.local") || !strings.Contains(string(raw), `"balance_cents": 2000`) && !strings.Contains(string(raw), `"balance_cents":2000`) {
		t.Fatalf("status does not show the demo account and its $20.00:\n%s", raw)
	}
	s.stop()
}
