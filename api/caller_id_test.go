package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/internal/wire"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

func (c caller) getJSON(path string, out any) int {
	c.s.t.Helper()
	code, _, body := c.s.do(http.MethodGet, path, nil, nil, c.cookie)
	if out != nil && code == http.StatusOK {
		if err := json.Unmarshal(body, out); err != nil {
			c.s.t.Fatalf("%s: %v %s", path, err, body)
		}
	}
	return code
}

// endCallerIDAtCleanup terminates the number's verification when the test
// ends: account ids repeat across the tests' databases while they share one
// Temporal, and a later test must not join an earlier one's workflow.
func (s *creditsServer) endCallerIDAtCleanup(accountID int64, e164 string) {
	s.t.Cleanup(func() {
		_ = s.temporal.TerminateWorkflow(context.Background(), workflows.CallerIDWorkflowID(accountID, e164), "", "test over")
	})
}

// smsCode is the code the sandbox texted to e164, from the dev mailbox.
func (s *creditsServer) smsCode(e164 string) string {
	s.t.Helper()
	for _, m := range s.mailbox.Messages() {
		if m.To == providers.SandboxSMSAddress(e164) {
			if code := regexp.MustCompile(`\b\d{6}\b`).FindString(m.Text); code != "" {
				return code
			}
		}
	}
	s.t.Fatalf("no SMS code to %s in the dev mailbox", e164)
	return ""
}

