package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
	"github.com/mobayilo/mobayilo/workflows"
)

// withTemporal is the same API over the same database and config with
// another workflow client; nil is no workflow engine (503).
func (s *creditsServer) withTemporal(tc client.Client) *httptest.Server {
	s.t.Helper()
	pages, err := web.New()
	if err != nil {
		s.t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(deps(s.cfg, s.db, api.Deps{Temporal: tc,
		Pages: pages, Auth: s.auth, Identity: s.identity, Ledger: s.ledger})))
	s.t.Cleanup(srv.Close)
	return srv
}

func (s *creditsServer) withoutTemporal() *httptest.Server { return s.withTemporal(nil) }

// failingSignals is the real client whose signals fail, as when the
// process dies or the connection drops while signalling; it notes whether
// the event id was already recorded at that moment.
type failingSignals struct {
	client.Client
	seenWhileSignalling func() bool
	calls               atomic.Int32
	recordedEarly       atomic.Bool
}

func (f *failingSignals) SignalWorkflow(context.Context, string, string, string, any) error {
	f.calls.Add(1)
	if f.seenWhileSignalling() {
		f.recordedEarly.Store(true)
	}
	return errors.New("connection reset while signalling")
}

// UpdateWorkflow fails the same way: checkout events are delivered by
// update since handle-late-checkout-events.
func (f *failingSignals) UpdateWorkflow(ctx context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	return nil, f.SignalWorkflow(ctx, o.WorkflowID, "", o.UpdateName, nil)
}

// postSigned posts a signed Stripe event to base and returns the status and
// the body.
func (s *creditsServer) postSigned(base string, event map[string]any) (int, string) {
	s.t.Helper()
	payload, _ := json.Marshal(event)
	req, _ := http.NewRequest(http.MethodPost, base+providers.StripeWebhookPath, bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", providers.SignStripe(payload, s.cfg.EffectiveStripeWebhookSecret(), time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (s *creditsServer) eventSeen(id string) bool {
	s.t.Helper()
	seen, err := credits.New(s.db).EventSeen(context.Background(), id)
	if err != nil {
		s.t.Fatal(err)
	}
	return seen
}

// signals counts the events delivered to a workflow's history: signals,
// and the deliver updates it accepted.
func (s *creditsServer) signals(workflowID string) int {
	s.t.Helper()
	it := s.temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			s.t.Fatal(err)
		}
		if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED {
			n++
		}
		if u := e.GetWorkflowExecutionUpdateAcceptedEventAttributes(); u != nil && u.GetAcceptedRequest().GetInput().GetName() == workflows.UpdateTopUpCheckoutEvent {
			n++
		}
	}
	return n
}

// An event the webhook could not act on (no Temporal, 503; or the signal
// failing) leaves no trace, and is not recorded while acting either, so Stripe's redelivery is acted on and credits the payment; only
// then is the id recorded, and a further redelivery is a duplicate.
func TestStripeWebhook_EventWhoseSignalFailedIsNotRecordedAndItsRedeliveryIsActedOn(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	down := s.withoutTemporal()
	u, cookie, _ := s.user("redelivered@example.com", models.AccountIndividual)
	session, id := sessionFromURL(t, s.webTopUp(cookie, "5"))
	pi := providers.SandboxPaymentIntentID(id, providers.SandboxCardVisa)
	ev := completedEvent("evt_signal_failed", session, id, pi)

	if code, body := s.postSigned(down.URL, ev); code != http.StatusServiceUnavailable || s.eventSeen("evt_signal_failed") {
		t.Fatalf("delivery without Temporal: %d %s, recorded %v; want 503 and nothing recorded", code, body, s.eventSeen("evt_signal_failed"))
	}
	// The signal itself fails: the id was not recorded before acting (a
	// crash there would have lost it) nor after the failure.
	failing := &failingSignals{Client: s.temporal, seenWhileSignalling: func() bool { return s.eventSeen("evt_signal_failed") }}
	broken := s.withTemporal(failing)
	if code, body := s.postSigned(broken.URL, ev); code < 500 || failing.calls.Load() != 1 || failing.recordedEarly.Load() || s.eventSeen("evt_signal_failed") {
		t.Fatalf("delivery whose signal failed: %d %s, %d signals, recorded before signalling %v, recorded after %v; want 5xx, one signal and nothing recorded",
			code, body, failing.calls.Load(), failing.recordedEarly.Load(), s.eventSeen("evt_signal_failed"))
	}
	if code, handled := s.postEventReply(ev); code != http.StatusOK || !handled {
		t.Fatalf("Stripe's redelivery: %d handled=%v, want acted on", code, handled)
	}
	if res := s.waitTopUp(id); res.State != workflows.PaymentSucceeded || res.PaymentIntentID != pi || res.BalanceAfterCents != 500 {
		t.Fatalf("top-up result %+v, want the redelivered payment credited", res)
	}
	if !s.eventSeen("evt_signal_failed") {
		t.Fatal("the event was acted on but not recorded")
	}
	if code, handled := s.postEventReply(ev); code != http.StatusOK || handled {
		t.Fatalf("a redelivery after it was handled: %d handled=%v, want acknowledged as a duplicate", code, handled)
	}
	acct, err := s.ledger.Account(context.Background(), u.AccountID)
	if err != nil || acct.BalanceCents != 500 {
		t.Fatalf("balance %d, %v; want 500, credited once", acct.BalanceCents, err)
	}
}

