// Package autotopup keeps each account's auto top-up settings and saved
// card, records charge attempts, credits successful ones through the ledger,
// and triggers the AutoTopUp workflow after debits.
package autotopup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/models"
)

// Errors returned by the service; api maps them to HTTP statuses.
var (
	// ErrInvalid: a setting is out of range. Wrapped by *ValidationError.
	ErrInvalid = errors.New("invalid auto top-up settings")
	// ErrNoCard: enabling needs a saved card.
	ErrNoCard = errors.New("auto top-up needs a saved card")
	// ErrUnknownTestCard: in sandbox mode only Stripe's test payment methods exist.
	ErrUnknownTestCard = errors.New("not a sandbox test payment method")
)

// ValidationError names the wrong field; it matches ErrInvalid.
type ValidationError struct{ Field, Problem string }

func (e *ValidationError) Error() string { return e.Field + " " + e.Problem }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Limits on what an owner may set.
const (
	MinAmountCents    int64 = 500
	MaxAmountCents    int64 = 50000
	MaxThresholdCents int64 = 50000
	MaxDailyCount           = 10
)

// Service reads and writes auto top-up settings and attempts.
type Service struct {
	db     *gorm.DB
	ledger *ledger.Service
}

// New returns the service over db, crediting through led.
func New(db *gorm.DB, led *ledger.Service) *Service { return &Service{db: db, ledger: led} }

// Defaults are the suggested settings for an account of kind k.
func Defaults(accountID int64, k models.AccountKind) models.AutoTopUpSettings {
	amount := models.AutoTopUpAmountIndividualCents
	if k == models.AccountCompany {
		amount = models.AutoTopUpAmountCompanyCents
	}
	return models.AutoTopUpSettings{AccountID: accountID, ThresholdCents: models.AutoTopUpThresholdCents, AmountCents: amount,
		DailyMaxCount: models.AutoTopUpDailyMaxCount, DailyMaxCents: amount * models.AutoTopUpDailyMaxMultipleOfAmount}
}

// Settings returns the account's settings, or the suggested defaults (not
// enabled, no card) when it has none. Errors: ledger.ErrAccountNotFound.
func (s *Service) Settings(ctx context.Context, accountID int64) (models.AutoTopUpSettings, error) {
	var st models.AutoTopUpSettings
	err := s.db.WithContext(ctx).Where("account_id = ?", accountID).Take(&st).Error
	if err == nil {
		return st, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return st, fmt.Errorf("autotopup: load settings: %w", err)
	}
	acct, err := s.ledger.Account(ctx, accountID)
	if err != nil {
		return st, err
	}
	return Defaults(accountID, acct.Kind), nil
}

// Account returns the wallet, for its balance.
func (s *Service) Account(ctx context.Context, accountID int64) (models.Account, error) {
	return s.ledger.Account(ctx, accountID)
}

// Update is what an owner may change.
type Update struct {
	Enabled        bool
	ThresholdCents int64
	AmountCents    int64
	DailyMaxCount  int
	DailyMaxCents  int64
}

// Save validates and stores u. Errors: ErrInvalid, ErrNoCard.
func (s *Service) Save(ctx context.Context, accountID int64, u Update) (models.AutoTopUpSettings, error) {
	switch {
	case u.ThresholdCents < 0 || u.ThresholdCents > MaxThresholdCents:
		return models.AutoTopUpSettings{}, &ValidationError{"threshold_cents", fmt.Sprintf("must be between 0 and %d", MaxThresholdCents)}
	case u.AmountCents < MinAmountCents || u.AmountCents > MaxAmountCents:
		return models.AutoTopUpSettings{}, &ValidationError{"amount_cents", fmt.Sprintf("must be between %d and %d", MinAmountCents, MaxAmountCents)}
	case u.DailyMaxCount < 1 || u.DailyMaxCount > MaxDailyCount:
		return models.AutoTopUpSettings{}, &ValidationError{"daily_max_count", fmt.Sprintf("must be between 1 and %d", MaxDailyCount)}
	case u.DailyMaxCents < u.AmountCents || u.DailyMaxCents > MaxAmountCents*int64(MaxDailyCount):
		return models.AutoTopUpSettings{}, &ValidationError{"daily_max_cents", "must be at least the amount and at most 10 times the maximum amount"}
	}
	st, err := s.Settings(ctx, accountID)
	if err != nil {
		return st, err
	}
	if u.Enabled && !st.HasCard() {
		return st, ErrNoCard
	}
	st.Enabled, st.ThresholdCents, st.AmountCents, st.DailyMaxCount, st.DailyMaxCents = u.Enabled, u.ThresholdCents, u.AmountCents, u.DailyMaxCount, u.DailyMaxCents
	return st, s.upsert(ctx, st)
}

