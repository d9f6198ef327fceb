package models_test

import (
	"os"
	"testing"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func TestLedgerEntries_DatabaseRefusesUpdateAndDelete(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		acct := models.Account{Kind: models.AccountIndividual, Name: "a", Status: models.StatusActive}
		if err := db.Create(&acct).Error; err != nil {
			t.Fatal(err)
		}
		e := models.LedgerEntry{AccountID: acct.ID, Kind: models.EntryBonus, AmountCents: 100, BalanceAfter: 100, IdempotencyKey: "k1", Actor: "test"}
		if err := db.Create(&e).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Exec("UPDATE ledger_entries SET amount_cents = 1000000 WHERE id = ?", e.ID).Error; err == nil {
			t.Fatal("UPDATE of a ledger entry succeeded; want the database to refuse it")
		}
		if err := db.Exec("DELETE FROM ledger_entries WHERE id = ?", e.ID).Error; err == nil {
			t.Fatal("DELETE of a ledger entry succeeded; want the database to refuse it")
		}
		var got models.LedgerEntry
		if err := db.First(&got, e.ID).Error; err != nil {
			t.Fatal(err)
		}
		if got.AmountCents != 100 {
			t.Fatalf("entry changed to %d cents", got.AmountCents)
		}
		if models.DialectOf(db) == models.Postgres {
			if err := db.Exec("TRUNCATE ledger_entries CASCADE").Error; err == nil {
				t.Fatal("TRUNCATE of ledger_entries succeeded")
			}
		}
	})
}

func TestMigrate_IsIdempotent(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		if err := models.Migrate(t.Context(), db); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
	})
}

func TestUsers_EmailUniqueRegardlessOfCase(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		acct := models.Account{Kind: models.AccountIndividual, Name: "a", Status: models.StatusActive}
		db.Create(&acct)
		if err := db.Create(&models.User{AccountID: acct.ID, Email: "Ana@Example.com", Status: models.StatusActive}).Error; err != nil {
			t.Fatal(err)
		}
		err := db.Create(&models.User{AccountID: acct.ID, Email: "ana@example.COM", Status: models.StatusActive}).Error
		if !models.IsUniqueViolation(err) {
			t.Fatalf("want unique violation, got %v", err)
		}
	})
}
