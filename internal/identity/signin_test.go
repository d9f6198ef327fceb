package identity_test

import (
	"context"
	"errors"
	"testing"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

const goodPassword = "correct horse battery"

func signinService(t *testing.T, db *gorm.DB) *identity.Service {
	t.Helper()
	return identity.New(db, ledger.New(db))
}

func countOf(t *testing.T, db *gorm.DB, m any, where string, args ...any) int64 {
	t.Helper()
	var n int64
	q := db.Model(m)
	if where != "" {
		q = q.Where(where, args...)
	}
	if err := q.Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestResolveSignIn_KnownUserNewSeatOrNewIndividual(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := signinService(t, db)
		owner, acme, err := svc.CreateCompany(ctx, identity.NewCompany{Name: "Acme", AdminEmail: "boss@acme.test"})
		if err != nil {
			t.Fatal(err)
		}

		res, err := svc.ResolveSignIn(ctx, " Boss@ACME.test ", false)
		if err != nil || res.Outcome != identity.SignInKnownUser || res.User.ID != owner.ID || !res.SendLink() {
			t.Fatalf("known user: %+v %v", res, err)
		}

		res, err = svc.ResolveSignIn(ctx, "Bob@Acme.Test", false)
		if err != nil || res.Outcome != identity.SignInNewSeat || !res.SendLink() {
			t.Fatalf("allowed domain: %+v %v", res, err)
		}
		if res.User.Role != models.RoleSeat || res.User.AccountID != acme.ID || res.User.Email != "bob@acme.test" || res.User.PasswordHash != "" {
			t.Fatalf("seat %+v, want a password-less seat of account %d", res.User, acme.ID)
		}
		if n := countOf(t, db, &models.AuditLog{}, "action = ?", "seat.provision"); n != 1 {
			t.Fatalf("%d seat.provision audit records, want 1", n)
		}
		again, err := svc.ResolveSignIn(ctx, "bob@acme.test", false)
		if err != nil || again.Outcome != identity.SignInKnownUser || again.User.ID != res.User.ID {
			t.Fatalf("second sign-in of the seat: %+v %v", again, err)
		}

		res, err = svc.ResolveSignIn(ctx, "carol@elsewhere.test", false)
		if err != nil || res.Outcome != identity.SignInNewIndividual || res.User.Role != models.RoleOwner {
			t.Fatalf("unknown domain: %+v %v", res, err)
		}
		var acct models.Account
		db.Take(&acct, res.User.AccountID)
		if acct.Kind != models.AccountIndividual || acct.ID == acme.ID {
			t.Fatalf("new individual's account %+v", acct)
		}

		if _, err := svc.ResolveSignIn(ctx, "not an email", false); !errors.Is(err, identity.ErrInvalid) {
			t.Fatalf("bad address: %v", err)
		}
	})
}

func TestResolveSignIn_DisabledUsersSeatsAndCompaniesGetNoLink(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := signinService(t, db)
		u, _, _ := svc.CreateUser(ctx, identity.NewUser{Email: "off@example.com"})
		db.Model(&models.User{}).Where("id = ?", u.ID).Update("status", models.StatusDisabled)
		_, _, _ = svc.CreateUser(ctx, identity.NewUser{Email: "frozen@example.com"})
		frozen, _ := svc.UserByEmail(ctx, "frozen@example.com")
		db.Model(&models.Account{}).Where("id = ?", frozen.AccountID).Update("status", models.StatusDisabled)
		_, acme, _ := svc.CreateCompany(ctx, identity.NewCompany{Name: "Acme", AdminEmail: "boss@acme.test"})
		db.Model(&models.Account{}).Where("id = ?", acme.ID).Update("status", models.StatusDisabled)
		users := countOf(t, db, &models.User{}, "")

		for _, email := range []string{"off@example.com", "frozen@example.com", "newbie@acme.test"} {
			res, err := svc.ResolveSignIn(ctx, email, false)
			if err != nil || res.Outcome != identity.SignInDisabled || res.SendLink() {
				t.Errorf("%s: %+v %v, want disabled without a link", email, res, err)
			}
		}
		if n := countOf(t, db, &models.User{}, ""); n != users {
			t.Fatalf("a disabled company got a new seat: %d users, want %d", n, users)
		}
	})
}

