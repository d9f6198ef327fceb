package autotopup

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/models"
)

// ErrAttemptNotFound: no auto top-up attempt has that id or PaymentIntent.
var ErrAttemptNotFound = errors.New("no such auto top-up attempt")

// Attempt returns one attempt by its id, or a zero attempt (ID 0) when
// there is none: the shape the activities want.
func (s *Service) Attempt(ctx context.Context, attemptID string) (models.AutoTopUpAttempt, error) {
	a, err := s.FindAttempt(ctx, "attempt_id", attemptID)
	if errors.Is(err, ErrAttemptNotFound) {
		return models.AutoTopUpAttempt{}, nil
	}
	return a, err
}

// AttemptByPaymentIntent finds the attempt that created a PaymentIntent.
// Errors: ErrAttemptNotFound.
func (s *Service) AttemptByPaymentIntent(ctx context.Context, paymentIntentID string) (models.AutoTopUpAttempt, error) {
	if paymentIntentID == "" {
		return models.AutoTopUpAttempt{}, ErrAttemptNotFound
	}
	return s.FindAttempt(ctx, "payment_intent_id", paymentIntentID)
}

// FindAttempt finds an attempt by attempt_id or payment_intent_id.
// Errors: ErrAttemptNotFound.
func (s *Service) FindAttempt(ctx context.Context, column, value string) (models.AutoTopUpAttempt, error) {
	if column != "attempt_id" && column != "payment_intent_id" {
		return models.AutoTopUpAttempt{}, fmt.Errorf("autotopup: cannot find attempts by %q", column)
	}
	var a models.AutoTopUpAttempt
	err := s.db.WithContext(ctx).Where(column+" = ?", value).Order("id DESC").Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return a, fmt.Errorf("%w: %s %q", ErrAttemptNotFound, column, value)
	}
	if err != nil {
		return a, fmt.Errorf("autotopup: find attempt by %s: %w", column, err)
	}
	return a, nil
}

// Credited reports whether a PaymentIntent's auto top-up credit is already
// in the ledger, so a late or repeated payment event counts nothing twice.
func (s *Service) Credited(ctx context.Context, paymentIntentID string) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&models.LedgerEntry{}).Where("idempotency_key = ?", CreditKey(paymentIntentID)).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("autotopup: look up the credit of %s: %w", paymentIntentID, err)
	}
	return n > 0, nil
}
