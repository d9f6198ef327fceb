package providers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/stripe/stripe-go/v76"
)

// Off-session charges of a saved card (auto top-up) and their
// cancellation: the live (Stripe) and sandbox halves side by side.

// ChargeIdempotencyKey derives the Idempotency-Key of one off-session charge
// attempt from the attempt id, stable across activity retries.
func ChargeIdempotencyKey(attemptID string) string { return "charge-attempt-" + attemptID }

// ChargeParams describes one off-session charge of a saved card.
type ChargeParams struct {
	AttemptID       string
	AccountID       int64
	CustomerID      string
	PaymentMethodID string
	AmountCents     int64
}

// ChargeOutcome is what became of a charge.
type ChargeOutcome string

const (
	ChargeSucceeded ChargeOutcome = "succeeded"
	// ChargeNeedsAuthentication: the bank wants the cardholder present
	// (SCA). Never retried automatically.
	ChargeNeedsAuthentication ChargeOutcome = "needs_authentication"
	// ChargeSoftDecline: may succeed later (insufficient funds, issuer busy).
	ChargeSoftDecline ChargeOutcome = "soft_decline"
	// ChargeHardDecline: will not succeed with this card; stop at once.
	ChargeHardDecline ChargeOutcome = "hard_decline"
)

// ChargeResult is the outcome with the provider's ids and reason.
type ChargeResult struct {
	PaymentIntentID string
	Outcome         ChargeOutcome
	DeclineCode     string
	Message         string
}

// hardDeclines are Stripe decline codes that retrying cannot fix: the card
// or account is gone, blocked or fraudulent. Everything else declined is
// treated as soft, with a bounded number of retries.
// https://docs.stripe.com/declines/codes
var hardDeclines = map[string]bool{
	"card_not_supported": true, "currency_not_supported": true,
	"do_not_try_again": true, "expired_card": true, "fraudulent": true,
	"incorrect_number": true, "incorrect_cvc": true, "invalid_account": true, "invalid_amount": true,
	"invalid_cvc": true, "invalid_expiry_month": true, "invalid_expiry_year": true, "invalid_number": true,
	"lost_card": true, "merchant_blacklist": true, "new_account_information_available": true,
	"no_action_taken": true, "not_permitted": true, "pickup_card": true, "restricted_card": true,
	"revocation_of_all_authorizations": true, "revocation_of_authorization": true,
	"security_violation": true, "service_not_allowed": true, "stolen_card": true,
	"stop_payment_order": true, "transaction_not_allowed": true, "generic_decline": true,
}

// ClassifyDecline maps a Stripe error code and decline code to an outcome.
func ClassifyDecline(code, declineCode string) ChargeOutcome {
	switch {
	case code == "authentication_required" || declineCode == "authentication_required":
		return ChargeNeedsAuthentication
	case hardDeclines[declineCode]:
		return ChargeHardDecline
	case code == "expired_card" || code == "incorrect_number" || code == "invalid_cvc":
		return ChargeHardDecline
	}
	return ChargeSoftDecline
}

