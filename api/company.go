package api

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
)

// registerCompany adds the company admin's page: the domain allowlist and
// the seats with their usage. Only the owner of a company account gets in;
// anyone else signed in sees the 404 page.
func (h *handlers) registerCompany(r gin.IRouter) gin.IRouter {
	g := r.Group("/company", requireUser(), h.requireCompanyAdmin())
	g.GET("", h.companyPage)
	g.POST("/domains", h.companyAddDomain)
	g.POST("/domains/:id/remove", h.companyRemoveDomain)
	g.POST("/seats/:id/disable", h.companySeatStatus(models.StatusDisabled))
	g.POST("/seats/:id/enable", h.companySeatStatus(models.StatusActive))
	g.POST("/seats/:id/cap", h.companySeatCap)
	return g
}

// requireCompanyAdmin lets through the owner of a company account.
// identity checks again on every action; this keeps the page unadvertised.
func (h *handlers) requireCompanyAdmin() gin.HandlerFunc {
	return func(c *gin.Context) {
		if p, ok := principal(c); ok && p.User.Role == models.RoleOwner && p.Account.Kind == models.AccountCompany {
			c.Next()
			return
		}
		web.NotFound(h.d.Pages)(c)
		c.Abort()
	}
}

// companyFlashes are the messages a redirect back to /company may carry,
// by key, so no user-controlled text travels in the URL.
var companyFlashes = map[string]string{
	"domain-added":   "Domain added. New sign-ins from it become seats of your company.",
	"domain-exists":  "That domain is already on your list.",
	"domain-removed": "Domain removed. Existing seats stay; new sign-ins from it no longer become seats.",
	"seat-disabled":  "Seat disabled. It was signed out everywhere and its CLI tokens were revoked.",
	"seat-enabled":   "Seat re-enabled. They can sign in again.",
	"cap-set":        "Daily spend cap saved. Calls that would go over it are refused.",
	"cap-removed":    "Daily spend cap removed.",
}

// companyView is the company page's data.
type companyView struct {
	Name       string
	Balance    string
	Domains    []companyDomain
	Seats      []companySeat
	FormDomain string
}

type companyDomain struct {
	ID      int64
	Name    string // as people write it (Unicode for IDNs)
	ASCII   string // as stored, shown when it differs
	IsASCII bool
}

type companySeat struct {
	ID         int64
	Email      string
	Owner      bool
	Self       bool
	Active     bool
	LastSignIn string
	Entries    int64
	Spent      string
	// CanCap: a seat (not the admin) whose daily spend the admin caps.
	CanCap     bool
	Cap        string // "" when none
	CapInput   string // the cap as the form shows it
	SpentToday string
}

func (h *handlers) companyPage(c *gin.Context) {
	h.renderCompany(c, http.StatusOK, companyFlashes[c.Query("done")], "")
}

func (h *handlers) renderCompany(c *gin.Context, status int, flash, formDomain string) {
	p, _ := principal(c)
	co, err := h.d.Identity.Company(c.Request.Context(), p.User)
	if err != nil {
		h.pageFailed(c, err)
		return
	}
	v := companyView{Name: co.Account.Name, Balance: money.Format(co.Account.BalanceCents), FormDomain: formDomain}
	for _, d := range co.Domains {
		name := identity.DisplayDomain(d.Domain)
		v.Domains = append(v.Domains, companyDomain{ID: d.ID, Name: name, ASCII: d.Domain, IsASCII: name == d.Domain})
	}
	for _, s := range co.Seats {
		seat := companySeat{ID: s.User.ID, Email: s.User.Email, Owner: s.User.Role == models.RoleOwner,
			Self: s.User.ID == p.User.ID, Active: s.User.Status == models.StatusActive, LastSignIn: lastSignIn(s.User.LastSignInAt),
			Entries: s.Entries, Spent: money.Format(s.SpentCents), CanCap: s.User.Role == models.RoleSeat}
		if s.User.DailySpendCapCents != nil {
			seat.Cap, seat.CapInput = money.Format(*s.User.DailySpendCapCents), money.FormatInput(*s.User.DailySpendCapCents)
		}
		today, err := h.d.Calls.SpentToday(c.Request.Context(), s.User.ID)
		if err != nil {
			h.pageFailed(c, err)
			return
		}
		seat.SpentToday = money.Format(today)
		v.Seats = append(v.Seats, seat)
	}
	pg := web.PageFor(c, "Company", "settings")
	pg.Data, pg.Flash = v, flash
	c.Header("Cache-Control", "no-store")
	h.d.Pages.Serve(c, status, "company", pg)
}

