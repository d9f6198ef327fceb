package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/calls"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/wire"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

// Calling from the browser: POST /api/calls authorises a call (its Call
// workflow places the hold and answers at once), GET /api/calls/token is
// the Voice SDK's token, GET /api/calls/:id/events streams the call's
// status to the dialer (server-sent events read from the database, so any
// API process can serve them), GET /api/calls/recent feeds the dialer's
// quick redial.

// callStartTimeout bounds the authorize round trip (start, hold, answer).
const callStartTimeout = 10 * time.Second

// callEventsPoll is how often the event stream reads the call's row.
const callEventsPoll = 250 * time.Millisecond

func (h *handlers) registerCalls(r gin.IRouter) {
	g := r.Group("/api/calls", requireUserJSON())
	g.POST("", h.limit("call-attempts", int64(h.d.Config.CallAttemptsPerMinute), time.Minute, byUser), h.createCall)
	g.GET("/token", h.limit("voice-token", 30, time.Minute, byUser), h.voiceToken)
	g.GET("/recent", h.recentCalls)
	g.GET("/:id", h.getCall)
	g.GET("/:id/events", h.callEvents)
}

// callerOf is the signed-in principal as a caller.
func callerOf(c *gin.Context) calls.Caller {
	p, _ := principal(c)
	return calls.Caller{UserID: p.User.ID, AccountID: p.Account.ID, Seat: p.User.Role == models.RoleSeat,
		Company: p.Account.Kind == models.AccountCompany}
}

// createCall authorises a call: the number, the caller, the country, the
// rate, one minute of balance, the seat's cap and the caller ID are
// checked here (Plan); the Call workflow places the hold.
func (h *handlers) createCall(c *gin.Context) {
	req, ok := readNewCall(c, `{"to":"+33 6 12 34 56 78"}`)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	plan, err := h.d.Calls.Plan(ctx, callerOf(c), req.To, req.Country)
	if err != nil {
		abortWithError(c, err)
		return
	}
	sctx, cancel := context.WithTimeout(ctx, callStartTimeout)
	defer cancel()
	auth, err := h.wf.StartCall(sctx, callInput(plan, h.d.Config.CallDialWindow))
	if err != nil {
		abortWithError(c, err)
		return
	}
	c.JSON(http.StatusCreated, wire.Call{CallID: plan.CallID, To: plan.To.E164, ToNational: plan.To.National, Country: plan.To.Region,
		PricePerMinuteCents: plan.PricePerMinuteCents, PricePerMinute: money.Format(plan.PricePerMinuteCents),
		MaxMinutes: auth.MaxMinutes, CallerID: plan.CallerID, Status: workflows.CallAuthorized, ExpiresAt: auth.ExpiresAt.UTC()})
}

// readNewCall reads a call request's body (example shows a valid one in
// the error), its country upper-cased; a bad body is answered here.
func readNewCall(c *gin.Context, example string) (wire.NewCall, bool) {
	var req wire.NewCall
	if err := json.NewDecoder(c.Request.Body).Decode(&req); err != nil {
		abortWithError(c, badRequest("bad_json", "send a JSON body such as "+example))
		return req, false
	}
	if len(req.To) > 64 || len(req.Country) > 3 {
		abortWithError(c, badRequest("too_long", "to or country is too long"))
		return req, false
	}
	req.Country = strings.ToUpper(strings.TrimSpace(req.Country))
	return req, true
}

// callInput is a planned call's workflow input; a plan's own dial window
// (a bridge leg's) replaces the deployment's.
func callInput(p calls.Plan, dialWindow time.Duration) workflows.CallInput {
	if p.DialWindow > 0 {
		dialWindow = p.DialWindow
	}
	return workflows.CallInput{CallID: p.CallID, AccountID: p.Caller.AccountID, UserID: p.Caller.UserID, Seat: p.Caller.Seat,
		Identity: p.Caller.Identity(), To: p.To.E164, ToNational: p.To.National, ToCountry: p.To.Region, CallerID: p.CallerID,
		PricePerMinuteCents: p.PricePerMinuteCents, MaxMinutes: p.MaxMinutes, DialWindow: dialWindow, BridgeID: p.BridgeID, Leg: string(p.Leg)}
}

var errNoBalanceForToken = &requestError{status: http.StatusForbidden, code: "insufficient_funds",
	message: "your balance is empty: top up to make calls"}

