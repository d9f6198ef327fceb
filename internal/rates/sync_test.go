package rates

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

// fakePrices is a carrier's price list: countries it lists, and what each
// country's fetch answers.
type fakePrices struct {
	listed  []string
	country map[string]CountryPrices
	fetched []string
	fail    error
}

func (f *fakePrices) VoiceCountries(context.Context) ([]string, error) { return f.listed, f.fail }

func (f *fakePrices) VoiceCountry(_ context.Context, iso string) (CountryPrices, error) {
	f.fetched = append(f.fetched, iso)
	return f.country[iso], nil
}

func syncRates() []models.Rate {
	return []models.Rate{
		{Prefix: "1", ISO: "US", Country: "United States", Destination: "Landline or mobile", IndividualCents: 2, CompanyCents: 2},
		{Prefix: "1242", ISO: "BS", Country: "Bahamas", Destination: "Landline or mobile", IndividualCents: 12, CompanyCents: 11},
		{Prefix: "33", ISO: "FR", Country: "France", Destination: "Landline", IndividualCents: 2, CompanyCents: 2},
		{Prefix: "336", ISO: "FR", Country: "France", Destination: "Mobile", IndividualCents: 6, CompanyCents: 6},
		{Prefix: "44", ISO: "GB", Country: "United Kingdom", Destination: "Landline", IndividualCents: 2, CompanyCents: 2},
	}
}

func costs(t *testing.T, db *gorm.DB) map[string]*int64 {
	t.Helper()
	var rs []models.Rate
	if err := db.Find(&rs).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]*int64{}
	for _, r := range rs {
		out[r.Prefix] = r.TwilioCostMillicents
	}
	return out
}

func TestSyncCosts_RecordsTheCarriersCostAndKeepsOurPrices(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		if _, err := Replace(ctx, db, syncRates()); err != nil {
			t.Fatal(err)
		}
		src := &fakePrices{
			// The carrier lists a country we do not sell (DE): it is not read.
			listed: []string{"us", "FR", "DE", "BS"},
			country: map[string]CountryPrices{
				"US": {ISO: "US", Currency: "USD", Prices: []PrefixPrice{
					{Prefixes: []string{"1"}, Millicents: 1300},
					{Prefixes: []string{"1907"}, Millicents: 9000}, // Alaska: under our "1"
				}},
				// The Bahamas under +1: their price, not the US's.
				"BS": {ISO: "BS", Currency: "USD", Prices: []PrefixPrice{{Prefixes: []string{"1242"}, Millicents: 15000}}},
				"FR": {ISO: "FR", Currency: "USD", Prices: []PrefixPrice{
					{Prefixes: []string{"33"}, Millicents: 1200},
					{Prefixes: []string{"336", "337"}, Millicents: 2500},
				}},
			},
		}
		now := time.Now().UTC().Truncate(time.Second)
		res, err := SyncCosts(ctx, db, src, now)
		if err != nil {
			t.Fatal(err)
		}
		if res.Countries != 3 || res.Priced != 4 || res.Changed != 4 || res.Unpriced != 0 {
			t.Fatalf("sync = %+v; want 3 countries read, 4 prefixes priced and changed", res)
		}
		for _, iso := range src.fetched {
			if iso == "DE" {
				t.Fatalf("fetched DE, which we do not sell: %v", src.fetched)
			}
		}
		got := costs(t, db)
		// Our "33" also takes +337 numbers (mobiles, which we have no prefix
		// for), so it costs what they cost.
		want := map[string]int64{"1": 9000, "1242": 15000, "33": 2500, "336": 2500}
		for prefix, w := range want {
			if got[prefix] == nil || *got[prefix] != w {
				t.Errorf("cost of %s = %v, want %d millicents", prefix, got[prefix], w)
			}
		}
		if got["44"] != nil {
			t.Errorf("GB was not read, yet cost of 44 = %d", *got["44"])
		}
		// Our sell prices are untouched.
		tab, err := Load(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range syncRates() {
			have, _ := tab.Lookup(r.Prefix + "0000000")
			if have.IndividualCents != r.IndividualCents || have.CompanyCents != r.CompanyCents {
				t.Errorf("%s sells at %d/%d after the sync, want %d/%d", r.Prefix, have.IndividualCents, have.CompanyCents, r.IndividualCents, r.CompanyCents)
			}
			if r.Prefix != "44" && (have.TwilioCostSyncedAt == nil || !have.TwilioCostSyncedAt.Equal(now)) {
				t.Errorf("%s synced at %v, want %v", r.Prefix, have.TwilioCostSyncedAt, now)
			}
		}
		// US at 2¢ against 9¢ (Alaska), Bahamas at 11¢ against 15¢, France's
		// 33 at 2¢ against 2.5¢ (its +337 mobiles); +336 at 6¢ is fine.
		if res.Negative != 3 {
			t.Fatalf("negative = %d, want 3 (US, Bahamas, France 33)", res.Negative)
		}
		ms, err := Margins(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 5 || !ms[0].Negative || !ms[1].Negative || !ms[2].Negative || ms[3].Negative {
			t.Fatalf("margins do not list the 3 negative ones first: %+v", ms)
		}
		for _, m := range ms {
			if m.Prefix == "336" && (m.CompanyMillicents != 3500 || m.IndividualMillicents != 3500 || m.Negative) {
				t.Errorf("336 margin = %+v, want +3500 millicents", m)
			}
			if m.Prefix == "44" && m.Known {
				t.Errorf("44 has no cost yet: %+v", m)
			}
		}

		// Again with the same prices: nothing changes; a reload of the sell
		// prices keeps the costs.
		if res, err = SyncCosts(ctx, db, src, now.Add(time.Hour)); err != nil || res.Changed != 0 || res.Priced != 4 {
			t.Fatalf("second sync = %+v, %v; want 4 priced, 0 changed", res, err)
		}
		up := syncRates()
		up[2].IndividualCents, up[2].CompanyCents = 3, 3
		if _, err := Replace(ctx, db, up); err != nil {
			t.Fatal(err)
		}
		if c := costs(t, db)["33"]; c == nil || *c != 2500 {
			t.Fatalf("a reload dropped the cost of 33: %v", c)
		}
	})
}

