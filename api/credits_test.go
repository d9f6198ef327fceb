package api_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/numbers"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
	mworker "github.com/mobayilo/mobayilo/worker"
	"github.com/mobayilo/mobayilo/workflows"
)

// creditsServer is the real API on httptest, a real Temporal server with a
// worker running the real activities over the sandbox payment provider
// (which points back at this server), and a database.
type creditsServer struct {
	*httptest.Server
	t        testing.TB
	db       *gorm.DB
	cfg      config.Config
	auth     *auth.Service
	identity *identity.Service
	ledger   *ledger.Service
	temporal client.Client
	mailbox  *mail.Mailbox
	// noRedirect is a client that shows redirects instead of following.
	noRedirect *http.Client
	// prov are the worker's and the API's providers (one sandbox carrier).
	prov providers.Providers
	// queue and acts rebuild the worker after restartWorker stops it.
	queue  string
	acts   *activities.Activities
	worker interface{ Stop() }
}

// newCreditsServer builds the server; adjust, when given, may swap the
// worker's dependencies (e.g. a different payment provider) before it starts.
func newCreditsServer(t testing.TB, db *gorm.DB, adjust ...func(config.Config, *activities.Activities)) *creditsServer {
	t.Helper()
	tc := testenv.Temporal(t).Client(t)
	if err := mworker.EnsureSearchAttributes(context.Background(), tc, testenv.Temporal(t).Namespace); err != nil {
		t.Fatal(err)
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	queue := "credits-test-" + hex.EncodeToString(suffix)
	if _, err := rates.SeedIfEmpty(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	led := ledger.New(db)
	s := &creditsServer{t: t, db: db, auth: auth.New(db), identity: identity.New(db, led), ledger: led, temporal: tc,
		mailbox:    mail.NewMailbox(nil),
		noRedirect: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	s.Server = httptest.NewUnstartedServer(nil)
	s.Start()
	t.Cleanup(s.Close)
	cfg, err := config.Load(map[string]string{"MOBAYILO_SANDBOX": "true", "PUBLIC_BASE_URL": s.URL, "TEMPORAL_TASK_QUEUE": queue})
	if err != nil {
		t.Fatal(err)
	}
	s.cfg = cfg
	prov, err := mworker.NewProviders(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.prov = prov
	acts := mworker.NewActivities(cfg, db, s.mailbox, prov, workflows.NewClient(tc, workflows.OptionsFrom(cfg)))
	for _, f := range adjust {
		f(cfg, acts)
	}
	s.queue, s.acts = queue, acts
	s.startWorker()
	pages, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	s.Config.Handler = api.New(deps(cfg, db, api.Deps{Temporal: tc,
		Pages: pages, Auth: s.auth, Identity: s.identity, Ledger: led, Telephony: prov.Telephony, Carrier: prov.Carrier, SandboxCallerIDs: prov.SandboxCallerIDs,
		Numbers: numbers.New(db, led, prov.Numbers, numbers.PolicyFrom(cfg)), SandboxNumbers: prov.SandboxNumbers,
		// The worker's mail (sandbox SMS codes too) shows at /dev/mail, as on `make run`.
		Mailbox: s.mailbox}))
	return s
}

// startWorker runs a fresh worker on the server's task queue.
func (s *creditsServer) startWorker() {
	s.t.Helper()
	w := mworker.New(s.temporal, s.queue, s.acts)
	if err := w.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.worker = w
	s.t.Cleanup(w.Stop)
}

// user makes a signed-in user of kind with a session cookie and a CLI token.
func (s *creditsServer) user(email string, kind models.AccountKind) (models.User, *http.Cookie, string) {
	s.t.Helper()
	ctx := context.Background()
	u, _, err := s.identity.CreateUser(ctx, identity.NewUser{Email: email, AccountKind: kind})
	if err != nil {
		s.t.Fatal(err)
	}
	secret, err := s.auth.CreateSession(ctx, u.ID, "127.0.0.1", "test")
	if err != nil {
		s.t.Fatal(err)
	}
	tok, _, err := s.auth.CreateToken(ctx, auth.NewTokenRequest{UserID: u.ID, Name: "test", Scopes: []string{"cli"}, ExpiryDays: 7, Source: "web"})
	if err != nil {
		s.t.Fatal(err)
	}
	return u, &http.Cookie{Name: api.SessionCookie, Value: secret}, tok
}

// do sends a request and returns status, Location and body.
func (s *creditsServer) do(method, path string, body io.Reader, hdr map[string]string, cookie *http.Cookie) (int, string, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := s.noRedirect.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), b
}

func (s *creditsServer) cli(method, path, token string, body any) (int, map[string]any) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	code, _, raw := s.do(method, path, r, map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json"}, nil)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return code, out
}

// webTopUp submits the Credits page's form and returns the checkout URL.
func (s *creditsServer) webTopUp(cookie *http.Cookie, dollars string) string {
	s.t.Helper()
	form := url.Values{"amount": {dollars}}
	code, loc, body := s.do(http.MethodPost, "/api/topups", strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, cookie)
	if code != http.StatusSeeOther || !strings.Contains(loc, providers.SandboxCheckoutPath) {
		s.t.Fatalf("POST /api/topups = %d %q %s", code, loc, body)
	}
	return loc
}

// signedEvent posts a Stripe event signed with the webhook secret.
func (s *creditsServer) postEvent(event map[string]any) int {
	s.t.Helper()
	payload, _ := json.Marshal(event)
	code, _, _ := s.do(http.MethodPost, providers.StripeWebhookPath, bytes.NewReader(payload), map[string]string{
		"Content-Type": "application/json", "Stripe-Signature": providers.SignStripe(payload, s.cfg.EffectiveStripeWebhookSecret(), time.Now())}, nil)
	return code
}

func (s *creditsServer) waitTopUp(id string) workflows.TopUpResult {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var res workflows.TopUpResult
	if err := s.temporal.GetWorkflow(ctx, workflows.TopUpWorkflowID(id), "").Get(ctx, &res); err != nil {
		s.t.Fatalf("top-up %s workflow: %v", id, err)
	}
	return res
}

func sessionFromURL(t *testing.T, u string) (session, topUpID string) {
	t.Helper()
	i := strings.Index(u, providers.SandboxCheckoutPath)
	if i < 0 {
		t.Fatalf("not a sandbox checkout URL: %s", u)
	}
	session = u[i+len(providers.SandboxCheckoutPath):]
	return session, strings.TrimPrefix(session, "cs_sandbox_")
}

func completedEvent(eventID, session, topUpID, pi string) map[string]any {
	return providers.NewStripeEvent(eventID, workflows.EventCheckoutCompleted, map[string]any{
		"id": session, "object": "checkout.session", "payment_status": "paid", "payment_intent": pi,
		"metadata": map[string]string{"topup_id": topUpID}})
}

func TestTopUp_WebhookReplayedTenTimesCreditsOnceAndTheLedgerVerifies(t *testing.T) {
	s := newCreditsServer(t, testenv.Postgres(t))
	u, cookie, _ := s.user("payer@example.com", models.AccountIndividual)
	session, id := sessionFromURL(t, s.webTopUp(cookie, "5"))
	pi := providers.SandboxPaymentIntentID(id, providers.SandboxCardVisa)

	// The same event ten times at once, plus a second event describing the
	// same PaymentIntent ("paid" after the fact), in any order.
	var wg sync.WaitGroup
	codes := make([]int, 11)
	for i := range 10 {
		wg.Go(func() { codes[i] = s.postEvent(completedEvent("evt_replayed", session, id, pi)) })
	}
	wg.Go(func() {
		codes[10] = s.postEvent(providers.NewStripeEvent("evt_other", workflows.EventCheckoutAsyncPaymentSucceeded, map[string]any{
			"id": session, "object": "checkout.session", "payment_status": "paid", "payment_intent": pi,
			"metadata": map[string]string{"topup_id": id}}))
	})
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Fatalf("delivery %d answered %d", i, c)
		}
	}
	res := s.waitTopUp(id)
	if res.State != workflows.PaymentSucceeded || res.PaymentIntentID != pi || res.BalanceAfterCents != 500 {
		t.Fatalf("result = %+v", res)
	}
	// And again after the workflow closed.
	for range 10 {
		if c := s.postEvent(completedEvent("evt_replayed", session, id, pi)); c != http.StatusOK {
			t.Fatalf("late replay answered %d", c)
		}
	}
	acct, err := s.ledger.Account(context.Background(), u.AccountID)
	if err != nil || acct.BalanceCents != 500 {
		t.Fatalf("balance = %d, %v; want 500", acct.BalanceCents, err)
	}
	var entries int64
	s.db.Model(&models.LedgerEntry{}).Where("account_id = ? AND kind = ?", u.AccountID, models.EntryTopUp).Count(&entries)
	var events int64
	s.db.Model(&models.StripeEvent{}).Count(&events)
	if entries != 1 || events != 2 {
		t.Fatalf("%d topup entries and %d stripe events recorded; want 1 and 2", entries, events)
	}
	if ds, err := s.ledger.Verify(context.Background()); err != nil || len(ds) != 0 {
		t.Fatalf("ledger verify: %v %v", ds, err)
	}
	tu, err := credits.New(s.db).Get(context.Background(), id)
	if err != nil || tu.Status != models.TopUpSucceeded || tu.CardBrand != "visa" || tu.CardLast4 != "4242" || tu.PaymentIntentID != pi || tu.LedgerEntryID == nil {
		t.Fatalf("receipt = %+v, %v", tu, err)
	}
	if tu.ReceiptEmailedAt == nil {
		t.Fatal("receipt was not emailed")
	}
	var receipts int
	for _, m := range s.mailbox.Messages() {
		if m.To == u.Email && strings.Contains(m.Subject, "receipt") && strings.Contains(m.Text, "visa ending in 4242") && strings.Contains(m.Text, pi) {
			receipts++
		}
	}
	if receipts != 1 {
		t.Fatalf("%d receipt emails; want 1: %+v", receipts, s.mailbox.Messages())
	}
	testenv.RecordHistory(t, testenv.WorkflowHistory(t, s.temporal, workflows.TopUpWorkflowID(id), ""), "top-up-paid-with-replayed-deliveries")
	// The state query and the search attributes tell ops where it stands.
	q, err := s.temporal.QueryWorkflow(context.Background(), workflows.TopUpWorkflowID(id), "", workflows.QueryState)
	var st workflows.TopUpState
	if err != nil || q.Get(&st) != nil || st.State != workflows.PaymentSucceeded || st.CheckoutSessionID != session {
		t.Fatalf("state query = %+v, %v", st, err)
	}
}

func TestTopUp_AmountsOutsideTheLimitsAre422NamingTheBound(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	_, cookie, tok := s.user("small@example.com", models.AccountIndividual)
	_, _, companyTok := s.user("boss@acme.example", models.AccountCompany)
	cases := []struct {
		token  string
		amount int64
		says   string
	}{
		{tok, 499, "minimum top-up is $5.00"},
		{tok, 0, "minimum top-up is $5.00"},
		{companyTok, 9999, "minimum top-up is $100.00"},
		{tok, 100001, "maximum top-up is $1000.00"},
	}
	for _, c := range cases {
		code, body := s.cli(http.MethodPost, "/api/cli/topups", c.token, map[string]any{"amount_cents": c.amount})
		e, _ := body["error"].(map[string]any)
		if code != http.StatusUnprocessableEntity || e["code"] != "amount_out_of_range" || !strings.Contains(e["message"].(string), c.says) {
			t.Errorf("top-up of %d = %d %v; want 422 saying %q", c.amount, code, body, c.says)
		}
	}
	form := url.Values{"amount": {"custom"}, "custom_amount": {"4.99"}}
	code, _, page := s.do(http.MethodPost, "/api/topups", strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, cookie)
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(page), "minimum top-up is $5.00") {
		t.Fatalf("web form with $4.99 = %d", code)
	}
	var n int64
	s.db.Model(&models.TopUp{}).Count(&n)
	if n != 0 {
		t.Fatalf("%d top-ups stored for refused amounts", n)
	}
}

