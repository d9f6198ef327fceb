package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

// approveServer is the real API, a real Temporal server with a worker
// running the real auto top-up activities over the sandbox provider (which
// points back at this server), and a database.
type approveServer struct {
	*creditsServer
	autoTopUps *autotopup.Service
	queue      string
}

func newApproveServer(t *testing.T, db *gorm.DB) *approveServer {
	t.Helper()
	if _, err := rates.SeedIfEmpty(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	cs := newCreditsServer(t, db)
	return &approveServer{creditsServer: cs, autoTopUps: autotopup.New(db, cs.ledger), queue: cs.cfg.TemporalTaskQueue}
}

// owner makes an owner whose saved card needs authentication and whose
// auto top-up is on: $2 threshold, $20 amount.
func (s *approveServer) owner(email string) (models.User, *http.Cookie) {
	s.t.Helper()
	return s.ownerWithCard(email, providers.SandboxCardAuthenticationRequire)
}

// ownerWithCard is owner with the sandbox test card pm saved.
func (s *approveServer) ownerWithCard(email, pm string) (models.User, *http.Cookie) {
	s.t.Helper()
	ctx := context.Background()
	u, cookie, _ := s.user(email, models.AccountIndividual)
	card, _ := autotopup.SandboxCard(pm)
	if _, err := s.autoTopUps.SaveCard(ctx, u.AccountID, card); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.autoTopUps.Save(ctx, u.AccountID, autotopup.Update{Enabled: true, ThresholdCents: 200, AmountCents: 2000, DailyMaxCount: 3, DailyMaxCents: 6000}); err != nil {
		s.t.Fatal(err)
	}
	id := workflows.AutoTopUpWorkflowID(u.AccountID)
	s.t.Cleanup(func() { _ = s.temporal.TerminateWorkflow(context.Background(), id, "", "test over") })
	return u, cookie
}

// debitBelowThreshold seeds $5, spends $4 (leaving $1 below the $2
// threshold) and runs the ledger hook every debit runs.
func (s *approveServer) debitBelowThreshold(acct int64) {
	s.t.Helper()
	ctx := context.Background()
	if _, err := s.ledger.Adjust(ctx, ledger.Adjustment{AccountID: acct, AmountCents: 500, Reason: "seed", Actor: "test"}); err != nil {
		s.t.Fatal(err)
	}
	res, err := s.ledger.Adjust(ctx, ledger.Adjustment{AccountID: acct, AmountCents: -400, Reason: "calls", Actor: "test"})
	if err != nil {
		s.t.Fatal(err)
	}
	if ok, err := s.autoTopUps.AfterDebit(ctx, workflows.NewClient(s.temporal, workflows.ClientOptions{TaskQueue: s.queue, BaseURL: s.URL, AutoTopUpCooldown: time.Second}), res); err != nil || !ok {
		s.t.Fatalf("the debit did not trigger auto top-up: %v %v", ok, err)
	}
}

// state waits until the account's AutoTopUp workflow reports what ok wants.
func (s *approveServer) state(acct int64, what string, ok func(workflows.AutoTopUpState) bool) workflows.AutoTopUpState {
	s.t.Helper()
	var st workflows.AutoTopUpState
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		v, err := s.temporal.QueryWorkflow(context.Background(), workflows.AutoTopUpWorkflowID(acct), "", workflows.QueryState)
		if err == nil && v.Get(&st) == nil && ok(st) {
			return st
		}
	}
	s.t.Fatalf("auto top-up of account %d never reached %s; last state %+v", acct, what, st)
	return st
}

// mail waits for n emails (the notice follows the state change).
func (s *approveServer) mail(n int) []mail.Captured {
	s.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if msgs := s.mailbox.Messages(); len(msgs) >= n {
			return msgs
		}
	}
	return s.mailbox.Messages()
}

func (s *approveServer) balance(acct int64) int64 {
	s.t.Helper()
	a, err := s.ledger.Account(context.Background(), acct)
	if err != nil {
		s.t.Fatal(err)
	}
	return a.BalanceCents
}

func (s *approveServer) autoTopUpEntries(acct int64) []models.LedgerEntry {
	var es []models.LedgerEntry
	if err := s.db.Where("account_id = ? AND kind = ?", acct, models.EntryAutoTopUp).Find(&es).Error; err != nil {
		s.t.Fatal(err)
	}
	return es
}

