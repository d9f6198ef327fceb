package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/testenv"
)

// TestBrowser_DeviceApprovalCompletesThePendingLogin drives /device in
// headless Chromium on a phone-sized screen: a signed-in person opens the
// link `moby auth login` prints, sees which device is asking, taps Approve,
// and the CLI's pending x/oauth2 poll comes back with a working token.
func TestBrowser_DeviceApprovalCompletesThePendingLogin(t *testing.T) {
	t.Parallel()
	s := newDeviceServer(t, testenv.SQLite(t), nil)
	u, cookie := s.signIn("jo@example.com")
	resp := s.deviceAuth("jo-thinkpad")

	type outcome struct {
		tok *oauth2.Token
		err error
	}
	polled := make(chan outcome, 1)
	go func() {
		tok, err := s.oauth.DeviceAccessToken(context.Background(), resp)
		polled <- outcome{tok, err}
	}()

	ctx := testenv.Browser(t)
	if err := chromedp.Do(ctx,
		testenv.MobileViewport(),
		setSessionCookie(s.URL, cookie),
		chromedp.Navigate(resp.VerificationURIComplete),
		chromedp.WaitVisible(chromedp.CSS("[data-device-name]")),
	); err != nil {
		t.Fatal(err)
	}
	name, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-device-name]")))
	if err != nil || name != "jo-thinkpad" {
		t.Fatalf("page names the device %q (%v), want jo-thinkpad", name, err)
	}
	code, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".device-code")))
	if err != nil || code != resp.UserCode {
		t.Fatalf("page shows code %q (%v), want %s to compare with the terminal", code, err, resp.UserCode)
	}
	if err := chromedp.Do(ctx,
		chromedp.Tap(chromedp.CSS("[data-device-approve]")),
		chromedp.WaitVisible(chromedp.CSS(`[data-device-outcome="approved"]`)),
	); err != nil {
		t.Fatal(err)
	}

	select {
	case got := <-polled:
		if got.err != nil {
			t.Fatalf("the pending token request failed after approval: %v", got.err)
		}
		p, err := s.auth.TokenPrincipal(context.Background(), got.tok.AccessToken)
		if err != nil || p.User.ID != u.ID {
			t.Fatalf("the token does not authenticate jo: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the pending token request did not complete after approval")
	}
}

// setSessionCookie signs the browser in the way a sign-in would leave it.
func setSessionCookie(base string, c *http.Cookie) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		httpOnly := true
		_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{Name: api.SessionCookie, Value: c.Value,
			URL: base + "/", HTTPOnly: &httpOnly})
		return err
	})
}
