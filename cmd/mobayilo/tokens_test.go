package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/models"
)

func runOperator(t *testing.T, cmd *cobra.Command, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestTokensRevoke_ByValueByIDAndByUserWithAnAuditRecord(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	t.Setenv("MOBAYILO_DATA_DIR", t.TempDir())
	ctx := context.Background()
	db, err := openForAdmin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u, _, err := identity.New(db, ledger.New(db)).CreateUser(ctx, identity.NewUser{Email: "leaky@example.com", AccountKind: models.AccountIndividual})
	if err != nil {
		t.Fatal(err)
	}
	svc := auth.New(db)
	newTok := func(name string) (string, models.PersonalAccessToken) {
		tok, pat, err := svc.CreateToken(ctx, auth.NewTokenRequest{UserID: u.ID, Name: name, ExpiryDays: 30, Source: "device"})
		if err != nil {
			t.Fatal(err)
		}
		return tok, pat
	}
	leaked, leakedPAT := newTok("ci job")
	second, secondPAT := newTok("laptop")
	third, _ := newTok("desktop")
	fourth, _ := newTok("tablet")

	out, err := runOperator(t, newTokensCmd(), "", "list", "--user", "leaky@example.com")
	if err != nil || !strings.Contains(out, leakedPAT.DisplayHint) || !strings.Contains(out, "laptop") || strings.Contains(out, leaked) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if out, err = runOperator(t, newTokensCmd(), leaked+"\n", "revoke", "--token-stdin", "--actor", "helpdesk"); err != nil || !strings.Contains(out, "revoked token") {
		t.Fatalf("revoke --token-stdin: %v\n%s", err, out)
	}
	if _, err := svc.TokenPrincipal(ctx, leaked); err != auth.ErrTokenRevoked {
		t.Fatalf("leaked token after revoke: %v", err)
	}
	if _, err := svc.TokenPrincipal(ctx, second); err != nil {
		t.Fatalf("revoking one token touched another: %v", err)
	}
	if _, err = runOperator(t, newTokensCmd(), "", "revoke", "--id", strconv.FormatInt(secondPAT.ID, 10)); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.TokenPrincipal(ctx, second); err != auth.ErrTokenRevoked {
		t.Fatalf("--id: %v", err)
	}
	if out, err = runOperator(t, newTokensCmd(), "", "revoke", "--user", "leaky@example.com"); err != nil || strings.Count(out, "revoked token") != 2 {
		t.Fatalf("--user: %v\n%s", err, out)
	}
	for _, tok := range []string{third, fourth} {
		if _, err := svc.TokenPrincipal(ctx, tok); err != auth.ErrTokenRevoked {
			t.Fatalf("--user left a token working: %v", err)
		}
	}
	var audits []models.AuditLog
	db.Where("action = ?", "tokens.revoke").Order("id").Find(&audits)
	if len(audits) != 4 || audits[0].Actor != osOperator(t)+" (as helpdesk)" || audits[0].Target != "token:"+strconv.FormatInt(leakedPAT.ID, 10) {
		t.Fatalf("audit records %+v", audits)
	}
	for _, a := range audits {
		if strings.Contains(a.Details, leaked) || strings.Contains(a.Details, auth.Hash(leaked)) {
			t.Fatal("the audit log holds the token")
		}
	}

	for _, args := range [][]string{{"revoke"}, {"revoke", "--id", "1", "--user", "x@example.com"}} {
		if _, err := runOperator(t, newTokensCmd(), "", args...); err == nil || err.(*exitError).code != 2 {
			t.Errorf("%v: %v; want a usage error", args, err)
		}
	}
	if _, err := runOperator(t, newTokensCmd(), "not a token\n", "revoke", "--token-stdin"); err == nil || err.(*exitError).code != 1 {
		t.Errorf("garbage on stdin: %v", err)
	}
	if _, err := runOperator(t, newTokensCmd(), auth.NewToken()+"\n", "revoke", "--token-stdin"); err == nil || !strings.Contains(err.Error(), "no such token") {
		t.Errorf("unknown token: %v", err)
	}
}
