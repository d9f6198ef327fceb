package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/money"
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
	// SpentSince counts the charges made since since that count against the
	// daily cap, and their amount.
	SpentSince(ctx context.Context, accountID int64, since time.Time) (count int, cents int64, err error)
	// Attempt returns one attempt, or a zero one (ID 0) when there is none.
	Attempt(ctx context.Context, attemptID string) (models.AutoTopUpAttempt, error)
	// Credited reports whether a PaymentIntent's credit is in the ledger.
	Credited(ctx context.Context, paymentIntentID string) (bool, error)
	// Credit posts one auto_topup ledger entry keyed by the PaymentIntent id
	// and returns the balance after it; a replay posts nothing.
	Credit(ctx context.Context, accountID, amountCents int64, paymentIntentID, attemptID string) (balanceAfter int64, err error)
}

// Charges is what auto top-up needs of the payment provider.
type Charges interface {
	ChargeSaved(ctx context.Context, in providers.ChargeParams) (providers.ChargeResult, error)
	ConfirmOnSession(ctx context.Context, in providers.ConfirmParams) (providers.ConfirmResult, error)
	CancelPayment(ctx context.Context, paymentIntentID, attemptID string) (alreadyPaid bool, err error)
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
	return AutoTopUpCheck{
		Enabled: s.Enabled && s.HasCard() && acct.Status == models.StatusActive, HasCard: s.HasCard(),
		AvailableCents: acct.AvailableCents(), ThresholdCents: s.ThresholdCents, AmountCents: s.AmountCents,
		DailyMaxCount: s.DailyMaxCount, DailyMaxCents: s.DailyMaxCents, TodayCount: n, TodayCents: cents,
	}, nil
}

// ChargeAutoTopUpInput is one off-session charge attempt.
type ChargeAutoTopUpInput struct {
	AttemptID   string
	AccountID   int64
	AmountCents int64
}

// ErrTypePaymentProcessing marks a waiting charge that is settling at the
// bank: it can neither be canceled nor credited until its webhook arrives.
const ErrTypePaymentProcessing = "AutoTopUpPaymentProcessing"

// ChargeOutcome is how an off-session charge or an on-session
// confirmation ended: what the AutoTopUp workflow branches on. The values
// are the payment provider's own.
type ChargeOutcome string

// The outcomes of a charge.
const (
	ChargeSucceeded           = ChargeOutcome(providers.ChargeSucceeded)
	ChargeNeedsAuthentication = ChargeOutcome(providers.ChargeNeedsAuthentication)
	ChargeSoftDecline         = ChargeOutcome(providers.ChargeSoftDecline)
	ChargeHardDecline         = ChargeOutcome(providers.ChargeHardDecline)
)

// ChargeResult is a charge's outcome with the PaymentIntent and the bank's
// reason.
type ChargeResult struct {
	PaymentIntentID string
	Outcome         ChargeOutcome
	DeclineCode     string
	Message         string
}

func chargeResultOf(r providers.ChargeResult) ChargeResult {
	return ChargeResult{PaymentIntentID: r.PaymentIntentID, Outcome: ChargeOutcome(r.Outcome), DeclineCode: r.DeclineCode, Message: r.Message}
}

// ConfirmResult says what the owner has to do next after an approval.
type ConfirmResult struct {
	PaymentIntentID string
	// RedirectURL is the bank's authentication page; empty when nothing is
	// left for the owner to do.
	RedirectURL string
	Outcome     ChargeOutcome
	DeclineCode string
	Message     string
}

// ErrTypeNoCard marks a charge attempted with no saved card: not retryable.
const ErrTypeNoCard = "AutoTopUpNoCard"