// ChargeSaved charges a saved card off-session. A decline is a result, not
// an error; errors are for failures worth retrying (network, 5xx).
func (p *stripePayments) ChargeSaved(ctx context.Context, in ChargeParams) (ChargeResult, error) {
	params := &stripe.PaymentIntentParams{
		Amount:        stripe.Int64(in.AmountCents),
		Currency:      stripe.String(string(stripe.CurrencyUSD)),
		Customer:      stripe.String(in.CustomerID),
		PaymentMethod: stripe.String(in.PaymentMethodID),
		Confirm:       stripe.Bool(true),
		OffSession:    stripe.Bool(true),
	}
	params.Context = ctx
	params.SetIdempotencyKey(ChargeIdempotencyKey(in.AttemptID))
	params.AddMetadata("attempt_id", in.AttemptID)
	params.AddMetadata("account_id", strconv.FormatInt(in.AccountID, 10))
	pi, err := p.api.PaymentIntents.New(params)
	if err == nil {
		if pi.Status == stripe.PaymentIntentStatusSucceeded {
			return ChargeResult{PaymentIntentID: pi.ID, Outcome: ChargeSucceeded}, nil
		}
		if pi.Status == stripe.PaymentIntentStatusRequiresAction {
			return ChargeResult{PaymentIntentID: pi.ID, Outcome: ChargeNeedsAuthentication}, nil
		}
		if pi.Status == stripe.PaymentIntentStatusRequiresPaymentMethod {
			// Confirmed but not paid, without a card error: treat as a
			// decline that may clear later.
			return ChargeResult{PaymentIntentID: pi.ID, Outcome: ChargeSoftDecline, DeclineCode: string(pi.Status)}, nil
		}
		return ChargeResult{}, fmt.Errorf("stripe: payment intent %s is %s", pi.ID, pi.Status)
	}
	var se *stripe.Error
	if errors.As(err, &se) && se.Type == stripe.ErrorTypeCard {
		res := ChargeResult{Outcome: ClassifyDecline(string(se.Code), string(se.DeclineCode)), DeclineCode: string(se.DeclineCode), Message: se.Msg}
		if res.DeclineCode == "" {
			res.DeclineCode = string(se.Code)
		}
		if se.PaymentIntent != nil {
			res.PaymentIntentID = se.PaymentIntent.ID
		}
		return res, nil
	}
	return ChargeResult{}, fmt.Errorf("stripe: charge attempt %s: %w", in.AttemptID, err)
}

// ErrPaymentProcessing: the PaymentIntent is settling at the bank; only its
// webhook says whether it was paid.
var ErrPaymentProcessing = errors.New("payment is processing")

// Sandbox test payment methods, with the semantics of Stripe's own.
const (
	SandboxCardVisa                  = "pm_card_visa"
	SandboxCardDeclined              = "pm_card_chargeDeclined"
	SandboxCardInsufficientFunds     = "pm_card_chargeDeclinedInsufficientFunds"
	SandboxCardAuthenticationRequire = "pm_card_authenticationRequired"
)

// ChargeSaved in the sandbox behaves like Stripe's test payment methods,
// and remembers each charge for FindCharge.
func (s sandboxPayments) ChargeSaved(ctx context.Context, in ChargeParams) (ChargeResult, error) {
	res, err := sandboxCharge(in)
	if err == nil && s.charges != nil {
		s.charges.Store(in.AttemptID, res)
	}
	return res, err
}

// FindCharge in the sandbox finds the charges this process made.
func (s sandboxPayments) FindCharge(_ context.Context, attemptID string) (ChargeResult, bool, error) {
	if s.charges == nil {
		return ChargeResult{}, false, nil
	}
	v, ok := s.charges.Load(attemptID)
	if !ok {
		return ChargeResult{}, false, nil
	}
	return v.(ChargeResult), true, nil
}

// FindCharge searches Stripe for the PaymentIntent an attempt created
// (metadata attempt_id), for a charge whose answer was lost. Stripe's
// search trails writes by up to a minute, so not found is not proof that
// nothing was charged: the caller replays the idempotent request while the
// key is alive. A PaymentIntent still processing is ErrPaymentProcessing.
func (p *stripePayments) FindCharge(ctx context.Context, attemptID string) (ChargeResult, bool, error) {
	params := &stripe.PaymentIntentSearchParams{}
	params.Query = fmt.Sprintf("metadata['attempt_id']:'%s'", strings.ReplaceAll(attemptID, "'", ""))
	params.Context = ctx
	it := p.api.PaymentIntents.Search(params)
	for it.Next() {
		pi := it.PaymentIntent()
		if pi.Metadata["attempt_id"] != attemptID {
			continue
		}
		res := ChargeResult{PaymentIntentID: pi.ID}
		switch pi.Status {
		case stripe.PaymentIntentStatusSucceeded:
			res.Outcome = ChargeSucceeded
		case stripe.PaymentIntentStatusRequiresAction, stripe.PaymentIntentStatusRequiresConfirmation:
			res.Outcome = ChargeNeedsAuthentication
		case stripe.PaymentIntentStatusProcessing:
			return ChargeResult{}, false, fmt.Errorf("%w: %s", ErrPaymentProcessing, pi.ID)
		default: // requires_payment_method after a decline, or canceled
			res.Outcome, res.DeclineCode = ChargeSoftDecline, string(pi.Status)
			if e := pi.LastPaymentError; e != nil {
				res.Outcome, res.DeclineCode, res.Message = ClassifyDecline(string(e.Code), string(e.DeclineCode)), string(e.DeclineCode), e.Msg
				if res.DeclineCode == "" {
					res.DeclineCode = string(e.Code)
				}
			}
		}
		return res, true, nil
	}
	if err := it.Err(); err != nil {
		return ChargeResult{}, false, fmt.Errorf("stripe: search the charge of attempt %s: %w", attemptID, err)
	}
	return ChargeResult{}, false, nil
}