// approve presses Approve and returns the sandbox authentication page's
// path, checking it is for the attempt's original PaymentIntent and round.
func (s *approveServer) approve(cookie *http.Cookie, pi string, round int) string {
	s.t.Helper()
	code, loc, body := s.do(http.MethodPost, "/autotopup/approve", strings.NewReader(""), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, cookie)
	u, err := url.Parse(loc)
	if code != http.StatusSeeOther || err != nil || u.Path != providers.SandboxAuthenticatePath+pi || u.Query().Get("round") != fmt.Sprint(round) ||
		u.Query().Get("return_url") != s.URL+"/autotopup?done=approved" || u.Query().Get("token") == "" {
		s.t.Fatalf("Approve: %d %q %s; want the authentication page of %s, round %d, with its token", code, loc, body, pi, round)
	}
	return u.RequestURI()
}

// authenticate answers the sandbox bank's page and returns where it sent
// the owner.
func (s *approveServer) authenticate(page, action string) (int, string) {
	s.t.Helper()
	code, _, body := s.do(http.MethodGet, page, nil, nil, nil)
	if code != http.StatusOK || !strings.Contains(string(body), "Complete authentication") || !strings.Contains(string(body), "$20.00") {
		s.t.Fatalf("sandbox authentication page: %d\n%s", code, body)
	}
	u, _ := url.Parse(page)
	form := url.Values{"action": {action}, "round": {u.Query().Get("round")}, "token": {u.Query().Get("token")}, "return_url": {u.Query().Get("return_url")}}
	code, loc, _ := s.do(http.MethodPost, u.Path, strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, nil)
	return code, loc
}

