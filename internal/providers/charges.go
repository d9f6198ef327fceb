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
	"time"

	"github.com/stripe/stripe-go/v76"
)

// Operations the credit workflows (TopUp, AutoTopUp) need from Stripe. They
// are methods of the live and sandbox Payments implementations; the Payments
// interface grows to include them when those workflows land.

// CheckoutParams describes a hosted payment page for one top-up.
type CheckoutParams struct {
	TopUpID     string
	AccountID   int64
	CustomerID  string
	AmountCents int64
	// SaveCard asks Stripe to keep the card for off-session auto top-ups.
	SaveCard   bool
	SuccessURL string
	CancelURL  string
	// ExpiresAt is when Stripe closes the session (30 min to 24 h ahead).
	ExpiresAt time.Time
}

// CheckoutSession is where to send the payer.
type CheckoutSession struct {
	ID        string
	URL       string
	ExpiresAt time.Time
}

// CheckoutIdempotencyKey derives the Idempotency-Key of a top-up's checkout
// session from the top-up, so a retried activity gets the same session.
func CheckoutIdempotencyKey(topUpID string) string { return "checkout-topup-" + topUpID }

// ChargeIdempotencyKey derives the Idempotency-Key of one off-session charge
// attempt from the attempt id, stable across activity retries.
func ChargeIdempotencyKey(attemptID string) string { return "charge-attempt-" + attemptID }

// ChargeParams describes one off-session charge of a saved card.
type ChargeParams struct {
	AttemptID       string
	AccountID       int64
	CustomerID      string
	PaymentMethodID string
	AmountCents     int64
}

// ChargeOutcome is what became of a charge.
type ChargeOutcome string

const (
	ChargeSucceeded ChargeOutcome = "succeeded"
	// ChargeNeedsAuthentication: the bank wants the cardholder present
	// (SCA). Never retried automatically.
	ChargeNeedsAuthentication ChargeOutcome = "needs_authentication"
	// ChargeSoftDecline: may succeed later (insufficient funds, issuer busy).
	ChargeSoftDecline ChargeOutcome = "soft_decline"
	// ChargeHardDecline: will not succeed with this card; stop at once.
	ChargeHardDecline ChargeOutcome = "hard_decline"
)

// ChargeResult is the outcome with the provider's ids and reason.
type ChargeResult struct {
	PaymentIntentID string
	Outcome         ChargeOutcome
	DeclineCode     string
	Message         string
}

// hardDeclines are Stripe decline codes that retrying cannot fix: the card
// or account is gone, blocked or fraudulent. Everything else declined is
// treated as soft, with a bounded number of retries.
// https://docs.stripe.com/declines/codes
var hardDeclines = map[string]bool{
	"card_not_supported": true, "currency_not_supported": true,
	"do_not_try_again": true, "expired_card": true, "fraudulent": true,
	"incorrect_number": true, "incorrect_cvc": true, "invalid_account": true, "invalid_amount": true,
	"invalid_cvc": true, "invalid_expiry_month": true, "invalid_expiry_year": true, "invalid_number": true,
	"lost_card": true, "merchant_blacklist": true, "new_account_information_available": true,
	"no_action_taken": true, "not_permitted": true, "pickup_card": true, "restricted_card": true,
	"revocation_of_all_authorizations": true, "revocation_of_authorization": true,
	"security_violation": true, "service_not_allowed": true, "stolen_card": true,
	"stop_payment_order": true, "transaction_not_allowed": true, "generic_decline": true,
}

// ClassifyDecline maps a Stripe error code and decline code to an outcome.
func ClassifyDecline(code, declineCode string) ChargeOutcome {
	switch {
	case code == "authentication_required" || declineCode == "authentication_required":
		return ChargeNeedsAuthentication
	case hardDeclines[declineCode]:
		return ChargeHardDecline
	case code == "expired_card" || code == "incorrect_number" || code == "invalid_cvc":
		return ChargeHardDecline
	}
	return ChargeSoftDecline
}