func TestTopUp_SandboxCheckoutPaysThroughTheSignedWebhook(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	u, _, tok := s.user("cli@example.com", models.AccountIndividual)
	code, body := s.cli(http.MethodPost, "/api/cli/topups", tok, map[string]any{"amount_cents": 700, "save_card": true})
	checkout, _ := body["checkout_url"].(string)
	id, _ := body["id"].(string)
	if code != http.StatusCreated || body["status"] != "awaiting_payment" || body["amount_cents"] != float64(700) || !strings.HasPrefix(checkout, s.URL+providers.SandboxCheckoutPath) {
		t.Fatalf("POST /api/cli/topups = %d %v", code, body)
	}
	path := strings.TrimPrefix(checkout, s.URL)
	if code, _, page := s.do(http.MethodGet, path, nil, nil, nil); code != 200 || !strings.Contains(string(page), "Pay $7.00") {
		t.Fatalf("GET %s = %d", path, code)
	}
	// The 3-D Secure card gets the bank's challenge; failing it charges
	// nothing and leaves the checkout open for another card.
	form := url.Values{"card": {providers.SandboxCardAuthenticationRequire}}
	if code, _, page := s.do(http.MethodPost, path, strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, nil); code != http.StatusOK || !strings.Contains(string(page), `data-authenticate="complete"`) {
		t.Fatalf("authentication-required card = %d, want the challenge", code)
	}
	form.Set("authentication", "fail")
	if code, _, page := s.do(http.MethodPost, path, strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, nil); code != http.StatusPaymentRequired || !strings.Contains(string(page), "Authentication failed") {
		t.Fatalf("failed authentication = %d, want 402 naming it", code)
	}
	if code, body := s.cli(http.MethodGet, "/api/cli/topups/"+id, tok, nil); code != 200 || body["status"] != "awaiting_payment" {
		t.Fatalf("after failed authentication the top-up is %d %v, want still open", code, body)
	}
	form = url.Values{"card": {providers.SandboxCardVisa}}
	code, loc, _ := s.do(http.MethodPost, path, strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, nil)
	if code != http.StatusSeeOther || loc != "/dial?topup="+id {
		t.Fatalf("paying with pm_card_visa = %d %q", code, loc)
	}
	code, body = s.cli(http.MethodGet, "/api/cli/topups/"+id, tok, nil)
	if code != 200 || body["status"] != "succeeded" || body["balance_cents"] != float64(700) || body["card_last4"] != "4242" {
		t.Fatalf("GET top-up = %d %v", code, body)
	}
	code, body = s.cli(http.MethodGet, "/api/cli/balance", tok, nil)
	if code != 200 || body["balance_cents"] != float64(700) || body["balance"] != "$7.00" {
		t.Fatalf("balance = %d %v", code, body)
	}
	code, body = s.cli(http.MethodGet, "/api/cli/transactions", tok, nil)
	txs, _ := body["transactions"].([]any)
	if code != 200 || len(txs) != 1 || txs[0].(map[string]any)["kind"] != "topup" || txs[0].(map[string]any)["amount_cents"] != float64(700) {
		t.Fatalf("transactions = %d %v", code, body)
	}
	// Another account cannot read it.
	_, _, other := s.user("other@example.com", models.AccountIndividual)
	if code, _ := s.cli(http.MethodGet, "/api/cli/topups/"+id, other, nil); code != http.StatusNotFound {
		t.Fatalf("other account reading the top-up = %d", code)
	}
	var cust models.StripeCustomer
	if err := s.db.Where("account_id = ?", u.AccountID).Take(&cust).Error; err != nil || cust.CustomerID == "" {
		t.Fatalf("stripe customer = %+v, %v", cust, err)
	}
	// "Save card" made the paying card the auto top-up card, with the same
	// customer, without switching auto top-up on.
	st, err := autotopup.New(s.db, ledger.New(s.db)).Settings(context.Background(), u.AccountID)
	if err != nil || st.PaymentMethodID != providers.SandboxCardVisa || st.CardLast4 != "4242" || st.CustomerID != cust.CustomerID || st.Enabled {
		t.Fatalf("auto top-up settings after a save-card top-up = %+v, %v", st, err)
	}
}

