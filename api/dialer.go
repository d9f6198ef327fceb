package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
)

// The dialer is "/" for a signed-in user (web.Register hands it the
// request; visitors get the home page), and /dial, the old address that
// checkout and sign-in still return to, redirects there with its query.
// The page is rendered with what the first screen needs at once (balance,
// audience, mode); the number's price, the call and its status come from
// the JSON API (calls.go, rates.go) through static/dialer.js.

// dialerPage is dial.html's data.
type dialerPage struct {
	BalanceCents, AvailableCents int64
	Balance, Available           string
	// Audience picks the price the caller pays: "company" for a company
	// wallet's callers, else "individual" (calls.Service.Plan's choice).
	Audience string
	// Low shows the top-up prompt; CanTopUp is false for seats, whose
	// admin tops up the company wallet.
	Low, CanTopUp bool
	// Sandbox drives the sandbox carrier instead of the Voice SDK, whose
	// bundle URL VoiceSDK is set in live mode only.
	Sandbox  bool
	VoiceSDK string
	// Number prefills the field (the home page's "Call this number").
	Number string
}

func (h *handlers) registerDialer(r gin.IRouter) {
	r.GET("/dial", requireUser(), func(c *gin.Context) {
		to := "/"
		if q := c.Request.URL.RawQuery; q != "" {
			to += "?" + q
		}
		c.Redirect(http.StatusFound, to)
	})
}

// dialer renders the dialer for the signed-in principal.
func (h *handlers) dialer(c *gin.Context) {
	pr, ok := principal(c)
	if !ok {
		c.Redirect(http.StatusSeeOther, "/signin?next=%2F")
		return
	}
	ctx := c.Request.Context()
	acct, err := h.d.Ledger.Account(ctx, pr.Account.ID)
	if err != nil {
		h.d.Pages.Serve(c, http.StatusInternalServerError, "error", web.PageFor(c, "Something went wrong", ""))
		return
	}
	d := dialerPage{BalanceCents: acct.BalanceCents, AvailableCents: acct.AvailableCents(),
		Balance: money.Format(acct.BalanceCents), Available: money.Format(acct.AvailableCents()),
		Audience: string(models.AudienceIndividual), CanTopUp: pr.User.Role != models.RoleSeat,
		Sandbox: h.d.Config.SandboxTwilio(), Number: c.Query("number")}
	if len(d.Number) > 32 {
		d.Number = ""
	}
	if acct.Kind == models.AccountCompany {
		d.Audience = string(models.AudienceCompany)
	}
	d.Low = d.AvailableCents < h.lowBalanceThreshold(c, acct.ID)
	if !d.Sandbox {
		// Startup refuses live telephony without the bundle (serve.go), so
		// a miss here is a test build: the page says the SDK is missing.
		d.VoiceSDK, _ = web.AssetURL(web.VoiceSDK)
	}
	p := web.PageFor(c, "Dial", "dial")
	// Checkout returns here with ?topup=<id> (credits.go); otherwise a
	// failed auto top-up is worth the banner.
	p.Flash = h.topUpFlash(c)
	if p.Flash == "" {
		p.Flash, p.FlashAction = h.AutoTopUpBanner(ctx, pr.Account.ID)
	}
	p.Data = d
	c.Header("Cache-Control", "no-store")
	h.d.Pages.Serve(c, http.StatusOK, "dial", p)
}

// lowBalanceThreshold is where the dialer, like the Credits page, prompts
// a top-up: the auto top-up threshold when that is on, else $2.
func (h *handlers) lowBalanceThreshold(c *gin.Context, accountID int64) int64 {
	if h.d.AutoTopUps != nil {
		if st, err := h.d.AutoTopUps.Settings(c.Request.Context(), accountID); err == nil && st.Enabled {
			return st.ThresholdCents
		}
	}
	return lowBalanceCents
}
