package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/stripe/stripe-go/v76"

	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

// The Stripe webhook, POST /api/webhooks/stripe (also the target of
// `stripe listen --forward-to localhost:8080/api/webhooks/stripe`). In
// order: verify Stripe-Signature (nothing is written for a forged or stale
// request), find the top-up the event is about, look the event id up (an
// event already handled stops there), signal the TopUp workflow, and only
// then record the event id. It does no slow work: the workflow credits,
// records and mails.

// checkoutSessionObject is the part of a checkout.session we read.
// payment_intent and setup_intent are ids, or objects when expanded.
type checkoutSessionObject struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"`
	PaymentStatus string            `json:"payment_status"`
	PaymentIntent json.RawMessage   `json:"payment_intent"`
	SetupIntent   json.RawMessage   `json:"setup_intent"`
	Metadata      map[string]string `json:"metadata"`
}

// expandableID reads a Stripe reference that is an id or, when expanded,
// an object with an id.
func expandableID(raw json.RawMessage) string {
	var id string
	if json.Unmarshal(raw, &id) == nil {
		return id
	}
	var obj struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &obj)
	return obj.ID
}

// claimEvent looks a verified event's id up before anything acts on it.
// For an event already handled, a database failure or no Temporal it
// answers the request itself and returns ok false. Otherwise the caller
// acts and answers through done, which records the id and acknowledges:
// call it only once acting succeeded (or decided there is nothing to do).
// A failure answered with an error leaves the id unrecorded, so Stripe's
// retry is handled rather than taken for a duplicate, and a crash between
// acting and recording only means acting again. Two concurrent deliveries
// may both act: every consumer is idempotent (first decision wins, ledger
// keys per PaymentIntent), so that is harmless, unlike a lost event.
func (h *handlers) claimEvent(c *gin.Context, ev stripe.Event, objectID string, ack func(bool, string)) (done func(handled bool, why string), ok bool) {
	ctx := c.Request.Context()
	store := h.credits()
	seen, err := store.EventSeen(ctx, ev.ID)
	if err != nil {
		abortWithError(c, err)
		return nil, false
	}
	if seen {
		ack(false, "duplicate event")
		return nil, false
	}
	if h.d.Temporal == nil {
		abortWithError(c, errTemporalMissing)
		return nil, false
	}
	return func(handled bool, why string) {
		// Acting succeeded: a failure to record only costs a redelivery
		// acted on again, so it is logged, not answered as an error.
		if _, err := store.RecordEvent(context.WithoutCancel(ctx), ev.ID, string(ev.Type), objectID); err != nil {
			h.logger().ErrorContext(ctx, "stripe event handled but not recorded", "event_id", ev.ID, "error", err)
		}
		ack(handled, why)
	}, true
}

func (h *handlers) stripeWebhook(c *gin.Context) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxWebhookBody))
	if err != nil {
		abortWithError(c, fmt.Errorf("%w: body unreadable or over 1 MiB", providers.ErrBadPayload))
		return
	}
	ev, err := providers.VerifyStripe(body, c.GetHeader("Stripe-Signature"), h.d.Config.EffectiveStripeWebhookSecret())
	if err != nil {
		slog.Warn("stripe webhook refused", "reason", err.Error(), "request_id", c.GetString(requestIDKey))
		abortWithError(c, err)
		return
	}
	log := slog.With("event_id", ev.ID, "type", string(ev.Type), "request_id", c.GetString(requestIDKey))
	ack := func(handled bool, why string) {
		log.Info("stripe webhook acknowledged", "handled", handled, "note", why)
		c.JSON(http.StatusOK, gin.H{"received": true, "handled": handled})
	}
	// An auto top-up's PaymentIntent (metadata.attempt_id) finishing after
	// the owner's on-session approval: autotopup_approve.go.
	if h.autoTopUpPaymentWebhook(c, ev, ack) {
		return
	}
	if !strings.HasPrefix(string(ev.Type), "checkout.session.") || ev.Data == nil {
		ack(false, "event type not used")
		return
	}
	var obj checkoutSessionObject
	if err := json.Unmarshal(ev.Data.Raw, &obj); err != nil || obj.ID == "" {
		ack(false, "data.object is not a checkout session")
		return
	}
	topUpID := obj.Metadata["topup_id"]
	if setupID := obj.Metadata["setup_id"]; topUpID == "" && setupID != "" {
		// Checkout in setup mode, saving a card: card_setup.go.
		h.cardSetupWebhook(c, ev, obj, setupID, ack)
		return
	}
	if topUpID == "" {
		ack(false, "checkout session without metadata.topup_id")
		return
	}
	ctx := c.Request.Context()
	t, err := h.credits().Get(ctx, topUpID)
	if errors.Is(err, credits.ErrTopUpNotFound) {
		ack(false, "unknown top-up "+topUpID)
		return
	}
	if err != nil {
		abortWithError(c, err)
		return
	}
	ack, ok := h.claimEvent(c, ev, obj.ID, ack)
	if !ok {
		return
	}
	signal := workflows.CheckoutEvent{EventID: ev.ID, Type: string(ev.Type), SessionID: obj.ID,
		PaymentIntentID: expandableID(obj.PaymentIntent), PaymentStatus: obj.PaymentStatus}
	dctx, cancel := context.WithTimeout(ctx, webhookDeliverTimeout)
	defer cancel()
	_, err = h.wf.DeliverTopUpCheckoutEvent(dctx, t.ID, signal)
	switch {
	case errors.Is(err, workflows.ErrNotRunning):
		// The workflow has closed. A payment reported now was still taken:
		// credit it through its own workflow (keyed by the PaymentIntent,
		// so a payment TopUp already credited is not credited again).
		paid := signal.Type == workflows.EventCheckoutAsyncPaymentSucceeded ||
			(signal.Type == workflows.EventCheckoutCompleted && signal.PaymentStatus == "paid")
		if !paid || signal.PaymentIntentID == "" || t.Status == models.TopUpSucceeded {
			ack(false, "top-up workflow already closed")
			return
		}
		log.Warn("payment for a closed top-up: crediting it", "topup_id", t.ID, "status", t.Status, "payment_intent", signal.PaymentIntentID)
		lctx, cancel := context.WithTimeout(ctx, webhookDeliverTimeout)
		defer cancel()
		res, err := h.wf.CreditLateTopUp(lctx, workflows.CreditLateTopUpInput{TopUpID: t.ID, PaymentIntentID: signal.PaymentIntentID})
		if err != nil {
			// Not credited yet (or the run failed): not recorded, so
			// Stripe's redelivery asks again and a failed run runs again.
			abortWithError(c, fmt.Errorf("credit late payment of top-up %s: %w", t.ID, err))
			return
		}
		ack(true, fmt.Sprintf("late payment credited to top-up %s (ledger entry %d)", t.ID, res.LedgerEntryID))
	case err != nil:
		// Not recorded: Stripe's retry is handled.
		abortWithError(c, fmt.Errorf("signal top-up %s: %w", t.ID, err))
	default:
		ack(true, "delivered to top-up "+t.ID)
	}
}
