package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
	"github.com/mobayilo/mobayilo/workflows"
)

// The sandbox authentication page stands in for a bank's 3-D Secure page
// when no Stripe key is configured: the approve update's confirmation sends
// the owner here. "Complete" or "Fail" posts the correctly signed
// payment_intent.succeeded or payment_intent.payment_failed event Stripe
// would send to our real webhook, then returns to the return URL. Like the
// bank's page it needs no sign-in: the URL the approve update returned is
// the capability. Sandbox PaymentIntent ids are guessable, so the page
// also wants that URL's token (providers.SandboxAuthToken, an HMAC of the
// PaymentIntent and round under the Stripe webhook secret); without the
// right one it is a 404 and nothing is delivered.

func (h *handlers) registerSandboxAuthenticate(r gin.IRouter) {
	if !h.d.Config.Sandbox {
		return // live: no /sandbox route exists, so each is a 404
	}
	g := r.Group(providers.SandboxAuthenticatePath, h.sandboxOnly())
	g.GET(":pi", h.sandboxAuthenticatePage)
	g.POST(":pi", h.sandboxAuthenticate)
}

type sandboxAuthView struct {
	PaymentIntentID string
	Amount          string
	Open            bool
	Status          string
	Round           string
	Token           string
	ReturnURL       string
	Error           string
}

// sandboxAttempt finds the attempt of the page's PaymentIntent once the
// token proves the URL came from the approve update: a missing or wrong
// token is the same 404 as an unknown PaymentIntent, so neither can be
// probed.
func (h *handlers) sandboxAttempt(c *gin.Context, round, token string) (models.AutoTopUpAttempt, bool) {
	n, err := strconv.Atoi(round)
	if err != nil || !providers.ValidSandboxAuthToken(h.d.Config.EffectiveStripeWebhookSecret(), c.Param("pi"), n, token) {
		web.NotFound(h.d.Pages)(c)
		return models.AutoTopUpAttempt{}, false
	}
	at, err := h.autoTopUps().AttemptByPaymentIntent(c.Request.Context(), c.Param("pi"))
	if errors.Is(err, autotopup.ErrAttemptNotFound) {
		web.NotFound(h.d.Pages)(c)
		return at, false
	}
	if err != nil {
		h.pageFailed(c, err)
		return at, false
	}
	return at, true
}

// sandboxReturnURL keeps the return URL on our own site: anything else
// (an open redirect) becomes the Auto top-up page.
func (h *handlers) sandboxReturnURL(raw string) string {
	base := strings.TrimRight(h.d.Config.PublicBaseURL, "/")
	if raw != "" && (raw == base || strings.HasPrefix(raw, base+"/")) {
		return raw
	}
	return "/autotopup?done=approved"
}

func (h *handlers) renderSandboxAuth(c *gin.Context, status int, at models.AutoTopUpAttempt, round, token, returnURL, errMsg string) {
	p := web.PageFor(c, "Sandbox authentication", "")
	p.Data = sandboxAuthView{PaymentIntentID: at.PaymentIntentID, Amount: money.Format(at.AmountCents), Status: string(at.Status),
		Open: at.Status == models.AttemptNeedsAuthentication, Round: round, Token: token, ReturnURL: returnURL, Error: errMsg}
	h.d.Pages.Serve(c, status, "sandbox_authenticate", p)
}

func (h *handlers) sandboxAuthenticatePage(c *gin.Context) {
	round, token := c.Query("round"), c.Query("token")
	if at, ok := h.sandboxAttempt(c, round, token); ok {
		h.renderSandboxAuth(c, http.StatusOK, at, round, token, c.Query("return_url"), "")
	}
}

func (h *handlers) sandboxAuthenticate(c *gin.Context) {
	round, token := c.PostForm("round"), c.PostForm("token")
	at, ok := h.sandboxAttempt(c, round, token)
	if !ok {
		return
	}
	back := h.sandboxReturnURL(c.PostForm("return_url"))
	if at.Status != models.AttemptNeedsAuthentication {
		h.renderSandboxAuth(c, http.StatusConflict, at, round, token, back, "This payment is no longer waiting for authentication.")
		return
	}
	object := map[string]any{"id": at.PaymentIntentID, "object": "payment_intent", "amount": at.AmountCents, "currency": "usd",
		"metadata": map[string]string{"attempt_id": at.AttemptID, "account_id": strconv.FormatInt(at.AccountID, 10)}}
	var typ, eventID string
	switch c.PostForm("action") {
	case "complete":
		// A PaymentIntent succeeds once: one event id however often it is
		// posted.
		typ, eventID = workflows.EventPaymentIntentSucceeded, "evt_sandbox_"+at.PaymentIntentID+"_succeeded"
		object["status"] = "succeeded"
	case "fail":
		// Each try fails on its own, as Stripe sends an event per failure.
		typ, eventID = workflows.EventPaymentIntentFailed, "evt_sandbox_"+at.PaymentIntentID+"_failed_"+url.PathEscape(round)
		object["status"] = "requires_payment_method"
		object["last_payment_error"] = map[string]any{"type": "card_error", "code": "payment_intent_authentication_failure",
			"message": "The provided PaymentMethod has failed authentication."}
	default:
		h.renderSandboxAuth(c, http.StatusUnprocessableEntity, at, round, token, back, "Choose Complete or Fail.")
		return
	}
	cfg := h.d.Config
	hooks := providers.NewSandboxWebhooks(cfg.PublicBaseURL, cfg.EffectiveTwilioAuthToken(), cfg.EffectiveStripeWebhookSecret(), nil)
	ctx, cancel := context.WithTimeout(c.Request.Context(), sandboxSettleWait)
	defer cancel()
	if _, err := hooks.DeliverStripe(ctx, providers.NewStripeEvent(eventID, typ, object)); err != nil {
		slog.Error("sandbox authentication could not deliver its webhook", "payment_intent", at.PaymentIntentID, "error", err)
		h.renderSandboxAuth(c, http.StatusBadGateway, at, round, token, back, "The sandbox could not deliver the payment event; try again.")
		return
	}
	h.awaitPaymentEvent(ctx, at.AccountID, eventID)
	c.Redirect(http.StatusSeeOther, back)
}

// awaitPaymentEvent waits (bounded by ctx) until the workflow has handled
// the event, so the next page shows the result.
func (h *handlers) awaitPaymentEvent(ctx context.Context, accountID int64, eventID string) {
	for {
		st, err := h.wf.AutoTopUpState(ctx, accountID)
		if errors.Is(err, workflows.ErrUnavailable) || (err == nil && st.LastPaymentEvent == eventID) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}
