package api_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/web"
	mworker "github.com/mobayilo/mobayilo/worker"
	"github.com/mobayilo/mobayilo/workflows"
)

// liveConfirm charges and cancels in the sandbox but confirms on-session
// through the live Stripe implementation, pointed at a fake Stripe.
type liveConfirm struct {
	activities.Charges
	live providers.Payments
}

func (l liveConfirm) ConfirmOnSession(ctx context.Context, in providers.ConfirmParams) (providers.ConfirmResult, error) {
	return l.live.ConfirmOnSession(ctx, in)
}

// newLiveConfirmApproveServer is newApproveServer whose worker confirms
// through live Stripe code talking to stripeURL.
func newLiveConfirmApproveServer(t *testing.T, stripeURL string) *approveServer {
	t.Helper()
	db := testenv.SQLite(t)
	if _, err := rates.SeedIfEmpty(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	tc := testenv.Temporal(t).Client(t)
	if err := mworker.EnsureSearchAttributes(context.Background(), tc, testenv.Temporal(t).Namespace); err != nil {
		t.Fatal(err)
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	queue := "approve-decline-test-" + hex.EncodeToString(suffix)
	led := ledger.New(db)
	s := &creditsServer{t: t, db: db, auth: auth.New(db), identity: identity.New(db, led), ledger: led, temporal: tc,
		mailbox:    mail.NewMailbox(nil),
		noRedirect: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	s.Server = httptest.NewUnstartedServer(nil)
	s.Start()
	t.Cleanup(s.Close)
	cfg, err := config.Load(map[string]string{"PUBLIC_BASE_URL": s.URL, "TEMPORAL_TASK_QUEUE": queue})
	if err != nil {
		t.Fatal(err)
	}
	s.cfg = cfg
	sandbox := providers.NewSandboxWebhooks(cfg.PublicBaseURL, cfg.EffectiveTwilioAuthToken(), cfg.EffectiveStripeWebhookSecret(), nil)
	pay, autoTopUps := providers.New(cfg, sandbox).Payments, autotopup.New(db, led)
	live := providers.New(config.Config{StripeSecretKey: "sk_test_fake", StripeAPIBaseURL: stripeURL}, nil).Payments
	w := mworker.New(tc, queue, &activities.Activities{Ledger: led, Mailer: s.mailbox,
		Payments: pay, TopUps: credits.New(db), Postings: led, SavedCards: autoTopUps, CardSetups: autoTopUps, SetupPayments: pay,
		AutoTopUps: autoTopUps, Charges: liveConfirm{Charges: pay, live: live}})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	pages, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	s.Config.Handler = api.New(api.Deps{Config: cfg, DB: db, Rates: rates.NewCache(db, time.Minute), Temporal: tc,
		Pages: pages, Auth: s.auth, Identity: s.identity, Ledger: led})
	return &approveServer{creditsServer: s, autoTopUps: autoTopUps, queue: queue}
}

// Stripe answering the on-session confirmation with a card error, even
// authentication_required, is a decline: the owner sees the bank's reason
// at once (not "your balance goes up"), nothing is credited, and the
// charge still waits for another try.
func TestAutoTopUpApprove_OnSessionCardErrorShowsTheDeclineAndItsReason(t *testing.T) {
	var confirms atomic.Int32
	stripe := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/confirm") {
			http.Error(w, `{"error":{"type":"invalid_request_error","message":"unexpected"}}`, http.StatusNotFound)
			return
		}
		confirms.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusPaymentRequired)
		_, _ = w.Write([]byte(`{"error":{"type":"card_error","code":"authentication_required","decline_code":"authentication_required",
			"message":"Your card was declined. This transaction requires authentication."}}`))
	}))
	t.Cleanup(stripe.Close)
	s := newLiveConfirmApproveServer(t, stripe.URL)
	ana, cookie := s.owner("ana-declined@example.com")
	s.debitBelowThreshold(ana.AccountID)
	s.state(ana.AccountID, "needs_authentication", func(st workflows.AutoTopUpState) bool {
		return st.State == workflows.AutoTopUpNeedsAuthentication
	})
	code, loc, body := s.do(http.MethodPost, "/autotopup/approve", strings.NewReader(""), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, cookie)
	page := string(body)
	if code != http.StatusOK || loc != "" || confirms.Load() == 0 ||
		!strings.Contains(page, "Your bank declined the payment: authentication_required: Your card was declined. This transaction requires authentication.") ||
		!strings.Contains(page, "data-approve-pending") {
		t.Fatalf("Approve with a declined card: %d %q after %d confirmations\n%s\nwant the decline and its reason, and the charge still waiting", code, loc, confirms.Load(), page)
	}
	st := s.state(ana.AccountID, "the decline noted", func(st workflows.AutoTopUpState) bool { return st.AuthRound == 2 })
	if st.State != workflows.AutoTopUpNeedsAuthentication || !strings.Contains(st.LastError, "authentication_required") ||
		s.balance(ana.AccountID) != 100 || len(s.autoTopUpEntries(ana.AccountID)) != 0 {
		t.Fatalf("after the decline: %+v, balance %d; want still waiting and nothing credited", st, s.balance(ana.AccountID))
	}
}
