package identity_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func TestCreateUser_GivesTheUserTheirOwnEmptyWallet(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := identity.New(db, ledger.New(db))
		u, acct, err := svc.CreateUser(ctx, identity.NewUser{Email: " Ana@Example.com ", Password: "correct horse battery", Admin: true})
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "ana@example.com" || !u.IsAdmin || u.AccountID != acct.ID || acct.Kind != models.AccountIndividual || acct.BalanceCents != 0 {
			t.Fatalf("user %+v account %+v", u, acct)
		}
		if strings.Contains(u.PasswordHash, "horse") || !identity.CheckPassword(u, "correct horse battery") || identity.CheckPassword(u, "wrong password!") {
			t.Fatal("password must be stored hashed and check correctly")
		}
		got, err := svc.UserByEmail(ctx, "ANA@example.com")
		if err != nil || got.ID != u.ID {
			t.Fatalf("lookup by email regardless of case: %v %v", got.ID, err)
		}
		if _, err := svc.UserByEmail(ctx, "nobody@example.com"); !errors.Is(err, identity.ErrUserNotFound) {
			t.Fatalf("unknown email: %v", err)
		}
	})
}

func TestCreateUser_RefusesDuplicatesAndBadInputWritingNothing(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := identity.New(db, ledger.New(db))
		if _, _, err := svc.CreateUser(ctx, identity.NewUser{Email: "ana@example.com"}); err != nil {
			t.Fatal(err)
		}
		cases := map[string]struct {
			in   identity.NewUser
			want error
		}{
			"same email other case": {identity.NewUser{Email: "ANA@example.com"}, identity.ErrEmailTaken},
			"not an email":          {identity.NewUser{Email: "ana"}, identity.ErrInvalid},
			"display-name form":     {identity.NewUser{Email: "Ana <ana2@example.com>"}, identity.ErrInvalid},
			"short password":        {identity.NewUser{Email: "bo@example.com", Password: "short"}, identity.ErrInvalid},
			"bad kind":              {identity.NewUser{Email: "cy@example.com", AccountKind: "family"}, identity.ErrInvalid},
		}
		for name, c := range cases {
			if _, _, err := svc.CreateUser(ctx, c.in); !errors.Is(err, c.want) {
				t.Errorf("%s: err = %v, want %v", name, err, c.want)
			}
		}
		var users, accounts int64
		db.Model(&models.User{}).Count(&users)
		db.Model(&models.Account{}).Count(&accounts)
		if users != 1 || accounts != 1 {
			t.Fatalf("%d users and %d accounts after refused creations; want 1 and 1", users, accounts)
		}
	})
}

func TestNormalizeEmail_RefusesOverlongAddresses(t *testing.T) {
	long := strings.Repeat("a", 250) + "@example.com"
	if _, err := identity.NormalizeEmail(long); !errors.Is(err, identity.ErrInvalid) {
		t.Fatalf("a %d-byte address: %v", len(long), err)
	}
}
