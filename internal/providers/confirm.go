package providers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/stripe/stripe-go/v76"
)

// On-session confirmation of a charge that needed authentication (3-D
// Secure): the live (Stripe) and sandbox halves side by side.

// ConfirmIdempotencyKey derives the Idempotency-Key of one on-session
// confirmation of an attempt's PaymentIntent. Round counts the owner's
// tries: a retry of the same try gets Stripe's first answer, and a new try
// after a failed authentication is a new request.
func ConfirmIdempotencyKey(attemptID string, round int) string {
	return fmt.Sprintf("confirm-attempt-%s-%d", attemptID, round)
}

// ConfirmParams asks to finish an off-session charge that needed
// authentication, with the cardholder present: the ORIGINAL PaymentIntent
// is confirmed again, so the payment can never happen twice.
type ConfirmParams struct {
	PaymentIntentID string
	// PaymentMethodID is the saved card; empty keeps the one on the
	// PaymentIntent.
	PaymentMethodID string
	// ReturnURL is where the bank's authentication page sends the payer.
	ReturnURL string
	AttemptID string
	// Round numbers the owner's tries at this attempt, from 1.
	Round int
}

// ConfirmResult says what the payer has to do next.
type ConfirmResult struct {
	PaymentIntentID string
	// RedirectURL is the bank's authentication page; empty when nothing is
	// left for the payer to do.
	RedirectURL string
	// Outcome is ChargeSucceeded when the payment went through at once,
	// ChargeNeedsAuthentication while the bank waits for the payer (or the
	// payment is still processing), or a decline.
	Outcome     ChargeOutcome
	DeclineCode string
	Message     string
}

// ConfirmOnSession confirms the attempt's PaymentIntent with the payer
// present. With a return_url and without off_session, a card that needs 3-D
// Secure answers requires_action with a redirect to the bank's page. A
// decline is a result; errors are worth retrying.
func (p *stripePayments) ConfirmOnSession(ctx context.Context, in ConfirmParams) (ConfirmResult, error) {
	params := &stripe.PaymentIntentConfirmParams{ReturnURL: stripe.String(in.ReturnURL)}
	if in.PaymentMethodID != "" {
		params.PaymentMethod = stripe.String(in.PaymentMethodID)
	}
	params.Context = ctx
	params.SetIdempotencyKey(ConfirmIdempotencyKey(in.AttemptID, in.Round))
	pi, err := p.api.PaymentIntents.Confirm(in.PaymentIntentID, params)
	var se *stripe.Error
	if err != nil && errors.As(err, &se) && se.PaymentIntent != nil && se.PaymentIntent.Status == stripe.PaymentIntentStatusSucceeded {
		// Paid already (a second tab, or the answer to an earlier try was
		// lost): nothing to confirm, and nothing to charge again.
		return ConfirmResult{PaymentIntentID: se.PaymentIntent.ID, Outcome: ChargeSucceeded}, nil
	}
	if err != nil {
		if se != nil && se.Type == stripe.ErrorTypeCard {
			// With the payer present every card error is a decline, even
			// authentication_required: a bank wanting 3-D Secure answers
			// requires_action with a redirect, not an error, so there is no
			// page to send the payer to and nothing is waiting to succeed.
			outcome := ClassifyDecline(string(se.Code), string(se.DeclineCode))
			if outcome == ChargeNeedsAuthentication {
				outcome = ChargeSoftDecline
			}
			res := ConfirmResult{PaymentIntentID: in.PaymentIntentID, Outcome: outcome, DeclineCode: string(se.DeclineCode), Message: se.Msg}
			if res.DeclineCode == "" {
				res.DeclineCode = string(se.Code)
			}
			if res.Message == "" {
				res.Message = "the card was declined"
			}
			return res, nil
		}
		return ConfirmResult{}, fmt.Errorf("stripe: confirm %s of attempt %s: %w", in.PaymentIntentID, in.AttemptID, err)
	}
	res := ConfirmResult{PaymentIntentID: pi.ID}
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		res.Outcome = ChargeSucceeded
	case stripe.PaymentIntentStatusRequiresAction:
		res.Outcome = ChargeNeedsAuthentication
		if pi.NextAction != nil && pi.NextAction.RedirectToURL != nil {
			res.RedirectURL = pi.NextAction.RedirectToURL.URL
		}
		if res.RedirectURL == "" {
			return ConfirmResult{}, fmt.Errorf("stripe: payment intent %s wants an action without a redirect URL", pi.ID)
		}
	case stripe.PaymentIntentStatusProcessing:
		// The webhook reports the end; nothing for the payer to do.
		res.Outcome = ChargeNeedsAuthentication
	case stripe.PaymentIntentStatusRequiresPaymentMethod:
		res.Outcome, res.DeclineCode = ChargeSoftDecline, string(pi.Status)
	default:
		return ConfirmResult{}, fmt.Errorf("stripe: payment intent %s is %s after confirmation", pi.ID, pi.Status)
	}
	return res, nil
}

