package api_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mobayilo/mobayilo/internal/callerid"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

// TestBrowser_CallerIDVerifiedOnSettingsThenADialerCallShowsIt drives the
// whole sandbox verification in a phone-sized Chromium on real Temporal:
// /settings requests a national number with its country, the SMS code is
// read from the dev mailbox (another tab) and entered, the keypad code
// appears, is keyed in on /sandbox/phone (another tab), and /settings
// shows "verified" without a reload. A dialer call to a sandbox number
// then goes out with that caller ID, which its /history row shows; Remove
// puts the account back on the default caller ID.
func TestBrowser_CallerIDVerifiedOnSettingsThenADialerCallShowsIt(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	c := s.caller("cid-browser@example.com", 1000)
	const number = "+447400123470"
	s.endCallerIDAtCleanup(c.user.AccountID, number)
	ctx := signedInBrowser(t, s.URL, c.cookie)
	other, closeOther := chromedp.NewContext(ctx)
	defer closeOther()

	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/settings"),
		chromedp.WaitVisible(chromedp.CSS("[data-callerid-request]")),
		chromedp.Evaluate[chromedp.Void](recordStatesOf("[data-callerid-status]")),
	); err != nil {
		t.Fatal(err)
	}
	var a11y struct{ Label, Role, Live, Gate string }
	a11y, err := chromedp.Run(ctx, chromedp.Evaluate[struct{ Label, Role, Live, Gate string }](`({
		Label: document.querySelector('label[for="callerid-number"]').textContent.trim(),
		Role: document.querySelector("[data-callerid-status]").getAttribute("role"),
		Live: document.querySelector("[data-callerid-status]").getAttribute("aria-live"),
		Gate: document.querySelector("[data-callerid-gate]").textContent})`))
	if err != nil || a11y.Label != "Your phone number" || a11y.Role != "status" || a11y.Live != "polite" || !strings.Contains(a11y.Gate, "$5.00") {
		t.Fatalf("the Caller ID section: %+v (%v); want a labelled number, a live status and the $5 gate", a11y, err)
	}
	shot(t, ctx, "settings-callerid")

	// Start: a national number read with the country picked.
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#callerid-country"), "GB"),
		chromedp.SendKeys(chromedp.CSS("#callerid-number"), "07400 123470"),
		tap("[data-callerid-send]"),
		chromedp.Poll[chromedp.Void](`document.querySelector("[data-callerid-status]").getAttribute("data-state") === "awaiting_code" &&
			!document.querySelector("[data-callerid-confirm]").hidden`),
	); err != nil {
		t.Fatal(err)
	}
	sent, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-callerid-status]")))
	if !strings.Contains(sent, "Code sent") || !strings.Contains(sent, number) {
		t.Fatalf("after the request the status says %q", sent)
	}

	// The SMS, in the dev mailbox.
	if err := chromedp.Do(other, chromedp.Navigate(s.URL+"/dev/mail"), chromedp.WaitVisible(chromedp.CSS(".devmail-message"))); err != nil {
		t.Fatal(err)
	}
	mails, err := chromedp.Run(other, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".devmail-message")]
		.filter(m => m.querySelector(".devmail-meta dd").textContent.trim() === `+strconv.Quote(providers.SandboxSMSAddress(number))+`)
		.map(m => m.querySelector(".devmail-body").textContent)`))
	if err != nil || len(mails) != 1 {
		t.Fatalf("SMS mails to %s: %q (%v)", number, mails, err)
	}
	code := regexp.MustCompile(`\b\d{6}\b`).FindString(mails[0])
	if code == "" {
		t.Fatalf("no code in the SMS %q", mails[0])
	}

	// Confirm it: the keypad code appears while Twilio calls.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#callerid-code"), code),
		tap("[data-callerid-confirm-button]"),
		chromedp.Poll[chromedp.Void](`/^\d{6}$/.test(document.querySelector("[data-callerid-validation-code]").textContent) &&
			!document.querySelector("[data-callerid-keypad]").hidden`),
	); err != nil {
		t.Fatal(err)
	}
	keypadCode, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-callerid-validation-code]")))
	calling, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-callerid-status]")))
	if !strings.Contains(calling, "Calling your phone") || !strings.Contains(calling, keypadCode) {
		t.Fatalf("during the validation call the status says %q; want the call and its code %s (read out by screen readers)", calling, keypadCode)
	}
	shot(t, ctx, "settings-callerid-keypad")

	// The simulated phone rings; the code is keyed in there.
	ringing := `form[data-ringing="` + number + `"]`
	if err := chromedp.Do(other,
		chromedp.Navigate(s.URL+"/sandbox/phone"),
		chromedp.WaitVisible(chromedp.CSS(ringing)),
		chromedp.SendKeys(chromedp.CSS(ringing+` input[name="digits"]`), keypadCode),
		tap(ringing+` button[type="submit"]`),
		chromedp.WaitVisible(chromedp.CSS(".credits-flash")),
	); err != nil {
		t.Fatal(err)
	}

	// /settings follows it to "verified" on the same page.
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`document.querySelector("[data-callerid-status]").getAttribute("data-state") === "verified"`)); err != nil {
		t.Fatal(err)
	}
	var after struct {
		States []string
		Same   bool
		Shows  string
		Status string
		Remove bool
	}
	after, err = chromedp.Run(ctx, chromedp.Evaluate[struct {
		States []string
		Same   bool
		Shows  string
		Status string
		Remove bool
	}](`({States: window.__states, Same: window.__sameDocument === true,
		Shows: document.querySelector("[data-callerid-shows]").textContent,
		Status: document.querySelector("[data-callerid-status]").textContent,
		Remove: !document.querySelector("[data-callerid-remove]").hidden})`))
	if err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "settings-callerid-verified")
	if !after.Same || strings.Join(after.States, ",") != "awaiting_code,awaiting_call,verified" || after.Shows != number ||
		!strings.Contains(after.Status, "Verified") || !after.Remove {
		t.Fatalf("after keying the code in: %+v; want awaiting_code, awaiting_call, verified on one page, showing %s", after, number)
	}

	// A dialer call goes out with it, and /history says so.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("[data-dialer][data-ready]")),
		chromedp.SendKeys(chromedp.CSS("#dial-number"), "+1 415 555 0106"),
		tap("[data-call]"),
		chromedp.Poll[chromedp.Void](`document.querySelector("[data-final-cost]").dataset.cents !== undefined`),
		chromedp.Navigate(s.URL+"/history"),
		chromedp.WaitVisible(chromedp.CSS("[data-history]")),
	); err != nil {
		t.Fatal(err)
	}
	row, err := chromedp.Run(ctx, chromedp.Evaluate[struct{ To, CallerID string }](`(() => {
		const r = document.querySelector("tr[data-call]");
		return {To: r.querySelector("[data-to]").textContent, CallerID: r.querySelector("[data-caller-id]").textContent};
	})()`))
	if err != nil || !strings.Contains(row.To, "+14155550106") || row.CallerID != number {
		t.Fatalf("the call's /history row %+v (%v); want +14155550106 called from %s", row, err, number)
	}

	// Remove: the page says so, and calls show the default again.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/settings"),
		chromedp.Poll[chromedp.Void](`!document.querySelector("[data-callerid-remove]").hidden`),
		tap("[data-callerid-remove]"),
		chromedp.Poll[chromedp.Void](`document.querySelector("[data-callerid-status]").textContent.startsWith("Removed")`),
	); err != nil {
		t.Fatal(err)
	}
	shows, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-callerid-shows]")))
	if shows != s.cfg.EffectiveDefaultCallerID() {
		t.Fatalf("after Remove the page says calls show %q, want %s", shows, s.cfg.EffectiveDefaultCallerID())
	}
	if v, err := callerid.New(s.db, s.ledger).Verified(context.Background(), c.user.AccountID); err != nil || v != "" {
		t.Fatalf("verified caller ID after Remove = %q, %v", v, err)
	}
}

// Below $5 the request shows the API's refusal, naming the minimum, with a
// Top up link; a company seat sees why it has no caller ID of its own and
// no form.
func TestBrowser_CallerIDShowsTheBalanceGateAndTheCompanyMessage(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	poor := s.caller("cid-browser-poor@example.com", 499)
	ctx := signedInBrowser(t, s.URL, poor.cookie)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/settings"),
		chromedp.WaitVisible(chromedp.CSS("[data-callerid-request]")),
		chromedp.SendKeys(chromedp.CSS("#callerid-number"), "+44 7400 123471"),
		tap("[data-callerid-send]"),
		chromedp.WaitVisible(chromedp.CSS("[data-callerid-error] [data-topup-link]")),
	); err != nil {
		t.Fatal(err)
	}
	refusal, err := chromedp.Run(ctx, chromedp.Evaluate[struct{ Text, Code, Role string }](`({
		Text: document.querySelector("[data-callerid-error]").textContent,
		Code: document.querySelector("[data-callerid-error]").getAttribute("data-code"),
		Role: document.querySelector("[data-callerid-error]").getAttribute("role")})`))
	if err != nil || refusal.Code != "balance_too_low" || refusal.Role != "alert" || !strings.Contains(refusal.Text, "$5.00") || !strings.Contains(refusal.Text, "$4.99") {
		t.Fatalf("the refusal below $5 is %+v (%v)", refusal, err)
	}
	shot(t, ctx, "settings-callerid-gate")

	_, cookie, _ := s.user("seat@cid-browser-co.example", models.AccountCompany)
	co := signedInBrowser(t, s.URL, cookie)
	if err := chromedp.Do(co, chromedp.Navigate(s.URL+"/settings"), chromedp.WaitVisible(chromedp.CSS("[data-callerid-company]"))); err != nil {
		t.Fatal(err)
	}
	forms, err := chromedp.Run(co, chromedp.Evaluate[int](`document.querySelectorAll("[data-callerid] form").length`))
	if err != nil || forms != 0 {
		t.Fatalf("a company account's Caller ID section has %d forms (%v), want none", forms, err)
	}
}
