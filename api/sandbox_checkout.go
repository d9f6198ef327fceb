package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/money"
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
// id (derived from the unguessable top-up or card setup id) is the
// capability. A declined card is shown inline and the session stays open,
// as on Stripe's page; sessions of card setups (setup mode) save whichever
// test card is picked.

// sandboxSettleWait bounds how long the page waits for the workflow to
// settle before sending the payer on, so the next page shows the result.
const sandboxSettleWait = 10 * time.Second

func (h *handlers) registerSandboxCheckout(r gin.IRouter) {
	if !h.d.Config.Sandbox {
		return // live: no /sandbox route exists, so each is a 404
	}
	g := r.Group(providers.SandboxCheckoutPath, h.sandboxOnly())
	g.GET(":session", h.sandboxCheckoutPage)
	g.POST(":session", h.sandboxCheckoutPay)
}

// sandboxOnly hides the payment sandbox when Stripe is live (a `mobayilo
// dev` run with Stripe test keys).
func (h *handlers) sandboxOnly() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !h.d.Config.SandboxStripe() {
			web.NotFound(h.d.Pages)(c)
			c.Abort()
			return
		}
		c.Next()
	}
}

type sandboxCard struct {
	ID, Label, Says string
	// SetupSays is what saving the card leads to: every test card saves,
	// and the charge outcome follows the card when auto top-up charges it.
	SetupSays string
}

var sandboxCards = []sandboxCard{
	{providers.SandboxCardVisa, "Visa •••• 4242", "Succeeds", "Saves; auto top-ups succeed"},
	{providers.SandboxCardDeclined, "Visa •••• 0002", "Declined (hard decline)", "Saves; auto top-ups are declined (hard decline)"},
	{providers.SandboxCardInsufficientFunds, "Visa •••• 9995", "Declined: insufficient funds (soft decline)", "Saves; auto top-ups are declined for insufficient funds (soft decline, retried)"},
	{providers.SandboxCardAuthenticationRequire, "Visa •••• 3184", "Asks for authentication (3-D Secure)", "Saves; auto top-ups need the cardholder's authentication (3-D Secure)"},
}

// sandboxDeclines are the messages Stripe Checkout shows inline for its
// declining test cards. Checkout keeps the session open, so the payer can
// try another card, and no event is sent.
var sandboxDeclines = map[string]string{
	providers.SandboxCardDeclined:          "Your card has been declined. Try another card.",
	providers.SandboxCardInsufficientFunds: "Your card has insufficient funds. Try another card.",
}

type sandboxCardView struct{ ID, Label, Says string }

type sandboxView struct {
	SessionID string
	// Setup: the session saves a card (Checkout in setup mode) instead of
	// paying Amount.
	Setup  bool
	Amount string
	Status string
	Open   bool
	Cards  []sandboxCardView
	Error  string
	// Back is where the closed page links to.
	Back string
	// Challenge is the card whose 3-D Secure challenge is on screen.
	Challenge string
}

func sandboxSetupSession(c *gin.Context) bool {
	return strings.HasPrefix(c.Param("session"), providers.SandboxSetupSessionPrefix)
}

// The sandbox serves only sessions the sandbox made (their ids derive from
// the top-up or setup id): a real Stripe session of a live top-up is a 404
// here, so this page can never mark real money paid.
func (h *handlers) sandboxTopUp(c *gin.Context) (models.TopUp, bool) {
	t, err := h.credits().GetBySession(c.Request.Context(), c.Param("session"))
	if err == nil && c.Param("session") != providers.SandboxSessionID(t.ID) {
		err = credits.ErrTopUpNotFound
	}
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
	h.serveSandbox(c, status, h.sandboxTopUpView(t, errMsg))
}

func (h *handlers) sandboxTopUpView(t models.TopUp, errMsg string) sandboxView {
	v := sandboxView{SessionID: t.CheckoutSessionID, Amount: money.Format(t.AmountCents), Status: string(t.Status),
		Open: t.Status == models.TopUpAwaitingPayment, Error: errMsg, Back: "/credits"}
	for _, card := range sandboxCards {
		v.Cards = append(v.Cards, sandboxCardView{card.ID, card.Label, card.Says})
	}
	return v
}

func (h *handlers) serveSandbox(c *gin.Context, status int, v sandboxView) {
	p := web.PageFor(c, "Sandbox checkout", "")
	p.Data = v
	h.d.Pages.Serve(c, status, "sandbox_checkout", p)
}

func (h *handlers) sandboxCheckoutPage(c *gin.Context) {
	if sandboxSetupSession(c) {
		if cs, ok := h.sandboxSetup(c); ok {
			h.renderSandboxSetup(c, http.StatusOK, cs, "")
		}
		return
	}
	if t, ok := h.sandboxTopUp(c); ok {
		h.renderSandbox(c, http.StatusOK, t, "")
	}
}

