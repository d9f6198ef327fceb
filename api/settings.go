package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/callerid"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
)

// The Settings page: people manage their caller ID, CLI tokens and
// sessions there. The Caller ID section is driven by settings.js over the
// /api/caller-id endpoints (caller_id.go); the page only renders where it
// starts from.

// tokenCreatesPerHour bounds token creation per user; per IP it is three
// times that. Counted in the database, like every limit.
const tokenCreatesPerHour = 10

// registerSettings adds the Settings page and its token forms.
func (h *handlers) registerSettings(r gin.IRouter) {
	s := r.Group("/settings", requireUser())
	s.GET("", h.settingsPage)
	s.POST("/tokens", h.settingsCreateToken)
	s.POST("/tokens/:id/revoke", h.settingsRevokeToken)
	s.POST("/cli-sessions/revoke", h.settingsRevokeCLISessions)
}

// settingsView is the Settings page's data.
type settingsView struct {
	Email    string
	Tokens   []settingsToken
	Expiries []settingsExpiry
	// FormName is echoed back when creation failed.
	FormName string
	// Created is set only on the response to a successful create: the one
	// time the token is shown. It is never stored or redirected with.
	Created *settingsCreated
	// ActiveCLISessions counts unrevoked, unexpired device-login tokens.
	ActiveCLISessions int
	CallerID          settingsCallerID
}

// settingsCallerID is where the Caller ID section starts: the number calls
// show now, and what the account may do.
type settingsCallerID struct {
	Shows    string
	Verified bool
	// Company: seats call with company numbers, never their own.
	Company bool
	// Available and Minimum are the balance and the gate ($5), shown
	// before the request so a refusal is no surprise.
	Available, Minimum string
	// Sandbox says where the SMS and the validation call land.
	Sandbox bool
}

type settingsCreated struct {
	Token, Name, Expires string
}

type settingsExpiry struct {
	Days     int
	Label    string
	Selected bool
}

type settingsToken struct {
	ID                          int64
	Name, Hint, Source          string
	Created, LastUsed, Expires  string
	CreatedISO, LastUsedISO     string
	Revoked, Expired, NeverUsed bool
}

// Active reports whether the token still works.
func (t settingsToken) Active() bool { return !t.Revoked && !t.Expired }

// settingsFlashes are the messages a redirect back to /settings may carry,
// by key, so no user-controlled text travels in the URL.
var settingsFlashes = map[string]string{
	"revoked":     "Token revoked. Anything using it is signed out now.",
	"cli-revoked": "Your CLI sessions are revoked. Run `moby auth login` on a machine to sign it in again.",
	"cli-none":    "You had no active CLI sessions.",
}

func (h *handlers) settingsPage(c *gin.Context) {
	h.renderSettings(c, http.StatusOK, settingsFlashes[c.Query("done")], settingsView{})
}

// renderSettings answers with the page directly. It is never cached: the
// response to a create carries the new token.
func (h *handlers) renderSettings(c *gin.Context, status int, flash string, v settingsView) {
	p, _ := principal(c)
	toks, err := h.d.Auth.Tokens(c.Request.Context(), p.User.ID)
	if err != nil {
		h.settingsFailed(c, err)
		return
	}
	verified, err := h.d.CallerIDs.Verified(c.Request.Context(), p.Account.ID)
	if err != nil {
		h.settingsFailed(c, err)
		return
	}
	v.CallerID = settingsCallerID{Shows: verified, Verified: verified != "", Company: p.Account.Kind == models.AccountCompany,
		Available: money.Format(p.Account.AvailableCents()), Minimum: money.Format(callerid.MinBalanceCents), Sandbox: h.d.Config.Sandbox}
	if verified == "" {
		v.CallerID.Shows = h.d.Config.EffectiveDefaultCallerID()
	}
	now := time.Now()
	v.Email = p.User.Email
	v.Tokens = make([]settingsToken, 0, len(toks))
	for _, t := range toks {
		row := settingsRow(t, now)
		if row.Active() && t.Source == "device" {
			v.ActiveCLISessions++
		}
		v.Tokens = append(v.Tokens, row)
	}
	selected := auth.DefaultTokenExpiryDays
	if d, err := strconv.Atoi(c.PostForm("expiry_days")); err == nil && v.Created == nil {
		selected = d
	}
	for _, d := range auth.TokenExpiries {
		label := fmt.Sprintf("%d days", d)
		if d == 0 {
			label = "No expiry"
		}
		if d == auth.DefaultTokenExpiryDays {
			label += " (recommended)"
		}
		v.Expiries = append(v.Expiries, settingsExpiry{Days: d, Label: label, Selected: d == selected})
	}
	pg := web.PageFor(c, "Settings", "settings")
	pg.Data = v
	pg.Flash = flash
	c.Header("Cache-Control", "no-store")
	h.d.Pages.Serve(c, status, "settings", pg)
}

func settingsRow(t models.PersonalAccessToken, now time.Time) settingsToken {
	row := settingsToken{ID: t.ID, Name: t.Name, Hint: t.DisplayHint, Source: t.Source,
		Created: settingsDate(t.CreatedAt), CreatedISO: t.CreatedAt.UTC().Format(time.RFC3339),
		Revoked: t.RevokedAt != nil, NeverUsed: t.LastUsedAt == nil, Expires: "Never"}
	if t.LastUsedAt != nil {
		row.LastUsed, row.LastUsedISO = settingsDate(*t.LastUsedAt), t.LastUsedAt.UTC().Format(time.RFC3339)
	}
	if t.ExpiresAt != nil {
		row.Expires = settingsDate(*t.ExpiresAt)
		row.Expired = now.After(*t.ExpiresAt)
	}
	return row
}