func TestResolveSignIn_BetaGateLetsInOnlyUsersInviteesAndCompanySeats(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := signinService(t, db)
		_, _, _ = svc.CreateUser(ctx, identity.NewUser{Email: "old@example.com"})
		_, _, _ = svc.CreateCompany(ctx, identity.NewCompany{Name: "Acme", AdminEmail: "boss@acme.test"})
		db.Create(&models.Subscriber{Email: "Invited@Example.com", Status: models.SubscriberInvited})

		res, err := svc.ResolveSignIn(ctx, "stranger@example.com", true)
		if err != nil || res.Outcome != identity.SignInWaitlisted || res.SendLink() || res.User.ID != 0 {
			t.Fatalf("stranger: %+v %v", res, err)
		}
		if n := countOf(t, db, &models.Subscriber{}, "email = ? AND status = ?", "stranger@example.com", models.SubscriberWaiting); n != 1 {
			t.Fatalf("stranger should wait on the list; %d rows", n)
		}
		if _, err := svc.UserByEmail(ctx, "stranger@example.com"); !errors.Is(err, identity.ErrUserNotFound) {
			t.Fatalf("the gate created a user: %v", err)
		}
		if res, _ := svc.ResolveSignIn(ctx, "STRANGER@example.com", true); res.Outcome != identity.SignInWaitlisted {
			t.Fatalf("asking again: %+v", res)
		}
		if n := countOf(t, db, &models.Subscriber{}, "lower(email) = ?", "stranger@example.com"); n != 1 {
			t.Fatalf("asking again listed the address %d times", n)
		}

		for email, want := range map[string]identity.SignInOutcome{
			"old@example.com":     identity.SignInKnownUser,
			"invited@example.com": identity.SignInNewIndividual,
			"bob@acme.test":       identity.SignInNewSeat,
		} {
			if res, err := svc.ResolveSignIn(ctx, email, true); err != nil || res.Outcome != want {
				t.Errorf("%s through the gate: %+v %v, want %s", email, res, err, want)
			}
		}
		// Gate off: anyone gets an account.
		if res, err := svc.ResolveSignIn(ctx, "stranger@example.com", false); err != nil || res.Outcome != identity.SignInNewIndividual {
			t.Fatalf("gate off: %+v %v", res, err)
		}
	})
}

func TestSubscribe_UniqueRegardlessOfCase(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := signinService(t, db)
		if added, err := svc.Subscribe(ctx, "Ana@Example.com"); err != nil || !added {
			t.Fatalf("first: %v %v", added, err)
		}
		if added, err := svc.Subscribe(ctx, "ana@EXAMPLE.com"); err != nil || added {
			t.Fatalf("repeat in another case: added=%v err=%v, want a quiet no-op", added, err)
		}
		if _, err := svc.Subscribe(ctx, "nope"); !errors.Is(err, identity.ErrInvalid) {
			t.Fatalf("bad address: %v", err)
		}
		if n := countOf(t, db, &models.Subscriber{}, ""); n != 1 {
			t.Fatalf("%d subscribers, want 1", n)
		}
	})
}

func TestSignUp_PasswordWorksOnlyOnceTheAddressIsConfirmed(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := signinService(t, db)
		res, err := svc.SignUp(ctx, identity.SignUpRequest{Email: "Ana@Example.com", Password: goodPassword})
		if err != nil || res.Outcome != identity.SignUpCreated || res.User.Role != models.RoleOwner {
			t.Fatalf("sign-up: %+v %v", res, err)
		}
		if _, err := svc.PasswordSignIn(ctx, "ana@example.com", goodPassword); !errors.Is(err, identity.ErrUnconfirmed) {
			t.Fatalf("before confirming: %v, want ErrUnconfirmed", err)
		}
		if _, err := svc.PasswordSignIn(ctx, "ana@example.com", "wrong password!!"); !errors.Is(err, identity.ErrBadCredentials) {
			t.Fatalf("a wrong password must not learn that the account is pending: %v", err)
		}
		// The same form sent twice is the same sign-up.
		if again, err := svc.SignUp(ctx, identity.SignUpRequest{Email: "ana@example.com", Password: goodPassword}); err != nil || again.Outcome != identity.SignUpCreated || again.User.ID != res.User.ID {
			t.Fatalf("double submit: %+v %v", again, err)
		}
		conf, err := svc.ConfirmEmail(ctx, res.User.ID)
		if err != nil || !conf.Confirmed {
			t.Fatalf("confirm: %+v %v", conf, err)
		}
		if u, err := svc.PasswordSignIn(ctx, "ANA@example.com", goodPassword); err != nil || u.ID != res.User.ID {
			t.Fatalf("after confirming: %v", err)
		}
		if conf, _ := svc.ConfirmEmail(ctx, res.User.ID); conf.Confirmed {
			t.Fatal("confirming twice should change nothing")
		}
		// A later sign-up for the address is answered like any known user.
		if again, err := svc.SignUp(ctx, identity.SignUpRequest{Email: "ana@example.com", Password: "another password"}); err != nil || again.Outcome != identity.SignUpExisting {
			t.Fatalf("sign-up for a confirmed address: %+v %v", again, err)
		}
		if _, err := svc.PasswordSignIn(ctx, "ana@example.com", goodPassword); err != nil {
			t.Fatalf("a confirmed password must survive someone else's sign-up attempt: %v", err)
		}
	})
}

