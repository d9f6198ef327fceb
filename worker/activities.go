package worker

import (
	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/providers"
)

// NewActivities builds the worker's one Activities struct from the real
// services on db: the ledger, the stores, the mailer and the providers
// that cfg selects (live, or the sandbox delivering signed webhooks to
// PUBLIC_BASE_URL when sandbox mode was chosen). Errors:
// providers.ErrNoSandbox.
func NewActivities(cfg config.Config, db *gorm.DB, mailer mail.Sender) (*activities.Activities, error) {
	prov, err := NewProviders(cfg)
	if err != nil {
		return nil, err
	}
	led := ledger.New(db).WithStaleHoldAge(cfg.StaleHoldAge())
	autoTopUps := autotopup.New(db, led)
	pay := prov.Payments
	return &activities.Activities{
		Ledger: led, Mailer: mailer, Users: identity.New(db, led), LoginLinks: auth.New(db),
		// TopUp: checkout, the top-up store and the one credit per payment;
		// a card saved while topping up becomes the auto top-up card.
		Payments: pay, TopUps: credits.New(db), Postings: led, SavedCards: autoTopUps,
		// AutoTopUp: off-session charges of the saved card.
		AutoTopUps: autoTopUps, Charges: pay,
		// SaveCard: saving a card through Checkout in setup mode.
		CardSetups: autoTopUps, SetupPayments: pay,
	}, nil
}

// NewProviders is the one place a process picks its providers from cfg.
// Errors: providers.ErrNoSandbox.
func NewProviders(cfg config.Config) (providers.Providers, error) {
	hooks := providers.NewSandboxWebhooks(cfg.PublicBaseURL, cfg.EffectiveTwilioAuthToken(), cfg.EffectiveStripeWebhookSecret(), nil)
	return providers.New(cfg, hooks)
}
