// Package calls is the calling domain: who may call what at which price
// (Plan), the call's record and its hold (Open), Twilio's claim and status
// callbacks (Claim, RecordStatus), the one settlement (Settle), and the
// call history. Money moves only through internal/ledger; the Call
// workflow orders these steps.
package calls

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/mobayilo/mobayilo/internal/callerid"
	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/numbers"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/models"
)

// Errors. Each maps to one HTTP status in api/errors.go.
var (
	// ErrDestinationBlocked: calls to the destination's country are not
	// allowed (BLOCKED_COUNTRIES).
	ErrDestinationBlocked = errors.New("calls to this destination are not allowed")
	// ErrNoRate: no rate covers the destination.
	ErrNoRate = errors.New("no rate covers this destination")
	// ErrSeatCapReached: the seat's daily spend cap leaves less than a
	// minute of this call.
	ErrSeatCapReached = errors.New("the seat's daily spend cap is reached")
	// ErrCallNotFound: no call has that id (for this account).
	ErrCallNotFound = errors.New("call not found")
	// ErrClaimRefused: the voice webhook may not connect the call; the
	// *ClaimError says why.
	ErrClaimRefused = errors.New("the call cannot be connected")
)

// BlockedError names the blocked destination.
type BlockedError struct{ Country, E164 string }

func (e *BlockedError) Error() string {
	return fmt.Sprintf("calls to %s (%s) are not allowed", e.E164, e.Country)
}

// Is makes errors.Is(err, ErrDestinationBlocked) true.
func (e *BlockedError) Is(target error) bool { return target == ErrDestinationBlocked }

// SeatCapError names the cap and what is left of it today.
type SeatCapError struct{ CapCents, SpentCents, PricePerMinuteCents int64 }

func (e *SeatCapError) Error() string {
	return fmt.Sprintf("this seat's daily spend cap of %s is reached (%s spent today, a minute costs %s); ask your company admin to raise it",
		money.Format(e.CapCents), money.Format(e.SpentCents), money.Format(e.PricePerMinuteCents))
}

// Is makes errors.Is(err, ErrSeatCapReached) true.
func (e *SeatCapError) Is(target error) bool { return target == ErrSeatCapReached }

// ClaimReason says why a claim was refused; the voice webhook says it to
// the caller.
type ClaimReason string

// The reasons a claim is refused.
const (
	ClaimUnknown  ClaimReason = "unknown"
	ClaimExpired  ClaimReason = "expired"
	ClaimUsed     ClaimReason = "used"
	ClaimMismatch ClaimReason = "mismatch"
)

// ClaimError is a refused claim.
type ClaimError struct{ Reason ClaimReason }

func (e *ClaimError) Error() string { return "call claim refused: " + string(e.Reason) }

// Is makes errors.Is(err, ErrClaimRefused) true.
func (e *ClaimError) Is(target error) bool { return target == ErrClaimRefused }

// Policy is a deployment's calling rules, from its configuration.
type Policy struct {
	// Blocked are ISO country codes never called ("001": non-geographic).
	Blocked map[string]bool
	// MaxMinutes bounds one call (MAX_CALL_MINUTES).
	MaxMinutes int64
	// DialWindow is how long an authorised call may wait to be dialed.
	DialWindow time.Duration
	// DefaultCallerID is the caller ID when the caller has none of its own.
	DefaultCallerID string
}

// Service is the calling domain's store and rules.
type Service struct {
	db     *gorm.DB
	ledger *ledger.Service
	rates  *rates.Cache
	policy Policy
	// callerIDs holds individuals' verified caller IDs; numbers the
	// company numbers company users call with.
	callerIDs *callerid.Service
	numbers   *numbers.Service
	now       func() time.Time
}

// New returns the calling service.
func New(db *gorm.DB, led *ledger.Service, rc *rates.Cache, p Policy) *Service {
	return &Service{db: db, ledger: led, rates: rc, policy: p, callerIDs: callerid.New(db, led),
		numbers: numbers.New(db, led, nil, numbers.Policy{}), now: func() time.Time { return time.Now().UTC() }}
}

// WithClock returns a copy whose clock is now (tests).
func (s *Service) WithClock(now func() time.Time) *Service {
	c := *s
	c.now = now
	return &c
}

