package api_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

// TestBrowser_FiveDollarTopUpThroughSandboxCheckoutShowsBalanceAndReceipt
// drives /credits on a phone-sized Chromium against the real API, Temporal
// and worker: the minimum guard refuses $4, then a $5 preset goes through
// the sandbox checkout with pm_card_visa and the Credits page shows the new
// balance and the receipt.
func TestBrowser_FiveDollarTopUpThroughSandboxCheckoutShowsBalanceAndReceipt(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	_, cookie, _ := s.user("browser@example.com", models.AccountIndividual)
	ctx := testenv.Browser(t)
	httpOnly := true
	if err := chromedp.Do(ctx,
		testenv.MobileViewport(),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{Name: api.SessionCookie, Value: cookie.Value, URL: s.URL + "/", HTTPOnly: &httpOnly})
			return err
		}),
		chromedp.Navigate(s.URL+"/credits"),
		chromedp.WaitVisible(chromedp.CSS("[data-low-balance]")),
		// The page's own guard: $4 in "Other" is refused before sending.
		chromedp.SendKeys(chromedp.CSS("#custom-amount"), "4"),
		tap("[data-topup-submit]"),
	); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`document.querySelector("[data-amount-error]").textContent !== ""`)); err != nil {
		t.Fatal(err)
	}
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-amount-error]")))
	if err != nil || !strings.Contains(msg, "minimum top-up is $5") {
		t.Fatalf("guard message = %q, %v", msg, err)
	}
	if err := chromedp.Do(ctx,
		tap(`input[name=amount][value="5"]`),
		tap("[data-topup-submit]"),
		chromedp.WaitVisible(chromedp.CSS(`[data-card="pm_card_visa"]`)),
		tap(`[data-card="pm_card_visa"]`),
		chromedp.WaitVisible(chromedp.CSS(`.tab[aria-current="page"][href="/dial"]`)),
	); err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || !strings.Contains(loc, "/?topup=tu_") {
		t.Fatalf("after paying the browser is at %q (%v); want the dialer", loc, err)
	}
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".flash")))
	if err != nil || !strings.Contains(flash, "$5.00 added. Your balance is $5.00.") {
		t.Fatalf("the dialer says %q (%v); want the new balance", flash, err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/credits"), chromedp.WaitVisible(chromedp.CSS("[data-receipt]"))); err != nil {
		t.Fatal(err)
	}
	balance, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-balance]")))
	if err != nil || strings.TrimSpace(balance) != "$5.00" {
		t.Fatalf("balance shows %q (%v)", balance, err)
	}
	receipt, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-receipt]")))
	if err != nil || !strings.Contains(receipt, "$5.00") || !strings.Contains(receipt, "Visa •••• 4242") {
		t.Fatalf("receipt shows %q (%v)", receipt, err)
	}
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if strings.Contains(html, "data-low-balance") {
		t.Fatal("the low-balance banner is still shown at $5.00")
	}
}

// tap clicks an element the way a finger would reach it after scrolling,
// even where the fixed bottom tab bar covers it at the moment (a
// coordinate click would land on the tab bar instead).
func tap(selector string) chromedp.Action[chromedp.Void] {
	// The click runs after this evaluation returns: a click that navigates
	// would otherwise destroy the context the evaluation answers in.
	return chromedp.Evaluate[chromedp.Void](`{ const el = document.querySelector(` + strconv.Quote(selector) + `); setTimeout(() => el.click(), 0); }`)
}
