package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/models"
)

// Postings posts ledger entries (internal/ledger).
type Postings interface {
	Post(ctx context.Context, p ledger.Posting) (ledger.Result, error)
}

// SavedCards keeps the card a payer chose to save for auto top-up
// (internal/autotopup).
type SavedCards interface {
	SaveTopUpCard(ctx context.Context, accountID int64, customerID, paymentMethodID, brand, last4 string) error
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
	return CreditTopUpResult{LedgerEntryID: res.Entry.ID, BalanceAfterCents: res.BalanceAfter(), Replayed: res.Replayed,
		CardBrand: card.Brand, CardLast4: card.Last4}, nil
}

// FinishTopUpInput closes an unpaid top-up.
type FinishTopUpInput struct {
	TopUpID string
	// Status is expired or failed (the workflow's PaymentExpired or
	// PaymentFailed, which are models.TopUpExpired and TopUpFailed).
	Status string
	Reason string
}

// FinishTopUp records that a top-up expired or failed; no money moved.
func (a *Activities) FinishTopUp(ctx context.Context, in FinishTopUpInput) error {
	return a.TopUps.Finish(ctx, in.TopUpID, models.TopUpStatus(in.Status), in.Reason)
}

// EmailTopUpReceipt mails the receipt of a paid top-up, once.
func (a *Activities) EmailTopUpReceipt(ctx context.Context, topUpID string) error {
	t, err := a.TopUps.Get(ctx, topUpID)
	if err != nil {
		return err
	}
	if t.ReceiptEmailedAt != nil || t.Status != models.TopUpSucceeded {
		return nil
	}
	u, err := a.TopUps.PayerOf(ctx, t)
	if err != nil {
		return fmt.Errorf("payer of top-up %s: %w", t.ID, err)
	}
	if err := a.Mailer.Send(ctx, receiptMessage(u.Email, t)); err != nil {
		return fmt.Errorf("mail receipt of top-up %s to user %d: %w", t.ID, u.ID, err)
	}
	return a.TopUps.MarkReceiptEmailed(ctx, t.ID)
}

func receiptMessage(to string, t models.TopUp) mail.Message {
	card := "card"
	if t.CardLast4 != "" {
		card = fmt.Sprintf("%s ending in %s", t.CardBrand, t.CardLast4)
	}
	paid := t.UpdatedAt
	if t.PaidAt != nil {
		paid = *t.PaidAt
	}
	return mail.Message{To: to, Subject: "Your Mobayilo receipt: " + money.Format(t.AmountCents) + " added", Text: "Hello,\n\n" +
		"Thank you. We added " + money.Format(t.AmountCents) + " of calling credit to your Mobayilo wallet.\n\n" +
		"Amount:   " + money.Format(t.AmountCents) + "\n" +
		"Paid with: " + card + "\n" +
		"Date:     " + paid.UTC().Format("2 January 2006 15:04 MST") + "\n" +
		"Top-up:   " + t.ID + "\n" +
		"Payment:  " + t.PaymentIntentID + "\n\n" +
		"Your receipts are on the Credits page.\n"}
}
