package ledger

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/models"
)

// HoldRequest reserves funds for in-flight work such as a call.
type HoldRequest struct {
	AccountID      int64
	AmountCents    int64
	IdempotencyKey string
	Reference      string
}

// PlaceHold reserves AmountCents of the account's available balance.
//
// A replay of the key with the same account and amount returns the original
// hold. Errors: ErrInvalid, ErrIdempotencyConflict, ErrAccountNotFound,
// ErrAccountDisabled, ErrInsufficientFunds.
func (s *Service) PlaceHold(ctx context.Context, r HoldRequest) (models.Hold, error) {
	switch {
	case r.AccountID <= 0:
		return models.Hold{}, invalid("account_id", "must be a positive id")
	case r.AmountCents <= 0:
		return models.Hold{}, invalid("amount_cents", "must be positive for a hold")
	}
	if err := validateKey(r.IdempotencyKey); err != nil {
		return models.Hold{}, err
	}
	now := s.now()
	h := models.Hold{AccountID: r.AccountID, AmountCents: r.AmountCents, Status: models.HoldActive,
		IdempotencyKey: r.IdempotencyKey, Reference: r.Reference, CreatedAt: now}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Exec(`UPDATE accounts SET held_cents = held_cents + ?, updated_at = ?
			WHERE id = ? AND status = 'active' AND balance_cents - held_cents - ? >= 0`,
			r.AmountCents, now, r.AccountID, r.AmountCents)
		if q.Error != nil {
			return q.Error
		}
		if q.RowsAffected == 0 {
			return errRefused
		}
		var row struct{ ID int64 }
		ins := tx.Raw(`INSERT INTO holds (account_id, amount_cents, status, idempotency_key, reference, created_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
			h.AccountID, h.AmountCents, h.Status, h.IdempotencyKey, h.Reference, h.CreatedAt).Scan(&row)
		if ins.Error != nil {
			return ins.Error
		}
		if ins.RowsAffected == 0 {
			return errKeyTaken
		}
		h.ID = row.ID
		return nil
	})
	switch {
	case err == nil:
		return h, nil
	case errors.Is(err, errRefused), errors.Is(err, errKeyTaken):
		return s.explainHoldRefusal(ctx, r)
	default:
		return models.Hold{}, fmt.Errorf("ledger: place hold: %w", err)
	}
}

func (s *Service) explainHoldRefusal(ctx context.Context, r HoldRequest) (models.Hold, error) {
	var prev models.Hold
	err := s.db.WithContext(ctx).Where("idempotency_key = ?", r.IdempotencyKey).Take(&prev).Error
	if err == nil {
		if prev.AccountID != r.AccountID || prev.AmountCents != r.AmountCents {
			return models.Hold{}, fmt.Errorf("%w: hold key %q", ErrIdempotencyConflict, r.IdempotencyKey)
		}
		return prev, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return models.Hold{}, fmt.Errorf("ledger: look up hold key: %w", err)
	}
	acct, err := s.Account(ctx, r.AccountID)
	if err != nil {
		return models.Hold{}, err
	}
	if acct.Status != models.StatusActive {
		return models.Hold{}, fmt.Errorf("%w: account %d", ErrAccountDisabled, r.AccountID)
	}
	return models.Hold{}, fmt.Errorf("%w: account %d has %d cents available, hold needs %d",
		ErrInsufficientFunds, r.AccountID, acct.AvailableCents(), r.AmountCents)
}

// CaptureRequest turns an active hold into a charge.
type CaptureRequest struct {
	HoldID int64
	// AmountCents is the positive charge; it may be smaller than the hold.
	AmountCents int64
	// Kind is the entry's kind; call_charge when empty. It must be a debit.
	Kind           models.EntryKind
	IdempotencyKey string
	Actor          string
	CallRef        string
	NumberRef      string
	Description    string
}

// CaptureHold settles an active hold as a charge of AmountCents and frees the
// rest of the hold. A hold is settled exactly once: replaying the capture's
// key returns the original entry; any other capture or a release after it
// fails with ErrHoldSettled.
//
// The account's status is not checked: a capture collects what is already
// owed. Errors: ErrInvalid, ErrHoldNotFound, ErrHoldSettled,
// ErrCaptureExceedsHold, ErrIdempotencyConflict.
func (s *Service) CaptureHold(ctx context.Context, r CaptureRequest) (Result, error) {
	if r.Kind == "" {
		r.Kind = models.EntryCallCharge
	}
	switch {
	case r.HoldID <= 0:
		return Result{}, invalid("hold_id", "must be a positive id")
	case r.AmountCents <= 0:
		return Result{}, invalid("amount_cents", "must be positive; release the hold to charge nothing")
	case entrySign[r.Kind] >= 0:
		return Result{}, invalid("kind", fmt.Sprintf("%q is not a debit kind", r.Kind))
	case r.Actor == "":
		return Result{}, invalid("actor", "must name who caused the capture")
	}
	if err := validateKey(r.IdempotencyKey); err != nil {
		return Result{}, err
	}
	now := s.now()
	var res Result
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var h models.Hold
		q := tx.Raw(`UPDATE holds SET status = 'captured', settled_at = ?
			WHERE id = ? AND status = 'active' AND amount_cents >= ?
			RETURNING id, account_id, amount_cents`, now, r.HoldID, r.AmountCents).Scan(&h)
		if q.Error != nil {
			return q.Error
		}
		if q.RowsAffected == 0 {
			return errRefused
		}
		var bal struct{ BalanceCents int64 }
		if err := tx.Raw(`UPDATE accounts SET balance_cents = balance_cents - ?, held_cents = held_cents - ?, updated_at = ?
			WHERE id = ? RETURNING balance_cents`, r.AmountCents, h.AmountCents, now, h.AccountID).Scan(&bal).Error; err != nil {
			return err
		}
		holdID := h.ID
		e := models.LedgerEntry{
			AccountID: h.AccountID, Kind: r.Kind, AmountCents: -r.AmountCents, BalanceAfter: bal.BalanceCents,
			IdempotencyKey: r.IdempotencyKey, CallRef: r.CallRef, NumberRef: r.NumberRef, HoldID: &holdID,
			Actor: r.Actor, Description: r.Description, CreatedAt: now,
		}
		inserted, err := insertEntry(tx, &e)
		if err != nil {
			return err
		}
		if !inserted {
			return errKeyTaken
		}
		if err := tx.Exec(`UPDATE holds SET entry_id = ? WHERE id = ?`, e.ID, h.ID).Error; err != nil {
			return err
		}
		res = Result{Entry: e, BalanceBefore: e.BalanceAfter + r.AmountCents}
		return nil
	})
	switch {
	case err == nil:
		return res, nil
	case errors.Is(err, errRefused), errors.Is(err, errKeyTaken):
		return s.explainCaptureRefusal(ctx, r)
	default:
		return Result{}, fmt.Errorf("ledger: capture hold: %w", err)
	}
}

func (s *Service) explainCaptureRefusal(ctx context.Context, r CaptureRequest) (Result, error) {
	db := s.db.WithContext(ctx)
	if prev, found, err := entryByKey(db, r.IdempotencyKey); err != nil {
		return Result{}, err
	} else if found {
		if prev.HoldID == nil || *prev.HoldID != r.HoldID || prev.Kind != r.Kind || prev.AmountCents != -r.AmountCents {
			return Result{}, fmt.Errorf("%w: key %q", ErrIdempotencyConflict, r.IdempotencyKey)
		}
		return Result{Entry: prev, BalanceBefore: prev.BalanceAfter - prev.AmountCents, Replayed: true}, nil
	}
	h, err := s.Hold(ctx, r.HoldID)
	if err != nil {
		return Result{}, err
	}
	if h.Status != models.HoldActive {
		return Result{}, fmt.Errorf("%w: hold %d is %s", ErrHoldSettled, h.ID, h.Status)
	}
	return Result{}, fmt.Errorf("%w: hold %d reserves %d cents, capture asks %d",
		ErrCaptureExceedsHold, h.ID, h.AmountCents, r.AmountCents)
}

// ReleaseHold frees an active hold without charging. Releasing a released
// hold returns it unchanged, so a retried release is harmless. Errors:
// ErrHoldNotFound, ErrHoldSettled (it was captured).
func (s *Service) ReleaseHold(ctx context.Context, holdID int64) (models.Hold, error) {
	now := s.now()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var h models.Hold
		q := tx.Raw(`UPDATE holds SET status = 'released', settled_at = ?
			WHERE id = ? AND status = 'active' RETURNING id, account_id, amount_cents`, now, holdID).Scan(&h)
		if q.Error != nil {
			return q.Error
		}
		if q.RowsAffected == 0 {
			return errRefused
		}
		return tx.Exec(`UPDATE accounts SET held_cents = held_cents - ?, updated_at = ? WHERE id = ?`,
			h.AmountCents, now, h.AccountID).Error
	})
	if err != nil && !errors.Is(err, errRefused) {
		return models.Hold{}, fmt.Errorf("ledger: release hold: %w", err)
	}
	h, herr := s.Hold(ctx, holdID)
	if herr != nil {
		return models.Hold{}, herr
	}
	if h.Status == models.HoldCaptured {
		return h, fmt.Errorf("%w: hold %d was captured", ErrHoldSettled, holdID)
	}
	return h, nil
}

// Hold returns a hold by id. Errors: ErrHoldNotFound.
func (s *Service) Hold(ctx context.Context, id int64) (models.Hold, error) {
	var h models.Hold
	err := s.db.WithContext(ctx).Take(&h, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return h, fmt.Errorf("%w: %d", ErrHoldNotFound, id)
	}
	if err != nil {
		return h, fmt.Errorf("ledger: load hold: %w", err)
	}
	return h, nil
}
