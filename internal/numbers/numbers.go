// Package numbers is the company-number domain: searching and reserving
// a number (after a balance pre-check), assigning seats to numbers, the
// caller ID a company user calls with, and the per-period fee, refund,
// suspension and release its MonthlyNumberFee workflow orders. Money moves
// only through internal/ledger; Twilio only through the NumberProvider the
// workflow's activities hold (the API only searches).
package numbers

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/models"
)

// Errors. Each maps to one HTTP status in api/errors.go.
var (
	// ErrNotFound: no such number (for this company).
	ErrNotFound = errors.New("no such company number")
	// ErrTaken: the number is already rented (by this or another company).
	ErrTaken = errors.New("that number is already in use")
	// ErrNoCompanyNumber: a company user has no active number to call with.
	ErrNoCompanyNumber = errors.New("no company number is assigned to you")
	// ErrSuspended: the user's company number is suspended.
	ErrSuspended = errors.New("your company number is suspended")
	// ErrNotAssignable: only an active number can be given to seats.
	ErrNotAssignable = errors.New("only an active number can be assigned")
	// ErrInvalid: bad search or purchase input; the *InputError names it.
	ErrInvalid = errors.New("invalid number request")
)

// InputError names the bad field.
type InputError struct{ Field, Reason string }

func (e *InputError) Error() string { return e.Field + " " + e.Reason }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InputError) Is(target error) bool { return target == ErrInvalid }

// NoNumberError says what the company admin must do.
type NoNumberError struct{ Admin bool }

func (e *NoNumberError) Error() string {
	if e.Admin {
		return "company calls go out with a company number: buy one on /company/numbers and assign it to yourself and your seats"
	}
	return "company calls go out with a company number and none is assigned to you: ask your company admin to assign one on /company/numbers"
}

// Is makes errors.Is(err, ErrNoCompanyNumber) true.
func (e *NoNumberError) Is(target error) bool { return target == ErrNoCompanyNumber }

// SuspendedError names the suspended number.
type SuspendedError struct {
	E164        string
	GraceEndsAt *time.Time
}

func (e *SuspendedError) Error() string {
	msg := fmt.Sprintf("your company number %s is suspended because its monthly fee could not be paid; a top-up of the company balance restores it at once", e.E164)
	if e.GraceEndsAt != nil {
		msg += fmt.Sprintf(" (it is released on %s otherwise)", e.GraceEndsAt.UTC().Format("2 Jan 2006"))
	}
	return msg
}

// Is makes errors.Is(err, ErrSuspended) true.
func (e *SuspendedError) Is(target error) bool { return target == ErrSuspended }

// Policy is a deployment's number rules.
type Policy struct {
	// FeeCents is the monthly fee of a number (NUMBER_MONTHLY_FEE_CENTS).
	FeeCents int64
	// GraceDays is how long a suspended number is kept (NUMBER_GRACE_DAYS).
	GraceDays int
}

// PolicyFrom is a deployment's number rules.
func PolicyFrom(cfg config.Config) Policy {
	return Policy{FeeCents: cfg.NumberMonthlyFeeCents, GraceDays: cfg.NumberGraceDays}
}

// Service is the numbers domain.
type Service struct {
	db     *gorm.DB
	ledger *ledger.Service
	shop   providers.NumberProvider
	policy Policy
	now    func() time.Time
}

// New returns the numbers service; shop answers searches (nil: searching
// fails).
func New(db *gorm.DB, led *ledger.Service, shop providers.NumberProvider, p Policy) *Service {
	return &Service{db: db, ledger: led, shop: shop, policy: p, now: func() time.Time { return time.Now().UTC() }}
}

// WithShop returns a copy that searches through shop.
func (s *Service) WithShop(shop providers.NumberProvider) *Service {
	c := *s
	c.shop = shop
	return &c
}

// WithClock returns a copy whose clock is now (tests).
func (s *Service) WithClock(now func() time.Time) *Service {
	c := *s
	c.now = now
	return &c
}

// Policy is the service's rules (the page shows the fee).
func (s *Service) Policy() Policy { return s.policy }

func (s *Service) companyOf(ctx context.Context, admin models.User) (models.Account, error) {
	acct, err := s.ledger.Account(ctx, admin.AccountID)
	if err != nil {
		return acct, err
	}
	if acct.Kind != models.AccountCompany || admin.Role != models.RoleOwner {
		return acct, identity.ErrNotCompanyAdmin
	}
	return acct, nil
}

var areaCodeRE = regexp.MustCompile(`^[0-9]{1,6}$`)

