// Package credits stores top-ups and their receipts, the Stripe events
// already handled and each account's Stripe customer. It moves no money:
// the ledger does, keyed by the PaymentIntent id, and the TopUp workflow
// decides when.
package credits

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/models"
)

// Domain errors; api maps them to HTTP statuses.
var (
	// ErrTopUpNotFound: no top-up has that id (for that account).
	ErrTopUpNotFound = errors.New("top-up not found")
	// ErrRequestKeyReused: a request key already named a top-up with a
	// different amount or card choice.
	ErrRequestKeyReused = errors.New("this request key was already used for a different top-up")
	// ErrRequestKeyInvalid: the key is empty, too long or not printable ASCII.
	ErrRequestKeyInvalid = errors.New("the request key must be 8 to 200 printable ASCII characters")
	// ErrFirstTopUpLimit is wrapped by every *FirstTopUpLimitError.
	ErrFirstTopUpLimit = errors.New("first top-up above the first-purchase limit")
)

// FirstTopUpLimitError refuses a top-up above the first-purchase limit from
// an account that has never paid, and names both limits.
type FirstTopUpLimitError struct {
	AmountCents, LimitCents, MaxCents int64
}

func (e *FirstTopUpLimitError) Error() string {
	return fmt.Sprintf("your first top-up can be at most %s; once it is paid, top-ups of up to %s are possible",
		money.Format(e.LimitCents), money.Format(e.MaxCents))
}

// Is makes errors.Is(err, ErrFirstTopUpLimit) true.
func (e *FirstTopUpLimitError) Is(target error) bool { return target == ErrFirstTopUpLimit }

// Limits are a deployment's top-up maximums: MaxCents (TOPUP_MAX_CENTS) for
// every top-up, and FirstMaxCents (FIRST_TOPUP_MAX_CENTS) until an account
// has paid once.
type Limits struct {
	MaxCents      int64
	FirstMaxCents int64
}

// MinimumCents is the smallest top-up for an account kind: the shared
// rule in package money, which the CLI applies too.
func MinimumCents(kind models.AccountKind) int64 {
	return money.MinTopUpCents(kind == models.AccountCompany)
}

// ValidateAmount returns a *money.TopUpAmountError unless the kind's
// minimum <= amount <= max.
func ValidateAmount(kind models.AccountKind, amountCents, maxCents int64) error {
	return money.CheckTopUp(amountCents, MinimumCents(kind), maxCents)
}

// Service is the store of top-ups.
type Service struct {
	db  *gorm.DB
	now func() time.Time
}

// New returns the store over db (Postgres or the embedded SQLite).
func New(db *gorm.DB) *Service {
	return &Service{db: db, now: func() time.Time { return time.Now().UTC() }}
}

// NewTopUp asks for a top-up.
type NewTopUp struct {
	AccountID   int64
	UserID      int64
	AmountCents int64
	SaveCard    bool
	// RequestKey, when set, makes the request repeatable: the same key
	// (per account) always names the same top-up, so a double-submitted
	// form or a CLI retry after a timeout opens one checkout, not two.
	RequestKey string
}

// NewTopUpID makes a top-up id. It is the business id every later key
// (checkout Idempotency-Key, workflow id) derives from.
func NewTopUpID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "tu_" + hex.EncodeToString(b)
}

// TopUpIDForRequest derives the top-up id a request key names. The
// account is part of it, so two accounts never collide on a key, and the
// key itself (client-chosen text) is not what we store.
func TopUpIDForRequest(accountID int64, requestKey string) string {
	sum := sha256.Sum256([]byte(strconv.FormatInt(accountID, 10) + "\x00" + requestKey))
	return "tu_" + hex.EncodeToString(sum[:12])
}

