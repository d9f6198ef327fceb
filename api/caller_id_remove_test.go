package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/callerid"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/internal/wire"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

func (c caller) remove(query string, hdr map[string]string) (int, []byte) {
	c.s.t.Helper()
	code, _, body := c.s.do(http.MethodDelete, "/api/caller-id"+query, nil, hdr, c.cookie)
	return code, body
}

func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var eb struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(body, &eb); err != nil {
		t.Fatalf("not an error body: %s", body)
	}
	return eb.Error.Code
}

// Removing a number whose verification waits for its SMS code ends that
// workflow at once as removed (no workflow left waiting), and a later
// request for the same number starts a new verification.
func TestCallerIDRemove_EndsTheVerificationUnderWayAndANewRequestWorks(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	c := s.caller("cid-remove-pending@example.com", 1000)
	const number = "+447400123460"
	s.endCallerIDAtCleanup(c.user.AccountID, number)
	if code, body := c.post("/api/caller-id", wire.CallerIDRequest{Number: number}); code != http.StatusAccepted {
		t.Fatalf("request = %d %s", code, body)
	}
	code, body := c.remove("", nil)
	var rm wire.CallerIDRemoval
	if code != http.StatusOK || json.Unmarshal(body, &rm) != nil || len(rm.Removed) != 1 || rm.Removed[0] != number || rm.Verified {
		t.Fatalf("remove = %d %s", code, body)
	}
	if rm.CallerID != s.cfg.EffectiveDefaultCallerID() {
		t.Errorf("caller ID after removal %q, want the default %q", rm.CallerID, s.cfg.EffectiveDefaultCallerID())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	run := s.temporal.GetWorkflow(ctx, workflows.CallerIDWorkflowID(c.user.AccountID, number), "")
	var res workflows.CallerIDVerificationResult
	if err := run.Get(ctx, &res); err != nil || res.State != workflows.CallerIDRemoved {
		t.Fatalf("workflow ended %+v, %v; want removed", res, err)
	}
	testenv.RecordHistory(t, testenv.WorkflowHistory(t, s.temporal, workflows.CallerIDWorkflowID(c.user.AccountID, number), run.GetRunID()), "caller-id-removed-awaiting-code")
	var st wire.CallerIDStatus
	if code := c.getJSON("/api/caller-id", &st); code != http.StatusOK || len(st.CallerIDs) != 0 || st.Verified {
		t.Fatalf("status after removal = %d %+v; want no caller IDs", code, st)
	}
	if code, body := c.post("/api/caller-id/confirm", wire.CallerIDConfirm{Code: s.smsCode(number)}); code != http.StatusConflict {
		t.Fatalf("confirm after removal = %d %s; want 409 nothing pending", code, body)
	}
	if code, body := c.remove("", nil); code != http.StatusNotFound || errorCode(t, body) != "nothing_to_remove" {
		t.Fatalf("second remove = %d %s; want 404 nothing_to_remove", code, body)
	}
	code, body = c.post("/api/caller-id", wire.CallerIDRequest{Number: number})
	var v wire.CallerID
	if code != http.StatusAccepted || json.Unmarshal(body, &v) != nil || v.State != workflows.CallerIDAwaitingCode {
		t.Fatalf("request after removal = %d %s; want a new verification", code, body)
	}
	if again := s.temporal.GetWorkflow(ctx, workflows.CallerIDWorkflowID(c.user.AccountID, number), ""); again.GetRunID() == run.GetRunID() {
		t.Errorf("the new request joined the removed run")
	}
}

// Removing the verified number (here with `moby caller-id remove --json`
// over /api/cli) puts the account's calls back on DEFAULT_CALLER_ID and is
// audited; a cross-site DELETE from a browser is refused with nothing
// changed; bad input is a 400.
func TestCallerIDRemove_VerifiedNumberCallsUseTheDefaultAgain(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	u, cookie, tok := s.user("cid-remove-verified@example.com", models.AccountIndividual)
	c := caller{s: s, user: u, cookie: cookie}
	if _, err := s.ledger.Post(context.Background(), ledger.Posting{AccountID: u.AccountID, Kind: models.EntryBonus, AmountCents: 1000,
		IdempotencyKey: "seed-cid-remove-verified", Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	const number = "+447400123461"
	at := time.Now().UTC().Truncate(time.Second)
	cids := callerid.New(s.db, s.ledger)
	if err := cids.Record(context.Background(), callerid.Progress{AccountID: c.user.AccountID, UserID: c.user.ID, E164: number, Country: "GB",
		State: callerid.StateVerified, VerifiedAt: &at}); err != nil {
		t.Fatal(err)
	}
	if call := c.dial("+14155550100"); call.CallerID != number {
		t.Fatalf("before removal the call shows %q, want %s", call.CallerID, number)
	}
	if code, body := c.remove("?number=not-a-number", nil); code != http.StatusBadRequest {
		t.Fatalf("remove with a bad number = %d %s; want 400", code, body)
	}
	if code, body := c.remove("?number=07400123999&country=GB", nil); code != http.StatusNotFound || errorCode(t, body) != "nothing_to_remove" {
		t.Fatalf("remove of a number not ours = %d %s; want 404 nothing_to_remove", code, body)
	}
	evil := map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
	if code, body := c.remove("", evil); code != http.StatusForbidden || errorCode(t, body) != "csrf" {
		t.Fatalf("cross-site remove = %d %s; want 403 csrf", code, body)
	}
	if v, _ := cids.Verified(context.Background(), c.user.AccountID); v != number {
		t.Fatalf("a refused cross-site remove changed the caller ID to %q", v)
	}
	out, errOut, code := runMoby(t, s.URL, tok, "caller-id", "remove", "07400", "123461", "--country", "GB", "--json")
	var rm map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &rm) != nil || fmt.Sprint(rm["removed"]) != "["+number+"]" || rm["verified"] != false ||
		rm["caller_id"] != s.cfg.EffectiveDefaultCallerID() {
		t.Fatalf("moby caller-id remove = %d %q %q", code, out, errOut)
	}
	if call := c.dial("+14155550100"); call.CallerID != s.cfg.EffectiveDefaultCallerID() {
		t.Fatalf("after removal the call shows %q, want the default", call.CallerID)
	}
	var audits []models.AuditLog
	if err := s.db.Where("action = ? AND target = ?", "caller_id.remove", fmt.Sprintf("account:%d", c.user.AccountID)).Find(&audits).Error; err != nil || len(audits) != 1 {
		t.Fatalf("audit = %+v, %v; want one", audits, err)
	}
	if _, errOut, code := runMoby(t, s.URL, tok, "caller-id", "remove"); code == 0 || errOut == "" {
		t.Fatalf("remove with nothing left = %d %q; want a failure that says so", code, errOut)
	}
}

// A verification whose workflow failed (Twilio down through every retry)
// leaves its row in its last state; removing it still works.
func TestCallerIDRemove_AVerificationWhoseWorkflowFailedIsRemovedToo(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	c := s.caller("cid-remove-failed@example.com", 1000)
	const number = "+447400123464"
	s.endCallerIDAtCleanup(c.user.AccountID, number)
	if code, body := c.post("/api/caller-id", wire.CallerIDRequest{Number: number}); code != http.StatusAccepted {
		t.Fatalf("request = %d %s", code, body)
	}
	if err := s.temporal.TerminateWorkflow(context.Background(), workflows.CallerIDWorkflowID(c.user.AccountID, number), "", "stands in for a failure"); err != nil {
		t.Fatal(err)
	}
	code, body := c.remove("?number="+url.QueryEscape(number), nil)
	var rm wire.CallerIDRemoval
	if code != http.StatusOK || json.Unmarshal(body, &rm) != nil || len(rm.Removed) != 1 {
		t.Fatalf("remove = %d %s", code, body)
	}
	row, err := callerid.New(s.db, s.ledger).Get(context.Background(), c.user.AccountID, number)
	if err != nil || row.State != callerid.StateRemoved {
		t.Fatalf("row %+v, %v; want removed", row, err)
	}
}

// Removing while Twilio's validation call rings ends the verification at
// once (not when the call's 5 minutes run out); the sandbox phone no
// longer rings, and keying the old code in verifies nothing.
func TestCallerIDRemove_DuringTheValidationCallEndsItAtOnce(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	c := s.caller("cid-remove-call@example.com", 1000)
	const number = "+447400123465"
	s.endCallerIDAtCleanup(c.user.AccountID, number)
	if code, body := c.post("/api/caller-id", wire.CallerIDRequest{Number: number}); code != http.StatusAccepted {
		t.Fatalf("request = %d %s", code, body)
	}
	if code, body := c.post("/api/caller-id/confirm", wire.CallerIDConfirm{Code: s.smsCode(number)}); code != http.StatusOK {
		t.Fatalf("confirm = %d %s", code, body)
	}
	ringing := c.awaitValidationCode("")
	if code, body := c.remove("", nil); code != http.StatusOK {
		t.Fatalf("remove = %d %s", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	run := s.temporal.GetWorkflow(ctx, workflows.CallerIDWorkflowID(c.user.AccountID, number), "")
	var res workflows.CallerIDVerificationResult
	if err := run.Get(ctx, &res); err != nil || res.State != workflows.CallerIDRemoved || res.CallAttempts != 1 {
		t.Fatalf("workflow ended %+v, %v; want removed during its one call", res, err)
	}
	if code, _ := c.post(api.SandboxPhonePath, map[string]string{"number": number, "digits": ringing.ValidationCode}); code == http.StatusNoContent {
		if v, _ := callerid.New(s.db, s.ledger).Verified(context.Background(), c.user.AccountID); v != "" {
			t.Fatalf("keying the code in after the removal verified %s", v)
		}
	}
	testenv.RecordHistory(t, testenv.WorkflowHistory(t, s.temporal, workflows.CallerIDWorkflowID(c.user.AccountID, number), run.GetRunID()), "caller-id-removed-during-call")
}
