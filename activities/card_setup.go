package activities

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/models"
)

// The SaveCard workflow's activities: open a Checkout Session in setup mode
// for a card setup, then read the card Stripe saved and keep it as the
// account's auto top-up card.

// CardSetups stores card setups (internal/autotopup).
type CardSetups interface {
	Setup(ctx context.Context, id string) (models.CardSetup, error)
	RecordSetupCheckout(ctx context.Context, id, sessionID, url string, expiresAt time.Time) error
	FinishSetup(ctx context.Context, id string, status models.CardSetupStatus, setupIntentID, brand, last4 string) error
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

// FinishCardSetupInput closes a setup that saved no card.
type FinishCardSetupInput struct {
	SetupID string
	// Status is expired or failed (models.CardSetupExpired or Failed).
	Status string
}

// FinishCardSetup records that a setup expired or failed.
func (a *Activities) FinishCardSetup(ctx context.Context, in FinishCardSetupInput) error {
	return a.CardSetups.FinishSetup(ctx, in.SetupID, models.CardSetupStatus(in.Status), "", "", "")
}
