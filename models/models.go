// Package models holds Mobayilo's GORM models and the versioned migrations
// that create their tables on Postgres (production) and SQLite (embedded).
package models

import "time"

// AccountKind says who owns a wallet; it sets the top-up minimum and the
// price column used for calls.
type AccountKind string

const (
	AccountIndividual AccountKind = "individual"
	AccountCompany    AccountKind = "company"
)

// Valid reports whether k is a known kind.
func (k AccountKind) Valid() bool { return k == AccountIndividual || k == AccountCompany }

// Status is the active/disabled switch carried by accounts and users.
type Status string

const (
	StatusActive   Status = "active"
	StatusDisabled Status = "disabled"
)

// Account is a wallet owner. BalanceCents and HeldCents are caches kept by
// the ledger service inside the same transaction as each entry or hold;
// `mobayilo ledger verify` proves they equal the sums they cache.
type Account struct {
	ID           int64       `gorm:"primaryKey"`
	Kind         AccountKind `gorm:"not null"`
	Name         string      `gorm:"not null"`
	Status       Status      `gorm:"not null"`
	BalanceCents int64       `gorm:"not null"`
	HeldCents    int64       `gorm:"not null"`
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// AvailableCents is what may still be spent: balance minus active holds.
func (a Account) AvailableCents() int64 { return a.BalanceCents - a.HeldCents }

// User is a person who signs in. An owner owns their account's wallet (an
// individual, or a company's admin); a seat spends from a company wallet.
type User struct {
	ID           int64  `gorm:"primaryKey"`
	AccountID    int64  `gorm:"not null"`
	Email        string `gorm:"not null"`
	PasswordHash string
	// IsAdmin marks Mobayilo's own operators, not company admins.
	IsAdmin bool     `gorm:"not null"`
	Role    UserRole `gorm:"not null;default:owner"`
	Status  Status   `gorm:"not null"`
	// DisabledBy names who disabled the user ("admin:7", "operator:ana",
	// "user:42"); empty while active.
	DisabledBy   string `gorm:"not null;default:''"`
	LastSignInAt *time.Time
	SignInCount  int64 `gorm:"not null;default:0"`
	// DailySpendCapCents is a company seat's optional daily spend cap,
	// set by the company admin; nil means none.
	DailySpendCapCents *int64
	// PhoneNumberID is the company number this user's calls go out with
	// (several users may share one); nil for individuals and unassigned
	// seats.
	PhoneNumberID *int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// EntryKind classifies a ledger entry.
type EntryKind string

const (
	EntryTopUp      EntryKind = "topup"
	EntryAutoTopUp  EntryKind = "auto_topup"
	EntryCallCharge EntryKind = "call_charge"
	EntryNumberFee  EntryKind = "number_fee"
	EntryRefund     EntryKind = "refund"
	EntryBonus      EntryKind = "bonus"
	EntryAdjustment EntryKind = "adjustment"
)

// EntryKinds lists every kind, in a stable order.
var EntryKinds = []EntryKind{EntryTopUp, EntryAutoTopUp, EntryCallCharge, EntryNumberFee, EntryRefund, EntryBonus, EntryAdjustment}

// LedgerEntry is one immutable balance change. The database refuses UPDATE
// and DELETE on this table (see the migrations).
type LedgerEntry struct {
	ID             int64     `gorm:"primaryKey"`
	AccountID      int64     `gorm:"not null"`
	Kind           EntryKind `gorm:"not null"`
	AmountCents    int64     `gorm:"not null"`
	BalanceAfter   int64     `gorm:"not null"`
	IdempotencyKey string    `gorm:"not null"`
	// References to what caused the entry; empty when not applicable.
	CallRef   string `gorm:"not null;default:''"`
	TopUpRef  string `gorm:"not null;default:''"`
	NumberRef string `gorm:"not null;default:''"`
	HoldID    *int64
	// Actor is who caused the entry: "user:42", "admin:7", "system:worker".
	Actor       string `gorm:"not null"`
	Description string `gorm:"not null;default:''"`
	CreatedAt   time.Time
}

// HoldStatus is where a hold is in its life: active, then captured or
// released, exactly once.
type HoldStatus string

const (
	HoldActive   HoldStatus = "active"
	HoldCaptured HoldStatus = "captured"
	HoldReleased HoldStatus = "released"
)

// Hold reserves funds for in-flight work such as a call.
type Hold struct {
	ID             int64      `gorm:"primaryKey"`
	AccountID      int64      `gorm:"not null"`
	AmountCents    int64      `gorm:"not null"`
	Status         HoldStatus `gorm:"not null"`
	IdempotencyKey string     `gorm:"not null"`
	Reference      string     `gorm:"not null;default:''"`
	// EntryID is the charge a captured hold became.
	EntryID   *int64
	CreatedAt time.Time
	SettledAt *time.Time
}

// AuditLog records operator and admin actions.
type AuditLog struct {
	ID        int64  `gorm:"primaryKey"`
	Actor     string `gorm:"not null"`
	Action    string `gorm:"not null"`
	Target    string `gorm:"not null"`
	Details   string `gorm:"not null;default:''"`
	CreatedAt time.Time
}

// RateAudience selects the price column: individuals and company seats pay
// different prices.
type RateAudience string

const (
	AudienceIndividual RateAudience = "individual"
	AudienceCompany    RateAudience = "company"
)

// Rate is the price per started minute for destinations whose E.164 digits
// start with Prefix. Lookups pick the longest matching prefix.
type Rate struct {
	ID              int64  `gorm:"primaryKey"`
	Prefix          string `gorm:"not null"`
	ISO             string `gorm:"not null"`
	Country         string `gorm:"not null"`
	Destination     string `gorm:"not null"`
	IndividualCents int64  `gorm:"not null"`
	CompanyCents    int64  `gorm:"not null"`
	UpdatedAt       time.Time
	// TwilioCostMillicents is what Twilio charges us per minute for the
	// prefix, in 1/1000 cent (Twilio quotes sub-cent prices), as `mobayilo
	// rates sync` last read it; nil until a sync found a price. The sync
	// sets only these two columns, never the sell prices above.
	TwilioCostMillicents *int64
	TwilioCostSyncedAt   *time.Time
}
