package activities

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/models"
)

// Activities that call the payment provider (Stripe, or the sandbox):
// checkout sessions, saved-card charges, on-session confirmation, setup
// mode.

// Payments is what top-ups need of the payment provider
// (internal/providers: Stripe, or the sandbox).
type Payments interface {
	EnsureCustomer(ctx context.Context, in providers.CustomerParams) (string, error)
	CreateCheckout(ctx context.Context, in providers.CheckoutParams) (providers.CheckoutSession, error)
	PaymentCard(ctx context.Context, paymentIntentID string) (providers.Card, error)
}

// CheckoutLifetime is how long a top-up's checkout session stays open,
// counted from the top-up's creation so that every activity retry asks
// Stripe for the same session (same Idempotency-Key, same parameters).
const CheckoutLifetime = time.Hour

// ErrTypeTopUpGone marks a top-up that no longer exists: no retry helps.
const ErrTypeTopUpGone = "TopUpGone"

// CreateTopUpCheckoutInput names the top-up; everything else is read from
// the database, so that workflow history holds no card or customer data.
type CreateTopUpCheckoutInput struct {
	TopUpID string
	// BaseURL is PUBLIC_BASE_URL, where Stripe sends the payer back.
	BaseURL string
}

// CreateTopUpCheckoutResult is where the payer goes and until when.
type CreateTopUpCheckoutResult struct {
	SessionID string
	URL       string
	ExpiresAt time.Time
}

// CreateTopUpCheckout makes sure the account has a Stripe customer, then
// opens the checkout session with an Idempotency-Key derived from the
// top-up id, and records it.
func (a *Activities) CreateTopUpCheckout(ctx context.Context, in CreateTopUpCheckoutInput) (CreateTopUpCheckoutResult, error) {
	t, err := a.TopUps.Get(ctx, in.TopUpID)
	if errors.Is(err, credits.ErrTopUpNotFound) {
		return CreateTopUpCheckoutResult{}, temporal.NewNonRetryableApplicationError("top-up "+in.TopUpID+" not found", ErrTypeTopUpGone, err)
	}
	if err != nil {
		return CreateTopUpCheckoutResult{}, err
	}
	customer, err := a.ensureCustomer(ctx, t)
	if err != nil {
		return CreateTopUpCheckoutResult{}, err
	}
	base := strings.TrimRight(in.BaseURL, "/")
	s, err := a.Payments.CreateCheckout(ctx, providers.CheckoutParams{
		TopUpID: t.ID, AccountID: t.AccountID, CustomerID: customer, AmountCents: t.AmountCents, SaveCard: t.SaveCard,
		SuccessURL: base + "/dial?topup=" + t.ID,
		CancelURL:  base + "/credits?topup=" + t.ID,
		ExpiresAt:  t.CreatedAt.Add(CheckoutLifetime).UTC().Truncate(time.Second),
	})
	if err != nil {
		return CreateTopUpCheckoutResult{}, err
	}
	if err := a.TopUps.RecordCheckout(ctx, t.ID, s.ID, s.URL, s.ExpiresAt); err != nil {
		return CreateTopUpCheckoutResult{}, err
	}
	return CreateTopUpCheckoutResult{SessionID: s.ID, URL: s.URL, ExpiresAt: s.ExpiresAt}, nil
}

// ensureCustomer returns the account's stored customer, creating it at
// the provider (with a key derived from the account) on first use.
func (a *Activities) ensureCustomer(ctx context.Context, t models.TopUp) (string, error) {
	id, err := a.TopUps.CustomerID(ctx, t.AccountID)
	if err != nil || id != "" {
		return id, err
	}
	u, err := a.TopUps.PayerOf(ctx, t)
	if err != nil {
		return "", fmt.Errorf("payer of top-up %s: %w", t.ID, err)
	}
	id, err = a.Payments.EnsureCustomer(ctx, providers.CustomerParams{AccountID: t.AccountID, Email: u.Email,
		Name: "account " + strconv.FormatInt(t.AccountID, 10)})
	if err != nil {
		return "", err
	}
	return a.TopUps.SaveCustomerID(ctx, t.AccountID, id)
}

