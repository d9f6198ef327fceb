package main

import (
	"context"
	"strings"
	"testing"

	"github.com/mobayilo/mobayilo/internal/app"
	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

// `mobayilo rates sync` against Prism serving Twilio's pricing spec: it
// records Twilio's cost, keeps our prices and is audited; without Twilio
// credentials it refuses and changes nothing.
func TestRatesSync_RecordsTwilioCostsAndRefusesWithoutCredentials(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("MOBAYILO_DATA_DIR", dir)
	t.Setenv("DATABASE_URL", "")
	t.Setenv("MOBAYILO_SANDBOX", "true")
	t.Setenv("TWILIO_ACCOUNT_SID", "")
	if out, err := mobayilo(t, "rates", "sync"); err == nil || !strings.Contains(err.Error()+out, "TWILIO_ACCOUNT_SID") {
		t.Fatalf("sync without credentials: %q %v", out, err)
	}
	if out, err := mobayilo(t, "rates", "reload"); err != nil {
		t.Fatalf("rates reload: %q %v", out, err)
	}
	t.Setenv("TWILIO_ACCOUNT_SID", testenv.PrismProbeAccountSID)
	t.Setenv("TWILIO_AUTH_TOKEN", "authtoken0123")
	t.Setenv("TWILIO_API_BASE_URL", testenv.TwilioPricingPrism(t))
	out, err := mobayilo(t, "rates", "sync", "--actor", "ops-ana")
	if err != nil || !strings.Contains(out, "1 countries read from Twilio; 1 prefixes priced (1 changed)") || !strings.Contains(out, "1 sold below cost") {
		t.Fatalf("rates sync: %q %v", out, err)
	}
	cfg, err := config.FromOS()
	if err != nil {
		t.Fatal(err)
	}
	db, err := app.OpenDB(context.Background(), cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	var us models.Rate
	if err := db.Where("prefix = ?", "1").Take(&us).Error; err != nil || us.TwilioCostMillicents == nil || *us.TwilioCostMillicents != 9000 || us.IndividualCents != 2 {
		t.Fatalf("US rate = %+v, %v", us, err)
	}
	var a models.AuditLog
	if err := db.Where("action = ?", "rates.sync").Take(&a).Error; err != nil || !strings.Contains(a.Actor, "(as ops-ana)") {
		t.Fatalf("audit = %+v, %v", a, err)
	}
}
