package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
)

// SessionCookie holds the web session's secret; the database keeps only its
// SHA-256.
const SessionCookie = "mobayilo_session"

const principalKey = "principal"

// principal returns who the request acts as, if anyone.
func principal(c *gin.Context) (auth.Principal, bool) {
	v, ok := c.Get(principalKey)
	if !ok {
		return auth.Principal{}, false
	}
	p, ok := v.(auth.Principal)
	return p, ok
}

func setPrincipal(c *gin.Context, p auth.Principal) {
	c.Set(principalKey, p)
	c.Set(web.ViewerKey, &web.Viewer{
		Email:          p.User.Email,
		IsAdmin:        p.User.IsAdmin,
		IsCompanyAdmin: p.Account.Kind == models.AccountCompany && p.User.Role == models.RoleOwner,
		IsSeat:         p.User.Role == models.RoleSeat,
		BalanceCents:   p.Account.BalanceCents,
	})
}

// loadSession resolves the session cookie, if any, for every web route. An
// unknown, expired or disabled session clears the cookie; the page then
// behaves as signed out.
func (h *handlers) loadSession() gin.HandlerFunc {
	return func(c *gin.Context) {
		secret, err := c.Cookie(SessionCookie)
		if err != nil || secret == "" || h.d.Auth == nil {
			c.Next()
			return
		}
		p, err := h.d.Auth.SessionPrincipal(c.Request.Context(), secret)
		if err != nil {
			if errors.Is(err, auth.ErrDisabled) {
				c.Set(sessionDisabledKey, true)
			}
			h.clearSessionCookie(c)
			c.Next()
			return
		}
		setPrincipal(c, p)
		c.Next()
	}
}

func (h *handlers) secureCookies() bool {
	return strings.HasPrefix(h.d.Config.PublicBaseURL, "https://")
}

// setSessionCookie stores a new session secret: HttpOnly, SameSite=Lax (so
// a link from an email still arrives signed in), Secure on https.
func (h *handlers) setSessionCookie(c *gin.Context, secret string) {
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: secret, Path: "/", HttpOnly: true,
		Secure: h.secureCookies(), SameSite: http.SameSiteLaxMode, MaxAge: int(auth.SessionLifetime / time.Second)})
}

func (h *handlers) clearSessionCookie(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: h.secureCookies(), SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// requireUser sends signed-out visitors to the sign-in page, remembering
// where they were going.
func requireUser() gin.HandlerFunc {
	return func(c *gin.Context) {
		if _, ok := principal(c); ok {
			c.Next()
			return
		}
		c.Redirect(http.StatusSeeOther, "/signin?next="+url.QueryEscape(c.Request.URL.RequestURI()))
		c.Abort()
	}
}

// sessionDisabledKey marks a request whose session belongs to a disabled
// user or account, so a JSON endpoint can say so instead of "sign in".
const sessionDisabledKey = "session_disabled"

// requireUserJSON guards the browser's JSON endpoints (the dialer's): no
// redirect to a page a fetch cannot follow, but 401 to sign in again, or
// 403 when the session's user or account is disabled.
func requireUserJSON() gin.HandlerFunc {
	return func(c *gin.Context) {
		if _, ok := principal(c); ok {
			c.Next()
			return
		}
		if c.GetBool(sessionDisabledKey) {
			abortWithError(c, fmt.Errorf("%w: calls are off for this user or account; contact support", auth.ErrDisabled))
			return
		}
		abortWithError(c, fmt.Errorf("%w: sign in again to call", auth.ErrUnauthenticated))
	}
}

// requireAdmin lets only Mobayilo operators through; others get the 404
// page, so the admin area is not advertised.
func (h *handlers) requireAdmin() gin.HandlerFunc {
	return func(c *gin.Context) {
		if p, ok := principal(c); ok && p.User.IsAdmin {
			c.Next()
			return
		}
		web.NotFound(h.d.Pages)(c)
		c.Abort()
	}
}

// bearer authenticates /api/cli requests by personal access token: 401 for
// a missing, malformed, unknown, revoked or expired token, 403 for a
// disabled user or account. A malformed token is refused without a lookup.
func (h *handlers) bearer() gin.HandlerFunc {
	return func(c *gin.Context) {
		hdr := c.GetHeader("Authorization")
		scheme, tok, ok := strings.Cut(hdr, " ")
		if hdr == "" || !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			c.Header("WWW-Authenticate", `Bearer realm="mobayilo"`)
			abortWithError(c, errMissingToken)
			return
		}
		p, err := h.d.Auth.TokenPrincipal(c.Request.Context(), strings.TrimSpace(tok))
		if err != nil {
			if !errors.Is(err, auth.ErrDisabled) {
				c.Header("WWW-Authenticate", `Bearer realm="mobayilo", error="invalid_token"`)
			}
			abortWithError(c, err)
			return
		}
		setPrincipal(c, p)
		c.Next()
	}
}

var errMissingToken = &requestError{status: http.StatusUnauthorized, code: "unauthenticated",
	message: "missing bearer token: send Authorization: Bearer <token> (run `moby auth login`)"}

// csrf refuses state-changing browser requests that come from another
// origin, using the Fetch Metadata and Origin headers every current browser
// sends (Go's http.CrossOriginProtection). It needs no per-form token or
// server secret, and session cookies are SameSite=Lax besides.
//
// marketingOrigin (MARKETING_ORIGIN) is trusted on SubscribePath only: a
// page there may add an address to the waiting list, but trusting it
// everywhere would let a compromised marketing site post the app's
// signed-in forms (approve a device, sign out) for a visitor.
func csrf(marketingOrigin string) gin.HandlerFunc {
	cop := http.NewCrossOriginProtection()
	subscribe := http.NewCrossOriginProtection()
	if marketingOrigin != "" {
		// config validates the origin; a bad one would only trust nothing.
		_ = subscribe.AddTrustedOrigin(marketingOrigin)
	}
	return func(c *gin.Context) {
		check := cop
		if c.Request.URL.Path == SubscribePath {
			check = subscribe
		}
		if err := check.Check(c.Request); err != nil {
			abortWithError(c, &requestError{status: http.StatusForbidden, code: "csrf",
				message: "cross-site request refused: submit the form from the Mobayilo site itself"})
			return
		}
		c.Next()
	}
}
