package providers

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
	twclient "github.com/twilio/twilio-go/client"
)

const (
	testTwilioToken  = "twilio_test_auth_token"
	testStripeSecret = "whsec_test_secret"
	testWebhookURL   = "https://mobayilo.example.com/api/webhooks/twilio/voice?call=17"
)

func twilioForm() url.Values {
	return url.Values{
		"CallSid":    {"CA0123456789abcdef0123456789abcdef"},
		"CallStatus": {"completed"},
		"From":       {"client:alice"},
		"To":         {"+15551234567"},
	}
}

func TestSignTwilio_AcceptedByTwilioGoValidator(t *testing.T) {
	sig := SignTwilio(testTwilioToken, testWebhookURL, twilioForm())

	v := twclient.NewRequestValidator(testTwilioToken)
	if !v.Validate(testWebhookURL, firstValues(twilioForm()), sig) {
		t.Fatal("twilio-go's validator rejects SignTwilio's signature")
	}
	if err := VerifyTwilio(testTwilioToken, testWebhookURL, twilioForm(), sig); err != nil {
		t.Fatalf("VerifyTwilio: %v", err)
	}
}

func TestVerifyTwilio_Rejects(t *testing.T) {
	good := SignTwilio(testTwilioToken, testWebhookURL, twilioForm())
	tampered := twilioForm()
	tampered.Set("CallStatus", "in-progress")
	extra := twilioForm()
	extra.Set("Duration", "3600")

	for _, tc := range []struct {
		name, token, url, sig string
		form                  url.Values
	}{
		{"tampered parameter", testTwilioToken, testWebhookURL, good, tampered},
		{"added parameter", testTwilioToken, testWebhookURL, good, extra},
		{"other URL", testTwilioToken, "https://mobayilo.example.com/api/webhooks/twilio/voice?call=18", good, twilioForm()},
		{"wrong auth token", "another_token", testWebhookURL, good, twilioForm()},
		{"missing header", testTwilioToken, testWebhookURL, "", twilioForm()},
		{"garbage header", testTwilioToken, testWebhookURL, "not-base64!", twilioForm()},
		// No token configured: anyone can compute an HMAC under the empty key.
		{"signed with no token", "", testWebhookURL, SignTwilio("", testWebhookURL, twilioForm()), twilioForm()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyTwilio(tc.token, tc.url, tc.form, tc.sig)
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("err = %v, want ErrBadSignature", err)
			}
		})
	}
}

func stripePayload(t *testing.T) []byte {
	t.Helper()
	b, err := json.Marshal(NewStripeEvent("evt_1", "checkout.session.completed", map[string]any{"id": "cs_test_1", "object": "checkout.session"}))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignStripe_RoundTrips(t *testing.T) {
	payload := stripePayload(t)

	ev, err := VerifyStripe(payload, SignStripe(payload, testStripeSecret, time.Now()), testStripeSecret)

	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "evt_1" || ev.Type != "checkout.session.completed" {
		t.Errorf("event = %s %s, want evt_1 checkout.session.completed", ev.ID, ev.Type)
	}
}

func TestVerifyStripe_AcceptsOtherAPIVersion(t *testing.T) {
	ev := NewStripeEvent("evt_2", "payment_intent.succeeded", map[string]any{"id": "pi_1"})
	ev["api_version"] = "2020-08-27"
	payload, _ := json.Marshal(ev)

	if _, err := VerifyStripe(payload, SignStripe(payload, testStripeSecret, time.Now()), testStripeSecret); err != nil {
		t.Fatalf("event in an older API version refused: %v", err)
	}
}

func TestVerifyStripe_Rejects(t *testing.T) {
	payload := stripePayload(t)
	now := time.Now()
	good := SignStripe(payload, testStripeSecret, now)
	tampered := bytes.Replace(payload, []byte("cs_test_1"), []byte("cs_test_9"), 1)

	for _, tc := range []struct {
		name    string
		payload []byte
		header  string
		secret  string
		cause   error
	}{
		{"tampered body", tampered, good, testStripeSecret, webhook.ErrNoValidSignature},
		{"wrong secret", payload, good, "whsec_other", webhook.ErrNoValidSignature},
		{"stale timestamp", payload, SignStripe(payload, testStripeSecret, now.Add(-StripeSignatureTolerance-time.Second)), testStripeSecret, webhook.ErrTooOld},
		{"missing header", payload, "", testStripeSecret, webhook.ErrNotSigned},
		{"malformed header", payload, "v1", testStripeSecret, webhook.ErrInvalidHeader},
		// No secret configured: anyone can compute an HMAC under the empty key.
		{"signed with no secret", payload, SignStripe(payload, "", now), "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyStripe(tc.payload, tc.header, tc.secret)
			if !errors.Is(err, ErrBadSignature) || (tc.cause != nil && !errors.Is(err, tc.cause)) {
				t.Fatalf("err = %v, want ErrBadSignature wrapping %v", err, tc.cause)
			}
		})
	}
}

func TestVerifyStripe_SignedGarbageIsBadPayload(t *testing.T) {
	payload := []byte("not json")

	_, err := VerifyStripe(payload, SignStripe(payload, testStripeSecret, time.Now()), testStripeSecret)

	if !errors.Is(err, ErrBadPayload) || errors.Is(err, ErrBadSignature) {
		t.Fatalf("err = %v, want ErrBadPayload only", err)
	}
}
