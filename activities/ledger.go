package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mobayilo/mobayilo/internal/calls"
	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/models"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// Activities that move or check money through the ledger service: the
// credits of top-ups and auto top-ups, the balance checks before a charge,
// and reconciliation.

// VerifyLedgerResult lists each discrepancy in words; empty means clean.
type VerifyLedgerResult struct {
	Discrepancies []string
}

// VerifyLedger reconciles every account's cached balance with its entries.
func (a *Activities) VerifyLedger(ctx context.Context) (VerifyLedgerResult, error) {
	ds, err := a.Ledger.Verify(ctx)
	if err != nil {
		return VerifyLedgerResult{}, err
	}
	out := VerifyLedgerResult{}
	for _, d := range ds {
		out.Discrepancies = append(out.Discrepancies, d.String())
	}
	return out, nil
}

// Postings posts ledger entries (internal/ledger).
type Postings interface {
	Post(ctx context.Context, p ledger.Posting) (ledger.Result, error)
}

// ErrTypeCreditRefused marks a credit the ledger refused for good (the key
// was used for a different posting, the account is gone).
const ErrTypeCreditRefused = "CreditRefused"

// TopUpLedgerKey is the ledger idempotency key of a paid top-up: one per
// PaymentIntent, so any number of events describing one payment credit once.
func TopUpLedgerKey(paymentIntentID string) string { return "topup:" + paymentIntentID }

// CreditTopUpInput is a paid top-up.
type CreditTopUpInput struct {
	TopUpID         string
	PaymentIntentID string
}

// CreditTopUpResult is the wallet after the credit.
type CreditTopUpResult struct {
	LedgerEntryID     int64
	BalanceAfterCents int64
	// Replayed: the PaymentIntent was credited before; nothing new moved.
	Replayed  bool
	CardBrand string
	CardLast4 string
}

// CreditTopUp posts one ledger entry for the payment, keyed by the
// PaymentIntent, and stores the receipt.
func (a *Activities) CreditTopUp(ctx context.Context, in CreditTopUpInput) (CreditTopUpResult, error) {
	if in.PaymentIntentID == "" {
		return CreditTopUpResult{}, temporal.NewNonRetryableApplicationError("credit of top-up "+in.TopUpID+" has no payment intent", ErrTypeCreditRefused, nil)
	}
	t, err := a.TopUps.Get(ctx, in.TopUpID)
	if errors.Is(err, credits.ErrTopUpNotFound) {
		return CreditTopUpResult{}, temporal.NewNonRetryableApplicationError("top-up "+in.TopUpID+" not found", ErrTypeTopUpGone, err)
	}
	if err != nil {
		return CreditTopUpResult{}, err
	}
	res, err := a.Postings.Post(ctx, ledger.Posting{
		AccountID: t.AccountID, Kind: models.EntryTopUp, AmountCents: t.AmountCents, Collected: true,
		IdempotencyKey: TopUpLedgerKey(in.PaymentIntentID), Actor: fmt.Sprintf("user:%d", t.UserID),
		TopUpRef: t.ID, Description: "Card top-up",
	})
	if errors.Is(err, ledger.ErrIdempotencyConflict) || errors.Is(err, ledger.ErrAccountNotFound) || errors.Is(err, ledger.ErrInvalid) {
		return CreditTopUpResult{}, temporal.NewNonRetryableApplicationError("credit top-up "+t.ID+": "+err.Error(), ErrTypeCreditRefused, err)
	}
	if err != nil {
		return CreditTopUpResult{}, err
	}
	// The card is for the receipt only; the credit stands without it.
	card, cardErr := a.Payments.PaymentCard(ctx, in.PaymentIntentID)
	if cardErr != nil {
		activity.GetLogger(ctx).Warn("receipt without card details", "topup_id", t.ID, "error", cardErr.Error())
	}
	if err := a.TopUps.RecordPayment(ctx, t.ID, credits.Receipt{PaymentIntentID: in.PaymentIntentID,
		CardBrand: card.Brand, CardLast4: card.Last4, LedgerEntryID: res.Entry.ID}); err != nil {
		return CreditTopUpResult{}, err
	}
	// "Save this card for auto top-up": Stripe kept it (setup_future_usage);
	// make it the account's auto top-up card. Saving is idempotent, so a
	// retried activity does no harm; enabling stays the owner's choice.
	if t.SaveCard && card.PaymentMethodID != "" && a.SavedCards != nil {
		customer, err := a.TopUps.CustomerID(ctx, t.AccountID)
		if err != nil {
			return CreditTopUpResult{}, err
		}
		if err := a.SavedCards.SaveTopUpCard(ctx, t.AccountID, customer, card.PaymentMethodID, card.Brand, card.Last4); err != nil {
			return CreditTopUpResult{}, fmt.Errorf("save card of top-up %s: %w", t.ID, err)
		}
	}
	if err := a.afterCredit(ctx, t.AccountID, res.Entry.ID, t.AmountCents); err != nil {
		return CreditTopUpResult{}, err
	}
	return CreditTopUpResult{LedgerEntryID: res.Entry.ID, BalanceAfterCents: res.BalanceAfter(), Replayed: res.Replayed,
		CardBrand: card.Brand, CardLast4: card.Last4}, nil
}

