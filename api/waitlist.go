package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/identity"
)

// The waiting list: POST /api/subscribe from the marketing site.

// SubscribePath is the marketing site's waiting-list endpoint, the one
// path its origin may post to (see csrf).
const SubscribePath = "/api/subscribe"

// subscribeCORS lets the marketing site's pages call the subscribe API.
// Only MARKETING_ORIGIN gets Access-Control-Allow-Origin; any other
// cross-origin request is refused with 403.
func (h *handlers) subscribeCORS() gin.HandlerFunc {
	cfg := cors.Config{
		AllowMethods: []string{http.MethodPost},
		AllowHeaders: []string{"Content-Type"},
		MaxAge:       12 * time.Hour,
	}
	if o := h.d.Config.MarketingOrigin; o != "" {
		cfg.AllowOrigins = []string{o}
	} else {
		cfg.AllowOriginFunc = func(string) bool { return false }
	}
	return cors.New(cfg)
}

var (
	errEmailMissing  = &requestError{status: http.StatusUnprocessableEntity, code: "invalid_email", message: "email is required"}
	errSubscribeJSON = &requestError{status: http.StatusBadRequest, code: "invalid_json",
		message: `send {"email":"you@example.com"} as JSON, or an email form field`}
)

// subscribe puts an address on the waiting list: JSON {"email": …} or a
// form field. Repeats, in any letter case, answer 200 like the first time,
// so the endpoint neither errs on a double submit nor tells who is listed.
func (h *handlers) subscribe(c *gin.Context) {
	var raw string
	if strings.HasPrefix(strings.ToLower(c.ContentType()), "application/json") {
		var body struct {
			Email string `json:"email"`
		}
		if err := json.NewDecoder(c.Request.Body).Decode(&body); err != nil && !errors.Is(err, io.EOF) {
			abortWithError(c, errSubscribeJSON)
			return
		}
		raw = body.Email
	} else {
		raw = c.PostForm("email")
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		abortWithError(c, errEmailMissing)
		return
	}
	if len(raw) > 254 {
		abortWithError(c, &requestError{status: http.StatusUnprocessableEntity, code: "invalid_email", message: "email is longer than 254 characters"})
		return
	}
	email, err := identity.NormalizeEmail(raw)
	if err != nil {
		abortWithError(c, &requestError{status: http.StatusUnprocessableEntity, code: "invalid_email", message: fmt.Sprintf("email %q is not an email address", raw)})
		return
	}
	added, err := h.d.Identity.Subscribe(c.Request.Context(), email)
	if err != nil {
		abortWithError(c, err)
		return
	}
	if added {
		h.signinLog().InfoContext(c.Request.Context(), "waiting-list subscriber added", "domain", domainOf(email))
	}
	c.JSON(http.StatusOK, gin.H{"email": email, "subscribed": true})
}
