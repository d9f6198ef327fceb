package api

import (
	"errors"
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

// twilioWebhook verifies X-Twilio-Signature against PUBLIC_BASE_URL plus the
// request path and query, which is the URL Twilio signed.
func (h *handlers) twilioWebhook(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxWebhookBody)
	if err := c.Request.ParseForm(); err != nil {
		abortWithError(c, fmt.Errorf("%w: form unreadable: %v", providers.ErrBadPayload, err))
		return
	}
	fullURL := h.d.Config.PublicBaseURL + c.Request.URL.RequestURI()
	if err := providers.VerifyTwilio(h.d.Config.EffectiveTwilioAuthToken(), fullURL, c.Request.PostForm, c.GetHeader("X-Twilio-Signature")); err != nil {
		slog.Warn("twilio webhook refused", "reason", err.Error(), "path", c.Request.URL.Path, "request_id", c.GetString(requestIDKey))
		if !errors.Is(err, providers.ErrBadSignature) {
			err = fmt.Errorf("%w: %v", providers.ErrBadSignature, err)
		}
		abortWithError(c, err)
		return
	}
	slog.Info("twilio webhook acknowledged", "path", c.Request.URL.Path, "call_sid", c.Request.PostForm.Get("CallSid"), "handled", false)
	if c.FullPath() == "/api/webhooks/twilio/voice" {
		// Calling arrives with the Call workflow; until then refuse politely.
		c.Data(http.StatusOK, "application/xml", []byte(`<?xml version="1.0" encoding="UTF-8"?><Response><Say>Calling is not available yet.</Say><Hangup/></Response>`))
		return
	}
	c.Status(http.StatusNoContent)
}
