package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/calls"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/internal/wire"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

// caller is a signed-in user with money to call.
type caller struct {
	s      *creditsServer
	user   models.User
	cookie *http.Cookie
}

func (s *creditsServer) caller(email string, cents int64) caller {
	s.t.Helper()
	u, cookie, _ := s.user(email, models.AccountIndividual)
	if cents > 0 {
		if _, err := s.ledger.Post(context.Background(), ledger.Posting{AccountID: u.AccountID, Kind: models.EntryBonus, AmountCents: cents,
			IdempotencyKey: "seed-" + email, Actor: "test"}); err != nil {
			s.t.Fatal(err)
		}
	}
	return caller{s: s, user: u, cookie: cookie}
}

func (c caller) post(path string, body any) (int, []byte) {
	c.s.t.Helper()
	b, _ := json.Marshal(body)
	code, _, out := c.s.do(http.MethodPost, path, bytes.NewReader(b), map[string]string{"Content-Type": "application/json"}, c.cookie)
	return code, out
}

// dial authorises a call and connects it through the sandbox carrier.
func (c caller) dial(to string) wire.Call {
	c.s.t.Helper()
	code, body := c.post("/api/calls", wire.NewCall{To: to})
	if code != http.StatusCreated {
		c.s.t.Fatalf("POST /api/calls %s = %d %s", to, code, body)
	}
	var call wire.Call
	if err := json.Unmarshal(body, &call); err != nil {
		c.s.t.Fatal(err)
	}
	if code, body := c.post(api.SandboxCarrierPath+call.CallID+"/connect", nil); code != http.StatusOK {
		c.s.t.Fatalf("connect %s = %d %s", call.CallID, code, body)
	}
	return call
}

func (s *creditsServer) waitCall(id string) workflows.CallResult {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := workflows.NewClient(s.temporal, workflows.OptionsFrom(s.cfg)).WaitCall(ctx, id)
	if err != nil {
		s.t.Fatalf("call %s: %v", id, err)
	}
	return res
}

func (c caller) balance() int64 {
	c.s.t.Helper()
	a, err := c.s.ledger.Account(context.Background(), c.user.AccountID)
	if err != nil {
		c.s.t.Fatal(err)
	}
	return a.BalanceCents
}

// The sandbox dialer's path end to end on real Temporal: POST /api/calls
// authorises (the hold is placed), the carrier asks our voice webhook,
// rings, answers, the callee hangs up after 5 s; the event stream shows
// every state; the call is billed one minute, exactly once.
func TestCall_SandboxCallIsBilledOneStartedMinuteAndStreamsItsStates(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	c := s.caller("dialer@example.com", 1000)
	code, body := c.post("/api/calls", wire.NewCall{To: "(415) 555-0106", Country: "us"})
	if code != http.StatusCreated {
		t.Fatalf("POST /api/calls = %d %s", code, body)
	}
	var call wire.Call
	_ = json.Unmarshal(body, &call)
	if call.To != providers.SandboxNumberHangsUpAfter || call.Country != "US" || call.ToNational == "" || call.PricePerMinuteCents <= 0 ||
		call.MaxMinutes != min(1000/call.PricePerMinuteCents, int64(s.cfg.MaxCallMinutes)) || call.CallerID != "+14155550199" || call.CallID == "" {
		t.Fatalf("authorisation %+v", call)
	}
	acct, _ := s.ledger.Account(context.Background(), c.user.AccountID)
	if acct.HeldCents != call.MaxMinutes*call.PricePerMinuteCents {
		t.Fatalf("held %d, want the %d minutes' %d", acct.HeldCents, call.MaxMinutes, call.MaxMinutes*call.PricePerMinuteCents)
	}
	// The dialer's event stream, read while the call goes.
	states := make(chan []string, 1)
	first := make(chan struct{})
	var once sync.Once
	go func() {
		defer once.Do(func() { close(first) })
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/calls/"+call.CallID+"/events", nil)
		req.AddCookie(c.cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			states <- nil
			return
		}
		defer resp.Body.Close()
		var seen []string
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var ev wire.Call
				_ = json.Unmarshal([]byte(data), &ev)
				if len(seen) == 0 || seen[len(seen)-1] != ev.Status || ev.CostCents != nil {
					seen = append(seen, ev.Status)
				}
				once.Do(func() { close(first) })
			}
		}
		states <- seen
	}()
	<-first // the stream has shown the authorised call
	if code, body := c.post(api.SandboxCarrierPath+call.CallID+"/connect", nil); code != http.StatusOK {
		t.Fatalf("connect = %d %s", code, body)
	}
	res := s.waitCall(call.CallID)
	if res.State != workflows.CallCompleted || res.BilledMinutes != 1 || res.CostCents != call.PricePerMinuteCents {
		t.Fatalf("result %+v, want completed, 1 minute", res)
	}
	if got := c.balance(); got != 1000-call.PricePerMinuteCents {
		t.Fatalf("balance %d, want %d", got, 1000-call.PricePerMinuteCents)
	}
	seen := <-states
	joined := strings.Join(seen, ",")
	for _, want := range []string{"authorized", "ringing", "in-progress", "completed"} {
		if !strings.Contains(joined, want) {
			t.Fatalf("the event stream showed %v, missing %s", seen, want)
		}
	}
	var entries int64
	s.db.Model(&models.LedgerEntry{}).Where("account_id = ? AND kind = ?", c.user.AccountID, models.EntryCallCharge).Count(&entries)
	if entries != 1 {
		t.Fatalf("%d call charges, want one", entries)
	}
	if ds, err := s.ledger.Verify(context.Background()); err != nil || len(ds) != 0 {
		t.Fatalf("ledger verify: %v %v", ds, err)
	}
	testenv.RecordHistory(t, testenv.WorkflowHistory(t, s.temporal, workflows.CallWorkflowID(call.CallID), ""), "call-completed-after-5s")
	// Temporal Cloud bills per action: the target is at most 10.
	if n := actions(t, s, call.CallID); n > 10 {
		t.Fatalf("a completed call took %d Temporal actions, want at most 10", n)
	} else {
		t.Logf("Temporal actions of a completed call: %d", n)
	}
}