// Search lists numbers for sale in country, near areaCode. Errors:
// identity.ErrNotCompanyAdmin, *InputError.
func (s *Service) Search(ctx context.Context, admin models.User, country, areaCode string) ([]providers.AvailableNumber, error) {
	if _, err := s.companyOf(ctx, admin); err != nil {
		return nil, err
	}
	country = strings.ToUpper(strings.TrimSpace(country))
	if phonenumbers.GetCountryCodeForRegion(country) == 0 {
		return nil, &InputError{Field: "country", Reason: fmt.Sprintf("must be an ISO country code such as US or GB, got %q", country)}
	}
	areaCode = strings.TrimSpace(areaCode)
	if areaCode != "" && !areaCodeRE.MatchString(areaCode) {
		return nil, &InputError{Field: "area_code", Reason: fmt.Sprintf("must be 1 to 6 digits, got %q", areaCode)}
	}
	if s.shop == nil {
		return nil, errors.New("numbers: no number provider configured")
	}
	return s.shop.SearchNumbers(ctx, country, areaCode)
}

// FundsError is the pre-check's refusal: the balance does not cover the
// first month.
type FundsError struct{ FeeCents, AvailableCents int64 }

func (e *FundsError) Error() string {
	return fmt.Sprintf("a number costs %s a month, charged before it is bought, and the company balance has %s available, so top up first",
		money.Format(e.FeeCents), money.Format(e.AvailableCents))
}

// Is makes errors.Is(err, ledger.ErrInsufficientFunds) true.
func (e *FundsError) Is(target error) bool { return target == ledger.ErrInsufficientFunds }

// Reserve checks that the company can pay the first month and records the
// number as being bought; its MonthlyNumberFee workflow then charges and
// buys it. Nothing is asked of Twilio here. Errors: ErrNotCompanyAdmin,
// *InputError, *FundsError, ledger.ErrAccountDisabled, ErrTaken.
func (s *Service) Reserve(ctx context.Context, admin models.User, input string) (models.PhoneNumber, error) {
	acct, err := s.companyOf(ctx, admin)
	if err != nil {
		return models.PhoneNumber{}, err
	}
	n, err := phonenumbers.Parse(strings.TrimSpace(input), "")
	if err != nil || !strings.HasPrefix(strings.TrimSpace(input), "+") || !phonenumbers.IsValidNumber(n) {
		return models.PhoneNumber{}, &InputError{Field: "number", Reason: fmt.Sprintf("must be a number from the search, in E.164 such as +14155550150, got %q", input)}
	}
	if acct.Status != models.StatusActive {
		return models.PhoneNumber{}, fmt.Errorf("%w: account %d", ledger.ErrAccountDisabled, acct.ID)
	}
	if acct.AvailableCents() < s.policy.FeeCents {
		return models.PhoneNumber{}, &FundsError{FeeCents: s.policy.FeeCents, AvailableCents: acct.AvailableCents()}
	}
	now := s.now()
	pn := models.PhoneNumber{AccountID: acct.ID, E164: phonenumbers.Format(n, phonenumbers.E164), Country: phonenumbers.GetRegionCodeForNumber(n),
		State: models.NumberPurchasing, MonthlyFeeCents: s.policy.FeeCents, BoughtBy: admin.ID, CreatedAt: now, UpdatedAt: now}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var live int64
		if err := tx.Model(&models.PhoneNumber{}).Where("e164 = ? AND state IN ?", pn.E164,
			[]models.NumberState{models.NumberPurchasing, models.NumberActive, models.NumberSuspended}).Count(&live).Error; err != nil {
			return err
		}
		if live > 0 {
			return fmt.Errorf("%w: %s", ErrTaken, pn.E164)
		}
		if err := tx.Create(&pn).Error; err != nil {
			// The partial unique index: another purchase got there first.
			return fmt.Errorf("%w: %s (%v)", ErrTaken, pn.E164, err)
		}
		return tx.Create(&models.AuditLog{Actor: identity.CompanyAdminActor(admin).Name, Action: "number.buy",
			Target: fmt.Sprintf("number:%d", pn.ID), Details: pn.E164, CreatedAt: now}).Error
	})
	return pn, err
}

