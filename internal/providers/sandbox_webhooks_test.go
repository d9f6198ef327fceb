package providers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

// endpoint stands in for our webhook handlers: it verifies each request as
// production does, then answers with the next status in script (the last
// one repeats).
type endpoint struct {
	srv            *httptest.Server
	script         []int
	calls          atomic.Int32
	badSigs        atomic.Int32
	lastTwilioForm atomic.Pointer[url.Values]
	lastStripeType atomic.Pointer[string]
}

func newEndpoint(t *testing.T, script ...int) *endpoint {
	e := &endpoint{script: script}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) serve(w http.ResponseWriter, r *http.Request) {
	n := int(e.calls.Add(1))
	var err error
	if r.URL.Path == StripeWebhookPath {
		body, _ := io.ReadAll(r.Body)
		ev, verr := VerifyStripe(body, r.Header.Get("Stripe-Signature"), testStripeSecret)
		typ := string(ev.Type)
		e.lastStripeType.Store(&typ)
		err = verr
	} else {
		if perr := r.ParseForm(); perr != nil {
			http.Error(w, perr.Error(), http.StatusBadRequest)
			return
		}
		form := r.PostForm
		e.lastTwilioForm.Store(&form)
		// As the API does: PUBLIC_BASE_URL plus the request URI.
		err = VerifyTwilio(testTwilioToken, e.srv.URL+r.URL.RequestURI(), form, r.Header.Get("X-Twilio-Signature"))
	}
	if err != nil {
		e.badSigs.Add(1)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	status := http.StatusOK
	if len(e.script) > 0 {
		status = e.script[min(n, len(e.script))-1]
	}
	w.WriteHeader(status)
}

func (e *endpoint) sandbox() *SandboxWebhooks {
	s := NewSandboxWebhooks(e.srv.URL, testTwilioToken, testStripeSecret, nil)
	s.backoff = time.Millisecond
	return s
}

func TestSandboxWebhooks_TwilioDeliveryVerifies(t *testing.T) {
	e := newEndpoint(t)

	status, err := e.sandbox().DeliverTwilio(context.Background(), "/api/webhooks/twilio/voice/status?call=17", twilioForm())

	if err != nil || status != http.StatusOK {
		t.Fatalf("DeliverTwilio = %d, %v; want 200", status, err)
	}
	if got := (*e.lastTwilioForm.Load()).Get("CallStatus"); got != "completed" {
		t.Errorf("endpoint saw CallStatus %q, want completed", got)
	}
}

func TestSandboxWebhooks_StripeDeliveryVerifies(t *testing.T) {
	e := newEndpoint(t)
	ev := NewStripeEvent("evt_sb_1", "checkout.session.completed", map[string]any{"id": "cs_sandbox_1", "object": "checkout.session"})

	status, err := e.sandbox().DeliverStripe(context.Background(), ev)

	if err != nil || status != http.StatusOK {
		t.Fatalf("DeliverStripe = %d, %v; want 200", status, err)
	}
	if got := *e.lastStripeType.Load(); got != "checkout.session.completed" {
		t.Errorf("endpoint saw type %q", got)
	}
}

func TestSandboxWebhooks_RetriesAfterServerError(t *testing.T) {
	for name, deliver := range deliveries() {
		t.Run(name, func(t *testing.T) {
			e := newEndpoint(t, http.StatusInternalServerError, http.StatusOK)

			status, err := deliver(e.sandbox())

			if err != nil || status != http.StatusOK {
				t.Fatalf("deliver = %d, %v; want 200 on the retry", status, err)
			}
			if n := e.calls.Load(); n != 2 {
				t.Errorf("endpoint called %d times, want 2", n)
			}
			if n := e.badSigs.Load(); n != 0 {
				t.Errorf("%d deliveries failed verification", n)
			}
		})
	}
}

func TestSandboxWebhooks_DoesNotRetryClientError(t *testing.T) {
	for name, deliver := range deliveries() {
		t.Run(name, func(t *testing.T) {
			e := newEndpoint(t, http.StatusBadRequest, http.StatusOK)

			status, err := deliver(e.sandbox())

			if err == nil || status != http.StatusBadRequest {
				t.Fatalf("deliver = %d, %v; want 400 and an error", status, err)
			}
			if n := e.calls.Load(); n != 1 {
				t.Errorf("endpoint called %d times, want 1", n)
			}
		})
	}
}

func TestSandboxWebhooks_GivesUpAfterRepeatedServerErrors(t *testing.T) {
	e := newEndpoint(t, http.StatusServiceUnavailable)
	s := e.sandbox()

	status, err := s.DeliverTwilio(context.Background(), "/api/webhooks/twilio/voice", twilioForm())

	if err == nil || status != http.StatusServiceUnavailable {
		t.Fatalf("DeliverTwilio = %d, %v; want 503 and an error", status, err)
	}
	if n := int(e.calls.Load()); n != s.attempts {
		t.Errorf("endpoint called %d times, want %d", n, s.attempts)
	}
}

func TestSandboxWebhooks_RetriesConnectionErrorsUntilContextEnds(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	s := NewSandboxWebhooks(dead.URL, testTwilioToken, testStripeSecret, nil)
	s.backoff = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()

	_, err := s.DeliverTwilio(ctx, "/api/webhooks/twilio/voice", twilioForm())

	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
}

func TestSandboxWebhooks_RefusesMalformedStripeEvent(t *testing.T) {
	e := newEndpoint(t)

	_, err := e.sandbox().DeliverStripe(context.Background(), map[string]any{"id": "evt_1", "type": "x", "data": map[string]any{"object": map[string]any{}}})

	if err == nil {
		t.Fatal("an event without object \"event\" was delivered")
	}
	if n := e.calls.Load(); n != 0 {
		t.Errorf("endpoint called %d times, want 0", n)
	}
}

func deliveries() map[string]func(*SandboxWebhooks) (int, error) {
	return map[string]func(*SandboxWebhooks) (int, error){
		"twilio": func(s *SandboxWebhooks) (int, error) {
			return s.DeliverTwilio(context.Background(), "/api/webhooks/twilio/voice", twilioForm())
		},
		"stripe": func(s *SandboxWebhooks) (int, error) {
			return s.DeliverStripe(context.Background(), NewStripeEvent("evt_retry", "payment_intent.succeeded", map[string]any{"id": "pi_1"}))
		},
	}
}
