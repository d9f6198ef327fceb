package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/models"
)

// AutoTopUps is what the AutoTopUp activities need of the auto top-up
// service (internal/autotopup): settings, balances, attempts and the credit.
type AutoTopUps interface {
	Settings(ctx context.Context, accountID int64) (models.AutoTopUpSettings, error)
	Account(ctx context.Context, accountID int64) (models.Account, error)
	OwnerEmail(ctx context.Context, accountID int64) (string, error)
	StartAttempt(ctx context.Context, a models.AutoTopUpAttempt) error
	FinishAttempt(ctx context.Context, attemptID string, st models.AutoTopUpAttemptStatus, declineCode, message, paymentIntentID string) error
	// Credit posts one auto_topup ledger entry keyed by the PaymentIntent id
	// and returns the balance after it; a replay posts nothing.
	Credit(ctx context.Context, accountID, amountCents int64, paymentIntentID, attemptID string) (balanceAfter int64, err error)
}

// Charges is what auto top-up needs of the payment provider.
type Charges interface {
	ChargeSaved(ctx context.Context, in providers.ChargeParams) (providers.ChargeResult, error)
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
	return AutoTopUpCheck{
		Enabled: s.Enabled && s.HasCard() && acct.Status == models.StatusActive, HasCard: s.HasCard(),
		AvailableCents: acct.AvailableCents(), ThresholdCents: s.ThresholdCents, AmountCents: s.AmountCents,
		DailyMaxCount: s.DailyMaxCount, DailyMaxCents: s.DailyMaxCents,
	}, nil
}

// ChargeAutoTopUpInput is one off-session charge attempt.
type ChargeAutoTopUpInput struct {
	AttemptID   string
	AccountID   int64
	AmountCents int64
}

// ErrTypeNoCard marks a charge attempted with no saved card: not retryable.
const ErrTypeNoCard = "AutoTopUpNoCard"

// ChargeAutoTopUp records the attempt, charges the saved card off-session
// with an Idempotency-Key from the attempt id, and records the outcome. A
// decline is a result; errors are worth retrying (the same key makes the
// retry harmless at Stripe).
func (a *Activities) ChargeAutoTopUp(ctx context.Context, in ChargeAutoTopUpInput) (providers.ChargeResult, error) {
	s, err := a.AutoTopUps.Settings(ctx, in.AccountID)
	if err != nil {
		return providers.ChargeResult{}, err
	}
	if !s.HasCard() {
		return providers.ChargeResult{}, temporal.NewNonRetryableApplicationError("no saved card to charge", ErrTypeNoCard, nil)
	}
	if err := a.AutoTopUps.StartAttempt(ctx, models.AutoTopUpAttempt{AttemptID: in.AttemptID, AccountID: in.AccountID,
		AmountCents: in.AmountCents, Status: models.AttemptCharging}); err != nil {
		return providers.ChargeResult{}, err
	}
	res, err := a.Charges.ChargeSaved(ctx, providers.ChargeParams{AttemptID: in.AttemptID, AccountID: in.AccountID,
		CustomerID: s.CustomerID, PaymentMethodID: s.PaymentMethodID, AmountCents: in.AmountCents})
	if err != nil {
		return providers.ChargeResult{}, err
	}
	if err := a.AutoTopUps.FinishAttempt(ctx, in.AttemptID, attemptStatus(res.Outcome), res.DeclineCode, res.Message, res.PaymentIntentID); err != nil {
		return providers.ChargeResult{}, err
	}
	return res, nil
}

func attemptStatus(o providers.ChargeOutcome) models.AutoTopUpAttemptStatus {
	switch o {
	case providers.ChargeSucceeded:
		return models.AttemptSucceeded
	case providers.ChargeNeedsAuthentication:
		return models.AttemptNeedsAuthentication
	case providers.ChargeHardDecline:
		return models.AttemptHardDecline
	}
	return models.AttemptSoftDecline
}

// CreditAutoTopUpInput credits a successful charge.
type CreditAutoTopUpInput struct {
	AttemptID       string
	AccountID       int64
	AmountCents     int64
	PaymentIntentID string
}

// CreditAutoTopUp posts the auto_topup entry, once per PaymentIntent.
func (a *Activities) CreditAutoTopUp(ctx context.Context, in CreditAutoTopUpInput) (int64, error) {
	return a.AutoTopUps.Credit(ctx, in.AccountID, in.AmountCents, in.PaymentIntentID, in.AttemptID)
}

// AutoTopUpNotice says which email to send the owner.
type AutoTopUpNotice string

const (
	NoticeNeedsAuthentication AutoTopUpNotice = "needs_authentication"
	NoticeDeclined            AutoTopUpNotice = "declined"
)

// NotifyAutoTopUpInput is one email to an account's owner.
type NotifyAutoTopUpInput struct {
	AccountID   int64
	Notice      AutoTopUpNotice
	AmountCents int64
	Reason      string
	// WillRetry says the workflow retries on its own (a soft decline).
	WillRetry bool
	BaseURL   string
}

// NotifyAutoTopUp emails the account's owner about a failed or blocked
// auto top-up, with a link to fix it on the site.
func (a *Activities) NotifyAutoTopUp(ctx context.Context, in NotifyAutoTopUpInput) error {
	to, err := a.AutoTopUps.OwnerEmail(ctx, in.AccountID)
	if err != nil {
		return err
	}
	amount := fmt.Sprintf("$%d.%02d", in.AmountCents/100, in.AmountCents%100)
	m := mail.Message{To: to}
	switch in.Notice {
	case NoticeNeedsAuthentication:
		m.Subject = "Your Mobayilo auto top-up needs your approval"
		m.Text = fmt.Sprintf("Your bank asked to confirm the %s auto top-up, so we did not charge your card.\n\n"+
			"Finish the payment now, signed in, where your bank can ask you to approve it:\n%s/credits?amount=%d\n\n"+
			"Or save a different card for auto top-up:\n%s/autotopup\n\n"+
			"We will not try this charge again on our own.\n", amount, in.BaseURL, in.AmountCents, in.BaseURL)
	default:
		m.Subject = "Your Mobayilo auto top-up was declined"
		next := "Auto top-up is paused until you update your card or we retry it for you."
		if in.WillRetry {
			next = "We will retry a few times over the next hours; if it still fails, auto top-up pauses until you update your card."
		}
		m.Text = fmt.Sprintf("Your card was declined for the %s auto top-up (%s).\n\n%s\n\nUpdate your card or top up by hand:\n%s/autotopup\n",
			amount, in.Reason, next, in.BaseURL)
	}
	return a.Mailer.Send(ctx, m)
}
