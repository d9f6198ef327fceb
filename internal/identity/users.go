// Package identity owns users and the accounts they sign in to. The
// foundation needs just enough of it for operators to create the first admin
// and for `make run` to seed a demo user; sign-in builds on it.
package identity

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/models"
)

// MinPasswordLength follows NIST SP 800-63B's floor for user-chosen secrets.
const MinPasswordLength = 10

var (
	// ErrEmailTaken: a user with that email (in any letter case) exists.
	ErrEmailTaken = errors.New("a user with that email already exists")
	// ErrUserNotFound: no user has that email.
	ErrUserNotFound = errors.New("user not found")
	// ErrInvalid is wrapped by every input problem.
	ErrInvalid = errors.New("invalid user")
)

// Service creates and finds users.
type Service struct {
	db     *gorm.DB
	ledger *ledger.Service
}

// New returns the identity service.
func New(db *gorm.DB, l *ledger.Service) *Service { return &Service{db: db, ledger: l} }

// NewUser describes a user to create together with their own wallet.
type NewUser struct {
	Email       string
	Password    string // optional: passwordless users sign in by magic link
	Admin       bool
	AccountKind models.AccountKind // individual when empty
	AccountName string             // the email when empty
}

// NormalizeEmail validates an address and lower-cases it.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > 254 {
		return "", fmt.Errorf("%w: an email address is at most 254 characters", ErrInvalid)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s, "@") {
		return "", fmt.Errorf("%w: %q is not an email address", ErrInvalid, s)
	}
	return strings.ToLower(s), nil
}

// CreateUser creates a user and the wallet they own, in one transaction.
// Errors: ErrInvalid, ErrEmailTaken.
func (s *Service) CreateUser(ctx context.Context, in NewUser) (models.User, models.Account, error) {
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return models.User{}, models.Account{}, err
	}
	hash := ""
	if in.Password != "" {
		if len(in.Password) < MinPasswordLength {
			return models.User{}, models.Account{}, fmt.Errorf("%w: password must be at least %d characters", ErrInvalid, MinPasswordLength)
		}
		if len(in.Password) > 72 {
			return models.User{}, models.Account{}, fmt.Errorf("%w: password must be at most 72 bytes", ErrInvalid)
		}
		b, err := bcrypt.GenerateFromPassword([]byte(in.Password), bcrypt.DefaultCost)
		if err != nil {
			return models.User{}, models.Account{}, err
		}
		hash = string(b)
	}
	kind := in.AccountKind
	if kind == "" {
		kind = models.AccountIndividual
	}
	if !kind.Valid() {
		return models.User{}, models.Account{}, fmt.Errorf("%w: account kind %q", ErrInvalid, kind)
	}
	name := in.AccountName
	if name == "" {
		name = email
	}
	now := time.Now().UTC()
	acct := models.Account{Kind: kind, Name: name, Status: models.StatusActive, CreatedAt: now, UpdatedAt: now}
	u := models.User{Email: email, PasswordHash: hash, IsAdmin: in.Admin, Status: models.StatusActive, CreatedAt: now, UpdatedAt: now}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&acct).Error; err != nil {
			return err
		}
		u.AccountID = acct.ID
		return tx.Create(&u).Error
	})
	if models.IsUniqueViolation(err) {
		return models.User{}, models.Account{}, fmt.Errorf("%w: %s", ErrEmailTaken, email)
	}
	if err != nil {
		return models.User{}, models.Account{}, fmt.Errorf("create user: %w", err)
	}
	return u, acct, nil
}

// UserByEmail finds a user regardless of letter case. Errors: ErrUserNotFound.
func (s *Service) UserByEmail(ctx context.Context, email string) (models.User, error) {
	var u models.User
	err := s.db.WithContext(ctx).Where("lower(email) = ?", strings.ToLower(strings.TrimSpace(email))).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return u, fmt.Errorf("%w: %s", ErrUserNotFound, email)
	}
	return u, err
}

// CheckPassword reports whether password matches the user's hash.
func CheckPassword(u models.User, password string) bool {
	return u.PasswordHash != "" && bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) == nil
}
