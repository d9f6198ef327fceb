package api_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

// liveSettings is a deployment with every live provider setting and the
// sandbox off.
var liveSettings = map[string]string{"MOBAYILO_SANDBOX": "false", "STRIPE_SECRET_KEY": "sk_test_live_like", "STRIPE_WEBHOOK_SECRET": "whsec_live_secret",
	"TWILIO_ACCOUNT_SID": "AC00000000000000000000000000000000", "TWILIO_AUTH_TOKEN": "live_twilio_token",
	"TWILIO_API_KEY": "SK00000000000000000000000000000001", "TWILIO_API_SECRET": "live_key_secret", "TWILIO_TWIML_APP_SID": "AP00000000000000000000000000000001",
	"DEFAULT_CALLER_ID": "+14155550199"}

func getPage(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// notChosen is a deployment that forgot its provider settings and did not
// choose the sandbox: the API process refuses to start (CheckDeployment),
// and even so the handlers never act as the sandbox.
var notChosen = map[string]string{"MOBAYILO_SANDBOX": "false"}

func TestSandbox_EveryRouteIsA404UnlessChosen(t *testing.T) {
	for name, env := range map[string]map[string]string{"live settings": liveSettings, "nothing set": notChosen} {
		t.Run(name, func(t *testing.T) { sandboxRoutesAre404(t, env) })
	}
}

func sandboxRoutesAre404(t *testing.T, env map[string]string) {
	s := newServer(t, testenv.SQLite(t), env)
	for _, path := range []string{"/sandbox/checkout/cs_sandbox_tu_1", "/sandbox/checkout/cs_live_real_session",
		"/sandbox/authenticate/pi_1?round=1&token=x", "/sandbox/anything"} {
		if code, body := getPage(t, s.URL+path); code != http.StatusNotFound || strings.Contains(body, "data-sandbox-banner") {
			t.Errorf("GET %s = %d (banner %v), want a 404 without the sandbox banner", path, code, strings.Contains(body, "data-sandbox-banner"))
		}
		if code := postRaw(t, s.URL+path, "application/x-www-form-urlencoded", "card=pm_card_visa", map[string]string{"Origin": s.URL}); code != http.StatusNotFound {
			t.Errorf("POST %s = %d, want 404", path, code)
		}
	}
	if _, body := getPage(t, s.URL+"/"); strings.Contains(body, "data-sandbox-banner") {
		t.Error("a live deployment shows the sandbox banner")
	}
}

func TestSandbox_EveryPageShowsTheBannerInSandboxMode(t *testing.T) {
	s := newServer(t, testenv.SQLite(t), nil)
	for _, path := range []string{"/", "/signin", "/no-such-page"} {
		if _, body := getPage(t, s.URL+path); !strings.Contains(body, "data-sandbox-banner") || !strings.Contains(body, "Sandbox") {
			t.Errorf("%s has no sandbox banner", path)
		}
	}
}

func TestSandbox_DevDefaultSecretsAreNeverAcceptedUnlessChosen(t *testing.T) {
	for name, env := range map[string]map[string]string{"live settings": liveSettings, "nothing set": notChosen} {
		t.Run(name, func(t *testing.T) { devSecretsRefused(t, env) })
	}
}

func devSecretsRefused(t *testing.T, env map[string]string) {
	s := newServer(t, testenv.SQLite(t), env)
	body := `{"id":"evt_forged","object":"event","type":"checkout.session.completed","api_version":"2023-10-16","created":1,"data":{"object":{"id":"cs_1","object":"checkout.session","metadata":{"topup_id":"tu_1"}}}}`
	for name, secret := range map[string]string{"dev default": config.DevStripeWebhookSecret, "empty": ""} {
		sig := providers.SignStripe([]byte(body), secret, time.Now())
		if code := postRaw(t, s.URL+"/api/webhooks/stripe", "application/json", body, map[string]string{"Stripe-Signature": sig}); code != http.StatusBadRequest {
			t.Errorf("stripe event signed with the %s secret: %d, want 400", name, code)
		}
	}
	form := url.Values{"CallSid": {"CA1"}, "CallStatus": {"completed"}}
	path := "/api/webhooks/twilio/status"
	for name, token := range map[string]string{"dev default": config.DevTwilioAuthToken, "empty": ""} {
		sig := providers.SignTwilio(token, s.cfg.PublicBaseURL+path, form)
		if code := postRaw(t, s.URL+path, "application/x-www-form-urlencoded", form.Encode(), map[string]string{"X-Twilio-Signature": sig}); code < 400 {
			t.Errorf("twilio callback signed with the %s token: %d, want refused", name, code)
		}
	}
	if s.cfg.EffectiveStripeWebhookSecret() != env["STRIPE_WEBHOOK_SECRET"] || s.cfg.EffectiveTwilioAuthToken() != env["TWILIO_AUTH_TOKEN"] {
		t.Fatal("outside sandbox mode signatures are checked against something other than the configured secrets")
	}
}

// The sandbox checkout serves only sessions the sandbox created: a top-up
// whose session is a real Stripe one (a deployment that once ran live) is a
// 404 there, and posting "pay" to it delivers nothing.
func TestSandboxCheckout_ServesOnlySessionsTheSandboxCreated(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	u, cookie, _ := s.user("real-session@example.com", models.AccountIndividual)
	ctx := context.Background()
	tu, _, err := credits.New(s.db).Create(ctx, credits.NewTopUp{AccountID: u.AccountID, UserID: u.ID, AmountCents: 500})
	if err != nil {
		t.Fatal(err)
	}
	const real = "cs_live_a1b2c3real"
	if err := credits.New(s.db).RecordCheckout(ctx, tu.ID, real, "https://checkout.stripe.com/c/pay/"+real, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := s.do(http.MethodGet, providers.SandboxCheckoutPath+real, nil, nil, cookie); code != http.StatusNotFound {
		t.Fatalf("GET of a real session on the sandbox page = %d, want 404", code)
	}
	form := url.Values{"card": {providers.SandboxCardVisa}}
	if code, _, _ := s.do(http.MethodPost, providers.SandboxCheckoutPath+real, strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, cookie); code != http.StatusNotFound {
		t.Fatalf("POST of a real session on the sandbox page = %d, want 404", code)
	}
	if acct, _ := s.ledger.Account(ctx, u.AccountID); acct.BalanceCents != 0 {
		t.Fatalf("balance %d, want nothing credited", acct.BalanceCents)
	}
	if got, _ := credits.New(s.db).Get(ctx, tu.ID); got.Status != models.TopUpAwaitingPayment {
		t.Fatalf("top-up %+v, want untouched", got)
	}
}
