package models

import "time"

// CallStatus is where a call is. Statuses move forward only: each has a
// rank, and a callback ranked below the call's current one changes nothing.
type CallStatus string

// The statuses of a call, in the order a call goes through them.
const (
	CallAuthorized CallStatus = "authorized"
	CallDialing    CallStatus = "dialing"
	CallRinging    CallStatus = "ringing"
	CallInProgress CallStatus = "in-progress"
	CallCompleted  CallStatus = "completed"
	CallBusy       CallStatus = "busy"
	CallNoAnswer   CallStatus = "no-answer"
	CallFailed     CallStatus = "failed"
	CallCanceled   CallStatus = "canceled"
	CallExpired    CallStatus = "expired"
)

// Rank orders statuses; every final status shares the top rank, so the
// first one recorded stands.
func (s CallStatus) Rank() int {
	switch s {
	case CallAuthorized:
		return 0
	case CallDialing:
		return 1
	case CallRinging:
		return 2
	case CallInProgress:
		return 3
	case CallCompleted, CallBusy, CallNoAnswer, CallFailed, CallCanceled, CallExpired:
		return 4
	}
	return -1
}

// Final reports whether the call has ended.
func (s CallStatus) Final() bool { return s.Rank() == 4 }

// CallLeg is which half of a bridge call a call is.
type CallLeg string

// The legs of a bridge call: Twilio rings the owner's verified phone first,
// then dials the destination with that number as caller ID.
const (
	LegOwner       CallLeg = "owner"
	LegDestination CallLeg = "destination"
)

// Call is one call from the browser or the CLI to a phone number: its
// authorisation, its progress and, once final, its bill.
type Call struct {
	ID        string `gorm:"primaryKey"`
	AccountID int64  `gorm:"not null"`
	UserID    int64  `gorm:"not null"`
	// Seat: placed by a company seat (UserID is the seat).
	Seat bool `gorm:"not null"`
	// Identity is the Twilio client identity the voice token carried.
	Identity            string `gorm:"not null"`
	ToE164              string `gorm:"column:to_e164;not null"`
	ToNational          string `gorm:"not null"`
	ToCountry           string `gorm:"not null"`
	CallerID            string `gorm:"not null"`
	PricePerMinuteCents int64  `gorm:"not null"`
	// MaxMinutes are the whole minutes the hold covers; Twilio's timeLimit.
	MaxMinutes int64 `gorm:"not null"`
	HoldID     *int64
	Status     CallStatus `gorm:"not null"`
	Rank       int        `gorm:"not null"`
	// TwilioCallSID is the browser's leg, TwilioChildSID the phone's.
	TwilioCallSID   string `gorm:"column:twilio_call_sid;not null"`
	TwilioChildSID  string `gorm:"column:twilio_child_sid;not null"`
	ClaimedAt       *time.Time
	AnsweredAt      *time.Time
	EndedAt         *time.Time
	DurationSeconds *int64
	BilledMinutes   *int64
	CostCents       *int64
	LedgerEntryID   *int64
	// ReconcileReason flags a call whose records disagree (a late callback
	// with another duration than the one billed), for ops.
	ReconcileReason string `gorm:"not null"`
	// BridgeID and Leg tie the two calls of a `moby call` together:
	// BridgeID is the destination leg's call id (on both rows), Leg is
	// LegOwner or LegDestination; both are empty for a browser call.
	BridgeID  string  `gorm:"not null"`
	Leg       CallLeg `gorm:"not null"`
	ExpiresAt time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CallEvent is one status callback as Twilio sent it.
type CallEvent struct {
	ID              int64  `gorm:"primaryKey"`
	CallID          string `gorm:"not null"`
	CallSID         string `gorm:"column:call_sid;not null"`
	Status          string `gorm:"not null"`
	SequenceNumber  int64  `gorm:"not null"`
	DurationSeconds *int64
	ReceivedAt      time.Time
}