// CreditAutoTopUpInput credits a successful charge.
type CreditAutoTopUpInput struct {
	AttemptID       string
	AccountID       int64
	AmountCents     int64
	PaymentIntentID string
}

// CreditAutoTopUp posts the auto_topup entry, once per PaymentIntent, and
// then marks the attempt succeeded (for a charge approved on-session, that
// clears the owner's banner).
func (a *Activities) CreditAutoTopUp(ctx context.Context, in CreditAutoTopUpInput) (int64, error) {
	balance, err := a.AutoTopUps.Credit(ctx, in.AccountID, in.AmountCents, in.PaymentIntentID, in.AttemptID)
	if err != nil {
		return 0, err
	}
	if err := a.AutoTopUps.FinishAttempt(ctx, in.AttemptID, models.AttemptSucceeded, "", "", in.PaymentIntentID); err != nil {
		return 0, err
	}
	if err := a.afterCredit(ctx, in.AccountID, 0, in.AmountCents); err != nil {
		return 0, err
	}
	return balance, nil
}

// ErrTypePaymentMismatch marks a payment event or approval that does not
// match its attempt (another account, PaymentIntent or amount): not
// retryable, for a person to look at.
const ErrTypePaymentMismatch = "AutoTopUpPaymentMismatch"

// ErrTypeAttemptNotWaiting marks an approval of an attempt that no longer
// waits for one.
const ErrTypeAttemptNotWaiting = "AutoTopUpAttemptNotWaiting"

// attemptFor loads an attempt and checks it is the account's and, once the
// attempt knows its PaymentIntent, that PaymentIntent's.
func (a *Activities) attemptFor(ctx context.Context, accountID int64, attemptID, pi string) (models.AutoTopUpAttempt, error) {
	at, err := a.AutoTopUps.Attempt(ctx, attemptID)
	if err != nil {
		return at, err
	}
	switch {
	case at.ID == 0:
		return at, temporal.NewNonRetryableApplicationError(fmt.Sprintf("no auto top-up attempt %q", attemptID), ErrTypePaymentMismatch, nil)
	case at.AccountID != accountID:
		return at, temporal.NewNonRetryableApplicationError(fmt.Sprintf("attempt %s is not account %d's", attemptID, accountID), ErrTypePaymentMismatch, nil)
	case at.PaymentIntentID != "" && at.PaymentIntentID != pi:
		return at, temporal.NewNonRetryableApplicationError(fmt.Sprintf("attempt %s was charged as %s, not %s", attemptID, at.PaymentIntentID, pi), ErrTypePaymentMismatch, nil)
	}
	return at, nil
}

// VerifyAutoTopUpPaymentInput is a succeeded PaymentIntent as the webhook
// reported it.
type VerifyAutoTopUpPaymentInput struct {
	AccountID       int64
	AttemptID       string
	PaymentIntentID string
	// AmountCents is Stripe's amount; zero when unknown (paid at once on
	// approval).
	AmountCents int64
}

// AutoTopUpPayment is a verified payment: the amount to credit, and
// whether the ledger already has it (a charge that succeeded off-session
// at once, credited by the run that made it).
type AutoTopUpPayment struct {
	AmountCents     int64
	AlreadyCredited bool
}

