package api_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mobayilo/mobayilo/internal/testenv"
)

// TestBrowser_MagicLinkSignInThroughTheDevMailbox signs in the way a person
// does on `make run`, in headless Chromium on a phone-sized screen: the
// email-first form, the mail (delivered by the SendLoginLink workflow on a
// real Temporal server into the dev mailbox), the link, the confirm button,
// and the dialer, signed in.
func TestBrowser_MagicLinkSignInThroughTheDevMailbox(t *testing.T) {
	s := newSigninServer(t, testenv.SQLite(t), nil)
	ctx := testenv.Browser(t)
	const email = "ana@example.com"
	if err := chromedp.Do(ctx,
		testenv.MobileViewport(),
		chromedp.Navigate(s.URL+"/dial"),
		// Signed out, the dialer sends people to sign in.
		chromedp.WaitVisible(chromedp.CSS("#signin-email")),
		chromedp.SendKeys(chromedp.CSS("#signin-email"), email),
		chromedp.Submit(chromedp.CSS("#signin-email")),
		chromedp.WaitVisible(chromedp.CSS(".auth-devmail")),
	); err != nil {
		t.Fatal(err)
	}
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	if err != nil || heading != "Check your email" {
		t.Fatalf("after submitting: heading %q, %v", heading, err)
	}

	// Delivery is asynchronous: reload the mailbox until the link is there.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(".auth-devmail")), chromedp.WaitVisible(chromedp.CSS(".devmail"))); err != nil {
			t.Fatal(err)
		}
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("[data-devmail-link]").length`))
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no link in the dev mailbox after 60 s; log:\n%s", s.log)
		}
		if err := chromedp.Do(ctx, chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.CSS(".auth-devmail"))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("[data-devmail-link]")),
		chromedp.WaitVisible(chromedp.CSS("[data-magic-confirm]")),
		chromedp.Click(chromedp.CSS("[data-magic-confirm]")),
		chromedp.WaitVisible(chromedp.CSS("[data-viewer-email]")),
	); err != nil {
		t.Fatal(err)
	}
	where, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || where != s.URL+"/" {
		t.Fatalf("landed on %q (%v), want the dialer", where, err)
	}
	who, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-viewer-email]")))
	if err != nil || who != email {
		t.Fatalf("header shows %q (%v), want %s", who, err, email)
	}
	// And the account menu signs out.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(".account-chip")),
		chromedp.Click(chromedp.CSS("[data-signout]")),
		chromedp.WaitVisible(chromedp.CSS(".topbar-signin")),
	); err != nil {
		t.Fatal(err)
	}
}