// CreateCheckout opens a Stripe Checkout Session in payment mode for a
// top-up; metadata.topup_id lets the webhook find the workflow.
func (p *stripePayments) CreateCheckout(ctx context.Context, in CheckoutParams) (CheckoutSession, error) {
	params := &stripe.CheckoutSessionParams{
		Mode:       stripe.String(string(stripe.CheckoutSessionModePayment)),
		Customer:   stripe.String(in.CustomerID),
		SuccessURL: stripe.String(in.SuccessURL),
		CancelURL:  stripe.String(in.CancelURL),
		LineItems: []*stripe.CheckoutSessionLineItemParams{{
			Quantity: stripe.Int64(1),
			PriceData: &stripe.CheckoutSessionLineItemPriceDataParams{
				Currency:    stripe.String(string(stripe.CurrencyUSD)),
				UnitAmount:  stripe.Int64(in.AmountCents),
				ProductData: &stripe.CheckoutSessionLineItemPriceDataProductDataParams{Name: stripe.String("Mobayilo calling credit")},
			},
		}},
		PaymentIntentData: &stripe.CheckoutSessionPaymentIntentDataParams{
			Metadata: map[string]string{"topup_id": in.TopUpID, "account_id": strconv.FormatInt(in.AccountID, 10)},
		},
	}
	if !in.ExpiresAt.IsZero() {
		params.ExpiresAt = stripe.Int64(in.ExpiresAt.Unix())
	}
	if in.SaveCard {
		params.PaymentIntentData.SetupFutureUsage = stripe.String(string(stripe.PaymentIntentSetupFutureUsageOffSession))
	}
	params.Context = ctx
	params.SetIdempotencyKey(CheckoutIdempotencyKey(in.TopUpID))
	params.AddMetadata("topup_id", in.TopUpID)
	params.AddMetadata("account_id", strconv.FormatInt(in.AccountID, 10))
	s, err := p.api.CheckoutSessions.New(params)
	if err != nil {
		return CheckoutSession{}, fmt.Errorf("stripe: create checkout for top-up %s: %w", in.TopUpID, err)
	}
	return CheckoutSession{ID: s.ID, URL: s.URL, ExpiresAt: time.Unix(s.ExpiresAt, 0).UTC()}, nil
}

// ChargeSaved charges a saved card off-session. A decline is a result, not
// an error; errors are for failures worth retrying (network, 5xx).
func (p *stripePayments) ChargeSaved(ctx context.Context, in ChargeParams) (ChargeResult, error) {
	params := &stripe.PaymentIntentParams{
		Amount:        stripe.Int64(in.AmountCents),
		Currency:      stripe.String(string(stripe.CurrencyUSD)),
		Customer:      stripe.String(in.CustomerID),
		PaymentMethod: stripe.String(in.PaymentMethodID),
		Confirm:       stripe.Bool(true),
		OffSession:    stripe.Bool(true),
	}
	params.Context = ctx
	params.SetIdempotencyKey(ChargeIdempotencyKey(in.AttemptID))
	params.AddMetadata("attempt_id", in.AttemptID)
	params.AddMetadata("account_id", strconv.FormatInt(in.AccountID, 10))
	pi, err := p.api.PaymentIntents.New(params)
	if err == nil {
		if pi.Status == stripe.PaymentIntentStatusSucceeded {
			return ChargeResult{PaymentIntentID: pi.ID, Outcome: ChargeSucceeded}, nil
		}
		if pi.Status == stripe.PaymentIntentStatusRequiresAction {
			return ChargeResult{PaymentIntentID: pi.ID, Outcome: ChargeNeedsAuthentication}, nil
		}
		if pi.Status == stripe.PaymentIntentStatusRequiresPaymentMethod {
			// Confirmed but not paid, without a card error: treat as a
			// decline that may clear later.
			return ChargeResult{PaymentIntentID: pi.ID, Outcome: ChargeSoftDecline, DeclineCode: string(pi.Status)}, nil
		}
		return ChargeResult{}, fmt.Errorf("stripe: payment intent %s is %s", pi.ID, pi.Status)
	}
	var se *stripe.Error
	if errors.As(err, &se) && se.Type == stripe.ErrorTypeCard {
		res := ChargeResult{Outcome: ClassifyDecline(string(se.Code), string(se.DeclineCode)), DeclineCode: string(se.DeclineCode), Message: se.Msg}
		if res.DeclineCode == "" {
			res.DeclineCode = string(se.Code)
		}
		if se.PaymentIntent != nil {
			res.PaymentIntentID = se.PaymentIntent.ID
		}
		return res, nil
	}
	return ChargeResult{}, fmt.Errorf("stripe: charge attempt %s: %w", in.AttemptID, err)
}

