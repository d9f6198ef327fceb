package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/providers"
)

// maxWebhookBody bounds what a webhook may send; Stripe's events are far
// smaller, and a bound keeps a forged request from costing memory.
const maxWebhookBody = 1 << 20

// webhookDeliverTimeout bounds the wait for a workflow to take an event;
// past it the webhook answers an error and the provider delivers again,
// well within the providers' own request timeouts.
const webhookDeliverTimeout = 10 * time.Second

// twilioSigned verifies X-Twilio-Signature against PUBLIC_BASE_URL plus
// the request path and query, which is the URL Twilio signed, before
// anything else: a missing or wrong signature is 403 and nothing is read
// or written.
func (h *handlers) twilioSigned() gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxWebhookBody)
		if err := c.Request.ParseForm(); err != nil {
			abortWithError(c, fmt.Errorf("%w: form unreadable: %v", providers.ErrBadPayload, err))
			return
		}
		fullURL := h.d.Config.PublicBaseURL + c.Request.URL.RequestURI()
		if err := providers.VerifyTwilio(h.d.Config.EffectiveTwilioAuthToken(), fullURL, c.Request.PostForm, c.GetHeader("X-Twilio-Signature")); err != nil {
			slog.Warn("twilio webhook refused", "reason", err.Error(), "path", c.Request.URL.Path, "request_id", c.GetString(requestIDKey))
			abortWithError(c, &requestError{status: http.StatusForbidden, code: "bad_signature", message: err.Error()})
			return
		}
		c.Next()
	}
}