func (h *handlers) sandboxCheckoutPay(c *gin.Context) {
	if sandboxSetupSession(c) {
		h.sandboxCheckoutSaveCard(c)
		return
	}
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
	case sandboxDeclines[card] != "":
		h.renderSandbox(c, http.StatusPaymentRequired, t, sandboxDeclines[card])
		return
	case card == providers.SandboxCardAuthenticationRequire:
		// As on Stripe's page: the bank's 3-D Secure challenge, then the
		// payment goes through, or fails inline and the session stays open.
		switch c.PostForm("authentication") {
		case "complete":
			typ, payStatus, pi = workflows.EventCheckoutCompleted, "paid", providers.SandboxPaymentIntentID(t.ID, card)
			back = "/dial?topup=" + t.ID
		case "fail":
			h.renderSandbox(c, http.StatusPaymentRequired, t, "Authentication failed, so the card was not charged. Try again or choose another card.")
			return
		default:
			v := h.sandboxTopUpView(t, "")
			v.Challenge = card
			h.serveSandbox(c, http.StatusOK, v)
			return
		}
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
	ctx, cancel := context.WithTimeout(c.Request.Context(), sandboxSettleWait)
	defer cancel()
	if err := h.sandboxDeliver(ctx, event); err != nil {
		slog.Error("sandbox checkout could not deliver its webhook", "topup_id", t.ID, "error", err)
		h.renderSandbox(c, http.StatusBadGateway, t, "The sandbox could not deliver the payment event; try again.")
		return
	}
	// Wait for the workflow so the next page shows the new balance.
	_ = h.wf.WaitTopUp(ctx, t.ID)
	c.Redirect(http.StatusSeeOther, back)
}

// sandboxDeliver posts a signed Stripe event to our real webhook.
func (h *handlers) sandboxDeliver(ctx context.Context, event map[string]any) error {
	cfg := h.d.Config
	hooks := providers.NewSandboxWebhooks(cfg.PublicBaseURL, cfg.EffectiveTwilioAuthToken(), cfg.EffectiveStripeWebhookSecret(), nil)
	_, err := hooks.DeliverStripe(ctx, event)
	return err
}

// ---- Setup mode: saving a card without paying ----

func (h *handlers) sandboxSetup(c *gin.Context) (models.CardSetup, bool) {
	cs, err := h.autoTopUps().SetupBySession(c.Request.Context(), c.Param("session"))
	if err == nil && c.Param("session") != providers.SandboxSetupSessionID(cs.ID) {
		err = autotopup.ErrSetupNotFound
	}
	if errors.Is(err, autotopup.ErrSetupNotFound) {
		web.NotFound(h.d.Pages)(c)
		return cs, false
	}
	if err != nil {
		abortWithError(c, err)
		return cs, false
	}
	return cs, true
}

func (h *handlers) renderSandboxSetup(c *gin.Context, status int, cs models.CardSetup, errMsg string) {
	v := sandboxView{SessionID: cs.CheckoutSessionID, Setup: true, Status: string(cs.Status),
		Open: cs.Status == models.CardSetupPending, Error: errMsg, Back: "/autotopup"}
	for _, card := range sandboxCards {
		v.Cards = append(v.Cards, sandboxCardView{card.ID, card.Label, card.SetupSays})
	}
	h.serveSandbox(c, status, v)
}

// sandboxCheckoutSaveCard completes a setup-mode session with the picked
// test card: it sends checkout.session.completed (mode setup, a
// SetupIntent id that encodes the card, metadata.setup_id) to our real
// webhook, waits briefly for the SaveCard workflow, and returns the owner
// to the Auto top-up page.
func (h *handlers) sandboxCheckoutSaveCard(c *gin.Context) {
	cs, ok := h.sandboxSetup(c)
	if !ok {
		return
	}
	if cs.Status != models.CardSetupPending {
		h.renderSandboxSetup(c, http.StatusConflict, cs, "This card page is closed.")
		return
	}
	object := map[string]any{"id": cs.CheckoutSessionID, "object": "checkout.session", "mode": "setup", "currency": "usd",
		"payment_status": "no_payment_required", "customer": nil,
		"metadata": map[string]string{"setup_id": cs.ID, "account_id": strconv.FormatInt(cs.AccountID, 10)}}
	var typ, back string
	switch card, action := c.PostForm("card"), c.PostForm("action"); {
	case action == "cancel":
		c.Redirect(http.StatusSeeOther, "/autotopup")
		return
	case action == "expire":
		typ, back = workflows.EventCheckoutExpired, "/autotopup?done=card-not-saved"
		object["status"] = "expired"
	case slices.ContainsFunc(sandboxCards, func(sc sandboxCard) bool { return sc.ID == card }):
		// Every test card saves, as with Stripe's pm_card_chargeCustomerFail:
		// the charge outcome follows the card later.
		typ, back = workflows.EventCheckoutCompleted, "/autotopup?done=card-saved"
		object["status"], object["setup_intent"] = "complete", providers.SandboxSetupIntentID(cs.ID, card)
	default:
		h.renderSandboxSetup(c, http.StatusUnprocessableEntity, cs, "Choose one of the test cards.")
		return
	}
	if cust, err := h.credits().CustomerID(c.Request.Context(), cs.AccountID); err == nil && cust != "" {
		object["customer"] = cust
	}
	event := providers.NewStripeEvent("evt_sandbox_"+cs.ID+"_"+typ, typ, object)
	ctx, cancel := context.WithTimeout(c.Request.Context(), sandboxSettleWait)
	defer cancel()
	if err := h.sandboxDeliver(ctx, event); err != nil {
		slog.Error("sandbox setup checkout could not deliver its webhook", "setup_id", cs.ID, "error", err)
		h.renderSandboxSetup(c, http.StatusBadGateway, cs, "The sandbox could not deliver the event; try again.")
		return
	}
	// Wait for the workflow so the Auto top-up page shows the card.
	_ = h.wf.WaitSaveCard(ctx, cs.ID)
	c.Redirect(http.StatusSeeOther, back)
}
