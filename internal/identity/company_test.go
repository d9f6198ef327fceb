package identity_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

// company makes a company account owned by ownerEmail.
func company(t *testing.T, svc *identity.Service, ownerEmail string) (models.User, models.Account) {
	t.Helper()
	u, a, err := svc.CreateUser(context.Background(), identity.NewUser{Email: ownerEmail, AccountKind: models.AccountCompany, AccountName: ownerEmail})
	if err != nil {
		t.Fatal(err)
	}
	return u, a
}

// seat adds a seat user to an account, as sign-in's auto-provisioning will.
func seat(t *testing.T, db *gorm.DB, accountID int64, email string) models.User {
	t.Helper()
	now := time.Now().UTC()
	u := models.User{AccountID: accountID, Email: email, Role: models.RoleSeat, Status: models.StatusActive, CreatedAt: now, UpdatedAt: now}
	if err := db.Create(&u).Error; err != nil {
		t.Fatal(err)
	}
	return u
}

func auditActions(t *testing.T, db *gorm.DB) []string {
	t.Helper()
	var rows []models.AuditLog
	if err := db.Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Actor+" "+r.Action+" "+r.Target)
	}
	return out
}

func TestNormalizeDomain_CanonicalisesOrSaysWhatIsWrong(t *testing.T) {
	good := map[string]string{
		"Example.COM":      "example.com",
		" example.com. ":   "example.com",
		"mail.example.org": "mail.example.org",
		"bücher.de":        "xn--bcher-kva.de",
		"XN--BCHER-KVA.de": "xn--bcher-kva.de",
		"ＥＸＡＭＰＬＥ.com":      "example.com",
	}
	for in, want := range good {
		got, err := identity.NormalizeDomain(in)
		if err != nil || got != want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":                               "enter a domain",
		"*.example.com":                  "wildcards are not allowed",
		"ana@example.com":                "just the domain",
		"https://example.com":            "without http://",
		"example":                        "not a full domain",
		"10.0.0.1":                       "IP address",
		"exa mple.com":                   "not a valid domain",
		"under_score.com":                "not a valid domain",
		"-leading.com":                   "not a valid domain",
		strings.Repeat("a", 64) + ".io":  "not a valid domain",
		strings.Repeat("a.", 130) + "io": "at most 253",
	}
	for in, says := range bad {
		_, err := identity.NormalizeDomain(in)
		if !errors.Is(err, identity.ErrInvalid) || !strings.Contains(err.Error(), says) {
			t.Errorf("NormalizeDomain(%q) = %v; want ErrInvalid saying %q", in, err, says)
		}
	}
	if got := identity.DisplayDomain("xn--bcher-kva.de"); got != "bücher.de" {
		t.Errorf("DisplayDomain = %q", got)
	}
}

func TestAddDomain_ClaimsOncePerCompanyAndAudits(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := identity.New(db, ledger.New(db))
		ana, acme := company(t, svc, "ana@acme.test")
		bo, _ := company(t, svc, "bo@globex.test")

		d, added, err := svc.AddDomain(ctx, ana, "ACME.test")
		if err != nil || !added || d.Domain != "acme.test" || d.AccountID != acme.ID {
			t.Fatalf("add = %+v %v %v", d, added, err)
		}
		if _, added, err := svc.AddDomain(ctx, ana, "acme.test."); err != nil || added {
			t.Fatalf("adding it again must be a no-op: added=%v err=%v", added, err)
		}
		_, _, err = svc.AddDomain(ctx, bo, "Acme.Test")
		if !errors.Is(err, identity.ErrDomainTaken) || !strings.Contains(err.Error(), "another company") {
			t.Fatalf("another company claiming it: %v", err)
		}
		if _, _, err := svc.AddDomain(ctx, ana, "gmail.com"); !errors.Is(err, identity.ErrInvalid) || !strings.Contains(err.Error(), "public email provider") {
			t.Fatalf("public provider: %v", err)
		}
		if _, _, err := svc.AddDomain(ctx, ana, "*.acme.test"); !errors.Is(err, identity.ErrInvalid) {
			t.Fatalf("wildcard: %v", err)
		}
		ds, _ := svc.Domains(ctx, acme.ID)
		if len(ds) != 1 {
			t.Fatalf("domains = %+v", ds)
		}
		if got := auditActions(t, db); len(got) != 1 || got[0] != fmt.Sprintf("user:%d domain.add domain:acme.test", ana.ID) {
			t.Fatalf("audit = %q", got)
		}
	})
}

