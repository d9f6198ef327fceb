package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

func TestAdminAdjust_PostsOneAuditedAdjustmentWithTheOperatorAsActor(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newAdmEnv(t, db)
		op := e.newUser(t, "op@mobayilo.test", models.AccountIndividual, true)
		ana := e.newUser(t, "ana@example.test", models.AccountIndividual, false)
		opWeb, anaWeb := e.signIn(t, op), e.signIn(t, ana)
		path := fmt.Sprintf("/admin/accounts/%d/adjust", ana.AccountID)
		balance := func() int64 {
			a, err := e.led.Account(context.Background(), ana.AccountID)
			if err != nil {
				t.Fatal(err)
			}
			return a.BalanceCents
		}

		credit := url.Values{"amount": {"5.00"}, "reason": {"goodwill credit, ticket 881"}}
		wantRedirect(t, e.send(t, opWeb, "POST", path, credit, nil), "/admin?done=adjusted")
		if balance() != 500 {
			t.Fatalf("balance after a $5 credit = %d", balance())
		}
		wantRedirect(t, e.send(t, opWeb, "POST", path, credit, nil), "/admin?done=adjust-replayed")
		if balance() != 500 {
			t.Fatal("a double submit posted twice")
		}
		var entry models.LedgerEntry
		if err := db.Where("account_id = ? AND kind = ?", ana.AccountID, models.EntryAdjustment).Take(&entry).Error; err != nil {
			t.Fatal(err)
		}
		if entry.Actor != fmt.Sprintf("admin:%d", op.ID) || entry.AmountCents != 500 || entry.Description != "goodwill credit, ticket 881" {
			t.Fatalf("entry = %+v", entry)
		}
		if a := e.audits(t); len(a) != 1 || !strings.Contains(a[0], "ledger.adjust") {
			t.Fatalf("audit = %v", a)
		}

		wantRedirect(t, e.send(t, opWeb, "POST", path, url.Values{"amount": {"-2.50"}, "reason": {"chargeback fee"}}, nil), "/admin?done=adjusted")
		if balance() != 250 {
			t.Fatalf("balance after a $2.50 debit = %d", balance())
		}
		for name, form := range map[string]url.Values{
			"no reason":  {"amount": {"1"}, "reason": {" "}},
			"bad amount": {"amount": {"five"}, "reason": {"x"}},
			"zero":       {"amount": {"0"}, "reason": {"x"}},
			"overdraw":   {"amount": {"-100"}, "reason": {"too much"}},
		} {
			if r := e.send(t, opWeb, "POST", path, form, nil); r.status < 400 || r.status >= 500 {
				t.Errorf("%s: status %d, want a 4xx page", name, r.status)
			}
		}
		if balance() != 250 {
			t.Fatalf("refused adjustments changed the balance to %d", balance())
		}
		if r := e.send(t, anaWeb, "POST", path, credit, nil); r.status != http.StatusNotFound || balance() != 250 {
			t.Fatalf("a non-operator adjusting = %d, balance %d", r.status, balance())
		}
	})
}

// An operator cannot credit their own wallet: the form is not offered on
// their own account, and a hand-made request is refused (403) with nothing
// written.
func TestAdminAdjust_AnOperatorCannotAdjustTheirOwnWallet(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newAdmEnv(t, db)
		op := e.newUser(t, "self@mobayilo.test", models.AccountIndividual, true)
		other := e.newUser(t, "other@example.test", models.AccountIndividual, false)
		opWeb := e.signIn(t, op)
		page := e.send(t, opWeb, "GET", "/admin?q=mobayilo.test", nil, nil)
		if page.status != http.StatusOK || strings.Contains(page.body, fmt.Sprintf("/admin/accounts/%d/adjust", op.AccountID)) || !strings.Contains(page.body, "data-adjust-own") {
			t.Fatalf("the operator's own row offers an adjustment (status %d)", page.status)
		}
		if page := e.send(t, opWeb, "GET", "/admin?q=example.test", nil, nil); !strings.Contains(page.body, fmt.Sprintf("/admin/accounts/%d/adjust", other.AccountID)) {
			t.Fatal("another account's row lost its adjustment form")
		}
		r := e.send(t, opWeb, "POST", fmt.Sprintf("/admin/accounts/%d/adjust", op.AccountID), url.Values{"amount": {"50"}, "reason": {"treat myself"}}, nil)
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "own wallet") {
			t.Fatalf("self-adjustment answered %d, want 403 naming the rule", r.status)
		}
		if a, err := e.led.Account(context.Background(), op.AccountID); err != nil || a.BalanceCents != 0 {
			t.Fatalf("balance %d, %v; want nothing credited", a.BalanceCents, err)
		}
		if a := e.audits(t); len(a) != 0 {
			t.Fatalf("audit %v, want nothing written", a)
		}
	})
}
