// Package ledger is the one service that moves money. Every balance change is
// an immutable ledger entry with a unique idempotency key, written in the same
// transaction as the account's cached balance.
//
// Concurrency: each operation is a single conditional UPDATE of the account
// row (which takes its row lock and re-checks the funds condition against the
// latest committed balance) followed by an INSERT ... ON CONFLICT DO NOTHING on
// the idempotency key. A posting therefore costs four round trips on Postgres
// (BEGIN, UPDATE ... RETURNING, INSERT ... RETURNING, COMMIT). On SQLite the
// embedded handle has one connection and every transaction takes the write
// lock up front, which serialises them.
package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/models"
)

// MaxKeyLength bounds idempotency keys; they are derived from business ids
// and never need to be long.
const MaxKeyLength = 200

// Service posts entries, places and settles holds, and reconciles balances.
type Service struct {
	db  *gorm.DB
	now func() time.Time
	// staleHoldAge is how long a hold may stay active before Verify reports
	// it: longer than the longest call a hold can cover.
	staleHoldAge time.Duration
}

// DefaultStaleHoldAge is the stale-hold age when none is set: the default
// MAX_CALL_MINUTES (240) plus a 30-minute margin.
const DefaultStaleHoldAge = 4*time.Hour + 30*time.Minute

// New returns a ledger service over db (Postgres or the embedded SQLite).
func New(db *gorm.DB) *Service {
	return &Service{db: db, now: func() time.Time { return time.Now().UTC() }, staleHoldAge: DefaultStaleHoldAge}
}

// WithStaleHoldAge returns a copy whose Verify reports holds active for
// longer than age (config: MAX_CALL_MINUTES plus a margin).
func (s *Service) WithStaleHoldAge(age time.Duration) *Service {
	c := *s
	c.staleHoldAge = age
	return &c
}

// WithClock returns a copy whose clock is now (tests).
func (s *Service) WithClock(now func() time.Time) *Service {
	c := *s
	c.now = now
	return &c
}

// credit and debit kinds: the sign of an entry's amount is fixed by its kind,
// except for adjustments, which an operator makes in either direction.
var entrySign = map[models.EntryKind]int{
	models.EntryTopUp:      +1,
	models.EntryAutoTopUp:  +1,
	models.EntryRefund:     +1,
	models.EntryBonus:      +1,
	models.EntryCallCharge: -1,
	models.EntryNumberFee:  -1,
	models.EntryAdjustment: 0,
}

// overdraftKinds may take the available balance below zero, and only when the
// posting asks for it with AllowOverdraft. A call charge is owed once Twilio
// has carried the call, even if it ran past what the hold reserved; the
// account goes negative and new calls are refused until it is topped up.
var overdraftKinds = map[models.EntryKind]bool{
	models.EntryCallCharge: true,
}

// disabledAccountKinds may still post to a disabled account: an operator's
// correction or a refund must never be blocked by the account's status.
var disabledAccountKinds = map[models.EntryKind]bool{
	models.EntryAdjustment: true,
	models.EntryRefund:     true,
}

// collectedKinds are the credits of money already taken from the customer;
// with Posting.Collected they post to a disabled account too.
var collectedKinds = map[models.EntryKind]bool{
	models.EntryTopUp:     true,
	models.EntryAutoTopUp: true,
}

// Posting asks for one balance change.
type Posting struct {
	AccountID int64
	Kind      models.EntryKind
	// AmountCents is signed: positive credits, negative debits.
	AmountCents int64
	// IdempotencyKey is derived from business ids (top-up id, call id, ...).
	IdempotencyKey string
	// Actor is who caused it: "user:42", "admin:7", "system:worker".
	Actor       string
	CallRef     string
	TopUpRef    string
	NumberRef   string
	Description string
	// AllowOverdraft lets a kind listed in overdraftKinds go below zero.
	AllowOverdraft bool
	// Collected says the payment was already taken (a checkout paid, an
	// auto top-up charged): the credit is the customer's money and posts
	// even to an account disabled since, so it is neither lost nor retried
	// for ever. The account still cannot spend it; refunds are the
	// RUNBOOK's. Only top-up kinds may say so.
	Collected bool
	// Audit, when set, is written in the same transaction as the entry.
	Audit *models.AuditLog
}

// Result is the outcome of a posting or a capture.
type Result struct {
	Entry         models.LedgerEntry
	BalanceBefore int64
	// Replayed is true when the key had already been posted with the same
	// content; Entry is then the original entry and nothing new was written.
	Replayed bool
}

