package providers

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// Checkout in payment mode, for a top-up: the live (Stripe) and sandbox
// halves side by side.

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

// Card is what a receipt shows of the card that paid.
type Card struct {
	Brand string
	Last4 string
	// PaymentMethodID is the card Stripe keeps for off-session charges
	// when the payer chose to save it.
	PaymentMethodID string
}

// SandboxCheckoutPath is the API's stand-in for Stripe Checkout; the
// session id follows it.
const SandboxCheckoutPath = "/sandbox/checkout/"

// SandboxSessionID is the sandbox's checkout session id for a top-up:
// derived, so a retried activity gets the same session, as with Stripe's
// Idempotency-Key.
func SandboxSessionID(topUpID string) string { return "cs_sandbox_" + topUpID }

// SandboxPaymentIntentID is the PaymentIntent a sandbox checkout creates.
func SandboxPaymentIntentID(topUpID, card string) string {
	return "pi_sandbox_" + topUpID + "_" + strings.TrimPrefix(card, "pm_card_")
}

// CreateCheckout in the sandbox points at our own checkout page, where the
// payer picks a test card; the page then delivers the signed webhooks.
func (s sandboxPayments) CreateCheckout(_ context.Context, in CheckoutParams) (CheckoutSession, error) {
	if in.TopUpID == "" || in.AmountCents <= 0 {
		return CheckoutSession{}, fmt.Errorf("sandbox: checkout needs a top-up id and a positive amount")
	}
	base := ""
	if s.deliver != nil {
		base = s.deliver.baseURL
	}
	id := SandboxSessionID(in.TopUpID)
	exp := in.ExpiresAt
	if exp.IsZero() {
		exp = time.Now().Add(time.Hour)
	}
	return CheckoutSession{ID: id, URL: base + SandboxCheckoutPath + id, ExpiresAt: exp.UTC().Truncate(time.Second)}, nil
}

// PaymentCard in the sandbox: a checkout is paid by the test Visa, or by
// the 3-D Secure card once its challenge is completed; the PaymentIntent id
// names the card (SandboxPaymentIntentID).
func (sandboxPayments) PaymentCard(_ context.Context, paymentIntentID string) (Card, error) {
	if !strings.HasPrefix(paymentIntentID, "pi_sandbox_") {
		return Card{}, fmt.Errorf("sandbox: unknown payment intent %q", paymentIntentID)
	}
	pm := SandboxCardVisa
	if strings.HasSuffix(paymentIntentID, "_"+strings.TrimPrefix(SandboxCardAuthenticationRequire, "pm_card_")) {
		pm = SandboxCardAuthenticationRequire
	}
	card, _ := SandboxTestCard(pm)
	return card, nil
}

// PaymentCard reads the card from the PaymentIntent's latest charge.
func (p *stripePayments) PaymentCard(ctx context.Context, paymentIntentID string) (Card, error) {
	params := &stripe.PaymentIntentParams{}
	params.Context = ctx
	params.AddExpand("latest_charge")
	pi, err := p.api.PaymentIntents.Get(paymentIntentID, params)
	if err != nil {
		return Card{}, fmt.Errorf("stripe: read payment intent %s: %w", paymentIntentID, err)
	}
	if pi.LatestCharge == nil || pi.LatestCharge.PaymentMethodDetails == nil || pi.LatestCharge.PaymentMethodDetails.Card == nil {
		return Card{}, nil
	}
	c := pi.LatestCharge.PaymentMethodDetails.Card
	card := Card{Brand: string(c.Brand), Last4: c.Last4}
	if pi.PaymentMethod != nil {
		card.PaymentMethodID = pi.PaymentMethod.ID
	}
	return card, nil
}