// Card is a saved payment method as we show it.
type Card struct {
	CustomerID      string
	PaymentMethodID string
	Brand           string
	Last4           string
}

// SandboxCard describes one of Stripe's test payment methods, which the
// sandbox lets an owner save instead of going through Checkout.
func SandboxCard(pm string) (Card, error) {
	c, ok := providers.SandboxTestCard(pm)
	if !ok {
		return Card{}, fmt.Errorf("%w: %q", ErrUnknownTestCard, pm)
	}
	return Card{PaymentMethodID: c.PaymentMethodID, Brand: c.Brand, Last4: c.Last4}, nil
}

// SaveCard stores the account's card for off-session charges.
func (s *Service) SaveCard(ctx context.Context, accountID int64, c Card) (models.AutoTopUpSettings, error) {
	st, err := s.Settings(ctx, accountID)
	if err != nil {
		return st, err
	}
	if c.CustomerID != "" {
		st.CustomerID = c.CustomerID
	}
	st.PaymentMethodID, st.CardBrand, st.CardLast4 = c.PaymentMethodID, c.Brand, c.Last4
	return st, s.upsert(ctx, st)
}

// SaveTopUpCard keeps the card a payer chose to save while topping up as the
// account's auto top-up card (the TopUp workflow's credit activity calls it).
// Enabling auto top-up stays the owner's explicit choice.
func (s *Service) SaveTopUpCard(ctx context.Context, accountID int64, customerID, paymentMethodID, brand, last4 string) error {
	_, err := s.SaveCard(ctx, accountID, Card{CustomerID: customerID, PaymentMethodID: paymentMethodID, Brand: brand, Last4: last4})
	return err
}

// RemoveCard forgets the card and so turns auto top-up off.
func (s *Service) RemoveCard(ctx context.Context, accountID int64) (models.AutoTopUpSettings, error) {
	st, err := s.Settings(ctx, accountID)
	if err != nil {
		return st, err
	}
	st.Enabled, st.PaymentMethodID, st.CardBrand, st.CardLast4 = false, "", "", ""
	return st, s.upsert(ctx, st)
}

func (s *Service) upsert(ctx context.Context, st models.AutoTopUpSettings) error {
	now := time.Now().UTC()
	st.UpdatedAt = now
	if st.CreatedAt.IsZero() {
		st.CreatedAt = now
	}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns: []clause.Column{{Name: "account_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"enabled", "threshold_cents", "amount_cents", "daily_max_count", "daily_max_cents",
			"customer_id", "payment_method_id", "card_brand", "card_last4", "updated_at"}),
	}).Create(&st).Error
	if err != nil {
		return fmt.Errorf("autotopup: save settings: %w", err)
	}
	return nil
}

// OwnerEmail is where auto top-up notices go: the account's active owner.
func (s *Service) OwnerEmail(ctx context.Context, accountID int64) (string, error) {
	var u models.User
	err := s.db.WithContext(ctx).Where("account_id = ? AND role = ? AND status = ?", accountID, models.RoleOwner, models.StatusActive).
		Order("id").Take(&u).Error
	if err != nil {
		return "", fmt.Errorf("autotopup: owner of account %d: %w", accountID, err)
	}
	return u.Email, nil
}

// StartAttempt records a charge attempt; a retried activity finds its row.
func (s *Service) StartAttempt(ctx context.Context, a models.AutoTopUpAttempt) error {
	now := time.Now().UTC()
	a.CreatedAt, a.UpdatedAt = now, now
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "attempt_id"}}, DoNothing: true}).Create(&a).Error
	if err != nil {
		return fmt.Errorf("autotopup: record attempt %s: %w", a.AttemptID, err)
	}
	return nil
}

// FinishAttempt records how an attempt ended.
func (s *Service) FinishAttempt(ctx context.Context, attemptID string, st models.AutoTopUpAttemptStatus, declineCode, message, pi string) error {
	err := s.db.WithContext(ctx).Model(&models.AutoTopUpAttempt{}).Where("attempt_id = ?", attemptID).
		Updates(map[string]any{"status": st, "decline_code": declineCode, "message": message, "payment_intent_id": pi, "updated_at": time.Now().UTC()}).Error
	if err != nil {
		return fmt.Errorf("autotopup: finish attempt %s: %w", attemptID, err)
	}
	return nil
}

// Attempts lists an account's latest attempts, newest first.
func (s *Service) Attempts(ctx context.Context, accountID int64, limit int) ([]models.AutoTopUpAttempt, error) {
	var as []models.AutoTopUpAttempt
	err := s.db.WithContext(ctx).Where("account_id = ?", accountID).Order("id DESC").Limit(limit).Find(&as).Error
	return as, err
}