// Caller is who places a call: the signed-in user (or seat) and account.
type Caller struct {
	UserID    int64
	AccountID int64
	Seat      bool
	Company   bool
	// VerifiedCallerID is the caller's own verified number, if any (caller
	// ID verification fills it; empty until then).
	VerifiedCallerID string
}

// Identity is the Twilio client identity of a caller: stable, and naming
// no personal data.
func (c Caller) Identity() string { return fmt.Sprintf("user_%d", c.UserID) }

// Plan is a call the caller may place, before its hold: destination,
// price, caller ID.
type Plan struct {
	CallID              string
	Caller              Caller
	To                  rates.Number
	PricePerMinuteCents int64
	CallerID            string
	// MaxMinutes is what the available balance covers now, capped by the
	// policy; the hold fixes it.
	MaxMinutes int64
	// BridgeID and Leg are a bridge call's (PlanBridge); empty otherwise.
	BridgeID string
	Leg      models.CallLeg
	// DialWindow, when set, replaces the policy's: a bridge's destination
	// leg waits for the owner to answer first.
	DialWindow time.Duration
}

// NewCallID returns a fresh call id.
func NewCallID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "call_" + hex.EncodeToString(b)
}

// Plan decides whether caller may call input (read with country when it
// has no country code) and at what price, in the order the product sets:
// the number, the blocked countries, the rate, the caller ID (chosen here,
// never by the client; a company user's company number is mandatory), at
// least one minute of available balance, and the seat's daily cap. Errors: *rates.NumberError, *BlockedError,
// ErrNoRate, ledger.ErrInsufficientFunds, *SeatCapError,
// ledger.ErrAccountDisabled, *numbers.NoNumberError, *numbers.SuspendedError.
func (s *Service) Plan(ctx context.Context, c Caller, input, country string) (Plan, error) {
	n, err := rates.Normalize(input, country)
	if err != nil {
		return Plan{}, err
	}
	price, err := s.priceOf(ctx, c, n)
	if err != nil {
		return Plan{}, err
	}
	acct, err := s.activeAccount(ctx, c.AccountID)
	if err != nil {
		return Plan{}, err
	}
	// The caller ID before the money: a company user without a usable
	// number is told what to fix, whatever the balance.
	cid, err := s.callerID(ctx, c)
	if err != nil {
		return Plan{}, err
	}
	if acct.AvailableCents() < price {
		return Plan{}, fmt.Errorf("%w: %s available, a minute to %s costs %s", ledger.ErrInsufficientFunds,
			money.Format(acct.AvailableCents()), n.E164, money.Format(price))
	}
	maxMinutes := min(acct.AvailableCents()/price, s.policy.MaxMinutes)
	if c.Seat {
		left, err := s.seatCapLeft(ctx, c.UserID, price)
		if err != nil {
			return Plan{}, err
		}
		if left >= 0 {
			maxMinutes = min(maxMinutes, left/price)
		}
	}
	p := Plan{CallID: NewCallID(), Caller: c, To: n, PricePerMinuteCents: price, MaxMinutes: maxMinutes, CallerID: cid}
	return p, nil
}

// priceOf is what a minute to n costs c: refused when n's country is
// blocked or no rate covers it. Errors: *BlockedError, ErrNoRate.
func (s *Service) priceOf(ctx context.Context, c Caller, n rates.Number) (int64, error) {
	if s.policy.Blocked[n.Region] {
		return 0, &BlockedError{Country: n.Region, E164: n.E164}
	}
	t, err := s.rates.Table(ctx)
	if err != nil {
		return 0, err
	}
	r, ok := t.Lookup(n.E164)
	if !ok {
		return 0, fmt.Errorf("%w: %s", ErrNoRate, n.E164)
	}
	if s.policy.Blocked[r.ISO] {
		return 0, &BlockedError{Country: r.ISO, E164: n.E164}
	}
	audience := models.AudienceIndividual
	if c.Company {
		audience = models.AudienceCompany
	}
	return rates.PriceCents(r, audience), nil
}

// activeAccount is the caller's account, refused unless active. Errors:
// ledger.ErrAccountDisabled.
func (s *Service) activeAccount(ctx context.Context, accountID int64) (models.Account, error) {
	acct, err := s.ledger.Account(ctx, accountID)
	if err != nil {
		return acct, err
	}
	if acct.Status != models.StatusActive {
		return acct, fmt.Errorf("%w: account %d", ledger.ErrAccountDisabled, accountID)
	}
	return acct, nil
}

