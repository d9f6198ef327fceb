// Package config reads Mobayilo's configuration from the environment, once,
// at start-up. Nothing else in the code base reads environment variables.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Dev defaults for the webhook secrets used in sandbox mode when none are
// configured. They are published (printed at start-up, in the README) so that
// a developer can sign requests by hand; outside sandbox mode they are never
// accepted, not even when set explicitly.
const (
	DevTwilioAuthToken     = "dev_twilio_auth_token_not_secret"
	DevStripeWebhookSecret = "whsec_dev_stripe_webhook_secret_not_secret"
)

// Config is every setting Mobayilo reads. Field tags name the environment
// variables; docs (README, .env.example) list the same names.
type Config struct {
	// DataDir holds the embedded database, the Temporal dev server's state and
	// the dev tool binaries. It is the default home when DATABASE_URL is unset.
	DataDir string `env:"MOBAYILO_DATA_DIR" envDefault:".mobayilo"`

	// TemporalCLI is the Temporal CLI that `mobayilo dev` runs as its
	// embedded Temporal server; `make tools` builds it into the data folder.
	TemporalCLI string `env:"MOBAYILO_TEMPORAL_CLI"`

	// Sandbox runs both providers as the sandbox: fake checkout pages, a
	// simulated carrier, webhooks signed with the dev defaults. It must be
	// chosen: `mobayilo dev` turns it on, and `mobayilo api` / `worker`
	// refuse to start without live provider settings unless it is set.
	Sandbox bool `env:"MOBAYILO_SANDBOX" envDefault:"false"`
	// SandboxChaos makes the sandbox carrier deliver status callbacks
	// twice and out of order, as Twilio may (SANDBOX_CHAOS=1).
	SandboxChaos bool `env:"SANDBOX_CHAOS" envDefault:"false"`
	// dev is set by ForDev for `mobayilo dev` only; never from the
	// environment.
	dev bool

	DatabaseURL   string `env:"DATABASE_URL"`
	Port          int    `env:"PORT" envDefault:"8080"`
	PublicBaseURL string `env:"PUBLIC_BASE_URL"`
	LogLevel      string `env:"LOG_LEVEL" envDefault:"info"`

	TemporalAddress   string `env:"TEMPORAL_ADDRESS" envDefault:"localhost:7233"`
	TemporalNamespace string `env:"TEMPORAL_NAMESPACE" envDefault:"default"`
	TemporalTaskQueue string `env:"TEMPORAL_TASK_QUEUE" envDefault:"mobayilo"`
	// TemporalUIPort is where `mobayilo dev` serves the Temporal Web UI.
	TemporalUIPort int `env:"TEMPORAL_UI_PORT" envDefault:"8233"`
	// TemporalUIURL is the Temporal Web UI the admin pages link workflow
	// IDs to (the dev server's UI by default).
	TemporalUIURL string `env:"TEMPORAL_UI_URL" envDefault:"http://localhost:8233"`

	TwilioAccountSID  string `env:"TWILIO_ACCOUNT_SID"`
	TwilioAuthToken   string `env:"TWILIO_AUTH_TOKEN"`
	TwilioAPIKey      string `env:"TWILIO_API_KEY"`
	TwilioAPISecret   string `env:"TWILIO_API_SECRET"`
	TwilioTwiMLAppSID string `env:"TWILIO_TWIML_APP_SID"`
	TwilioAPIBaseURL  string `env:"TWILIO_API_BASE_URL"`
	// TwilioVerifyServiceSID is the Verify service whose SMS codes prove a
	// caller ID's ownership; TwilioVerifyBaseURL points Verify at a mock.
	TwilioVerifyServiceSID string `env:"TWILIO_VERIFY_SERVICE_SID"`
	TwilioVerifyBaseURL    string `env:"TWILIO_VERIFY_BASE_URL"`
	StripeSecretKey        string `env:"STRIPE_SECRET_KEY"`
	StripeWebhookSecret    string `env:"STRIPE_WEBHOOK_SECRET"`
	StripeAPIBaseURL       string `env:"STRIPE_API_BASE_URL"`

	SMTPURL  string `env:"SMTP_URL"`
	MailFrom string `env:"MAIL_FROM" envDefault:"Mobayilo <no-reply@mobayilo.local>"`

	// TrustedProxies lists the load balancers (CIDRs or IPs) whose
	// X-Forwarded-For is believed; empty trusts none, so the client address
	// is the TCP peer. Rate limits and session records key on it.
	TrustedProxies []string `env:"TRUSTED_PROXIES" envSeparator:","`

	// RatesLimitPerMinute bounds the public rate endpoints per client IP.
	RatesLimitPerMinute int `env:"RATES_LIMIT_PER_MINUTE" envDefault:"60"`

	// TopUpMaxCents is the largest single top-up, in cents; the minimums
	// ($5 individual, $100 company) are fixed by the product.
	TopUpMaxCents int64 `env:"TOPUP_MAX_CENTS" envDefault:"100000"`
	// FirstTopUpMaxCents caps an account's first paid top-up, the PRD's
	// first-purchase limit against stolen cards: a card that was never
	// charged here can take at most this much until one payment succeeds.
	// The default is the company minimum ($100), the least every account
	// kind can buy, and covers the individual presets ($5 to $50).
	FirstTopUpMaxCents int64 `env:"FIRST_TOPUP_MAX_CENTS" envDefault:"10000"`

	// MarketingOrigin is the marketing site's origin (scheme://host[:port]),
	// the one other origin whose pages may POST /api/subscribe.
	MarketingOrigin string `env:"MARKETING_ORIGIN"`
	// BetaGate lets only existing users and invited subscribers finish
	// signing up; everyone else joins the waiting list.
	BetaGate bool `env:"BETA_GATE" envDefault:"false"`

	// DeviceCodeLifetime is how long a device-login code (moby auth login)
	// stays usable: RFC 8628's expires_in. Tests shorten it.
	DeviceCodeLifetime time.Duration `env:"DEVICE_CODE_LIFETIME" envDefault:"10m"`
	// AutoTopUpFailureWait is how long a failed auto top-up waits for an
	// operator's retry or a new card before its workflow closes.
	AutoTopUpFailureWait time.Duration `env:"AUTO_TOPUP_FAILURE_WAIT" envDefault:"168h"`
	// AutoTopUpRetryBackoff is the wait before the first retry of a soft
	// decline; it doubles for each further retry.
	AutoTopUpRetryBackoff time.Duration `env:"AUTO_TOPUP_RETRY_BACKOFF" envDefault:"1h"`

	// MaxCallMinutes bounds one call: its hold covers at most this many
	// minutes, and a hold older than that (plus StaleHoldMargin) is reported
	// by the ledger's reconciliation as stale.
	MaxCallMinutes int `env:"MAX_CALL_MINUTES" envDefault:"240"`
	// CallDialWindow is how long an authorised call may wait for the
	// browser to dial before it expires and its hold is released.
	CallDialWindow time.Duration `env:"CALL_DIAL_WINDOW" envDefault:"2m"`
	// CallAttemptsPerMinute bounds call authorisations per user.
	CallAttemptsPerMinute int `env:"CALL_ATTEMPTS_PER_MINUTE" envDefault:"10"`
	// BlockedCountries are never called: ISO codes, and 001 for the
	// non-geographic (satellite, international networks) numbers. The
	// default is the toll-fraud high-risk list: sanctioned destinations
	// and those Twilio's fraud guidance flags.
	BlockedCountries []string `env:"BLOCKED_COUNTRIES" envSeparator:"," envDefault:"CU,IR,KP,SY,SO,SS,YE,LY,ER,001"`
	// DefaultCallerID is the caller ID of calls whose caller has no
	// verified number of their own (E.164).
	DefaultCallerID string `env:"DEFAULT_CALLER_ID"`
	// VoiceTokenTTL is the life of a browser Voice SDK token (at most 1h).
	VoiceTokenTTL time.Duration `env:"VOICE_TOKEN_TTL" envDefault:"10m"`

	// NumberMonthlyFeeCents is what a company number costs a month, charged
	// before it is bought and then at the start of every period.
	NumberMonthlyFeeCents int64 `env:"NUMBER_MONTHLY_FEE_CENTS" envDefault:"300"`
	// NumberGraceDays is how long a number whose fee could not be paid
	// stays suspended before it is released.
	NumberGraceDays int `env:"NUMBER_GRACE_DAYS" envDefault:"14"`
}