// The sandbox end to end on real Temporal: request with a national number
// and a country, the SMS code from the dev mailbox confirmed alone, the
// keypad code keyed in on the simulated phone (a signed webhook), and the
// next call goes out with the verified number.
func TestCallerID_VerifiedInTheSandboxThenCallsUseIt(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	c := s.caller("cid-verified@example.com", 1000)
	s.endCallerIDAtCleanup(c.user.AccountID, "+447400123456")
	code, body := c.post("/api/caller-id", wire.CallerIDRequest{Number: "07400 123456", Country: "GB"})
	var v wire.CallerID
	if code != http.StatusAccepted || json.Unmarshal(body, &v) != nil || v.State != workflows.CallerIDAwaitingCode || v.Number != "+447400123456" {
		t.Fatalf("request = %d %s", code, body)
	}
	// A wrong code first: refused, counted.
	code, body = c.post("/api/caller-id/confirm", wire.CallerIDConfirm{Code: "000001"})
	if code != http.StatusOK || json.Unmarshal(body, &v) != nil || v.Approved == nil || *v.Approved && s.smsCode("+447400123456") != "000001" {
		t.Fatalf("wrong code = %d %s", code, body)
	}
	code, body = c.post("/api/caller-id/confirm", wire.CallerIDConfirm{Code: s.smsCode("+447400123456")})
	if code != http.StatusOK || json.Unmarshal(body, &v) != nil || v.Approved == nil || !*v.Approved {
		t.Fatalf("confirm = %d %s", code, body)
	}
	var st wire.CallerIDStatus
	deadline := time.Now().Add(20 * time.Second)
	for {
		if code := c.getJSON("/api/caller-id", &st); code != http.StatusOK {
			t.Fatalf("status = %d", code)
		}
		if len(st.CallerIDs) == 1 && st.CallerIDs[0].ValidationCode != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no validation code shown: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st.Verified || st.CallerIDs[0].State != workflows.CallerIDAwaitingCall {
		t.Fatalf("status during the call %+v", st)
	}
	if code, body := c.post(api.SandboxPhonePath, map[string]string{"number": "+447400123456", "digits": st.CallerIDs[0].ValidationCode}); code != http.StatusNoContent {
		t.Fatalf("keypad = %d %s", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var res workflows.CallerIDVerificationResult
	if err := s.temporal.GetWorkflow(ctx, workflows.CallerIDWorkflowID(c.user.AccountID, "+447400123456"), "").Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.State != workflows.CallerIDVerified || res.CodeAttempts != 1 {
		t.Fatalf("result %+v", res)
	}
	if c.getJSON("/api/caller-id", &st); !st.Verified || st.CallerID != "+447400123456" {
		t.Fatalf("status after %+v", st)
	}
	// Requesting the verified number again changes nothing.
	if code, body := c.post("/api/caller-id", wire.CallerIDRequest{Number: "+447400123456"}); code != http.StatusOK || !strings.Contains(string(body), `"state":"verified"`) {
		t.Fatalf("request again = %d %s", code, body)
	}
	call := c.dial("+14155550100")
	if call.CallerID != "+447400123456" {
		t.Fatalf("the call's caller ID is %q, want the verified number", call.CallerID)
	}
	testenv.RecordHistory(t, testenv.WorkflowHistory(t, s.temporal, workflows.CallerIDWorkflowID(c.user.AccountID, "+447400123456"), ""), "caller-id-verified")
}

// Below $5 the request is refused at once, naming the minimum; no SMS.
func TestCallerID_RefusedBelowFiveDollars(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	c := s.caller("cid-poor@example.com", 499)
	code, body := c.post("/api/caller-id", wire.CallerIDRequest{Number: "+44 7400 123456"})
	var eb struct {
		Error struct{ Code, Message string }
	}
	if code != http.StatusPaymentRequired || json.Unmarshal(body, &eb) != nil || eb.Error.Code != "balance_too_low" {
		t.Fatalf("request = %d %s", code, body)
	}
	if len(s.mailbox.Messages()) != 0 {
		t.Fatal("an SMS was sent below the gate")
	}
	if code, body := c.post("/api/caller-id/confirm", wire.CallerIDConfirm{Code: "123456"}); code != http.StatusConflict {
		t.Fatalf("confirm with nothing pending = %d %s", code, body)
	}
}

// The caller-ID webhook is signed like every Twilio webhook.
func TestCallerIDWebhook_RefusesABadSignature(t *testing.T) {
	s := newServer(t, testenv.SQLite(t), map[string]string{"TWILIO_AUTH_TOKEN": "twilio_secret"})
	form := url.Values{"PhoneNumber": {"+447400123456"}, "VerificationStatus": {"success"}}
	path := "/api/webhooks/twilio/caller-id?account=1"
	bad := providers.SignTwilio("other", s.cfg.PublicBaseURL+path, form)
	if code := postRaw(t, s.URL+path, "application/x-www-form-urlencoded", form.Encode(), map[string]string{"X-Twilio-Signature": bad}); code != http.StatusForbidden {
		t.Fatalf("bad signature = %d, want 403", code)
	}
}

// `moby caller-id request`, a code-only `confirm` and `status` against the
// real API, each with --json; the older `confirm <number> <code> --country`
// is accepted too.
func TestMoby_CallerIDRequestConfirmStatus(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	u, _, tok := s.user("cid-cli@example.com", models.AccountIndividual)
	s.endCallerIDAtCleanup(u.AccountID, "+447400123458")
	if _, err := s.ledger.Post(context.Background(), ledger.Posting{AccountID: u.AccountID, Kind: models.EntryBonus, AmountCents: 600, IdempotencyKey: "seed-cid-cli", Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runMoby(t, s.URL, tok, "caller-id", "request", "07400", "123458", "--country", "gb", "--json")
	var v map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v["state"] != workflows.CallerIDAwaitingCode || v["number"] != "+447400123458" {
		t.Fatalf("request = %d %q %q", code, out, errOut)
	}
	sms := s.smsCode("+447400123458")
	wrong := "000000"
	if sms == wrong {
		wrong = "111111"
	}
	// The older form, with a wrong code: answered, not approved.
	out, errOut, code = runMoby(t, s.URL, tok, "caller-id", "confirm", "07400", "123458", wrong, "--country", "GB", "--json")
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v["approved"] != false || v["code_attempts"] != float64(1) {
		t.Fatalf("confirm (older form, wrong code) = %d %q %q", code, out, errOut)
	}
	out, errOut, code = runMoby(t, s.URL, tok, "caller-id", "confirm", sms)
	if code != 0 || !strings.Contains(out, "+447400123458") {
		t.Fatalf("confirm <code> = %d %q %q", code, out, errOut)
	}
	out, errOut, code = runMoby(t, s.URL, tok, "caller-id", "status", "--json")
	var st wire.CallerIDStatus
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || len(st.CallerIDs) != 1 || st.Verified {
		t.Fatalf("status = %d %q %q", code, out, errOut)
	}
	// Nothing pending any more: a code-only confirm says so.
	_, errOut, code = runMoby(t, s.URL, tok, "caller-id", "confirm", "123456")
	if code == 0 || errOut == "" {
		t.Fatalf("confirm with nothing pending = %d %q", code, errOut)
	}
}

// awaitValidationCode polls the status until a validation code other than
// previous is shown.
func (c caller) awaitValidationCode(previous string) wire.CallerID {
	c.s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var st wire.CallerIDStatus
		c.getJSON("/api/caller-id", &st)
		if len(st.CallerIDs) == 1 && st.CallerIDs[0].ValidationCode != "" && st.CallerIDs[0].ValidationCode != previous {
			return st.CallerIDs[0]
		}
		if time.Now().After(deadline) {
			c.s.t.Fatalf("no new validation code: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The /sandbox/phone page: a wrong keypad code fails that validation call
// as Twilio's would (a second call rings with a new code), the right one
// verifies the number.
func TestSandboxPhone_WrongKeypadCodeFailsTheCallThenRightOneVerifies(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	c := s.caller("cid-phone@example.com", 1000)
	s.endCallerIDAtCleanup(c.user.AccountID, "+447400123457")
	if code, body := c.post("/api/caller-id", wire.CallerIDRequest{Number: "+44 7400 123457"}); code != http.StatusAccepted {
		t.Fatalf("request = %d %s", code, body)
	}
	if code, body := c.post("/api/caller-id/confirm", wire.CallerIDConfirm{Code: s.smsCode("+447400123457")}); code != http.StatusOK {
		t.Fatalf("confirm = %d %s", code, body)
	}
	first := c.awaitValidationCode("")
	// The page lists the numbers whose row says a call is ringing.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		code, _, page := s.do(http.MethodGet, api.SandboxPhonePage, nil, nil, c.cookie)
		if code == http.StatusOK && strings.Contains(string(page), "data-ringing=") && strings.Contains(string(page), "447400123457") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("phone page = %d %s", code, page)
		}
	}
	keys := func(digits string) int {
		form := url.Values{"number": {"+447400123457"}, "digits": {digits}}
		code, _, _ := s.do(http.MethodPost, api.SandboxPhonePage, strings.NewReader(form.Encode()),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, c.cookie)
		return code
	}
	wrong := "000000"
	if first.ValidationCode == wrong {
		wrong = "111111"
	}
	if code := keys(wrong); code != http.StatusSeeOther {
		t.Fatalf("wrong digits = %d", code)
	}
	second := c.awaitValidationCode(first.ValidationCode)
	if second.State != workflows.CallerIDAwaitingCall {
		t.Fatalf("after a wrong keypad code: %+v", second)
	}
	if code := keys(second.ValidationCode); code != http.StatusSeeOther {
		t.Fatalf("right digits = %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var res workflows.CallerIDVerificationResult
	if err := s.temporal.GetWorkflow(ctx, workflows.CallerIDWorkflowID(c.user.AccountID, "+447400123457"), "").Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.State != workflows.CallerIDVerified || res.CallAttempts != 2 {
		t.Fatalf("result %+v, want verified on the second call", res)
	}
}