// BalanceAfter is the account balance right after this entry.
func (r Result) BalanceAfter() int64 { return r.Entry.BalanceAfter }

// CrossedBelow reports whether this posting took the balance from at or
// above threshold to below it. A replay never crosses: the original did.
func (r Result) CrossedBelow(threshold int64) bool {
	return !r.Replayed && r.BalanceBefore >= threshold && r.Entry.BalanceAfter < threshold
}

// LeftBelow reports whether this posting was a fresh debit that left the
// balance below threshold, whether or not it was already below. Auto top-up
// uses it as its trigger; the workflow's cooldown collapses bursts.
func (r Result) LeftBelow(threshold int64) bool {
	return !r.Replayed && r.Entry.AmountCents < 0 && r.Entry.BalanceAfter < threshold
}

func (p Posting) validate() error {
	sign, ok := entrySign[p.Kind]
	switch {
	case p.AccountID <= 0:
		return invalid("account_id", "must be a positive id")
	case !ok:
		return invalid("kind", fmt.Sprintf("%q is not a ledger entry kind", p.Kind))
	case p.AmountCents == 0:
		return invalid("amount_cents", "must not be zero")
	case sign > 0 && p.AmountCents < 0:
		return invalid("amount_cents", fmt.Sprintf("must be positive for a %s", p.Kind))
	case sign < 0 && p.AmountCents > 0:
		return invalid("amount_cents", fmt.Sprintf("must be negative for a %s", p.Kind))
	case p.AllowOverdraft && !overdraftKinds[p.Kind]:
		return invalid("allow_overdraft", fmt.Sprintf("is not permitted for a %s", p.Kind))
	case p.Collected && !collectedKinds[p.Kind]:
		return invalid("collected", fmt.Sprintf("is not permitted for a %s", p.Kind))
	case p.Actor == "":
		return invalid("actor", "must name who caused the posting")
	}
	return validateKey(p.IdempotencyKey)
}

// mayPostToDisabled reports whether the posting goes through on a disabled
// account.
func (p Posting) mayPostToDisabled() bool {
	return disabledAccountKinds[p.Kind] || (p.Collected && collectedKinds[p.Kind])
}

func validateKey(k string) error {
	if k == "" {
		return invalid("idempotency_key", "must not be empty")
	}
	if len(k) > MaxKeyLength || !utf8.ValidString(k) {
		return invalid("idempotency_key", fmt.Sprintf("must be valid text of at most %d bytes", MaxKeyLength))
	}
	return nil
}

// Post writes one entry and moves the account's balance by its amount.
//
// A replay of a key with the same content (account, kind, amount, reason
// and references) returns the original entry with Replayed set. Errors: ErrInvalid (a *ValidationError),
// ErrIdempotencyConflict, ErrAccountNotFound, ErrAccountDisabled,
// ErrInsufficientFunds. On any error nothing was written.
func (s *Service) Post(ctx context.Context, p Posting) (Result, error) {
	if err := p.validate(); err != nil {
		return Result{}, err
	}
	now := s.now()
	var res Result
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var bal struct{ BalanceCents int64 }
		// The WHERE clause is the whole funds-and-status check: Postgres
		// re-evaluates it against the newest row version after taking the
		// row lock, so concurrent debits cannot both pass it.
		q := tx.Raw(`UPDATE accounts SET balance_cents = balance_cents + ?, updated_at = ?
			WHERE id = ?
			  AND (status = 'active' OR ?)
			  AND (? > 0 OR ? OR balance_cents + ? - held_cents >= 0)
			RETURNING balance_cents`,
			p.AmountCents, now, p.AccountID,
			p.mayPostToDisabled(),
			p.AmountCents, p.AllowOverdraft, p.AmountCents).Scan(&bal)
		if q.Error != nil {
			return q.Error
		}
		if q.RowsAffected == 0 {
			return errRefused
		}
		e := models.LedgerEntry{
			AccountID: p.AccountID, Kind: p.Kind, AmountCents: p.AmountCents, BalanceAfter: bal.BalanceCents,
			IdempotencyKey: p.IdempotencyKey, CallRef: p.CallRef, TopUpRef: p.TopUpRef, NumberRef: p.NumberRef,
			Actor: p.Actor, Description: p.Description, CreatedAt: now,
		}
		inserted, err := insertEntry(tx, &e)
		if err != nil {
			return err
		}
		if !inserted {
			return errKeyTaken
		}
		if p.Audit != nil {
			a := *p.Audit
			a.CreatedAt = now
			if err := tx.Create(&a).Error; err != nil {
				return err
			}
		}
		res = Result{Entry: e, BalanceBefore: e.BalanceAfter - e.AmountCents}
		return nil
	})
	switch {
	case err == nil:
		return res, nil
	case errors.Is(err, errRefused), errors.Is(err, errKeyTaken):
		// The transaction rolled back. Explain why, checking for a replay
		// first: a retried debit must return its original entry even if the
		// wallet is now empty.
		return s.explainRefusal(ctx, p)
	default:
		return Result{}, fmt.Errorf("ledger post: %w", err)
	}
}

