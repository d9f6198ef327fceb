package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/twilio/twilio-go/twiml"

	"github.com/mobayilo/mobayilo/internal/calls"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

// Twilio's webhooks for calls, each verified first (twilioSigned):
//
//   - voice: Twilio asks what to do with a browser's call. The call must be
//     authorised, for this identity, unexpired and unclaimed; it is claimed
//     once (a retried webhook gets the same answer) and dialed with
//     timeLimit = the minutes its hold covers, so it can never outspend it.
//   - status: the phone leg's progress. Every callback is recorded (late and
//     duplicate ones too); one that moves the call forward to a state the
//     workflow acts on is signalled to it.
//   - dial-action: the <Dial action>, the same final word once more.
//   - bridge (bridge_calls.go): a bridge call's owner answered; the
//     destination leg is claimed and dialed as voice dials.
//
// They read and write the call's row and signal; they never wait on an
// activity.

// callStatusEvents are what the phone leg reports (Twilio's names).
const callStatusEvents = "initiated ringing answered completed"

// Sentences said, then hung up on, for a call that cannot be connected.
var claimSays = map[calls.ClaimReason]string{
	calls.ClaimUnknown:  "Sorry, this call could not be placed. Please try again from the dialer.",
	calls.ClaimExpired:  "Sorry, this call waited too long to start. Please dial again.",
	calls.ClaimUsed:     "Sorry, this call was already placed. Please dial again.",
	calls.ClaimMismatch: "Sorry, this call belongs to another user. Please dial again.",
}

func writeTwiML(c *gin.Context, verbs ...twiml.Element) {
	doc, err := twiml.Voice(verbs)
	if err != nil {
		abortWithError(c, err)
		return
	}
	c.Data(http.StatusOK, "application/xml; charset=utf-8", []byte(doc))
}

func sayAndHangUp(c *gin.Context, say string) {
	writeTwiML(c, &twiml.VoiceSay{Message: say}, &twiml.VoiceHangup{})
}

// identityOf is the Voice SDK client behind From ("client:<identity>").
func identityOf(from string) string { return strings.TrimPrefix(from, "client:") }

func (h *handlers) voiceWebhook(c *gin.Context) {
	ctx := c.Request.Context()
	f := c.Request.PostForm
	callID := f.Get("CallId")
	cl, err := h.d.Calls.Claim(ctx, callID, identityOf(f.Get("From")), f.Get("CallSid"))
	var ce *calls.ClaimError
	if errors.As(err, &ce) {
		slog.InfoContext(ctx, "voice webhook refused the call", "call_id", callID, "reason", ce.Reason, "request_id", c.GetString(requestIDKey))
		sayAndHangUp(c, claimSays[ce.Reason])
		return
	}
	if err != nil {
		abortWithError(c, err)
		return
	}
	if err := h.wf.SignalCallStatus(ctx, cl.ID, workflows.CallStatusEvent{State: workflows.CallDialing, DurationSeconds: -1, Source: "voice webhook"}); err != nil {
		// The workflow ended (it expired the call as Twilio asked): do not
		// dial a call nobody will bill.
		slog.WarnContext(ctx, "voice webhook could not signal the call", "call_id", cl.ID, "error", err)
		sayAndHangUp(c, claimSays[calls.ClaimExpired])
		return
	}
	h.dialNumber(c, cl)
}

// dialNumber answers TwiML that dials cl's number with its caller ID, for
// at most the minutes its hold covers; its callbacks name cl.
func (h *handlers) dialNumber(c *gin.Context, cl models.Call) {
	base := h.d.Config.PublicBaseURL
	q := "?call=" + url.QueryEscape(cl.ID)
	writeTwiML(c, &twiml.VoiceDial{CallerId: cl.CallerID, TimeLimit: strconv.FormatInt(cl.MaxMinutes*60, 10),
		Action: base + "/api/webhooks/twilio/dial-action" + q,
		InnerElements: []twiml.Element{&twiml.VoiceNumber{PhoneNumber: cl.ToE164, StatusCallback: base + "/api/webhooks/twilio/status" + q,
			StatusCallbackEvent: callStatusEvents, StatusCallbackMethod: http.MethodPost}}})
}

// record stores a callback and tells the workflow what it acts on.
func (h *handlers) record(ctx context.Context, ev calls.StatusEvent) error {
	rec, err := h.d.Calls.RecordStatus(ctx, ev)
	if err != nil {
		return err
	}
	if rec.Status != models.CallInProgress && !rec.Status.Final() {
		return nil // ringing and dialing change nothing the workflow bills
	}
	// Twilio repeats a callback we failed to answer, and the row may have
	// moved before the workflow heard of it: a repeat of the call's current
	// status is signalled again until the call is billed (the workflow
	// ignores what it already knows). Another callback of a status the call
	// already has (the <Dial action> after the status callback) is not: one
	// signal action fewer per call.
	if !rec.Advanced && (!rec.Repeat || rec.Call.Status != rec.Status || rec.Call.BilledMinutes != nil) {
		return nil // a late, lower status, a second source, or after the bill: the row has it
	}
	err = h.wf.SignalCallStatus(ctx, ev.CallID, workflows.CallStatusEvent{State: string(rec.Status), DurationSeconds: ev.DurationSeconds, Source: "callback " + ev.Status})
	if errors.Is(err, workflows.ErrNotRunning) {
		return nil // settled already; the late callback is recorded
	}
	return err
}

func seconds(s string) int64 {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return n
	}
	return -1
}

func (h *handlers) callStatusWebhook(c *gin.Context) {
	f := c.Request.PostForm
	seq, err := strconv.ParseInt(f.Get("SequenceNumber"), 10, 64)
	if err != nil {
		seq = -1
	}
	h.answerCallback(c, calls.StatusEvent{CallID: c.Query("call"), CallSID: f.Get("CallSid"), Status: f.Get("CallStatus"),
		SequenceNumber: seq, DurationSeconds: seconds(f.Get("CallDuration"))}, false)
}

func (h *handlers) dialActionWebhook(c *gin.Context) {
	f := c.Request.PostForm
	h.answerCallback(c, calls.StatusEvent{CallID: c.Query("call"), CallSID: f.Get("DialCallSid"), Status: f.Get("DialCallStatus"),
		SequenceNumber: -1, DurationSeconds: seconds(f.Get("DialCallDuration"))}, true)
}

// answerCallback records ev and answers Twilio: 204 for a status callback,
// TwiML that hangs up for the <Dial action>. A callback about no call of
// ours is acknowledged (and logged): retrying it would not help.
func (h *handlers) answerCallback(c *gin.Context, ev calls.StatusEvent, twimlAnswer bool) {
	ctx := c.Request.Context()
	err := h.record(ctx, ev)
	switch {
	case errors.Is(err, calls.ErrCallNotFound), errors.Is(err, calls.ErrClaimRefused):
		slog.WarnContext(ctx, "twilio callback for no call of ours", "call_id", ev.CallID, "status", ev.Status, "error", err)
	case err != nil:
		abortWithError(c, fmt.Errorf("record callback %s of %s: %w", ev.Status, ev.CallID, err))
		return
	}
	if twimlAnswer {
		writeTwiML(c, &twiml.VoiceHangup{})
		return
	}
	c.Status(http.StatusNoContent)
}
