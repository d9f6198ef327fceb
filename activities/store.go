package activities

import (
	"context"
	"time"

	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/models"
)

// Activities that keep the records of top-ups, card setups and auto
// top-up attempts in the database, moving no money; and the stores they
// and the others use.

// AutoTopUps is what the AutoTopUp activities need of the auto top-up
// service (internal/autotopup): settings, balances, attempts and the credit.
type AutoTopUps interface {
	Settings(ctx context.Context, accountID int64) (models.AutoTopUpSettings, error)
	Account(ctx context.Context, accountID int64) (models.Account, error)
	OwnerEmail(ctx context.Context, accountID int64) (string, error)
	StartAttempt(ctx context.Context, a models.AutoTopUpAttempt) error
	FinishAttempt(ctx context.Context, attemptID string, st models.AutoTopUpAttemptStatus, declineCode, message, paymentIntentID string) error
	// SpentSince counts the charges made since since that count against the
	// daily cap, and their amount.
	SpentSince(ctx context.Context, accountID int64, since time.Time) (count int, cents int64, err error)
	// ChargingAttempts are the account's attempts whose outcome was never
	// recorded, oldest first.
	ChargingAttempts(ctx context.Context, accountID int64) ([]models.AutoTopUpAttempt, error)
	// Attempt returns one attempt, or a zero one (ID 0) when there is none.
	Attempt(ctx context.Context, attemptID string) (models.AutoTopUpAttempt, error)
	// Credited reports whether a PaymentIntent's credit is in the ledger.
	Credited(ctx context.Context, paymentIntentID string) (bool, error)
	// Credit posts one auto_topup ledger entry keyed by the PaymentIntent id
	// and returns the balance after it; a replay posts nothing.
	Credit(ctx context.Context, accountID, amountCents int64, paymentIntentID, attemptID string) (balanceAfter int64, err error)
}

// CardSetups stores card setups (internal/autotopup).
type CardSetups interface {
	Setup(ctx context.Context, id string) (models.CardSetup, error)
	RecordSetupCheckout(ctx context.Context, id, sessionID, url string, expiresAt time.Time) error
	FinishSetup(ctx context.Context, id string, status models.CardSetupStatus, setupIntentID, brand, last4 string) error
}

// SavedCards keeps the card a payer chose to save for auto top-up
// (internal/autotopup).
type SavedCards interface {
	SaveTopUpCard(ctx context.Context, accountID int64, customerID, paymentMethodID, brand, last4 string) error
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

// FinishTopUpInput closes an unpaid top-up.
type FinishTopUpInput struct {
	TopUpID string
	// Status is expired or failed (the workflow's PaymentExpired or
	// PaymentFailed, which are models.TopUpExpired and TopUpFailed).
	Status string
	Reason string
}

// FinishTopUp records that a top-up expired or failed; no money moved.
func (a *Activities) FinishTopUp(ctx context.Context, in FinishTopUpInput) error {
	return a.TopUps.Finish(ctx, in.TopUpID, models.TopUpStatus(in.Status), in.Reason)
}

// FinishCardSetupInput closes a setup that saved no card.
type FinishCardSetupInput struct {
	SetupID string
	// Status is expired or failed (models.CardSetupExpired or Failed).
	Status string
}

// FinishCardSetup records that a setup expired or failed.
func (a *Activities) FinishCardSetup(ctx context.Context, in FinishCardSetupInput) error {
	return a.CardSetups.FinishSetup(ctx, in.SetupID, models.CardSetupStatus(in.Status), "", "", "")
}