// As on Stripe's hosted page, a declined card is shown inline and the
// session stays open for another card: no event, nothing credited. Only
// the session's expiry closes the top-up.
func TestTopUp_DeclinedSandboxCardKeepsTheCheckoutOpenAndExpiryCreditsNothing(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	u, cookie, _ := s.user("declined@example.com", models.AccountIndividual)
	checkout := s.webTopUp(cookie, "5")
	_, id := sessionFromURL(t, checkout)
	path := strings.TrimPrefix(checkout, s.URL)
	form := func(k, v string) io.Reader { return strings.NewReader(url.Values{k: {v}}.Encode()) }
	formHdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for card, says := range map[string]string{providers.SandboxCardDeclined: "Your card has been declined.", providers.SandboxCardInsufficientFunds: "Your card has insufficient funds."} {
		code, _, page := s.do(http.MethodPost, path, form("card", card), formHdr, nil)
		if code != http.StatusPaymentRequired || !strings.Contains(string(page), says) || !strings.Contains(string(page), `data-card="`+providers.SandboxCardVisa+`"`) {
			t.Fatalf("%s: %d, want 402 saying %q with the cards still offered:\n%s", card, code, says, page)
		}
	}
	var events int64
	s.db.Model(&models.StripeEvent{}).Count(&events)
	tu, _ := credits.New(s.db).Get(context.Background(), id)
	if events != 0 || tu.Status != models.TopUpAwaitingPayment {
		t.Fatalf("after two declines: %d events sent, top-up %s; want none and still awaiting payment", events, tu.Status)
	}
	code, loc, _ := s.do(http.MethodPost, path, form("action", "expire"), formHdr, nil)
	if code != http.StatusSeeOther || loc != "/credits?topup="+id {
		t.Fatalf("expire: %d %q", code, loc)
	}
	res := s.waitTopUp(id)
	tu, _ = credits.New(s.db).Get(context.Background(), id)
	if res.State != workflows.PaymentExpired || tu.Status != models.TopUpExpired {
		t.Fatalf("workflow %+v, row %s; want expired", res, tu.Status)
	}
	testenv.RecordHistory(t, testenv.WorkflowHistory(t, s.temporal, workflows.TopUpWorkflowID(id), ""), "top-up-expired-then-closed")
	code, _, page := s.do(http.MethodGet, loc, nil, nil, cookie)
	if code != 200 || !strings.Contains(string(page), `data-topup-status="expired"`) {
		t.Fatalf("credits page after expiry = %d", code)
	}
	acct, _ := s.ledger.Account(context.Background(), u.AccountID)
	if acct.BalanceCents != 0 {
		t.Fatalf("balance = %d after declined payments", acct.BalanceCents)
	}
}

