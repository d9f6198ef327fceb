package autotopup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/models"
)

// Card setups: an owner saving a card through Checkout in setup mode,
// without paying. The SaveCard workflow opens the checkout, waits for the
// webhook, then saves the card with SaveCard and finishes the setup here.

// ErrSetupNotFound: no card setup has that id or checkout session.
var ErrSetupNotFound = errors.New("card setup not found")

// NewSetupID makes a card setup id, the business id the checkout's
// Idempotency-Key and the SaveCard workflow id derive from.
func NewSetupID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "cset_" + hex.EncodeToString(b)
}

// CreateSetup stores a pending card setup for the account's owner userID.
func (s *Service) CreateSetup(ctx context.Context, accountID, userID int64) (models.CardSetup, error) {
	now := time.Now().UTC()
	cs := models.CardSetup{ID: NewSetupID(), AccountID: accountID, UserID: userID, Status: models.CardSetupPending, CreatedAt: now, UpdatedAt: now}
	if err := s.db.WithContext(ctx).Create(&cs).Error; err != nil {
		return models.CardSetup{}, fmt.Errorf("autotopup: create card setup: %w", err)
	}
	return cs, nil
}

// Setup returns a card setup. Errors: ErrSetupNotFound.
func (s *Service) Setup(ctx context.Context, id string) (models.CardSetup, error) {
	return s.takeSetup(ctx, "id = ?", id)
}

// SetupBySession returns the card setup of a checkout session.
// Errors: ErrSetupNotFound.
func (s *Service) SetupBySession(ctx context.Context, sessionID string) (models.CardSetup, error) {
	if sessionID == "" {
		return models.CardSetup{}, ErrSetupNotFound
	}
	return s.takeSetup(ctx, "checkout_session_id = ?", sessionID)
}

func (s *Service) takeSetup(ctx context.Context, where string, arg string) (models.CardSetup, error) {
	var cs models.CardSetup
	err := s.db.WithContext(ctx).Where(where, arg).Take(&cs).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return cs, ErrSetupNotFound
	}
	if err != nil {
		return cs, fmt.Errorf("autotopup: load card setup: %w", err)
	}
	return cs, nil
}

// RecordSetupCheckout stores the checkout session a setup goes through.
// Errors: ErrSetupNotFound.
func (s *Service) RecordSetupCheckout(ctx context.Context, id, sessionID, url string, expiresAt time.Time) error {
	exp := expiresAt.UTC()
	return s.updateSetup(ctx, s.db.WithContext(ctx).Where("id = ?", id),
		map[string]any{"checkout_session_id": sessionID, "checkout_url": url, "expires_at": &exp})
}

// FinishSetup moves a pending setup to its final state; a setup already
// final is left as it is, so a retried activity changes nothing. brand,
// last4 and setupIntentID describe the card of a saved setup.
func (s *Service) FinishSetup(ctx context.Context, id string, status models.CardSetupStatus, setupIntentID, brand, last4 string) error {
	if status == models.CardSetupPending {
		return fmt.Errorf("autotopup: finish card setup %s: pending is not final", id)
	}
	// A setup is final once, except that a checkout Stripe completed as our
	// timer expired it is saved after all: the card is the owner's.
	from := []models.CardSetupStatus{models.CardSetupPending}
	if status == models.CardSetupSaved {
		from = append(from, models.CardSetupExpired)
	}
	err := s.updateSetup(ctx, s.db.WithContext(ctx).Where("id = ? AND status IN ?", id, from),
		map[string]any{"status": status, "setup_intent_id": setupIntentID, "card_brand": brand, "card_last4": last4})
	if errors.Is(err, ErrSetupNotFound) {
		if _, err := s.Setup(ctx, id); err != nil {
			return err
		}
		return nil
	}
	return err
}

func (s *Service) updateSetup(ctx context.Context, q *gorm.DB, cols map[string]any) error {
	cols["updated_at"] = time.Now().UTC()
	res := q.Model(&models.CardSetup{}).Updates(cols)
	if res.Error != nil {
		return fmt.Errorf("autotopup: update card setup: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrSetupNotFound
	}
	return nil
}
