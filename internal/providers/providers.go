// Package providers is Mobayilo's edge to Stripe and Twilio: small
// interfaces for the activities that call them, live implementations over
// the official SDKs, sandbox implementations for running without accounts,
// and the signing and checking of the webhooks both providers send.
package providers

import (
	"errors"
	"sync"

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
	Payments  Payments
	Telephony Telephony
	// Carrier is the simulated network in sandbox telephony; nil when
	// Twilio is live.
	Carrier *SandboxCarrier
	// CallerIDs verifies caller IDs (Verify and validation calls);
	// SandboxCallerIDs is the same verifier in sandbox telephony (nil when
	// Twilio is live), which the sandbox phone completes.
	CallerIDs        CallerIDVerifier
	SandboxCallerIDs *SandboxCallerIDs
	// Numbers rents company numbers; SandboxNumbers is the same shop in
	// sandbox telephony (nil when Twilio is live), whose request log tests
	// read.
	Numbers        NumberProvider
	SandboxNumbers *SandboxNumbers
	TwilioMode     Mode
	StripeMode     Mode
}

// Sandbox is the sandbox provider set, delivering its webhooks through
// deliver: for `mobayilo dev`, a deployment that chose MOBAYILO_SANDBOX, and
// tests.
func Sandbox(deliver *SandboxWebhooks) Providers {
	return SandboxWith(deliver, CarrierOptions{})
}

// SandboxWith is Sandbox with the simulated network tuned.
func SandboxWith(deliver *SandboxWebhooks, o CarrierOptions) Providers {
	carrier := NewSandboxCarrier(deliver, o)
	cids := NewSandboxCallerIDs(nil, deliver)
	shop := NewSandboxNumbers()
	return Providers{
		Numbers:          shop,
		SandboxNumbers:   shop,
		CallerIDs:        cids,
		SandboxCallerIDs: cids,
		Payments:         sandboxPayments{deliver: deliver, charges: &sync.Map{}},
		Telephony:        sandboxTelephony{carrier: carrier},
		Carrier:          carrier,
		TwilioMode:       ModeSandbox,
		StripeMode:       ModeSandbox,
	}
}

// ErrNoSandbox: a provider has no live credentials and sandbox mode was not
// chosen. A production process never falls back to the sandbox quietly.
var ErrNoSandbox = errors.New("providers: live credentials are missing and sandbox mode is off (MOBAYILO_SANDBOX)")

// New picks each provider's mode from cfg: live when its credentials are
// configured, sandbox only in sandbox mode. Sandbox providers deliver the
// webhooks the real ones would send through deliver. Errors: ErrNoSandbox.
func New(cfg config.Config, deliver *SandboxWebhooks) (Providers, error) {
	if !cfg.Sandbox && (!cfg.StripeLive() || !cfg.TwilioLive()) {
		return Providers{}, ErrNoSandbox
	}
	p := SandboxWith(deliver, CarrierOptions{Chaos: cfg.SandboxChaos})
	if cfg.StripeLive() {
		p.Payments = newStripePayments(cfg.StripeSecretKey, cfg.StripeAPIBaseURL, nil)
		p.StripeMode = ModeLive
	}
	if cfg.TwilioLive() {
		tw := newTwilioTelephony(cfg, nil)
		p.Telephony, p.Numbers, p.SandboxNumbers = tw, tw, nil
		p.TwilioMode = ModeLive
		p.Carrier = nil
		p.CallerIDs, p.SandboxCallerIDs = NewTwilioCallerIDs(cfg), nil
	}
	return p, nil
}