func TestStripeWebhook_UnknownObjectsAreAcknowledgedAndBadSignaturesWriteNothing(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	if c := s.postEvent(completedEvent("evt_unknown", "cs_x", "tu_nope", "pi_x")); c != 200 {
		t.Fatalf("unknown top-up = %d", c)
	}
	if c := s.postEvent(providers.NewStripeEvent("evt_cust", "customer.created", map[string]any{"id": "cus_1", "object": "customer"})); c != 200 {
		t.Fatalf("unused event type = %d", c)
	}
	payload, _ := json.Marshal(completedEvent("evt_forged", "cs_x", "tu_nope", "pi_x"))
	code, _, _ := s.do(http.MethodPost, providers.StripeWebhookPath, bytes.NewReader(payload), map[string]string{
		"Stripe-Signature": providers.SignStripe(payload, "whsec_wrong", time.Now())}, nil)
	if code != http.StatusBadRequest {
		t.Fatalf("forged event = %d", code)
	}
	var n int64
	s.db.Model(&models.StripeEvent{}).Count(&n)
	if n != 0 {
		t.Fatalf("%d stripe events stored; unknown and forged events store nothing", n)
	}
}

// TestMoby_TopUpRefusesFourAndWaitsForFiveInSandbox runs the real moby
// binary against the real API, Temporal and worker: `moby topup 4` is a
// usage error that never reaches the server, and `moby topup 5 --wait`
// prints the checkout link, waits while the sandbox checkout is paid over
// HTTP, then prints the new balance.
func TestMoby_TopUpRefusesFourAndWaitsForFiveInSandbox(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	_, _, tok := s.user("terminal@example.com", models.AccountIndividual)
	bin := filepath.Join(t.TempDir(), "moby")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/moby").CombinedOutput(); err != nil {
		t.Fatalf("go build moby: %v\n%s", err, out)
	}
	moby := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "MOBY_CONFIG_DIR="+t.TempDir(), "MOBY_HOST="+s.URL, "MOBY_TOKEN="+tok, "MOBY_NO_KEYRING=1", "NO_COLOR=1")
		return cmd
	}
	var errOut bytes.Buffer
	refused := moby("topup", "4")
	refused.Stderr = &errOut
	err := refused.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(errOut.String(), "minimum top-up is $5.00") {
		t.Fatalf("moby topup 4: %v, stderr %q; want exit 2 naming the minimum", err, errOut.String())
	}
	var n int64
	s.db.Model(&models.TopUp{}).Count(&n)
	if n != 0 {
		t.Fatalf("moby topup 4 stored %d top-ups", n)
	}

	wait := moby("topup", "5", "--wait")
	stdout, err := wait.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errOut.Reset()
	wait.Stderr = &errOut
	if err := wait.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("moby printed no checkout link; stderr %q", errOut.String())
	}
	checkout := strings.TrimSpace(lines.Text())
	if !strings.HasPrefix(checkout, s.URL+providers.SandboxCheckoutPath) {
		t.Fatalf("first line %q is not the sandbox checkout link", checkout)
	}
	form := url.Values{"card": {providers.SandboxCardVisa}}
	if code, _, _ := s.do(http.MethodPost, strings.TrimPrefix(checkout, s.URL), strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, nil); code != http.StatusSeeOther {
		t.Fatalf("paying at the sandbox checkout = %d", code)
	}
	var rest []string
	for lines.Scan() {
		rest = append(rest, lines.Text())
	}
	if err := wait.Wait(); err != nil {
		t.Fatalf("moby topup 5 --wait: %v, stderr %q", err, errOut.String())
	}
	if len(rest) != 1 || rest[0] != "Balance: $5.00" {
		t.Fatalf("moby topup 5 --wait printed %q after the link; stderr %q", rest, errOut.String())
	}
	out, err := moby("balance", "--json").Output()
	if err != nil || !strings.Contains(string(out), `"balance_cents":500`) {
		t.Fatalf("moby balance --json = %s, %v", out, err)
	}
	out, err = moby("transactions", "--json").Output()
	if err != nil || !strings.Contains(string(out), `"kind":"topup"`) || !strings.Contains(string(out), `"amount_cents":500`) {
		t.Fatalf("moby transactions --json = %s, %v", out, err)
	}
}

