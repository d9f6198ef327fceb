package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stripe/stripe-go/v76"

	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
	"github.com/mobayilo/mobayilo/workflows"
)

// An auto top-up whose bank wants authentication is finished on-session:
// the owner opens /autotopup/approve (the email and the banner link there),
// presses Approve, and the AutoTopUp workflow's approve update confirms the
// ORIGINAL PaymentIntent and answers the bank's authentication page. Stripe
// then reports the outcome as payment_intent.* events, which the webhook
// passes to the workflow (autoTopUpPaymentWebhook below): it credits once.

func (h *handlers) registerAutoTopUpApprove(r gin.IRouter) {
	g := r.Group("/autotopup/approve", requireUser())
	g.GET("", h.autoTopUpApprovePage)
	g.POST("", h.autoTopUpApprove)
	h.registerSandboxAuthenticate(r)
}

// autoTopUpApproveWait bounds how long Approve waits for the update. It must
// outlast the update's activity at its worst, or the owner is told "try
// again" while the confirmation may still succeed: workflows/auto_top_up.go
// gives it autoTopUpApproveStartToClose (20 s) × autoTopUpApproveMaxAttempts
// (3) plus the retry backoff between tries (1 s, then 2 s) = 63 s. Keep this
// comfortably above that when those constants change. The server's write
// deadline (WriteTimeout, 60 s) is extended for this request to match.
const autoTopUpApproveWait = 90 * time.Second

var autoTopUpApproveFlashes = map[string]string{
	"nothing":  "No auto top-up is waiting for your approval.",
	"declined": "Your bank declined the payment. Try again, or save another card on the Auto top-up page.",
}

type autoTopUpApproveView struct {
	Pending bool
	Amount  string
	Card    string
	// Expired: the latest charge asked for approval, but its workflow
	// closed; approving is no longer possible.
	Expired bool
	Error   string
}

// pendingApproval asks the account's AutoTopUp workflow what waits for
// approval; ok is false when nothing does (or no workflow runs).
func (h *handlers) pendingApproval(c *gin.Context, acct int64) (workflows.AutoTopUpState, bool, error) {
	st, open, err := h.wf.OpenAutoTopUpState(c.Request.Context(), acct)
	if errors.Is(err, workflows.ErrUnavailable) {
		return st, false, errTemporalMissing
	}
	if err != nil || !open {
		return st, false, err
	}
	return st, st.State == workflows.AutoTopUpNeedsAuthentication && st.AuthAttemptID != "", nil
}

func (h *handlers) autoTopUpApprovePage(c *gin.Context) {
	h.renderAutoTopUpApprove(c, http.StatusOK, autoTopUpApproveFlashes[c.Query("done")], "")
}

