package providers

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func loadConfig(t *testing.T, environ map[string]string) config.Config {
	t.Helper()
	cfg, err := config.Load(environ)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestNew_SandboxWithoutCredentials(t *testing.T) {
	cfg := loadConfig(t, map[string]string{"MOBAYILO_SANDBOX": "true"})
	deliver := NewSandboxWebhooks(cfg.PublicBaseURL, cfg.EffectiveTwilioAuthToken(), cfg.EffectiveStripeWebhookSecret(), nil)

	p, err := New(cfg, deliver)
	if err != nil {
		t.Fatal(err)
	}

	if p.StripeMode != ModeSandbox || p.TwilioMode != ModeSandbox {
		t.Fatalf("modes = stripe %q, twilio %q; want both sandbox", p.StripeMode, p.TwilioMode)
	}
	id, err := p.Payments.EnsureCustomer(context.Background(), CustomerParams{AccountID: 7, Email: "a@example.com"})
	if err != nil || id != "cus_sandbox_7" {
		t.Fatalf("EnsureCustomer = %q, %v; want cus_sandbox_7", id, err)
	}
	acct, err := p.Telephony.FetchAccount(context.Background())
	if err != nil || acct.SID != SandboxAccountSID || acct.Status != "active" {
		t.Fatalf("FetchAccount = %+v, %v; want the sandbox account", acct, err)
	}
}

func TestNew_LiveWithCredentials(t *testing.T) {
	cfg := loadConfig(t, map[string]string{
		"TWILIO_ACCOUNT_SID":    testenv.PrismProbeAccountSID,
		"TWILIO_AUTH_TOKEN":     "token",
		"STRIPE_SECRET_KEY":     "sk_test_123",
		"STRIPE_WEBHOOK_SECRET": "whsec_test",
	})

	p, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}

	if p.StripeMode != ModeLive || p.TwilioMode != ModeLive {
		t.Fatalf("modes = stripe %q, twilio %q; want both live", p.StripeMode, p.TwilioMode)
	}
	if _, ok := p.Payments.(*stripePayments); !ok {
		t.Errorf("Payments is %T, want *stripePayments", p.Payments)
	}
	if _, ok := p.Telephony.(*twilioTelephony); !ok {
		t.Errorf("Telephony is %T, want *twilioTelephony", p.Telephony)
	}
}

func TestNew_InDevEachProviderSwitchesOnItsOwnCredentials(t *testing.T) {
	cfg := loadConfig(t, map[string]string{"STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_WEBHOOK_SECRET": "whsec_test"}).ForDev()

	p, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}

	if p.StripeMode != ModeLive || p.TwilioMode != ModeSandbox {
		t.Fatalf("modes = stripe %q, twilio %q; want stripe live, twilio sandbox", p.StripeMode, p.TwilioMode)
	}
}

func TestNew_NeverFallsBackToTheSandboxUnlessChosen(t *testing.T) {
	for name, environ := range map[string]map[string]string{
		"nothing set":        nil,
		"only stripe is set": {"STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_WEBHOOK_SECRET": "whsec_test"},
		"only twilio is set": {"TWILIO_ACCOUNT_SID": testenv.PrismProbeAccountSID, "TWILIO_AUTH_TOKEN": "token"},
	} {
		p, err := New(loadConfig(t, environ), nil)
		if !errors.Is(err, ErrNoSandbox) || p.Payments != nil || p.Telephony != nil {
			t.Errorf("%s: providers %+v, %v; want ErrNoSandbox and none", name, p, err)
		}
	}
}

// recorder is an http.RoundTripper that keeps a copy of every request it
// forwards, so tests can see what an SDK really sent.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	Method string
	URL    *url.URL
	Header http.Header
	Form   url.Values
}

func newRecorder() *recorder { return &recorder{next: http.DefaultTransport} }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := recorded{Method: req.Method, URL: req.URL, Header: req.Header.Clone()}
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		rec.Form, _ = url.ParseQuery(string(body))
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, rec)
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *recorder) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}