func TestCompanyAdmin_OnlyOwnersOfCompaniesManageAndOnlyTheirOwn(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := identity.New(db, ledger.New(db))
		ana, acme := company(t, svc, "ana@acme.test")
		bo, globex := company(t, svc, "bo@globex.test")
		indie, _, err := svc.CreateUser(ctx, identity.NewUser{Email: "cy@example.test"})
		if err != nil {
			t.Fatal(err)
		}
		acmeSeat := seat(t, db, acme.ID, "dee@acme.test")
		globexSeat := seat(t, db, globex.ID, "eve@globex.test")
		gd, _, err := svc.AddDomain(ctx, bo, "globex.test")
		if err != nil {
			t.Fatal(err)
		}

		for name, u := range map[string]models.User{"individual": indie, "seat": acmeSeat} {
			if _, _, err := svc.AddDomain(ctx, u, "other.test"); !errors.Is(err, identity.ErrNotCompanyAdmin) {
				t.Errorf("%s adding a domain: %v", name, err)
			}
			if _, err := svc.Company(ctx, u); !errors.Is(err, identity.ErrNotCompanyAdmin) {
				t.Errorf("%s loading a company: %v", name, err)
			}
		}
		if _, err := svc.RemoveDomain(ctx, ana, gd.ID); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("removing another company's domain: %v", err)
		}
		if _, err := svc.SetSeatStatus(ctx, ana, globexSeat.ID, models.StatusDisabled); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("disabling another company's seat: %v", err)
		}
		var st models.User
		db.Take(&st, globexSeat.ID)
		if st.Status != models.StatusActive {
			t.Fatal("another company's seat was disabled")
		}
		if ds, _ := svc.Domains(ctx, globex.ID); len(ds) != 1 {
			t.Fatal("another company's domain was removed")
		}
		if _, err := svc.RemoveDomain(ctx, bo, gd.ID); err != nil {
			t.Fatal(err)
		}
		if got := auditActions(t, db); len(got) != 2 || !strings.HasSuffix(got[1], "domain.remove domain:globex.test") {
			t.Fatalf("audit = %q; refused actions must not be audited", got)
		}
	})
}

func TestSetSeatStatus_DisablingEndsSessionsAndRevokesTokens(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := identity.New(db, ledger.New(db))
		as := auth.New(db)
		ana, acme := company(t, svc, "ana@acme.test")
		dee := seat(t, db, acme.ID, "dee@acme.test")
		cookie, err := as.CreateSession(ctx, dee.ID, "192.0.2.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := as.CreateSession(ctx, dee.ID, "192.0.2.2", "test"); err != nil {
			t.Fatal(err)
		}
		tok, _, err := as.CreateToken(ctx, auth.NewTokenRequest{UserID: dee.ID, Name: "laptop", ExpiryDays: 30})
		if err != nil {
			t.Fatal(err)
		}

		if _, err := svc.SetSeatStatus(ctx, ana, ana.ID, models.StatusDisabled); !errors.Is(err, identity.ErrCannotDisableSelf) {
			t.Fatalf("disabling oneself: %v", err)
		}
		ch, err := svc.SetSeatStatus(ctx, ana, dee.ID, models.StatusDisabled)
		if err != nil {
			t.Fatal(err)
		}
		if ch.User.Status != models.StatusDisabled || ch.Previous != models.StatusActive || ch.SessionsEnded != 2 || ch.TokensRevoked != 1 {
			t.Fatalf("change = %+v", ch)
		}
		if _, err := as.SessionPrincipal(ctx, cookie); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("session after disable: %v", err)
		}
		// A disabled seat is told it is disabled (403), though its token
		// was revoked too; after re-enabling, the revocation shows.
		if _, err := as.TokenPrincipal(ctx, tok); !errors.Is(err, auth.ErrDisabled) {
			t.Fatalf("token after disable: %v", err)
		}
		if _, err := as.CreateSession(ctx, dee.ID, "192.0.2.1", "test"); !errors.Is(err, auth.ErrDisabled) {
			t.Fatalf("signing in while disabled: %v", err)
		}

		if _, err := svc.SetSeatStatus(ctx, ana, dee.ID, models.StatusActive); err != nil {
			t.Fatal(err)
		}
		cookie, err = as.CreateSession(ctx, dee.ID, "192.0.2.1", "test")
		if err != nil {
			t.Fatalf("signing in after re-enabling: %v", err)
		}
		if p, err := as.SessionPrincipal(ctx, cookie); err != nil || p.User.ID != dee.ID {
			t.Fatalf("session after re-enabling: %v", err)
		}
		if _, err := as.TokenPrincipal(ctx, tok); !errors.Is(err, auth.ErrTokenRevoked) {
			t.Fatalf("a token revoked at disable must stay revoked: %v", err)
		}
		want := []string{
			fmt.Sprintf("user:%d seat.disable user:%d", ana.ID, dee.ID),
			fmt.Sprintf("user:%d seat.enable user:%d", ana.ID, dee.ID),
		}
		if got := auditActions(t, db); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("audit = %q, want %q", got, want)
		}
		var a models.AuditLog
		db.Order("id").First(&a)
		if !strings.Contains(a.Details, "sessions_ended=2 tokens_revoked=1") {
			t.Fatalf("disable audit details = %q", a.Details)
		}
	})
}