// FromOS reads the process environment.
func FromOS() (Config, error) { return Load(env.ToMap(os.Environ())) }

// Load reads configuration from environ (name to value). Errors name the
// offending variable.
func Load(environ map[string]string) (Config, error) {
	var c Config
	if err := env.ParseWithOptions(&c, env.Options{Environment: environ}); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", nameVariables(err))
	}
	if c.PublicBaseURL == "" {
		c.PublicBaseURL = fmt.Sprintf("http://localhost:%d", c.Port)
	}
	c.PublicBaseURL = strings.TrimRight(c.PublicBaseURL, "/")
	if c.TemporalCLI == "" {
		c.TemporalCLI = filepath.Join(c.DataDir, "bin", "temporal")
	}
	if err := c.validate(); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}

func (c Config) validate() error {
	var errs []error
	bad := func(name, why string) { errs = append(errs, fmt.Errorf("%s %s", name, why)) }

	if c.Port < 1 || c.Port > 65535 {
		bad("PORT", fmt.Sprintf("must be between 1 and 65535, got %d", c.Port))
	}
	checkURL := func(name, v string, schemes ...string) {
		if v == "" {
			return
		}
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || !slices.Contains(schemes, u.Scheme) {
			// Never echo the value: DATABASE_URL and SMTP_URL carry passwords.
			shown := "an unparsable value"
			if err == nil {
				shown = fmt.Sprintf("%q", u.Redacted())
			}
			bad(name, fmt.Sprintf("must be an absolute %s URL, got %s", strings.Join(schemes, " or "), shown))
		}
	}
	checkURL("PUBLIC_BASE_URL", c.PublicBaseURL, "http", "https")
	checkURL("TWILIO_API_BASE_URL", c.TwilioAPIBaseURL, "http", "https")
	checkURL("TWILIO_VERIFY_BASE_URL", c.TwilioVerifyBaseURL, "http", "https")
	checkURL("STRIPE_API_BASE_URL", c.StripeAPIBaseURL, "http", "https")
	checkURL("SMTP_URL", c.SMTPURL, "smtp", "smtps")
	checkURL("TEMPORAL_UI_URL", c.TemporalUIURL, "http", "https")
	if c.DatabaseURL != "" {
		checkURL("DATABASE_URL", c.DatabaseURL, "postgres", "postgresql")
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		bad("MAIL_FROM", fmt.Sprintf("is not an email address: %v", err))
	}
	if c.TemporalAddress == "" || !strings.Contains(c.TemporalAddress, ":") {
		bad("TEMPORAL_ADDRESS", fmt.Sprintf("must be host:port, got %q", c.TemporalAddress))
	}
	if c.TemporalUIPort < 1 || c.TemporalUIPort > 65535 {
		bad("TEMPORAL_UI_PORT", fmt.Sprintf("must be between 1 and 65535, got %d", c.TemporalUIPort))
	}
	if c.TemporalNamespace == "" {
		bad("TEMPORAL_NAMESPACE", "must not be empty")
	}
	if c.TemporalTaskQueue == "" {
		bad("TEMPORAL_TASK_QUEUE", "must not be empty")
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL", fmt.Sprintf("must be debug, info, warn or error, got %q", c.LogLevel))
	}
	for _, p := range c.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			bad("TRUSTED_PROXIES", fmt.Sprintf("must be a comma-separated list of IPs or CIDRs, got %q", p))
		}
	}
	if c.RatesLimitPerMinute < 1 {
		bad("RATES_LIMIT_PER_MINUTE", "must be at least 1")
	}
	if c.TopUpMaxCents < 10000 {
		bad("TOPUP_MAX_CENTS", "must be at least 10000 ($100, the company minimum)")
	}
	if c.FirstTopUpMaxCents < 10000 || c.FirstTopUpMaxCents > c.TopUpMaxCents {
		bad("FIRST_TOPUP_MAX_CENTS", fmt.Sprintf("must be at least 10000 ($100, the company minimum) and at most TOPUP_MAX_CENTS (%d), got %d", c.TopUpMaxCents, c.FirstTopUpMaxCents))
	}
	if c.MarketingOrigin != "" {
		// An origin is exactly scheme://host[:port]: browsers send it so,
		// and CORS and the cross-origin check compare it as a string.
		u, err := url.Parse(c.MarketingOrigin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			u.RawQuery != "" || u.Fragment != "" || u.Path != "" || u.String() != c.MarketingOrigin {
			bad("MARKETING_ORIGIN", fmt.Sprintf("must be an origin such as https://mobayilo.com (scheme and host, no path or trailing slash), got %q", c.MarketingOrigin))
		}
	}
	if c.DeviceCodeLifetime < time.Second || c.DeviceCodeLifetime > time.Hour || c.DeviceCodeLifetime%time.Second != 0 {
		bad("DEVICE_CODE_LIFETIME", fmt.Sprintf("must be whole seconds between 1s and 1h, got %s", c.DeviceCodeLifetime))
	}
	if c.AutoTopUpRetryBackoff < time.Minute || c.AutoTopUpRetryBackoff > 24*time.Hour {
		bad("AUTO_TOPUP_RETRY_BACKOFF", fmt.Sprintf("must be between 1m and 24h, got %s", c.AutoTopUpRetryBackoff))
	}
	if c.CallDialWindow < 10*time.Second || c.CallDialWindow > time.Hour {
		bad("CALL_DIAL_WINDOW", fmt.Sprintf("must be between 10s and 1h, got %s", c.CallDialWindow))
	}
	if c.CallAttemptsPerMinute < 1 {
		bad("CALL_ATTEMPTS_PER_MINUTE", "must be at least 1")
	}
	if c.VoiceTokenTTL < time.Minute || c.VoiceTokenTTL > time.Hour {
		bad("VOICE_TOKEN_TTL", fmt.Sprintf("must be between 1m and 1h, got %s", c.VoiceTokenTTL))
	}
	for _, iso := range c.BlockedCountries {
		if iso != "001" && (len(iso) != 2 || strings.ToUpper(iso) != iso) {
			bad("BLOCKED_COUNTRIES", fmt.Sprintf("must be comma-separated ISO country codes such as CU,KP (or 001), got %q", iso))
		}
	}
	if c.DefaultCallerID != "" && (!strings.HasPrefix(c.DefaultCallerID, "+") || len(c.DefaultCallerID) < 8) {
		bad("DEFAULT_CALLER_ID", fmt.Sprintf("must be an E.164 number such as +14155550199, got %q", c.DefaultCallerID))
	}
	if c.NumberMonthlyFeeCents < 1 || c.NumberMonthlyFeeCents > 100000 {
		bad("NUMBER_MONTHLY_FEE_CENTS", fmt.Sprintf("must be between 1 and 100000 cents ($1000), got %d", c.NumberMonthlyFeeCents))
	}
	if c.NumberGraceDays < 1 || c.NumberGraceDays > 90 {
		bad("NUMBER_GRACE_DAYS", fmt.Sprintf("must be between 1 and 90 days, got %d", c.NumberGraceDays))
	}
	if c.MaxCallMinutes < 1 || c.MaxCallMinutes > 1440 {
		bad("MAX_CALL_MINUTES", fmt.Sprintf("must be between 1 and 1440 (a day), got %d", c.MaxCallMinutes))
	}
	if c.AutoTopUpFailureWait < time.Hour || c.AutoTopUpFailureWait > 30*24*time.Hour {
		bad("AUTO_TOPUP_FAILURE_WAIT", fmt.Sprintf("must be between 1h and 720h (30 days), got %s", c.AutoTopUpFailureWait))
	}

	if !c.Sandbox {
		if c.TwilioAuthToken == DevTwilioAuthToken {
			bad("TWILIO_AUTH_TOKEN", "is the published dev default, which is accepted only in sandbox mode")
		}
		if c.StripeWebhookSecret == DevStripeWebhookSecret {
			bad("STRIPE_WEBHOOK_SECRET", "is the published dev default, which is accepted only in sandbox mode")
		}
	}

	// Live mode needs a complete set: half a configuration would silently
	// fall back to the sandbox for some calls and not others.
	if c.TwilioAccountSID != "" {
		if !strings.HasPrefix(c.TwilioAccountSID, "AC") {
			bad("TWILIO_ACCOUNT_SID", "must start with AC")
		}
		if c.TwilioAuthToken == "" {
			bad("TWILIO_AUTH_TOKEN", "is required when TWILIO_ACCOUNT_SID is set")
		}
	}
	if (c.TwilioAPIKey == "") != (c.TwilioAPISecret == "") {
		bad("TWILIO_API_SECRET", "and TWILIO_API_KEY must be set together")
	}
	if c.StripeSecretKey != "" {
		if !strings.HasPrefix(c.StripeSecretKey, "sk_") && !strings.HasPrefix(c.StripeSecretKey, "rk_") {
			bad("STRIPE_SECRET_KEY", "must start with sk_ or rk_")
		}
		if c.StripeWebhookSecret == "" {
			bad("STRIPE_WEBHOOK_SECRET", "is required when STRIPE_SECRET_KEY is set")
		}
	}
	return errors.Join(errs...)
}

