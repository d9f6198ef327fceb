package rates

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/models"
)

// MillicentsPerCent: Twilio's costs are kept in 1/1000 cent, since it
// quotes sub-cent prices ($0.0085 is 850 millicents).
const MillicentsPerCent = 1000

// CountryPrices is one country's outbound voice prices as the carrier
// quotes them.
type CountryPrices struct {
	// ISO is the country the prices are for, as the carrier says.
	ISO string
	// Currency is the prices' unit; only USD matches our rates.
	Currency string
	Prices   []PrefixPrice
}

// PrefixPrice is the carrier's per-minute price for numbers starting with
// any of Prefixes (E.164 digits, no '+').
type PrefixPrice struct {
	Prefixes   []string
	Millicents int64
}

// PriceSource is the carrier's pricing: Twilio's Pricing API (voice
// countries) in production, Prism in tests.
type PriceSource interface {
	// VoiceCountries lists the ISO codes of the countries it prices.
	VoiceCountries(ctx context.Context) ([]string, error)
	// VoiceCountry returns one country's outbound prices.
	VoiceCountry(ctx context.Context, iso string) (CountryPrices, error)
}

// ErrPriceSource wraps every failure to read the carrier's prices; nothing
// is written then.
var ErrPriceSource = errors.New("carrier pricing unavailable")

// SyncResult counts what SyncCosts did.
type SyncResult struct {
	// Countries is how many countries were read from the carrier.
	Countries int `json:"countries"`
	// Priced is how many of our prefixes got a cost, Changed how many of
	// those differ from the cost stored before.
	Priced  int `json:"priced"`
	Changed int `json:"changed"`
	// Unpriced are our prefixes the carrier's prices do not cover.
	Unpriced int `json:"unpriced"`
	// Negative is how many priced prefixes we sell below cost (to company
	// seats, whose price is the lower one).
	Negative int `json:"negative"`
}

// SyncCosts reads the carrier's price of every country we sell and records
// it against our prefixes: only twilio_cost_millicents and its sync time
// change, never our sell prices. A prefix's cost is the highest carrier
// price among the numbers it covers: the carrier's longest prefix above it
// and the carrier's longer prefixes below it that no longer prefix of ours
// takes (our "1" for the US covers Alaska's 1907, which costs more), so a
// negative margin is never hidden by an average. Prices count only within
// their own country, so Canada's prices never land on the Bahamas' +1242.
// Errors: ErrPriceSource (nothing written).
func SyncCosts(ctx context.Context, db *gorm.DB, src PriceSource, now time.Time) (SyncResult, error) {
	table, err := Load(ctx, db)
	if err != nil {
		return SyncResult{}, err
	}
	ours := map[string]bool{}
	for _, r := range table.All() {
		ours[r.ISO] = true
	}
	listed, err := src.VoiceCountries(ctx)
	if err != nil {
		return SyncResult{}, fmt.Errorf("%w: list voice countries: %w", ErrPriceSource, err)
	}
	// country ISO -> carrier prefix -> millicents (the highest quote).
	prices := map[string]map[string]int64{}
	var res SyncResult
	var wrongCurrency []string
	for _, iso := range uniqueUpper(listed) {
		if !ours[iso] {
			continue
		}
		cp, err := src.VoiceCountry(ctx, iso)
		if err != nil {
			return SyncResult{}, fmt.Errorf("%w: voice prices of %s: %w", ErrPriceSource, iso, err)
		}
		res.Countries++
		if !strings.EqualFold(cp.Currency, "USD") {
			wrongCurrency = append(wrongCurrency, fmt.Sprintf("%s (%s)", iso, cp.Currency))
			continue
		}
		country := strings.ToUpper(cp.ISO)
		if country == "" {
			country = iso
		}
		if prices[country] == nil {
			prices[country] = map[string]int64{}
		}
		for _, p := range cp.Prices {
			for _, pre := range p.Prefixes {
				pre = strings.TrimPrefix(strings.TrimSpace(pre), "+")
				if pre == "" || !allDigits(pre) || p.Millicents <= 0 {
					continue
				}
				prices[country][pre] = max(prices[country][pre], p.Millicents)
			}
		}
	}
	if len(wrongCurrency) > 0 {
		return SyncResult{}, fmt.Errorf("%w: prices not in USD for %s; our rates are in US cents", ErrPriceSource, strings.Join(wrongCurrency, ", "))
	}

	costs := costsFor(table, prices)
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, r := range table.All() {
			if prices[r.ISO] == nil {
				continue // a country the carrier was not asked about keeps its cost
			}
			cost, ok := costs[r.Prefix]
			if !ok {
				res.Unpriced++
				if err := tx.Model(&models.Rate{}).Where("id = ?", r.ID).
					Updates(map[string]any{"twilio_cost_millicents": nil, "twilio_cost_synced_at": now}).Error; err != nil {
					return err
				}
				continue
			}
			res.Priced++
			if r.TwilioCostMillicents == nil || *r.TwilioCostMillicents != cost {
				res.Changed++
			}
			if r.CompanyCents*MillicentsPerCent < cost {
				res.Negative++
			}
			if err := tx.Model(&models.Rate{}).Where("id = ?", r.ID).
				Updates(map[string]any{"twilio_cost_millicents": cost, "twilio_cost_synced_at": now}).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return SyncResult{}, fmt.Errorf("record carrier costs: %w", err)
	}
	return res, nil
}

