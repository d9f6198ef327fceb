// Package callerid is the store and rules of an individual's own caller
// IDs: the balance gate a verification must pass, the record of each
// number's progress (written by its CallerIDVerification workflow's
// activities), and the verified number calls go out with.
package callerid

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/models"
)

// MinBalanceCents is the balance an account needs to verify a caller ID
// (anti-abuse: each verification costs us an SMS and a call).
const MinBalanceCents int64 = 500

// States a caller ID's row can be in that this package reads. They are the
// CallerIDVerification workflow's state names (workflows.CallerID*, which
// this package cannot import: the workflow's activities import it); a test
// checks they agree.
const (
	StateAwaitingCode = "awaiting_code"
	StateVerified     = "verified"
	StateRemoved      = "removed"
)

// Errors. Each maps to one HTTP status in api/errors.go.
var (
	// ErrBalanceTooLow: the account has less than MinBalanceCents
	// available; the *BalanceError says how much.
	ErrBalanceTooLow = errors.New("the balance is too low to verify a caller ID")
	// ErrNotFound: the account has no caller ID with that number.
	ErrNotFound = errors.New("caller ID not found")
	// ErrNothingPending: a code was sent for no number of this account.
	ErrNothingPending = errors.New("no caller ID verification is waiting for a code")
	// ErrCompanyAccount: company seats call with company numbers, not their
	// own caller IDs.
	ErrCompanyAccount = errors.New("company accounts use company numbers as caller IDs")
	// ErrNothingToRemove: the account has no caller ID (with that number)
	// that is not already removed.
	ErrNothingToRemove = errors.New("no caller ID to remove")
)

// BalanceError names the balance and the minimum.
type BalanceError struct{ AvailableCents int64 }

func (e *BalanceError) Error() string {
	return fmt.Sprintf("verifying a caller ID needs a balance of at least %s (%s available); top up first",
		money.Format(MinBalanceCents), money.Format(e.AvailableCents))
}

// Is makes errors.Is(err, ErrBalanceTooLow) true.
func (e *BalanceError) Is(target error) bool { return target == ErrBalanceTooLow }

// Service stores caller IDs.
type Service struct {
	db     *gorm.DB
	ledger *ledger.Service
	now    func() time.Time
}

// New returns the caller-ID service.
func New(db *gorm.DB, led *ledger.Service) *Service {
	return &Service{db: db, ledger: led, now: func() time.Time { return time.Now().UTC() }}
}

// Gate checks that the account may verify a caller ID now. Errors:
// *BalanceError, ErrCompanyAccount, ledger.ErrAccountDisabled.
func (s *Service) Gate(ctx context.Context, accountID int64) error {
	a, err := s.ledger.Account(ctx, accountID)
	if err != nil {
		return err
	}
	if a.Status != models.StatusActive {
		return fmt.Errorf("%w: account %d", ledger.ErrAccountDisabled, accountID)
	}
	if a.Kind == models.AccountCompany {
		return ErrCompanyAccount
	}
	if a.AvailableCents() < MinBalanceCents {
		return &BalanceError{AvailableCents: a.AvailableCents()}
	}
	return nil
}

// Progress is one step of a verification, as its workflow records it.
type Progress struct {
	AccountID, UserID int64
	E164, Country     string
	State             string
	VerificationSID   string
	Attempts          int64
	// VerifiedAt is set with the verified state.
	VerifiedAt *time.Time
}

// Record upserts the number's row with p: a retried activity writes the
// same values again, harmlessly.
func (s *Service) Record(ctx context.Context, p Progress) error {
	now := s.now()
	row := models.CallerID{AccountID: p.AccountID, UserID: p.UserID, E164: p.E164, Country: p.Country, State: p.State,
		VerificationSID: p.VerificationSID, Attempts: p.Attempts, VerifiedAt: p.VerifiedAt, CreatedAt: now, UpdatedAt: now}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "account_id"}, {Name: "e164"}},
		DoUpdates: clause.AssignmentColumns([]string{"user_id", "country", "state", "verification_sid", "attempts", "verified_at", "updated_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("callerid: record %s for account %d: %w", p.E164, p.AccountID, err)
	}
	return nil
}

// List is the account's caller IDs, the most recently changed first.
func (s *Service) List(ctx context.Context, accountID int64) ([]models.CallerID, error) {
	var rows []models.CallerID
	if err := s.db.WithContext(ctx).Where("account_id = ?", accountID).Order("updated_at DESC, id DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("callerid: list account %d: %w", accountID, err)
	}
	return rows, nil
}