// Someone signs up with another person's address and a password of their
// choosing. When the real owner asks for a sign-in link, that password goes.
func TestSignUp_ASquattersPasswordIsDroppedWhenTheOwnerAsksForALink(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := signinService(t, db)
		squat, err := svc.SignUp(ctx, identity.SignUpRequest{Email: "victim@example.com", Password: "squatter password"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := svc.ResolveSignIn(ctx, "victim@example.com", false)
		if err != nil || res.Outcome != identity.SignInKnownUser || res.User.ID != squat.User.ID || res.User.PasswordHash != "" {
			t.Fatalf("owner's sign-in: %+v %v", res, err)
		}
		if _, err := svc.ConfirmEmail(ctx, res.User.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.PasswordSignIn(ctx, "victim@example.com", "squatter password"); !errors.Is(err, identity.ErrBadCredentials) {
			t.Fatalf("squatter's password after the owner's sign-in: %v", err)
		}
		// A second sign-up with a different password does the same.
		squat2, _ := svc.SignUp(ctx, identity.SignUpRequest{Email: "other@example.com", Password: "first password!"})
		if res, err := svc.SignUp(ctx, identity.SignUpRequest{Email: "other@example.com", Password: "second password"}); err != nil || res.Outcome != identity.SignUpExisting {
			t.Fatalf("competing sign-up: %+v %v", res, err)
		}
		var u models.User
		db.Take(&u, squat2.User.ID)
		if u.PasswordHash != "" {
			t.Fatal("the first, unconfirmed password must go once someone else claims the address")
		}
	})
}

func TestSignUp_CompanyDomainIsAllowlistedOnConfirmation(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := signinService(t, db)
		res, err := svc.SignUp(ctx, identity.SignUpRequest{Email: "boss@acme.test", Password: goodPassword, Kind: models.AccountCompany, CompanyName: "Acme"})
		if err != nil || res.Outcome != identity.SignUpCreated {
			t.Fatalf("company sign-up: %+v %v", res, err)
		}
		var acct models.Account
		db.Take(&acct, res.User.AccountID)
		if acct.Kind != models.AccountCompany || acct.Name != "Acme" {
			t.Fatalf("account %+v", acct)
		}
		if n := countOf(t, db, &models.CompanyDomain{}, ""); n != 0 {
			t.Fatal("an unconfirmed sign-up must not claim its domain yet")
		}
		if r, _ := svc.ResolveSignIn(ctx, "bob@acme.test", false); r.Outcome != identity.SignInNewIndividual {
			t.Fatalf("before confirmation a colleague is not a seat: %+v", r)
		}
		conf, err := svc.ConfirmEmail(ctx, res.User.ID)
		if err != nil || conf.Domain != "acme.test" {
			t.Fatalf("confirm: %+v %v", conf, err)
		}
		if r, _ := svc.ResolveSignIn(ctx, "carol@acme.test", false); r.Outcome != identity.SignInNewSeat || r.User.AccountID != acct.ID {
			t.Fatalf("after confirmation a colleague becomes a seat: %+v", r)
		}
	})
}

