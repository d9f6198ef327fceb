package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/user"
	"strconv"
	"strings"
	"testing"

	"github.com/mobayilo/mobayilo/internal/app"
	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/models"
)

// mobayilo runs the server binary's command tree in-process against the
// embedded database in dir.
func mobayilo(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&out)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestUsersDisableEnable_CutsTheUserOffWithAnAuditRecord(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("MOBAYILO_DATA_DIR", dir)
	t.Setenv("DATABASE_URL", "")
	if _, err := mobayilo(t, "users", "create", "--email", "ana@example.test"); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.FromOS()
	if err != nil {
		t.Fatal(err)
	}
	db, err := app.OpenDB(context.Background(), cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	var ana models.User
	db.Where("email = ?", "ana@example.test").Take(&ana)
	as := auth.New(db)
	cookie, _ := as.CreateSession(context.Background(), ana.ID, "", "")

	out, err := mobayilo(t, "users", "disable", "--email", "ANA@example.test", "--actor", "helpdesk-joe")
	if err != nil || !strings.Contains(out, "1 sessions ended, 0 tokens revoked") {
		t.Fatalf("users disable: %q %v", out, err)
	}
	if _, err := as.SessionPrincipal(context.Background(), cookie); err == nil {
		t.Fatal("the session survived users disable")
	}
	if _, err := as.CreateSession(context.Background(), ana.ID, "", ""); !errors.Is(err, auth.ErrDisabled) {
		t.Fatalf("sign-in after users disable: %v", err)
	}
	if out, err := mobayilo(t, "users", "enable", "--email", "ana@example.test", "--actor", "helpdesk-joe"); err != nil || !strings.Contains(out, "enabled user") {
		t.Fatalf("users enable: %q %v", out, err)
	}
	if _, err := as.CreateSession(context.Background(), ana.ID, "", ""); err != nil {
		t.Fatalf("sign-in after users enable: %v", err)
	}

	if out, err := mobayilo(t, "users", "disable", "--email", "ana@example.test", "--account", "--actor", "helpdesk-joe"); err != nil || !strings.Contains(out, "disabled individual account") {
		t.Fatalf("users disable --account: %q %v", out, err)
	}
	var acct models.Account
	db.Take(&acct, ana.AccountID)
	if acct.Status != models.StatusDisabled {
		t.Fatal("account not disabled")
	}
	if _, err := mobayilo(t, "users", "enable", "--email", "ana@example.test", "--account", "--actor", "helpdesk-joe"); err != nil {
		t.Fatal(err)
	}

	var logs []models.AuditLog
	db.Where("actor = ?", osOperator(t)+" (as helpdesk-joe)").Order("id").Find(&logs)
	var got []string
	for _, l := range logs {
		got = append(got, l.Action)
	}
	if strings.Join(got, ",") != "user.disable,user.enable,account.disable,account.enable" {
		t.Fatalf("audit = %v", got)
	}

	var ee *exitError
	if _, err := mobayilo(t, "users", "disable"); !errors.As(err, &ee) || ee.code != 2 {
		t.Fatalf("missing --email: %v, want a usage error (exit 2)", err)
	}
	if _, err := mobayilo(t, "users", "disable", "--email", "nobody@example.test"); !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(ee.msg, "user not found") {
		t.Fatalf("unknown email: %v", err)
	}
}

// osOperator is how the audit log names whoever runs these tests: the OS
// account and host, which --actor can add to but never replace.
func osOperator(t *testing.T) string {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return "operator:" + u.Username + "@" + host
}

func TestLedgerAdjust_RecordsTheOSUserAndHostWhateverActorIsGiven(t *testing.T) {
	t.Setenv("MOBAYILO_DATA_DIR", t.TempDir())
	t.Setenv("DATABASE_URL", "")
	if _, err := mobayilo(t, "users", "create", "--email", "ana@example.test"); err != nil {
		t.Fatal(err)
	}
	if out, err := mobayilo(t, "ledger", "adjust", "--email", "ana@example.test", "--amount-cents", "500", "--reason", "goodwill", "--actor", "admin:1"); err != nil {
		t.Fatalf("ledger adjust: %q %v", out, err)
	}
	if out, err := mobayilo(t, "ledger", "adjust", "--email", "ana@example.test", "--amount-cents", "-100", "--reason", "fee"); err != nil {
		t.Fatalf("ledger adjust: %q %v", out, err)
	}
	cfg, err := config.FromOS()
	if err != nil {
		t.Fatal(err)
	}
	db, err := app.OpenDB(context.Background(), cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	var entries []models.LedgerEntry
	db.Where("kind = ?", models.EntryAdjustment).Order("id").Find(&entries)
	if len(entries) != 2 || entries[0].Actor != osOperator(t)+" (as admin:1)" || entries[1].Actor != osOperator(t) {
		t.Fatalf("entries %+v; want the OS user and host on both, the claimed actor only added", entries)
	}
	var audits []models.AuditLog
	db.Where("action = ?", "ledger.adjust").Order("id").Find(&audits)
	if len(audits) != 2 || audits[0].Actor != entries[0].Actor {
		t.Fatalf("audits %+v", audits)
	}
}

func TestLedgerReleaseHold_FreesAStaleHoldOnceWithAnAuditRecord(t *testing.T) {
	t.Setenv("MOBAYILO_DATA_DIR", t.TempDir())
	t.Setenv("DATABASE_URL", "")
	if _, err := mobayilo(t, "users", "create", "--email", "held@example.test"); err != nil {
		t.Fatal(err)
	}
	if _, err := mobayilo(t, "ledger", "adjust", "--email", "held@example.test", "--amount-cents", "1000", "--reason", "seed"); err != nil {
		t.Fatal(err)
	}
	cfg, _ := config.FromOS()
	db, err := app.OpenDB(context.Background(), cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	var u models.User
	db.Where("email = ?", "held@example.test").Take(&u)
	led := ledger.New(db)
	h, err := led.PlaceHold(context.Background(), ledger.HoldRequest{AccountID: u.AccountID, AmountCents: 400, IdempotencyKey: "hold:call:lost", Reference: "call:lost"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mobayilo(t, "ledger", "release-hold", "--id", strconv.FormatInt(h.ID, 10)); err == nil {
		t.Fatal("release-hold without a reason was accepted")
	}
	for range 2 {
		if out, err := mobayilo(t, "ledger", "release-hold", "--id", strconv.FormatInt(h.ID, 10), "--reason", "call lost"); err != nil || !strings.Contains(out, "released") {
			t.Fatalf("release-hold: %q %v", out, err)
		}
	}
	acct, _ := led.Account(context.Background(), u.AccountID)
	if acct.BalanceCents != 1000 || acct.HeldCents != 0 {
		t.Fatalf("balance %d held %d, want 1000 and nothing held", acct.BalanceCents, acct.HeldCents)
	}
	var n int64
	db.Model(&models.AuditLog{}).Where("action = ? AND target = ?", "ledger.release_hold", "hold:"+strconv.FormatInt(h.ID, 10)).Count(&n)
	if n != 2 {
		t.Fatalf("%d audit records, want one per run", n)
	}
}
