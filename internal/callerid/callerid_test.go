package callerid_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/callerid"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func TestStates_AreTheWorkflowsStates(t *testing.T) {
	if callerid.StateAwaitingCode != workflows.CallerIDAwaitingCode || callerid.StateVerified != workflows.CallerIDVerified ||
		callerid.StateRemoved != workflows.CallerIDRemoved {
		t.Fatal("internal/callerid's state names differ from the CallerIDVerification workflow's")
	}
}

func newAccount(t *testing.T, db *gorm.DB, kind models.AccountKind, balance int64) (models.User, *callerid.Service) {
	t.Helper()
	ctx := context.Background()
	led := ledger.New(db)
	u, _, err := identity.New(db, led).CreateUser(ctx, identity.NewUser{Email: fmt.Sprintf("cid%d@example.com", time.Now().UnixNano()), AccountKind: kind})
	if err != nil {
		t.Fatal(err)
	}
	if balance > 0 {
		if _, err := led.Post(ctx, ledger.Posting{AccountID: u.AccountID, Kind: models.EntryBonus, AmountCents: balance, IdempotencyKey: fmt.Sprintf("seed-%d", u.ID), Actor: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	return u, callerid.New(db, led)
}

func TestGate_NeedsFiveDollars(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		u, svc := newAccount(t, db, models.AccountIndividual, 499)
		var be *callerid.BalanceError
		if err := svc.Gate(ctx, u.AccountID); !errors.As(err, &be) || be.AvailableCents != 499 || !errors.Is(err, callerid.ErrBalanceTooLow) {
			t.Fatalf("gate at $4.99 = %v, want a BalanceError", err)
		}
		rich, svc := newAccount(t, db, models.AccountIndividual, 500)
		if err := svc.Gate(ctx, rich.AccountID); err != nil {
			t.Fatalf("gate at $5.00 = %v", err)
		}
		co, svc := newAccount(t, db, models.AccountCompany, 10000)
		if err := svc.Gate(ctx, co.AccountID); !errors.Is(err, callerid.ErrCompanyAccount) {
			t.Fatalf("company gate = %v", err)
		}
	})
}

func TestRecord_UpsertsOneRowPerNumberAndVerifiedIsUsed(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		u, svc := newAccount(t, db, models.AccountIndividual, 1000)
		p := callerid.Progress{AccountID: u.AccountID, UserID: u.ID, E164: "+447700900123", Country: "GB", State: callerid.StateAwaitingCode, VerificationSID: "VE1"}
		for range 2 { // a retried activity
			if err := svc.Record(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := svc.Pending(ctx, u.AccountID); err != nil || got.E164 != p.E164 || got.VerificationSID != "VE1" {
			t.Fatalf("pending = %+v, %v", got, err)
		}
		if v, err := svc.Verified(ctx, u.AccountID); err != nil || v != "" {
			t.Fatalf("verified before verification = %q, %v", v, err)
		}
		at := time.Now().UTC().Truncate(time.Second)
		p.State, p.VerifiedAt, p.Attempts = callerid.StateVerified, &at, 1
		if err := svc.Record(ctx, p); err != nil {
			t.Fatal(err)
		}
		rows, err := svc.List(ctx, u.AccountID)
		if err != nil || len(rows) != 1 || rows[0].State != callerid.StateVerified || rows[0].Attempts != 1 {
			t.Fatalf("rows = %+v, %v; want one verified row", rows, err)
		}
		if v, err := svc.Verified(ctx, u.AccountID); err != nil || v != "+447700900123" {
			t.Fatalf("verified = %q, %v", v, err)
		}
		if _, err := svc.Pending(ctx, u.AccountID); !errors.Is(err, callerid.ErrNothingPending) {
			t.Fatalf("pending after verification = %v", err)
		}
		if _, err := svc.Get(ctx, u.AccountID, "+15550000000"); !errors.Is(err, callerid.ErrNotFound) {
			t.Fatalf("get unknown = %v", err)
		}
	})
}

func TestRemove_TakesTheVerifiedNumberOutOfUseAndAuditsIt(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		u, svc := newAccount(t, db, models.AccountIndividual, 1000)
		other, _ := newAccount(t, db, models.AccountIndividual, 1000)
		at := time.Now().UTC().Truncate(time.Second)
		for _, acct := range []int64{u.AccountID, other.AccountID} {
			if err := svc.Record(ctx, callerid.Progress{AccountID: acct, UserID: u.ID, E164: "+447700900123", Country: "GB",
				State: callerid.StateVerified, VerifiedAt: &at}); err != nil {
				t.Fatal(err)
			}
		}
		if err := svc.Remove(ctx, "user:1", u.AccountID, []string{"+15550000000"}); !errors.Is(err, callerid.ErrNothingToRemove) {
			t.Fatalf("removing a number the account does not have = %v, want ErrNothingToRemove", err)
		}
		if err := svc.Remove(ctx, fmt.Sprintf("user:%d", u.ID), u.AccountID, []string{"+447700900123"}); err != nil {
			t.Fatal(err)
		}
		if v, err := svc.Verified(ctx, u.AccountID); err != nil || v != "" {
			t.Fatalf("verified after removal = %q, %v; want none (DEFAULT_CALLER_ID again)", v, err)
		}
		if live, err := svc.Live(ctx, u.AccountID); err != nil || len(live) != 0 {
			t.Fatalf("live after removal = %+v, %v", live, err)
		}
		row, err := svc.Get(ctx, u.AccountID, "+447700900123")
		if err != nil || row.State != callerid.StateRemoved {
			t.Fatalf("row after removal = %+v, %v; want kept as removed", row, err)
		}
		byAccount, err := svc.VerifiedByAccount(ctx, []int64{u.AccountID, other.AccountID})
		if err != nil || byAccount[other.AccountID] != "+447700900123" || byAccount[u.AccountID] != "" {
			t.Fatalf("verified by account = %v, %v; the other account keeps its own", byAccount, err)
		}
		var audits []models.AuditLog
		if err := db.Where("action = ? AND target = ?", "caller_id.remove", fmt.Sprintf("account:%d", u.AccountID)).Find(&audits).Error; err != nil {
			t.Fatal(err)
		}
		if len(audits) != 1 || audits[0].Details != "+447700900123 (was verified)" || audits[0].Actor != fmt.Sprintf("user:%d", u.ID) {
			t.Fatalf("audit = %+v, want one removal by the user", audits)
		}
	})
}
