package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/numbers"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/models"
)

// Activities of the MonthlyNumberFee workflow: the fee and its refund
// (through the ledger), the number's row, Twilio's purchase and release,
// and the company admin's emails.

// Numbers is what the number activities need of internal/numbers.
type Numbers interface {
	Get(ctx context.Context, id int64) (models.PhoneNumber, error)
	ChargeFee(ctx context.Context, numberID int64, start time.Time) (ledger.Result, error)
	RefundFee(ctx context.Context, numberID int64, start time.Time) error
	Record(ctx context.Context, p numbers.Progress) error
	AdminEmail(ctx context.Context, accountID int64) (string, error)
}

// NumberCallbacks builds the URL Twilio sends a number's inbound calls to.
type NumberCallbacks interface {
	IncomingCallURL() string
}

// ErrTypeNumberUnavailable marks a number Twilio will not sell us.
const ErrTypeNumberUnavailable = "NumberUnavailable"

// NumberFeeInput names one period's fee of a number.
type NumberFeeInput struct {
	NumberID    int64
	PeriodStart time.Time
}

// ChargeNumberFeeResult says whether the fee was charged; a balance that
// cannot pay is a result (Reason), not an error.
type ChargeNumberFeeResult struct {
	Charged           bool
	Reason            string
	FeeCents          int64
	BalanceAfterCents int64
}

// ChargeNumberFee charges a period's fee once (its key is the number's and
// the period's).
func (a *Activities) ChargeNumberFee(ctx context.Context, in NumberFeeInput) (ChargeNumberFeeResult, error) {
	res, err := a.Numbers.ChargeFee(ctx, in.NumberID, in.PeriodStart)
	switch {
	case errors.Is(err, ledger.ErrInsufficientFunds):
		return ChargeNumberFeeResult{Reason: "the company balance does not cover the monthly fee"}, nil
	case errors.Is(err, ledger.ErrAccountDisabled):
		return ChargeNumberFeeResult{Reason: "the company account is disabled"}, nil
	case errors.Is(err, ledger.ErrIdempotencyConflict), errors.Is(err, numbers.ErrNotFound):
		return ChargeNumberFeeResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeCreditRefused, err)
	case err != nil:
		return ChargeNumberFeeResult{}, err
	}
	// A fee is a debit like a call's: it may bring the balance under the
	// auto top-up threshold.
	if !res.Replayed && a.DebitHook != nil {
		if _, err := a.DebitHook.AfterDebit(ctx, res); err != nil {
			return ChargeNumberFeeResult{}, err
		}
	}
	return ChargeNumberFeeResult{Charged: true, FeeCents: -res.Entry.AmountCents, BalanceAfterCents: res.BalanceAfter()}, nil
}

// RefundNumberFee refunds a fee charged for a number that could not be
// bought, once.
func (a *Activities) RefundNumberFee(ctx context.Context, in NumberFeeInput) error {
	return a.Numbers.RefundFee(ctx, in.NumberID, in.PeriodStart)
}

// BuyNumberInput is the number to buy.
type BuyNumberInput struct {
	NumberID int64
	E164     string
}

// BuyNumberResult is Twilio's number.
type BuyNumberResult struct{ SID string }

// BuyNumber buys the number at Twilio, its inbound calls sent to our
// webhook. A retry (or a refusal, which a purchase that did happen but
// whose answer was lost also gets) first looks the number up among ours,
// so a number is never bought twice nor left rented and unrecorded.
func (a *Activities) BuyNumber(ctx context.Context, in BuyNumberInput) (BuyNumberResult, error) {
	if activity.GetInfo(ctx).Attempt > 1 {
		if n, ok, err := a.NumberShop.FindNumber(ctx, in.E164); err != nil {
			return BuyNumberResult{}, err
		} else if ok {
			return BuyNumberResult{SID: n.SID}, nil
		}
	}
	n, err := a.NumberShop.BuyNumber(ctx, in.E164, a.NumberCallbacks.IncomingCallURL())
	if errors.Is(err, providers.ErrNumberUnavailable) {
		if mine, ok, ferr := a.NumberShop.FindNumber(ctx, in.E164); ferr == nil && ok {
			return BuyNumberResult{SID: mine.SID}, nil
		}
		return BuyNumberResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeNumberUnavailable, err)
	}
	if err != nil {
		return BuyNumberResult{}, err
	}
	return BuyNumberResult{SID: n.SID}, nil
}