// Internal signals that roll a transaction back so the refusal can be
// explained outside it.
var (
	errRefused  = errors.New("ledger: update refused")
	errKeyTaken = errors.New("ledger: idempotency key taken")
)

// insertEntry inserts e unless its idempotency key exists, and reports
// whether it did. ON CONFLICT DO NOTHING keeps the transaction usable on
// Postgres, where a unique violation would abort it.
func insertEntry(tx *gorm.DB, e *models.LedgerEntry) (bool, error) {
	var row struct{ ID int64 }
	q := tx.Raw(`INSERT INTO ledger_entries
		(account_id, kind, amount_cents, balance_after, idempotency_key, call_ref, top_up_ref, number_ref, hold_id, actor, description, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (idempotency_key) DO NOTHING
		RETURNING id`,
		e.AccountID, e.Kind, e.AmountCents, e.BalanceAfter, e.IdempotencyKey, e.CallRef, e.TopUpRef, e.NumberRef,
		e.HoldID, e.Actor, e.Description, e.CreatedAt).Scan(&row)
	if q.Error != nil {
		return false, q.Error
	}
	if q.RowsAffected == 0 {
		return false, nil
	}
	e.ID = row.ID
	return true, nil
}

func (s *Service) explainRefusal(ctx context.Context, p Posting) (Result, error) {
	db := s.db.WithContext(ctx)
	if prev, found, err := entryByKey(db, p.IdempotencyKey); err != nil {
		return Result{}, err
	} else if found {
		if entryHash(prev) != contentHash(p.AccountID, p.Kind, p.AmountCents, p.Description, p.CallRef, p.TopUpRef, p.NumberRef, nil) {
			return Result{}, fmt.Errorf("%w: key %q", ErrIdempotencyConflict, p.IdempotencyKey)
		}
		return Result{Entry: prev, BalanceBefore: prev.BalanceAfter - prev.AmountCents, Replayed: true}, nil
	}
	acct, err := s.Account(ctx, p.AccountID)
	if err != nil {
		return Result{}, err
	}
	if acct.Status != models.StatusActive && !p.mayPostToDisabled() {
		return Result{}, fmt.Errorf("%w: account %d", ErrAccountDisabled, p.AccountID)
	}
	return Result{}, fmt.Errorf("%w: account %d has %d cents available, posting needs %d",
		ErrInsufficientFunds, p.AccountID, acct.AvailableCents(), -p.AmountCents)
}