// Charges is what auto top-up needs of the payment provider.
type Charges interface {
	ChargeSaved(ctx context.Context, in providers.ChargeParams) (providers.ChargeResult, error)
	FindCharge(ctx context.Context, attemptID string) (res providers.ChargeResult, found bool, err error)
	ConfirmOnSession(ctx context.Context, in providers.ConfirmParams) (providers.ConfirmResult, error)
	CancelPayment(ctx context.Context, paymentIntentID, attemptID string) (alreadyPaid bool, err error)
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

// ChargeAutoTopUp charges the attempt's card off-session with an
// Idempotency-Key from the attempt id, and records the outcome. The attempt
// fixes its card, customer and amount when it is first created, so every
// retry (and a later reconciliation) repeats exactly the same request and
// Stripe answers it from its idempotency store. A decline is a result;
// errors are worth retrying.
func (a *Activities) ChargeAutoTopUp(ctx context.Context, in ChargeAutoTopUpInput) (ChargeResult, error) {
	at, err := a.fixedAttempt(ctx, in)
	if err != nil {
		return ChargeResult{}, err
	}
	res, err := a.Charges.ChargeSaved(ctx, chargeParamsOf(at))
	if err != nil {
		return ChargeResult{}, err
	}
	if err := a.AutoTopUps.FinishAttempt(ctx, in.AttemptID, attemptStatus(res.Outcome), res.DeclineCode, res.Message, res.PaymentIntentID); err != nil {
		return ChargeResult{}, err
	}
	return chargeResultOf(res), nil
}

// fixedAttempt returns the attempt's row, creating it the first time with
// the card it charges. A row from before attempts fixed their card charges
// the account's current card, as it always did.
func (a *Activities) fixedAttempt(ctx context.Context, in ChargeAutoTopUpInput) (models.AutoTopUpAttempt, error) {
	at, err := a.AutoTopUps.Attempt(ctx, in.AttemptID)
	if err != nil || (at.ID != 0 && at.PaymentMethodID != "") {
		return at, err
	}
	s, err := a.AutoTopUps.Settings(ctx, in.AccountID)
	if err != nil {
		return at, err
	}
	if !s.HasCard() {
		return at, temporal.NewNonRetryableApplicationError("no saved card to charge", ErrTypeNoCard, nil)
	}
	if at.ID != 0 {
		at.CustomerID, at.PaymentMethodID = s.CustomerID, s.PaymentMethodID
		return at, nil
	}
	if err := a.AutoTopUps.StartAttempt(ctx, models.AutoTopUpAttempt{AttemptID: in.AttemptID, AccountID: in.AccountID,
		AmountCents: in.AmountCents, Status: models.AttemptCharging, CustomerID: s.CustomerID, PaymentMethodID: s.PaymentMethodID}); err != nil {
		return at, err
	}
	// The row as stored: a concurrent first try may have created it.
	return a.AutoTopUps.Attempt(ctx, in.AttemptID)
}

func chargeParamsOf(at models.AutoTopUpAttempt) providers.ChargeParams {
	return providers.ChargeParams{AttemptID: at.AttemptID, AccountID: at.AccountID, CustomerID: at.CustomerID,
		PaymentMethodID: at.PaymentMethodID, AmountCents: at.AmountCents}
}

// DeclineNotCharged is the decline code an attempt records when
// reconciliation found the provider never charged it: not a decline.
const DeclineNotCharged = "not_charged"

// ChargeKeyLifetime is how long after a charge its Idempotency-Key may be
// replayed safely: Stripe keeps keys for at least 24 hours.
const ChargeKeyLifetime = 23 * time.Hour

// ReconcileAutoTopUpInput names an attempt whose outcome nobody heard.
type ReconcileAutoTopUpInput struct {
	AttemptID string
	AccountID int64
}

// ReconcileAutoTopUpResult is what the payment provider says happened.
type ReconcileAutoTopUpResult struct {
	// Known: the provider has an outcome for the attempt (Result); false
	// means nothing was charged.
	Known       bool
	AmountCents int64
	Result      ChargeResult
}

// ReconcileAutoTopUp settles an attempt still "charging" (the charge's
// every try timed out, or the worker died): Stripe is searched for the
// PaymentIntent it made; while the Idempotency-Key is alive the very same
// request is replayed, and Stripe answers with the original outcome (or
// makes the charge now, once); after that, no PaymentIntent means nothing
// was charged. The outcome is recorded on the attempt. Errors are worth
// retrying; until this succeeds nothing else may be charged.
func (a *Activities) ReconcileAutoTopUp(ctx context.Context, in ReconcileAutoTopUpInput) (ReconcileAutoTopUpResult, error) {
	at, err := a.AutoTopUps.Attempt(ctx, in.AttemptID)
	if err != nil {
		return ReconcileAutoTopUpResult{}, err
	}
	switch {
	case at.ID == 0:
		return ReconcileAutoTopUpResult{}, nil // never recorded: never sent
	case at.AccountID != in.AccountID:
		return ReconcileAutoTopUpResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("attempt %s is not account %d's", in.AttemptID, in.AccountID), ErrTypePaymentMismatch, nil)
	case at.Status != models.AttemptCharging:
		// Settled meanwhile (a retry got through): report what it recorded.
		known := at.Status != models.AttemptError
		return ReconcileAutoTopUpResult{Known: known, AmountCents: at.AmountCents, Result: ChargeResult{PaymentIntentID: at.PaymentIntentID,
			Outcome: outcomeOf(at.Status), DeclineCode: at.DeclineCode, Message: at.Message}}, nil
	}
	res, found, err := a.Charges.FindCharge(ctx, at.AttemptID)
	if err != nil {
		return ReconcileAutoTopUpResult{}, err
	}
	if !found && a.now().Sub(at.CreatedAt) < ChargeKeyLifetime {
		if at.PaymentMethodID == "" {
			if at, err = a.fixedAttempt(ctx, ChargeAutoTopUpInput{AttemptID: at.AttemptID, AccountID: at.AccountID, AmountCents: at.AmountCents}); err != nil {
				return ReconcileAutoTopUpResult{}, err
			}
		}
		if res, err = a.Charges.ChargeSaved(ctx, chargeParamsOf(at)); err != nil {
			return ReconcileAutoTopUpResult{}, err
		}
		found = true
	}
	if !found {
		if err := a.AutoTopUps.FinishAttempt(ctx, at.AttemptID, models.AttemptError, DeclineNotCharged, "the payment provider has no charge for this attempt", ""); err != nil {
			return ReconcileAutoTopUpResult{}, err
		}
		return ReconcileAutoTopUpResult{AmountCents: at.AmountCents}, nil
	}
	if err := a.AutoTopUps.FinishAttempt(ctx, at.AttemptID, attemptStatus(res.Outcome), res.DeclineCode, res.Message, res.PaymentIntentID); err != nil {
		return ReconcileAutoTopUpResult{}, err
	}
	return ReconcileAutoTopUpResult{Known: true, AmountCents: at.AmountCents, Result: chargeResultOf(res)}, nil
}