// callerID is chosen on the server: a company user's assigned company
// number (mandatory: none, or a suspended one, refuses the call), an
// individual's verified number (the one its CallerIDVerification
// recorded), else, for individuals only, the deployment's default.
func (s *Service) callerID(ctx context.Context, c Caller) (string, error) {
	if c.Seat || c.Company {
		return s.numbers.CallerIDFor(ctx, c.UserID)
	}
	if c.VerifiedCallerID != "" {
		return c.VerifiedCallerID, nil
	}
	v, err := s.callerIDs.Verified(ctx, c.AccountID)
	if err != nil {
		return "", err
	}
	if v != "" {
		return v, nil
	}
	return s.policy.DefaultCallerID, nil
}

// seatCapLeft is what the seat's daily cap leaves today, -1 when it has no
// cap. Errors: *SeatCapError when less than a minute is left.
func (s *Service) seatCapLeft(ctx context.Context, userID, price int64) (int64, error) {
	var u models.User
	if err := s.db.WithContext(ctx).Select("id", "daily_spend_cap_cents").Take(&u, userID).Error; err != nil {
		return 0, fmt.Errorf("calls: load seat %d: %w", userID, err)
	}
	if u.DailySpendCapCents == nil {
		return -1, nil
	}
	spent, err := s.SpentToday(ctx, userID)
	if err != nil {
		return 0, err
	}
	left := *u.DailySpendCapCents - spent
	if left < price {
		return 0, &SeatCapError{CapCents: *u.DailySpendCapCents, SpentCents: spent, PricePerMinuteCents: price}
	}
	return left, nil
}

// SpentToday is what the user's calls cost since midnight UTC: what was
// billed, plus what the holds of calls still open may cost.
func (s *Service) SpentToday(ctx context.Context, userID int64) (int64, error) {
	since := s.now().Truncate(24 * time.Hour)
	var row struct{ Billed, Held int64 }
	err := s.db.WithContext(ctx).Raw(`SELECT
			COALESCE(SUM(CASE WHEN c.cost_cents IS NOT NULL THEN c.cost_cents ELSE 0 END), 0) AS billed,
			COALESCE(SUM(CASE WHEN c.cost_cents IS NULL AND h.status = 'active' THEN h.amount_cents ELSE 0 END), 0) AS held
		FROM calls c LEFT JOIN holds h ON h.id = c.hold_id
		WHERE c.user_id = ? AND c.created_at >= ?`, userID, since).Scan(&row).Error
	if err != nil {
		return 0, fmt.Errorf("calls: spend today of user %d: %w", userID, err)
	}
	return row.Billed + row.Held, nil
}

// HoldKey is the idempotency key of a call's hold.
func HoldKey(callID string) string { return "hold:" + callID }

// ChargeKey is the idempotency key of a call's charge.
func ChargeKey(callID string) string { return "call:" + callID }

