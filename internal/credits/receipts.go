package credits

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/mobayilo/mobayilo/models"
)

// ErrReceiptNotFound: no receipt has that id (for that account).
var ErrReceiptNotFound = errors.New("receipt not found")

// ReceiptKind says what a receipt is for.
type ReceiptKind string

const (
	// ReceiptTopUp is a top-up paid through Checkout; its id is the
	// top-up's (tu_…).
	ReceiptTopUp ReceiptKind = "topup"
	// ReceiptAutoTopUp is a credited auto top-up charge (atr_…).
	ReceiptAutoTopUp ReceiptKind = "auto_topup"
)

// AccountReceipt is one receipt as its account sees it, whichever kind of
// payment made it.
type AccountReceipt struct {
	ID              string
	Kind            ReceiptKind
	AmountCents     int64
	CardBrand       string
	CardLast4       string
	PaymentIntentID string
	PaidAt          time.Time
	// Ref is the top-up id or the auto top-up attempt id.
	Ref string
}

// AutoTopUpReceiptID derives a receipt's id from the PaymentIntent it
// records, so every retry names the same receipt; the id reveals nothing of
// the PaymentIntent.
func AutoTopUpReceiptID(paymentIntentID string) string {
	sum := sha256.Sum256([]byte("auto-top-up-receipt\x00" + paymentIntentID))
	return "atr_" + hex.EncodeToString(sum[:12])
}

// RecordAutoTopUpReceipt stores the receipt of a credited auto top-up,
// once per PaymentIntent, and returns the stored one: a repeat keeps the
// first receipt (and whether it was mailed). The id is derived from the
// PaymentIntent; PaidAt defaults to now.
func (s *Service) RecordAutoTopUpReceipt(ctx context.Context, r models.AutoTopUpReceipt) (models.AutoTopUpReceipt, error) {
	if r.PaymentIntentID == "" || r.AccountID == 0 || r.AmountCents <= 0 {
		return models.AutoTopUpReceipt{}, fmt.Errorf("auto top-up receipt needs an account, a PaymentIntent and a positive amount (account %d, %q, %d cents)",
			r.AccountID, r.PaymentIntentID, r.AmountCents)
	}
	now := s.now()
	r.ID, r.CreatedAt, r.EmailedAt = AutoTopUpReceiptID(r.PaymentIntentID), now, nil
	if r.PaidAt.IsZero() {
		r.PaidAt = now
	}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&r).Error
	if err != nil {
		return models.AutoTopUpReceipt{}, fmt.Errorf("record auto top-up receipt of %s: %w", r.PaymentIntentID, err)
	}
	stored, err := s.AutoTopUpReceipt(ctx, r.PaymentIntentID)
	if err != nil {
		return models.AutoTopUpReceipt{}, fmt.Errorf("record auto top-up receipt of %s: %w", r.PaymentIntentID, err)
	}
	if stored.AccountID != r.AccountID || stored.AmountCents != r.AmountCents {
		return models.AutoTopUpReceipt{}, fmt.Errorf("auto top-up receipt of %s is account %d's for %d cents, not account %d's for %d",
			r.PaymentIntentID, stored.AccountID, stored.AmountCents, r.AccountID, r.AmountCents)
	}
	return stored, nil
}

// AutoTopUpReceipt returns the receipt of a PaymentIntent. Errors:
// ErrReceiptNotFound.
func (s *Service) AutoTopUpReceipt(ctx context.Context, paymentIntentID string) (models.AutoTopUpReceipt, error) {
	var r models.AutoTopUpReceipt
	err := s.db.WithContext(ctx).Where("payment_intent_id = ?", paymentIntentID).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return r, ErrReceiptNotFound
	}
	return r, err
}