// Get is the account's caller ID for e164. Errors: ErrNotFound.
func (s *Service) Get(ctx context.Context, accountID int64, e164 string) (models.CallerID, error) {
	var row models.CallerID
	err := s.db.WithContext(ctx).Where("account_id = ? AND e164 = ?", accountID, e164).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.CallerID{}, fmt.Errorf("%w: %s", ErrNotFound, e164)
	}
	if err != nil {
		return models.CallerID{}, fmt.Errorf("callerid: get %s: %w", e164, err)
	}
	return row, nil
}

// Pending is the account's number waiting for an SMS code, the latest if
// several are. Errors: ErrNothingPending.
func (s *Service) Pending(ctx context.Context, accountID int64) (models.CallerID, error) {
	var row models.CallerID
	err := s.db.WithContext(ctx).Where("account_id = ? AND state = ?", accountID, StateAwaitingCode).
		Order("updated_at DESC, id DESC").Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.CallerID{}, ErrNothingPending
	}
	if err != nil {
		return models.CallerID{}, fmt.Errorf("callerid: pending for account %d: %w", accountID, err)
	}
	return row, nil
}

// Verified is the account's verified caller ID, the most recently
// verified if several are, or "" when it has none.
func (s *Service) Verified(ctx context.Context, accountID int64) (string, error) {
	var rows []models.CallerID
	err := s.db.WithContext(ctx).Where("account_id = ? AND state = ?", accountID, StateVerified).
		Order("verified_at DESC, id DESC").Limit(1).Find(&rows).Error
	if err != nil {
		return "", fmt.Errorf("callerid: verified for account %d: %w", accountID, err)
	}
	if len(rows) == 0 {
		return "", nil
	}
	return rows[0].E164, nil
}

// Live is the account's caller IDs that are not removed, the most recently
// changed first: what a removal applies to.
func (s *Service) Live(ctx context.Context, accountID int64) ([]models.CallerID, error) {
	var rows []models.CallerID
	err := s.db.WithContext(ctx).Where("account_id = ? AND state <> ?", accountID, StateRemoved).
		Order("updated_at DESC, id DESC").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("callerid: live for account %d: %w", accountID, err)
	}
	return rows, nil
}

// Remove marks the account's numbers e164s removed, whatever their state,
// and audits each as caller_id.remove by actor ("user:<id>"): calls then
// go out with another verified number, or DEFAULT_CALLER_ID. The rows stay
// (a new request for a number starts afresh on its row). Stop a
// verification under way first, as its workflow writes the row; one that
// already recorded "removed" is audited all the same. Errors:
// ErrNothingToRemove when the account has none of e164s.
func (s *Service) Remove(ctx context.Context, actor string, accountID int64, e164s []string) error {
	now := s.now()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []models.CallerID
		if len(e164s) > 0 {
			if err := tx.Where("account_id = ? AND e164 IN ?", accountID, e164s).Order("id").Find(&rows).Error; err != nil {
				return fmt.Errorf("callerid: remove for account %d: %w", accountID, err)
			}
		}
		if len(rows) == 0 {
			return ErrNothingToRemove
		}
		for _, r := range rows {
			if err := tx.Model(&models.CallerID{}).Where("id = ? AND state <> ?", r.ID, StateRemoved).
				Updates(map[string]any{"state": StateRemoved, "updated_at": now}).Error; err != nil {
				return fmt.Errorf("callerid: remove %s: %w", r.E164, err)
			}
			a := models.AuditLog{Actor: actor, Action: "caller_id.remove", Target: fmt.Sprintf("account:%d", accountID),
				Details: fmt.Sprintf("%s (was %s)", r.E164, r.State), CreatedAt: now}
			if err := tx.Create(&a).Error; err != nil {
				return fmt.Errorf("callerid: audit removal of %s: %w", r.E164, err)
			}
		}
		return nil
	})
}

// VerifiedByAccount is each account's verified caller ID (the one its
// calls use, as Verified chooses it), for the accounts given.
func (s *Service) VerifiedByAccount(ctx context.Context, accountIDs []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(accountIDs))
	if len(accountIDs) == 0 {
		return out, nil
	}
	var rows []models.CallerID
	err := s.db.WithContext(ctx).Where("account_id IN ? AND state = ?", accountIDs, StateVerified).
		Order("verified_at DESC, id DESC").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("callerid: verified by account: %w", err)
	}
	for _, r := range rows {
		if _, ok := out[r.AccountID]; !ok {
			out[r.AccountID] = r.E164
		}
	}
	return out, nil
}
