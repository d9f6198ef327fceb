package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/callerid"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/internal/wire"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
	"github.com/mobayilo/mobayilo/workflows"
)

// Caller-ID verification: start, confirm (the SMS code), status and remove, for the
// web (/api/caller-id, session) and the CLI (/api/cli/caller-id, bearer);
// Twilio's validation result reaches /api/webhooks/twilio/caller-id. Each
// handler only starts, updates, signals or queries the number's
// CallerIDVerification workflow and reads its row.

// callerIDStartWait bounds how long start waits for the SMS to be sent.
const callerIDStartWait = 10 * time.Second

func (h *handlers) registerCallerIDRoutes(g gin.IRouter) {
	g.POST("/caller-id", h.limit("caller-id-requests", 5, time.Hour, byUser), h.startCallerID)
	g.POST("/caller-id/confirm", h.limit("caller-id-codes", 20, time.Hour, byUser), h.confirmCallerID)
	g.GET("/caller-id", h.callerIDStatus)
	g.DELETE("/caller-id", h.removeCallerID)
}

func (h *handlers) startCallerID(c *gin.Context) {
	var req wire.CallerIDRequest
	if err := json.NewDecoder(c.Request.Body).Decode(&req); err != nil || strings.TrimSpace(req.Number) == "" {
		abortWithError(c, badRequest("bad_json", `send a JSON body such as {"number":"07700 900123","country":"GB"}`))
		return
	}
	if len(req.Number) > 64 || len(req.Country) > 3 {
		abortWithError(c, badRequest("too_long", "number or country is too long"))
		return
	}
	n, err := rates.Normalize(req.Number, req.Country)
	if err != nil {
		abortWithError(c, err)
		return
	}
	p, _ := principal(c)
	ctx := c.Request.Context()
	// Verifying again would take a verified number out of use until it
	// passes again; it is already done.
	if row, err := h.d.CallerIDs.Get(ctx, p.Account.ID, n.E164); err == nil && row.State == callerid.StateVerified {
		c.JSON(http.StatusOK, callerIDRowView(row))
		return
	}
	if err := h.d.CallerIDs.Gate(ctx, p.Account.ID); err != nil {
		abortWithError(c, err)
		return
	}
	in := workflows.CallerIDVerificationInput{AccountID: p.Account.ID, UserID: p.User.ID, E164: n.E164, Country: n.Region}
	if err := h.wf.StartCallerIDVerification(ctx, in); err != nil {
		abortWithError(c, err)
		return
	}
	// Answer once the SMS is sent (or the gate refused), so the caller
	// knows what to do next.
	wctx, cancel := context.WithTimeout(ctx, callerIDStartWait)
	defer cancel()
	st, err := h.wf.CallerIDVerificationState(wctx, p.Account.ID, n.E164)
	for err == nil && st.State == workflows.CallerIDChecking && wctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		st, err = h.wf.CallerIDVerificationState(wctx, p.Account.ID, n.E164)
	}
	if err != nil {
		abortWithError(c, err)
		return
	}
	c.JSON(http.StatusAccepted, callerIDView(st))
}

func (h *handlers) confirmCallerID(c *gin.Context) {
	var req wire.CallerIDConfirm
	if err := json.NewDecoder(c.Request.Body).Decode(&req); err != nil || strings.TrimSpace(req.Code) == "" {
		abortWithError(c, badRequest("bad_json", `send a JSON body such as {"code":"123456"}`))
		return
	}
	if len(req.Number) > 64 || len(req.Country) > 3 || len(req.Code) > 16 {
		abortWithError(c, badRequest("too_long", "number, country or code is too long"))
		return
	}
	p, _ := principal(c)
	ctx := c.Request.Context()
	var e164 string
	if strings.TrimSpace(req.Number) != "" {
		n, err := rates.Normalize(req.Number, req.Country)
		if err != nil {
			abortWithError(c, err)
			return
		}
		e164 = n.E164
	} else {
		row, err := h.d.CallerIDs.Pending(ctx, p.Account.ID)
		if err != nil {
			abortWithError(c, err)
			return
		}
		e164 = row.E164
	}
	a, err := h.wf.SubmitCallerIDCode(ctx, p.Account.ID, e164, strings.TrimSpace(req.Code))
	if errors.Is(err, workflows.ErrNotRunning) {
		err = callerid.ErrNothingPending
	}
	if err != nil {
		abortWithError(c, err)
		return
	}
	v := callerIDView(a.State)
	v.Approved = &a.Approved
	c.JSON(http.StatusOK, v)
}

