package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/internal/wire"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
	mworker "github.com/mobayilo/mobayilo/worker"
)

// signedInBrowser opens a phone-sized Chromium carrying cookie for base,
// failing t on any script error or anything the CSP blocked.
func signedInBrowser(t *testing.T, base string, cookie *http.Cookie) context.Context {
	t.Helper()
	ctx := testenv.Browser(t)
	watchConsole(t, ctx)
	httpOnly := true
	if err := chromedp.Do(ctx,
		testenv.MobileViewport(),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{Name: api.SessionCookie, Value: cookie.Value, URL: base + "/", HTTPOnly: &httpOnly})
			return err
		}),
	); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// watchConsole fails t for uncaught exceptions and CSP violations, which
// would otherwise break the dialer silently.
func watchConsole(t *testing.T, ctx context.Context) {
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

// shot keeps a picture of the page when MOBAYILO_SCREENSHOT_DIR is set,
// for a person to look at the design.
func shot(t *testing.T, ctx context.Context, name string) {
	if dir := os.Getenv("MOBAYILO_SCREENSHOT_DIR"); dir != "" {
		testenv.Screenshot(t, ctx, filepath.Join(dir, "mobayilo-"+name+".png"))
	}
}

// recordStates makes the page keep every state its status line shows, so
// a test sees states that last less than its polling interval.
var recordStates = recordStatesOf("[data-call-status]")

// recordStatesOf makes the page keep, in window.__states, every data-state
// the element at selector shows, and marks the document, so a test sees
// short-lived states and that they came without a reload.
func recordStatesOf(selector string) string {
	return `(() => {
	window.__states = [];
	const el = document.querySelector(` + strconv.Quote(selector) + `);
	new MutationObserver(() => {
		const s = el.getAttribute("data-state");
		if (s && window.__states[window.__states.length - 1] !== s) window.__states.push(s);
	}).observe(el, {attributes: true, attributeFilter: ["data-state"]});
	window.__sameDocument = true;
})()`
}

func priceFor(t *testing.T, base, number string, company bool) int64 {
	t.Helper()
	resp, err := http.Get(base + "/api/rates/calculate?phone_number=" + strings.ReplaceAll(number, "+", "%2B"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Individual int64 `json:"individual_cents_per_minute"`
		Company    int64 `json:"company_cents_per_minute"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Individual <= 0 {
		t.Fatalf("rate of %s: %+v %v", number, r, err)
	}
	if company {
		return r.Company
	}
	return r.Individual
}

// TestBrowser_DialerCallsASandboxNumberAndShowsTheExactBill drives "/" on a
// phone-sized Chromium against the real API, Temporal and worker: a
// national number typed on the keypad with the country picked shows its
// price and the minutes the balance buys; Call rings, answers (Mute and
// Speaker appear), the callee hangs up after 5 s, and the end screen shows
// the one started minute's cost and the new balance, which the ledger
// holds; the number is then in Recent, one tap from a redial.
func TestBrowser_DialerCallsASandboxNumberAndShowsTheExactBill(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	const start = 1000
	c := s.caller("dialer-browser@example.com", start)
	price := priceFor(t, s.URL, "+14155550106", false)
	ctx := signedInBrowser(t, s.URL, c.cookie)

	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/dial"),
		chromedp.WaitVisible(chromedp.CSS("[data-dialer][data-ready]")),
	); err != nil {
		t.Fatal(err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != s.URL+"/" {
		t.Fatalf("/dial took the browser to %q, want /", loc)
	}
	label, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('label[for="dial-number"]').textContent.trim()`))
	if err != nil || label != "Phone number" {
		t.Fatalf("the number field is labelled %q (%v)", label, err)
	}
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#dial-country"), "US")); err != nil {
		t.Fatal(err)
	}
	for _, k := range "4155550106" {
		if err := chromedp.Do(ctx, tap(fmt.Sprintf(`[data-key="%c"]`, k))); err != nil {
			t.Fatal(err)
		}
	}
	typed, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#dial-number")))
	if typed != "4155550106" {
		t.Fatalf("the keypad typed %q", typed)
	}
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`document.querySelector("[data-quote]").textContent.includes("per minute")`)); err != nil {
		t.Fatal(err)
	}
	quote, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-quote]")))
	if want := fmt.Sprintf("%s per minute · about %d minutes with your balance", money.Format(price), start/price); !strings.Contains(quote, want) {
		t.Fatalf("quote %q, want %q", quote, want)
	}

	shot(t, ctx, "dialer")
	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](recordStates),
		tap("[data-call]"),
		chromedp.Poll[chromedp.Void](`document.querySelector("[data-call-status]").getAttribute("data-state") === "in-progress"`),
	); err != nil {
		t.Fatal(err)
	}
	role, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("[data-call-status]").getAttribute("role")`))
	if role != "status" {
		t.Fatalf("the call status has role %q, want status", role)
	}
	soFar, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-cost-so-far]")))
	if strings.TrimSpace(soFar) != money.Format(price) {
		t.Fatalf("cost so far in the first minute %q, want one minute's %s", soFar, money.Format(price))
	}
	speaker, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!document.querySelector("[data-speaker]").hidden === ("setSinkId" in HTMLMediaElement.prototype)`))
	if !speaker {
		t.Fatal("Speaker is not shown exactly where the browser can choose the audio output")
	}
	shot(t, ctx, "dialer-in-call")
	if err := chromedp.Do(ctx, tap("[data-mute]"), chromedp.Poll[chromedp.Void](`document.querySelector("[data-mute]").getAttribute("aria-pressed") === "true"`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`document.querySelector("[data-final-cost]").dataset.cents !== undefined`)); err != nil {
		t.Fatal(err)
	}
	var end struct {
		States         []string
		Same           bool
		Cost, Balance  string
		Timer, Status  string
		CostCents      int64
		BalanceCents   int64
		BalanceInPlace string
	}
	end, err = chromedp.Run(ctx, chromedp.Evaluate[struct {
		States         []string
		Same           bool
		Cost, Balance  string
		Timer, Status  string
		CostCents      int64
		BalanceCents   int64
		BalanceInPlace string
	}](`({States: window.__states, Same: window.__sameDocument === true,
		Cost: document.querySelector("[data-final-cost]").textContent, Balance: document.querySelector("[data-final-balance]").textContent,
		Timer: document.querySelector("[data-timer]").textContent, Status: document.querySelector("[data-call-status]").textContent,
		CostCents: Number(document.querySelector("[data-final-cost]").dataset.cents),
		BalanceCents: Number(document.querySelector("[data-final-balance]").dataset.cents),
		BalanceInPlace: document.querySelector("[data-balance]").textContent})`))
	if err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "dialer-ended")
	joined := strings.Join(end.States, ",")
	if !end.Same || !strings.Contains(joined, "ringing,in-progress") || !strings.HasSuffix(joined, "completed") {
		t.Fatalf("the status went %v (same page: %v), want ringing, in progress, completed without a reload", end.States, end.Same)
	}
	if end.CostCents != price || end.Cost != money.Format(price) || end.BalanceCents != start-price || end.Balance != money.Format(start-price) ||
		end.BalanceInPlace != money.Format(start-price) || end.Status != "Call ended" {
		t.Fatalf("end screen %+v, want cost %d and balance %d", end, price, start-price)
	}
	if end.Timer < "0:04" || end.Timer > "0:09" {
		t.Fatalf("the timer stopped at %s for a 5 s call", end.Timer)
	}
	if got := c.balance(); got != start-price {
		t.Fatalf("ledger balance %d, want %d", got, start-price)
	}

	// Recent: the number, one tap from a redial that goes to the network.
	if err := chromedp.Do(ctx,
		tap("[data-new-call]"),
		chromedp.WaitVisible(chromedp.CSS(`[data-redial="+14155550106"]`)),
		chromedp.Evaluate[chromedp.Void](recordStates),
		tap(`[data-redial="+14155550106"]`),
		chromedp.Poll[chromedp.Void](`window.__states.includes("ringing")`),
		tap("[data-hangup]"),
		chromedp.Poll[chromedp.Void](`document.querySelector("[data-final-cost]").dataset.cents !== undefined && !document.querySelector("[data-call-end]").hidden`),
	); err != nil {
		t.Fatal(err)
	}
	states, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__states`))
	if last := states[len(states)-1]; last != "canceled" && last != "completed" {
		t.Fatalf("the redial hung up went %v", states)
	}
}

// TestBrowser_DialerShowsTheAPIsRefusalAndPromptsATopUp: a caller with
// less than a minute's money sees the low-balance prompt linking to
// /credits, and Call shows the API's own refusal with a top-up link.
func TestBrowser_DialerShowsTheAPIsRefusalAndPromptsATopUp(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	c := s.caller("dialer-poor@example.com", 1)
	ctx := signedInBrowser(t, s.URL, c.cookie)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("[data-dialer][data-ready]")),
		chromedp.WaitVisible(chromedp.CSS(`[data-low-balance] a[href="/credits"]`)),
		chromedp.SendKeys(chromedp.CSS("#dial-number"), "+1 415 555 0100"),
		tap("[data-call]"),
		chromedp.Poll[chromedp.Void](`document.querySelector("[data-dial-error]").textContent.trim() !== ""`),
	); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "dialer-refused")
	code, body := c.post("/api/calls", wire.NewCall{To: "+1 415 555 0100"})
	var refusal wire.ErrorBody
	_ = json.Unmarshal(body, &refusal)
	if code != http.StatusPaymentRequired || refusal.Error.Message == "" {
		t.Fatalf("the API answered %d %s", code, body)
	}
	shown, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[data-dial-error]")))
	if !strings.Contains(shown, refusal.Error.Message) {
		t.Fatalf("the dialer says %q, want the API's %q", shown, refusal.Error.Message)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-dial-error] a[href="/credits"]').length`)); n != 1 {
		t.Fatal("the refusal has no top-up link")
	}
	if hidden, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("[data-incall]").hidden`)); !hidden {
		t.Fatal("a refused call opened the in-call screen")
	}
}

// TestBrowser_LiveDialerBuildsAVoiceSDKDeviceFromOurToken: with live
// Twilio credentials the dialer loads the bundled @twilio/voice-sdk (built
// by make voice-sdk), fetches GET /api/calls/token and constructs a Device
// from it, under a CSP that names Twilio's voice hosts; nothing reaches
// Twilio, as only register() and connect() would.
func TestBrowser_LiveDialerBuildsAVoiceSDKDeviceFromOurToken(t *testing.T) {
	if _, ok := web.AssetURL(web.VoiceSDK); !ok {
		t.Fatal("this build has no Voice SDK bundle: run `make voice-sdk` before the tests (make test does)")
	}
	db := testenv.SQLite(t)
	if _, err := rates.SeedIfEmpty(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(srv.Close)
	cfg, err := config.Load(map[string]string{"MOBAYILO_SANDBOX": "true", "PUBLIC_BASE_URL": srv.URL,
		"TWILIO_ACCOUNT_SID": "AC00000000000000000000000000000000", "TWILIO_AUTH_TOKEN": "live-test-auth-token",
		"TWILIO_API_KEY": "SK00000000000000000000000000000000", "TWILIO_API_SECRET": "live-test-api-secret",
		"TWILIO_TWIML_APP_SID": "AP00000000000000000000000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SandboxTwilio() {
		t.Fatal("the test's config is not live telephony")
	}
	prov, err := mworker.NewProviders(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pages, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	led := ledger.New(db)
	srv.Config.Handler = api.New(deps(cfg, db, api.Deps{Pages: pages, Telephony: prov.Telephony}))
	u, _, err := identity.New(db, led).CreateUser(context.Background(), identity.NewUser{Email: "live@example.com", AccountKind: models.AccountIndividual})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := led.Post(context.Background(), ledger.Posting{AccountID: u.AccountID, Kind: models.EntryBonus, AmountCents: 500, IdempotencyKey: "seed-live", Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	secret, err := auth.New(db).CreateSession(context.Background(), u.ID, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}

	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"connect-src 'self' wss://*.twilio.com https://*.twilio.com", "media-src 'self' https://sdk.twilio.com", "script-src 'self';"} {
		if !strings.Contains(csp, want) {
			t.Fatalf("live CSP %q lacks %q", csp, want)
		}
	}

	ctx := signedInBrowser(t, srv.URL, &http.Cookie{Name: api.SessionCookie, Value: secret})
	// Count what the page asks of the token endpoint and of Twilio: the
	// Device preloads its sounds from sdk.twilio.com, but opens no
	// signalling websocket until register() or connect().
	var (
		mu            sync.Mutex
		tokens        int
		other, socket []string
	)
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			switch u := e.Request.URL; {
			case strings.HasSuffix(u, "/api/calls/token"):
				tokens++
			case strings.Contains(u, "twilio.com") && !strings.HasPrefix(u, "https://sdk.twilio.com/js/client/sounds/"):
				other = append(other, u)
			}
		case *network.EventWebSocketCreated:
			socket = append(socket, e.URL)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{})
			return err
		}),
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("[data-dialer][data-ready]")),
		chromedp.Poll[chromedp.Void](`document.querySelector("[data-dialer]").hasAttribute("data-voice")`, chromedp.WithPollingTimeout(20*time.Second)),
	); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`(() => {
		const d = document.querySelector("[data-dialer]");
		return {voice: d.getAttribute("data-voice"), sandbox: d.dataset.sandbox, sdk: typeof (window.MobayiloVoice && window.MobayiloVoice.Device),
			scripts: [...document.scripts].map(s => s.src).filter(s => s.includes("voice-sdk")).length};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if got["voice"] != "unregistered" || got["sandbox"] != "false" || got["sdk"] != "function" || got["scripts"] != float64(1) {
		t.Fatalf("live dialer %v, want the bundle loaded and a Device built (state unregistered)", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if tokens != 1 || len(other) != 0 || len(socket) != 0 {
		t.Fatalf("the page fetched the token %d times, asked Twilio for %v and opened websockets %v; want the token once, nothing else", tokens, other, socket)
	}
}
