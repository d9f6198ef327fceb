// Package providers is Mobayilo's edge to Stripe and Twilio: small
// interfaces for the activities that call them, live implementations over
// the official SDKs, sandbox implementations for running without accounts,
// and the signing and checking of the webhooks both providers send.
package providers

import (
	"github.com/mobayilo/mobayilo/internal/config"
)

// Mode says whether a provider is the real service or the sandbox.
type Mode string

// The two modes a provider runs in.
const (
	ModeLive    Mode = "live"
	ModeSandbox Mode = "sandbox"
)

// Providers is the set of providers the worker hands to activities.
type Providers struct {
	Payments   Payments
	Telephony  Telephony
	TwilioMode Mode
	StripeMode Mode
}

// New picks each provider's mode from cfg: live when its credentials are
// configured, sandbox otherwise. Sandbox providers deliver the webhooks the
// real ones would send through deliver.
func New(cfg config.Config, deliver *SandboxWebhooks) Providers {
	p := Providers{
		Payments:   sandboxPayments{deliver: deliver},
		Telephony:  sandboxTelephony{deliver: deliver},
		TwilioMode: ModeSandbox,
		StripeMode: ModeSandbox,
	}
	if cfg.StripeLive() {
		p.Payments = newStripePayments(cfg.StripeSecretKey, cfg.StripeAPIBaseURL, nil)
		p.StripeMode = ModeLive
	}
	if cfg.TwilioLive() {
		p.Telephony = newTwilioTelephony(cfg, nil)
		p.TwilioMode = ModeLive
	}
	return p
}