func (h *handlers) callerIDStatus(c *gin.Context) {
	p, _ := principal(c)
	ctx := c.Request.Context()
	rows, err := h.d.CallerIDs.List(ctx, p.Account.ID)
	if err != nil {
		abortWithError(c, err)
		return
	}
	out := wire.CallerIDStatus{CallerIDs: []wire.CallerID{}}
	for _, r := range rows {
		if r.State == callerid.StateRemoved {
			continue
		}
		v := callerIDRowView(r)
		if !workflows.CallerIDFinal(r.State) {
			// The live state carries the keypad code, which is never stored.
			if st, err := h.wf.CallerIDVerificationState(ctx, p.Account.ID, r.E164); err == nil {
				v = callerIDView(st)
			}
		}
		if r.State == callerid.StateVerified && out.CallerID == "" {
			out.CallerID, out.Verified = r.E164, true
		}
		out.CallerIDs = append(out.CallerIDs, v)
	}
	if out.CallerID == "" {
		out.CallerID = h.d.Config.EffectiveDefaultCallerID()
	}
	c.JSON(http.StatusOK, out)
}

// callerIDMessages say what each state means and what to do next.
var callerIDMessages = map[string]string{
	workflows.CallerIDChecking:         "Checking your account…",
	workflows.CallerIDRefused:          "This number cannot be verified now.",
	workflows.CallerIDAwaitingCode:     "We sent a code by SMS: confirm it with `moby caller-id confirm <code>` or on the Settings page.",
	workflows.CallerIDAwaitingCall:     "Twilio is calling this number: answer and key in the validation code on the phone's keypad.",
	workflows.CallerIDVerified:         "Verified: your calls now show this number.",
	workflows.CallerIDCodeExpired:      "The SMS code expired before it was confirmed: request a new one.",
	workflows.CallerIDTooManyAttempts:  "Too many wrong codes: request a new one.",
	workflows.CallerIDCallExpired:      "The validation call was not completed in time: request again.",
	workflows.CallerIDValidationFailed: "The validation call failed (a wrong keypad code, or no answer): request again.",
	workflows.CallerIDRemoved:          "Removed: your calls no longer show this number.",
}

// removeCallerID takes the account's caller IDs out of use: every one that
// is not removed yet, or only ?number= (read with ?country=), each marked
// removed and audited; calls go out with DEFAULT_CALLER_ID again.
func (h *handlers) removeCallerID(c *gin.Context) {
	p, _ := principal(c)
	ctx := c.Request.Context()
	number, country := strings.TrimSpace(c.Query("number")), strings.TrimSpace(c.Query("country"))
	if len(number) > 64 || len(country) > 3 {
		abortWithError(c, badRequest("too_long", "number or country is too long"))
		return
	}
	want := ""
	if number != "" {
		n, err := rates.Normalize(number, country)
		if err != nil {
			abortWithError(c, err)
			return
		}
		want = n.E164
	}
	removed, err := h.removeCallerIDs(ctx, identity.UserActor(p.User.ID), p.Account.ID, want)
	if err != nil {
		abortWithError(c, err)
		return
	}
	out := wire.CallerIDRemoval{Removed: removed}
	v, err := h.d.CallerIDs.Verified(ctx, p.Account.ID)
	if err != nil {
		abortWithError(c, err)
		return
	}
	out.CallerID, out.Verified = v, v != ""
	if v == "" {
		out.CallerID = h.d.Config.EffectiveDefaultCallerID()
	}
	c.JSON(http.StatusOK, out)
}

// removeCallerIDs removes the account's live caller IDs (only e164 when
// it is not ""), for the owner or an operator (actor). A verification
// under way is ended first, so its workflow no longer writes the row; one
// that had already closed answers ErrNotRunning and the row is ours.
// Errors: callerid.ErrNothingToRemove, workflows.ErrUnavailable.
func (h *handlers) removeCallerIDs(ctx context.Context, actor string, accountID int64, e164 string) ([]string, error) {
	live, err := h.d.CallerIDs.Live(ctx, accountID)
	if err != nil {
		return nil, err
	}
	removed := []string{}
	for _, r := range live {
		if e164 != "" && r.E164 != e164 {
			continue
		}
		if !workflows.CallerIDFinal(r.State) {
			if _, err := h.wf.RemoveCallerIDVerification(ctx, accountID, r.E164); err != nil && !errors.Is(err, workflows.ErrNotRunning) {
				return nil, err
			}
		}
		removed = append(removed, r.E164)
	}
	if len(removed) == 0 {
		return nil, callerid.ErrNothingToRemove
	}
	if err := h.d.CallerIDs.Remove(ctx, actor, accountID, removed); err != nil {
		return nil, err
	}
	return removed, nil
}

func callerIDView(st workflows.CallerIDState) wire.CallerID {
	msg := callerIDMessages[st.State]
	if st.State == workflows.CallerIDRefused && st.Reason != "" {
		msg = st.Reason
	}
	v := wire.CallerID{Number: st.E164, Country: st.Country, State: st.State, Message: msg, ValidationCode: st.ValidationCode,
		CodeAttempts: st.CodeAttempts}
	if !st.VerifiedAt.IsZero() {
		t := st.VerifiedAt.UTC()
		v.VerifiedAt = &t
	}
	return v
}

