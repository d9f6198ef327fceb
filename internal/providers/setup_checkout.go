package providers

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// Saving a card without paying: a Checkout Session in setup mode. Stripe
// collects the card into a SetupIntent for off-session use; the webhook's
// checkout.session.completed names the SetupIntent, and SetupCard reads
// the card it saved.

// SetupCheckoutParams describes a hosted page that saves a card.
type SetupCheckoutParams struct {
	SetupID    string
	AccountID  int64
	CustomerID string
	SuccessURL string
	CancelURL  string
	// ExpiresAt is when Stripe closes the session (30 min to 24 h ahead).
	ExpiresAt time.Time
}

// SetupCheckoutIdempotencyKey derives the Idempotency-Key of a card
// setup's checkout session from the setup, so a retried activity gets the
// same session.
func SetupCheckoutIdempotencyKey(setupID string) string { return "checkout-setup-" + setupID }

// CreateSetupCheckout opens a Stripe Checkout Session in setup mode;
// metadata.setup_id (on the session and its SetupIntent) lets the webhook
// find the SaveCard workflow.
func (p *stripePayments) CreateSetupCheckout(ctx context.Context, in SetupCheckoutParams) (CheckoutSession, error) {
	meta := map[string]string{"setup_id": in.SetupID, "account_id": strconv.FormatInt(in.AccountID, 10)}
	params := &stripe.CheckoutSessionParams{
		Mode:               stripe.String(string(stripe.CheckoutSessionModeSetup)),
		Customer:           stripe.String(in.CustomerID),
		Currency:           stripe.String(string(stripe.CurrencyUSD)),
		PaymentMethodTypes: stripe.StringSlice([]string{"card"}),
		SuccessURL:         stripe.String(in.SuccessURL),
		CancelURL:          stripe.String(in.CancelURL),
		SetupIntentData:    &stripe.CheckoutSessionSetupIntentDataParams{Metadata: meta},
	}
	if !in.ExpiresAt.IsZero() {
		params.ExpiresAt = stripe.Int64(in.ExpiresAt.Unix())
	}
	params.Context = ctx
	params.SetIdempotencyKey(SetupCheckoutIdempotencyKey(in.SetupID))
	for k, v := range meta {
		params.AddMetadata(k, v)
	}
	s, err := p.api.CheckoutSessions.New(params)
	if err != nil {
		return CheckoutSession{}, fmt.Errorf("stripe: create setup checkout for setup %s: %w", in.SetupID, err)
	}
	return CheckoutSession{ID: s.ID, URL: s.URL, ExpiresAt: time.Unix(s.ExpiresAt, 0).UTC()}, nil
}

// SetupCard reads the card a SetupIntent saved.
func (p *stripePayments) SetupCard(ctx context.Context, setupIntentID string) (Card, error) {
	params := &stripe.SetupIntentParams{}
	params.Context = ctx
	params.AddExpand("payment_method")
	si, err := p.api.SetupIntents.Get(setupIntentID, params)
	if err != nil {
		return Card{}, fmt.Errorf("stripe: read setup intent %s: %w", setupIntentID, err)
	}
	if si.PaymentMethod == nil || si.PaymentMethod.ID == "" {
		return Card{}, fmt.Errorf("stripe: setup intent %s has no payment method", setupIntentID)
	}
	card := Card{PaymentMethodID: si.PaymentMethod.ID}
	if c := si.PaymentMethod.Card; c != nil {
		card.Brand, card.Last4 = string(c.Brand), c.Last4
	}
	return card, nil
}

// SandboxSetupSessionPrefix starts the sandbox's setup-mode session ids.
const SandboxSetupSessionPrefix = "cs_sandbox_setup_"

// SandboxSetupSessionID is the sandbox's checkout session id for a card
// setup: derived, so a retried activity gets the same session.
func SandboxSetupSessionID(setupID string) string { return SandboxSetupSessionPrefix + setupID }

// sandboxSetupIntentPrefix starts the sandbox's SetupIntent ids.
const sandboxSetupIntentPrefix = "seti_sandbox_"

// SandboxSetupIntentID is the SetupIntent a sandbox setup checkout creates
// when the payer picks card: the card is encoded in the id, so SetupCard
// can tell which test card was saved without any state.
func SandboxSetupIntentID(setupID, card string) string {
	return sandboxSetupIntentPrefix + setupID + "_" + strings.TrimPrefix(card, "pm_card_")
}

// sandboxLast4 are the last 4 digits of Stripe's test cards behind the
// sandbox's test payment methods.
var sandboxLast4 = map[string]string{
	SandboxCardVisa: "4242", SandboxCardDeclined: "0002",
	SandboxCardInsufficientFunds: "9995", SandboxCardAuthenticationRequire: "3184",
}

// SandboxTestCard is the card behind one of the sandbox's test payment
// methods; false for anything else.
func SandboxTestCard(paymentMethodID string) (Card, bool) {
	last4, ok := sandboxLast4[paymentMethodID]
	if !ok {
		return Card{}, false
	}
	return Card{Brand: "visa", Last4: last4, PaymentMethodID: paymentMethodID}, true
}

// CreateSetupCheckout in the sandbox points at our own checkout page in
// "save a card" mode.
func (s sandboxPayments) CreateSetupCheckout(_ context.Context, in SetupCheckoutParams) (CheckoutSession, error) {
	if in.SetupID == "" {
		return CheckoutSession{}, fmt.Errorf("sandbox: setup checkout needs a setup id")
	}
	base := ""
	if s.deliver != nil {
		base = s.deliver.baseURL
	}
	id := SandboxSetupSessionID(in.SetupID)
	exp := in.ExpiresAt
	if exp.IsZero() {
		exp = time.Now().Add(time.Hour)
	}
	return CheckoutSession{ID: id, URL: base + SandboxCheckoutPath + id, ExpiresAt: exp.UTC().Truncate(time.Second)}, nil
}

// SetupCard in the sandbox decodes the test card from the SetupIntent id.
// Like Stripe's test cards, every one of them saves; what happens when it
// is charged later follows the card (ChargeSaved).
func (sandboxPayments) SetupCard(_ context.Context, setupIntentID string) (Card, error) {
	rest, ok := strings.CutPrefix(setupIntentID, sandboxSetupIntentPrefix)
	i := strings.LastIndex(rest, "_")
	if !ok || i < 0 {
		return Card{}, fmt.Errorf("sandbox: unknown setup intent %q", setupIntentID)
	}
	pm := "pm_card_" + rest[i+1:]
	card, ok := SandboxTestCard(pm)
	if !ok {
		return Card{}, fmt.Errorf("sandbox: setup intent %q names no test card", setupIntentID)
	}
	return card, nil
}
