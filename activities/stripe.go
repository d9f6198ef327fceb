package activities

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/models"
)

// Payments is what top-ups need of the payment provider
// (internal/providers: Stripe, or the sandbox).
type Payments interface {
	EnsureCustomer(ctx context.Context, in providers.CustomerParams) (string, error)
	CreateCheckout(ctx context.Context, in providers.CheckoutParams) (providers.CheckoutSession, error)
	PaymentCard(ctx context.Context, paymentIntentID string) (providers.Card, error)
}

// TopUps stores top-ups, receipts and Stripe customers (internal/credits).
type TopUps interface {
	Get(ctx context.Context, id string) (models.TopUp, error)
	RecordCheckout(ctx context.Context, id, sessionID, url string, expiresAt time.Time) error
	Finish(ctx context.Context, id string, status models.TopUpStatus, reason string) error
	RecordPayment(ctx context.Context, id string, r credits.Receipt) error
	MarkReceiptEmailed(ctx context.Context, id string) error
	CustomerID(ctx context.Context, accountID int64) (string, error)
	SaveCustomerID(ctx context.Context, accountID int64, customerID string) (string, error)
	PayerOf(ctx context.Context, t models.TopUp) (models.User, error)
	// Auto top-up receipts, one per PaymentIntent.
	AutoTopUpReceipt(ctx context.Context, paymentIntentID string) (models.AutoTopUpReceipt, error)
	RecordAutoTopUpReceipt(ctx context.Context, r models.AutoTopUpReceipt) (models.AutoTopUpReceipt, error)
	MarkAutoTopUpReceiptEmailed(ctx context.Context, id string) error
}

// CheckoutLifetime is how long a top-up's checkout session stays open,
// counted from the top-up's creation so that every activity retry asks
// Stripe for the same session (same Idempotency-Key, same parameters).
const CheckoutLifetime = time.Hour

// ErrTypeTopUpGone marks a top-up that no longer exists: no retry helps.
const ErrTypeTopUpGone = "TopUpGone"

// CreateTopUpCheckoutInput names the top-up; everything else is read from
// the database, so that workflow history holds no card or customer data.
type CreateTopUpCheckoutInput struct {
	TopUpID string
	// BaseURL is PUBLIC_BASE_URL, where Stripe sends the payer back.
	BaseURL string
}

// CreateTopUpCheckoutResult is where the payer goes and until when.
type CreateTopUpCheckoutResult struct {
	SessionID string
	URL       string
	ExpiresAt time.Time
}

// CreateTopUpCheckout makes sure the account has a Stripe customer, then
// opens the checkout session with an Idempotency-Key derived from the
// top-up id, and records it.
func (a *Activities) CreateTopUpCheckout(ctx context.Context, in CreateTopUpCheckoutInput) (CreateTopUpCheckoutResult, error) {
	t, err := a.TopUps.Get(ctx, in.TopUpID)
	if errors.Is(err, credits.ErrTopUpNotFound) {
		return CreateTopUpCheckoutResult{}, temporal.NewNonRetryableApplicationError("top-up "+in.TopUpID+" not found", ErrTypeTopUpGone, err)
	}
	if err != nil {
		return CreateTopUpCheckoutResult{}, err
	}
	customer, err := a.ensureCustomer(ctx, t)
	if err != nil {
		return CreateTopUpCheckoutResult{}, err
	}
	base := strings.TrimRight(in.BaseURL, "/")
	s, err := a.Payments.CreateCheckout(ctx, providers.CheckoutParams{
		TopUpID: t.ID, AccountID: t.AccountID, CustomerID: customer, AmountCents: t.AmountCents, SaveCard: t.SaveCard,
		SuccessURL: base + "/dial?topup=" + t.ID,
		CancelURL:  base + "/credits?topup=" + t.ID,
		ExpiresAt:  t.CreatedAt.Add(CheckoutLifetime).UTC().Truncate(time.Second),
	})
	if err != nil {
		return CreateTopUpCheckoutResult{}, err
	}
	if err := a.TopUps.RecordCheckout(ctx, t.ID, s.ID, s.URL, s.ExpiresAt); err != nil {
		return CreateTopUpCheckoutResult{}, err
	}
	return CreateTopUpCheckoutResult{SessionID: s.ID, URL: s.URL, ExpiresAt: s.ExpiresAt}, nil
}

// ensureCustomer returns the account's stored customer, creating it at
// the provider (with a key derived from the account) on first use.
func (a *Activities) ensureCustomer(ctx context.Context, t models.TopUp) (string, error) {
	id, err := a.TopUps.CustomerID(ctx, t.AccountID)
	if err != nil || id != "" {
		return id, err
	}
	u, err := a.TopUps.PayerOf(ctx, t)
	if err != nil {
		return "", fmt.Errorf("payer of top-up %s: %w", t.ID, err)
	}
	id, err = a.Payments.EnsureCustomer(ctx, providers.CustomerParams{AccountID: t.AccountID, Email: u.Email,
		Name: "account " + strconv.FormatInt(t.AccountID, 10)})
	if err != nil {
		return "", err
	}
	return a.TopUps.SaveCustomerID(ctx, t.AccountID, id)
}