// Open places the call's hold, min(available, price × max minutes) in
// whole minutes, and stores the call as authorised; it runs once per call
// (the Call workflow's first step), and again returns the same call. The
// hold is the ledger's conditional update, so two calls cannot both hold
// the same money. Errors: ledger.ErrInsufficientFunds (less than a minute
// available now), ledger.ErrAccountDisabled.
func (s *Service) Open(ctx context.Context, p Plan) (models.Call, error) {
	if c, err := s.Get(ctx, p.CallID); err == nil {
		return c, nil
	}
	acct, err := s.ledger.Account(ctx, p.Caller.AccountID)
	if err != nil {
		return models.Call{}, err
	}
	minutes := min(acct.AvailableCents()/p.PricePerMinuteCents, p.MaxMinutes, s.policy.MaxMinutes)
	if minutes < 1 {
		return models.Call{}, fmt.Errorf("%w: a minute costs %s", ledger.ErrInsufficientFunds, money.Format(p.PricePerMinuteCents))
	}
	h, err := s.ledger.PlaceHold(ctx, ledger.HoldRequest{AccountID: p.Caller.AccountID, AmountCents: minutes * p.PricePerMinuteCents,
		IdempotencyKey: HoldKey(p.CallID), Reference: "call:" + p.CallID})
	if errors.Is(err, ledger.ErrInsufficientFunds) && minutes > 1 {
		// Another call took part of the balance since it was read: hold
		// what is left, in whole minutes (a replay of the key returns the
		// first hold, so this cannot hold twice).
		return s.Open(ctx, p)
	}
	if err != nil {
		return models.Call{}, err
	}
	now := s.now()
	holdID := h.ID
	window := s.policy.DialWindow
	if p.DialWindow > 0 {
		window = p.DialWindow
	}
	c := models.Call{ID: p.CallID, AccountID: p.Caller.AccountID, UserID: p.Caller.UserID, Seat: p.Caller.Seat,
		Identity: p.Caller.Identity(), ToE164: p.To.E164, ToNational: p.To.National, ToCountry: p.To.Region, CallerID: p.CallerID,
		PricePerMinuteCents: p.PricePerMinuteCents, MaxMinutes: h.AmountCents / p.PricePerMinuteCents, HoldID: &holdID,
		Status: models.CallAuthorized, BridgeID: p.BridgeID, Leg: p.Leg, ExpiresAt: now.Add(window), CreatedAt: now, UpdatedAt: now}
	if err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&c).Error; err != nil {
		return models.Call{}, fmt.Errorf("calls: store call %s: %w", p.CallID, err)
	}
	return s.Get(ctx, p.CallID)
}

// Get returns a call. Errors: ErrCallNotFound.
func (s *Service) Get(ctx context.Context, id string) (models.Call, error) {
	var c models.Call
	err := s.db.WithContext(ctx).Take(&c, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return c, fmt.Errorf("%w: %s", ErrCallNotFound, id)
	}
	if err != nil {
		return c, fmt.Errorf("calls: load call %s: %w", id, err)
	}
	return c, nil
}

// GetForAccount returns a call of accountID. Errors: ErrCallNotFound.
func (s *Service) GetForAccount(ctx context.Context, accountID int64, id string) (models.Call, error) {
	c, err := s.Get(ctx, id)
	if err == nil && c.AccountID != accountID {
		return models.Call{}, fmt.Errorf("%w: %s", ErrCallNotFound, id)
	}
	return c, err
}

// Claim is the voice webhook's: the call is connected once, for the
// identity it was authorised to, before it expires. A retried webhook of
// the same Twilio call gets the same answer. Errors: *ClaimError.
func (s *Service) Claim(ctx context.Context, callID, identity, callSID string) (models.Call, error) {
	c, err := s.Get(ctx, callID)
	switch {
	case errors.Is(err, ErrCallNotFound):
		return c, &ClaimError{Reason: ClaimUnknown}
	case err != nil:
		return c, err
	case c.Identity != identity:
		return c, &ClaimError{Reason: ClaimMismatch}
	case c.ClaimedAt != nil && c.TwilioCallSID == callSID:
		return c, nil // Twilio retrying the same webhook
	case c.Status == models.CallExpired || (c.ClaimedAt == nil && !s.now().Before(c.ExpiresAt)):
		return c, &ClaimError{Reason: ClaimExpired}
	case c.ClaimedAt != nil || c.Status != models.CallAuthorized:
		return c, &ClaimError{Reason: ClaimUsed}
	}
	now := s.now()
	res := s.db.WithContext(ctx).Model(&models.Call{}).
		Where("id = ? AND claimed_at IS NULL AND status = ? AND expires_at > ?", callID, models.CallAuthorized, now).
		Updates(map[string]any{"claimed_at": now, "twilio_call_sid": callSID, "status": models.CallDialing,
			"rank": models.CallDialing.Rank(), "updated_at": now})
	if res.Error != nil {
		return c, fmt.Errorf("calls: claim %s: %w", callID, res.Error)
	}
	if res.RowsAffected == 0 {
		// Someone claimed (or the workflow expired it) in between.
		again, err := s.Get(ctx, callID)
		if err == nil && again.TwilioCallSID == callSID {
			return again, nil
		}
		return c, &ClaimError{Reason: ClaimUsed}
	}
	return s.Get(ctx, callID)
}

