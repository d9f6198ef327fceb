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
	if c.Sandbox || c.EffectiveTwilioAuthToken() != "" || c.EffectiveStripeWebhookSecret() != "" {
		t.Fatal("sandbox mode must be chosen, and outside it no dev default secret is in effect")
	}
	if c.AutoTopUpRetryBackoff != time.Hour {
		t.Fatalf("auto top-up retry backoff default = %s, want 1h", c.AutoTopUpRetryBackoff)
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

func TestLoad_SandboxWithoutSecretsUsesTheDevDefaults(t *testing.T) {
	c, err := config.Load(map[string]string{"MOBAYILO_SANDBOX": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.SandboxStripe() || !c.SandboxTwilio() {
		t.Fatal("MOBAYILO_SANDBOX=true without credentials must run both providers in the sandbox")
	}
	if c.EffectiveTwilioAuthToken() != config.DevTwilioAuthToken || c.EffectiveStripeWebhookSecret() != config.DevStripeWebhookSecret {
		t.Fatal("sandbox without secrets must use the documented dev defaults")
	}
}

func TestLoad_DevDefaultSecretsAreRefusedOutsideSandboxMode(t *testing.T) {
	for _, environ := range []map[string]string{
		{"TWILIO_AUTH_TOKEN": config.DevTwilioAuthToken},
		{"STRIPE_WEBHOOK_SECRET": config.DevStripeWebhookSecret},
	} {
		_, err := config.Load(environ)
		if err == nil || !strings.Contains(err.Error(), "published dev default") {
			t.Errorf("%v: err = %v, want the dev default refused", environ, err)
		}
		environ["MOBAYILO_SANDBOX"] = "true"
		if _, err := config.Load(environ); err != nil {
			t.Errorf("%v: %v; the dev default is fine in sandbox mode", environ, err)
		}
	}
}

var liveEnv = map[string]string{"STRIPE_SECRET_KEY": "sk_test_1", "STRIPE_WEBHOOK_SECRET": "whsec_1",
	"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": "tok", "TWILIO_API_KEY": "SK1", "TWILIO_API_SECRET": "s",
	"TWILIO_TWIML_APP_SID": "AP1", "DEFAULT_CALLER_ID": "+14155550199"}

func with(base map[string]string, kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(m, kv[i])
		} else {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}

func TestCheckDeployment_LiveNeedsEveryProviderSettingAndNamesTheMissing(t *testing.T) {
	c, err := config.Load(liveEnv)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckDeployment(); err != nil {
		t.Fatalf("complete live settings refused: %v", err)
	}
	cases := map[string][]string{
		"nothing set":             {"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_KEY", "TWILIO_TWIML_APP_SID", "DEFAULT_CALLER_ID"},
		"no stripe":               {"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"},
		"no twilio":               {"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"},
		"webhook secrets missing": {"STRIPE_WEBHOOK_SECRET", "TWILIO_AUTH_TOKEN"},
	}
	environs := map[string]map[string]string{
		"nothing set":             {},
		"no stripe":               with(liveEnv, "STRIPE_SECRET_KEY", "", "STRIPE_WEBHOOK_SECRET", ""),
		"no twilio":               with(liveEnv, "TWILIO_ACCOUNT_SID", "", "TWILIO_AUTH_TOKEN", ""),
		"webhook secrets missing": with(liveEnv, "STRIPE_WEBHOOK_SECRET", "", "STRIPE_SECRET_KEY", "", "TWILIO_ACCOUNT_SID", "", "TWILIO_AUTH_TOKEN", ""),
	}
	for name, missing := range cases {
		c, err := config.Load(environs[name])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		err = c.CheckDeployment()
		if err == nil || !strings.Contains(err.Error(), "MOBAYILO_SANDBOX=true") {
			t.Errorf("%s: err = %v, want a refusal that names the sandbox switch", name, err)
			continue
		}
		for _, v := range missing {
			if !strings.Contains(err.Error(), v) {
				t.Errorf("%s: %q does not name %s", name, err, v)
			}
		}
	}
}

func TestCheckDeployment_SandboxIsChosenAndNeverMixedWithLiveProviders(t *testing.T) {
	c, _ := config.Load(map[string]string{"MOBAYILO_SANDBOX": "true"})
	if err := c.CheckDeployment(); err != nil {
		t.Fatalf("an all-sandbox deployment refused: %v", err)
	}
	for _, environ := range []map[string]string{
		with(liveEnv, "MOBAYILO_SANDBOX", "true"),
		{"MOBAYILO_SANDBOX": "true", "STRIPE_SECRET_KEY": "sk_test_1", "STRIPE_WEBHOOK_SECRET": "whsec_1"},
		{"MOBAYILO_SANDBOX": "true", "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "tok"},
	} {
		c, err := config.Load(environ)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.CheckDeployment(); err == nil || !strings.Contains(err.Error(), "all live or all sandbox") {
			t.Errorf("%v: err = %v, want half-live sandbox refused", environ, err)
		}
		// `mobayilo dev` may mix them.
		if err := c.ForDev().CheckDeployment(); err != nil {
			t.Errorf("%v: dev refused: %v", environ, err)
		}
	}
}

func TestLoad_ConfiguredWebhookSecretsWinInSandbox(t *testing.T) {
	c, err := config.Load(map[string]string{"MOBAYILO_SANDBOX": "true", "TWILIO_AUTH_TOKEN": "tok", "STRIPE_WEBHOOK_SECRET": "whsec_x"})
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
		"MAX_CALL_MINUTES":         {"MAX_CALL_MINUTES": "0"},
		"AUTO_TOPUP_RETRY_BACKOFF": {"AUTO_TOPUP_RETRY_BACKOFF": "10s"},
		"MAX_CALL_MINUTES ":        {"MAX_CALL_MINUTES": "2000"},
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