// spentStatuses are the attempts that count against the daily cap: paid,
// or charged with the outcome not known yet (the money may have been
// taken).
var spentStatuses = []models.AutoTopUpAttemptStatus{models.AttemptSucceeded, models.AttemptCharging}

// SpentSince counts the account's auto top-up charges made since since, and
// their amount: the daily cap's count, which outlives any one workflow run.
func (s *Service) SpentSince(ctx context.Context, accountID int64, since time.Time) (count int, cents int64, err error) {
	var row struct {
		N     int64
		Cents int64
	}
	err = s.db.WithContext(ctx).Model(&models.AutoTopUpAttempt{}).Select("COUNT(*) AS n, COALESCE(SUM(amount_cents), 0) AS cents").
		Where("account_id = ? AND created_at >= ? AND status IN ?", accountID, since.UTC(), spentStatuses).Scan(&row).Error
	if err != nil {
		return 0, 0, fmt.Errorf("autotopup: count today's charges of account %d: %w", accountID, err)
	}
	return int(row.N), row.Cents, nil
}

// ChargingAttempts are the account's attempts still "charging": sent to
// the provider (or about to be) with the outcome never recorded, oldest
// first.
func (s *Service) ChargingAttempts(ctx context.Context, accountID int64) ([]models.AutoTopUpAttempt, error) {
	var as []models.AutoTopUpAttempt
	err := s.db.WithContext(ctx).Where("account_id = ? AND status = ?", accountID, models.AttemptCharging).Order("id").Find(&as).Error
	if err != nil {
		return nil, fmt.Errorf("autotopup: attempts of account %d still charging: %w", accountID, err)
	}
	return as, nil
}

// CreditKey is the ledger idempotency key of an auto top-up: one credit per
// PaymentIntent, whatever retries happen.
func CreditKey(paymentIntentID string) string { return "auto_topup:" + paymentIntentID }

// Credit posts one auto_topup entry for a succeeded PaymentIntent and
// returns the balance after it. A replay posts nothing.
func (s *Service) Credit(ctx context.Context, accountID, amountCents int64, pi, attemptID string) (int64, error) {
	if pi == "" {
		return 0, &ValidationError{"payment_intent_id", "must not be empty"}
	}
	res, err := s.ledger.Post(ctx, ledger.Posting{AccountID: accountID, Kind: models.EntryAutoTopUp, AmountCents: amountCents, Collected: true,
		IdempotencyKey: CreditKey(pi), Actor: "system:auto_topup", TopUpRef: attemptID, Description: "Auto top-up " + pi})
	if err != nil {
		return 0, err
	}
	return res.BalanceAfter(), nil
}

// Workflows is what auto top-up needs of its workflow's client
// (workflows.Client): this package decides, the client signals.
type Workflows interface {
	SignalAutoTopUpDebit(ctx context.Context, accountID int64) error
	RetryAutoTopUp(ctx context.Context, accountID int64) error
}

// AfterDebit is the hook every debit calls with its ledger result (admin
// adjustments today; call charges and number fees call it the same way):
// when auto top-up is on and the debit left the balance below the
// threshold, it signals the account's AutoTopUp workflow (starting it if
// need be). It reports whether it did.
func (s *Service) AfterDebit(ctx context.Context, wf Workflows, res ledger.Result) (bool, error) {
	st, err := s.Settings(ctx, res.Entry.AccountID)
	if err != nil {
		return false, err
	}
	if !st.Enabled || !res.LeftBelow(st.ThresholdCents) {
		return false, nil
	}
	if err := wf.SignalAutoTopUpDebit(ctx, res.Entry.AccountID); err != nil {
		return true, fmt.Errorf("autotopup: trigger account %d: %w", res.Entry.AccountID, err)
	}
	return true, nil
}

// Retry sends an operator's retry to the account's AutoTopUp workflow and
// audits it in the same breath. Errors: the client's (workflows.ErrNotRunning
// when no auto top-up waits).
func (s *Service) Retry(ctx context.Context, wf Workflows, actor string, accountID int64) error {
	if err := wf.RetryAutoTopUp(ctx, accountID); err != nil {
		return fmt.Errorf("autotopup: retry account %d: %w", accountID, err)
	}
	a := models.AuditLog{Actor: actor, Action: "autotopup.retry", Target: fmt.Sprintf("account:%d", accountID),
		Details: "retry signalled to the account's AutoTopUp workflow", CreatedAt: time.Now().UTC()}
	if err := s.db.WithContext(ctx).Create(&a).Error; err != nil {
		return fmt.Errorf("autotopup: audit retry of account %d: %w", accountID, err)
	}
	return nil
}