// SandboxAuthenticatePath is the API's stand-in for a bank's 3-D Secure
// page; the PaymentIntent id follows it.
const SandboxAuthenticatePath = "/sandbox/authenticate/"

// SandboxAuthToken is the capability in a sandbox authentication page's
// URL: HMAC-SHA256 over the PaymentIntent and the owner's round, keyed with
// the Stripe webhook secret the sandbox signs its events with. The page
// needs no sign-in and sandbox PaymentIntent ids are guessable, so only
// the URL the approve update returned may complete or fail a charge.
// With no secret there is no token ("").
func SandboxAuthToken(webhookSecret, paymentIntentID string, round int) string {
	if webhookSecret == "" {
		return ""
	}
	m := hmac.New(sha256.New, []byte(webhookSecret))
	// Domain-separated from the Stripe-Signature made with the same key.
	m.Write([]byte("mobayilo-sandbox-authenticate\x00" + paymentIntentID + "\x00" + strconv.Itoa(round)))
	return hex.EncodeToString(m.Sum(nil))
}

// ValidSandboxAuthToken reports, in constant time, whether token is the
// SandboxAuthToken of the PaymentIntent and round. A missing token, or any
// token when there is no secret, is invalid.
func ValidSandboxAuthToken(webhookSecret, paymentIntentID string, round int, token string) bool {
	want := SandboxAuthToken(webhookSecret, paymentIntentID, round)
	return want != "" && token != "" && hmac.Equal([]byte(want), []byte(token))
}

// ConfirmOnSession in the sandbox sends the payer to our own
// authentication page, which delivers the payment_intent.* webhook Stripe
// would send. The round, return URL and the page's token (SandboxAuthToken)
// ride along in the query.
func (s sandboxPayments) ConfirmOnSession(_ context.Context, in ConfirmParams) (ConfirmResult, error) {
	if !strings.HasPrefix(in.PaymentIntentID, "pi_sandbox_") {
		return ConfirmResult{}, fmt.Errorf("sandbox: unknown payment intent %q", in.PaymentIntentID)
	}
	base, secret := "", ""
	if s.deliver != nil {
		base, secret = s.deliver.baseURL, s.deliver.stripeWebhookSecret
	}
	q := url.Values{"round": {strconv.Itoa(in.Round)}}
	if tok := SandboxAuthToken(secret, in.PaymentIntentID, in.Round); tok != "" {
		q.Set("token", tok)
	}
	if in.ReturnURL != "" {
		q.Set("return_url", in.ReturnURL)
	}
	return ConfirmResult{PaymentIntentID: in.PaymentIntentID, Outcome: ChargeNeedsAuthentication,
		RedirectURL: base + SandboxAuthenticatePath + in.PaymentIntentID + "?" + q.Encode()}, nil
}