// actions counts what Temporal Cloud bills for a workflow: its start,
// timers, activities (local ones too, as markers), signals, updates and
// search-attribute upserts.
func actions(t *testing.T, s *creditsServer, callID string) int {
	t.Helper()
	it := s.temporal.GetWorkflowHistory(context.Background(), workflows.CallWorkflowID(callID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, enumspb.EVENT_TYPE_TIMER_STARTED, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
			enumspb.EVENT_TYPE_MARKER_RECORDED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
			enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			n++
		}
	}
	return n
}

// A busy number: the call ends busy, the hold is released, nothing is
// charged.
func TestCall_BusyNumberCostsNothing(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	c := s.caller("busy@example.com", 1000)
	call := c.dial(providers.SandboxNumberBusy)
	res := s.waitCall(call.CallID)
	if res.State != workflows.CallBusy || res.CostCents != 0 {
		t.Fatalf("result %+v, want busy and free", res)
	}
	if a, _ := s.ledger.Account(context.Background(), c.user.AccountID); a.BalanceCents != 1000 || a.HeldCents != 0 {
		t.Fatalf("balance %d held %d, want untouched and released", a.BalanceCents, a.HeldCents)
	}
	testenv.RecordHistory(t, testenv.WorkflowHistory(t, s.temporal, workflows.CallWorkflowID(call.CallID), ""), "call-busy")
}

// Authorisation refusals name their reason in the one error body.
func TestCall_AuthorisationRefusalsNameTheReason(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	rich := s.caller("rich@example.com", 1000)
	broke := s.caller("broke@example.com", 0)
	for name, tc := range map[string]struct {
		c      caller
		body   any
		status int
		code   string
	}{
		"no money":     {broke, wire.NewCall{To: "+14155550100"}, http.StatusPaymentRequired, "insufficient_funds"},
		"blocked":      {rich, wire.NewCall{To: "+53 5 123 4567"}, http.StatusForbidden, "destination_blocked"},
		"too short":    {rich, wire.NewCall{To: "06 12", Country: "FR"}, http.StatusBadRequest, "too_short"},
		"no country":   {rich, wire.NewCall{To: "0612345678"}, http.StatusBadRequest, "region_required"},
		"not json":     {rich, "{", http.StatusBadRequest, "bad_json"},
		"letters only": {rich, wire.NewCall{To: "call me"}, http.StatusBadRequest, "not_a_number"},
	} {
		code, body := tc.c.post("/api/calls", tc.body)
		var eb wire.ErrorBody
		_ = json.Unmarshal(body, &eb)
		if code != tc.status || eb.Error.Code != tc.code || eb.Error.Message == "" {
			t.Errorf("%s: %d %s, want %d %s", name, code, body, tc.status, tc.code)
		}
	}
	var n int64
	s.db.Model(&models.Call{}).Count(&n)
	if n != 0 {
		t.Fatalf("%d calls stored for refused authorisations", n)
	}
}