// StatusEvent is one status callback (or <Dial action>) of a call.
type StatusEvent struct {
	CallID string
	// CallSID is the leg the callback is about (the phone's leg).
	CallSID string
	// Status is Twilio's CallStatus/DialCallStatus.
	Status         string
	SequenceNumber int64
	// DurationSeconds is CallDuration, -1 when the callback has none.
	DurationSeconds int64
}

// StatusOf maps Twilio's call statuses onto a call's.
func StatusOf(twilioStatus string) (models.CallStatus, bool) {
	switch strings.ToLower(twilioStatus) {
	case "queued", "initiated":
		return models.CallDialing, true
	case "ringing":
		return models.CallRinging, true
	case "in-progress", "answered":
		return models.CallInProgress, true
	case "completed":
		return models.CallCompleted, true
	case "busy":
		return models.CallBusy, true
	case "no-answer":
		return models.CallNoAnswer, true
	case "failed":
		return models.CallFailed, true
	case "canceled":
		return models.CallCanceled, true
	}
	return "", false
}

// Recorded is what RecordStatus did with a callback.
type Recorded struct {
	Call models.Call
	// Advanced: the callback moved the call forward (the workflow needs
	// it); a duplicate or a late, lower status changes nothing.
	Advanced bool
	// Repeat: the very same callback (SID, status, sequence number) was
	// recorded before: Twilio retrying one we may not have passed on.
	Repeat bool
	// Status is the callback's status in the call's terms.
	Status models.CallStatus
}

// RecordStatus stores a status callback (always: duplicates and late ones
// too) and moves the call's status forward when the callback ranks above
// it. A callback for a call already billed whose duration differs from the
// billed one flags the call for reconciliation. Errors: ErrCallNotFound.
func (s *Service) RecordStatus(ctx context.Context, ev StatusEvent) (Recorded, error) {
	st, ok := StatusOf(ev.Status)
	if !ok {
		return Recorded{}, fmt.Errorf("%w: unknown call status %q", ErrClaimRefused, ev.Status)
	}
	c, err := s.Get(ctx, ev.CallID)
	if err != nil {
		return Recorded{}, err
	}
	var seen int64
	if err := s.db.WithContext(ctx).Model(&models.CallEvent{}).Where("call_id = ? AND call_sid = ? AND status = ? AND sequence_number = ?",
		c.ID, ev.CallSID, ev.Status, ev.SequenceNumber).Count(&seen).Error; err != nil {
		return Recorded{}, fmt.Errorf("calls: look up callbacks of %s: %w", c.ID, err)
	}
	now := s.now()
	e := models.CallEvent{CallID: c.ID, CallSID: ev.CallSID, Status: ev.Status, SequenceNumber: ev.SequenceNumber, ReceivedAt: now}
	if ev.DurationSeconds >= 0 {
		d := ev.DurationSeconds
		e.DurationSeconds = &d
	}
	if err := s.db.WithContext(ctx).Create(&e).Error; err != nil {
		return Recorded{}, fmt.Errorf("calls: record callback of %s: %w", c.ID, err)
	}
	cols := map[string]any{"status": st, "rank": st.Rank(), "updated_at": now}
	if ev.CallSID != "" && c.TwilioChildSID == "" {
		cols["twilio_child_sid"] = ev.CallSID
	}
	if st == models.CallInProgress {
		cols["answered_at"] = now
	}
	res := s.db.WithContext(ctx).Model(&models.Call{}).Where("id = ? AND rank < ?", c.ID, st.Rank()).Updates(cols)
	if res.Error != nil {
		return Recorded{}, fmt.Errorf("calls: advance %s: %w", c.ID, res.Error)
	}
	if c.BilledMinutes != nil && ev.DurationSeconds >= 0 && c.DurationSeconds != nil && *c.DurationSeconds != ev.DurationSeconds && st.Final() {
		reason := fmt.Sprintf("callback after billing says %d s, billed %d s", ev.DurationSeconds, *c.DurationSeconds)
		if err := s.db.WithContext(ctx).Model(&models.Call{}).Where("id = ?", c.ID).Update("reconcile_reason", reason).Error; err != nil {
			return Recorded{}, fmt.Errorf("calls: flag %s: %w", c.ID, err)
		}
	}
	c, err = s.Get(ctx, c.ID)
	return Recorded{Call: c, Advanced: res.RowsAffected == 1, Repeat: seen > 0, Status: st}, err
}

