package autotopup_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

func TestCardSetups_FoundBySessionAndFinishedOnce(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		ana, svc, _ := newOwner(t, db, "ana@example.com", models.AccountIndividual)
		cs, err := svc.CreateSetup(ctx, ana.AccountID, ana.ID)
		if err != nil || cs.Status != models.CardSetupPending || cs.ID == "" {
			t.Fatalf("created %+v, %v", cs, err)
		}
		if _, err := svc.SetupBySession(ctx, ""); !errors.Is(err, autotopup.ErrSetupNotFound) {
			t.Fatalf("an empty session found %v, want ErrSetupNotFound", err)
		}
		exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		if err := svc.RecordSetupCheckout(ctx, cs.ID, "cs_1", "https://checkout.test/cs_1", exp); err != nil {
			t.Fatal(err)
		}
		got, err := svc.SetupBySession(ctx, "cs_1")
		if err != nil || got.ID != cs.ID || got.CheckoutURL != "https://checkout.test/cs_1" || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) {
			t.Fatalf("by session %+v, %v", got, err)
		}
		// A checkout session belongs to one setup.
		other, _ := svc.CreateSetup(ctx, ana.AccountID, ana.ID)
		if err := svc.RecordSetupCheckout(ctx, other.ID, "cs_1", "u", exp); err == nil {
			t.Fatal("a second setup took the same checkout session")
		}
		for range 2 {
			if err := svc.FinishSetup(ctx, cs.ID, models.CardSetupSaved, "seti_1", "visa", "4242"); err != nil {
				t.Fatal(err)
			}
		}
		// Final is final: a late expiry does not undo a saved card.
		if err := svc.FinishSetup(ctx, cs.ID, models.CardSetupExpired, "", "", ""); err != nil {
			t.Fatal(err)
		}
		if got, _ := svc.Setup(ctx, cs.ID); got.Status != models.CardSetupSaved || got.CardLast4 != "4242" || got.SetupIntentID != "seti_1" {
			t.Fatalf("after finishing %+v", got)
		}
		if err := svc.FinishSetup(ctx, "cset_nope", models.CardSetupExpired, "", "", ""); !errors.Is(err, autotopup.ErrSetupNotFound) {
			t.Fatalf("finishing an unknown setup: %v, want ErrSetupNotFound", err)
		}
		if err := svc.RecordSetupCheckout(ctx, "cset_nope", "cs_2", "u", exp); !errors.Is(err, autotopup.ErrSetupNotFound) {
			t.Fatalf("recording on an unknown setup: %v, want ErrSetupNotFound", err)
		}
	})
}