// ValidRequestKey reports whether k may be used as a request key.
func ValidRequestKey(k string) bool {
	if len(k) < 8 || len(k) > 200 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// Create stores a top-up awaiting payment. The caller validates the amount.
// With a RequestKey, a repeat returns the top-up the first request made
// (replayed true), in whatever state it is now. Errors:
// ErrRequestKeyInvalid, ErrRequestKeyReused.
func (s *Service) Create(ctx context.Context, in NewTopUp) (t models.TopUp, replayed bool, err error) {
	now := s.now()
	t = models.TopUp{ID: NewTopUpID(), AccountID: in.AccountID, UserID: in.UserID, AmountCents: in.AmountCents,
		Status: models.TopUpAwaitingPayment, SaveCard: in.SaveCard, CreatedAt: now, UpdatedAt: now}
	if in.RequestKey == "" {
		if err := s.db.WithContext(ctx).Create(&t).Error; err != nil {
			return models.TopUp{}, false, fmt.Errorf("create top-up: %w", err)
		}
		return t, false, nil
	}
	if !ValidRequestKey(in.RequestKey) {
		return models.TopUp{}, false, ErrRequestKeyInvalid
	}
	t.ID = TopUpIDForRequest(in.AccountID, in.RequestKey)
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoNothing: true}).Create(&t)
	if res.Error != nil {
		return models.TopUp{}, false, fmt.Errorf("create top-up: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		return t, false, nil
	}
	prev, err := s.Get(ctx, t.ID)
	if err != nil {
		return models.TopUp{}, false, fmt.Errorf("create top-up: read the earlier request's top-up: %w", err)
	}
	if prev.AccountID != in.AccountID || prev.AmountCents != in.AmountCents || prev.SaveCard != in.SaveCard {
		return models.TopUp{}, false, ErrRequestKeyReused
	}
	return prev, true, nil
}

// Get returns a top-up. Errors: ErrTopUpNotFound.
func (s *Service) Get(ctx context.Context, id string) (models.TopUp, error) {
	var t models.TopUp
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return t, ErrTopUpNotFound
	}
	return t, err
}

// GetForAccount returns a top-up of the account; another account's top-up
// is ErrTopUpNotFound, so ids cannot be probed.
func (s *Service) GetForAccount(ctx context.Context, accountID int64, id string) (models.TopUp, error) {
	t, err := s.Get(ctx, id)
	if err == nil && t.AccountID != accountID {
		return models.TopUp{}, ErrTopUpNotFound
	}
	return t, err
}

// GetBySession returns the top-up paid through a checkout session.
// Errors: ErrTopUpNotFound.
func (s *Service) GetBySession(ctx context.Context, sessionID string) (models.TopUp, error) {
	var t models.TopUp
	if sessionID == "" {
		return t, ErrTopUpNotFound
	}
	err := s.db.WithContext(ctx).Where("checkout_session_id = ?", sessionID).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return t, ErrTopUpNotFound
	}
	return t, err
}

// RecordCheckout stores the checkout session a top-up is paid through.
func (s *Service) RecordCheckout(ctx context.Context, id, sessionID, url string, expiresAt time.Time) error {
	exp := expiresAt.UTC()
	return s.update(ctx, id, map[string]any{"checkout_session_id": sessionID, "checkout_url": url, "expires_at": &exp})
}

// Finish moves a top-up awaiting payment to expired or failed. A top-up
// already final is left as it is: a paid top-up never becomes expired.
func (s *Service) Finish(ctx context.Context, id string, status models.TopUpStatus, reason string) error {
	if status != models.TopUpExpired && status != models.TopUpFailed {
		return fmt.Errorf("finish top-up %s: %q is not an unpaid final state", id, status)
	}
	return s.db.WithContext(ctx).Model(&models.TopUp{}).
		Where("id = ? AND status = ?", id, models.TopUpAwaitingPayment).
		Updates(map[string]any{"status": status, "failure_reason": reason, "updated_at": s.now()}).Error
}

// HasPaid reports whether the account has paid by card before: a top-up
// succeeded, or an auto top-up was credited (an auto top-up can follow a
// card saved without any payment, and its charge is a purchase all the
// same).
func (s *Service) HasPaid(ctx context.Context, accountID int64) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&models.TopUp{}).
		Where("account_id = ? AND status = ?", accountID, models.TopUpSucceeded).Limit(1).Count(&n).Error
	if err != nil || n > 0 {
		return n > 0, err
	}
	err = s.db.WithContext(ctx).Model(&models.LedgerEntry{}).
		Where("account_id = ? AND kind = ?", accountID, models.EntryAutoTopUp).Limit(1).Count(&n).Error
	return n > 0, err
}

// MaxCents is the largest top-up the account may start now: the
// first-purchase limit until it has paid once, then l.MaxCents.
func (s *Service) MaxCents(ctx context.Context, accountID int64, l Limits) (int64, error) {
	paid, err := s.HasPaid(ctx, accountID)
	if err != nil {
		return 0, fmt.Errorf("top-up limit of account %d: %w", accountID, err)
	}
	if paid {
		return l.MaxCents, nil
	}
	return min(l.FirstMaxCents, l.MaxCents), nil
}

