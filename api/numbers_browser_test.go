package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

// A company admin on a phone-sized Chromium, on real Temporal and the
// sandbox: search numbers, see the fee, press Buy (the MonthlyNumberFee
// workflow charges the first month and buys), then give a seat the number
// with its picker, and the seat's next call goes out with it.
func TestBrowser_CompanyNumbersBuyAndAssignOnAPhone(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	admin, seats := s.company("phone@acme-browser.test", 1000)
	ctx := testenv.Browser(t)
	httpOnly := true
	const e164 = "+14155550151"
	if err := chromedp.Do(ctx, testenv.MobileViewport(),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{Name: api.SessionCookie, Value: admin.cookie.Value, URL: s.URL + "/", HTTPOnly: &httpOnly})
			return err
		}),
		chromedp.Navigate(s.URL+"/company/numbers"),
		chromedp.SetValue(chromedp.CSS("#area_code"), "415"),
		chromedp.Click(chromedp.CSS("[data-number-search] button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`[data-available-number="`+e164+`"] [data-offer-fee]`)),
	); err != nil {
		t.Fatal(err)
	}
	fee, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-available-number="`+e164+`"] [data-offer-fee]`)))
	if fee != "$3.00 a month" {
		t.Fatalf("offer shows %q", fee)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-available-number="`+e164+`"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-number="`+e164+`"][data-state="active"]`)),
	); err != nil {
		t.Fatal(err)
	}
	pn := s.number(e164)
	s.endNumberAtCleanup(pn.ID)
	flash, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".flash")))
	if !strings.Contains(flash, "Number bought") {
		t.Errorf("flash after buying: %q", flash)
	}
	seat := fmt.Sprintf(`[data-assign="%s"]`, seats[0].user.Email)
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(seat+" select"), fmt.Sprint(pn.ID)),
		chromedp.Click(chromedp.CSS(seat+" button[type=submit]")),
	); err != nil {
		t.Fatal(err)
	}
	// The form posts and the page comes back with ?done=assigned.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if loc, _ := chromedp.Run(ctx, chromedp.Location()); strings.HasSuffix(loc, "done=assigned") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the assignment did not come back saved")
		}
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-number="`+e164+`"] [data-number-seats]`))); err != nil {
		t.Fatal(err)
	}
	used, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-number="`+e164+`"] [data-number-seats]`)))
	picked, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(seat+" select")))
	if used != "1" || picked != fmt.Sprint(pn.ID) {
		t.Fatalf("after assigning: used by %q, picker %q", used, picked)
	}
	if call := seats[0].dial("+14155550102"); call.CallerID != e164 {
		t.Fatalf("the seat's call shows %q", call.CallerID)
	} else {
		s.waitCall(call.CallID)
	}
	if got := s.number(e164); got.State != models.NumberActive {
		t.Fatalf("number %+v", got)
	}
}
