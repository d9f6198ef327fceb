package autotopup_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/worker"
	"github.com/mobayilo/mobayilo/workflows"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func newOwner(t *testing.T, db *gorm.DB, email string, kind models.AccountKind) (models.User, *autotopup.Service, *ledger.Service) {
	t.Helper()
	led := ledger.New(db)
	u, _, err := identity.New(db, led).CreateUser(context.Background(), identity.NewUser{Email: email, AccountKind: kind})
	if err != nil {
		t.Fatal(err)
	}
	return u, autotopup.New(db, led), led
}

func TestSettings_SuggestDefaultsByAccountKindAndRefuseEnablingWithoutACard(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		ana, svc, _ := newOwner(t, db, "ana@example.com", models.AccountIndividual)
		acme, _, _ := newOwner(t, db, "boss@acme.example", models.AccountCompany)
		st, err := svc.Settings(ctx, ana.AccountID)
		if err != nil || st.Enabled || st.ThresholdCents != 200 || st.AmountCents != 2000 {
			t.Fatalf("individual defaults %+v (%v), want off, $2 threshold, $20 amount", st, err)
		}
		if st, _ := svc.Settings(ctx, acme.AccountID); st.AmountCents != 10000 {
			t.Fatalf("company default amount %d, want 10000", st.AmountCents)
		}
		on := autotopup.Update{Enabled: true, ThresholdCents: 300, AmountCents: 2500, DailyMaxCount: 2, DailyMaxCents: 5000}
		if _, err := svc.Save(ctx, ana.AccountID, on); !errors.Is(err, autotopup.ErrNoCard) {
			t.Fatalf("enabling without a card gave %v, want ErrNoCard", err)
		}
		bad := on
		bad.AmountCents = 100
		var ve *autotopup.ValidationError
		if _, err := svc.Save(ctx, ana.AccountID, bad); !errors.As(err, &ve) || ve.Field != "amount_cents" || !errors.Is(err, autotopup.ErrInvalid) {
			t.Fatalf("a $1 amount gave %v, want a validation error on amount_cents", err)
		}
		if _, err := svc.SaveCard(ctx, ana.AccountID, autotopup.Card{PaymentMethodID: "pm_card_visa", Brand: "visa", Last4: "4242"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Save(ctx, ana.AccountID, on); err != nil {
			t.Fatal(err)
		}
		st, _ = svc.Settings(ctx, ana.AccountID)
		if !st.Enabled || st.ThresholdCents != 300 || st.AmountCents != 2500 || st.CardLast4 != "4242" {
			t.Fatalf("saved settings %+v", st)
		}
		if st, err = svc.RemoveCard(ctx, ana.AccountID); err != nil || st.Enabled || st.HasCard() {
			t.Fatalf("after removing the card: %+v (%v), want off with no card", st, err)
		}
		if _, err := autotopup.SandboxCard("pm_card_mastercard_stolen"); !errors.Is(err, autotopup.ErrUnknownTestCard) {
			t.Fatalf("an unknown test card gave %v", err)
		}
	})
}

func TestCredit_PostsOneAutoTopUpEntryPerPaymentIntent(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		ana, svc, led := newOwner(t, db, "ana@example.com", models.AccountIndividual)
		for i := 0; i < 3; i++ {
			if bal, err := svc.Credit(ctx, ana.AccountID, 2000, "pi_123", "auto-top-up-1-1"); err != nil || bal != 2000 {
				t.Fatalf("credit %d: balance %d, %v; want 2000 every time", i, bal, err)
			}
		}
		var n int64
		db.Model(&models.LedgerEntry{}).Where("account_id = ? AND kind = ?", ana.AccountID, models.EntryAutoTopUp).Count(&n)
		if n != 1 {
			t.Fatalf("%d auto_topup entries, want 1", n)
		}
		if ds, err := led.Verify(ctx); err != nil || len(ds) != 0 {
			t.Fatalf("ledger verify: %v %v", ds, err)
		}
	})
}

