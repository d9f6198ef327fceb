package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/internal/config"
)

func TestLoad_DefaultsNeedNothingSet(t *testing.T) {
	c, err := config.Load(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 8080 || c.PublicBaseURL != "http://localhost:8080" || !c.UsesEmbeddedDB() || c.TwilioLive() || c.StripeLive() {
		t.Fatalf("defaults = %+v", c)
	}
	if c.EffectiveTwilioAuthToken() != config.DevTwilioAuthToken || c.EffectiveStripeWebhookSecret() != config.DevStripeWebhookSecret {
		t.Fatal("sandbox without secrets must use the documented dev defaults")
	}
	if c.AutoTopUpFailureWait != 7*24*time.Hour {
		t.Fatalf("auto top-up failure wait default = %s, want 7 days", c.AutoTopUpFailureWait)
	}
	if c.FirstTopUpMaxCents != 10000 || c.TopUpMaxCents != 100000 {
		t.Fatalf("top-up limits default = first %d, max %d; want $100 and $1000", c.FirstTopUpMaxCents, c.TopUpMaxCents)
	}
	if c.TemporalCLI != ".mobayilo/bin/temporal" {
		t.Fatalf("temporal CLI default = %q", c.TemporalCLI)
	}
}

func TestLoad_ConfiguredWebhookSecretsWinInSandbox(t *testing.T) {
	c, err := config.Load(map[string]string{"TWILIO_AUTH_TOKEN": "tok", "STRIPE_WEBHOOK_SECRET": "whsec_x"})
	if err != nil {
		t.Fatal(err)
	}
	if c.TwilioLive() || c.StripeLive() {
		t.Fatal("secrets alone must not switch to live mode")
	}
	if c.EffectiveTwilioAuthToken() != "tok" || c.EffectiveStripeWebhookSecret() != "whsec_x" {
		t.Fatal("configured webhook secrets must be used")
	}
}

func TestLoad_BadValuesNameTheVariable(t *testing.T) {
	cases := map[string]map[string]string{
		"PORT":                     {"PORT": "eighty"},
		"PORT ":                    {"PORT": "70000"},
		"DATABASE_URL":             {"DATABASE_URL": "mysql://x"},
		"PUBLIC_BASE_URL":          {"PUBLIC_BASE_URL": "localhost:8080"},
		"TWILIO_API_BASE_URL":      {"TWILIO_API_BASE_URL": "not a url"},
		"STRIPE_SECRET_KEY":        {"STRIPE_SECRET_KEY": "pk_live_123", "STRIPE_WEBHOOK_SECRET": "whsec_1"},
		"TWILIO_AUTH_TOKEN":        {"TWILIO_ACCOUNT_SID": "AC123"},
		"TWILIO_ACCOUNT_SID":       {"TWILIO_ACCOUNT_SID": "XX123", "TWILIO_AUTH_TOKEN": "t"},
		"TWILIO_API_SECRET":        {"TWILIO_API_KEY": "SK1"},
		"STRIPE_WEBHOOK_SECRET":    {"STRIPE_SECRET_KEY": "sk_test_1"},
		"SMTP_URL":                 {"SMTP_URL": "http://mail"},
		"MAIL_FROM":                {"MAIL_FROM": "nobody"},
		"LOG_LEVEL":                {"LOG_LEVEL": "loud"},
		"TEMPORAL_ADDRESS":         {"TEMPORAL_ADDRESS": "localhost"},
		"AUTO_TOPUP_FAILURE_WAIT":  {"AUTO_TOPUP_FAILURE_WAIT": "10m"},
		"AUTO_TOPUP_FAILURE_WAIT ": {"AUTO_TOPUP_FAILURE_WAIT": "1000h"},
		"FIRST_TOPUP_MAX_CENTS":    {"FIRST_TOPUP_MAX_CENTS": "9999"},
		"FIRST_TOPUP_MAX_CENTS ":   {"FIRST_TOPUP_MAX_CENTS": "100001"},
		"FIRST_TOPUP_MAX_CENTS  ":  {"FIRST_TOPUP_MAX_CENTS": "20000", "TOPUP_MAX_CENTS": "15000"},
		"FIRST_TOPUP_MAX_CENTS   ": {"FIRST_TOPUP_MAX_CENTS": "fifty"},
	}
	for name, env := range cases {
		_, err := config.Load(env)
		if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(name)) {
			t.Errorf("%v: err = %v, want a message naming %s", env, err, name)
		}
	}
}

func TestVariableNames_ListsEveryVariable(t *testing.T) {
	names := config.VariableNames()
	for _, want := range []string{"DATABASE_URL", "PORT", "PUBLIC_BASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE",
		"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_KEY", "TWILIO_API_SECRET", "TWILIO_TWIML_APP_SID", "TWILIO_API_BASE_URL",
		"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE_URL", "SMTP_URL", "MAIL_FROM"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("VariableNames lacks %s", want)
		}
	}
}

func TestLoad_URLErrorsNeverShowPasswords(t *testing.T) {
	for _, env := range []map[string]string{
		{"SMTP_URL": "smtp+starttls://mailer:SuperSecretPw@smtp.example.com:587"},
		{"DATABASE_URL": "postgress://app:DbSecretPw@db:5432/app"},
		{"DATABASE_URL": "postgres://app:DbSecretPw@%zz/app"},
	} {
		_, err := config.Load(env)
		if err == nil {
			t.Fatalf("%v accepted", env)
		}
		if strings.Contains(err.Error(), "SecretPw") {
			t.Fatalf("error reveals the password: %v", err)
		}
	}
}

func TestLoad_TrustedProxiesMustBeAddresses(t *testing.T) {
	c, err := config.Load(map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8,192.168.1.1"})
	if err != nil || len(c.TrustedProxies) != 2 {
		t.Fatalf("good list: %v %v", c.TrustedProxies, err)
	}
	if _, err := config.Load(map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8,lb.internal"}); err == nil || !strings.Contains(err.Error(), "TRUSTED_PROXIES") {
		t.Fatalf("bad list: %v", err)
	}
}
