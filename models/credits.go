package models

import (
	"time"

	"github.com/mobayilo/mobayilo/internal/wire"
)

// TopUpStatus is where a top-up is in its life. The TopUp workflow moves it
// from awaiting_payment to exactly one final state. The values are the
// ones the CLI reads (internal/wire), defined there once.
type TopUpStatus string

const (
	TopUpAwaitingPayment = TopUpStatus(wire.TopUpAwaitingPayment)
	TopUpSucceeded       = TopUpStatus(wire.TopUpSucceeded)
	TopUpExpired         = TopUpStatus(wire.TopUpExpired)
	TopUpFailed          = TopUpStatus(wire.TopUpFailed)
)

// Final reports whether no further change will happen.
func (s TopUpStatus) Final() bool { return s != TopUpAwaitingPayment }

// TopUp is one payment through Stripe Checkout, and once paid its receipt.
type TopUp struct {
	ID                string      `gorm:"primaryKey"`
	AccountID         int64       `gorm:"not null"`
	UserID            int64       `gorm:"not null"`
	AmountCents       int64       `gorm:"not null"`
	Status            TopUpStatus `gorm:"not null"`
	SaveCard          bool        `gorm:"not null"`
	CheckoutSessionID string      `gorm:"not null;default:''"`
	CheckoutURL       string      `gorm:"not null;default:''"`
	ExpiresAt         *time.Time
	PaymentIntentID   string `gorm:"not null;default:''"`
	CardBrand         string `gorm:"not null;default:''"`
	CardLast4         string `gorm:"column:card_last4;not null;default:''"`
	LedgerEntryID     *int64
	FailureReason     string `gorm:"not null;default:''"`
	ReceiptEmailedAt  *time.Time
	PaidAt            *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// StripeEvent records an accepted Stripe event id, so a redelivery does no
// work.
type StripeEvent struct {
	ID         string `gorm:"primaryKey"`
	Type       string `gorm:"not null"`
	ObjectID   string `gorm:"not null;default:''"`
	ReceivedAt time.Time
}

// StripeCustomer is an account's customer at Stripe, made once.
type StripeCustomer struct {
	AccountID  int64  `gorm:"primaryKey;autoIncrement:false"`
	CustomerID string `gorm:"not null"`
	CreatedAt  time.Time
}