// ReleaseNumber gives the number back to Twilio.
func (a *Activities) ReleaseNumber(ctx context.Context, numberID int64) error {
	pn, err := a.Numbers.Get(ctx, numberID)
	if err != nil {
		return err
	}
	if pn.TwilioSID == "" {
		return nil
	}
	return a.NumberShop.ReleaseNumber(ctx, pn.TwilioSID)
}

// NumberProgress is a number's state as the workflow decided it.
type NumberProgress struct {
	NumberID     int64
	State        string
	TwilioSID    string
	AnchorAt     *time.Time
	PaidThrough  *time.Time
	NextChargeAt *time.Time
	GraceEndsAt  *time.Time
	LastError    string
}

// RecordNumber writes the number's row.
func (a *Activities) RecordNumber(ctx context.Context, p NumberProgress) error {
	return a.Numbers.Record(ctx, numbers.Progress{NumberID: p.NumberID, State: models.NumberState(p.State), TwilioSID: p.TwilioSID,
		AnchorAt: p.AnchorAt, PaidThrough: p.PaidThrough, NextChargeAt: p.NextChargeAt, GraceEndsAt: p.GraceEndsAt, LastError: p.LastError})
}

// NumberNotice says which email the company admin gets.
type NumberNotice string

const (
	NumberNoticeSuspended   NumberNotice = "suspended"
	NumberNoticeReleaseSoon NumberNotice = "release_soon"
	NumberNoticeRestored    NumberNotice = "restored"
	NumberNoticeReleased    NumberNotice = "released"
)

// NotifyNumberInput is one email about a number.
type NotifyNumberInput struct {
	NumberID    int64
	Notice      NumberNotice
	GraceEndsAt time.Time
	BaseURL     string
}

// NotifyNumber emails the company admin about the number.
func (a *Activities) NotifyNumber(ctx context.Context, in NotifyNumberInput) error {
	pn, err := a.Numbers.Get(ctx, in.NumberID)
	if err != nil {
		return err
	}
	to, err := a.Numbers.AdminEmail(ctx, pn.AccountID)
	if err != nil {
		return err
	}
	fee, day := money.Format(pn.MonthlyFeeCents), in.GraceEndsAt.UTC().Format("2 January 2006")
	m := mail.Message{To: to}
	switch in.Notice {
	case NumberNoticeSuspended:
		m.Subject = "Your company number " + pn.E164 + " is suspended"
		m.Text = fmt.Sprintf("The %s monthly fee of %s could not be charged: the company balance does not cover it.\n\n"+
			"Until it is paid, your seats cannot call out with this number and its inbound calls are rejected.\n"+
			"Top up and the fee is charged and the number restored at once:\n%s/credits\n\n"+
			"If it is still unpaid on %s, the number is released and cannot be recovered.\n", pn.E164, fee, in.BaseURL, day)
	case NumberNoticeReleaseSoon:
		m.Subject = "Your company number " + pn.E164 + " will be released on " + day
		m.Text = fmt.Sprintf("The monthly fee of %s for %s is still unpaid. On %s the number is released and your seats lose it.\n\n"+
			"Top up now to keep it:\n%s/credits\n", fee, pn.E164, day, in.BaseURL)
	case NumberNoticeRestored:
		m.Subject = "Your company number " + pn.E164 + " is active again"
		m.Text = fmt.Sprintf("The monthly fee of %s for %s is paid and the number is active again: your seats can call with it.\n\n%s/company/numbers\n",
			fee, pn.E164, in.BaseURL)
	case NumberNoticeReleased:
		m.Subject = "Your company number " + pn.E164 + " was released"
		m.Text = fmt.Sprintf("The monthly fee for %s stayed unpaid through the grace period, so the number was released and its seats unassigned.\n\n"+
			"You can buy another number on %s/company/numbers.\n", pn.E164, in.BaseURL)
	default:
		return temporal.NewNonRetryableApplicationError("unknown number notice "+string(in.Notice), "BadNotice", nil)
	}
	return a.Mailer.Send(ctx, m)
}