// contentHash is what a replay must match: a hash of the whole posting
// (account, kind, amount, reason, references), so the same key with other
// content is a conflict and never a silent "already applied". Who posted it
// is not content: a retry from another process is the same posting.
func contentHash(accountID int64, kind models.EntryKind, amountCents int64, description, callRef, topUpRef, numberRef string, holdID *int64) string {
	h := sha256.New()
	hold := int64(0)
	if holdID != nil {
		hold = *holdID
	}
	// Lengths before strings keep "ab"+"c" apart from "a"+"bc".
	fmt.Fprintf(h, "%d|%s|%d|%d|", accountID, kind, amountCents, hold)
	for _, f := range []string{description, callRef, topUpRef, numberRef} {
		fmt.Fprintf(h, "%d:%s|", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func entryHash(e models.LedgerEntry) string {
	return contentHash(e.AccountID, e.Kind, e.AmountCents, e.Description, e.CallRef, e.TopUpRef, e.NumberRef, e.HoldID)
}

func entryByKey(db *gorm.DB, key string) (models.LedgerEntry, bool, error) {
	var e models.LedgerEntry
	err := db.Where("idempotency_key = ?", key).Take(&e).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return e, false, nil
	}
	if err != nil {
		return e, false, fmt.Errorf("ledger: look up key: %w", err)
	}
	return e, true, nil
}

// Account returns the account with its cached balances. Errors:
// ErrAccountNotFound.
func (s *Service) Account(ctx context.Context, id int64) (models.Account, error) {
	var a models.Account
	err := s.db.WithContext(ctx).Take(&a, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return a, fmt.Errorf("%w: %d", ErrAccountNotFound, id)
	}
	if err != nil {
		return a, fmt.Errorf("ledger: load account: %w", err)
	}
	return a, nil
}

// OpenAccount creates an active wallet with a zero balance. Money only ever
// arrives through Post.
func (s *Service) OpenAccount(ctx context.Context, kind models.AccountKind, name string) (models.Account, error) {
	if !kind.Valid() {
		return models.Account{}, invalid("kind", fmt.Sprintf("%q is not individual or company", kind))
	}
	if name == "" {
		return models.Account{}, invalid("name", "must not be empty")
	}
	now := s.now()
	a := models.Account{Kind: kind, Name: name, Status: models.StatusActive, CreatedAt: now, UpdatedAt: now}
	if err := s.db.WithContext(ctx).Create(&a).Error; err != nil {
		return models.Account{}, fmt.Errorf("ledger: open account: %w", err)
	}
	return a, nil
}

// Entries lists an account's entries, newest first, after the cursor (an
// entry id; 0 starts at the newest).
func (s *Service) Entries(ctx context.Context, accountID int64, before int64, limit int) ([]models.LedgerEntry, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	q := s.db.WithContext(ctx).Where("account_id = ?", accountID)
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	var es []models.LedgerEntry
	if err := q.Order("id DESC").Limit(limit).Find(&es).Error; err != nil {
		return nil, fmt.Errorf("ledger: list entries: %w", err)
	}
	return es, nil
}

// Adjustment is an operator's manual credit (positive) or debit (negative).
type Adjustment struct {
	AccountID   int64
	AmountCents int64
	// Reason is required: it is the audit trail and the customer's statement.
	Reason string
	// Ref, optional, distinguishes a deliberate second identical adjustment.
	Ref   string
	Actor string
	// ActorAccountID is the operator's own account, when the operator has
	// one (a web admin); an adjustment of it is refused.
	ActorAccountID int64
}

// AdjustmentKey derives an adjustment's idempotency key from what it is, so
// the same adjustment submitted twice (a double click, a pasted command, a
// retry after a timeout) applies once. Keys are namespaced under the account
// and "adjust:", so they never collide with business keys such as a top-up's.
func AdjustmentKey(accountID, amountCents int64, reason, ref string) string {
	if ref != "" {
		return fmt.Sprintf("adjust:%d:manual:%s", accountID, ref)
	}
	h := sha256.Sum256([]byte(reason))
	return fmt.Sprintf("adjust:%d:%d:%s", accountID, amountCents, hex.EncodeToString(h[:8]))
}

// Adjust posts a manual adjustment with its audit record in one transaction.
// Errors: as Post, ErrInvalid for a missing or over-long reason, and
// ErrSelfAdjustment for an operator's own wallet.
func (s *Service) Adjust(ctx context.Context, a Adjustment) (Result, error) {
	if a.ActorAccountID != 0 && a.ActorAccountID == a.AccountID {
		return Result{}, ErrSelfAdjustment
	}
	reason := strings.TrimSpace(a.Reason)
	if reason == "" || len(reason) > 500 || !utf8.ValidString(reason) {
		return Result{}, invalid("reason", "must say why, in at most 500 characters")
	}
	if len(a.Ref) > 100 {
		return Result{}, invalid("ref", "must be at most 100 characters")
	}
	key := AdjustmentKey(a.AccountID, a.AmountCents, reason, a.Ref)
	return s.Post(ctx, Posting{
		AccountID: a.AccountID, Kind: models.EntryAdjustment, AmountCents: a.AmountCents, IdempotencyKey: key,
		Actor: a.Actor, Description: reason,
		Audit: &models.AuditLog{Actor: a.Actor, Action: "ledger.adjust", Target: fmt.Sprintf("account:%d", a.AccountID),
			Details: fmt.Sprintf("amount_cents=%d key=%s reason=%s", a.AmountCents, key, reason)},
	})
}
