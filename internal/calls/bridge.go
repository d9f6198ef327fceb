package calls

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/models"
)

// Bridge calls (`moby call <number>`): Twilio rings the owner's verified
// phone first (leg "owner", placed by its Call workflow through Twilio's
// REST API) and, once answered, dials the destination with the verified
// number as caller ID (leg "destination", claimed by the bridge webhook).
// Each leg is a call of its own, with its own hold and its own bill at its
// own rate; the destination leg's id names the bridge.

// ErrCallerIDRequired: a bridge call needs the caller's own verified
// caller ID; the *CallerIDRequiredError says how to get one.
var ErrCallerIDRequired = errors.New("a verified caller ID is required")

// CallerIDRequiredError is a bridge call refused for want of a verified
// caller ID.
type CallerIDRequiredError struct {
	// Company: the caller is a company account or seat, whose calls go out
	// with company numbers, not personal caller IDs.
	Company bool
}

func (e *CallerIDRequiredError) Error() string {
	if e.Company {
		return "calls from the terminal need a verified caller ID of your own, which company accounts and seats do not have yet; call from the dialer"
	}
	return "calls from the terminal ring your own phone first and show your number to the person you call, so they need a verified caller ID: " +
		"run `moby caller-id request <your number>`, then `moby caller-id confirm <code>`"
}

// Is makes errors.Is(err, ErrCallerIDRequired) true.
func (e *CallerIDRequiredError) Is(target error) bool { return target == ErrCallerIDRequired }

// BridgeRingWindow is how long, beyond the dial window, the destination
// leg waits to be dialed: the owner's phone rings first (Twilio gives an
// outbound call 60 s to be answered).
const BridgeRingWindow = 2 * time.Minute

// BridgePlan is a bridge call the caller may place: two legs capped to the
// same minutes, available / (owner's price + destination's price).
type BridgePlan struct {
	Owner, Destination Plan
	MaxMinutes         int64
	// CountryGuessed: the destination was typed without a country code and
	// no country was given, so it was read in the verified number's country.
	CountryGuessed bool
}

// PlanBridge decides whether caller may place a bridge call to input (read
// with country, else with the verified number's country, when it has no
// country code): a verified caller ID, the destination's number, country
// and rate, the owner's number's rate, and a minute of both legs in the
// available balance. Errors: *CallerIDRequiredError, *rates.NumberError,
// *BlockedError, ErrNoRate, ledger.ErrInsufficientFunds,
// ledger.ErrAccountDisabled.
func (s *Service) PlanBridge(ctx context.Context, c Caller, input, country string) (BridgePlan, error) {
	if c.Seat || c.Company {
		return BridgePlan{}, &CallerIDRequiredError{Company: true}
	}
	verified, err := s.callerIDs.Verified(ctx, c.AccountID)
	if err != nil {
		return BridgePlan{}, err
	}
	if verified == "" {
		return BridgePlan{}, &CallerIDRequiredError{}
	}
	owner, err := rates.Normalize(verified, "")
	if err != nil {
		return BridgePlan{}, fmt.Errorf("calls: the verified caller ID %s no longer reads as a number: %w", verified, err)
	}
	dest, err := rates.Normalize(input, country)
	guessed := false
	var ne *rates.NumberError
	if country == "" && errors.As(err, &ne) && ne.Reason == rates.ReasonRegionRequired && owner.Region != "" {
		// A national number: the owner most likely calls at home.
		dest, err = rates.Normalize(input, owner.Region)
		guessed = err == nil
	}
	if err != nil {
		return BridgePlan{}, err
	}
	destPrice, err := s.priceOf(ctx, c, dest)
	if err != nil {
		return BridgePlan{}, err
	}
	ownerPrice, err := s.priceOf(ctx, c, owner)
	if err != nil {
		return BridgePlan{}, fmt.Errorf("your phone %s: %w", owner.E164, err)
	}
	acct, err := s.activeAccount(ctx, c.AccountID)
	if err != nil {
		return BridgePlan{}, err
	}
	perMinute := destPrice + ownerPrice
	if acct.AvailableCents() < perMinute {
		return BridgePlan{}, fmt.Errorf("%w: %s available, a minute costs %s to %s plus %s to your phone", ledger.ErrInsufficientFunds,
			money.Format(acct.AvailableCents()), money.Format(destPrice), dest.E164, money.Format(ownerPrice))
	}
	maxMinutes := min(acct.AvailableCents()/perMinute, s.policy.MaxMinutes)
	bridgeID := NewCallID()
	window := s.policy.DialWindow + BridgeRingWindow
	return BridgePlan{
		Owner: Plan{CallID: NewCallID(), Caller: c, To: owner, PricePerMinuteCents: ownerPrice, CallerID: s.policy.DefaultCallerID,
			MaxMinutes: maxMinutes, BridgeID: bridgeID, Leg: models.LegOwner, DialWindow: window},
		Destination: Plan{CallID: bridgeID, Caller: c, To: dest, PricePerMinuteCents: destPrice, CallerID: verified,
			MaxMinutes: maxMinutes, BridgeID: bridgeID, Leg: models.LegDestination, DialWindow: window},
		MaxMinutes: maxMinutes, CountryGuessed: guessed,
	}, nil
}