// Money Stripe reports after the top-up expired was still taken: it is
// credited, once, by the late-payment workflow.
func TestTopUp_PaymentReportedAfterExpiryIsCreditedOnce(t *testing.T) {
	s := newCreditsServer(t, testenv.Postgres(t))
	u, cookie, _ := s.user("late@example.com", models.AccountIndividual)
	checkout := s.webTopUp(cookie, "5")
	session, id := sessionFromURL(t, checkout)
	form := url.Values{"action": {"expire"}}
	if code, _, _ := s.do(http.MethodPost, strings.TrimPrefix(checkout, s.URL), strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, nil); code != http.StatusSeeOther {
		t.Fatalf("expiring the sandbox checkout = %d", code)
	}
	if res := s.waitTopUp(id); res.State != string(models.TopUpExpired) {
		t.Fatalf("top-up = %+v, want expired", res)
	}
	for i, evID := range []string{"evt_late_1", "evt_late_1", "evt_late_2"} {
		if code := s.postEvent(completedEvent(evID, session, id, "pi_late_1")); code != 200 {
			t.Fatalf("late event %d answered %d", i, code)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var res workflows.CreditLateTopUpResult
	if err := s.temporal.GetWorkflow(ctx, workflows.LateTopUpWorkflowID("pi_late_1"), "").Get(ctx, &res); err != nil {
		t.Fatalf("late credit workflow: %v", err)
	}
	testenv.RecordHistory(t, testenv.WorkflowHistory(t, s.temporal, workflows.LateTopUpWorkflowID("pi_late_1"), ""), "credit-late-top-up-after-expiry")
	acct, _ := s.ledger.Account(context.Background(), u.AccountID)
	if acct.BalanceCents != 500 || res.BalanceAfterCents != 500 {
		t.Fatalf("balance %d (workflow says %d), want $5.00 credited once", acct.BalanceCents, res.BalanceAfterCents)
	}
	if ds, err := s.ledger.Verify(context.Background()); err != nil || len(ds) != 0 {
		t.Fatalf("ledger verify: %v %v", ds, err)
	}
	if tu, _ := credits.New(s.db).Get(context.Background(), id); tu.Status != models.TopUpSucceeded || tu.PaymentIntentID != "pi_late_1" {
		t.Fatalf("top-up row after the late credit = %+v", tu)
	}
}

// /credits?amount=<cents> comes with the amount pre-selected, so a link can
// offer a top-up of a given size in one step.
func TestCreditsPage_AmountLinkPrefillsTheTopUpForm(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	_, cookie, _ := s.user("prefill@example.com", models.AccountIndividual)
	page := func(q string) string {
		code, _, body := s.do(http.MethodGet, "/credits"+q, nil, nil, cookie)
		if code != 200 {
			t.Fatalf("GET /credits%s = %d", q, code)
		}
		return string(body)
	}
	if b := page("?amount=2000"); !strings.Contains(b, `value="20" checked`) || strings.Contains(b, `value="5" checked`) {
		t.Fatal("a preset amount is not pre-selected")
	}
	if b := page("?amount=1250"); !strings.Contains(b, `data-custom-radio checked`) || !strings.Contains(b, `value="12.50" data-custom-amount`) {
		t.Fatal("an odd amount does not pre-fill Other")
	}
	for _, q := range []string{"?amount=100", "?amount=abc", "?amount=99999999"} {
		if b := page(q); !strings.Contains(b, `value="5" checked`) || strings.Contains(b, `data-custom-radio checked`) {
			t.Fatalf("%s must fall back to the default amount", q)
		}
	}
}

func TestTopUp_SandboxThreeDSecureCardPaysOnceTheChallengeIsCompleted(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	_, _, tok := s.user("threeds@example.com", models.AccountIndividual)
	code, body := s.cli(http.MethodPost, "/api/cli/topups", tok, map[string]any{"amount_cents": 800})
	if code != http.StatusCreated {
		t.Fatalf("POST /api/cli/topups = %d %v", code, body)
	}
	id, path := body["id"].(string), strings.TrimPrefix(body["checkout_url"].(string), s.URL)
	form := url.Values{"card": {providers.SandboxCardAuthenticationRequire}, "authentication": {"complete"}}
	code, loc, _ := s.do(http.MethodPost, path, strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, nil)
	if code != http.StatusSeeOther || loc != "/dial?topup="+id {
		t.Fatalf("completing 3-D Secure = %d %q", code, loc)
	}
	code, body = s.cli(http.MethodGet, "/api/cli/topups/"+id, tok, nil)
	if code != 200 || body["status"] != "succeeded" || body["balance_cents"] != float64(800) || body["card_last4"] != "3184" {
		t.Fatalf("GET top-up = %d %v, want paid by the 3-D Secure card", code, body)
	}
}

// A late-credit run that failed (here: terminated by an operator) must not
// block the payment for good: Stripe's redelivery runs it again, and the
// webhook says "credited" only once it is.
func TestTopUp_LateCreditThatFailedRunsAgainOnRedelivery(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	u, cookie, _ := s.user("late-again@example.com", models.AccountIndividual)
	checkout := s.webTopUp(cookie, "5")
	session, id := sessionFromURL(t, checkout)
	form := url.Values{"action": {"expire"}}
	if code, _, _ := s.do(http.MethodPost, strings.TrimPrefix(checkout, s.URL), strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, nil); code != http.StatusSeeOther {
		t.Fatalf("expiring the sandbox checkout = %d", code)
	}
	if res := s.waitTopUp(id); res.State != string(models.TopUpExpired) {
		t.Fatalf("top-up = %+v, want expired", res)
	}
	ctx := context.Background()
	lateID := workflows.LateTopUpWorkflowID("pi_late_again")
	// An earlier run that never got to credit, ended by an operator.
	if _, err := s.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: lateID, TaskQueue: "nobody-polls-this"}, workflows.NameCreditLateTopUp,
		workflows.CreditLateTopUpInput{TopUpID: id, PaymentIntentID: "pi_late_again"}); err != nil {
		t.Fatal(err)
	}
	if err := s.temporal.TerminateWorkflow(ctx, lateID, "", "test: a failed late credit"); err != nil {
		t.Fatal(err)
	}
	if code, handled := s.postEventReply(completedEvent("evt_late_again", session, id, "pi_late_again")); code != http.StatusOK || !handled {
		t.Fatalf("redelivery after the failed run: %d handled=%v, want credited", code, handled)
	}
	acct, _ := s.ledger.Account(ctx, u.AccountID)
	if acct.BalanceCents != 500 {
		t.Fatalf("balance %d, want the late payment credited", acct.BalanceCents)
	}
	if code, _ := s.postEventReply(completedEvent("evt_late_again_2", session, id, "pi_late_again")); code != http.StatusOK {
		t.Fatalf("another event about the credited payment: %d", code)
	}
	if acct, _ := s.ledger.Account(ctx, u.AccountID); acct.BalanceCents != 500 {
		t.Fatalf("balance %d after another event, want 500: credited once", acct.BalanceCents)
	}
}

