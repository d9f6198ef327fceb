package models

import "time"

// CardSetupStatus is where saving a card through Checkout (setup mode) is.
// The SaveCard workflow moves it from pending to exactly one final state.
type CardSetupStatus string

const (
	CardSetupPending CardSetupStatus = "pending"
	CardSetupSaved   CardSetupStatus = "saved"
	CardSetupExpired CardSetupStatus = "expired"
	// CardSetupFailed: the checkout could not be opened, or the saved card
	// could not be read back from Stripe.
	CardSetupFailed CardSetupStatus = "failed"
)

// CardSetup is one attempt by an owner to save a card without paying. The
// webhook and the sandbox checkout find it by id or checkout session.
type CardSetup struct {
	ID                string          `gorm:"primaryKey"`
	AccountID         int64           `gorm:"not null"`
	UserID            int64           `gorm:"not null"`
	Status            CardSetupStatus `gorm:"not null"`
	CheckoutSessionID string          `gorm:"not null;default:''"`
	CheckoutURL       string          `gorm:"not null;default:''"`
	ExpiresAt         *time.Time
	SetupIntentID     string `gorm:"not null;default:''"`
	CardBrand         string `gorm:"not null;default:''"`
	CardLast4         string `gorm:"column:card_last4;not null;default:''"`
	CreatedAt         time.Time
	UpdatedAt         time.Time
}
