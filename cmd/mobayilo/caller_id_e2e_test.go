package main_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/internal/wire"
)

// cliToken signs in with a password and makes a personal access token on
// /settings, as a person would for a script.
func (s *system) cliToken(email, password string) string {
	s.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	post := func(path string, form url.Values) string {
		resp, err := c.PostForm(s.base+path, form)
		if err != nil {
			s.t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 400 {
			s.t.Fatalf("POST %s = %d\n%s", path, resp.StatusCode, body)
		}
		return string(body)
	}
	post("/signin/password", url.Values{"email": {email}, "password": {password}})
	page := post("/settings/tokens", url.Values{"name": {"caller-id e2e"}, "expiry_days": {"30"}})
	tok := regexp.MustCompile(`value="(moby_[A-Za-z0-9_]+)"`).FindStringSubmatch(page)
	if tok == nil {
		s.t.Fatalf("no token on the page:\n%s", page)
	}
	return tok[1]
}

// smsCode reads the sandbox SMS to e164 from the dev mailbox, which this
// machine (loopback) may read without signing in.
func (s *system) smsCode(e164 string) string {
	s.t.Helper()
	to := regexp.QuoteMeta("sms" + e164 + "@sandbox.mobayilo.test")
	re := regexp.MustCompile(`(?s)<dd>` + to + `</dd>.*?\b(\d{6})\b`)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(s.base + "/dev/mail")
		if err != nil {
			s.t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// Templates escape the + of the address.
		if m := re.FindStringSubmatch(strings.ReplaceAll(string(page), "&#43;", "+")); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no SMS to %s in the dev mailbox:\n%s", e164, page)
		}
	}
}

// TestDev_MobyCallerIDRequestConfirmStatusRemove is issue 12's CLI promise
// against `mobayilo dev`, the real binaries: `moby caller-id request` with
// a national number and --country, a code-only `confirm` with the SMS code
// from the dev mailbox, `status --json` showing Twilio's call with its
// keypad code, then `remove --json` ending that verification: calls show
// Mobayilo's number and the status lists nothing.
func TestDev_MobyCallerIDRequestConfirmStatusRemove(t *testing.T) {
	bin := buildBinary(t)
	s := newSystem(t, bin, t.TempDir())
	s.start()
	const email, password = "cid-e2e@example.com", "caller-id-e2e-password"
	if out, code := s.admin("users", "create", "--email", email, "--password", password); code != 0 {
		t.Fatalf("create user: %s", out)
	}
	if out, code := s.admin("ledger", "adjust", "--email", email, "--amount-cents", "500", "--reason", "e2e credit"); code != 0 {
		t.Fatalf("credit: %s", out)
	}
	moby := filepath.Join(t.TempDir(), "moby")
	if out, err := exec.Command("go", "build", "-o", moby, "../moby").CombinedOutput(); err != nil {
		t.Fatalf("build moby: %v\n%s", err, out)
	}
	env := append(os.Environ(), "MOBY_HOST="+s.base, "MOBY_CONFIG_DIR="+t.TempDir(), "MOBY_NO_KEYRING=1", "MOBY_TOKEN="+s.cliToken(email, password), "NO_COLOR=1")
	run := mobyRunner(t, moby, env)
	const number = "+447400123480"

	out, errOut, code := run("caller-id", "request", "07400", "123480", "--country", "GB", "--json")
	var v wire.CallerID
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Number != number || v.State != "awaiting_code" {
		t.Fatalf("request = %d %q %q", code, out, errOut)
	}
	out, errOut, code = run("caller-id", "confirm", s.smsCode(number), "--json")
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Approved == nil || !*v.Approved {
		t.Fatalf("code-only confirm = %d %q %q", code, out, errOut)
	}
	var st wire.CallerIDStatus
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		out, errOut, code = run("caller-id", "status", "--json")
		if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
			t.Fatalf("status = %d %q %q", code, out, errOut)
		}
		if len(st.CallerIDs) == 1 && regexp.MustCompile(`^\d{6}$`).MatchString(st.CallerIDs[0].ValidationCode) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never showed the keypad code: %s", out)
		}
	}
	if st.Verified || st.CallerIDs[0].State != "awaiting_call" || st.CallerIDs[0].Number != number {
		t.Fatalf("status during the validation call %+v", st)
	}
	// The human form says the same, the code included.
	if out, _, _ := run("caller-id", "status"); !strings.Contains(out, "Validation code: "+st.CallerIDs[0].ValidationCode) {
		t.Fatalf("status (text) = %q", out)
	}

	out, errOut, code = run("caller-id", "remove", "--json")
	var rm wire.CallerIDRemoval
	if code != 0 || json.Unmarshal([]byte(out), &rm) != nil || len(rm.Removed) != 1 || rm.Removed[0] != number || rm.Verified || rm.CallerID == number {
		t.Fatalf("remove = %d %q %q", code, out, errOut)
	}
	out, _, _ = run("caller-id", "status", "--json")
	if json.Unmarshal([]byte(out), &st) != nil || len(st.CallerIDs) != 0 || st.Verified {
		t.Fatalf("status after remove = %s", out)
	}
	if _, errOut, code := run("caller-id", "remove"); code == 0 || !strings.Contains(errOut, "no caller ID to remove") {
		t.Fatalf("remove again = %d %q; want a failure saying there is nothing to remove", code, errOut)
	}
	s.stop()
}

// mobyRunner runs the real moby binary with env and returns its stdout,
// stderr and exit code (a failure to start it fails the test).
func mobyRunner(t *testing.T, moby string, env []string) func(args ...string) (string, string, int) {
	return func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(moby, args...)
		cmd.Env = env
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errOut.String(), code
	}
}
