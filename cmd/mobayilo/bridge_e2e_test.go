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

	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/wire"
)

// TestDev_MobyCallAfterVerifyingACallerIDFromTheCLI is issue 12's "done
// when" against `mobayilo dev` and the real moby binary: the demo user
// verifies a caller ID from the CLI (request, then a code-only confirm with
// the SMS code from the dev mailbox, then the validation code keyed in on
// the sandbox phone), and `moby call` rings that phone, connects the
// destination, and prints the cost of each leg, the total and the new
// balance, which `moby balance` confirms. Before the caller ID, `moby call`
// exits 3.
func TestDev_MobyCallAfterVerifyingACallerIDFromTheCLI(t *testing.T) {
	bin := buildBinary(t)
	s := newSystem(t, bin, t.TempDir())
	s.start()
	moby := filepath.Join(t.TempDir(), "moby")
	if out, err := exec.Command("go", "build", "-o", moby, "../moby").CombinedOutput(); err != nil {
		t.Fatalf("build moby: %v\n%s", err, out)
	}

	// The demo user signs in (a plain HTTP client, as a script would) and
	// makes a CLI token on the Settings page.
	jar, _ := cookiejar.New(nil)
	web := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	post := func(path string, form url.Values) string {
		t.Helper()
		resp, err := web.PostForm(s.base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 400 {
			t.Fatalf("POST %s = %d\n%s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	post("/signin/password", url.Values{"email": {"demo@mobayilo.local"}, "password": {"mobayilo-demo"}})
	token := regexp.MustCompile(`moby_[A-Za-z0-9]+`).FindString(post("/settings/tokens", url.Values{"name": {"e2e"}}))
	if token == "" {
		t.Fatal("the Settings page showed no token")
	}
	env := append(os.Environ(), "MOBY_HOST="+s.base, "MOBY_CONFIG_DIR="+t.TempDir(), "MOBY_NO_KEYRING=1", "MOBY_TOKEN="+token, "NO_COLOR=1")
	run := mobyRunner(t, moby, env)

	if _, errOut, code := run("call", "+1 415 555 0106"); code != 3 || !strings.Contains(errOut, "moby caller-id request") {
		t.Fatalf("moby call before a caller ID = %d %q; want exit 3 saying how to verify", code, errOut)
	}

	const phone = "+14155550100" // the sandbox phone that answers and talks
	if out, errOut, code := run("caller-id", "request", "415", "555", "0100", "--country", "US"); code != 0 || !strings.Contains(out, phone) {
		t.Fatalf("moby caller-id request = %d %q %q", code, out, errOut)
	}
	sms := smsCodeFromDevMail(t, web, s.base, phone)
	if out, errOut, code := run("caller-id", "confirm", sms); code != 0 {
		t.Fatalf("moby caller-id confirm %s = %d %q %q", sms, code, out, errOut)
	}
	var keypad string
	for deadline := time.Now().Add(30 * time.Second); keypad == ""; time.Sleep(200 * time.Millisecond) {
		out, _, _ := run("caller-id", "status", "--json")
		var st wire.CallerIDStatus
		if json.Unmarshal([]byte(out), &st) == nil && len(st.CallerIDs) == 1 {
			keypad = st.CallerIDs[0].ValidationCode
		}
		if time.Now().After(deadline) {
			t.Fatalf("no validation code shown: %s", out)
		}
	}
	keyIn, _ := json.Marshal(map[string]string{"number": phone, "digits": keypad})
	resp, err := web.Post(s.base+"/sandbox/phone/keypad", "application/json", strings.NewReader(string(keyIn)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("keying in %s on the sandbox phone = %d", keypad, resp.StatusCode)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out, _, _ := run("caller-id", "status", "--json")
		var st wire.CallerIDStatus
		if json.Unmarshal([]byte(out), &st) == nil && st.Verified && st.CallerID == phone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("caller ID never verified: %s", out)
		}
	}

	before := balance(t, run)
	out, errOut, code := run("call", "415", "555-0106")
	if code != 0 {
		t.Fatalf("moby call = %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	after := balance(t, run)
	if !strings.Contains(errOut, "as +14155550106 (US") || !strings.Contains(errOut, "Ringing your phone "+phone) {
		t.Fatalf("stderr %q; want how the number was read and the ringing", errOut)
	}
	spent := before - after
	if spent <= 0 || !strings.Contains(out, "Total: "+money.Format(spent)+"\n") || !strings.Contains(out, "Balance: "+money.Format(after)+"\n") ||
		strings.Count(out, "completed") != 2 {
		t.Fatalf("moby call printed\n%s\nwant both legs completed, total %s and balance %s", out, money.Format(spent), money.Format(after))
	}
}

func balance(t *testing.T, run func(...string) (string, string, int)) int64 {
	t.Helper()
	out, errOut, code := run("balance", "--json")
	var b wire.Balance
	if code != 0 || json.Unmarshal([]byte(out), &b) != nil {
		t.Fatalf("moby balance = %d %q %q", code, out, errOut)
	}
	return b.BalanceCents
}

// smsCodeFromDevMail reads the code the sandbox texted to e164 from the dev
// mailbox page (/dev/mail), as a developer would.
func smsCodeFromDevMail(t *testing.T, web *http.Client, base, e164 string) string {
	t.Helper()
	// The page escapes the address's "+" as html/template does.
	addr := "sms&#43;" + strings.TrimPrefix(e164, "+") + "@"
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, err := web.Get(base + "/dev/mail")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := string(b)
		if i := strings.Index(page, addr); i >= 0 {
			if code := regexp.MustCompile(`\b\d{6}\b`).FindString(page[i:]); code != "" {
				return code
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no SMS to %s in the dev mailbox:\n%s", e164, page)
		}
	}
}