func TestAutoTopUpApprove_OwnerFinishesTheAuthenticationOnSessionAndIsCreditedOnce(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := newApproveServer(t, db)
		ana, cookie := s.owner("ana-approve@example.com")
		s.debitBelowThreshold(ana.AccountID)
		st := s.state(ana.AccountID, "needs_authentication", func(st workflows.AutoTopUpState) bool {
			return st.State == workflows.AutoTopUpNeedsAuthentication
		})
		pi := st.AuthPaymentIntentID
		if pi == "" || st.AuthAmountCents != 2000 || s.balance(ana.AccountID) != 100 {
			t.Fatalf("state %+v, balance %d; want a $20 charge waiting for approval and nothing credited", st, s.balance(ana.AccountID))
		}
		msgs := s.mail(1)
		if len(msgs) != 1 || !strings.Contains(msgs[0].Text, s.URL+"/autotopup/approve") || strings.Contains(msgs[0].Text, "/credits?amount=") {
			t.Fatalf("emails %+v, want one linking to the approve page", msgs)
		}
		if code, _, body := s.do(http.MethodGet, "/credits", nil, nil, cookie); code != http.StatusOK || !strings.Contains(string(body), "/autotopup/approve") {
			t.Fatalf("/credits: %d, want the banner pointing to the approve page:\n%s", code, body)
		}
		code, _, body := s.do(http.MethodGet, "/autotopup/approve", nil, nil, cookie)
		if page := string(body); code != http.StatusOK || !strings.Contains(page, "data-approve-pending") || !strings.Contains(page, "$20.00") ||
			!strings.Contains(page, "visa ending in 3184") || !strings.Contains(page, "Approve payment") {
			t.Fatalf("approve page: %d\n%s", code, page)
		}

		// The bank refuses the first try: still waiting, nothing credited,
		// nothing charged again.
		if code, loc := s.authenticate(s.approve(cookie, pi, 1), "fail"); code != http.StatusSeeOther || loc != s.URL+"/autotopup?done=approved" {
			t.Fatalf("failing the authentication: %d %q", code, loc)
		}
		st = s.state(ana.AccountID, "the failure noted", func(st workflows.AutoTopUpState) bool { return st.AuthRound == 2 })
		if st.State != workflows.AutoTopUpNeedsAuthentication || !strings.Contains(st.LastError, "failed authentication") || st.Seq != 1 ||
			s.balance(ana.AccountID) != 100 || len(s.autoTopUpEntries(ana.AccountID)) != 0 {
			t.Fatalf("after a failed authentication: %+v, balance %d; want still waiting, one attempt, nothing credited", st, s.balance(ana.AccountID))
		}

		// The second try goes through.
		page := s.approve(cookie, pi, 2)
		if code, loc := s.authenticate(page, "complete"); code != http.StatusSeeOther || loc != s.URL+"/autotopup?done=approved" {
			t.Fatalf("completing the authentication: %d %q", code, loc)
		}
		st = s.state(ana.AccountID, "succeeded", func(st workflows.AutoTopUpState) bool { return st.State == workflows.AutoTopUpSucceeded })
		if st.TotalCredited != 2000 || st.Seq != 1 || s.balance(ana.AccountID) != 2100 {
			t.Fatalf("after authenticating: %+v, balance %d; want the one charge credited", st, s.balance(ana.AccountID))
		}
		if code, _, body := s.do(http.MethodGet, "/autotopup?done=approved", nil, nil, cookie); code != http.StatusOK ||
			strings.Contains(string(body), "data-autotopup-banner") || !strings.Contains(string(body), "as soon as your bank confirms") {
			t.Fatalf("the return page: %d, want the flash and no banner:\n%s", code, body)
		}

		// Stripe redelivering, a second event for the same payment, and the
		// bank page posted again credit nothing more.
		paid := providers.NewStripeEvent("evt_pi_again", workflows.EventPaymentIntentSucceeded, map[string]any{"id": pi, "object": "payment_intent",
			"amount": 2000, "metadata": map[string]string{"attempt_id": st.Attempts[0].AttemptID, "account_id": fmt.Sprint(ana.AccountID)}})
		for range 2 {
			if code := s.postEvent(paid); code != http.StatusOK {
				t.Fatalf("a repeated payment event: %d", code)
			}
		}
		s.state(ana.AccountID, "the repeated event handled", func(st workflows.AutoTopUpState) bool { return st.LastPaymentEvent == "evt_pi_again" })
		pageURL, _ := url.Parse(page)
		if code, _, _ := s.do(http.MethodPost, providers.SandboxAuthenticatePath+pi, strings.NewReader(url.Values{"action": {"complete"},
			"round": {"2"}, "token": {pageURL.Query().Get("token")}}.Encode()),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, nil); code != http.StatusConflict {
			t.Fatalf("the bank page posted after payment: %d, want 409", code)
		}
		if es := s.autoTopUpEntries(ana.AccountID); len(es) != 1 || es[0].AmountCents != 2000 || es[0].IdempotencyKey != autotopup.CreditKey(pi) || s.balance(ana.AccountID) != 2100 {
			t.Fatalf("auto top-up entries %+v, balance %d; want exactly one $20 credit keyed by the PaymentIntent", es, s.balance(ana.AccountID))
		}
		if d, err := s.ledger.Verify(ctx); err != nil || len(d) != 0 {
			t.Fatalf("ledger verify: %v %+v", err, d)
		}
		as, _ := s.autoTopUps.Attempts(ctx, ana.AccountID, 5)
		if len(as) != 1 || as[0].Status != models.AttemptSucceeded {
			t.Fatalf("attempts %+v, want the one attempt succeeded", as)
		}

		testenv.RecordHistory(t, testenv.WorkflowHistory(t, s.temporal, workflows.AutoTopUpWorkflowID(ana.AccountID), ""), "auto-top-up-approved-on-session")

		// Nothing waits any more: the page says so, and Approve does nothing.
		if code, _, body := s.do(http.MethodGet, "/autotopup/approve", nil, nil, cookie); code != http.StatusOK || !strings.Contains(string(body), "data-approve-nothing") {
			t.Fatalf("approve page after paying: %d\n%s", code, body)
		}
		if code, loc, _ := s.do(http.MethodPost, "/autotopup/approve", strings.NewReader(""), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, cookie); code != http.StatusSeeOther || loc != "/autotopup/approve?done=nothing" {
			t.Fatalf("approving again: %d %q", code, loc)
		}
	})
}

// The workflow gave up waiting (closed after its failure wait) before the
// owner's bank said yes: the money was still taken, so the webhook starts a
// fresh run that credits it, once.
func TestAutoTopUpApprove_PaymentAfterTheWorkflowClosedIsCreditedByAFreshRun(t *testing.T) {
	ctx := context.Background()
	s := newApproveServer(t, testenv.SQLite(t))
	ana, cookie := s.owner("ana-late@example.com")
	s.debitBelowThreshold(ana.AccountID)
	st := s.state(ana.AccountID, "needs_authentication", func(st workflows.AutoTopUpState) bool {
		return st.State == workflows.AutoTopUpNeedsAuthentication
	})
	page := s.approve(cookie, st.AuthPaymentIntentID, 1)
	id := workflows.AutoTopUpWorkflowID(ana.AccountID)
	if err := s.temporal.TerminateWorkflow(ctx, id, "", "stands in for the failure wait running out"); err != nil {
		t.Fatal(err)
	}
	if code, _, body := s.do(http.MethodGet, "/autotopup/approve", nil, nil, cookie); !strings.Contains(string(body), "has expired") {
		t.Fatalf("approve page with no workflow: %d, want the approval shown as expired:\n%s", code, body)
	}
	if code, loc := s.authenticate(page, "complete"); code != http.StatusSeeOther || loc != s.URL+"/autotopup?done=approved" {
		t.Fatalf("completing the authentication: %d %q", code, loc)
	}
	st = s.state(ana.AccountID, "credited by a fresh run", func(st workflows.AutoTopUpState) bool { return st.State == workflows.AutoTopUpSucceeded })
	if st.TotalCredited != 2000 || st.Seq != 0 || s.balance(ana.AccountID) != 2100 || len(s.autoTopUpEntries(ana.AccountID)) != 1 {
		t.Fatalf("fresh run %+v, balance %d; want the payment credited once and nothing charged", st, s.balance(ana.AccountID))
	}
	if d, err := s.ledger.Verify(ctx); err != nil || len(d) != 0 {
		t.Fatalf("ledger verify: %v %+v", err, d)
	}
}

