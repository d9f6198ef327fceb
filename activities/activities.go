// Package activities holds the one Activities struct whose methods Temporal
// workflows call. Its fields are small interfaces, declared here by the
// consumer, so tests pass fakes and the worker passes the real services.
// Methods are split across files by the system they touch: stripe.go,
// ledger.go, mail.go, and store.go for the records that move no money.
package activities

import (
	"context"
	"time"

	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/providers"
)

// Ledger is what activities need of the ledger service.
type Ledger interface {
	Verify(ctx context.Context) ([]ledger.Discrepancy, error)
}

// Activities is registered once with the worker.
type Activities struct {
	Ledger Ledger
	// Mailer, Users and LoginLinks send sign-in and password-reset links
	// (mail.go).
	Mailer     mail.Sender
	Users      Users
	LoginLinks LoginLinks
	// Payments, TopUps and Postings carry the TopUp workflow: checkout,
	// receipts and the one ledger credit per payment (stripe.go, credits.go).
	Payments Payments
	TopUps   TopUps
	Postings Postings
	// SavedCards, when set, keeps a card the payer chose to save while
	// topping up as the account's auto top-up card.
	SavedCards SavedCards
	// AutoTopUps and Charges run the AutoTopUp workflow (auto_top_up.go).
	AutoTopUps AutoTopUps
	Charges    Charges
	// CardSetups and SetupPayments run the SaveCard workflow
	// (card_setup.go); it saves the card through SavedCards.
	CardSetups    CardSetups
	SetupPayments SetupPayments
	// Calls, Telephony and DebitHook run the Call workflow (ledger.go,
	// twilio.go); BridgeURLs gives Twilio our webhooks for a bridge call's
	// owner leg.
	Calls      Calls
	Telephony  Telephony
	DebitHook  DebitHook
	BridgeURLs BridgeURLs
	// CreditHook runs after top-up and auto top-up credits (ledger.go).
	CreditHook CreditHook
	// CallerIDs, CallerIDVerifier and CallerIDCallbacks run the
	// CallerIDVerification workflow (caller_id.go, twilio.go).
	CallerIDs         CallerIDs
	CallerIDVerifier  CallerIDVerifier
	CallerIDCallbacks CallerIDCallbacks
	// Numbers, NumberShop and NumberCallbacks run the MonthlyNumberFee
	// workflow (numbers.go).
	Numbers         Numbers
	NumberShop      providers.NumberProvider
	NumberCallbacks NumberCallbacks
	// Clock is the activities' time (the daily cap's day); nil is the
	// system clock.
	Clock func() time.Time
}

func (a *Activities) now() time.Time {
	if a.Clock != nil {
		return a.Clock()
	}
	return time.Now()
}