// ForDev is the configuration of `mobayilo dev`: sandbox mode, where a
// provider whose credentials are set still runs live (a developer trying
// real Stripe test mode with the simulated carrier, say).
func (c Config) ForDev() Config {
	c.Sandbox, c.dev = true, true
	return c
}

// IsDev reports whether this is `mobayilo dev`'s configuration.
func (c Config) IsDev() bool { return c.dev }

// liveSettings are the variables live mode cannot run without.
var liveSettings = []string{"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
	"TWILIO_API_KEY", "TWILIO_API_SECRET", "TWILIO_TWIML_APP_SID", "DEFAULT_CALLER_ID"}

func (c Config) setting(name string) string {
	switch name {
	case "STRIPE_SECRET_KEY":
		return c.StripeSecretKey
	case "STRIPE_WEBHOOK_SECRET":
		return c.StripeWebhookSecret
	case "TWILIO_ACCOUNT_SID":
		return c.TwilioAccountSID
	case "TWILIO_AUTH_TOKEN":
		return c.TwilioAuthToken
	case "TWILIO_API_KEY":
		return c.TwilioAPIKey
	case "TWILIO_API_SECRET":
		return c.TwilioAPISecret
	case "TWILIO_TWIML_APP_SID":
		return c.TwilioTwiMLAppSID
	case "DEFAULT_CALLER_ID":
		return c.DefaultCallerID
	}
	panic("config: no live setting " + name)
}