// Settlement is how a call ended, as its workflow decided it.
type Settlement struct {
	CallID string
	Status models.CallStatus
	// DurationSeconds is the talk time Twilio reported (0 if never
	// answered).
	DurationSeconds int64
	Actor           string
}

// Bill is what a settled call cost.
type Bill struct {
	BilledMinutes     int64
	CostCents         int64
	BalanceAfterCents int64
	// Charge is the ledger result of the charge; zero when nothing was
	// charged.
	Charge ledger.Result
}

// Settle bills a call exactly once: ceil(duration/60) × its price is
// captured from its hold (the rest released), or the whole hold released
// when the call cost nothing; the call records its end. A repeat returns
// the first bill. A cost above the hold (a duration past timeLimit) is
// charged in full: Twilio carried the call.
func (s *Service) Settle(ctx context.Context, st Settlement) (Bill, error) {
	c, err := s.Get(ctx, st.CallID)
	if err != nil {
		return Bill{}, err
	}
	if c.BilledMinutes != nil {
		acct, err := s.ledger.Account(ctx, c.AccountID)
		return Bill{BilledMinutes: *c.BilledMinutes, CostCents: *c.CostCents, BalanceAfterCents: acct.BalanceCents}, err
	}
	duration := max(st.DurationSeconds, 0)
	if st.Status != models.CallCompleted {
		duration = 0 // busy, no-answer, failed, canceled, expired: nothing talked
	}
	cost := rates.CallCostCents(duration, c.PricePerMinuteCents)
	minutes := cost / c.PricePerMinuteCents
	var bill Bill
	bill.BilledMinutes, bill.CostCents = minutes, cost
	if c.HoldID != nil {
		if cost == 0 {
			if _, err := s.ledger.ReleaseHold(ctx, *c.HoldID); err != nil {
				return Bill{}, err
			}
		} else {
			h, err := s.ledger.Hold(ctx, *c.HoldID)
			if err != nil {
				return Bill{}, err
			}
			captured := min(cost, h.AmountCents)
			res, err := s.ledger.CaptureHold(ctx, ledger.CaptureRequest{HoldID: h.ID, AmountCents: captured, IdempotencyKey: ChargeKey(c.ID),
				Actor: st.Actor, CallRef: c.ID, Description: fmt.Sprintf("Call to %s, %d min", c.ToE164, minutes)})
			if err != nil {
				return Bill{}, err
			}
			bill.Charge = res
			if over := cost - captured; over > 0 {
				res, err = s.ledger.Post(ctx, ledger.Posting{AccountID: c.AccountID, Kind: models.EntryCallCharge, AmountCents: -over,
					IdempotencyKey: ChargeKey(c.ID) + ":over", Actor: st.Actor, CallRef: c.ID, AllowOverdraft: true,
					Description: fmt.Sprintf("Call to %s, past its hold", c.ToE164)})
				if err != nil {
					return Bill{}, err
				}
				bill.Charge = res
			}
		}
	}
	now := s.now()
	cols := map[string]any{"status": st.Status, "rank": st.Status.Rank(), "ended_at": now, "duration_seconds": duration,
		"billed_minutes": minutes, "cost_cents": cost, "updated_at": now}
	if bill.Charge.Entry.ID != 0 {
		cols["ledger_entry_id"] = bill.Charge.Entry.ID
	}
	// The workflow's final status stands over whatever a callback said.
	if err := s.db.WithContext(ctx).Model(&models.Call{}).Where("id = ? AND billed_minutes IS NULL", c.ID).Updates(cols).Error; err != nil {
		return Bill{}, fmt.Errorf("calls: record the bill of %s: %w", c.ID, err)
	}
	acct, err := s.ledger.Account(ctx, c.AccountID)
	if err != nil {
		return Bill{}, err
	}
	bill.BalanceAfterCents = acct.BalanceCents
	return bill, nil
}

// PolicyFrom is a deployment's calling policy.
func PolicyFrom(cfg config.Config) Policy {
	p := Policy{Blocked: map[string]bool{}, MaxMinutes: int64(cfg.MaxCallMinutes), DialWindow: cfg.CallDialWindow,
		DefaultCallerID: cfg.EffectiveDefaultCallerID()}
	for _, iso := range cfg.BlockedCountries {
		p.Blocked[iso] = true
	}
	return p
}
