package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// StripeWebhookPath is where Stripe (and the sandbox) posts its events.
const StripeWebhookPath = "/api/webhooks/stripe"

// SandboxWebhooks delivers signed webhooks to our own endpoints the way the
// real providers do, so that sandbox mode runs the same verification and
// handling code as production.
type SandboxWebhooks struct {
	baseURL             string
	twilioAuthToken     string
	stripeWebhookSecret string
	hc                  *http.Client

	// Delivery is tried attempts times; the wait before retry n is
	// backoff<<(n-1). Tests shorten the wait.
	attempts int
	backoff  time.Duration
	now      func() time.Time
}

// NewSandboxWebhooks delivers to baseURL, which is PUBLIC_BASE_URL: the
// address the real providers call, and so the URL Twilio signs. hc nil
// means a client with a 10 s timeout.
func NewSandboxWebhooks(baseURL, twilioAuthToken, stripeWebhookSecret string, hc *http.Client) *SandboxWebhooks {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &SandboxWebhooks{
		baseURL:             strings.TrimRight(baseURL, "/"),
		twilioAuthToken:     twilioAuthToken,
		stripeWebhookSecret: stripeWebhookSecret,
		hc:                  hc,
		attempts:            4,
		backoff:             250 * time.Millisecond,
		now:                 time.Now,
	}
}

// DeliverTwilio posts form to path (which may carry a query) with the
// X-Twilio-Signature Twilio would compute, and returns the last status. The
// error is nil only for a 2xx answer.
func (s *SandboxWebhooks) DeliverTwilio(ctx context.Context, path string, form url.Values) (int, error) {
	target := s.baseURL + path
	body := form.Encode()
	sig := SignTwilio(s.twilioAuthToken, target, form)
	return s.deliver(ctx, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		return req, nil
	})
}

// CallTwilio posts form to path once, signed as Twilio signs, and returns
// the answer's status and body: the sandbox carrier reads the TwiML our
// voice webhook answers with.
func (s *SandboxWebhooks) CallTwilio(ctx context.Context, path string, form url.Values) (int, []byte, error) {
	target := s.baseURL + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", SignTwilio(s.twilioAuthToken, target, form))
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("sandbox twilio webhook %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, body, err
}

// DeliverStripe posts event as JSON to StripeWebhookPath with a
// Stripe-Signature, and returns the last status. event must marshal to an
// object with id, type, object "event" and data.object (NewStripeEvent
// builds one). The error is nil only for a 2xx answer.
func (s *SandboxWebhooks) DeliverStripe(ctx context.Context, event any) (int, error) {
	payload, err := json.Marshal(event)
	if err != nil {
		return 0, fmt.Errorf("sandbox stripe webhook: %w", err)
	}
	if err := checkStripeEvent(payload); err != nil {
		return 0, fmt.Errorf("sandbox stripe webhook: %w", err)
	}
	target := s.baseURL + StripeWebhookPath
	return s.deliver(ctx, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(payload))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		// Stripe signs each attempt afresh, so a late retry is not stale.
		req.Header.Set("Stripe-Signature", SignStripe(payload, s.stripeWebhookSecret, s.now()))
		return req, nil
	})
}

func checkStripeEvent(payload []byte) error {
	var ev struct {
		ID     string `json:"id"`
		Type   string `json:"type"`
		Object string `json:"object"`
		Data   struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		return fmt.Errorf("event is not a JSON object: %w", err)
	}
	switch {
	case ev.ID == "":
		return errors.New("event has no id")
	case ev.Type == "":
		return errors.New("event has no type")
	case ev.Object != "event":
		return fmt.Errorf("event has object %q, want \"event\"", ev.Object)
	case len(ev.Data.Object) == 0 || string(ev.Data.Object) == "null":
		return errors.New("event has no data.object")
	}
	return nil
}

// deliver sends the request newReq builds, retrying after a connection
// failure or a 5xx until the attempts run out, as Stripe does. Any other
// answer is final: a 4xx means the endpoint refused the webhook, and
// sending it again would not change that.
func (s *SandboxWebhooks) deliver(ctx context.Context, newReq func() (*http.Request, error)) (int, error) {
	var lastErr error
	status := 0
	for n := range s.attempts {
		if n > 0 {
			select {
			case <-ctx.Done():
				return status, fmt.Errorf("%w (last: %w)", ctx.Err(), lastErr)
			case <-time.After(s.backoff << (n - 1)):
			}
		}
		req, err := newReq()
		if err != nil {
			return 0, err
		}
		status, lastErr = s.send(req)
		if lastErr == nil || (status != 0 && status < 500) {
			return status, lastErr
		}
		if ctx.Err() != nil {
			return status, lastErr
		}
	}
	return status, fmt.Errorf("gave up after %d attempts: %w", s.attempts, lastErr)
}

func (s *SandboxWebhooks) send(req *http.Request) (int, error) {
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("sandbox webhook %s: %w", req.URL.Path, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, fmt.Errorf("sandbox webhook %s answered %d: %s", req.URL.Path, resp.StatusCode, bytes.TrimSpace(snippet))
}

// NewStripeEvent builds an event as Stripe would send it, in test mode and
// in the API version stripe-go speaks.
func NewStripeEvent(id, typ string, object map[string]any) map[string]any {
	return map[string]any{
		"id":               id,
		"object":           "event",
		"api_version":      stripe.APIVersion,
		"created":          time.Now().Unix(),
		"livemode":         false,
		"pending_webhooks": 1,
		"request":          map[string]any{"id": nil, "idempotency_key": nil},
		"type":             typ,
		"data":             map[string]any{"object": object},
	}
}
