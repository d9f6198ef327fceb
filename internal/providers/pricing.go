package providers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	pricing "github.com/twilio/twilio-go/rest/pricing/v2"

	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/rates"
)

// ErrNoPricingCredentials: the rates sync needs Twilio credentials
// (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN or an API key); the sandbox
// has no carrier prices to read.
var ErrNoPricingCredentials = errors.New("twilio pricing: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY/SECRET) to sync rates from Twilio")

// pricingTimeout bounds the whole sync's reads; a country is one request.
const pricingTimeout = 5 * time.Minute

// TwilioPricing reads Twilio's Pricing API (v2 voice countries) with the
// deployment's credentials; TWILIO_API_BASE_URL points it at a mock.
type TwilioPricing struct{ t *twilioTelephony }

var _ rates.PriceSource = TwilioPricing{}

// NewTwilioPricing returns Twilio's pricing for `mobayilo rates sync` and
// the admin rates page. Errors: ErrNoPricingCredentials.
func NewTwilioPricing(cfg config.Config) (TwilioPricing, error) {
	return newTwilioPricing(cfg, nil)
}

func newTwilioPricing(cfg config.Config, transport http.RoundTripper) (TwilioPricing, error) {
	if !cfg.TwilioLive() || (cfg.TwilioAuthToken == "" && cfg.TwilioAPIKey == "") {
		return TwilioPricing{}, ErrNoPricingCredentials
	}
	return TwilioPricing{t: newTwilioTelephony(cfg, transport)}, nil
}

// VoiceCountries lists every country Twilio prices voice calls to, all
// pages of it.
func (p TwilioPricing) VoiceCountries(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, pricingTimeout)
	defer cancel()
	cs, err := p.t.rest(ctx).PricingV2.ListVoiceCountry(&pricing.ListVoiceCountryParams{PageSize: ptr(1000)})
	if err != nil {
		return nil, fmt.Errorf("twilio: list voice countries: %w", err)
	}
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		if iso := deref(c.IsoCountry); iso != "" {
			out = append(out, iso)
		}
	}
	return out, nil
}

// VoiceCountry reads one country's outbound prefix prices. Twilio quotes
// dollars; they become millicents, rounded up so a cost is never
// understated.
func (p TwilioPricing) VoiceCountry(ctx context.Context, iso string) (rates.CountryPrices, error) {
	ctx, cancel := context.WithTimeout(ctx, twilioCallTimeout)
	defer cancel()
	c, err := p.t.rest(ctx).PricingV2.FetchVoiceCountry(iso)
	if err != nil {
		return rates.CountryPrices{}, fmt.Errorf("twilio: voice prices of %s: %w", iso, err)
	}
	out := rates.CountryPrices{ISO: deref(c.IsoCountry), Currency: deref(c.PriceUnit)}
	if c.OutboundPrefixPrices == nil {
		return out, nil
	}
	for _, pp := range *c.OutboundPrefixPrices {
		price := pp.CurrentPrice
		if price <= 0 {
			price = pp.BasePrice
		}
		out.Prices = append(out.Prices, rates.PrefixPrice{Prefixes: pp.DestinationPrefixes, Millicents: dollarsToMillicents(price)})
	}
	return out, nil
}

// dollarsToMillicents converts twilio-go's float32 dollars. The float is
// first rounded to 7 significant digits (what a float32 holds) so 0.013
// stays 1300 and does not become 1301 through its binary error; what is
// left is rounded up.
func dollarsToMillicents(d float32) int64 {
	v := float64(d) * 100 * rates.MillicentsPerCent
	if v <= 0 {
		return 0
	}
	exp := math.Pow(10, 7-math.Ceil(math.Log10(v)))
	return int64(math.Ceil(math.Round(v*exp) / exp))
}

func ptr[T any](v T) *T { return &v }
