package api_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/mobayilo/mobayilo/internal/testenv"
)

// TestBrowser_HomePriceCheckThroughTheRealAPI drives the shipped home page in
// headless Chromium, on the production router (its CSP, its rate endpoint and
// the seeded table), the way a visitor checks a price before signing up.
func TestBrowser_HomePriceCheckThroughTheRealAPI(t *testing.T) {
	s := newServer(t, testenv.SQLite(t), nil)
	ctx := testenv.Browser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("nav.tabbar")),
		chromedp.WaitReady(chromedp.CSS("html.js-ready")),
		chromedp.SendKeys(chromedp.CSS("#rate-phone"), "06 12 34 56 78"),
		chromedp.SetValue(chromedp.CSS("#rate-country"), "FR"),
		testenv.Centered("[data-rate-submit]"),
		chromedp.Tap(chromedp.CSS("[data-rate-submit]")),
		chromedp.WaitVisible(chromedp.CSS(".rate-amount")),
	); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-rate-result]")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"$0.06", "France", "Mobile", "+33612345678"} {
		if !strings.Contains(text, want) {
			t.Errorf("rate card %q lacks %q", text, want)
		}
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/no-such-page"),
		chromedp.WaitVisible(chromedp.CSS(".status-code")),
	); err != nil {
		t.Fatal(err)
	}
}