// CheckDeployment is the start-up check of the production processes
// (`mobayilo api` and `mobayilo worker`): one decision for the whole
// deployment. Live mode needs every provider setting, and the error names
// each one missing; sandbox mode is chosen with MOBAYILO_SANDBOX=true and
// then runs both providers in the sandbox, so a forgotten secret can never
// leave a production stack quietly half on the sandbox. `mobayilo dev`
// passes (ForDev).
func (c Config) CheckDeployment() error {
	if c.dev {
		return nil
	}
	if c.Sandbox {
		var live []string
		for _, n := range []string{"STRIPE_SECRET_KEY", "TWILIO_ACCOUNT_SID"} {
			if c.setting(n) != "" {
				live = append(live, n)
			}
		}
		if len(live) > 0 {
			return fmt.Errorf("configuration: MOBAYILO_SANDBOX=true runs Stripe and Twilio in the sandbox, but %s is set; "+
				"a deployment is all live or all sandbox (only `mobayilo dev` mixes them): unset MOBAYILO_SANDBOX or %s",
				strings.Join(live, " and "), strings.Join(live, " and "))
		}
		return nil
	}
	var missing []string
	for _, n := range liveSettings {
		if c.setting(n) == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("configuration: live mode needs %s; set them, or set MOBAYILO_SANDBOX=true to run on the sandbox providers (test money only, never for customers)",
			strings.Join(missing, ", "))
	}
	return nil
}

