package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserBudget bounds how long one test may drive its browser, so a page
// that never shows an element fails the test instead of hanging it until
// go test's global timeout.
const browserBudget = 2 * time.Minute

// Mobile viewport of the tests: an iPhone 14/15-sized screen in CSS pixels.
const (
	MobileWidth  = 390
	MobileHeight = 844
)

// Browser starts a fresh headless Chromium for t and returns a chromedp
// context on its first tab. The browser and its throwaway profile go away
// when t ends. The context expires after a couple of minutes at most.
//
// The executable is $CHROMIUM_BIN, else /usr/bin/chromium, else chromium,
// chromium-browser or google-chrome from PATH. Without one, or when it
// cannot start, t skips locally and fails in CI.
func Browser(t testing.TB) context.Context {
	t.Helper()
	bin, err := chromiumPath()
	if err != nil {
		Unavailable(t, "Chromium", err)
	}
	dir := t.TempDir()
	logPath := filepath.Join(dir, "chromium.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.CombinedOutput(logFile),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		// Containers often give /dev/shm only 64 MB, which Chromium fills.
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("metrics-recording-only", true),
		// The pages scroll smoothly unless the visitor asks for reduced
		// motion; a click or tap chromedp computes on an element it is
		// scrolling into view can then land beside it, as a test that
		// timed out on a button once a page grew longer showed.
		chromedp.Flag("force-prefers-reduced-motion", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	// chromedp logs protocol errors with the log package by default; they
	// would land after the test ends, so they go to the log file instead.
	logf := func(format string, args ...any) { fmt.Fprintf(logFile, format+"\n", args...) }
	ctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(logf), chromedp.WithLogf(logf))
	stop := func() {
		// Cancelling the tab's context closes the browser gracefully; the
		// allocator then waits for the process, so t.TempDir can be removed.
		cancelBrowser()
		cancelAlloc()
		_ = logFile.Close()
	}
	// The first Run binds the browser's life to its context, so it must have
	// no deadline; the budget goes on a derived context below.
	if err := chromedp.Do(ctx); err != nil {
		stop()
		Unavailable(t, "Chromium", fmt.Errorf("start %s: %w%s", bin, err, logTail(logPath)))
	}
	t.Cleanup(stop)

	budget := browserBudget
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := d.Deadline(); ok && time.Until(dl)-10*time.Second < budget {
			budget = max(time.Until(dl)-10*time.Second, time.Second)
		}
	}
	tctx, cancelBudget := context.WithTimeout(ctx, budget)
	t.Cleanup(func() {
		if t.Failed() {
			screenshotOnFailure(t, ctx)
		}
		cancelBudget()
	})
	return tctx
}

// Centered scrolls the first element matching css to the middle of the
// viewport, clear of the fixed top bar and tab bar, so that a Click or Tap
// that follows lands on it and not on a bar lying over it.
func Centered(css string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](fmt.Sprintf(`(function(){var e=document.querySelector(%q); if(e) e.scrollIntoView({block:"center", behavior:"instant"}); return !!e})()`, css))(ctx, t)
		return err
	})
}

// MobileViewport emulates a portrait phone screen (390×844 CSS pixels at
// 3× density, with touch), as most of Mobayilo's customers see the app.
func MobileViewport() chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(MobileWidth, MobileHeight,
		chromedp.EmulateScale(3),
		chromedp.EmulatePortrait,
		chromedp.EmulateMobile,
		chromedp.EmulateTouch,
	)
}

// Screenshot saves what the browser's viewport shows as a PNG at path, for
// looking at a page while writing or debugging a test.
func Screenshot(t testing.TB, ctx context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	t.Logf("screenshot saved to %s", path)
}

// screenshotOnFailure keeps the last screen of a failed test in the system
// temporary directory, where it outlives t.TempDir.
func screenshotOnFailure(t testing.TB, ctx context.Context) {
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	if err != nil {
		return
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	path := filepath.Join(os.TempDir(), "mobayilo-failed-"+name+".png")
	if os.WriteFile(path, png, 0o644) == nil {
		t.Logf("screen at failure saved to %s", path)
	}
}

// chromiumPath finds the browser executable.
func chromiumPath() (string, error) {
	if p := os.Getenv("CHROMIUM_BIN"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("CHROMIUM_BIN=%s: %w", p, err)
		}
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no CHROMIUM_BIN, no /usr/bin/chromium, and no chromium, chromium-browser or google-chrome on PATH")
}

// logTail is the end of the browser's output, to explain a failed start.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	const keep = 2000
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return "\nchromium output:\n" + string(b)
}
