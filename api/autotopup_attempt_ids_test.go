package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

// An account's AutoTopUp workflow closes (idle, or after a failure) and a
// later debit starts a new execution: its attempts get new ids, so neither
// Stripe's Idempotency-Key nor the attempt row nor the PaymentIntent of an
// earlier charge is reused, and both charges are credited.
func TestAutoTopUp_ANewExecutionNeverReusesAnEarlierAttemptID(t *testing.T) {
	s := newApproveServer(t, testenv.SQLite(t))
	ctx := context.Background()
	u, _, _ := s.user("ids@example.com", models.AccountIndividual)
	card, _ := autotopup.SandboxCard(providers.SandboxCardVisa)
	if _, err := s.autoTopUps.SaveCard(ctx, u.AccountID, card); err != nil {
		t.Fatal(err)
	}
	if _, err := s.autoTopUps.Save(ctx, u.AccountID, autotopup.Update{Enabled: true, ThresholdCents: 200, AmountCents: 2000, DailyMaxCount: 3, DailyMaxCents: 6000}); err != nil {
		t.Fatal(err)
	}
	id := workflows.AutoTopUpWorkflowID(u.AccountID)
	t.Cleanup(func() { _ = s.temporal.TerminateWorkflow(context.Background(), id, "", "test over") })
	if _, err := s.ledger.Adjust(ctx, ledger.Adjustment{AccountID: u.AccountID, AmountCents: 500, Reason: "seed", Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	debit := func(reason string, cents int64) {
		t.Helper()
		res, err := s.ledger.Adjust(ctx, ledger.Adjustment{AccountID: u.AccountID, AmountCents: -cents, Reason: reason, Actor: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := s.autoTopUps.AfterDebit(ctx, workflows.NewClient(s.temporal, workflows.ClientOptions{TaskQueue: s.queue, BaseURL: s.URL, AutoTopUpCooldown: time.Second}), res); err != nil || !ok {
			t.Fatalf("the debit did not trigger auto top-up: %v %v", ok, err)
		}
	}
	// credited waits for n succeeded attempts AND their ledger credits (an
	// attempt is marked succeeded just before its credit posts).
	credited := func(n int) []models.AutoTopUpAttempt {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			as, err := s.autoTopUps.Attempts(ctx, u.AccountID, 10)
			if err != nil {
				t.Fatal(err)
			}
			done := 0
			for _, a := range as {
				if a.Status == models.AttemptSucceeded {
					done++
				}
			}
			var entries int64
			s.db.Model(&models.LedgerEntry{}).Where("account_id = ? AND kind = ?", u.AccountID, models.EntryAutoTopUp).Count(&entries)
			if done == n && entries == int64(n) {
				return as
			}
			if time.Now().After(deadline) {
				t.Fatalf("attempts %+v: want %d succeeded", as, n)
			}
		}
	}
	debit("first", 400) // $5 → $1: one $20 auto top-up
	credited(1)
	// The execution ends (as after its idle timeout); the next debit starts
	// a new one.
	if err := s.temporal.TerminateWorkflow(ctx, id, "", "closed, as after its idle timeout"); err != nil {
		t.Fatal(err)
	}
	debit("second", 2000) // $21 → $1
	as := credited(2)
	if len(as) != 2 || as[0].AttemptID == as[1].AttemptID || as[0].PaymentIntentID == as[1].PaymentIntentID {
		t.Fatalf("attempts %+v: want two distinct attempts with distinct PaymentIntents", as)
	}
	acct, err := s.ledger.Account(ctx, u.AccountID)
	if err != nil || acct.BalanceCents != 2100 {
		t.Fatalf("balance %+v, %v; want $1 + $20 credited by the second execution", acct, err)
	}
	if d, err := s.ledger.Verify(ctx); err != nil || len(d) != 0 {
		t.Fatalf("ledger verify: %v %v", d, err)
	}
}
