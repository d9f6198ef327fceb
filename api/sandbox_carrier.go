package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/wire"
)

// The sandbox carrier's doors, for the dialer in sandbox mode (instead of
// the Voice SDK): connect a call the API authorised, and hang it up. Only
// in sandbox telephony; live, no /sandbox route exists.

// SandboxCarrierPath is where the sandbox dialer connects its calls.
const SandboxCarrierPath = "/sandbox/carrier/calls/"

func (h *handlers) registerSandboxCarrier(r gin.IRouter) {
	if !h.d.Config.Sandbox || h.d.Carrier == nil {
		return
	}
	g := r.Group(SandboxCarrierPath, requireUserJSON())
	g.POST(":id/connect", h.sandboxConnect)
	g.POST(":id/hangup", h.sandboxHangup)
}

// sandboxConnect places the caller's authorised call through the
// simulated network, which asks our voice webhook as Twilio would.
func (h *handlers) sandboxConnect(c *gin.Context) {
	p, _ := principal(c)
	cl, err := h.d.Calls.GetForAccount(c.Request.Context(), p.Account.ID, c.Param("id"))
	if err != nil {
		abortWithError(c, err)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 10*time.Second)
	defer cancel()
	res, err := h.d.Carrier.Connect(ctx, cl.ID, callerOf(c).Identity(), cl.ToE164)
	if err != nil {
		abortWithError(c, &requestError{status: http.StatusBadGateway, code: "carrier_unavailable", message: "the sandbox carrier could not place the call: " + err.Error()})
		return
	}
	c.JSON(http.StatusOK, wire.SandboxConnect{CallSID: res.CallSID, Refused: res.Refused})
}

func (h *handlers) sandboxHangup(c *gin.Context) {
	p, _ := principal(c)
	if _, err := h.d.Calls.GetForAccount(c.Request.Context(), p.Account.ID, c.Param("id")); err != nil {
		abortWithError(c, err)
		return
	}
	if err := h.d.Carrier.Hangup(c.Param("id")); err != nil {
		abortWithError(c, notFound("not_connected", "the call is not connected"))
		return
	}
	c.Status(http.StatusNoContent)
}