// voiceToken is the browser's Voice SDK token: identity is the caller's,
// TTL VOICE_TOKEN_TTL (at most an hour, set as the exp claim itself).
func (h *handlers) voiceToken(c *gin.Context) {
	p, _ := principal(c)
	acct, err := h.d.Ledger.Account(c.Request.Context(), p.Account.ID)
	if err != nil {
		abortWithError(c, err)
		return
	}
	if acct.Status != models.StatusActive || p.User.Status != models.StatusActive {
		abortWithError(c, &requestError{status: http.StatusForbidden, code: wire.CodeAccountDisabled, message: "this account is disabled"})
		return
	}
	if acct.AvailableCents() <= 0 {
		abortWithError(c, errNoBalanceForToken)
		return
	}
	identity := callerOf(c).Identity()
	expires := time.Now().Add(h.d.Config.VoiceTokenTTL).Truncate(time.Second)
	tok, err := h.d.Telephony.VoiceToken(identity, expires)
	if err != nil {
		abortWithError(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, wire.VoiceToken{Token: tok, Identity: identity, ExpiresAt: expires.UTC(), Sandbox: h.d.Config.SandboxTwilio()})
}

// callJSON is a call as the dialer and the CLI see it.
func callJSON(cl models.Call, balanceCents *int64) wire.Call {
	out := wire.Call{CallID: cl.ID, To: cl.ToE164, ToNational: cl.ToNational, Country: cl.ToCountry,
		PricePerMinuteCents: cl.PricePerMinuteCents, PricePerMinute: money.Format(cl.PricePerMinuteCents), MaxMinutes: cl.MaxMinutes,
		CallerID: cl.CallerID, Status: string(cl.Status), ExpiresAt: cl.ExpiresAt.UTC(), StartedAt: utcOrNil(cl.AnsweredAt),
		EndedAt: utcOrNil(cl.EndedAt), DurationSeconds: cl.DurationSeconds, BilledMinutes: cl.BilledMinutes, CostCents: cl.CostCents,
		BalanceCents: balanceCents, CreatedAt: cl.CreatedAt.UTC()}
	if cl.CostCents != nil {
		out.Cost = money.Format(*cl.CostCents)
	}
	if balanceCents != nil {
		out.Balance = money.Format(*balanceCents)
	}
	return out
}

func (h *handlers) getCall(c *gin.Context) {
	p, _ := principal(c)
	cl, err := h.d.Calls.GetForAccount(c.Request.Context(), p.Account.ID, c.Param("id"))
	if err != nil {
		abortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, callJSON(cl, h.balanceIfBilled(c.Request.Context(), cl)))
}

// balanceIfBilled is the account's balance once the call is billed: what
// the dialer shows at the end.
func (h *handlers) balanceIfBilled(ctx context.Context, cl models.Call) *int64 {
	if cl.BilledMinutes == nil {
		return nil
	}
	acct, err := h.d.Ledger.Account(ctx, cl.AccountID)
	if err != nil {
		return nil
	}
	return &acct.BalanceCents
}

func (h *handlers) recentCalls(c *gin.Context) {
	p, _ := principal(c)
	rs, err := h.d.Calls.Recent(c.Request.Context(), p.Account.ID)
	if err != nil {
		abortWithError(c, err)
		return
	}
	out := wire.RecentNumbers{Numbers: []wire.RecentNumber{}}
	for _, r := range rs {
		out.Numbers = append(out.Numbers, wire.RecentNumber{To: r.ToE164, ToNational: r.ToNational, Country: r.ToCountry, LastCalledAt: r.CreatedAt.UTC()})
	}
	c.JSON(http.StatusOK, out)
}

// callEvents streams the call's state as server-sent events ("status"),
// one each time it changes, until the call is billed. It reads the
// database, which every API process shares, so the stream works behind a
// load balancer; a dropped stream resumes from the row.
func (h *handlers) callEvents(c *gin.Context) {
	p, _ := principal(c)
	ctx := c.Request.Context()
	cl, err := h.d.Calls.GetForAccount(ctx, p.Account.ID, c.Param("id"))
	if err != nil {
		abortWithError(c, err)
		return
	}
	w := c.Writer
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	last := ""
	tick := time.NewTicker(callEventsPoll)
	defer tick.Stop()
	// A call lasts at most MAX_CALL_MINUTES plus its ringing and its
	// reconciliation: a stream past that is a forgotten tab.
	deadline := time.Now().Add(time.Duration(cl.MaxMinutes)*time.Minute + workflows.CallRingAllowance + 2*workflows.CallReconcileMargin + h.d.Config.CallDialWindow)
	_ = rc.SetWriteDeadline(deadline.Add(time.Minute))
	for {
		ev := callJSON(cl, h.balanceIfBilled(ctx, cl))
		b, _ := json.Marshal(ev)
		if s := string(b); s != last {
			last = s
			if _, err := fmt.Fprintf(w, "event: status\ndata: %s\n\n", b); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
		if cl.BilledMinutes != nil || time.Now().After(deadline) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		next, err := h.d.Calls.Get(ctx, cl.ID)
		if err != nil {
			slog.WarnContext(ctx, "call events: reload", "call_id", cl.ID, "error", err)
			return
		}
		cl = next
	}
}
