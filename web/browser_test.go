package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/testenv"
)

// strictCSP is the policy the pages must work under: no inline script or
// style, nothing from another host.
const strictCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// browse serves the real pages under a strict CSP, plus a stand-in for the
// rates API, and opens a phone-sized headless Chromium on them.
func browse(t *testing.T) (context.Context, string) {
	t.Helper()
	e := newEngine(t, func(c *gin.Context) {
		c.Header("Content-Security-Policy", strictCSP)
	})
	e.GET("/api/rates/calculate", func(c *gin.Context) {
		if strings.HasPrefix(c.Query("phone_number"), "+234") {
			c.JSON(http.StatusOK, gin.H{
				"e164":                        "+2348031234567",
				"country":                     "Nigeria",
				"iso":                         "NG",
				"destination":                 "Nigeria Mobile",
				"individual_cents_per_minute": 12,
				"company_cents_per_minute":    9,
			})
			return
		}
		c.JSON(http.StatusBadRequest, gin.H{"error": gin.H{
			"code":    "invalid_phone_number",
			"message": "That does not look like a phone number.",
		}})
	})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	ctx := testenv.Browser(t)
	failOnConsoleProblems(t, ctx)
	if err := chromedp.Do(ctx, testenv.MobileViewport()); err != nil {
		t.Fatal(err)
	}
	return ctx, srv.URL
}

// failOnConsoleProblems fails t for uncaught JavaScript errors and for
// anything the CSP blocked, which would otherwise break the page silently.
func failOnConsoleProblems(t *testing.T, ctx context.Context) {
	var (
		mu       sync.Mutex
		problems []string
	)
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleException || strings.Contains(m.Text, "Content Security Policy") {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line))
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("browser console: %s", p)
		}
	})
}

// screenshot keeps a picture of the page when MOBAYILO_SCREENSHOT_DIR is set,
// for a person to look at the design.
func screenshot(t *testing.T, ctx context.Context, name string) {
	if dir := os.Getenv("MOBAYILO_SCREENSHOT_DIR"); dir != "" {
		testenv.Screenshot(t, ctx, filepath.Join(dir, "mobayilo-"+name+".png"))
	}
}

type box struct {
	Top      float64 `json:"top"`
	Bottom   float64 `json:"bottom"`
	Viewport float64 `json:"viewport"`
}

func TestBrowser_BottomNavTakesYouToCredits(t *testing.T) {
	ctx, base := browse(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("nav.tabbar")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "home")

	labels, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("nav.tabbar a.tab")].map(a => a.innerText.trim())`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Dial", "History", "Credits", "Settings"}; !slices.Equal(labels, want) {
		t.Errorf("tabs = %q, want %q", labels, want)
	}
	nav, err := chromedp.Run(ctx, chromedp.Evaluate[box](`(() => {
		const r = document.querySelector("nav.tabbar").getBoundingClientRect();
		return {top: r.top, bottom: r.bottom, viewport: window.innerHeight};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if nav.Bottom != nav.Viewport || nav.Top < nav.Viewport-120 {
		t.Errorf("nav spans %v..%v of a %v px viewport, want it pinned to the bottom", nav.Top, nav.Bottom, nav.Viewport)
	}

	if err := chromedp.Do(ctx,
		chromedp.Tap(chromedp.CSS(`nav.tabbar a[href="/credits"]`)),
		chromedp.WaitVisible(chromedp.CSS(`nav.tabbar a[href="/credits"][aria-current="page"]`)),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "credits")
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if loc != base+"/credits" {
		t.Errorf("location = %q, want %q", loc, base+"/credits")
	}
	current, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll('nav.tabbar [aria-current="page"]')].map(a => a.innerText.trim())`))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(current, []string{"Credits"}) {
		t.Errorf("current tabs = %q, want only Credits", current)
	}
	colors, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("nav.tabbar a.tab")].map(a => getComputedStyle(a).color)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(colors) != 4 || colors[2] == colors[0] {
		t.Errorf("tab colours %q: the current tab does not stand out", colors)
	}
}

func TestBrowser_UnknownPageShowsStyled404(t *testing.T) {
	ctx, base := browse(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/does-not-exist"),
		chromedp.WaitVisible(chromedp.CSS(".status-code")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "404")
	title, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	if err != nil {
		t.Fatal(err)
	}
	if title != "Page not found" {
		t.Errorf("h1 = %q, want %q", title, "Page not found")
	}
	// The stylesheet loaded: the 404 is drawn as gradient text, not plain.
	clip, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`getComputedStyle(document.querySelector(".status-code")).backgroundClip`))
	if err != nil {
		t.Fatal(err)
	}
	if clip != "text" {
		t.Errorf("404 background-clip = %q, want the styled page", clip)
	}
}

func TestBrowser_PriceCheckShowsRateOrAPIError(t *testing.T) {
	ctx, base := browse(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitReady(chromedp.CSS("html.js-ready")),
		chromedp.SendKeys(chromedp.CSS("#rate-phone"), "+234 803 123 4567"),
		chromedp.Tap(chromedp.CSS("[data-rate-submit]")),
		chromedp.WaitVisible(chromedp.CSS(".rate-amount")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "rate")
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-rate-result]")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"$0.12", "per minute", "Nigeria", "Mobile", "+2348031234567", "$0.09"} {
		if !strings.Contains(text, want) {
			t.Errorf("rate card %q lacks %q", text, want)
		}
	}

	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#rate-phone").value = ""`),
		chromedp.SendKeys(chromedp.CSS("#rate-phone"), "12"),
		chromedp.Tap(chromedp.CSS("[data-rate-submit]")),
		chromedp.WaitVisible(chromedp.CSS(".rate-error")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "rate-error")
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".rate-error")))
	if err != nil {
		t.Fatal(err)
	}
	if msg != "That does not look like a phone number." {
		t.Errorf("error shown = %q", msg)
	}
}