// e2e is one owner with auto top-up on (threshold $2, $20 a time, the given
// daily count) and a sandbox test card, on real Temporal and real
// Postgres: a worker on its own task queue, and the workflow client.
type e2e struct {
	ctx     context.Context
	t       *testing.T
	db      *gorm.DB
	tc      client.Client
	svc     *autotopup.Service
	led     *ledger.Service
	owner   models.User
	mailbox *mail.Mailbox
	wf      *workflows.Client
}

func newE2E(t *testing.T, email, card string, dailyCount int) *e2e {
	t.Helper()
	e := &e2e{ctx: context.Background(), t: t, db: testenv.Postgres(t), tc: testenv.Temporal(t).Client(t), mailbox: mail.NewMailbox(nil)}
	if err := worker.EnsureSearchAttributes(e.ctx, e.tc, "default"); err != nil {
		t.Fatal(err)
	}
	e.owner, e.svc, e.led = newOwner(t, e.db, email, models.AccountIndividual)
	queue := fmt.Sprintf("autotopup-e2e-%d", time.Now().UnixNano())
	pay := providers.Sandbox(nil).Payments
	w := worker.New(e.tc, queue, &activities.Activities{Mailer: e.mailbox, AutoTopUps: e.svc, Charges: pay, Payments: pay, TopUps: credits.New(e.db)})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	c, _ := autotopup.SandboxCard(card)
	if _, err := e.svc.SaveCard(e.ctx, e.owner.AccountID, c); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Save(e.ctx, e.owner.AccountID, autotopup.Update{Enabled: true, ThresholdCents: 200, AmountCents: 2000, DailyMaxCount: dailyCount, DailyMaxCents: 6000}); err != nil {
		t.Fatal(err)
	}
	e.wf = workflows.NewClient(e.tc, workflows.ClientOptions{TaskQueue: queue, BaseURL: "http://localhost:8080", AutoTopUpCooldown: time.Second})
	return e
}