// Get returns a number. Errors: ErrNotFound.
func (s *Service) Get(ctx context.Context, id int64) (models.PhoneNumber, error) {
	var pn models.PhoneNumber
	err := s.db.WithContext(ctx).Take(&pn, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return pn, fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	return pn, err
}

// List is an account's numbers, newest first, released ones included.
func (s *Service) List(ctx context.Context, accountID int64) ([]models.PhoneNumber, error) {
	var out []models.PhoneNumber
	err := s.db.WithContext(ctx).Where("account_id = ?", accountID).Order("id DESC").Find(&out).Error
	return out, err
}

// AdminNumber is a number with its company, for operators.
type AdminNumber struct {
	models.PhoneNumber
	Company string
	Seats   int64
}

// All lists every number, newest first (operators' /admin/numbers).
func (s *Service) All(ctx context.Context) ([]AdminNumber, error) {
	var out []AdminNumber
	err := s.db.WithContext(ctx).Table("phone_numbers p").
		Select("p.*, a.name AS company, (SELECT COUNT(*) FROM users u WHERE u.phone_number_id = p.id) AS seats").
		Joins("JOIN accounts a ON a.id = p.account_id").Order("p.id DESC").Limit(500).Scan(&out).Error
	return out, err
}

// Assign gives a user of the admin's company a number to call with (nil:
// none). Errors: ErrNotCompanyAdmin, identity.ErrNotFound (no such user in
// the company), ErrNotFound, ErrNotAssignable.
func (s *Service) Assign(ctx context.Context, admin models.User, userID int64, numberID *int64) error {
	acct, err := s.companyOf(ctx, admin)
	if err != nil {
		return err
	}
	var u models.User
	if err := s.db.WithContext(ctx).Where("id = ? AND account_id = ?", userID, acct.ID).Take(&u).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("%w: user %d", identity.ErrNotFound, userID)
		}
		return err
	}
	details := "none"
	if numberID != nil {
		pn, err := s.Get(ctx, *numberID)
		if err != nil || pn.AccountID != acct.ID {
			return fmt.Errorf("%w: %d", ErrNotFound, *numberID)
		}
		if pn.State != models.NumberActive {
			return fmt.Errorf("%w: %s is %s", ErrNotAssignable, pn.E164, pn.State)
		}
		details = pn.E164
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&models.User{}).Where("id = ?", u.ID).Updates(map[string]any{"phone_number_id": numberID, "updated_at": s.now()}).Error; err != nil {
			return err
		}
		return tx.Create(&models.AuditLog{Actor: identity.CompanyAdminActor(admin).Name, Action: "number.assign",
			Target: fmt.Sprintf("user:%d", u.ID), Details: details, CreatedAt: s.now()}).Error
	})
}

// CallerIDFor is the number a company user's calls go out with. Errors:
// *NoNumberError (none assigned, or it was released), *SuspendedError.
func (s *Service) CallerIDFor(ctx context.Context, userID int64) (string, error) {
	var u models.User
	if err := s.db.WithContext(ctx).Select("id", "role", "phone_number_id").Take(&u, userID).Error; err != nil {
		return "", fmt.Errorf("numbers: load user %d: %w", userID, err)
	}
	noNumber := &NoNumberError{Admin: u.Role == models.RoleOwner}
	if u.PhoneNumberID == nil {
		return "", noNumber
	}
	pn, err := s.Get(ctx, *u.PhoneNumberID)
	if errors.Is(err, ErrNotFound) {
		return "", noNumber
	}
	if err != nil {
		return "", err
	}
	switch pn.State {
	case models.NumberActive:
		return pn.E164, nil
	case models.NumberSuspended:
		return "", &SuspendedError{E164: pn.E164, GraceEndsAt: pn.GraceEndsAt}
	}
	return "", noNumber
}

// ByE164 finds the live (or last) row of a number, for inbound calls.
func (s *Service) ByE164(ctx context.Context, e164 string) (models.PhoneNumber, bool, error) {
	var pn models.PhoneNumber
	err := s.db.WithContext(ctx).Where("e164 = ?", e164).Order("id DESC").Take(&pn).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return pn, false, nil
	}
	return pn, err == nil, err
}

// Suspended lists an account's suspended numbers (a credit heals them).
func (s *Service) Suspended(ctx context.Context, accountID int64) ([]models.PhoneNumber, error) {
	var out []models.PhoneNumber
	err := s.db.WithContext(ctx).Where("account_id = ? AND state = ?", accountID, models.NumberSuspended).Find(&out).Error
	return out, err
}

// SeatsOf lists the users calling with a number.
func (s *Service) SeatsOf(ctx context.Context, numberID int64) ([]models.User, error) {
	var out []models.User
	err := s.db.WithContext(ctx).Where("phone_number_id = ?", numberID).Order("id").Find(&out).Error
	return out, err
}

// ---- the MonthlyNumberFee workflow's steps ----