func (h *handlers) companyAddDomain(c *gin.Context) {
	p, _ := principal(c)
	input := strings.TrimSpace(c.PostForm("domain"))
	_, added, err := h.d.Identity.AddDomain(c.Request.Context(), p.User, input)
	switch {
	case err == nil && added:
		c.Redirect(http.StatusSeeOther, "/company?done=domain-added")
	case err == nil:
		c.Redirect(http.StatusSeeOther, "/company?done=domain-exists")
	default:
		h.companyFailed(c, err, input)
	}
}

func (h *handlers) companyRemoveDomain(c *gin.Context) {
	p, _ := principal(c)
	id, ok := h.pathID(c)
	if !ok {
		return
	}
	if _, err := h.d.Identity.RemoveDomain(c.Request.Context(), p.User, id); err != nil {
		h.companyFailed(c, err, "")
		return
	}
	c.Redirect(http.StatusSeeOther, "/company?done=domain-removed")
}

func (h *handlers) companySeatStatus(st models.Status) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, _ := principal(c)
		id, ok := h.pathID(c)
		if !ok {
			return
		}
		if _, err := h.d.Identity.SetSeatStatus(c.Request.Context(), p.User, id, st); err != nil {
			h.companyFailed(c, err, "")
			return
		}
		if st == models.StatusDisabled {
			c.Redirect(http.StatusSeeOther, "/company?done=seat-disabled")
			return
		}
		c.Redirect(http.StatusSeeOther, "/company?done=seat-enabled")
	}
}

// companySeatCap sets or, with an empty amount, removes a seat's daily
// spend cap.
func (h *handlers) companySeatCap(c *gin.Context) {
	p, _ := principal(c)
	id, ok := h.pathID(c)
	if !ok {
		return
	}
	var capCents *int64
	if raw := strings.TrimSpace(c.PostForm("cap")); raw != "" {
		cents, err := money.ParseDollars(raw)
		if err != nil {
			h.companyFailed(c, &requestError{status: http.StatusUnprocessableEntity, code: "invalid_cap",
				message: "the daily cap must be a dollar amount such as 20 or 7.50, or empty for no cap"}, "")
			return
		}
		capCents = &cents
	}
	if _, err := h.d.Identity.SetSeatCap(c.Request.Context(), p.User, id, capCents); err != nil {
		h.companyFailed(c, err, "")
		return
	}
	if capCents == nil {
		c.Redirect(http.StatusSeeOther, "/company?done=cap-removed")
		return
	}
	c.Redirect(http.StatusSeeOther, "/company?done=cap-set")
}

// companyFailed shows a refused action on the page itself, with its status
// (422 for a bad domain, 409 for a taken one or for disabling oneself);
// an id outside the company is the 404 page.
func (h *handlers) companyFailed(c *gin.Context, err error, formDomain string) {
	status, _ := statusFor(err)
	if status == http.StatusNotFound || status >= 500 {
		h.pageFailed(c, err)
		return
	}
	h.renderCompany(c, status, flashMessage(err), formDomain)
}

// ---- Shared by the company and operator admin pages ----

// pathID reads the :id path parameter; anything but a positive integer
// answers the 404 page.
func (h *handlers) pathID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		web.NotFound(h.d.Pages)(c)
		c.Abort()
		return 0, false
	}
	return id, true
}

// pageFailed answers a page request that cannot go on: the 404 page for
// something that is not there (or not the viewer's), else the error page,
// logged with the request id.
func (h *handlers) pageFailed(c *gin.Context, err error) {
	if status, _ := statusFor(err); status == http.StatusNotFound {
		web.NotFound(h.d.Pages)(c)
		c.Abort()
		return
	}
	_ = c.Error(err)
	slog.ErrorContext(c.Request.Context(), "admin page failed", "error", err, "path", c.FullPath(), "request_id", c.GetString(requestIDKey))
	h.d.Pages.Serve(c, http.StatusInternalServerError, "error", web.Page{Title: "Something went wrong", RequestID: c.GetString(requestIDKey)})
	c.Abort()
}

// flashMessage turns a refused action's error into a sentence: the
// detail after the sentinel's own words, capitalised.
func flashMessage(err error) string {
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, ": "); ok && after != "" {
		msg = after
	}
	if msg == "" {
		return "That did not work; check the form and try again."
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

func lastSignIn(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return formatTime(*t)
}

func formatTime(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") }