func TestSyncCosts_CarrierFailureOrForeignCurrencyWritesNothing(t *testing.T) {
	db := testenv.SQLite(t)
	ctx := context.Background()
	if _, err := Replace(ctx, db, syncRates()); err != nil {
		t.Fatal(err)
	}
	down := &fakePrices{fail: errors.New("connection refused")}
	if _, err := SyncCosts(ctx, db, down, time.Now()); !errors.Is(err, ErrPriceSource) {
		t.Fatalf("err = %v, want ErrPriceSource", err)
	}
	eur := &fakePrices{listed: []string{"FR", "US"}, country: map[string]CountryPrices{
		"FR": {ISO: "FR", Currency: "EUR", Prices: []PrefixPrice{{Prefixes: []string{"33"}, Millicents: 1000}}},
		"US": {ISO: "US", Currency: "USD", Prices: []PrefixPrice{{Prefixes: []string{"1"}, Millicents: 1000}}},
	}}
	_, err := SyncCosts(ctx, db, eur, time.Now())
	if !errors.Is(err, ErrPriceSource) || err == nil || !strings.Contains(err.Error(), "FR (EUR)") {
		t.Fatalf("err = %v, want ErrPriceSource naming FR (EUR)", err)
	}
	for p, c := range costs(t, db) {
		if c != nil {
			t.Fatalf("a refused sync wrote a cost for %s", p)
		}
	}
}

func TestFormatMillicents(t *testing.T) {
	for mc, want := range map[int64]string{850: "$0.0085", 1300: "$0.013", 100000: "$1.00", -3500: "-$0.035", 0: "$0.00", 12345678: "$123.45678"} {
		if got := FormatMillicents(mc); got != want {
			t.Errorf("FormatMillicents(%d) = %q, want %q", mc, got, want)
		}
	}
}