// The webhook takes payment_intent events only for auto top-up
// PaymentIntents it knows; a top-up's PaymentIntent (metadata topup_id) is
// Checkout's business, and an unknown attempt is acknowledged and logged.
// With no workflow engine to tell, the event is forgotten so Stripe's
// redelivery is handled.
func TestStripeWebhook_PaymentIntentEventsReachOnlyKnownAutoTopUpAttempts(t *testing.T) {
	db := testenv.SQLite(t)
	s := newAuthServer(t, db)
	ana := s.user(t, "ana-webhook@example.com", models.AccountIndividual, false)
	svc := autotopup.New(db, s.led)
	if err := svc.StartAttempt(context.Background(), models.AutoTopUpAttempt{AttemptID: "auto-top-up-x-1", AccountID: ana.AccountID, AmountCents: 2000,
		Status: models.AttemptNeedsAuthentication, PaymentIntentID: "pi_known"}); err != nil {
		t.Fatal(err)
	}
	post := func(id, typ string, metadata map[string]string) cliReply {
		payload := []byte(fmt.Sprintf(`{"id":%q,"object":"event","type":%q,"api_version":"2023-10-16","data":{"object":{"id":"pi_known","object":"payment_intent","amount":2000,"metadata":%s}}}`,
			id, typ, mustJSON(t, metadata)))
		req, _ := http.NewRequest(http.MethodPost, s.URL+providers.StripeWebhookPath, strings.NewReader(string(payload)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Stripe-Signature", providers.SignStripe(payload, s.cfg.EffectiveStripeWebhookSecret(), time.Now()))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		return cliReply{status: resp.StatusCode, body: b.String()}
	}
	events := func() int64 {
		var n int64
		db.Model(&models.StripeEvent{}).Count(&n)
		return n
	}
	if r := post("evt_topup", workflows.EventPaymentIntentSucceeded, map[string]string{"topup_id": "tu_1"}); r.status != http.StatusOK || !strings.Contains(r.body, `"handled":false`) {
		t.Fatalf("a top-up's PaymentIntent: %d %s, want acknowledged and ignored", r.status, r.body)
	}
	if r := post("evt_unknown", workflows.EventPaymentIntentSucceeded, map[string]string{"attempt_id": "auto-top-up-x-99"}); r.status != http.StatusOK || !strings.Contains(r.body, `"handled":false`) {
		t.Fatalf("an unknown attempt: %d %s, want acknowledged", r.status, r.body)
	}
	if !strings.Contains(s.log.String(), "unknown auto top-up attempt") || events() != 0 {
		t.Fatalf("%d events recorded; log:\n%s\nwant the unknown attempt logged and nothing recorded", events(), s.log.String())
	}
	if r := post("evt_known", workflows.EventPaymentIntentSucceeded, map[string]string{"attempt_id": "auto-top-up-x-1"}); r.status != http.StatusServiceUnavailable || events() != 0 {
		t.Fatalf("a known attempt without Temporal: %d %s with %d events recorded, want 503 and the event forgotten", r.status, r.body, events())
	}
	// Only the owner approves a charge of the account's card.
	seat := models.User{AccountID: ana.AccountID, Email: "seat-webhook@example.com", Role: models.RoleSeat, Status: models.StatusActive}
	if err := db.Create(&seat).Error; err != nil {
		t.Fatal(err)
	}
	b := s.browser(t, seat)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		if r := cliDo(t, b, method, s.URL+"/autotopup/approve", url.Values{}, nil); r.status != http.StatusForbidden || r.errorCode() != "owners_only" {
			t.Fatalf("a seat: %s /autotopup/approve = %d %s, want 403 owners_only", method, r.status, r.body)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
