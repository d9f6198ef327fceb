package models

import "time"

// Suggested auto top-up settings, shown as defaults on the settings page.
const (
	AutoTopUpThresholdCents           int64 = 200
	AutoTopUpAmountIndividualCents    int64 = 2000
	AutoTopUpAmountCompanyCents       int64 = 10000
	AutoTopUpDailyMaxCount                  = 3
	AutoTopUpDailyMaxMultipleOfAmount int64 = 3
)

// AutoTopUpSettings is an account's opt-in to off-session top-ups, with its
// limits and saved card. Enabled requires a PaymentMethodID (the database
// checks it too).
type AutoTopUpSettings struct {
	ID              int64 `gorm:"primaryKey"`
	AccountID       int64 `gorm:"not null"`
	Enabled         bool  `gorm:"not null"`
	ThresholdCents  int64 `gorm:"not null"`
	AmountCents     int64 `gorm:"not null"`
	DailyMaxCount   int   `gorm:"not null"`
	DailyMaxCents   int64 `gorm:"not null"`
	CustomerID      string
	PaymentMethodID string
	CardBrand       string
	CardLast4       string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// TableName pins the table name GORM would otherwise pluralise oddly.
func (AutoTopUpSettings) TableName() string { return "auto_top_up_settings" }

// HasCard reports whether a card is saved to charge.
func (s AutoTopUpSettings) HasCard() bool { return s.PaymentMethodID != "" }

// AutoTopUpAttemptStatus is where one off-session charge ended.
type AutoTopUpAttemptStatus string

const (
	AttemptCharging            AutoTopUpAttemptStatus = "charging"
	AttemptSucceeded           AutoTopUpAttemptStatus = "succeeded"
	AttemptSoftDecline         AutoTopUpAttemptStatus = "soft_decline"
	AttemptHardDecline         AutoTopUpAttemptStatus = "hard_decline"
	AttemptNeedsAuthentication AutoTopUpAttemptStatus = "needs_authentication"
	AttemptError               AutoTopUpAttemptStatus = "error"
)

// AutoTopUpAttempt records one off-session charge. AttemptID is the Stripe
// Idempotency-Key's source and unique.
type AutoTopUpAttempt struct {
	ID          int64                  `gorm:"primaryKey"`
	AttemptID   string                 `gorm:"not null"`
	AccountID   int64                  `gorm:"not null"`
	AmountCents int64                  `gorm:"not null"`
	Status      AutoTopUpAttemptStatus `gorm:"not null"`
	// CustomerID and PaymentMethodID are the card the attempt charges,
	// fixed when it is created: retries and reconciliation repeat exactly
	// this request.
	CustomerID      string `gorm:"not null;default:''"`
	PaymentMethodID string `gorm:"not null;default:''"`
	DeclineCode     string
	Message         string
	PaymentIntentID string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// TableName pins the table name.
func (AutoTopUpAttempt) TableName() string { return "auto_top_up_attempts" }

// AutoTopUpReceipt is the receipt of one credited auto top-up: one per
// PaymentIntent, mailed to the account's owner once (EmailedAt).
type AutoTopUpReceipt struct {
	ID              string `gorm:"primaryKey"`
	AccountID       int64  `gorm:"not null"`
	AttemptID       string `gorm:"not null"`
	PaymentIntentID string `gorm:"not null"`
	AmountCents     int64  `gorm:"not null"`
	CardBrand       string `gorm:"not null;default:''"`
	CardLast4       string `gorm:"column:card_last4;not null;default:''"`
	PaidAt          time.Time
	EmailedAt       *time.Time
	CreatedAt       time.Time
}

// TableName pins the table name.
func (AutoTopUpReceipt) TableName() string { return "auto_top_up_receipts" }