func callerIDRowView(r models.CallerID) wire.CallerID {
	return wire.CallerID{Number: r.E164, Country: r.Country, State: r.State, Message: callerIDMessages[r.State],
		CodeAttempts: int(r.Attempts), VerifiedAt: r.VerifiedAt}
}

// callerIDWebhook is Twilio's validation result (the validation request's
// StatusCallback): the account rides in the signed URL's query.
func (h *handlers) callerIDWebhook(c *gin.Context) {
	account, err := strconv.ParseInt(c.Query("account"), 10, 64)
	number := c.PostForm("PhoneNumber")
	if err != nil || number == "" {
		abortWithError(c, badRequest("bad_payload", "account and PhoneNumber are required"))
		return
	}
	res := workflows.CallerIDValidationResult{CallSID: c.PostForm("CallSid"), Verified: c.PostForm("VerificationStatus") == "success"}
	err = h.wf.SignalCallerIDValidation(c.Request.Context(), account, number, res)
	if errors.Is(err, workflows.ErrNotRunning) {
		// A result after the verification ended: acknowledged, nothing owed.
		c.Status(http.StatusNoContent)
		return
	}
	if err != nil {
		abortWithError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// SandboxPhonePath is where the sandbox's simulated phone keys in digits
// on a ringing validation call.
const SandboxPhonePath = "/sandbox/phone/keypad"

// sandboxKeypad keys digits in on the caller's ringing validation call;
// the sandbox posts Twilio's signed result to our webhook.
func (h *handlers) sandboxKeypad(c *gin.Context) {
	var req struct {
		Number string `json:"number"`
		Digits string `json:"digits"`
	}
	if err := json.NewDecoder(c.Request.Body).Decode(&req); err != nil || req.Number == "" || len(req.Digits) > 16 {
		abortWithError(c, badRequest("bad_json", `send a JSON body such as {"number":"+447700900123","digits":"123456"}`))
		return
	}
	p, _ := principal(c)
	if _, err := h.d.CallerIDs.Get(c.Request.Context(), p.Account.ID, req.Number); err != nil {
		abortWithError(c, err)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 10*time.Second)
	defer cancel()
	if err := h.d.SandboxCallerIDs.CompleteValidation(ctx, req.Number, req.Digits); err != nil {
		abortWithError(c, notFound("no_call", err.Error()))
		return
	}
	c.Status(http.StatusNoContent)
}

// SandboxPhonePage is the sandbox's simulated phone: the account's numbers
// a validation call is ringing, each with a keypad.
const SandboxPhonePage = "/sandbox/phone"

type sandboxPhoneView struct {
	Ringing      []string
	Flash, Error string
}

func (h *handlers) renderSandboxPhone(c *gin.Context, status int, flash, problem string) {
	p, _ := principal(c)
	v := sandboxPhoneView{Flash: flash, Error: problem}
	rows, err := h.d.CallerIDs.List(c.Request.Context(), p.Account.ID)
	if err != nil {
		h.pageFailed(c, err)
		return
	}
	for _, r := range rows {
		if r.State == workflows.CallerIDAwaitingCall {
			v.Ringing = append(v.Ringing, r.E164)
		}
	}
	page := web.PageFor(c, "Sandbox phone", "")
	page.Data = v
	h.d.Pages.Serve(c, status, "sandbox_phone", page)
}

func (h *handlers) sandboxPhonePage(c *gin.Context) {
	flash := ""
	if c.Query("done") == "1" {
		flash = "Digits sent: Twilio's result is on its way to your verification."
	}
	h.renderSandboxPhone(c, http.StatusOK, flash, "")
}

// sandboxPhoneKeys is the keypad form's post.
func (h *handlers) sandboxPhoneKeys(c *gin.Context) {
	p, _ := principal(c)
	number, digits := c.PostForm("number"), strings.TrimSpace(c.PostForm("digits"))
	if _, err := h.d.CallerIDs.Get(c.Request.Context(), p.Account.ID, number); err != nil || digits == "" || len(digits) > 16 {
		h.renderSandboxPhone(c, http.StatusBadRequest, "", "Key in the digits for one of your ringing numbers.")
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 10*time.Second)
	defer cancel()
	if err := h.d.SandboxCallerIDs.CompleteValidation(ctx, number, digits); err != nil {
		h.renderSandboxPhone(c, http.StatusNotFound, "", "No validation call is ringing "+number+".")
		return
	}
	c.Redirect(http.StatusSeeOther, SandboxPhonePage+"?done=1")
}