// The PRD's first-purchase limit: until an account's first payment has
// succeeded, a top-up above FIRST_TOPUP_MAX_CENTS ($100 by default) is
// refused on the web form and the CLI endpoint alike, saying the limit;
// once one is paid, TOPUP_MAX_CENTS applies.
func TestTopUp_FirstTopUpAboveTheFirstPurchaseLimitIs422UntilOneIsPaid(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	_, cookie, tok := s.user("newcard@example.com", models.AccountIndividual)
	_, _, companyTok := s.user("owner@newco.example", models.AccountCompany)
	const says = "your first top-up can be at most $100.00"
	for _, c := range []struct {
		token  string
		amount int64
	}{{tok, 10001}, {tok, 100000}, {companyTok, 20000}} {
		code, body := s.cli(http.MethodPost, "/api/cli/topups", c.token, map[string]any{"amount_cents": c.amount})
		e, _ := body["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if code != http.StatusUnprocessableEntity || e["code"] != "first_topup_limit" || !strings.Contains(msg, says) {
			t.Fatalf("first CLI top-up of %d = %d %v; want 422 first_topup_limit saying %q", c.amount, code, body, says)
		}
	}
	formHdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	form := url.Values{"amount": {"custom"}, "custom_amount": {"150"}}
	code, _, page := s.do(http.MethodPost, "/api/topups", strings.NewReader(form.Encode()), formHdr, cookie)
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(page), says) {
		t.Fatalf("first web top-up of $150 = %d, want 422 saying %q", code, says)
	}
	code, _, page = s.do(http.MethodGet, "/credits", nil, nil, cookie)
	if code != http.StatusOK || !strings.Contains(string(page), `data-max="100"`) || !strings.Contains(string(page), "data-first-topup-max") {
		t.Fatalf("credits page before the first payment = %d; want the form capped at $100 and saying so", code)
	}
	var n int64
	s.db.Model(&models.TopUp{}).Count(&n)
	if n != 0 {
		t.Fatalf("%d top-ups stored for refused amounts", n)
	}

	// The limit itself is allowed; pay it.
	checkout := s.webTopUp(cookie, "100")
	_, id := sessionFromURL(t, checkout)
	pay := url.Values{"card": {providers.SandboxCardVisa}}
	if code, _, _ := s.do(http.MethodPost, strings.TrimPrefix(checkout, s.URL), strings.NewReader(pay.Encode()), formHdr, nil); code != http.StatusSeeOther {
		t.Fatalf("paying the first top-up = %d", code)
	}
	if res := s.waitTopUp(id); res.State != workflows.PaymentSucceeded {
		t.Fatalf("first top-up = %+v", res)
	}

	// Now a second top-up above the first-purchase limit, under
	// TOPUP_MAX_CENTS, opens a checkout from both doors.
	code, body := s.cli(http.MethodPost, "/api/cli/topups", tok, map[string]any{"amount_cents": 20000})
	if code != http.StatusCreated || body["status"] != "awaiting_payment" || body["amount_cents"] != float64(20000) {
		t.Fatalf("second CLI top-up of $200 = %d %v; want 201", code, body)
	}
	s.webTopUp(cookie, "250")
	code, _, page = s.do(http.MethodGet, "/credits", nil, nil, cookie)
	if code != http.StatusOK || !strings.Contains(string(page), `data-max="1000"`) || strings.Contains(string(page), "data-first-topup-max") {
		t.Fatalf("credits page after the first payment = %d; want the form up to $1000 without the first-purchase note", code)
	}
	// Above TOPUP_MAX_CENTS is still refused, with its own code.
	code, body = s.cli(http.MethodPost, "/api/cli/topups", tok, map[string]any{"amount_cents": 100001})
	if e, _ := body["error"].(map[string]any); code != http.StatusUnprocessableEntity || e["code"] != "amount_out_of_range" {
		t.Fatalf("top-up of $1000.01 after a payment = %d %v", code, body)
	}
}
