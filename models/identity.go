package models

import "time"

// UserRole says how a user relates to their account's wallet.
type UserRole string

const (
	// RoleOwner owns the wallet: an individual, or a company's admin.
	RoleOwner UserRole = "owner"
	// RoleSeat is a company employee who spends from the company wallet.
	RoleSeat UserRole = "seat"
)

// CompanyDomain is an email domain whose sign-ins become seats of a company.
type CompanyDomain struct {
	ID        int64  `gorm:"primaryKey"`
	AccountID int64  `gorm:"not null"`
	Domain    string `gorm:"not null"`
	CreatedAt time.Time
}

// Session is a signed-in browser. ID is the SHA-256 of the cookie secret.
type Session struct {
	ID         string `gorm:"primaryKey"`
	UserID     int64  `gorm:"not null"`
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
	IP         string
	UserAgent  string
}

// LoginTokenPurpose separates magic links from password resets.
type LoginTokenPurpose string

const (
	PurposeMagicLink     LoginTokenPurpose = "magic_link"
	PurposePasswordReset LoginTokenPurpose = "password_reset"
)

// LoginToken is a single-use, short-lived secret sent by email. Only its
// SHA-256 is stored.
type LoginToken struct {
	TokenHash string            `gorm:"primaryKey"`
	Purpose   LoginTokenPurpose `gorm:"not null"`
	Email     string            `gorm:"not null"`
	UserID    int64             `gorm:"not null"`
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// PersonalAccessToken lets the CLI and scripts act as a user. Only the
// SHA-256 of the token is stored; DisplayHint is its public prefix and last
// characters, for recognising it in a list.
type PersonalAccessToken struct {
	ID          int64  `gorm:"primaryKey"`
	UserID      int64  `gorm:"not null"`
	Name        string `gorm:"not null"`
	TokenHash   string `gorm:"not null"`
	DisplayHint string `gorm:"not null"`
	Scopes      string `gorm:"not null"`
	Source      string `gorm:"not null"`
	CreatedAt   time.Time
	LastUsedAt  *time.Time
	ExpiresAt   *time.Time
	RevokedAt   *time.Time
}

// DeviceAuthorization indexes a DeviceLogin workflow by its user code.
// Like every other secret, the user code is stored only as its SHA-256:
// someone reading the table cannot approve a waiting device.
type DeviceAuthorization struct {
	ID             int64  `gorm:"primaryKey"`
	DeviceCodeHash string `gorm:"not null"`
	UserCodeHash   string `gorm:"not null"`
	WorkflowID     string `gorm:"not null"`
	ClientID       string `gorm:"not null"`
	DeviceName     string
	IP             string
	CreatedAt      time.Time
	ExpiresAt      time.Time
}

// SubscriberStatus is where a marketing subscriber stands with the beta.
type SubscriberStatus string

const (
	SubscriberWaiting SubscriberStatus = "waiting"
	SubscriberInvited SubscriberStatus = "invited"
)

// Subscriber is an email captured by the marketing site.
type Subscriber struct {
	ID        int64            `gorm:"primaryKey"`
	Email     string           `gorm:"not null"`
	Status    SubscriberStatus `gorm:"not null"`
	CreatedAt time.Time
	InvitedAt *time.Time
}