// Twilio's webhooks check X-Twilio-Signature first: valid (twilio-go's
// validator agrees with our signer), tampered, wrong URL and missing are
// 403 with nothing written.
func TestTwilioWebhooks_RefuseBadSignaturesWith403AndWriteNothing(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	c := s.caller("sig@example.com", 1000)
	code, body := c.post("/api/calls", wire.NewCall{To: "+14155550100"})
	if code != http.StatusCreated {
		t.Fatalf("authorise: %d %s", code, body)
	}
	var call wire.Call
	_ = json.Unmarshal(body, &call)
	token := s.cfg.EffectiveTwilioAuthToken()
	for _, path := range []string{"/api/webhooks/twilio/voice", "/api/webhooks/twilio/status?call=" + call.CallID, "/api/webhooks/twilio/dial-action?call=" + call.CallID} {
		form := url.Values{"CallSid": {"CA1"}, "CallId": {call.CallID}, "From": {"client:user_" + fmt.Sprint(c.user.ID)}, "CallStatus": {"completed"}, "CallDuration": {"61"}}
		good := providers.SignTwilio(token, s.cfg.PublicBaseURL+path, form)
		tampered := url.Values{}
		for k, v := range form {
			tampered[k] = v
		}
		tampered.Set("CallDuration", "1")
		for name, tc := range map[string]struct {
			form url.Values
			sig  string
		}{
			"tampered":  {tampered, good},
			"wrong url": {form, providers.SignTwilio(token, "https://evil.example"+path, form)},
			"wrong key": {form, providers.SignTwilio("not-the-token", s.cfg.PublicBaseURL+path, form)},
			"missing":   {form, ""},
		} {
			if code := postRaw(t, s.URL+path, "application/x-www-form-urlencoded", tc.form.Encode(), map[string]string{"X-Twilio-Signature": tc.sig}); code != http.StatusForbidden {
				t.Errorf("%s %s: %d, want 403", path, name, code)
			}
		}
	}
	var events int64
	s.db.Model(&models.CallEvent{}).Count(&events)
	got, _ := calls.New(s.db, s.ledger, nil, calls.Policy{}).Get(context.Background(), call.CallID)
	if events != 0 || got.ClaimedAt != nil || got.Status != models.CallAuthorized {
		t.Fatalf("refused webhooks wrote: %d events, call %+v", events, got)
	}
}

// The voice webhook connects a call once: an unknown, used or mismatched
// CallId is told so and hung up on, and nothing is charged.
func TestVoiceWebhook_UnknownUsedOrMismatchedCallsAreHungUpOn(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	c := s.caller("voice@example.com", 1000)
	code, body := c.post("/api/calls", wire.NewCall{To: "+14155550100"})
	if code != http.StatusCreated {
		t.Fatalf("authorise: %d %s", code, body)
	}
	var call wire.Call
	_ = json.Unmarshal(body, &call)
	voice := func(callID, identity, sid string) string {
		form := url.Values{"CallSid": {sid}, "CallId": {callID}, "From": {"client:" + identity}}
		path := "/api/webhooks/twilio/voice"
		req, _ := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", providers.SignTwilio(s.cfg.EffectiveTwilioAuthToken(), s.cfg.PublicBaseURL+path, form))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return b.String()
	}
	me := fmt.Sprintf("user_%d", c.user.ID)
	if twiml := voice("call_unknown", me, "CA1"); !strings.Contains(twiml, "<Say>") || !strings.Contains(twiml, "<Hangup") || strings.Contains(twiml, "<Dial") {
		t.Fatalf("unknown call answered %s", twiml)
	}
	if twiml := voice(call.CallID, "user_999999", "CA2"); !strings.Contains(twiml, "another user") || strings.Contains(twiml, "<Dial") {
		t.Fatalf("another identity answered %s", twiml)
	}
	twiml := voice(call.CallID, me, "CA3")
	if !strings.Contains(twiml, `timeLimit="`+fmt.Sprint(call.MaxMinutes*60)+`"`) || !strings.Contains(twiml, "+14155550100</Number>") ||
		!strings.Contains(twiml, `callerId="+14155550199"`) || !strings.Contains(twiml, `statusCallbackEvent="initiated ringing answered completed"`) {
		t.Fatalf("the authorised call answered %s", twiml)
	}
	// The same TwiML again (twiml renders attributes in map order, so
	// compare what matters).
	if again := voice(call.CallID, me, "CA3"); !strings.Contains(again, `timeLimit="`+fmt.Sprint(call.MaxMinutes*60)+`"`) || !strings.Contains(again, "+14155550100</Number>") {
		t.Fatalf("Twilio retrying the webhook got %s", again)
	}
	if used := voice(call.CallID, me, "CA4"); !strings.Contains(used, "already placed") {
		t.Fatalf("a second connect answered %s", used)
	}
}

