package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/calls"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/wire"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

// Bridge calls, `moby call <number>` (bearer token, /api/cli/calls): POST
// plans the two legs and starts each one's Call workflow (the destination
// leg's hold first, then the owner leg's, whose workflow has Twilio ring
// the owner's phone); GET /:id reads both legs' rows; POST /:id/hangup
// signals the owner leg to hang up. The bridge webhook (Twilio asks it once
// the owner answers) claims the destination leg and dials it.

func (h *handlers) registerBridgeCalls(cli gin.IRouter) {
	cli.POST("/calls", h.limit("call-attempts", int64(h.d.Config.CallAttemptsPerMinute), time.Minute, byUser), h.createBridgeCall)
	cli.GET("/calls/:id", h.getBridgeCall)
	cli.POST("/calls/:id/hangup", h.hangUpBridgeCall)
}

func (h *handlers) createBridgeCall(c *gin.Context) {
	req, ok := readNewCall(c, `{"to":"020 7946 0123","country":"GB"}`)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	plan, err := h.d.Calls.PlanBridge(ctx, callerOf(c), req.To, req.Country)
	if err != nil {
		abortWithError(c, err)
		return
	}
	sctx, cancel := context.WithTimeout(ctx, callStartTimeout)
	defer cancel()
	// The destination's hold first: the owner's phone rings only once both
	// legs are paid for.
	if _, err := h.wf.StartCall(sctx, callInput(plan.Destination, h.d.Config.CallDialWindow)); err != nil {
		abortWithError(c, err)
		return
	}
	if _, err := h.wf.StartCall(sctx, callInput(plan.Owner, h.d.Config.CallDialWindow)); err != nil {
		// Nothing rings: release the destination's hold now.
		if serr := h.wf.SignalCallStatus(ctx, plan.Destination.CallID, workflows.CallStatusEvent{State: workflows.CallCanceled,
			DurationSeconds: 0, Source: "owner leg refused"}); serr != nil {
			slog.WarnContext(ctx, "bridge call: could not cancel the destination leg", "call_id", plan.Destination.CallID, "error", serr)
		}
		abortWithError(c, err)
		return
	}
	owner, dest, err := h.d.Calls.Bridge(ctx, plan.Destination.Caller.AccountID, plan.Destination.CallID)
	if err != nil {
		abortWithError(c, err)
		return
	}
	out := bridgeJSON(owner, dest, nil)
	out.CountryGuessed = plan.CountryGuessed
	c.JSON(http.StatusCreated, out)
}

func (h *handlers) getBridgeCall(c *gin.Context) {
	p, _ := principal(c)
	ctx := c.Request.Context()
	owner, dest, err := h.d.Calls.Bridge(ctx, p.Account.ID, c.Param("id"))
	if err != nil {
		abortWithError(c, err)
		return
	}
	var balance *int64
	if owner.BilledMinutes != nil && dest.BilledMinutes != nil {
		balance = h.balanceIfBilled(ctx, dest)
	}
	c.JSON(http.StatusOK, bridgeJSON(owner, dest, balance))
}

// hangUpBridgeCall asks the owner leg to hang up; Twilio then ends both
// legs and their callbacks bill them. A call already over answers as is.
func (h *handlers) hangUpBridgeCall(c *gin.Context) {
	p, _ := principal(c)
	ctx := c.Request.Context()
	owner, dest, err := h.d.Calls.Bridge(ctx, p.Account.ID, c.Param("id"))
	if err != nil {
		abortWithError(c, err)
		return
	}
	if err := h.wf.HangUpCall(ctx, owner.ID); err != nil && !errors.Is(err, workflows.ErrNotRunning) {
		abortWithError(c, err)
		return
	}
	c.JSON(http.StatusAccepted, bridgeJSON(owner, dest, nil))
}

// bridgeStatus is the bridge's status as a whole, from its legs'.
func bridgeStatus(owner, dest models.Call) string {
	switch {
	case owner.BilledMinutes != nil && dest.BilledMinutes != nil:
		return wire.BridgeEnded
	case dest.Status == models.CallInProgress:
		return wire.BridgeInProgress
	case owner.Status == models.CallInProgress || dest.Rank > models.CallAuthorized.Rank():
		return wire.BridgeRingingDestination
	}
	return wire.BridgeRingingOwner
}

func bridgeLeg(cl models.Call) wire.BridgeLeg {
	l := wire.BridgeLeg{CallID: cl.ID, To: cl.ToE164, Status: string(cl.Status), PricePerMinuteCents: cl.PricePerMinuteCents,
		PricePerMinute: money.Format(cl.PricePerMinuteCents), AnsweredAt: utcOrNil(cl.AnsweredAt), DurationSeconds: cl.DurationSeconds,
		BilledMinutes: cl.BilledMinutes, CostCents: cl.CostCents}
	if cl.CostCents != nil {
		l.Cost = money.Format(*cl.CostCents)
	}
	return l
}

func bridgeJSON(owner, dest models.Call, balanceCents *int64) wire.BridgeCall {
	out := wire.BridgeCall{CallID: dest.ID, To: dest.ToE164, ToNational: dest.ToNational, Country: dest.ToCountry, CallerID: dest.CallerID,
		MaxMinutes: min(owner.MaxMinutes, dest.MaxMinutes), Status: bridgeStatus(owner, dest), Owner: bridgeLeg(owner), Destination: bridgeLeg(dest)}
	if owner.CostCents != nil && dest.CostCents != nil {
		total := *owner.CostCents + *dest.CostCents
		out.TotalCostCents, out.TotalCost = &total, money.Format(total)
	}
	if balanceCents != nil {
		out.BalanceCents, out.Balance = balanceCents, money.Format(*balanceCents)
	}
	return out
}

// bridgeSays is said, then hung up on, when the owner answers a bridge
// call that can no longer be connected.
const bridgeSays = "Sorry, this call can no longer be connected. Please run moby call again."

// bridgeWebhook is Twilio asking what to do now that the owner answered
// their leg: the destination leg is claimed once and dialed with the
// verified number as caller ID, exactly as the voice webhook dials a
// browser's call.
func (h *handlers) bridgeWebhook(c *gin.Context) {
	ctx := c.Request.Context()
	bridgeID := c.Query("bridge")
	cl, err := h.d.Calls.ClaimBridge(ctx, bridgeID, c.Request.PostForm.Get("CallSid"))
	var ce *calls.ClaimError
	if errors.As(err, &ce) {
		slog.InfoContext(ctx, "bridge webhook refused the call", "bridge_id", bridgeID, "reason", ce.Reason, "request_id", c.GetString(requestIDKey))
		sayAndHangUp(c, bridgeSays)
		return
	}
	if err != nil {
		abortWithError(c, err)
		return
	}
	if err := h.wf.SignalCallStatus(ctx, cl.ID, workflows.CallStatusEvent{State: workflows.CallDialing, DurationSeconds: -1, Source: "bridge webhook"}); err != nil {
		slog.WarnContext(ctx, "bridge webhook could not signal the call", "call_id", cl.ID, "error", err)
		sayAndHangUp(c, bridgeSays)
		return
	}
	h.dialNumber(c, cl)
}
