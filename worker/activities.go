package worker

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/internal/callerid"
	"github.com/mobayilo/mobayilo/internal/calls"
	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/numbers"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/workflows"
)

// NewActivities builds the worker's one Activities struct from the real
// services on db: the ledger, the stores, the mailer, the providers (one
// set per process: NewProviders) and the workflow client the ledger
// threshold hook signals auto top-up through.
func NewActivities(cfg config.Config, db *gorm.DB, mailer mail.Sender, prov providers.Providers, wf *workflows.Client) *activities.Activities {
	led := ledger.New(db).WithStaleHoldAge(cfg.StaleHoldAge())
	autoTopUps := autotopup.New(db, led)
	nums := numbers.New(db, led, prov.Numbers, numbers.PolicyFrom(cfg))
	pay := prov.Payments
	if prov.SandboxCallerIDs != nil {
		prov.SandboxCallerIDs.UseMailer(mailer)
	}
	return &activities.Activities{
		Ledger: led, Mailer: mailer, Users: identity.New(db, led), LoginLinks: auth.New(db),
		// TopUp: checkout, the top-up store and the one credit per payment;
		// a card saved while topping up becomes the auto top-up card.
		Payments: pay, TopUps: credits.New(db), Postings: led, SavedCards: autoTopUps,
		// AutoTopUp: off-session charges of the saved card.
		AutoTopUps: autoTopUps, Charges: pay,
		// SaveCard: saving a card through Checkout in setup mode.
		CardSetups: autoTopUps, SetupPayments: pay,
		// Call: holds, bills and Twilio's record of a call; every charge
		// runs the threshold hook.
		Calls: calls.New(db, led, rates.NewCache(db, 30*time.Second), calls.PolicyFrom(cfg)), Telephony: prov.Telephony,
		DebitHook: autoTopUpHook{svc: autoTopUps, wf: wf}, BridgeURLs: bridgeURLs(strings.TrimRight(cfg.PublicBaseURL, "/")),
		// CallerIDVerification: the gate, the record and Twilio's steps;
		// the sandbox texts its codes to this process's mailbox.
		CallerIDs: callerid.New(db, led), CallerIDVerifier: prov.CallerIDs, CallerIDCallbacks: callerIDCallbacks(cfg.PublicBaseURL),
		// MonthlyNumberFee: fees through the ledger, Twilio's number shop;
		// every top-up credit wakes the account's suspended numbers.
		Numbers: nums, NumberShop: prov.Numbers, NumberCallbacks: callerIDCallbacks(cfg.PublicBaseURL),
		CreditHook: numbersHook{svc: nums, wf: wf},
	}
}

// IncomingCallURL is where Twilio sends our numbers' inbound calls.
func (b callerIDCallbacks) IncomingCallURL() string {
	return strings.TrimRight(string(b), "/") + "/api/webhooks/twilio/incoming"
}

// numbersHook is the credit hook: a credit signals each suspended number
// of the account, whose workflow charges the fee and restores it.
type numbersHook struct {
	svc *numbers.Service
	wf  *workflows.Client
}

func (h numbersHook) AfterCredit(ctx context.Context, accountID, entryID, amountCents int64) error {
	suspended, err := h.svc.Suspended(ctx, accountID)
	if err != nil {
		return err
	}
	for _, pn := range suspended {
		err := h.wf.SignalNumberFunds(ctx, pn.ID, workflows.NumberFunds{AccountID: accountID, EntryID: entryID, AmountCents: amountCents})
		// A number whose workflow is gone is the RUNBOOK's (it is resumed
		// by an operator); the credit stands either way.
		if err != nil && !errors.Is(err, workflows.ErrNotRunning) {
			return err
		}
	}
	return nil
}

// callerIDCallbacks builds the caller-ID webhook's URL: the account rides
// in the query, which Twilio's signature covers.
type callerIDCallbacks string

func (b callerIDCallbacks) CallerIDCallbackURL(accountID int64) string {
	return strings.TrimRight(string(b), "/") + "/api/webhooks/twilio/caller-id?account=" + strconv.FormatInt(accountID, 10)
}

// bridgeURLs builds the webhooks of a bridge call's owner leg: the bridge
// and the call ride in the query, which Twilio's signature covers.
type bridgeURLs string

func (b bridgeURLs) BridgeVoiceURL(bridgeID string) string {
	return string(b) + "/api/webhooks/twilio/bridge?bridge=" + url.QueryEscape(bridgeID)
}

func (b bridgeURLs) StatusCallbackURL(callID string) string {
	return string(b) + "/api/webhooks/twilio/status?call=" + url.QueryEscape(callID)
}

// autoTopUpHook is the ledger threshold hook: after a debit, auto top-up.
type autoTopUpHook struct {
	svc *autotopup.Service
	wf  *workflows.Client
}

func (h autoTopUpHook) AfterDebit(ctx context.Context, res ledger.Result) (bool, error) {
	return h.svc.AfterDebit(ctx, h.wf, res)
}

// NewProviders is the one place a process picks its providers from cfg
// (live, or the sandbox delivering signed webhooks to PUBLIC_BASE_URL when
// sandbox mode was chosen); a process builds them once and hands the same
// set to its worker and its API (the sandbox carrier keeps state). Errors:
// providers.ErrNoSandbox.
func NewProviders(cfg config.Config) (providers.Providers, error) {
	hooks := providers.NewSandboxWebhooks(cfg.PublicBaseURL, cfg.EffectiveTwilioAuthToken(), cfg.EffectiveStripeWebhookSecret(), nil)
	return providers.New(cfg, hooks)
}