// Twenty concurrent deliveries of the same final callback (and of the
// <Dial action>) charge once.
func TestCall_TwentyConcurrentDuplicatedCallbacksChargeOnce(t *testing.T) {
	s := newCreditsServer(t, testenv.Postgres(t))
	c := s.caller("dup@example.com", 5000)
	code, body := c.post("/api/calls", wire.NewCall{To: "+14155550100"})
	if code != http.StatusCreated {
		t.Fatalf("authorise: %d %s", code, body)
	}
	var call wire.Call
	_ = json.Unmarshal(body, &call)
	hooks := providers.NewSandboxWebhooks(s.URL, s.cfg.EffectiveTwilioAuthToken(), "", nil)
	ctx := context.Background()
	voice := url.Values{"CallSid": {"CAparent"}, "CallId": {call.CallID}, "From": {"client:" + fmt.Sprintf("user_%d", c.user.ID)}}
	if st, _, err := hooks.CallTwilio(ctx, providers.VoiceWebhookPath, voice); err != nil || st != 200 {
		t.Fatalf("voice webhook %d %v", st, err)
	}
	if _, err := hooks.DeliverTwilio(ctx, "/api/webhooks/twilio/status?call="+call.CallID, url.Values{"CallSid": {"CAchild"}, "CallStatus": {"in-progress"}, "SequenceNumber": {"2"}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path, form := "/api/webhooks/twilio/status?call="+call.CallID, url.Values{"CallSid": {"CAchild"}, "CallStatus": {"completed"}, "CallDuration": {"125"}, "SequenceNumber": {"3"}}
			if i%2 == 1 {
				path, form = "/api/webhooks/twilio/dial-action?call="+call.CallID, url.Values{"DialCallSid": {"CAchild"}, "DialCallStatus": {"completed"}, "DialCallDuration": {"125"}}
			}
			if _, err := hooks.DeliverTwilio(ctx, path, form); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	res := s.waitCall(call.CallID)
	if res.BilledMinutes != 3 || res.CostCents != 3*call.PricePerMinuteCents {
		t.Fatalf("result %+v, want 3 minutes", res)
	}
	var charges int64
	s.db.Model(&models.LedgerEntry{}).Where("account_id = ? AND kind = ?", c.user.AccountID, models.EntryCallCharge).Count(&charges)
	if charges != 1 || c.balance() != 5000-3*call.PricePerMinuteCents {
		t.Fatalf("%d charges, balance %d; want one of 3 minutes", charges, c.balance())
	}
	var events int64
	s.db.Model(&models.CallEvent{}).Where("call_id = ?", call.CallID).Count(&events)
	if events != 21 {
		t.Fatalf("%d callbacks recorded, want all 21", events)
	}
}

// A worker killed mid-call: the call's callbacks arrive while no worker
// runs (Temporal keeps the signals), a new worker picks the call up, and the
// bill is the same one charge of the same minutes.
func TestCall_WorkerKilledMidCallBillsTheSameAfterRestart(t *testing.T) {
	s := newCreditsServer(t, testenv.Postgres(t))
	c := s.caller("restart@example.com", 5000)
	code, body := c.post("/api/calls", wire.NewCall{To: "+14155550100"})
	if code != http.StatusCreated {
		t.Fatalf("authorise: %d %s", code, body)
	}
	var call wire.Call
	_ = json.Unmarshal(body, &call)
	hooks := providers.NewSandboxWebhooks(s.URL, s.cfg.EffectiveTwilioAuthToken(), "", nil)
	ctx := context.Background()
	voice := url.Values{"CallSid": {"CAparent"}, "CallId": {call.CallID}, "From": {"client:" + fmt.Sprintf("user_%d", c.user.ID)}}
	if st, _, err := hooks.CallTwilio(ctx, providers.VoiceWebhookPath, voice); err != nil || st != 200 {
		t.Fatalf("voice webhook %d %v", st, err)
	}
	status := func(form url.Values) {
		t.Helper()
		if st, err := hooks.DeliverTwilio(ctx, "/api/webhooks/twilio/status?call="+call.CallID, form); err != nil || st >= 300 {
			t.Fatalf("status callback %v: %d %v", form, st, err)
		}
	}
	status(url.Values{"CallSid": {"CAchild"}, "CallStatus": {"in-progress"}, "SequenceNumber": {"2"}})
	// The worker dies while the call talks.
	s.worker.Stop()
	status(url.Values{"CallSid": {"CAchild"}, "CallStatus": {"completed"}, "CallDuration": {"61"}, "SequenceNumber": {"3"}})
	if a, _ := s.ledger.Account(ctx, c.user.AccountID); a.BalanceCents != 5000 || a.HeldCents == 0 {
		t.Fatalf("billed with no worker running: balance %d held %d", a.BalanceCents, a.HeldCents)
	}
	s.startWorker()
	res := s.waitCall(call.CallID)
	if res.State != workflows.CallCompleted || res.BilledMinutes != 2 || res.CostCents != 2*call.PricePerMinuteCents {
		t.Fatalf("after the restart %+v, want completed, 2 minutes", res)
	}
	var charges int64
	s.db.Model(&models.LedgerEntry{}).Where("account_id = ? AND kind = ?", c.user.AccountID, models.EntryCallCharge).Count(&charges)
	a, _ := s.ledger.Account(ctx, c.user.AccountID)
	if charges != 1 || a.BalanceCents != 5000-2*call.PricePerMinuteCents || a.HeldCents != 0 {
		t.Fatalf("%d charges, balance %d held %d; want one charge of 2 minutes and the hold released", charges, a.BalanceCents, a.HeldCents)
	}
}

// The Voice SDK's token: the caller's identity, the configured TTL in its
// exp claim, never for an empty balance or a disabled account.
func TestVoiceToken_IdentityTTLAndRefusals(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	get := func(c caller) (int, []byte) {
		code, _, body := s.do(http.MethodGet, "/api/calls/token", nil, nil, c.cookie)
		return code, body
	}
	rich := s.caller("token@example.com", 1000)
	before := time.Now()
	code, body := get(rich)
	if code != http.StatusOK {
		t.Fatalf("token: %d %s", code, body)
	}
	var vt wire.VoiceToken
	_ = json.Unmarshal(body, &vt)
	if vt.Identity != fmt.Sprintf("user_%d", rich.user.ID) || vt.Token == "" || !vt.Sandbox {
		t.Fatalf("token %+v", vt)
	}
	if ttl := vt.ExpiresAt.Sub(before); ttl < s.cfg.VoiceTokenTTL-2*time.Second || ttl > s.cfg.VoiceTokenTTL+time.Second {
		t.Fatalf("expires in %s, want VOICE_TOKEN_TTL %s", ttl, s.cfg.VoiceTokenTTL)
	}
	claims, _ := base64.RawURLEncoding.DecodeString(strings.Split(vt.Token, ".")[1])
	if !strings.Contains(string(claims), fmt.Sprintf(`"exp":%d`, vt.ExpiresAt.Unix())) {
		t.Fatalf("exp claim is not the expiry told: %s", claims)
	}

	broke := s.caller("token-broke@example.com", 0)
	if code, body := get(broke); code != http.StatusForbidden || !strings.Contains(string(body), "top up") {
		t.Fatalf("empty balance: %d %s, want 403 naming the top-up", code, body)
	}
	off := s.caller("token-off@example.com", 1000)
	s.db.Model(&models.Account{}).Where("id = ?", off.user.AccountID).Update("status", models.StatusDisabled)
	if code, body := get(off); code != http.StatusForbidden || !strings.Contains(string(body), "disabled") {
		t.Fatalf("disabled account: %d %s, want 403 disabled", code, body)
	}
}

// The webhook recorded a final callback but failed before the workflow
// heard of it (the process died, Temporal was briefly unreachable): Twilio's
// retry of the same callback must still reach the workflow, so the call is
// billed now, not hours later by reconciliation.
func TestStatusWebhook_RetryOfACallbackRecordedButNotSignalledReachesTheWorkflow(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	c := s.caller("retry@example.com", 1000)
	code, body := c.post("/api/calls", wire.NewCall{To: "+14155550100"})
	if code != http.StatusCreated {
		t.Fatalf("authorise: %d %s", code, body)
	}
	var call wire.Call
	_ = json.Unmarshal(body, &call)
	hooks := providers.NewSandboxWebhooks(s.URL, s.cfg.EffectiveTwilioAuthToken(), "", nil)
	ctx := context.Background()
	voice := url.Values{"CallSid": {"CAparent"}, "CallId": {call.CallID}, "From": {"client:" + fmt.Sprintf("user_%d", c.user.ID)}}
	if st, _, err := hooks.CallTwilio(ctx, providers.VoiceWebhookPath, voice); err != nil || st != 200 {
		t.Fatalf("voice webhook %d %v", st, err)
	}
	svc := calls.New(s.db, s.ledger, nil, calls.Policy{})
	// What the first delivery got as far as: the row, not the signal.
	if _, err := svc.RecordStatus(ctx, calls.StatusEvent{CallID: call.CallID, CallSID: "CAchild", Status: "completed", SequenceNumber: 3, DurationSeconds: 61}); err != nil {
		t.Fatal(err)
	}
	if st, err := hooks.DeliverTwilio(ctx, "/api/webhooks/twilio/status?call="+call.CallID,
		url.Values{"CallSid": {"CAchild"}, "CallStatus": {"completed"}, "CallDuration": {"61"}, "SequenceNumber": {"3"}}); err != nil || st != http.StatusNoContent {
		t.Fatalf("Twilio's retry: %d %v", st, err)
	}
	if res := s.waitCall(call.CallID); res.State != workflows.CallCompleted || res.BilledMinutes != 2 {
		t.Fatalf("result %+v, want completed and 2 minutes billed", res)
	}
	// A callback after the bill, with another duration: acknowledged,
	// recorded, the call flagged for reconciliation, nothing charged again.
	balance := c.balance()
	for _, path := range []string{"/api/webhooks/twilio/status?call=" + call.CallID, "/api/webhooks/twilio/dial-action?call=" + call.CallID} {
		form := url.Values{"CallSid": {"CAchild"}, "CallStatus": {"completed"}, "CallDuration": {"200"}, "SequenceNumber": {"4"}}
		if strings.Contains(path, "dial-action") {
			form = url.Values{"DialCallSid": {"CAchild"}, "DialCallStatus": {"completed"}, "DialCallDuration": {"200"}}
		}
		if st, err := hooks.DeliverTwilio(ctx, path, form); err != nil || st >= 300 {
			t.Fatalf("late callback %s: %d %v", path, st, err)
		}
	}
	got, _ := svc.Get(ctx, call.CallID)
	var late int64
	s.db.Model(&models.CallEvent{}).Where("call_id = ? AND duration_seconds = ?", call.CallID, 200).Count(&late)
	if got.ReconcileReason == "" || late != 2 || c.balance() != balance || *got.BilledMinutes != 2 {
		t.Fatalf("after late callbacks: reason %q, %d recorded, balance %d (was %d), billed %d", got.ReconcileReason, late, c.balance(), balance, *got.BilledMinutes)
	}
}

// POST /api/calls is CSRF-protected like every site route: a cross-site
// request with the victim's cookie places no call and holds nothing.
func TestCall_CrossSiteAuthorisationIsRefused(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	c := s.caller("csrf@example.com", 1000)
	b, _ := json.Marshal(wire.NewCall{To: "+14155550100"})
	code, _, body := s.do(http.MethodPost, "/api/calls", bytes.NewReader(b), map[string]string{"Content-Type": "application/json",
		"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, c.cookie)
	if code != http.StatusForbidden {
		t.Fatalf("cross-site POST /api/calls = %d %s, want 403", code, body)
	}
	var n int64
	s.db.Model(&models.Call{}).Count(&n)
	if a, _ := s.ledger.Account(context.Background(), c.user.AccountID); n != 0 || a.HeldCents != 0 {
		t.Fatalf("a cross-site request stored %d calls and held %d", n, a.HeldCents)
	}
	code, _, body = s.do(http.MethodPost, "/api/calls", bytes.NewReader(b), map[string]string{"Content-Type": "application/json",
		"Sec-Fetch-Site": "same-origin"}, c.cookie)
	if code != http.StatusCreated {
		t.Fatalf("same-origin POST /api/calls = %d %s, want 201", code, body)
	}
}