// CheckAmount refuses a top-up the account may not start: outside the
// kind's minimum and l.MaxCents (*money.TopUpAmountError), or above l.FirstMaxCents
// while the account has never paid (*FirstTopUpLimitError). Top-ups
// awaiting payment do not count as paid.
func (s *Service) CheckAmount(ctx context.Context, accountID int64, kind models.AccountKind, amountCents int64, l Limits) error {
	if err := ValidateAmount(kind, amountCents, l.MaxCents); err != nil {
		return err
	}
	if amountCents <= l.FirstMaxCents {
		return nil
	}
	limit, err := s.MaxCents(ctx, accountID, l)
	if err != nil {
		return err
	}
	if amountCents > limit {
		return &FirstTopUpLimitError{AmountCents: amountCents, LimitCents: limit, MaxCents: l.MaxCents}
	}
	return nil
}

// Receipt is what a paid top-up records.
type Receipt struct {
	PaymentIntentID string
	CardBrand       string
	CardLast4       string
	LedgerEntryID   int64
}

// RecordPayment marks a top-up succeeded with its receipt. Repeating it is
// harmless.
func (s *Service) RecordPayment(ctx context.Context, id string, r Receipt) error {
	now := s.now()
	entry := r.LedgerEntryID
	return s.db.WithContext(ctx).Model(&models.TopUp{}).Where("id = ?", id).Updates(map[string]any{
		"status": models.TopUpSucceeded, "payment_intent_id": r.PaymentIntentID, "card_brand": r.CardBrand,
		"card_last4": r.CardLast4, "ledger_entry_id": &entry, "paid_at": gorm.Expr("COALESCE(paid_at, ?)", now),
		"failure_reason": "", "updated_at": now,
	}).Error
}

// MarkReceiptEmailed notes that the receipt went out.
func (s *Service) MarkReceiptEmailed(ctx context.Context, id string) error {
	now := s.now()
	return s.update(ctx, id, map[string]any{"receipt_emailed_at": &now})
}

func (s *Service) update(ctx context.Context, id string, cols map[string]any) error {
	cols["updated_at"] = s.now()
	res := s.db.WithContext(ctx).Model(&models.TopUp{}).Where("id = ?", id).Updates(cols)
	if res.Error != nil {
		return fmt.Errorf("update top-up %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrTopUpNotFound
	}
	return nil
}

// Receipts lists an account's paid top-ups, newest first.
func (s *Service) Receipts(ctx context.Context, accountID int64, limit int) ([]models.TopUp, error) {
	var out []models.TopUp
	err := s.db.WithContext(ctx).Where("account_id = ? AND status = ?", accountID, models.TopUpSucceeded).
		Order("paid_at DESC, id").Limit(limit).Find(&out).Error
	return out, err
}

// EventSeen reports whether a Stripe event id was recorded: the event was
// handled and a redelivery needs no work. It writes nothing, so an event
// looked up and then not handled (a crash, a failed signal) is handled
// again when Stripe redelivers it.
func (s *Service) EventSeen(ctx context.Context, id string) (bool, error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&models.StripeEvent{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return false, fmt.Errorf("look up stripe event %s: %w", id, err)
	}
	return n > 0, nil
}

// RecordEvent notes a Stripe event id once it has been handled. fresh is
// false when the id was already recorded. Record only after acting
// succeeded: a recorded id makes every redelivery a no-op.
func (s *Service) RecordEvent(ctx context.Context, id, typ, objectID string) (fresh bool, err error) {
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&models.StripeEvent{ID: id, Type: typ, ObjectID: objectID, ReceivedAt: s.now()})
	if res.Error != nil {
		return false, fmt.Errorf("record stripe event %s: %w", id, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// CustomerID returns the account's Stripe customer, or "" when none yet.
func (s *Service) CustomerID(ctx context.Context, accountID int64) (string, error) {
	var c models.StripeCustomer
	err := s.db.WithContext(ctx).Where("account_id = ?", accountID).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", nil
	}
	return c.CustomerID, err
}

// SaveCustomerID stores the account's customer; the first one stored wins
// and is returned.
func (s *Service) SaveCustomerID(ctx context.Context, accountID int64, customerID string) (string, error) {
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&models.StripeCustomer{AccountID: accountID, CustomerID: customerID, CreatedAt: s.now()}).Error
	if err != nil {
		return "", fmt.Errorf("save stripe customer of account %d: %w", accountID, err)
	}
	return s.CustomerID(ctx, accountID)
}

// PayerOf returns the user who started a top-up.
func (s *Service) PayerOf(ctx context.Context, t models.TopUp) (models.User, error) {
	var u models.User
	err := s.db.WithContext(ctx).Take(&u, t.UserID).Error
	return u, err
}