// ErrPaymentProcessing: the PaymentIntent is settling at the bank; only its
// webhook says whether it was paid.
var ErrPaymentProcessing = errors.New("payment is processing")

// Sandbox test payment methods, with the semantics of Stripe's own.
const (
	SandboxCardVisa                  = "pm_card_visa"
	SandboxCardDeclined              = "pm_card_chargeDeclined"
	SandboxCardInsufficientFunds     = "pm_card_chargeDeclinedInsufficientFunds"
	SandboxCardAuthenticationRequire = "pm_card_authenticationRequired"
)

// ChargeSaved in the sandbox behaves like Stripe's test payment methods.
func (sandboxPayments) ChargeSaved(_ context.Context, in ChargeParams) (ChargeResult, error) {
	id := "pi_sandbox_" + in.AttemptID
	switch in.PaymentMethodID {
	case SandboxCardVisa:
		return ChargeResult{PaymentIntentID: id, Outcome: ChargeSucceeded}, nil
	case SandboxCardDeclined:
		return ChargeResult{PaymentIntentID: id, Outcome: ClassifyDecline("card_declined", "generic_decline"), DeclineCode: "generic_decline", Message: "Your card was declined."}, nil
	case SandboxCardInsufficientFunds:
		return ChargeResult{PaymentIntentID: id, Outcome: ClassifyDecline("card_declined", "insufficient_funds"), DeclineCode: "insufficient_funds", Message: "Your card has insufficient funds."}, nil
	case SandboxCardAuthenticationRequire:
		return ChargeResult{PaymentIntentID: id, Outcome: ClassifyDecline("authentication_required", "authentication_required"), DeclineCode: "authentication_required", Message: "This payment requires authentication."}, nil
	}
	return ChargeResult{}, fmt.Errorf("sandbox: unknown payment method %q: use %s, %s, %s or %s", in.PaymentMethodID,
		SandboxCardVisa, SandboxCardDeclined, SandboxCardInsufficientFunds, SandboxCardAuthenticationRequire)
}

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

// CancelIdempotencyKey derives the Idempotency-Key of the cancellation of
// an attempt's PaymentIntent.
func CancelIdempotencyKey(attemptID string) string { return "cancel-attempt-" + attemptID }

// CancelPayment cancels an attempt's PaymentIntent that waits for the
// payer's authentication, before a new charge replaces it, so the payer
// cannot pay both. alreadyPaid reports that it had succeeded meanwhile:
// then it must be credited, and nothing charged anew. A PaymentIntent
// already canceled is no error.
func (p *stripePayments) CancelPayment(ctx context.Context, paymentIntentID, attemptID string) (alreadyPaid bool, err error) {
	params := &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String(string(stripe.PaymentIntentCancellationReasonAbandoned))}
	params.Context = ctx
	params.SetIdempotencyKey(CancelIdempotencyKey(attemptID))
	pi, err := p.api.PaymentIntents.Cancel(paymentIntentID, params)
	var se *stripe.Error
	if err != nil && errors.As(err, &se) && se.PaymentIntent != nil {
		pi, err = se.PaymentIntent, nil
	}
	if err != nil {
		return false, fmt.Errorf("stripe: cancel %s of attempt %s: %w", paymentIntentID, attemptID, err)
	}
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		return true, nil
	case stripe.PaymentIntentStatusProcessing:
		// Not paid yet and no longer cancelable: it ends in a webhook. Never
		// credit it now, and never charge beside it.
		return false, fmt.Errorf("%w: %s", ErrPaymentProcessing, pi.ID)
	case stripe.PaymentIntentStatusCanceled:
		return false, nil
	}
	return false, fmt.Errorf("stripe: payment intent %s is %s after cancellation", pi.ID, pi.Status)
}

// CancelPayment in the sandbox has nothing to call: the attempt row, which
// the sandbox authentication page reads, records the cancellation.
func (sandboxPayments) CancelPayment(_ context.Context, paymentIntentID, _ string) (bool, error) {
	if !strings.HasPrefix(paymentIntentID, "pi_sandbox_") {
		return false, fmt.Errorf("sandbox: unknown payment intent %q", paymentIntentID)
	}
	return false, nil
}
