package providers

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
	twclient "github.com/twilio/twilio-go/client"
)

// ErrBadSignature means a webhook's signature header is missing, malformed,
// stale or does not match. The error wraps the cause; the API answers 400.
var ErrBadSignature = errors.New("bad webhook signature")

// ErrBadPayload means a correctly signed webhook's body cannot be read as
// the provider's event. The API answers 400: a retry would not fix it.
var ErrBadPayload = errors.New("bad webhook payload")

// StripeSignatureTolerance is how old a Stripe-Signature timestamp may be;
// older ones are refused as possible replays. It is Stripe's own default.
const StripeSignatureTolerance = 300 * time.Second

// VerifyTwilio checks the X-Twilio-Signature header of a webhook. fullURL is
// the URL Twilio called: PUBLIC_BASE_URL plus the request's path and query.
// form is the POST form. Returns ErrBadSignature.
//
// Twilio's webhooks never repeat a form key; like twilio-go's validator,
// only the first value of a key is signed.
func VerifyTwilio(authToken, fullURL string, form url.Values, signatureHeader string) error {
	if signatureHeader == "" {
		return fmt.Errorf("%w: twilio: no X-Twilio-Signature header", ErrBadSignature)
	}
	if authToken == "" {
		// An empty key is known to everyone: nothing it signs is proof.
		return fmt.Errorf("%w: twilio: no auth token is configured to check it with", ErrBadSignature)
	}
	v := twclient.NewRequestValidator(authToken)
	if !v.Validate(fullURL, firstValues(form), signatureHeader) {
		return fmt.Errorf("%w: twilio: signature does not match %s and its parameters", ErrBadSignature, fullURL)
	}
	return nil
}

// SignTwilio computes the X-Twilio-Signature Twilio would send to fullURL
// with form: base64 of HMAC-SHA1, keyed by the auth token, over the URL
// followed by each key and value in key order.
func SignTwilio(authToken, fullURL string, form url.Values) string {
	params := firstValues(form)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(fullURL))
	for _, k := range keys {
		mac.Write([]byte(k))
		mac.Write([]byte(params[k]))
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func firstValues(form url.Values) map[string]string {
	m := make(map[string]string, len(form))
	for k, vs := range form {
		if len(vs) > 0 {
			m[k] = vs[0]
		}
	}
	return m
}

// VerifyStripe checks a Stripe-Signature header against the raw request
// body and returns the event. Returns ErrBadSignature or ErrBadPayload.
//
// The event's API version is not checked against stripe-go's: `stripe
// listen` and endpoints created under an account's older default version
// send events in that version. Refusing them would refuse real payments;
// handlers must therefore read only fields that are stable across versions.
func VerifyStripe(payload []byte, header, secret string) (stripe.Event, error) {
	if secret == "" {
		// An empty key is known to everyone: nothing it signs is proof.
		return stripe.Event{}, fmt.Errorf("%w: stripe: no webhook secret is configured to check it with", ErrBadSignature)
	}
	ev, err := webhook.ConstructEventWithOptions(payload, header, secret, webhook.ConstructEventOptions{
		Tolerance:                StripeSignatureTolerance,
		IgnoreAPIVersionMismatch: true,
	})
	switch {
	case err == nil:
		return ev, nil
	case errors.Is(err, webhook.ErrNotSigned), errors.Is(err, webhook.ErrInvalidHeader),
		errors.Is(err, webhook.ErrNoValidSignature), errors.Is(err, webhook.ErrTooOld):
		return stripe.Event{}, fmt.Errorf("%w: stripe: %w", ErrBadSignature, err)
	default:
		return stripe.Event{}, fmt.Errorf("%w: stripe: %w", ErrBadPayload, err)
	}
}

// SignStripe computes the Stripe-Signature header Stripe would send with
// payload at now.
func SignStripe(payload []byte, secret string, now time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
		Payload:   payload,
		Secret:    secret,
		Timestamp: now,
		Scheme:    "v1",
	}).Header
}