// TwilioLive reports whether real Twilio credentials are configured.
func (c Config) TwilioLive() bool { return c.TwilioAccountSID != "" }

// StripeLive reports whether real Stripe credentials are configured.
func (c Config) StripeLive() bool { return c.StripeSecretKey != "" }

// SandboxStripe reports whether payments run on the sandbox provider: its
// checkout and 3-D Secure pages exist only then.
func (c Config) SandboxStripe() bool { return c.Sandbox && !c.StripeLive() }

// SandboxTwilio reports whether telephony runs on the simulated carrier.
func (c Config) SandboxTwilio() bool { return c.Sandbox && !c.TwilioLive() }

// EffectiveTwilioAuthToken is the secret Twilio webhook signatures are
// checked against: the configured one, or in sandbox mode the dev default.
// Outside sandbox mode an unset token is "", which verifies nothing.
func (c Config) EffectiveTwilioAuthToken() string {
	if c.TwilioAuthToken != "" || !c.Sandbox {
		return c.TwilioAuthToken
	}
	return DevTwilioAuthToken
}

// EffectiveStripeWebhookSecret is the secret Stripe-Signature headers are
// checked against: the configured one, or in sandbox mode the dev default.
// Outside sandbox mode an unset secret is "", which verifies nothing.
func (c Config) EffectiveStripeWebhookSecret() string {
	if c.StripeWebhookSecret != "" || !c.Sandbox {
		return c.StripeWebhookSecret
	}
	return DevStripeWebhookSecret
}