// costsFor is each of our prefixes' cost from the carrier's prices of its
// own country (see SyncCosts).
func costsFor(table *Table, prices map[string]map[string]int64) map[string]int64 {
	out := map[string]int64{}
	// Above: the carrier's longest prefix of ours.
	for _, r := range table.All() {
		ps := prices[r.ISO]
		for n := len(r.Prefix); n > 0 && ps != nil; n-- {
			if c, ok := ps[r.Prefix[:n]]; ok {
				out[r.Prefix] = c
				break
			}
		}
	}
	// Below: a longer carrier prefix counts for the one of ours that takes
	// its numbers, when that is of the same country.
	for iso, ps := range prices {
		for pre, c := range ps {
			owner, ok := table.Lookup(pre)
			if !ok || owner.ISO != iso || len(pre) <= len(owner.Prefix) {
				continue
			}
			if have, ok := out[owner.Prefix]; !ok || c > have {
				out[owner.Prefix] = c
			}
		}
	}
	return out
}

func uniqueUpper(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		s = strings.ToUpper(strings.TrimSpace(s))
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// Margin is one prefix's sell prices against the carrier's cost.
type Margin struct {
	models.Rate
	// Known: a sync recorded a cost for the prefix.
	Known bool
	// IndividualMillicents and CompanyMillicents are price − cost per
	// minute, in millicents.
	IndividualMillicents, CompanyMillicents int64
	// Negative: a minute sells below cost to someone (company seats pay
	// the lower price).
	Negative bool
}

// Margins lists every prefix with its margin, the negative ones first,
// then by prefix.
func Margins(ctx context.Context, db *gorm.DB) ([]Margin, error) {
	t, err := Load(ctx, db)
	if err != nil {
		return nil, err
	}
	out := make([]Margin, 0, t.Len())
	for _, r := range t.All() {
		m := Margin{Rate: r}
		if r.TwilioCostMillicents != nil {
			cost := *r.TwilioCostMillicents
			m.Known = true
			m.IndividualMillicents = r.IndividualCents*MillicentsPerCent - cost
			m.CompanyMillicents = r.CompanyCents*MillicentsPerCent - cost
			m.Negative = m.CompanyMillicents < 0 || m.IndividualMillicents < 0
		}
		out = append(out, m)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Negative && !out[j].Negative })
	return out, nil
}

// FormatMillicents shows a per-minute amount in millicents as dollars with
// up to five decimals ($0.0085), the precision carriers quote.
func FormatMillicents(mc int64) string {
	sign := ""
	if mc < 0 {
		sign, mc = "-", -mc
	}
	s := fmt.Sprintf("%d.%05d", mc/100000, mc%100000)
	s = strings.TrimRight(s, "0")
	if i := strings.IndexByte(s, '.'); len(s)-i-1 < 2 {
		s += strings.Repeat("0", 2-(len(s)-i-1))
	}
	return sign + "$" + s
}
