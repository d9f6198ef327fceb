package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/internal/testenv"
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
	prov, err := providers.New(config.Config{Sandbox: true, StripeSecretKey: "sk_test_fake", StripeAPIBaseURL: stripeURL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	live := prov.Payments
	cs := newCreditsServer(t, db, func(_ config.Config, a *activities.Activities) {
		a.Charges = liveConfirm{Charges: a.Charges, live: live}
	})
	return &approveServer{creditsServer: cs, autoTopUps: autotopup.New(db, cs.ledger), queue: cs.cfg.TemporalTaskQueue}
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