// ChargeAutoTopUp records the attempt, charges the saved card off-session
// with an Idempotency-Key from the attempt id, and records the outcome. A
// decline is a result; errors are worth retrying (the same key makes the
// retry harmless at Stripe).
func (a *Activities) ChargeAutoTopUp(ctx context.Context, in ChargeAutoTopUpInput) (ChargeResult, error) {
	s, err := a.AutoTopUps.Settings(ctx, in.AccountID)
	if err != nil {
		return ChargeResult{}, err
	}
	if !s.HasCard() {
		return ChargeResult{}, temporal.NewNonRetryableApplicationError("no saved card to charge", ErrTypeNoCard, nil)
	}
	if err := a.AutoTopUps.StartAttempt(ctx, models.AutoTopUpAttempt{AttemptID: in.AttemptID, AccountID: in.AccountID,
		AmountCents: in.AmountCents, Status: models.AttemptCharging}); err != nil {
		return ChargeResult{}, err
	}
	res, err := a.Charges.ChargeSaved(ctx, providers.ChargeParams{AttemptID: in.AttemptID, AccountID: in.AccountID,
		CustomerID: s.CustomerID, PaymentMethodID: s.PaymentMethodID, AmountCents: in.AmountCents})
	if err != nil {
		return ChargeResult{}, err
	}
	if err := a.AutoTopUps.FinishAttempt(ctx, in.AttemptID, attemptStatus(res.Outcome), res.DeclineCode, res.Message, res.PaymentIntentID); err != nil {
		return ChargeResult{}, err
	}
	return chargeResultOf(res), nil
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

// ReleaseAutoTopUpInput names a charge waiting for approval that a new
// charge is about to replace.
type ReleaseAutoTopUpInput struct {
	AttemptID       string
	AccountID       int64
	PaymentIntentID string
}

// ReleaseAutoTopUp cancels a waiting charge's PaymentIntent before a new
// charge, so the owner can never pay both, and records the attempt as
// replaced. It returns true when the PaymentIntent had been paid meanwhile:
// then it is to be credited, and nothing charged anew.
func (a *Activities) ReleaseAutoTopUp(ctx context.Context, in ReleaseAutoTopUpInput) (alreadyPaid bool, err error) {
	at, err := a.attemptFor(ctx, in.AccountID, in.AttemptID, in.PaymentIntentID)
	if err != nil {
		return false, err
	}
	if at.Status == models.AttemptSucceeded {
		return true, nil
	}
	if in.PaymentIntentID != "" {
		paid, err := a.Charges.CancelPayment(ctx, in.PaymentIntentID, in.AttemptID)
		if errors.Is(err, providers.ErrPaymentProcessing) {
			// Retrying cannot help until the bank answers; the webhook will.
			return false, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypePaymentProcessing, err)
		}
		if err != nil || paid {
			return paid, err
		}
	}
	if at.Status != models.AttemptNeedsAuthentication {
		return false, nil
	}
	return false, a.AutoTopUps.FinishAttempt(ctx, in.AttemptID, models.AttemptError, "canceled", "replaced by a new charge before it was approved", in.PaymentIntentID)
}

// ApproveAutoTopUpInput asks to confirm a waiting charge on-session.
type ApproveAutoTopUpInput struct {
	AttemptID       string
	AccountID       int64
	PaymentIntentID string
	Round           int
	ReturnURL       string
}

// ApproveAutoTopUp confirms the attempt's own PaymentIntent with the owner
// present and returns where to authenticate. An attempt already paid
// answers succeeded without calling Stripe.
func (a *Activities) ApproveAutoTopUp(ctx context.Context, in ApproveAutoTopUpInput) (ConfirmResult, error) {
	at, err := a.attemptFor(ctx, in.AccountID, in.AttemptID, in.PaymentIntentID)
	if err != nil {
		return ConfirmResult{}, err
	}
	switch at.Status {
	case models.AttemptSucceeded:
		return ConfirmResult{PaymentIntentID: in.PaymentIntentID, Outcome: ChargeSucceeded}, nil
	case models.AttemptNeedsAuthentication:
	default:
		return ConfirmResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("attempt %s is %s, not waiting for approval", in.AttemptID, at.Status), ErrTypeAttemptNotWaiting, nil)
	}
	s, err := a.AutoTopUps.Settings(ctx, in.AccountID)
	if err != nil {
		return ConfirmResult{}, err
	}
	r, err := a.Charges.ConfirmOnSession(ctx, providers.ConfirmParams{PaymentIntentID: in.PaymentIntentID, PaymentMethodID: s.PaymentMethodID,
		ReturnURL: in.ReturnURL, AttemptID: in.AttemptID, Round: in.Round})
	if err != nil {
		return ConfirmResult{}, err
	}
	return ConfirmResult{PaymentIntentID: r.PaymentIntentID, RedirectURL: r.RedirectURL, Outcome: ChargeOutcome(r.Outcome),
		DeclineCode: r.DeclineCode, Message: r.Message}, nil
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
	amount := money.Format(in.AmountCents)
	m := mail.Message{To: to}
	switch in.Notice {
	case NoticeNeedsAuthentication:
		m.Subject = "Your Mobayilo auto top-up needs your approval"
		m.Text = fmt.Sprintf("Your bank asked to confirm the %s auto top-up, so we did not charge your card.\n\n"+
			"Approve the payment now, signed in, where your bank can ask you to confirm it:\n%s/autotopup/approve\n\n"+
			"Or save a different card for auto top-up:\n%s/autotopup\n\n"+
			"We will not try this charge again on our own.\n", amount, in.BaseURL, in.BaseURL)
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
