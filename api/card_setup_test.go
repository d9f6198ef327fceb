package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

// postEventReply posts a signed Stripe event and returns the status and
// the acknowledgement's "handled".
func (s *creditsServer) postEventReply(event map[string]any) (int, bool) {
	s.t.Helper()
	payload, _ := json.Marshal(event)
	code, _, body := s.do(http.MethodPost, providers.StripeWebhookPath, bytes.NewReader(payload), map[string]string{
		"Content-Type": "application/json", "Stripe-Signature": providers.SignStripe(payload, s.cfg.EffectiveStripeWebhookSecret(), time.Now())}, nil)
	var ack struct {
		Handled bool `json:"handled"`
	}
	_ = json.Unmarshal(body, &ack)
	return code, ack.Handled
}

func setupCompletedEvent(eventID, session, setupID, setupIntent string) map[string]any {
	return providers.NewStripeEvent(eventID, workflows.EventCheckoutCompleted, map[string]any{
		"id": session, "object": "checkout.session", "mode": "setup", "status": "complete", "payment_status": "no_payment_required",
		"setup_intent": setupIntent, "metadata": map[string]string{"setup_id": setupID}})
}

// Stripe's own checkout.session.completed for a setup (not the sandbox
// page's): the webhook signals SaveCard once however often Stripe
// redelivers it, an unknown setup is acknowledged without a trace, and the
// saved card's brand and last 4 reach the Auto top-up page.
func TestCardSetupWebhook_RedeliveredCompletionSavesOnceAndUnknownSetupsAreAcknowledged(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	if code, handled := s.postEventReply(setupCompletedEvent("evt_unknown", "cs_x", "cset_nope", "seti_x")); code != http.StatusOK || handled {
		t.Fatalf("unknown setup: %d handled=%v, want 200 not handled", code, handled)
	}
	var n int64
	s.db.Model(&models.StripeEvent{}).Count(&n)
	if n != 0 {
		t.Fatalf("%d stripe events stored for an unknown setup", n)
	}

	u, cookie, _ := s.user("owner@example.com", models.AccountIndividual)
	code, checkout, body := s.do(http.MethodPost, "/autotopup/card/setup", strings.NewReader(url.Values{}.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, cookie)
	if code != http.StatusSeeOther || !strings.Contains(checkout, providers.SandboxSetupSessionPrefix) {
		t.Fatalf("Save a card: %d %q %s", code, checkout, body)
	}
	session := checkout[strings.Index(checkout, providers.SandboxSetupSessionPrefix):]
	setupID := strings.TrimPrefix(session, providers.SandboxSetupSessionPrefix)
	ev := setupCompletedEvent("evt_setup_1", session, setupID, providers.SandboxSetupIntentID(setupID, providers.SandboxCardInsufficientFunds))
	handled := 0
	for range 5 {
		code, h := s.postEventReply(ev)
		if code != http.StatusOK {
			t.Fatalf("completion event: %d", code)
		}
		if h {
			handled++
		}
	}
	if handled != 1 {
		t.Fatalf("the completion was handled %d times in 5 deliveries, want once", handled)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var res workflows.SaveCardResult
	if err := s.temporal.GetWorkflow(ctx, workflows.SaveCardWorkflowID(setupID), "").Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.State != string(models.CardSetupSaved) || res.CardLast4 != "9995" {
		t.Fatalf("SaveCard result %+v, want saved with 9995", res)
	}
	testenv.RecordHistory(t, testenv.WorkflowHistory(t, s.temporal, workflows.SaveCardWorkflowID(setupID), ""), "save-card-saved-with-replayed-deliveries")
	v, err := s.temporal.QueryWorkflow(ctx, workflows.SaveCardWorkflowID(setupID), "", workflows.QueryState)
	var st workflows.SaveCardState
	if err != nil || v.Get(&st) != nil || st.EventsSeen != 1 {
		t.Fatalf("workflow saw %d events (%v), want 1", st.EventsSeen, err)
	}
	// After the workflow closed, a late redelivery with a new event id is
	// acknowledged, not retried forever.
	if code, h := s.postEventReply(setupCompletedEvent("evt_setup_late", session, setupID, "seti_other")); code != http.StatusOK || h {
		t.Fatalf("event for a finished setup: %d handled=%v, want 200 not handled", code, h)
	}
	code, _, page := s.do(http.MethodGet, "/autotopup", nil, nil, cookie)
	if code != http.StatusOK || !strings.Contains(string(page), "visa ending in 9995") {
		t.Fatalf("auto top-up page after the webhook: %d\n%s", code, page)
	}
	var setup models.CardSetup
	if err := s.db.Where("id = ? AND account_id = ?", setupID, u.AccountID).Take(&setup).Error; err != nil || setup.Status != models.CardSetupSaved {
		t.Fatalf("setup row %+v, %v", setup, err)
	}
}

// "Let the session expire now" on a setup page sends checkout.session.expired:
// the setup closes as expired and no card is saved.
func TestCardSetup_SandboxExpiryClosesTheSetupWithoutACard(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	u, cookie, _ := s.user("expire@example.com", models.AccountIndividual)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	_, checkout, _ := s.do(http.MethodPost, "/autotopup/card/setup", strings.NewReader(""), form, cookie)
	path := strings.TrimPrefix(checkout, s.URL)
	if code, loc, _ := s.do(http.MethodPost, path, strings.NewReader(url.Values{"action": {"cancel"}}.Encode()), form, nil); code != http.StatusSeeOther || loc != "/autotopup" {
		t.Fatalf("cancel: %d %q, want back to /autotopup", code, loc)
	}
	code, loc, _ := s.do(http.MethodPost, path, strings.NewReader(url.Values{"action": {"expire"}}.Encode()), form, nil)
	if code != http.StatusSeeOther || loc != "/autotopup?done=card-not-saved" {
		t.Fatalf("expire: %d %q", code, loc)
	}
	var setup models.CardSetup
	if err := s.db.Where("account_id = ?", u.AccountID).Take(&setup).Error; err != nil || setup.Status != models.CardSetupExpired {
		t.Fatalf("setup row %+v, %v; want expired", setup, err)
	}
	testenv.RecordHistory(t, testenv.WorkflowHistory(t, s.temporal, workflows.SaveCardWorkflowID(setup.ID), ""), "save-card-expired-then-closed")
	if code, _, page := s.do(http.MethodGet, loc, nil, nil, cookie); code != http.StatusOK || !strings.Contains(string(page), "data-no-card") || !strings.Contains(string(page), "No card was saved") {
		t.Fatalf("auto top-up page after expiry: %d\n%s", code, page)
	}
}

// A card saved through the setup checkout wakes a failed auto top-up
// (SaveCard signals AutoTopUp's card-updated), which charges the new card.
func TestCardSetup_NewCardWakesAFailedAutoTopUpWhichThenSucceeds(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	ctx := context.Background()
	u, cookie, _ := s.user("wake@example.com", models.AccountIndividual)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	saveCard := func(card string) {
		t.Helper()
		_, checkout, _ := s.do(http.MethodPost, "/autotopup/card/setup", strings.NewReader(""), form, cookie)
		code, loc, body := s.do(http.MethodPost, strings.TrimPrefix(checkout, s.URL), strings.NewReader(url.Values{"card": {card}}.Encode()), form, nil)
		if code != http.StatusSeeOther || loc != "/autotopup?done=card-saved" {
			t.Fatalf("saving %s: %d %q\n%s", card, code, loc, body)
		}
	}
	saveCard(providers.SandboxCardDeclined)
	svc := autotopup.New(s.db, s.ledger)
	if _, err := svc.Save(ctx, u.AccountID, autotopup.Update{Enabled: true, ThresholdCents: 200, AmountCents: 2000, DailyMaxCount: 3, DailyMaxCents: 6000}); err != nil {
		t.Fatal(err)
	}
	if err := workflows.NewClient(s.temporal, workflows.ClientOptions{TaskQueue: s.cfg.TemporalTaskQueue, BaseURL: s.URL, AutoTopUpCooldown: time.Second}).SignalAutoTopUpDebit(ctx, u.AccountID); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.temporal.TerminateWorkflow(context.Background(), workflows.AutoTopUpWorkflowID(u.AccountID), "", "test over")
	})
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if ok() {
				return
			}
		}
		t.Fatalf("timed out waiting for %s", what)
	}
	waitFor("the declined auto top-up", func() bool {
		as, err := svc.Attempts(ctx, u.AccountID, 1)
		return err == nil && len(as) == 1 && as[0].Status == models.AttemptHardDecline
	})
	saveCard(providers.SandboxCardVisa)
	waitFor("the auto top-up with the new card", func() bool {
		acct, err := s.ledger.Account(ctx, u.AccountID)
		return err == nil && acct.BalanceCents == 2000
	})
	as, _ := svc.Attempts(ctx, u.AccountID, 2)
	if len(as) != 2 || as[0].Status != models.AttemptSucceeded {
		t.Fatalf("attempts %+v, want the decline then a success", as)
	}
}
