package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/providers"
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
	if err := a.Mailer.Send(ctx, receiptMessage(u.Email, credits.ReceiptOfTopUp(t), "")); err != nil {
		return fmt.Errorf("mail receipt of top-up %s to user %d: %w", t.ID, u.ID, err)
	}
	return a.TopUps.MarkReceiptEmailed(ctx, t.ID)
}

// AutoTopUpReceiptInput names one credited auto top-up charge.
type AutoTopUpReceiptInput struct {
	AccountID       int64
	AttemptID       string
	AmountCents     int64
	PaymentIntentID string
	// BaseURL is PUBLIC_BASE_URL, where the receipt's page is linked.
	BaseURL string
}

// ErrTypeReceiptRefused marks a receipt asked for a payment the ledger has
// not credited: no retry makes it right.
const ErrTypeReceiptRefused = "ReceiptRefused"

// EmailAutoTopUpReceipt stores the receipt of a credited auto top-up (one
// per PaymentIntent) and mails it to the account's owner once: a retry
// after the mail went out sends nothing, and a retry after a failed send
// finds the receipt already stored.
func (a *Activities) EmailAutoTopUpReceipt(ctx context.Context, in AutoTopUpReceiptInput) error {
	r, err := a.TopUps.AutoTopUpReceipt(ctx, in.PaymentIntentID)
	if errors.Is(err, credits.ErrReceiptNotFound) {
		r, err = a.recordAutoTopUpReceipt(ctx, in)
	}
	if err != nil {
		return err
	}
	if r.EmailedAt != nil {
		return nil
	}
	to, err := a.AutoTopUps.OwnerEmail(ctx, r.AccountID)
	if err != nil {
		return fmt.Errorf("owner of account %d: %w", r.AccountID, err)
	}
	if err := a.Mailer.Send(ctx, receiptMessage(to, credits.ReceiptOfAutoTopUp(r), in.BaseURL)); err != nil {
		return fmt.Errorf("mail receipt %s to the owner of account %d: %w", r.ID, r.AccountID, err)
	}
	return a.TopUps.MarkAutoTopUpReceiptEmailed(ctx, r.ID)
}

// recordAutoTopUpReceipt stores the receipt of a payment the ledger holds,
// with the card the PaymentIntent was paid by (the saved card when the
// provider cannot say: the receipt stands without the provider).
func (a *Activities) recordAutoTopUpReceipt(ctx context.Context, in AutoTopUpReceiptInput) (models.AutoTopUpReceipt, error) {
	if in.PaymentIntentID == "" || in.AccountID == 0 || in.AmountCents <= 0 {
		return models.AutoTopUpReceipt{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("auto top-up receipt request is incomplete (account %d, attempt %q)", in.AccountID, in.AttemptID), ErrTypeReceiptRefused, nil)
	}
	credited, err := a.AutoTopUps.Credited(ctx, in.PaymentIntentID)
	if err != nil {
		return models.AutoTopUpReceipt{}, err
	}
	if !credited {
		return models.AutoTopUpReceipt{}, temporal.NewNonRetryableApplicationError(
			"no receipt for "+in.PaymentIntentID+": the ledger has not credited it", ErrTypeReceiptRefused, nil)
	}
	card, err := a.Payments.PaymentCard(ctx, in.PaymentIntentID)
	if err != nil || card.Last4 == "" {
		if err != nil {
			activity.GetLogger(ctx).Warn("auto top-up receipt: card from the saved card", "payment_intent", in.PaymentIntentID, "error", err.Error())
		}
		s, serr := a.AutoTopUps.Settings(ctx, in.AccountID)
		if serr != nil {
			return models.AutoTopUpReceipt{}, serr
		}
		card = providers.Card{Brand: s.CardBrand, Last4: s.CardLast4}
	}
	return a.TopUps.RecordAutoTopUpReceipt(ctx, models.AutoTopUpReceipt{AccountID: in.AccountID, AttemptID: in.AttemptID,
		PaymentIntentID: in.PaymentIntentID, AmountCents: in.AmountCents, CardBrand: card.Brand, CardLast4: card.Last4})
}

// receiptMessage is the receipt email of either kind; baseURL, when set,
// links the receipt's own page.
func receiptMessage(to string, r credits.AccountReceipt, baseURL string) mail.Message {
	card := "card"
	if r.CardLast4 != "" {
		card = fmt.Sprintf("%s ending in %s", r.CardBrand, r.CardLast4)
	}
	amount := money.Format(r.AmountCents)
	subject, intro, ref := "Your Mobayilo receipt: "+amount+" added",
		"Thank you. We added "+amount+" of calling credit to your Mobayilo wallet.", "Top-up:   "+r.Ref
	if r.Kind == credits.ReceiptAutoTopUp {
		subject = "Your Mobayilo auto top-up receipt: " + amount + " added"
		intro = "Your balance fell below your auto top-up threshold, so we charged your saved card and added " + amount + " of calling credit to your Mobayilo wallet."
		ref = "Receipt:  " + r.ID
	}
	where := "Your receipts are on the Credits page.\n"
	if baseURL != "" {
		where = "This receipt is also at " + strings.TrimRight(baseURL, "/") + "/credits/receipts/" + r.ID + "\n"
	}
	return mail.Message{To: to, Subject: subject, Text: "Hello,\n\n" + intro + "\n\n" +
		"Amount:   " + amount + "\n" +
		"Paid with: " + card + "\n" +
		"Date:     " + r.PaidAt.UTC().Format("2 January 2006 15:04 MST") + "\n" +
		ref + "\n" +
		"Payment:  " + r.PaymentIntentID + "\n\n" + where}
}
