package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
	"github.com/mobayilo/mobayilo/workflows"
)

// The sandbox checkout stands in for Stripe Checkout when no Stripe key is
// configured. The payer picks one of Stripe's test payment methods; the page
// then posts the correctly signed checkout.session.* event Stripe would send
// to our real webhook, so the same verification, dedupe and workflow run as
// in production. Like Stripe's hosted page it needs no sign-in: the session
// id (derived from the unguessable top-up id) is the capability.

// sandboxSettleWait bounds how long the page waits for the workflow to
// settle before sending the payer on, so the next page shows the result.
const sandboxSettleWait = 10 * time.Second

func (h *handlers) registerSandboxCheckout(r gin.IRouter) {
	g := r.Group(providers.SandboxCheckoutPath, h.sandboxOnly())
	g.GET(":session", h.sandboxCheckoutPage)
	g.POST(":session", h.sandboxCheckoutPay)
}

// sandboxOnly hides the sandbox when Stripe is live.
func (h *handlers) sandboxOnly() gin.HandlerFunc {
	return func(c *gin.Context) {
		if h.d.Config.StripeLive() {
			web.NotFound(h.d.Pages)(c)
			c.Abort()
			return
		}
		c.Next()
	}
}

type sandboxCard struct {
	ID, Label, Says string
}

var sandboxCards = []sandboxCard{
	{providers.SandboxCardVisa, "Visa •••• 4242", "Succeeds"},
	{providers.SandboxCardDeclined, "Visa •••• 0002", "Declined (hard decline)"},
	{providers.SandboxCardInsufficientFunds, "Visa •••• 9995", "Declined: insufficient funds (soft decline)"},
	{providers.SandboxCardAuthenticationRequire, "Visa •••• 3184", "Needs authentication (3-D Secure)"},
}

type sandboxView struct {
	SessionID string
	Amount    string
	Status    string
	Open      bool
	Cards     []sandboxCard
	Error     string
}

func (h *handlers) sandboxTopUp(c *gin.Context) (models.TopUp, bool) {
	t, err := h.credits().GetBySession(c.Request.Context(), c.Param("session"))
	if errors.Is(err, credits.ErrTopUpNotFound) {
		web.NotFound(h.d.Pages)(c)
		return t, false
	}
	if err != nil {
		abortWithError(c, err)
		return t, false
	}
	return t, true
}

func (h *handlers) renderSandbox(c *gin.Context, status int, t models.TopUp, errMsg string) {
	p := web.PageFor(c, "Sandbox checkout", "")
	p.Data = sandboxView{SessionID: t.CheckoutSessionID, Amount: credits.FormatCents(t.AmountCents), Status: string(t.Status),
		Open: t.Status == models.TopUpAwaitingPayment, Cards: sandboxCards, Error: errMsg}
	h.d.Pages.Serve(c, status, "sandbox_checkout", p)
}

func (h *handlers) sandboxCheckoutPage(c *gin.Context) {
	if t, ok := h.sandboxTopUp(c); ok {
		h.renderSandbox(c, http.StatusOK, t, "")
	}
}

func (h *handlers) sandboxCheckoutPay(c *gin.Context) {
	t, ok := h.sandboxTopUp(c)
	if !ok {
		return
	}
	back := "/credits?topup=" + t.ID
	if t.Status != models.TopUpAwaitingPayment {
		h.renderSandbox(c, http.StatusConflict, t, "This checkout is closed.")
		return
	}
	var typ, payStatus, pi string
	switch card, action := c.PostForm("card"), c.PostForm("action"); {
	case action == "cancel":
		// Like Stripe's back link: the session stays open until it expires.
		c.Redirect(http.StatusSeeOther, back)
		return
	case action == "expire":
		typ, payStatus = workflows.EventCheckoutExpired, "unpaid"
	case card == providers.SandboxCardVisa:
		typ, payStatus, pi = workflows.EventCheckoutCompleted, "paid", providers.SandboxPaymentIntentID(t.ID, card)
		back = "/dial?topup=" + t.ID
	case card == providers.SandboxCardDeclined, card == providers.SandboxCardInsufficientFunds:
		typ, payStatus, pi = workflows.EventCheckoutAsyncPaymentFailed, "unpaid", providers.SandboxPaymentIntentID(t.ID, card)
	case card == providers.SandboxCardAuthenticationRequire:
		h.renderSandbox(c, http.StatusPaymentRequired, t, "This card needs authentication (3-D Secure), which the sandbox cannot complete. Choose another card.")
		return
	default:
		h.renderSandbox(c, http.StatusUnprocessableEntity, t, "Choose one of the test cards.")
		return
	}
	object := map[string]any{"id": t.CheckoutSessionID, "object": "checkout.session", "mode": "payment",
		"amount_total": t.AmountCents, "currency": "usd", "payment_status": payStatus, "metadata": map[string]string{"topup_id": t.ID}}
	if pi != "" {
		object["payment_intent"] = pi
	}
	// The event id is derived, so a double submit is one event.
	event := providers.NewStripeEvent("evt_sandbox_"+t.ID+"_"+typ, typ, object)
	cfg := h.d.Config
	hooks := providers.NewSandboxWebhooks(cfg.PublicBaseURL, cfg.EffectiveTwilioAuthToken(), cfg.EffectiveStripeWebhookSecret(), nil)
	ctx, cancel := context.WithTimeout(c.Request.Context(), sandboxSettleWait)
	defer cancel()
	if _, err := hooks.DeliverStripe(ctx, event); err != nil {
		slog.Error("sandbox checkout could not deliver its webhook", "topup_id", t.ID, "error", err)
		h.renderSandbox(c, http.StatusBadGateway, t, "The sandbox could not deliver the payment event; try again.")
		return
	}
	if h.d.Temporal != nil {
		// Wait for the workflow so the next page shows the new balance.
		_ = h.d.Temporal.GetWorkflow(ctx, workflows.TopUpWorkflowID(t.ID), "").Get(ctx, nil)
	}
	c.Redirect(http.StatusSeeOther, back)
}