// VerifyAutoTopUpPayment checks that a succeeded PaymentIntent is the
// account's attempt and returns the amount to credit: the attempt's own,
// never the event's alone.
func (a *Activities) VerifyAutoTopUpPayment(ctx context.Context, in VerifyAutoTopUpPaymentInput) (AutoTopUpPayment, error) {
	at, err := a.attemptFor(ctx, in.AccountID, in.AttemptID, in.PaymentIntentID)
	if err != nil {
		return AutoTopUpPayment{}, err
	}
	if in.AmountCents != 0 && in.AmountCents != at.AmountCents {
		return AutoTopUpPayment{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("payment %s is %d cents but attempt %s charged %d", in.PaymentIntentID, in.AmountCents, in.AttemptID, at.AmountCents), ErrTypePaymentMismatch, nil)
	}
	credited, err := a.AutoTopUps.Credited(ctx, in.PaymentIntentID)
	if err != nil {
		return AutoTopUpPayment{}, err
	}
	return AutoTopUpPayment{AmountCents: at.AmountCents, AlreadyCredited: credited}, nil
}

// AutoTopUpCheck is what the workflow needs to decide whether to charge.
type AutoTopUpCheck struct {
	Enabled        bool
	HasCard        bool
	AvailableCents int64
	ThresholdCents int64
	AmountCents    int64
	DailyMaxCount  int
	DailyMaxCents  int64
	// TodayCount and TodayCents are the charges already made today (UTC),
	// from the database: the cap holds across workflow runs.
	TodayCount int
	TodayCents int64
	// Unsettled are attempts still "charging": their outcome was never
	// heard. They are reconciled before anything else is charged.
	Unsettled []string
}

// Below reports whether the wallet needs a top-up now.
func (c AutoTopUpCheck) Below() bool { return c.AvailableCents < c.ThresholdCents }

// CheckAutoTopUp reads the account's settings and available balance.
func (a *Activities) CheckAutoTopUp(ctx context.Context, accountID int64) (AutoTopUpCheck, error) {
	s, err := a.AutoTopUps.Settings(ctx, accountID)
	if err != nil {
		return AutoTopUpCheck{}, err
	}
	acct, err := a.AutoTopUps.Account(ctx, accountID)
	if err != nil {
		return AutoTopUpCheck{}, err
	}
	n, cents, err := a.AutoTopUps.SpentSince(ctx, accountID, a.now().UTC().Truncate(24*time.Hour))
	if err != nil {
		return AutoTopUpCheck{}, err
	}
	unsettled, err := a.AutoTopUps.ChargingAttempts(ctx, accountID)
	if err != nil {
		return AutoTopUpCheck{}, err
	}
	chk := AutoTopUpCheck{
		Enabled: s.Enabled && s.HasCard() && acct.Status == models.StatusActive, HasCard: s.HasCard(),
		AvailableCents: acct.AvailableCents(), ThresholdCents: s.ThresholdCents, AmountCents: s.AmountCents,
		DailyMaxCount: s.DailyMaxCount, DailyMaxCents: s.DailyMaxCents, TodayCount: n, TodayCents: cents,
	}
	for _, at := range unsettled {
		chk.Unsettled = append(chk.Unsettled, at.AttemptID)
	}
	return chk, nil
}

// Calls is what the Call activities need of the calling service.
type Calls interface {
	Get(ctx context.Context, callID string) (models.Call, error)
	Open(ctx context.Context, p calls.Plan) (models.Call, error)
	Settle(ctx context.Context, st calls.Settlement) (calls.Bill, error)
	RecordPlaced(ctx context.Context, callID, sid string) error
}

// DebitHook is the ledger threshold hook every debit calls (auto top-up).
type DebitHook interface {
	AfterDebit(ctx context.Context, res ledger.Result) (bool, error)
}

// CreditHook runs after every top-up and auto top-up credit: it wakes the
// account's suspended numbers, whose fees the new money pays.
type CreditHook interface {
	AfterCredit(ctx context.Context, accountID, entryID, amountCents int64) error
}

