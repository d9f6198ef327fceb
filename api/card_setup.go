package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stripe/stripe-go/v76"

	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/workflows"
)

// Saving a card without paying: POST /autotopup/card/setup stores a card
// setup and starts its SaveCard workflow with update-with-start; the update
// returns as soon as the setup-mode checkout URL exists, and the owner is
// sent there. Stripe's checkout.session.completed then reaches the webhook,
// which signals the workflow; the workflow saves the card.

// cardSetupStartTimeout bounds the wait for the checkout URL.
const cardSetupStartTimeout = 20 * time.Second

var errCardSetupUnavailable = &requestError{status: http.StatusBadGateway, code: "checkout_unavailable",
	message: "the card page could not be opened; try again in a minute"}

// startCardSetup stores a setup for the signed-in owner and starts its
// workflow, returning the checkout URL. Errors: errTemporalMissing,
// errCardSetupUnavailable.
func (h *handlers) startCardSetup(ctx context.Context, c *gin.Context, accountID int64) (string, error) {
	if h.d.Temporal == nil {
		return "", errTemporalMissing
	}
	p, _ := principal(c)
	cs, err := h.autoTopUps().CreateSetup(ctx, accountID, p.User.ID)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, cardSetupStartTimeout)
	defer cancel()
	link, err := h.wf.StartSaveCard(ctx, workflows.SaveCardInput{SetupID: cs.ID, AccountID: cs.AccountID})
	if err != nil {
		slog.WarnContext(ctx, "card setup checkout could not be opened", "setup_id", cs.ID, "error", err)
		return "", errCardSetupUnavailable
	}
	return link.URL, nil
}

// autoTopUpStartCardSetup is the Auto top-up page's "Save a card": 303 to
// the setup checkout (Stripe's, or the sandbox's), or the page again with
// the reason.
func (h *handlers) autoTopUpStartCardSetup(c *gin.Context) {
	acct, ok := autoTopUpOwner(c)
	if !ok {
		return
	}
	url, err := h.startCardSetup(c.Request.Context(), c, acct)
	if err != nil {
		status, _ := statusFor(err)
		var re *requestError
		if !errors.As(err, &re) {
			h.pageFailed(c, err)
			return
		}
		h.renderAutoTopUp(c, status, "", re.message)
		return
	}
	c.Redirect(http.StatusSeeOther, url)
}

// cardSetupWebhook handles a verified checkout.session.* event of a card
// setup (metadata.setup_id): find the setup (an unknown one is acknowledged
// and logged), look the event id up (an event already handled stops
// there), signal the SaveCard workflow and then record the id. If
// signalling fails the id stays unrecorded, so Stripe's retry is handled.
func (h *handlers) cardSetupWebhook(c *gin.Context, ev stripe.Event, obj checkoutSessionObject, setupID string, ack func(bool, string)) {
	ctx := c.Request.Context()
	cs, err := h.autoTopUps().Setup(ctx, setupID)
	if errors.Is(err, autotopup.ErrSetupNotFound) {
		ack(false, "unknown card setup "+setupID)
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
	signal := workflows.SetupEvent{EventID: ev.ID, Type: string(ev.Type), SessionID: obj.ID, SetupIntentID: expandableID(obj.SetupIntent)}
	dctx, cancel := context.WithTimeout(ctx, webhookDeliverTimeout)
	defer cancel()
	_, err = h.wf.DeliverSaveCardCheckoutEvent(dctx, cs.ID, signal)
	switch {
	case errors.Is(err, workflows.ErrNotRunning):
		// The setup is over (saved or expired); nothing is waiting. A card
		// completed after expiry stays at Stripe unsaved here: the owner
		// saves it again.
		slog.WarnContext(ctx, "setup checkout event for a closed card setup", "setup_id", cs.ID, "status", cs.Status, "type", ev.Type)
		ack(false, "card setup workflow already closed")
	case err != nil:
		abortWithError(c, fmt.Errorf("signal card setup %s: %w", cs.ID, err))
	default:
		ack(true, "delivered to card setup "+cs.ID)
	}
}