// outcomeOf is the charge outcome an attempt's status records.
func outcomeOf(st models.AutoTopUpAttemptStatus) ChargeOutcome {
	switch st {
	case models.AttemptSucceeded:
		return ChargeSucceeded
	case models.AttemptNeedsAuthentication:
		return ChargeNeedsAuthentication
	case models.AttemptHardDecline:
		return ChargeHardDecline
	}
	return ChargeSoftDecline
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

// SetupPayments is what saving a card needs of the payment provider
// (internal/providers: Stripe, or the sandbox).
type SetupPayments interface {
	CreateSetupCheckout(ctx context.Context, in providers.SetupCheckoutParams) (providers.CheckoutSession, error)
	SetupCard(ctx context.Context, setupIntentID string) (providers.Card, error)
}

// CreateCardSetupCheckoutInput names the setup; the rest is read from the
// database, so workflow history holds no customer data.
type CreateCardSetupCheckoutInput struct {
	SetupID string
	// BaseURL is PUBLIC_BASE_URL, where Stripe sends the owner back.
	BaseURL string
}

// CreateCardSetupCheckoutResult is where the owner goes and until when.
type CreateCardSetupCheckoutResult struct {
	SessionID string
	URL       string
	ExpiresAt time.Time
}

// CreateCardSetupCheckout makes sure the account has a Stripe customer
// (the same one top-ups use), then opens the setup-mode checkout with an
// Idempotency-Key derived from the setup id, and records it.
func (a *Activities) CreateCardSetupCheckout(ctx context.Context, in CreateCardSetupCheckoutInput) (CreateCardSetupCheckoutResult, error) {
	cs, err := a.CardSetups.Setup(ctx, in.SetupID)
	if err != nil {
		return CreateCardSetupCheckoutResult{}, err
	}
	// ensureCustomer reads only the account and the user of what it is
	// given: the owner who asked for the setup is the payer.
	customer, err := a.ensureCustomer(ctx, models.TopUp{ID: "(card setup " + cs.ID + ")", AccountID: cs.AccountID, UserID: cs.UserID})
	if err != nil {
		return CreateCardSetupCheckoutResult{}, err
	}
	base := strings.TrimRight(in.BaseURL, "/")
	s, err := a.SetupPayments.CreateSetupCheckout(ctx, providers.SetupCheckoutParams{
		SetupID: cs.ID, AccountID: cs.AccountID, CustomerID: customer,
		SuccessURL: base + "/autotopup?done=card-saved",
		CancelURL:  base + "/autotopup",
		// From the setup's creation, so every retry asks for the same session.
		ExpiresAt: cs.CreatedAt.Add(CheckoutLifetime).UTC().Truncate(time.Second),
	})
	if err != nil {
		return CreateCardSetupCheckoutResult{}, err
	}
	if err := a.CardSetups.RecordSetupCheckout(ctx, cs.ID, s.ID, s.URL, s.ExpiresAt); err != nil {
		return CreateCardSetupCheckoutResult{}, err
	}
	return CreateCardSetupCheckoutResult{SessionID: s.ID, URL: s.URL, ExpiresAt: s.ExpiresAt}, nil
}

// SaveSetupCardInput is a completed setup checkout.
type SaveSetupCardInput struct {
	SetupID       string
	SetupIntentID string
}

// SaveSetupCardResult is the card as shown.
type SaveSetupCardResult struct {
	Brand string
	Last4 string
}

// SaveSetupCard reads the card the SetupIntent saved, keeps it as the
// account's auto top-up card and marks the setup saved. Each step is
// idempotent, so a retried activity does no harm.
func (a *Activities) SaveSetupCard(ctx context.Context, in SaveSetupCardInput) (SaveSetupCardResult, error) {
	if in.SetupIntentID == "" {
		return SaveSetupCardResult{}, errors.New("card setup " + in.SetupID + ": completed without a setup intent")
	}
	cs, err := a.CardSetups.Setup(ctx, in.SetupID)
	if err != nil {
		return SaveSetupCardResult{}, err
	}
	card, err := a.SetupPayments.SetupCard(ctx, in.SetupIntentID)
	if err != nil {
		return SaveSetupCardResult{}, err
	}
	customer, err := a.TopUps.CustomerID(ctx, cs.AccountID)
	if err != nil {
		return SaveSetupCardResult{}, err
	}
	if err := a.SavedCards.SaveTopUpCard(ctx, cs.AccountID, customer, card.PaymentMethodID, card.Brand, card.Last4); err != nil {
		return SaveSetupCardResult{}, err
	}
	if err := a.CardSetups.FinishSetup(ctx, cs.ID, models.CardSetupSaved, in.SetupIntentID, card.Brand, card.Last4); err != nil {
		return SaveSetupCardResult{}, err
	}
	return SaveSetupCardResult{Brand: card.Brand, Last4: card.Last4}, nil
}
