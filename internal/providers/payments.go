package providers

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Payments is what activities need from the payment provider.
type Payments interface {
	// EnsureCustomer creates the provider's customer for an account and
	// returns its id. A retry with the same AccountID within the provider's
	// idempotency window returns the same customer; the caller stores the id
	// so that later calls need not come here at all.
	EnsureCustomer(ctx context.Context, in CustomerParams) (customerID string, err error)
	// CreateCheckout opens a hosted payment page for a top-up. The same
	// TopUpID (and params) gives the same session.
	CreateCheckout(ctx context.Context, in CheckoutParams) (CheckoutSession, error)
	// ChargeSaved charges a saved card off-session; a decline is a result.
	ChargeSaved(ctx context.Context, in ChargeParams) (ChargeResult, error)
	// ConfirmOnSession confirms an off-session charge's PaymentIntent again
	// with the payer present, for a bank that wants authentication.
	ConfirmOnSession(ctx context.Context, in ConfirmParams) (ConfirmResult, error)
	// FindCharge looks up the charge an attempt made, for reconciling an
	// outcome nobody heard; found is false when the provider has none (yet).
	FindCharge(ctx context.Context, attemptID string) (res ChargeResult, found bool, err error)
	// CancelPayment cancels a PaymentIntent waiting for authentication;
	// alreadyPaid when it succeeded meanwhile.
	CancelPayment(ctx context.Context, paymentIntentID, attemptID string) (alreadyPaid bool, err error)
	// PaymentCard returns the brand and last 4 digits of the card that
	// paid a PaymentIntent, for the receipt.
	PaymentCard(ctx context.Context, paymentIntentID string) (Card, error)
	// CreateSetupCheckout opens a hosted page that saves a card without
	// paying (Checkout in setup mode). The same SetupID gives the same
	// session.
	CreateSetupCheckout(ctx context.Context, in SetupCheckoutParams) (CheckoutSession, error)
	// SetupCard returns the card a completed setup saved, with the payment
	// method id to charge off-session.
	SetupCard(ctx context.Context, setupIntentID string) (Card, error)
}

// CustomerParams describes the account a customer is created for.
type CustomerParams struct {
	AccountID int64
	Email     string
	Name      string
}

// CustomerIdempotencyKey is the Idempotency-Key of an account's customer
// creation, derived from the account so that a retried activity is harmless.
func CustomerIdempotencyKey(accountID int64) string {
	return "customer-account-" + strconv.FormatInt(accountID, 10)
}

// stripePayments is Payments over Stripe's API.
type stripePayments struct {
	api *client.API
}

// newStripePayments builds a client of its own rather than using stripe-go's
// global backend, so two configurations (or tests) never share state. An
// empty baseURL means Stripe itself; hc nil means stripe-go's default.
func newStripePayments(secretKey, baseURL string, hc *http.Client) *stripePayments {
	// Errors are returned to the activity, which logs them; the library's
	// own logger would print them a second time to stderr.
	quiet := &stripe.LeveledLogger{Level: stripe.LevelNull}
	backend := func(typ stripe.SupportedBackend, url *string) stripe.Backend {
		// One config per backend: GetBackendWithConfig fills in the URL, and
		// a shared config would send Connect and Uploads to the API's URL.
		return stripe.GetBackendWithConfig(typ, &stripe.BackendConfig{
			HTTPClient:    hc,
			LeveledLogger: quiet,
			URL:           url,
		})
	}
	var override *string
	if baseURL != "" {
		override = stripe.String(baseURL)
	}
	backends := &stripe.Backends{
		API:     backend(stripe.APIBackend, override),
		Connect: backend(stripe.ConnectBackend, override),
		Uploads: backend(stripe.UploadsBackend, override),
	}
	return &stripePayments{api: client.New(secretKey, backends)}
}

func (p *stripePayments) EnsureCustomer(ctx context.Context, in CustomerParams) (string, error) {
	params := &stripe.CustomerParams{}
	params.Context = ctx
	params.SetIdempotencyKey(CustomerIdempotencyKey(in.AccountID))
	if in.Email != "" {
		params.Email = stripe.String(in.Email)
	}
	if in.Name != "" {
		params.Name = stripe.String(in.Name)
	}
	params.AddMetadata("account_id", strconv.FormatInt(in.AccountID, 10))
	c, err := p.api.Customers.New(params)
	if err != nil {
		return "", fmt.Errorf("stripe: create customer for account %d: %w", in.AccountID, err)
	}
	return c.ID, nil
}

// sandboxPayments stands in for Stripe when no key is configured.
type sandboxPayments struct {
	// deliver sends the webhooks Stripe would send; operations that cause
	// webhooks (checkout, charges) use it.
	deliver *SandboxWebhooks
	// charges remembers the off-session charges made, by attempt id, as
	// Stripe's search would find them (in this process only).
	charges *sync.Map
}

func (sandboxPayments) EnsureCustomer(_ context.Context, in CustomerParams) (string, error) {
	return "cus_sandbox_" + strconv.FormatInt(in.AccountID, 10), nil
}