// SandboxCallerID is the caller ID of sandbox calls when DEFAULT_CALLER_ID
// is unset: a fictional number, like the sandbox's test destinations.
const SandboxCallerID = "+14155550199"

// EffectiveDefaultCallerID is the caller ID of calls without their own:
// DEFAULT_CALLER_ID, or in sandbox mode SandboxCallerID.
func (c Config) EffectiveDefaultCallerID() string {
	if c.DefaultCallerID == "" && c.Sandbox {
		return SandboxCallerID
	}
	return c.DefaultCallerID
}

// StaleHoldMargin is how much longer than the longest call a hold may stay
// active before reconciliation reports it: time for the call's final status
// and its reconciliation to settle it.
const StaleHoldMargin = 30 * time.Minute

// StaleHoldAge is the age past which an active hold is stale.
func (c Config) StaleHoldAge() time.Duration {
	return time.Duration(c.MaxCallMinutes)*time.Minute + StaleHoldMargin
}

// UsesEmbeddedDB reports whether the embedded SQLite database is in use.
func (c Config) UsesEmbeddedDB() bool { return c.DatabaseURL == "" }

// SQLitePath is the embedded database file.
func (c Config) SQLitePath() string { return filepath.Join(c.DataDir, "mobayilo.db") }

// nameVariables rewrites the env library's parse errors, which name struct
// fields, to name the environment variable a person has to fix.
func nameVariables(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	t := reflect.TypeOf(Config{})
	var out []error
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			if f, ok := t.FieldByName(pe.Name); ok {
				out = append(out, fmt.Errorf("%s must be a valid %s: %v", f.Tag.Get("env"), pe.Type, errors.Unwrap(pe.Err)))
				continue
			}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// VariableNames lists every environment variable Config reads, sorted.
func VariableNames() []string {
	var names []string
	t := reflect.TypeOf(Config{})
	for i := 0; i < t.NumField(); i++ {
		if n := t.Field(i).Tag.Get("env"); n != "" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}
