package models

import "time"

// NumberState is where a company's phone number stands. Its
// MonthlyNumberFee workflow moves it; the workflow's state names are the
// same strings (a test holds that).
type NumberState string

const (
	// NumberPurchasing: the first month is being charged and the number
	// bought at Twilio.
	NumberPurchasing NumberState = "purchasing"
	// NumberActive: paid for the current period; seats call with it.
	NumberActive NumberState = "active"
	// NumberSuspended: this period's fee could not be charged; outbound
	// calls are refused and inbound ones rejected until it is paid.
	NumberSuspended NumberState = "suspended"
	// NumberReleased: given back to Twilio after the grace period.
	NumberReleased NumberState = "released"
	// NumberFailed: never bought (no funds, or Twilio refused; the fee was
	// refunded).
	NumberFailed NumberState = "failed"
)

// PhoneNumber is a number a company rents from Twilio for its seats'
// outbound caller ID. Seats point at it (User.PhoneNumberID).
type PhoneNumber struct {
	ID              int64       `gorm:"primaryKey"`
	AccountID       int64       `gorm:"not null"`
	E164            string      `gorm:"column:e164;not null"`
	Country         string      `gorm:"not null"`
	TwilioSID       string      `gorm:"column:twilio_sid;not null"`
	State           NumberState `gorm:"not null"`
	MonthlyFeeCents int64       `gorm:"not null"`
	// AnchorAt is when the number was bought: period n starts n months
	// after it.
	AnchorAt *time.Time
	// PaidThrough is the end of the last period paid for; NextChargeAt the
	// next fee's date.
	PaidThrough  *time.Time
	NextChargeAt *time.Time
	SuspendedAt  *time.Time
	GraceEndsAt  *time.Time
	ReleasedAt   *time.Time
	LastError    string `gorm:"not null"`
	BoughtBy     int64  `gorm:"not null"`
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// TableName is the table's name.
func (PhoneNumber) TableName() string { return "phone_numbers" }
