package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/mobayilo/mobayilo/internal/testenv"
)

// press clicks an element the way a finger reaches it after scrolling, even
// where the fixed tab bar covers it; the click runs after the evaluation
// returns, so a click that navigates cannot destroy its own context.
func press(selector string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`{ const el = document.querySelector(` + strconv.Quote(selector) + `); setTimeout(() => el.click(), 0); }`)
}

// text reads an element's text, failing the test when it is missing.
func text(t *testing.T, ctx context.Context, selector string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(selector)))
	if err != nil {
		t.Fatalf("read %s: %v", selector, err)
	}
	return strings.TrimSpace(s)
}

// arrive waits until the browser's address contains want, riding out the
// navigation a form post causes (a script polled mid-navigation would fail).
func arrive(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err == nil && strings.Contains(loc, want) {
			if _, err := chromedp.Run(ctx, chromedp.WaitReady(chromedp.CSS("body"))); err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the browser never reached %q (at %q, %v)", want, loc, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// temporalCLI runs the temporal CLI against the dev server, as ops would.
func (s *system) temporalCLI(args ...string) []byte {
	s.t.Helper()
	out, err := exec.Command(testenv.TemporalBinary(), append(args, "--address", s.temporal)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("temporal %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// autoTopUpState is the part of the AutoTopUp `state` query this test reads.
type autoTopUpState struct {
	State    string
	Attempts []struct{ Outcome string }
}

func (s *system) queryAutoTopUp(workflowID string) autoTopUpState {
	s.t.Helper()
	raw := s.temporalCLI("workflow", "query", "--workflow-id", workflowID, "--name", "state", "--output", "json")
	var out struct {
		QueryResult []autoTopUpState `json:"queryResult"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out.QueryResult) != 1 {
		s.t.Fatalf("state query answer %s: %v", raw, err)
	}
	return out.QueryResult[0]
}

// TestDev_CreditsDoneWhenWalkthrough is the credits issue's "Done when", in
// a real browser against `mobayilo dev` exactly as `make run` starts it: a
// new user signs up, tops up $5, saves a card through the sandbox Checkout
// (setup mode), turns auto top-up on and watches it fire once after a
// debit; then a declining card makes an auto top-up fail, ops find it with
// the documented visibility query, and an operator retries it from /admin.
func TestDev_CreditsDoneWhenWalkthrough(t *testing.T) {
	bin := buildBinary(t)
	s := newSystem(t, bin, t.TempDir())
	s.start()
	if out, code := s.admin("users", "create", "--email", "ops@example.com", "--admin", "--password", "ops-walkthrough-pass"); code != 0 {
		t.Fatalf("create operator: %s", out)
	}
	b := testenv.Browser(t)
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(b, 45*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			html, _ := chromedp.Run(b, chromedp.OuterHTML(chromedp.CSS("body")))
			t.Fatalf("%s: %v\npage:\n%s", what, err, html)
		}
	}

	// A new user: email-first sign-in creates the account; the link comes
	// from the dev mailbox.
	const owner = "walker@example.com"
	step("sign up",
		testenv.MobileViewport(),
		chromedp.Navigate(s.base+"/signin"),
		chromedp.SendKeys(chromedp.CSS("#signin-email"), owner),
		chromedp.Submit(chromedp.CSS("#signin-email")),
		chromedp.WaitVisible(chromedp.CSS(".status-title")),
	)
	// The link is mailed by a workflow: reload the dev mailbox until it is
	// there, as a person would.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		step("open the dev mailbox", chromedp.Navigate(s.base+"/dev/mail"), chromedp.WaitReady(chromedp.CSS(".devmail")))
		n, err := chromedp.Run(b, chromedp.Evaluate[int](`document.querySelectorAll("[data-devmail-link]").length`))
		if err == nil && n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sign-in link in the dev mailbox after 60 s (%v)", err)
		}
	}
	step("follow the link",
		press("[data-devmail-link]"),
		chromedp.WaitVisible(chromedp.CSS("[data-magic-confirm]")),
		press("[data-magic-confirm]"),
		chromedp.WaitReady(chromedp.CSS("[data-viewer-email]")),
	)

	// Top up $5 through the sandbox checkout: back on the dialer with the
	// new balance.
	step("top up $5",
		chromedp.Navigate(s.base+"/credits"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=amount][value="5"]`)),
		press(`input[name=amount][value="5"]`),
		press("[data-topup-submit]"),
		chromedp.WaitVisible(chromedp.CSS(`[data-card="pm_card_visa"]`)),
		press(`[data-card="pm_card_visa"]`),
		chromedp.WaitVisible(chromedp.CSS(`.tab[aria-current="page"][href="/dial"]`)),
	)
	if flash := text(t, b, ".flash"); !strings.Contains(flash, "Your balance is $5.00") {
		t.Fatalf("after paying, the dialer says %q", flash)
	}

	saveCard := func(card, last4 string) {
		t.Helper()
		step("save card "+card,
			chromedp.Navigate(s.base+"/autotopup"),
			chromedp.WaitVisible(chromedp.CSS("[data-save-card]")),
			press("[data-save-card]"),
			chromedp.WaitVisible(chromedp.CSS(`[data-card="`+card+`"]`)),
			press(`[data-card="`+card+`"]`),
		)
		arrive(t, b, "/autotopup")
		// The sandbox page waits a bounded time for the workflow; on a busy
		// machine the card may land a moment after the redirect.
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
			got, _ := chromedp.Run(b, chromedp.Evaluate[string](`(document.querySelector("[data-saved-card]") || {}).textContent || ""`))
			if strings.Contains(got, last4) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("saved card shows %q, want …%s", got, last4)
			}
			step("reload auto top-up", chromedp.Navigate(s.base+"/autotopup"), chromedp.WaitReady(chromedp.CSS("[data-save-card]")))
		}
	}
	saveCard("pm_card_visa", "4242")

	// Opt in with the suggested $2 threshold and $20 amount.
	step("turn auto top-up on",
		chromedp.WaitVisible(chromedp.CSS(`input[name=enabled]`)),
		press(`input[name=enabled]`),
		press(`form[action="/autotopup"] button[type=submit]`),
	)
	arrive(t, b, "done=saved")
	if flash := text(t, b, ".flash"); !strings.Contains(flash, "saved") {
		t.Fatalf("saving settings says %q", flash)
	}

	// A debit to $1 (the operator's adjustment: the same hook as call
	// charges) fires auto top-up once, after its cooldown.
	if out, code := s.admin("ledger", "adjust", "--email", owner, "--amount-cents", "-400", "--reason", "walkthrough debit one"); code != 0 {
		t.Fatalf("debit: %s", out)
	}
	waitBalance := func(want string) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			step("read the balance", chromedp.Navigate(s.base+"/credits"), chromedp.WaitVisible(chromedp.CSS("[data-balance]")))
			got := text(t, b, "[data-balance]")
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("balance stayed %s, want %s", got, want)
			}
			time.Sleep(2 * time.Second)
		}
	}
	waitBalance("$21.00")
	kinds, err := chromedp.Run(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll("[data-entry-kind]")].map(e => e.dataset.entryKind)`))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(strings.Join(kinds, ","), "auto_topup"); n != 1 {
		t.Fatalf("transactions %v: want exactly one auto top-up", kinds)
	}

	// A card that is declined: the next auto top-up fails, and ops find it
	// with the RUNBOOK's query.
	saveCard("pm_card_chargeDeclined", "0002")
	if out, code := s.admin("ledger", "adjust", "--email", owner, "--amount-cents", "-2000", "--reason", "walkthrough debit two"); code != 0 {
		t.Fatalf("debit: %s", out)
	}
	const query = `WorkflowType="AutoTopUp" AND MobayiloPaymentState="failed"`
	var found []struct {
		Execution struct{ WorkflowID string } `json:"execution"`
	}
	for deadline := time.Now().Add(2 * time.Minute); len(found) == 0; {
		raw := s.temporalCLI("workflow", "list", "--query", query, "--output", "json")
		found = nil
		if err := json.Unmarshal(raw, &found); err != nil && len(strings.TrimSpace(string(raw))) > 0 {
			t.Fatalf("workflow list output %s: %v", raw, err)
		}
		if len(found) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("no failed auto top-up found with %s", query)
			}
			time.Sleep(2 * time.Second)
		}
	}
	wfID := found[0].Execution.WorkflowID
	before := s.queryAutoTopUp(wfID)
	if before.State != "failed" || len(before.Attempts) != 2 || before.Attempts[1].Outcome != "hard_decline" {
		t.Fatalf("state of %s = %+v", wfID, before)
	}
	// The same query in the Temporal Web UI lists it, as ops would see it.
	uiList := fmt.Sprintf("http://localhost:%d/namespaces/default/workflows?query=%s", s.uiPort, url.QueryEscape(query))
	step("find it in the Temporal UI",
		chromedp.Navigate(uiList),
		chromedp.Poll[chromedp.Void](`document.body.innerText.includes(`+strconv.Quote(wfID)+`)`),
	)

	// The operator signs in and presses Retry on /admin/autotopups.
	step("operator signs in",
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, network.ClearBrowserCookies, cdp.Empty{})
			return err
		}),
		chromedp.Navigate(s.base+"/signin/password"),
		chromedp.SendKeys(chromedp.CSS("#password-email"), "ops@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password-password"), "ops-walkthrough-pass"),
		chromedp.Submit(chromedp.CSS("#password-password")),
		chromedp.WaitReady(chromedp.CSS("[data-viewer-email]")),
		chromedp.Navigate(s.base+"/admin/autotopups"),
		chromedp.WaitVisible(chromedp.CSS("[data-autotopups] [data-account-id] button")),
		press("[data-autotopups] [data-account-id] button"),
	)
	arrive(t, b, "done=retried")
	for deadline := time.Now().Add(time.Minute); ; {
		after := s.queryAutoTopUp(wfID)
		if len(after.Attempts) == 3 {
			if after.Attempts[2].Outcome != "hard_decline" || after.State != "failed" {
				t.Fatalf("after the retry: %+v", after)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the retry made no new attempt: %+v", after)
		}
		time.Sleep(time.Second)
	}
	step("audit log", chromedp.Navigate(s.base+"/admin/audit"), chromedp.WaitVisible(chromedp.CSS("body")))
	if html, _ := chromedp.Run(b, chromedp.OuterHTML(chromedp.CSS("body"))); !strings.Contains(html, "autotopup.retry") {
		t.Fatal("the retry is not in the audit log")
	}
	if out, code := s.admin("ledger", "verify"); code != 0 {
		t.Fatalf("ledger verify: %s", out)
	}
	s.stop()
}
