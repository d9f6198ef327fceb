package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

// TestBrowser_SettingsCreatesATokenShownOnceAndRevokesItAfterConfirming
// drives /settings on a phone-sized Chromium: make a token, see it once,
// then revoke it, where the first "are you sure?" is dismissed (nothing
// happens) and the second accepted.
func TestBrowser_SettingsCreatesATokenShownOnceAndRevokesItAfterConfirming(t *testing.T) {
	s := newAuthServer(t, testenv.SQLite(t))
	u := s.user(t, "ada@example.com", models.AccountIndividual, false)
	secret, err := s.auth.CreateSession(context.Background(), u.ID, "127.0.0.1", "chromium")
	if err != nil {
		t.Fatal(err)
	}
	ctx := testenv.Browser(t)

	// Answer confirm() dialogs: dismiss the first, accept the rest.
	dialogs := make(chan string, 4)
	opening := chromedp.Events(ctx, cdppage.JavascriptDialogOpening)
	go func() {
		n := 0
		for ev, err := range opening {
			if err != nil {
				return
			}
			n++
			accept := n > 1
			go func() {
				_ = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					_, err := cdp.Call(ctx, tg, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: accept})
					return err
				}))
				dialogs <- ev.Message
			}()
		}
	}()

	httpOnly := true
	if err := chromedp.Do(ctx,
		testenv.MobileViewport(),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{Name: api.SessionCookie, Value: secret, URL: s.URL + "/", HTTPOnly: &httpOnly})
			return err
		}),
		chromedp.Navigate(s.URL+"/settings"),
		// The Caller ID section above fills itself in first; clicking
		// before it settles could land on a moving button.
		chromedp.WaitReady(chromedp.CSS("[data-callerid][data-state]")),
		chromedp.WaitVisible(chromedp.CSS("#token-name")),
		chromedp.SendKeys(chromedp.CSS("#token-name"), "phone script"),
		chromedp.SetValue(chromedp.CSS("#token-expiry"), "7"),
		testenv.Centered(".settings-create button[type=submit]"),
		chromedp.Click(chromedp.CSS(".settings-create button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("[data-new-token]")),
	); err != nil {
		t.Fatal(err)
	}
	tok, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#new-token-value")))
	if err != nil || !tokenPattern.MatchString(tok) {
		t.Fatalf("new token field holds %q (%v)", tok, err)
	}
	if me := s.cli(t, "GET", "/api/cli/me", tok); me.status != 200 {
		t.Fatalf("the token shown does not work: %d", me.status)
	}
	var pat models.PersonalAccessToken
	if err := s.db.Where("user_id = ?", u.ID).Take(&pat).Error; err != nil {
		t.Fatal(err)
	}

	// Reloading the list does not show it again.
	revoke := chromedp.CSS(fmt.Sprintf(`[data-token-id="%d"] button`, pat.ID))
	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/settings"), chromedp.WaitVisible(revoke)); err != nil {
		t.Fatal(err)
	}
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil || strings.Contains(html, tok) || !strings.Contains(html, pat.DisplayHint) {
		t.Fatalf("the list shows the token again, or not its hint (%v)", err)
	}

	// Dismissed: nothing is revoked.
	if err := chromedp.Do(ctx, chromedp.Click(revoke)); err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-dialogs:
		if !strings.Contains(msg, "phone script") {
			t.Fatalf("confirm says %q; want the token's name", msg)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("revoking asked for no confirmation")
	}
	if me := s.cli(t, "GET", "/api/cli/me", tok); me.status != 200 {
		t.Fatal("a dismissed confirmation revoked the token")
	}

	// Accepted: revoked, and the page says so.
	if err := chromedp.Do(ctx, chromedp.Click(revoke)); err != nil {
		t.Fatal(err)
	}
	<-dialogs
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(".flash"))); err != nil {
		t.Fatal(err)
	}
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".flash")))
	if err != nil || !strings.Contains(flash, "Token revoked") {
		t.Fatalf("flash %q (%v)", flash, err)
	}
	if me := s.cli(t, "GET", "/api/cli/me", tok); me.errorCode() != "token_revoked" {
		t.Fatalf("after revoking: %d %s", me.status, me.body)
	}
}