// post moves cents (an operator's adjustment) and returns the ledger result.
func (e *e2e) post(cents int64, key string) ledger.Result {
	res, err := e.led.Post(e.ctx, ledger.Posting{AccountID: e.owner.AccountID, Kind: models.EntryAdjustment, AmountCents: cents, IdempotencyKey: key, Actor: "admin:1"})
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

// TestAutoTopUp_FailedChargeIsFoundByTheDocumentedQueryAndRetriedByAnOperator
// runs the whole path on a real Temporal dev server and real Postgres: a
// debit below the threshold triggers the workflow, the sandbox hard-declines
// the card, ops find it with the RUNBOOK's visibility query, the owner saves
// a working card and an operator retries; the wallet is credited once.
func TestAutoTopUp_FailedChargeIsFoundByTheDocumentedQueryAndRetriedByAnOperator(t *testing.T) {
	e := newE2E(t, "ana@example.com", providers.SandboxCardDeclined, 3)
	ctx, db, tc, svc, led, ana, mailbox, post := e.ctx, e.db, e.tc, e.svc, e.led, e.owner, e.mailbox, e.post
	post(500, "seed")
	wf := e.wf
	if fired, err := svc.AfterDebit(ctx, wf, post(-200, "above")); err != nil || fired {
		t.Fatalf("a debit leaving 300 cents triggered=%v (%v), want no trigger above the threshold", fired, err)
	}
	if fired, err := svc.AfterDebit(ctx, wf, post(-250, "below")); err != nil || !fired {
		t.Fatalf("a debit leaving 50 cents triggered=%v (%v), want a trigger", fired, err)
	}
	wfID := workflows.AutoTopUpWorkflowID(ana.AccountID)
	t.Cleanup(func() { _ = tc.TerminateWorkflow(context.Background(), wfID, "", "test over") })

	// Ops: the RUNBOOK's query. Visibility is eventually consistent.
	query := fmt.Sprintf(`WorkflowType="AutoTopUp" AND MobayiloPaymentState="failed" AND MobayiloAccountID="%d"`, ana.AccountID)
	found := eventually(t, 20*time.Second, func() bool {
		resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			t.Fatalf("list %s: %v", query, err)
		}
		for _, e := range resp.GetExecutions() {
			if e.GetExecution().GetWorkflowId() == wfID {
				return true
			}
		}
		return false
	})
	if !found {
		t.Fatalf("no workflow matched %s", query)
	}
	st := queryState(t, tc, wfID)
	if st.State != workflows.AutoTopUpFailed || len(st.Attempts) != 1 || st.Attempts[0].DeclineCode != "generic_decline" || st.LastError == "" {
		t.Fatalf("state %+v, want failed on a generic_decline", st)
	}
	// The notice follows the state the query shows: wait for it.
	eventually(t, 20*time.Second, func() bool { return len(mailbox.Messages()) > 0 })
	if msgs := mailbox.Messages(); len(msgs) != 1 || msgs[0].To != "ana@example.com" {
		t.Fatalf("emails %+v, want one decline notice to the owner", msgs)
	}

	// The owner saves a working card; an operator retries.
	visa, _ := autotopup.SandboxCard(providers.SandboxCardVisa)
	if _, err := svc.SaveCard(ctx, ana.AccountID, visa); err != nil {
		t.Fatal(err)
	}
	if err := svc.Retry(ctx, wf, "admin:7", ana.AccountID); err != nil {
		t.Fatal(err)
	}
	if !eventually(t, 20*time.Second, func() bool { return queryState(t, tc, wfID).State == workflows.AutoTopUpSucceeded }) {
		t.Fatalf("state after retry: %+v", queryState(t, tc, wfID))
	}
	// A second retry signal after success charges nothing more.
	if err := svc.Retry(ctx, wf, "admin:7", ana.AccountID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	testenv.RecordHistory(t, testenv.WorkflowHistory(t, tc, wfID, ""), "auto-top-up-failed-then-retried")

	acct, _ := led.Account(ctx, ana.AccountID)
	var entries []models.LedgerEntry
	db.Where("account_id = ? AND kind = ?", ana.AccountID, models.EntryAutoTopUp).Find(&entries)
	if len(entries) != 1 || entries[0].AmountCents != 2000 || acct.BalanceCents != 2050 {
		t.Fatalf("auto_topup entries %+v, balance %d; want one credit of 2000 and a balance of 2050", entries, acct.BalanceCents)
	}
	var audits int64
	db.Model(&models.AuditLog{}).Where("action = ? AND target = ?", "autotopup.retry", fmt.Sprintf("account:%d", ana.AccountID)).Count(&audits)
	if audits != 2 {
		t.Fatalf("%d audited retries, want 2", audits)
	}
	as, _ := svc.Attempts(ctx, ana.AccountID, 10)
	if len(as) != 2 || as[0].Status != models.AttemptSucceeded || as[1].Status != models.AttemptHardDecline {
		t.Fatalf("attempts %+v, want a hard decline then a success", as)
	}
	if ds, err := led.Verify(ctx); err != nil || len(ds) != 0 {
		t.Fatalf("ledger verify: %v %v", ds, err)
	}
	if err := svc.Retry(ctx, wf, "admin:7", 999999); !errors.Is(err, workflows.ErrNotRunning) {
		t.Fatalf("retrying an account with no workflow gave %v, want ErrNotRunning", err)
	}
}

func queryState(t *testing.T, tc client.Client, id string) workflows.AutoTopUpState {
	t.Helper()
	v, err := tc.QueryWorkflow(context.Background(), id, "", workflows.QueryState)
	if err != nil {
		t.Fatalf("query %s: %v", id, err)
	}
	var st workflows.AutoTopUpState
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func eventually(t *testing.T, within time.Duration, ok func() bool) bool {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if ok() {
			return true
		}
	}
	return ok()
}

// TestAutoTopUp_ASecondExecutionOnTheSameDayRespectsTheDailyCap: the cap is
// counted in the database, so a new AutoTopUp execution (after a failure
// wait, a restart, an operator's terminate) does not count from zero.
func TestAutoTopUp_ASecondExecutionOnTheSameDayRespectsTheDailyCap(t *testing.T) {
	e := newE2E(t, "cap@example.com", providers.SandboxCardVisa, 1)
	ctx, db, tc, svc, ana, post := e.ctx, e.db, e.tc, e.svc, e.owner, e.post
	credits := func() int64 {
		var n int64
		db.Model(&models.LedgerEntry{}).Where("account_id = ? AND kind = ?", ana.AccountID, models.EntryAutoTopUp).Count(&n)
		return n
	}
	wf := e.wf
	wfID := workflows.AutoTopUpWorkflowID(ana.AccountID)
	post(500, "seed")
	if fired, err := svc.AfterDebit(ctx, wf, post(-400, "first")); err != nil || !fired {
		t.Fatalf("first debit: fired %v, %v", fired, err)
	}
	if !eventually(t, 30*time.Second, func() bool { return credits() == 1 }) {
		t.Fatalf("the first auto top-up was not credited: %+v", queryState(t, tc, wfID))
	}
	// The run ends (as after a failure wait or an operator's terminate);
	// the next debit starts a new execution the same day.
	if err := tc.TerminateWorkflow(ctx, wfID, "", "test: a new execution"); err != nil {
		t.Fatal(err)
	}
	if fired, err := svc.AfterDebit(ctx, wf, post(-2000, "second")); err != nil || !fired {
		t.Fatalf("second debit: fired %v, %v", fired, err)
	}
	t.Cleanup(func() { _ = tc.TerminateWorkflow(context.Background(), wfID, "", "test over") })
	if !eventually(t, 30*time.Second, func() bool {
		return strings.Contains(queryState(t, tc, wfID).NextAction, "daily cap reached")
	}) {
		t.Fatalf("the new execution did not stop at the cap: %+v", queryState(t, tc, wfID))
	}
	if n := credits(); n != 1 {
		t.Fatalf("%d auto top-ups today with a daily cap of 1", n)
	}
	testenv.RecordHistory(t, testenv.WorkflowHistory(t, tc, wfID, ""), "auto-top-up-capped-in-a-second-execution")
	if as, _ := svc.Attempts(ctx, ana.AccountID, 10); len(as) != 1 {
		t.Fatalf("attempts %+v, want the first charge only", as)
	}
}

func TestSpentSince_CountsPaidAndUnknownChargesOfTheDayOnly(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		ana, svc, _ := newOwner(t, db, "spent@example.com", models.AccountIndividual)
		bob, _, _ := newOwner(t, db, "bob@example.com", models.AccountIndividual)
		for i, st := range []models.AutoTopUpAttemptStatus{models.AttemptSucceeded, models.AttemptCharging, models.AttemptSoftDecline,
			models.AttemptHardDecline, models.AttemptNeedsAuthentication, models.AttemptError} {
			id := fmt.Sprintf("att-%d", i)
			if err := svc.StartAttempt(ctx, models.AutoTopUpAttempt{AttemptID: id, AccountID: ana.AccountID, AmountCents: int64(1000 * (i + 1)), Status: st}); err != nil {
				t.Fatal(err)
			}
		}
		if err := svc.StartAttempt(ctx, models.AutoTopUpAttempt{AttemptID: "bobs", AccountID: bob.AccountID, AmountCents: 500, Status: models.AttemptSucceeded}); err != nil {
			t.Fatal(err)
		}
		today := time.Now().UTC().Truncate(24 * time.Hour)
		if n, cents, err := svc.SpentSince(ctx, ana.AccountID, today); err != nil || n != 2 || cents != 3000 {
			t.Fatalf("spent today: %d charges, %d cents, %v; want the paid and the unknown one, 3000 cents", n, cents, err)
		}
		if n, cents, err := svc.SpentSince(ctx, ana.AccountID, time.Now().Add(time.Hour)); err != nil || n != 0 || cents != 0 {
			t.Fatalf("spent since the next hour: %d, %d, %v; want nothing", n, cents, err)
		}
	})
}