func TestSeats_ShowEveryUserWithTheUsageAttributedToThem(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		led := ledger.New(db)
		svc := identity.New(db, led)
		ana, acme := company(t, svc, "ana@acme.test")
		dee := seat(t, db, acme.ID, "dee@acme.test")
		eve := seat(t, db, acme.ID, "eve@acme.test")
		_, other := company(t, svc, "bo@globex.test")
		post := func(acct int64, kind models.EntryKind, amount int64, key, actor string) {
			t.Helper()
			if _, err := led.Post(ctx, ledger.Posting{AccountID: acct, Kind: kind, AmountCents: amount, IdempotencyKey: key, Actor: actor}); err != nil {
				t.Fatal(err)
			}
		}
		post(acme.ID, models.EntryTopUp, 5000, "t1", identity.UserActor(ana.ID))
		post(acme.ID, models.EntryCallCharge, -120, "c1", identity.UserActor(dee.ID))
		post(acme.ID, models.EntryCallCharge, -30, "c2", identity.UserActor(dee.ID))
		post(acme.ID, models.EntryRefund, 30, "r1", identity.UserActor(dee.ID))
		post(other.ID, models.EntryTopUp, 900, "t2", identity.UserActor(dee.ID)) // not this company's money

		c, err := svc.Company(ctx, ana)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Seats) != 3 || c.Seats[0].User.ID != ana.ID || c.Seats[1].User.ID != dee.ID || c.Seats[2].User.ID != eve.ID {
			t.Fatalf("seats = %+v", c.Seats)
		}
		if s := c.Seats[1]; s.Entries != 3 || s.SpentCents != 120 {
			t.Fatalf("dee's usage = %d entries, %d cents; want 3 and 120", s.Entries, s.SpentCents)
		}
		if s := c.Seats[2]; s.Entries != 0 || s.SpentCents != 0 {
			t.Fatalf("eve's usage = %+v", s)
		}
		if c.Account.BalanceCents != 4880 {
			t.Fatalf("balance = %d", c.Account.BalanceCents)
		}
	})
}

// A seat Mobayilo's operators cut off (abuse, fraud) stays off until they
// say otherwise; the company's admin cannot switch it back on.
func TestSetSeatStatus_CompanyAdminCannotReEnableASeatOperatorsDisabled(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := identity.New(db, ledger.New(db))
		ana, acme := company(t, svc, "ana@acme.test")
		dee := seat(t, db, acme.ID, "dee@acme.test")
		op := identity.Actor{Name: "admin:99", UserID: 99}

		if _, err := svc.SetUserStatus(ctx, op, dee.ID, models.StatusDisabled); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SetSeatStatus(ctx, ana, dee.ID, models.StatusActive); !errors.Is(err, identity.ErrLockedByOperator) {
			t.Fatalf("company admin re-enabling an operator-disabled seat: %v", err)
		}
		var got models.User
		db.Take(&got, dee.ID)
		if got.Status != models.StatusDisabled || got.DisabledBy != "admin:99" {
			t.Fatalf("seat after the refused enable: %+v", got)
		}
		if _, err := svc.SetUserStatus(ctx, identity.Actor{Name: "operator:ana"}, dee.ID, models.StatusActive); err != nil {
			t.Fatalf("an operator re-enabling: %v", err)
		}
		// A seat the company itself disabled, it may re-enable.
		if _, err := svc.SetSeatStatus(ctx, ana, dee.ID, models.StatusDisabled); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SetSeatStatus(ctx, ana, dee.ID, models.StatusActive); err != nil {
			t.Fatalf("company admin re-enabling its own disable: %v", err)
		}
		db.Take(&got, dee.ID)
		if got.Status != models.StatusActive || got.DisabledBy != "" {
			t.Fatalf("seat after re-enabling: %+v", got)
		}
	})
}
