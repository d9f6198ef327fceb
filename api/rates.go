package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/nyaruka/phonenumbers"

	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/models"
)

// RateJSON is one destination prefix's price.
type RateJSON struct {
	Prefix                   string `json:"prefix"`
	Destination              string `json:"destination"`
	IndividualCentsPerMinute int64  `json:"individual_cents_per_minute"`
	CompanyCentsPerMinute    int64  `json:"company_cents_per_minute"`
}

const billingNote = "per started minute: ceil(seconds/60) × the rate"

func rateJSON(r models.Rate) RateJSON {
	return RateJSON{Prefix: r.Prefix, Destination: r.Destination,
		IndividualCentsPerMinute: rates.PriceCents(r, models.AudienceIndividual),
		CompanyCentsPerMinute:    rates.PriceCents(r, models.AudienceCompany)}
}

// ratesForCountry answers GET /api/rates/:iso with every prefix of a country.
func (h *handlers) ratesForCountry(c *gin.Context) {
	iso := strings.ToUpper(strings.TrimSpace(c.Param("iso")))
	if len(iso) != 2 || iso[0] < 'A' || iso[0] > 'Z' || iso[1] < 'A' || iso[1] > 'Z' {
		abortWithError(c, badRequest("invalid_country", "country must be a two-letter ISO code such as FR, got "+quote(c.Param("iso"))))
		return
	}
	if phonenumbers.GetCountryCodeForRegion(iso) == 0 {
		abortWithError(c, badRequest("unknown_country", "unknown country code "+iso))
		return
	}
	t, err := h.d.Rates.Table(c.Request.Context())
	if err != nil {
		abortWithError(c, err)
		return
	}
	rs := t.ForISO(iso)
	if len(rs) == 0 {
		abortWithError(c, notFound("no_rates", "we have no rates for "+iso+" yet"))
		return
	}
	out := make([]RateJSON, 0, len(rs))
	for _, r := range rs {
		out = append(out, rateJSON(r))
	}
	c.JSON(http.StatusOK, gin.H{
		"iso": iso, "country": rs[0].Country, "currency": "USD", "unit": "cents_per_minute",
		"billing": billingNote, "rates": out,
	})
}

// calculateRate answers GET /api/rates/calculate?phone_number=…[&country=FR]:
// the normalised number and the price per minute for calling it.
func (h *handlers) calculateRate(c *gin.Context) {
	input := c.Query("phone_number")
	country := strings.ToUpper(strings.TrimSpace(c.Query("country")))
	if len(input) > 64 {
		abortWithError(c, badRequest("too_long", "phone_number is too long"))
		return
	}
	n, err := rates.Normalize(input, country)
	if err != nil {
		abortWithError(c, err)
		return
	}
	t, err := h.d.Rates.Table(c.Request.Context())
	if err != nil {
		abortWithError(c, err)
		return
	}
	r, ok := t.Lookup(n.E164)
	if !ok {
		abortWithError(c, badRequest("not_dialable", "not dialable: we have no rate for "+n.E164))
		return
	}
	rj := rateJSON(r)
	c.JSON(http.StatusOK, gin.H{
		"phone_number": input, "e164": n.E164, "international": n.International, "type": n.Type,
		"iso": r.ISO, "country": r.Country, "destination": r.Destination, "prefix": r.Prefix,
		"individual_cents_per_minute": rj.IndividualCentsPerMinute, "company_cents_per_minute": rj.CompanyCentsPerMinute,
		"currency": "USD", "billing": billingNote,
	})
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return "\"" + s + "\""
}
