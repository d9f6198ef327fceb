package credits_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

// newUsers makes an individual user, with an account of its own, per email.
func newUsers(t *testing.T, db *gorm.DB, emails ...string) []models.User {
	t.Helper()
	ids := identity.New(db, ledger.New(db))
	var out []models.User
	for _, e := range emails {
		u, _, err := ids.CreateUser(context.Background(), identity.NewUser{Email: e})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

func TestAutoTopUpReceipts_OnePerPaymentIntentListedWithTopUpsAndOnlyForTheirAccount(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		users := newUsers(t, db, "receipts@example.com", "other@example.com")
		ana, ben := users[0], users[1]
		s := credits.New(db)
		paid := time.Now().UTC().Truncate(time.Second)

		// Ten concurrent retries store one receipt.
		in := models.AutoTopUpReceipt{AccountID: ana.AccountID, AttemptID: "auto-top-up-1-ab-1", PaymentIntentID: "pi_auto_1",
			AmountCents: 2000, CardBrand: "visa", CardLast4: "4242", PaidAt: paid.Add(-time.Hour)}
		var wg sync.WaitGroup
		got := make([]models.AutoTopUpReceipt, 10)
		errs := make([]error, 10)
		for i := range 10 {
			wg.Go(func() { got[i], errs[i] = s.RecordAutoTopUpReceipt(ctx, in) })
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil || got[i].ID != credits.AutoTopUpReceiptID("pi_auto_1") || got[i].AmountCents != 2000 || got[i].EmailedAt != nil {
				t.Fatalf("record %d: %+v, %v", i, got[i], errs[i])
			}
		}
		var n int64
		db.Model(&models.AutoTopUpReceipt{}).Count(&n)
		if n != 1 || !strings.HasPrefix(got[0].ID, "atr_") || strings.Contains(got[0].ID, "pi_auto_1") {
			t.Fatalf("%d receipts stored, id %q; want one whose id does not show the PaymentIntent", n, got[0].ID)
		}
		// The same PaymentIntent for another account or amount is refused.
		for _, bad := range []models.AutoTopUpReceipt{
			{AccountID: ben.AccountID, PaymentIntentID: "pi_auto_1", AmountCents: 2000},
			{AccountID: ana.AccountID, PaymentIntentID: "pi_auto_1", AmountCents: 9999},
			{AccountID: ana.AccountID, AmountCents: 2000},
		} {
			if _, err := s.RecordAutoTopUpReceipt(ctx, bad); err == nil {
				t.Errorf("receipt %+v accepted", bad)
			}
		}
		if err := s.MarkAutoTopUpReceiptEmailed(ctx, got[0].ID); err != nil {
			t.Fatal(err)
		}
		if r, err := s.AutoTopUpReceipt(ctx, "pi_auto_1"); err != nil || r.EmailedAt == nil {
			t.Fatalf("after mailing: %+v, %v", r, err)
		}
		if again, err := s.RecordAutoTopUpReceipt(ctx, in); err != nil || again.EmailedAt == nil {
			t.Fatalf("a repeat after mailing = %+v, %v; want the stored, mailed receipt", again, err)
		}
		if err := s.MarkAutoTopUpReceiptEmailed(ctx, "atr_unknown"); !errors.Is(err, credits.ErrReceiptNotFound) {
			t.Fatalf("marking an unknown receipt: %v", err)
		}
		if _, err := s.AutoTopUpReceipt(ctx, "pi_nope"); !errors.Is(err, credits.ErrReceiptNotFound) {
			t.Fatalf("unknown PaymentIntent: %v", err)
		}

		// A paid top-up, newer, and an unpaid one.
		tu, _, err := s.Create(ctx, credits.NewTopUp{AccountID: ana.AccountID, UserID: ana.ID, AmountCents: 500})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RecordPayment(ctx, tu.ID, credits.Receipt{PaymentIntentID: "pi_top_1", CardBrand: "visa", CardLast4: "4242", LedgerEntryID: 1}); err != nil {
			t.Fatal(err)
		}
		open, _, err := s.Create(ctx, credits.NewTopUp{AccountID: ana.AccountID, UserID: ana.ID, AmountCents: 700})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := s.AccountReceipts(ctx, ana.AccountID, 10)
		if err != nil || len(rs) != 2 || rs[0].ID != tu.ID || rs[0].Kind != credits.ReceiptTopUp ||
			rs[1].ID != got[0].ID || rs[1].Kind != credits.ReceiptAutoTopUp || rs[1].Ref != in.AttemptID || !rs[1].PaidAt.Equal(in.PaidAt) {
			t.Fatalf("receipts %+v, %v; want the top-up then the older auto top-up", rs, err)
		}
		if rs, err := s.AccountReceipts(ctx, ana.AccountID, 1); err != nil || len(rs) != 1 || rs[0].ID != tu.ID {
			t.Fatalf("limit 1: %+v, %v", rs, err)
		}
		if rs, err := s.AccountReceipts(ctx, ben.AccountID, 10); err != nil || len(rs) != 0 {
			t.Fatalf("another account's receipts: %+v, %v", rs, err)
		}

		for _, id := range []string{tu.ID, got[0].ID} {
			if r, err := s.AccountReceipt(ctx, ana.AccountID, id); err != nil || r.ID != id {
				t.Fatalf("receipt %s: %+v, %v", id, r, err)
			}
			if _, err := s.AccountReceipt(ctx, ben.AccountID, id); !errors.Is(err, credits.ErrReceiptNotFound) {
				t.Fatalf("another account read receipt %s: %v", id, err)
			}
		}
		for _, id := range []string{open.ID, "tu_unknown", "atr_unknown", "", "42"} {
			if _, err := s.AccountReceipt(ctx, ana.AccountID, id); !errors.Is(err, credits.ErrReceiptNotFound) {
				t.Fatalf("receipt %q: %v, want not found", id, err)
			}
		}
	})
}