// sandboxCharge is what Stripe's test payment methods answer.
func sandboxCharge(in ChargeParams) (ChargeResult, error) {
	id := "pi_sandbox_" + in.AttemptID
	switch in.PaymentMethodID {
	case SandboxCardVisa:
		return ChargeResult{PaymentIntentID: id, Outcome: ChargeSucceeded}, nil
	case SandboxCardDeclined:
		return ChargeResult{PaymentIntentID: id, Outcome: ClassifyDecline("card_declined", "generic_decline"), DeclineCode: "generic_decline", Message: "Your card was declined."}, nil
	case SandboxCardInsufficientFunds:
		return ChargeResult{PaymentIntentID: id, Outcome: ClassifyDecline("card_declined", "insufficient_funds"), DeclineCode: "insufficient_funds", Message: "Your card has insufficient funds."}, nil
	case SandboxCardAuthenticationRequire:
		return ChargeResult{PaymentIntentID: id, Outcome: ClassifyDecline("authentication_required", "authentication_required"), DeclineCode: "authentication_required", Message: "This payment requires authentication."}, nil
	}
	return ChargeResult{}, fmt.Errorf("sandbox: unknown payment method %q: use %s, %s, %s or %s", in.PaymentMethodID,
		SandboxCardVisa, SandboxCardDeclined, SandboxCardInsufficientFunds, SandboxCardAuthenticationRequire)
}

// CancelIdempotencyKey derives the Idempotency-Key of the cancellation of
// an attempt's PaymentIntent.
func CancelIdempotencyKey(attemptID string) string { return "cancel-attempt-" + attemptID }

// CancelPayment cancels an attempt's PaymentIntent that waits for the
// payer's authentication, before a new charge replaces it, so the payer
// cannot pay both. alreadyPaid reports that it had succeeded meanwhile:
// then it must be credited, and nothing charged anew. A PaymentIntent
// already canceled is no error.
func (p *stripePayments) CancelPayment(ctx context.Context, paymentIntentID, attemptID string) (alreadyPaid bool, err error) {
	params := &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String(string(stripe.PaymentIntentCancellationReasonAbandoned))}
	params.Context = ctx
	params.SetIdempotencyKey(CancelIdempotencyKey(attemptID))
	pi, err := p.api.PaymentIntents.Cancel(paymentIntentID, params)
	var se *stripe.Error
	if err != nil && errors.As(err, &se) && se.PaymentIntent != nil {
		pi, err = se.PaymentIntent, nil
	}
	if err != nil {
		return false, fmt.Errorf("stripe: cancel %s of attempt %s: %w", paymentIntentID, attemptID, err)
	}
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		return true, nil
	case stripe.PaymentIntentStatusProcessing:
		// Not paid yet and no longer cancelable: it ends in a webhook. Never
		// credit it now, and never charge beside it.
		return false, fmt.Errorf("%w: %s", ErrPaymentProcessing, pi.ID)
	case stripe.PaymentIntentStatusCanceled:
		return false, nil
	}
	return false, fmt.Errorf("stripe: payment intent %s is %s after cancellation", pi.ID, pi.Status)
}

// CancelPayment in the sandbox has nothing to call: the attempt row, which
// the sandbox authentication page reads, records the cancellation.
func (sandboxPayments) CancelPayment(_ context.Context, paymentIntentID, _ string) (bool, error) {
	if !strings.HasPrefix(paymentIntentID, "pi_sandbox_") {
		return false, fmt.Errorf("sandbox: unknown payment intent %q", paymentIntentID)
	}
	return false, nil
}