func settingsDate(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") }

// settingsCreateToken makes a token and shows it on this response only.
func (h *handlers) settingsCreateToken(c *gin.Context) {
	p, _ := principal(c)
	name := strings.TrimSpace(c.PostForm("name"))
	fail := func(status int, msg string) {
		h.renderSettings(c, status, msg, settingsView{FormName: name})
	}
	if ok := h.settingsAllowCreate(c, p.User.ID); !ok {
		return
	}
	days, err := strconv.Atoi(c.DefaultPostForm("expiry_days", strconv.Itoa(auth.DefaultTokenExpiryDays)))
	if err != nil {
		fail(http.StatusUnprocessableEntity, "Choose an expiry from the list.")
		return
	}
	tok, pat, err := h.d.Auth.CreateToken(c.Request.Context(), auth.NewTokenRequest{
		UserID: p.User.ID, Name: name, Scopes: []string{CLIScope}, ExpiryDays: days, Source: "web"})
	switch {
	case err == nil:
	case statusIs(err, http.StatusUnprocessableEntity):
		fail(http.StatusUnprocessableEntity, settingsInvalidMessage(err))
		return
	default:
		h.settingsFailed(c, err)
		return
	}
	created := &settingsCreated{Token: tok, Name: pat.Name, Expires: "never"}
	if pat.ExpiresAt != nil {
		created.Expires = "on " + settingsDate(*pat.ExpiresAt)
	}
	h.renderSettings(c, http.StatusCreated, "", settingsView{Created: created})
}

// settingsAllowCreate counts a creation per user and per IP. Over either
// limit it answers the page with 429 and Retry-After and returns false.
func (h *handlers) settingsAllowCreate(c *gin.Context, userID int64) bool {
	checks := []struct {
		name string
		n    int64
		key  string
	}{
		{"token-create-user", tokenCreatesPerHour, "user:" + itoa(userID)},
		{"token-create-ip", 3 * tokenCreatesPerHour, byIP(c)},
	}
	for _, chk := range checks {
		res, err := h.d.Limits.New(chk.name, chk.n, time.Hour).Get(c.Request.Context(), chk.key)
		if err != nil {
			h.settingsFailed(c, err)
			return false
		}
		if res.Reached {
			secs := retryAfter(res.Reset)
			c.Header("Retry-After", itoa(secs))
			h.renderSettings(c, http.StatusTooManyRequests,
				fmt.Sprintf("You have created too many tokens lately. Try again in %d minutes.", (secs+59)/60),
				settingsView{FormName: strings.TrimSpace(c.PostForm("name"))})
			return false
		}
	}
	return true
}

func settingsInvalidMessage(err error) string {
	msg := err.Error()
	if _, after, ok := strings.Cut(msg, ": "); ok {
		msg = after
	}
	if msg == "" {
		return "Check the form and try again."
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

func statusIs(err error, status int) bool {
	s, _ := statusFor(err)
	return s == status
}

func (h *handlers) settingsRevokeToken(c *gin.Context) {
	p, _ := principal(c)
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err == nil {
		err = h.d.Auth.RevokeToken(c.Request.Context(), p.User.ID, id)
	} else {
		err = auth.ErrInvalid
	}
	switch {
	case err == nil:
		c.Redirect(http.StatusSeeOther, "/settings?done=revoked")
	case statusIs(err, http.StatusUnprocessableEntity):
		h.renderSettings(c, http.StatusNotFound, "There is no such token among yours; nothing was revoked.", settingsView{})
	default:
		h.settingsFailed(c, err)
	}
}

// settingsRevokeCLISessions revokes every token that a device login made,
// signing the user's CLI out on every machine; tokens made here stay.
func (h *handlers) settingsRevokeCLISessions(c *gin.Context) {
	p, _ := principal(c)
	ctx := c.Request.Context()
	toks, err := h.d.Auth.Tokens(ctx, p.User.ID)
	if err != nil {
		h.settingsFailed(c, err)
		return
	}
	n := 0
	for _, t := range toks {
		if t.Source != "device" || t.RevokedAt != nil {
			continue
		}
		if err := h.d.Auth.RevokeToken(ctx, p.User.ID, t.ID); err != nil {
			h.settingsFailed(c, err)
			return
		}
		n++
	}
	if n == 0 {
		c.Redirect(http.StatusSeeOther, "/settings?done=cli-none")
		return
	}
	c.Redirect(http.StatusSeeOther, "/settings?done=cli-revoked")
}

// settingsFailed answers an unexpected failure with the error page, logged
// with the request id.
func (h *handlers) settingsFailed(c *gin.Context, err error) {
	_ = c.Error(err)
	slog.ErrorContext(c.Request.Context(), "settings failed", "error", err, "request_id", c.GetString(requestIDKey))
	h.d.Pages.Serve(c, http.StatusInternalServerError, "error", web.Page{Title: "Something went wrong", RequestID: c.GetString(requestIDKey)})
	c.Abort()
}