// Bridge returns a bridge call's two legs, for accountID. Errors:
// ErrCallNotFound.
func (s *Service) Bridge(ctx context.Context, accountID int64, bridgeID string) (owner, dest models.Call, err error) {
	var legs []models.Call
	if err := s.db.WithContext(ctx).Where("bridge_id = ? AND account_id = ?", bridgeID, accountID).Find(&legs).Error; err != nil {
		return owner, dest, fmt.Errorf("calls: load bridge %s: %w", bridgeID, err)
	}
	for _, l := range legs {
		switch l.Leg {
		case models.LegOwner:
			owner = l
		case models.LegDestination:
			dest = l
		}
	}
	if owner.ID == "" || dest.ID == "" {
		return owner, dest, fmt.Errorf("%w: %s", ErrCallNotFound, bridgeID)
	}
	return owner, dest, nil
}

// RecordPlaced stores the SID Twilio gave the owner's leg when it placed
// it (once: a retried activity stores the same).
func (s *Service) RecordPlaced(ctx context.Context, callID, sid string) error {
	err := s.db.WithContext(ctx).Model(&models.Call{}).Where("id = ? AND twilio_call_sid = ''", callID).
		Updates(map[string]any{"twilio_call_sid": sid, "updated_at": s.now()}).Error
	if err != nil {
		return fmt.Errorf("calls: record the SID of %s: %w", callID, err)
	}
	return nil
}

// ClaimBridge is the bridge webhook's: the owner answered their leg
// (ownerSID), so the destination leg is claimed once, as the voice webhook
// claims a browser's call. The webhook's signed URL names the bridge; the
// SID must be the owner leg's when that is known. Errors: *ClaimError.
func (s *Service) ClaimBridge(ctx context.Context, bridgeID, ownerSID string) (models.Call, error) {
	var legs []models.Call
	if err := s.db.WithContext(ctx).Where("bridge_id = ?", bridgeID).Find(&legs).Error; err != nil {
		return models.Call{}, fmt.Errorf("calls: load bridge %s: %w", bridgeID, err)
	}
	var owner, dest models.Call
	for _, l := range legs {
		if l.Leg == models.LegOwner {
			owner = l
		} else if l.Leg == models.LegDestination {
			dest = l
		}
	}
	switch {
	case owner.ID == "" || dest.ID == "":
		return models.Call{}, &ClaimError{Reason: ClaimUnknown}
	case owner.TwilioCallSID != "" && owner.TwilioCallSID != ownerSID:
		return models.Call{}, &ClaimError{Reason: ClaimMismatch}
	}
	return s.Claim(ctx, dest.ID, dest.Identity, ownerSID)
}