// MarkAutoTopUpReceiptEmailed notes that the receipt went out. Errors:
// ErrReceiptNotFound.
func (s *Service) MarkAutoTopUpReceiptEmailed(ctx context.Context, id string) error {
	now := s.now()
	res := s.db.WithContext(ctx).Model(&models.AutoTopUpReceipt{}).Where("id = ?", id).Update("emailed_at", &now)
	if res.Error != nil {
		return fmt.Errorf("mark auto top-up receipt %s emailed: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrReceiptNotFound
	}
	return nil
}

// AccountReceipts lists an account's receipts of both kinds, newest first,
// at most limit.
func (s *Service) AccountReceipts(ctx context.Context, accountID int64, limit int) ([]AccountReceipt, error) {
	tus, err := s.Receipts(ctx, accountID, limit)
	if err != nil {
		return nil, fmt.Errorf("top-up receipts of account %d: %w", accountID, err)
	}
	var autos []models.AutoTopUpReceipt
	err = s.db.WithContext(ctx).Where("account_id = ?", accountID).Order("paid_at DESC, id").Limit(limit).Find(&autos).Error
	if err != nil {
		return nil, fmt.Errorf("auto top-up receipts of account %d: %w", accountID, err)
	}
	out := make([]AccountReceipt, 0, len(tus)+len(autos))
	for _, t := range tus {
		out = append(out, ReceiptOfTopUp(t))
	}
	for _, r := range autos {
		out = append(out, ReceiptOfAutoTopUp(r))
	}
	slices.SortStableFunc(out, func(a, b AccountReceipt) int {
		return cmp.Or(b.PaidAt.Compare(a.PaidAt), strings.Compare(a.ID, b.ID))
	})
	return out[:min(len(out), limit)], nil
}

// AccountReceipt returns one receipt of the account. Another account's
// receipt, an unpaid top-up and an unknown id are all ErrReceiptNotFound,
// so ids cannot be probed.
func (s *Service) AccountReceipt(ctx context.Context, accountID int64, id string) (AccountReceipt, error) {
	switch {
	case strings.HasPrefix(id, "tu_"):
		t, err := s.GetForAccount(ctx, accountID, id)
		if errors.Is(err, ErrTopUpNotFound) || (err == nil && t.Status != models.TopUpSucceeded) {
			return AccountReceipt{}, ErrReceiptNotFound
		}
		if err != nil {
			return AccountReceipt{}, err
		}
		return ReceiptOfTopUp(t), nil
	case strings.HasPrefix(id, "atr_"):
		var r models.AutoTopUpReceipt
		err := s.db.WithContext(ctx).Where("id = ? AND account_id = ?", id, accountID).Take(&r).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return AccountReceipt{}, ErrReceiptNotFound
		}
		if err != nil {
			return AccountReceipt{}, err
		}
		return ReceiptOfAutoTopUp(r), nil
	}
	return AccountReceipt{}, ErrReceiptNotFound
}

// ReceiptOfTopUp is a paid top-up's receipt; it is paid when credited
// (PaidAt), or else when last changed.
func ReceiptOfTopUp(t models.TopUp) AccountReceipt {
	paid := t.UpdatedAt
	if t.PaidAt != nil {
		paid = *t.PaidAt
	}
	return AccountReceipt{ID: t.ID, Kind: ReceiptTopUp, AmountCents: t.AmountCents, CardBrand: t.CardBrand, CardLast4: t.CardLast4,
		PaymentIntentID: t.PaymentIntentID, PaidAt: paid.UTC(), Ref: t.ID}
}

// ReceiptOfAutoTopUp is a credited auto top-up's receipt.
func ReceiptOfAutoTopUp(r models.AutoTopUpReceipt) AccountReceipt {
	return AccountReceipt{ID: r.ID, Kind: ReceiptAutoTopUp, AmountCents: r.AmountCents, CardBrand: r.CardBrand, CardLast4: r.CardLast4,
		PaymentIntentID: r.PaymentIntentID, PaidAt: r.PaidAt.UTC(), Ref: r.AttemptID}
}