func (h *handlers) renderAutoTopUpApprove(c *gin.Context, status int, flash, problem string) {
	acct, ok := autoTopUpOwner(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	st, pending, err := h.pendingApproval(c, acct)
	if err != nil {
		h.pageFailed(c, err)
		return
	}
	settings, err := h.autoTopUps().Settings(ctx, acct)
	if err != nil {
		h.pageFailed(c, err)
		return
	}
	v := autoTopUpApproveView{Pending: pending, Amount: money.Format(st.AuthAmountCents), Error: problem}
	if settings.HasCard() {
		v.Card = settings.CardBrand + " ending in " + settings.CardLast4
	}
	if !pending {
		as, err := h.autoTopUps().Attempts(ctx, acct, 1)
		v.Expired = err == nil && len(as) == 1 && as[0].Status == models.AttemptNeedsAuthentication
	}
	p := web.PageFor(c, "Approve auto top-up", "credits")
	p.Data, p.Flash = v, flash
	c.Header("Cache-Control", "no-store")
	h.d.Pages.Serve(c, status, "autotopup_approve", p)
}

// autoTopUpApprove runs the approve update and sends the owner to the
// bank's authentication page.
func (h *handlers) autoTopUpApprove(c *gin.Context) {
	acct, ok := autoTopUpOwner(c)
	if !ok {
		return
	}
	if h.d.Temporal == nil {
		h.pageFailed(c, errTemporalMissing)
		return
	}
	// The update's activity has a short leash; this bounds a workflow with
	// no worker to run it. The answer may come after the server's usual
	// write deadline: give this response room (an error here only means the
	// writer cannot extend it, e.g. in a test recorder).
	_ = http.NewResponseController(c.Writer).SetWriteDeadline(time.Now().Add(autoTopUpApproveWait + 10*time.Second))
	ctx, cancel := context.WithTimeout(c.Request.Context(), autoTopUpApproveWait)
	defer cancel()
	out, err := h.wf.ApproveAutoTopUp(ctx, acct)
	if err != nil {
		if errors.Is(err, workflows.ErrNothingToApprove) {
			c.Redirect(http.StatusSeeOther, "/autotopup/approve?done=nothing")
			return
		}
		h.logger().ErrorContext(ctx, "auto top-up approval failed", "account_id", acct, "error", err)
		h.renderAutoTopUpApprove(c, http.StatusBadGateway, "", "We could not reach the payment provider. Try again in a minute.")
		return
	}
	switch {
	case out.RedirectURL != "":
		c.Redirect(http.StatusSeeOther, out.RedirectURL)
	case out.Declined != "":
		// Shown at once with the bank's reason; the charge still waits, so
		// the page offers Approve again.
		h.renderAutoTopUpApprove(c, http.StatusOK, "", "Your bank declined the payment: "+out.Declined+
			". Try again, or save another card on the Auto top-up page.")
	default:
		// Paid at once, or processing: the workflow credits it.
		c.Redirect(http.StatusSeeOther, "/autotopup?done=approved")
	}
}

// paymentIntentObject is the part of a payment_intent we read.
type paymentIntentObject struct {
	ID               string            `json:"id"`
	Object           string            `json:"object"`
	Amount           int64             `json:"amount"`
	Metadata         map[string]string `json:"metadata"`
	LastPaymentError *struct {
		Message string `json:"message"`
	} `json:"last_payment_error"`
}

// autoTopUpPaymentWebhook handles payment_intent.succeeded and
// payment_intent.payment_failed about an auto top-up's PaymentIntent (its
// metadata carries attempt_id; a top-up's carries topup_id and is left to
// Checkout's events). It reports whether it answered the request. The
// attempt row, not the event, says which account it is.
func (h *handlers) autoTopUpPaymentWebhook(c *gin.Context, ev stripe.Event, ack func(handled bool, why string)) bool {
	typ := string(ev.Type)
	if (typ != workflows.EventPaymentIntentSucceeded && typ != workflows.EventPaymentIntentFailed) || ev.Data == nil {
		return false
	}
	var obj paymentIntentObject
	if err := json.Unmarshal(ev.Data.Raw, &obj); err != nil || obj.ID == "" || obj.Metadata["attempt_id"] == "" {
		return false
	}
	ctx := c.Request.Context()
	attemptID := obj.Metadata["attempt_id"]
	at, err := h.autoTopUps().FindAttempt(ctx, "attempt_id", attemptID)
	if errors.Is(err, autotopup.ErrAttemptNotFound) {
		h.logger().WarnContext(ctx, "stripe webhook for an unknown auto top-up attempt", "event_id", ev.ID, "attempt_id", attemptID, "payment_intent", obj.ID)
		ack(false, "unknown auto top-up attempt "+attemptID)
		return true
	}
	if err != nil {
		abortWithError(c, err)
		return true
	}
	ack, ok := h.claimEvent(c, ev, obj.ID, ack)
	if !ok {
		return true
	}
	signal := workflows.PaymentIntentEvent{EventID: ev.ID, Type: typ, PaymentIntentID: obj.ID, AttemptID: at.AttemptID, AmountCents: obj.Amount}
	if obj.LastPaymentError != nil {
		signal.Message = obj.LastPaymentError.Message
	}
	running, err := h.wf.SignalAutoTopUpPayment(ctx, at.AccountID, signal)
	if err != nil {
		// Not recorded: Stripe's redelivery is handled.
		abortWithError(c, err)
		return true
	}
	if !running {
		ack(false, "no auto top-up waiting for attempt "+at.AttemptID)
		return true
	}
	ack(true, "signalled auto top-up of account "+fmt.Sprint(at.AccountID))
	return true
}

// logger is the API's logger, or slog's default when none is configured.
func (h *handlers) logger() *slog.Logger {
	if h.d.Log != nil {
		return h.d.Log
	}
	return slog.Default()
}
