package providers

import (
	"context"
	"errors"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

func prismPricing(t *testing.T) (TwilioPricing, *recorder) {
	t.Helper()
	rec := newRecorder()
	p, err := newTwilioPricing(loadConfig(t, map[string]string{
		"TWILIO_ACCOUNT_SID":  testenv.PrismProbeAccountSID,
		"TWILIO_AUTH_TOKEN":   "authtoken0123",
		"TWILIO_API_BASE_URL": testenv.TwilioPricingPrism(t),
	}), rec)
	if err != nil {
		t.Fatal(err)
	}
	return p, rec
}

// Twilio's Pricing v2 voice endpoints, as Prism serves them from Twilio's
// own spec: the list is the spec's example (Andorra), a country's fetch its
// example (the United States, whatever was asked), prices in dollars
// converted to millicents without float error.
func TestTwilioPricing_ReadsVoiceCountriesAndPricesFromTwilioSpec(t *testing.T) {
	p, rec := prismPricing(t)
	ctx := context.Background()
	isos, err := p.VoiceCountries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(isos) != 1 || isos[0] != "AD" {
		t.Fatalf("voice countries = %v, want the spec's [AD]", isos)
	}
	cp, err := p.VoiceCountry(ctx, "AD")
	if err != nil {
		t.Fatal(err)
	}
	if cp.ISO != "US" || cp.Currency != "USD" {
		t.Fatalf("country = %+v", cp)
	}
	want := map[string]int64{"1907": 9000, "1808": 1300, "1800": 1300, "1": 1300}
	got := map[string]int64{}
	for _, pp := range cp.Prices {
		for _, pre := range pp.Prefixes {
			got[pre] = pp.Millicents
		}
	}
	for pre, w := range want {
		if got[pre] != w {
			t.Errorf("price of %s = %d millicents, want %d", pre, got[pre], w)
		}
	}
	paths := []string{}
	for _, r := range rec.requests() {
		paths = append(paths, r.URL.Path)
		if r.Header.Get("Authorization") == "" {
			t.Errorf("%s went without basic auth", r.URL.Path)
		}
	}
	if len(paths) != 2 || paths[0] != "/v2/Voice/Countries" || paths[1] != "/v2/Voice/Countries/AD" {
		t.Fatalf("requests = %v", paths)
	}
}

// The sync end to end against Prism, on both databases: Twilio's costs land
// on our US prefix, our prices stay.
func TestRatesSync_AgainstTwilioPricingSpec(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		p, _ := prismPricing(t)
		ctx := context.Background()
		if _, err := rates.SeedIfEmpty(ctx, db); err != nil {
			t.Fatal(err)
		}
		before, err := rates.Load(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		res, err := rates.SyncCosts(ctx, db, p, time.Now().UTC())
		if err != nil {
			t.Fatal(err)
		}
		if res.Countries != 1 || res.Priced != 1 || res.Negative != 1 {
			t.Fatalf("sync = %+v; want the US prefix priced (Alaska's 9¢ above our 2¢)", res)
		}
		var us models.Rate
		if err := db.Where("prefix = ?", "1").Take(&us).Error; err != nil {
			t.Fatal(err)
		}
		was, _ := before.Lookup("+1")
		if us.TwilioCostMillicents == nil || *us.TwilioCostMillicents != 9000 || us.IndividualCents != was.IndividualCents || us.CompanyCents != was.CompanyCents {
			t.Fatalf("US rate after sync = %+v (before %+v)", us, was)
		}
	})
}

func TestTwilioPricing_NeedsCredentials(t *testing.T) {
	_, err := NewTwilioPricing(loadConfig(t, map[string]string{"MOBAYILO_SANDBOX": "true"}))
	if !errors.Is(err, ErrNoPricingCredentials) {
		t.Fatalf("err = %v, want ErrNoPricingCredentials", err)
	}
}
