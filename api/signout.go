package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// Signing out, here or everywhere.

func (h *handlers) signOut(c *gin.Context) {
	if secret, err := c.Cookie(SessionCookie); err == nil && secret != "" {
		if err := h.d.Auth.EndSession(c.Request.Context(), secret); err != nil {
			h.signinFailed(c, err, nil)
			return
		}
	}
	h.clearSessionCookie(c)
	c.Redirect(http.StatusSeeOther, "/")
}

// signOutEverywhere ends every web session of the user, this one included.
// CLI tokens are not sessions and stay; Settings revokes those.
func (h *handlers) signOutEverywhere(c *gin.Context) {
	p, ok := principal(c)
	if !ok {
		c.Redirect(http.StatusSeeOther, "/signin")
		return
	}
	n, err := h.d.Auth.EndAllSessions(c.Request.Context(), p.User.ID)
	if err != nil {
		h.signinFailed(c, err, nil)
		return
	}
	h.signinLog().InfoContext(c.Request.Context(), "signed out everywhere", "user_id", p.User.ID, "sessions_ended", n, "request_id", c.GetString(requestIDKey))
	h.clearSessionCookie(c)
	c.Redirect(http.StatusSeeOther, "/signin")
}