// A recorded event id is acknowledged as a duplicate before anything is
// signalled: even a server without Temporal answers it 200, and the
// workflow's history shows no signal. Another event about the same payment
// is still acted on.
func TestStripeWebhook_RecordedEventIsAcknowledgedAsDuplicateWithoutSignalling(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	down := s.withoutTemporal()
	u, cookie, _ := s.user("recorded@example.com", models.AccountIndividual)
	session, id := sessionFromURL(t, s.webTopUp(cookie, "5"))
	pi := providers.SandboxPaymentIntentID(id, providers.SandboxCardVisa)
	if fresh, err := credits.New(s.db).RecordEvent(context.Background(), "evt_recorded", workflows.EventCheckoutCompleted, session); err != nil || !fresh {
		t.Fatalf("record: %v %v", fresh, err)
	}
	ev := completedEvent("evt_recorded", session, id, pi)
	if code, body := s.postSigned(down.URL, ev); code != http.StatusOK || !strings.Contains(body, `"handled":false`) {
		t.Fatalf("a recorded event without Temporal: %d %s, want 200 not handled", code, body)
	}
	if code, handled := s.postEventReply(ev); code != http.StatusOK || handled {
		t.Fatalf("a recorded event: %d handled=%v, want 200 not handled", code, handled)
	}
	wf := workflows.TopUpWorkflowID(id)
	if n := s.signals(wf); n != 0 {
		t.Fatalf("the top-up workflow got %d signals for a recorded event, want none", n)
	}
	if tu, err := credits.New(s.db).Get(context.Background(), id); err != nil || tu.Status != models.TopUpAwaitingPayment {
		t.Fatalf("top-up %+v, %v; want still awaiting payment", tu, err)
	}
	// The same payment under a new event id is acted on.
	if code, handled := s.postEventReply(completedEvent("evt_fresh", session, id, pi)); code != http.StatusOK || !handled {
		t.Fatalf("a fresh event: %d handled=%v, want acted on", code, handled)
	}
	if res := s.waitTopUp(id); res.State != workflows.PaymentSucceeded || res.BalanceAfterCents != 500 {
		t.Fatalf("top-up result %+v", res)
	}
	if n := s.signals(wf); n != 1 {
		t.Fatalf("%d signals, want the fresh event's one", n)
	}
	acct, err := s.ledger.Account(context.Background(), u.AccountID)
	if err != nil || acct.BalanceCents != 500 {
		t.Fatalf("balance %d, %v; want 500", acct.BalanceCents, err)
	}
}

// The sandbox bank page needs no sign-in, and sandbox PaymentIntent ids are
// guessable: without the token the approve update put in its URL (or with
// one for another PaymentIntent or round) the page is a 404 on GET and
// POST and no payment event is delivered. The right token works.
func TestSandboxAuthenticate_RefusesAMissingOrWrongTokenAndDeliversNothing(t *testing.T) {
	s := newApproveServer(t, testenv.SQLite(t))
	ana, cookie := s.owner("ana-token@example.com")
	s.debitBelowThreshold(ana.AccountID)
	st := s.state(ana.AccountID, "needs_authentication", func(st workflows.AutoTopUpState) bool {
		return st.State == workflows.AutoTopUpNeedsAuthentication
	})
	pi := st.AuthPaymentIntentID
	page := s.approve(cookie, pi, 1)
	u, _ := url.Parse(page)
	good := u.Query().Get("token")
	secret := s.cfg.EffectiveStripeWebhookSecret()
	flipped := []byte(good)
	flipped[0] ^= 1
	bad := map[string]string{
		"no token":                     "",
		"a wrong token":                string(flipped),
		"another round's token":        providers.SandboxAuthToken(secret, pi, 2),
		"another payment's token":      providers.SandboxAuthToken(secret, pi+"0", 1),
		"a token under another secret": providers.SandboxAuthToken("whsec_other", pi, 1),
	}
	for name, tok := range bad {
		q := url.Values{"round": {"1"}, "return_url": {u.Query().Get("return_url")}}
		if tok != "" {
			q.Set("token", tok)
		}
		if code, _, body := s.do(http.MethodGet, u.Path+"?"+q.Encode(), nil, nil, nil); code != http.StatusNotFound ||
			strings.Contains(string(body), "Complete authentication") {
			t.Fatalf("GET with %s: %d, want 404 without the page", name, code)
		}
		for _, action := range []string{"complete", "fail"} {
			form := url.Values{"action": {action}, "round": {"1"}, "token": {tok}, "return_url": {u.Query().Get("return_url")}}
			if code, _, _ := s.do(http.MethodPost, u.Path, strings.NewReader(form.Encode()),
				map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, nil); code != http.StatusNotFound {
				t.Fatalf("POST %s with %s: %d, want 404", action, name, code)
			}
		}
	}
	var events int64
	s.db.Model(&models.StripeEvent{}).Count(&events)
	st = s.state(ana.AccountID, "still waiting", func(workflows.AutoTopUpState) bool { return true })
	if events != 0 || st.State != workflows.AutoTopUpNeedsAuthentication || st.LastPaymentEvent != "" || st.AuthRound != 1 ||
		s.balance(ana.AccountID) != 100 {
		t.Fatalf("after refused pages: %d events, state %+v, balance %d; want nothing delivered", events, st, s.balance(ana.AccountID))
	}
	if code, loc := s.authenticate(page, "complete"); code != http.StatusSeeOther || loc != s.URL+"/autotopup?done=approved" {
		t.Fatalf("with the right token: %d %q", code, loc)
	}
	st = s.state(ana.AccountID, "succeeded", func(st workflows.AutoTopUpState) bool { return st.State == workflows.AutoTopUpSucceeded })
	if st.TotalCredited != 2000 || s.balance(ana.AccountID) != 2100 {
		t.Fatalf("after authenticating: %+v, balance %d; want the charge credited once", st, s.balance(ana.AccountID))
	}
}
