package models

import "time"

// CallerID is one number an account verifies, or verified, as its own
// caller ID. Its CallerIDVerification workflow moves State (the workflow's
// state names); a "verified" row is what the account's calls go out with.
type CallerID struct {
	ID        int64  `gorm:"primaryKey"`
	AccountID int64  `gorm:"not null"`
	UserID    int64  `gorm:"not null"`
	E164      string `gorm:"column:e164;not null"`
	Country   string `gorm:"not null"`
	State     string `gorm:"not null"`
	// VerificationSID is Twilio Verify's reference of the SMS code sent.
	VerificationSID string `gorm:"column:verification_sid;not null"`
	Attempts        int64  `gorm:"not null"`
	VerifiedAt      *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// TableName is the table's name (gorm would say caller_i_ds).
func (CallerID) TableName() string { return "caller_ids" }