// afterCredit runs the credit hook. It runs on replays too: a retry after
// a crash between the credit and the hook still wakes the numbers (a
// spare signal costs a suspended number one fee check, nothing more).
func (a *Activities) afterCredit(ctx context.Context, accountID, entryID, amountCents int64) error {
	if a.CreditHook == nil {
		return nil
	}
	return a.CreditHook.AfterCredit(ctx, accountID, entryID, amountCents)
}

// OpenCallInput is a planned call, as the Call workflow's input has it.
type OpenCallInput struct {
	CallID              string
	AccountID           int64
	UserID              int64
	Seat                bool
	Identity            string
	To                  string
	ToNational          string
	ToCountry           string
	CallerID            string
	PricePerMinuteCents int64
	MaxMinutes          int64
	// BridgeID, Leg and DialWindow are a bridge call leg's (empty for a
	// browser call).
	BridgeID   string
	Leg        string
	DialWindow time.Duration
}

// OpenCallResult is what the call's hold covers.
type OpenCallResult struct {
	MaxMinutes int64
	HoldCents  int64
	ExpiresAt  time.Time
}

// ErrTypeCallRefused marks an authorisation the balance no longer covers
// (another call took it meanwhile) or the account refuses.
const ErrTypeCallRefused = "CallRefused"

// OpenCall places the call's hold and stores it as authorised (the Call
// workflow's authorize update runs it as a local activity, so the API's
// answer waits for no task queue). A refusal is not retried.
func (a *Activities) OpenCall(ctx context.Context, in OpenCallInput) (OpenCallResult, error) {
	c, err := a.Calls.Open(ctx, calls.Plan{CallID: in.CallID,
		Caller: calls.Caller{UserID: in.UserID, AccountID: in.AccountID, Seat: in.Seat},
		To:     rates.Number{E164: in.To, National: in.ToNational, Region: in.ToCountry}, PricePerMinuteCents: in.PricePerMinuteCents,
		CallerID: in.CallerID, MaxMinutes: in.MaxMinutes, BridgeID: in.BridgeID, Leg: models.CallLeg(in.Leg), DialWindow: in.DialWindow})
	if errors.Is(err, ledger.ErrInsufficientFunds) || errors.Is(err, ledger.ErrAccountDisabled) {
		return OpenCallResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeCallRefused, err)
	}
	if err != nil {
		return OpenCallResult{}, err
	}
	return OpenCallResult{MaxMinutes: c.MaxMinutes, HoldCents: c.MaxMinutes * c.PricePerMinuteCents, ExpiresAt: c.ExpiresAt}, nil
}

// SettleCallInput is a call's end as its workflow decided it.
type SettleCallInput struct {
	CallID          string
	Status          string
	DurationSeconds int64
}

// SettleCallResult is the call's bill.
type SettleCallResult struct {
	DurationSeconds   int64
	BilledMinutes     int64
	CostCents         int64
	BalanceAfterCents int64
}

// SettleCall bills the call once (key call:<id>): captures ceil(duration/60)
// × price from its hold and releases the rest, records the call's end, and
// runs the ledger threshold hook so auto top-up follows the charge. A
// retry returns the first bill.
func (a *Activities) SettleCall(ctx context.Context, in SettleCallInput) (SettleCallResult, error) {
	b, err := a.Calls.Settle(ctx, calls.Settlement{CallID: in.CallID, Status: models.CallStatus(in.Status), DurationSeconds: in.DurationSeconds,
		Actor: "system:call"})
	if err != nil {
		return SettleCallResult{}, err
	}
	if b.Charge.Entry.ID != 0 && !b.Charge.Replayed && a.DebitHook != nil {
		if _, err := a.DebitHook.AfterDebit(ctx, b.Charge); err != nil {
			// The charge stands; the next debit triggers auto top-up again.
			activity.GetLogger(ctx).Warn("auto top-up hook after a call charge failed", "call_id", in.CallID, "error", err.Error())
		}
	}
	duration := in.DurationSeconds
	if models.CallStatus(in.Status) != models.CallCompleted {
		duration = 0
	}
	return SettleCallResult{DurationSeconds: duration, BilledMinutes: b.BilledMinutes, CostCents: b.CostCents, BalanceAfterCents: b.BalanceAfterCents}, nil
}