func TestSignUp_RefusesWhatWouldHandOutOthersAddresses(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := signinService(t, db)
		_, _, _ = svc.CreateCompany(ctx, identity.NewCompany{Name: "Acme", AdminEmail: "boss@acme.test"})
		users := countOf(t, db, &models.User{}, "")
		cases := []struct {
			name string
			req  identity.SignUpRequest
			want error
		}{
			{"public mail provider as a company", identity.SignUpRequest{Email: "me@gmail.com", Password: goodPassword, Kind: models.AccountCompany, CompanyName: "Me"}, identity.ErrInvalid},
			{"another company's domain", identity.SignUpRequest{Email: "rival@acme.test", Password: goodPassword, Kind: models.AccountCompany, CompanyName: "Rival"}, identity.ErrDomainTaken},
			{"individual on a company's domain", identity.SignUpRequest{Email: "bob@acme.test", Password: goodPassword}, identity.ErrCompanyDomain},
			{"short password", identity.SignUpRequest{Email: "ana@example.com", Password: "short"}, identity.ErrInvalid},
			{"company without a name", identity.SignUpRequest{Email: "x@newco.test", Password: goodPassword, Kind: models.AccountCompany}, identity.ErrInvalid},
			{"unknown account type", identity.SignUpRequest{Email: "x@newco.test", Password: goodPassword, Kind: "team"}, identity.ErrInvalid},
		}
		for _, c := range cases {
			if _, err := svc.SignUp(ctx, c.req); !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
		}
		if n := countOf(t, db, &models.User{}, ""); n != users {
			t.Fatalf("refused sign-ups created %d users", n-users)
		}
	})
}

func TestPasswordSignIn_OneAnswerForEveryKindOfWrong(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := signinService(t, db)
		_, _, _ = svc.CreateUser(ctx, identity.NewUser{Email: "ana@example.com", Password: goodPassword})
		_, _, _ = svc.CreateUser(ctx, identity.NewUser{Email: "linkonly@example.com"})
		_, _, _ = svc.CreateCompany(ctx, identity.NewCompany{Name: "Acme", AdminEmail: "boss@acme.test"})
		if _, err := svc.ResolveSignIn(ctx, "bob@acme.test", false); err != nil {
			t.Fatal(err)
		}
		for _, c := range [][2]string{{"ana@example.com", "wrong password"}, {"nobody@example.com", goodPassword}, {"linkonly@example.com", ""}, {"bob@acme.test", goodPassword}} {
			if _, err := svc.PasswordSignIn(ctx, c[0], c[1]); !errors.Is(err, identity.ErrBadCredentials) {
				t.Errorf("%s: %v, want ErrBadCredentials", c[0], err)
			}
		}
		if _, err := svc.PasswordSignIn(ctx, "Ana@Example.com", goodPassword); err != nil {
			t.Fatalf("right password: %v", err)
		}
	})
}

func TestSetPassword_ForOwnersNeverSeats(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := signinService(t, db)
		u, _, _ := svc.CreateUser(ctx, identity.NewUser{Email: "ana@example.com"})
		if err := svc.SetPassword(ctx, u.ID, "short"); !errors.Is(err, identity.ErrInvalid) {
			t.Fatalf("short: %v", err)
		}
		if err := svc.SetPassword(ctx, u.ID, goodPassword); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.PasswordSignIn(ctx, "ana@example.com", goodPassword); err != nil {
			t.Fatalf("new password: %v", err)
		}
		_, _, _ = svc.CreateCompany(ctx, identity.NewCompany{Name: "Acme", AdminEmail: "boss@acme.test"})
		res, _ := svc.ResolveSignIn(ctx, "bob@acme.test", false)
		if err := svc.SetPassword(ctx, res.User.ID, goodPassword); !errors.Is(err, identity.ErrSeatPassword) {
			t.Fatalf("seat: %v", err)
		}
	})
}

func TestCreateCompany_AllowlistsTheAdminsDomainAtOnce(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := signinService(t, db)
		owner, acct, err := svc.CreateCompany(ctx, identity.NewCompany{Name: " Acme ", AdminEmail: "Boss@Acme.Test", Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		if acct.Kind != models.AccountCompany || acct.Name != "Acme" || owner.Role != models.RoleOwner || owner.AccountID != acct.ID {
			t.Fatalf("owner %+v account %+v", owner, acct)
		}
		ds, _ := svc.Domains(ctx, acct.ID)
		if len(ds) != 1 || ds[0].Domain != "acme.test" {
			t.Fatalf("domains %+v", ds)
		}
		if _, err := svc.PasswordSignIn(ctx, "boss@acme.test", goodPassword); err != nil {
			t.Fatalf("an operator-made admin needs no confirmation: %v", err)
		}
		if _, _, err := svc.CreateCompany(ctx, identity.NewCompany{Name: "Other", AdminEmail: "x@ACME.test"}); !errors.Is(err, identity.ErrDomainTaken) {
			t.Fatalf("second company on the domain: %v", err)
		}
		if _, _, err := svc.CreateCompany(ctx, identity.NewCompany{Name: "Mine", AdminEmail: "me@outlook.com"}); !errors.Is(err, identity.ErrInvalid) {
			t.Fatalf("public mail domain: %v", err)
		}
	})
}