// FeeKey is the idempotency key of a number's fee for the period starting
// at start: one fee per number and period, whoever retries.
func FeeKey(numberID int64, start time.Time) string {
	return fmt.Sprintf("number-fee:%d:%s", numberID, start.UTC().Format("2006-01-02"))
}

// RefundKey is the key of the refund of that fee.
func RefundKey(numberID int64, start time.Time) string { return "refund:" + FeeKey(numberID, start) }

func numberRef(id int64) string { return fmt.Sprintf("number:%d", id) }

// ChargeFee charges the number's fee for the period starting at start,
// once. Errors: ledger.ErrInsufficientFunds, ledger.ErrAccountDisabled.
func (s *Service) ChargeFee(ctx context.Context, numberID int64, start time.Time) (ledger.Result, error) {
	pn, err := s.Get(ctx, numberID)
	if err != nil {
		return ledger.Result{}, err
	}
	return s.ledger.Post(ctx, ledger.Posting{AccountID: pn.AccountID, Kind: models.EntryNumberFee, AmountCents: -pn.MonthlyFeeCents,
		IdempotencyKey: FeeKey(pn.ID, start), Actor: "system:number-fee", NumberRef: numberRef(pn.ID),
		Description: fmt.Sprintf("Number %s, month from %s", pn.E164, start.UTC().Format("2 Jan 2006"))})
}

// RefundFee gives back the fee of the period starting at start (the
// purchase failed after it was charged), once; a fee never charged is not
// refunded.
func (s *Service) RefundFee(ctx context.Context, numberID int64, start time.Time) error {
	pn, err := s.Get(ctx, numberID)
	if err != nil {
		return err
	}
	var charged int64
	if err := s.db.WithContext(ctx).Model(&models.LedgerEntry{}).Where("idempotency_key = ?", FeeKey(pn.ID, start)).Count(&charged).Error; err != nil {
		return err
	}
	if charged == 0 {
		return nil
	}
	_, err = s.ledger.Post(ctx, ledger.Posting{AccountID: pn.AccountID, Kind: models.EntryRefund, AmountCents: pn.MonthlyFeeCents,
		IdempotencyKey: RefundKey(pn.ID, start), Actor: "system:number-fee", NumberRef: numberRef(pn.ID),
		Description: fmt.Sprintf("Refund: number %s could not be bought", pn.E164)})
	return err
}

// Progress is a number's state as its workflow decided it.
type Progress struct {
	NumberID     int64
	State        models.NumberState
	TwilioSID    string
	AnchorAt     *time.Time
	PaidThrough  *time.Time
	NextChargeAt *time.Time
	GraceEndsAt  *time.Time
	LastError    string
}

// Record writes a number's state. Leaving suspension clears its dates;
// release unassigns its seats in the same transaction.
func (s *Service) Record(ctx context.Context, p Progress) error {
	now := s.now()
	cols := map[string]any{"state": p.State, "last_error": p.LastError, "updated_at": now}
	if p.TwilioSID != "" {
		cols["twilio_sid"] = p.TwilioSID
	}
	for col, t := range map[string]*time.Time{"anchor_at": p.AnchorAt, "paid_through": p.PaidThrough, "next_charge_at": p.NextChargeAt} {
		if t != nil {
			cols[col] = t.UTC()
		}
	}
	switch p.State {
	case models.NumberSuspended:
		cols["grace_ends_at"] = p.GraceEndsAt
	case models.NumberActive:
		cols["suspended_at"], cols["grace_ends_at"] = nil, nil
	case models.NumberReleased:
		cols["released_at"], cols["next_charge_at"] = now, nil
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if p.State == models.NumberSuspended {
			if err := tx.Model(&models.PhoneNumber{}).Where("id = ? AND suspended_at IS NULL", p.NumberID).Update("suspended_at", now).Error; err != nil {
				return err
			}
		}
		if err := tx.Model(&models.PhoneNumber{}).Where("id = ?", p.NumberID).Updates(cols).Error; err != nil {
			return fmt.Errorf("numbers: record %d: %w", p.NumberID, err)
		}
		if p.State == models.NumberReleased || p.State == models.NumberFailed {
			return tx.Model(&models.User{}).Where("phone_number_id = ?", p.NumberID).Update("phone_number_id", nil).Error
		}
		return nil
	})
}

// AdminEmail is the address of the company admin (the account's owner).
func (s *Service) AdminEmail(ctx context.Context, accountID int64) (string, error) {
	var u models.User
	err := s.db.WithContext(ctx).Where("account_id = ? AND role = ?", accountID, models.RoleOwner).Order("id").Take(&u).Error
	return u.Email, err
}
