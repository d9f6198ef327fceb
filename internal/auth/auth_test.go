package auth_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func TestToken_FormatAndChecksum(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		tok := auth.NewToken()
		if len(tok) != auth.TokenLength || !strings.HasPrefix(tok, "moby_") {
			t.Fatalf("token %q has the wrong shape", tok)
		}
		if err := auth.CheckToken(tok); err != nil {
			t.Fatalf("fresh token %q refused: %v", tok, err)
		}
		if seen[tok] {
			t.Fatal("duplicate token")
		}
		seen[tok] = true
		// Every single-character typo is caught by the checksum or the alphabet.
		b := []byte(tok)
		i := len("moby_") + int(tok[6])%(len(tok)-len("moby_"))
		b[i] = map[bool]byte{true: 'A', false: 'B'}[b[i] != 'A']
		if auth.CheckToken(string(b)) == nil {
			t.Fatalf("typo in %q at %d accepted", tok, i)
		}
	}
	for _, bad := range []string{"", "moby_", "ghp_" + strings.Repeat("a", 50), strings.Replace(auth.NewToken(), "moby_", "mobi_", 1), auth.NewToken() + "x", auth.NewToken()[:40] + "!!!!!!!!!!!!!!"} {
		if !errors.Is(auth.CheckToken(bad), auth.ErrTokenMalformed) {
			t.Errorf("CheckToken(%q) accepted", bad)
		}
	}
	if h := auth.TokenHint("moby_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq123456"); h != "moby_ABCD…3456" {
		t.Errorf("hint = %q", h)
	}
}

func TestUserCode_AlphabetFormatAndNormalisation(t *testing.T) {
	for range 100 {
		c := auth.NewUserCode()
		if len(c) != 8 || strings.Trim(c, "BCDFGHJKLMNPQRSTVWXZ") != "" {
			t.Fatalf("user code %q", c)
		}
		f := auth.FormatUserCode(c)
		if n, ok := auth.NormalizeUserCode(strings.ToLower(f)); !ok || n != c {
			t.Fatalf("normalise(%q) = %q %v", f, n, ok)
		}
	}
	for _, bad := range []string{"", "BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GHJ1"} {
		if _, ok := auth.NormalizeUserCode(bad); ok {
			t.Errorf("NormalizeUserCode(%q) accepted", bad)
		}
	}
}

func newUser(t *testing.T, db *gorm.DB, email string) models.User {
	t.Helper()
	u, _, err := identity.New(db, ledger.New(db)).CreateUser(context.Background(), identity.NewUser{Email: email})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSessions_CreateResolveEndAndEndEverywhere(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := auth.New(db)
		u := newUser(t, db, "ana@example.com")
		s1, err := svc.CreateSession(ctx, u.ID, "1.2.3.4", "test")
		if err != nil {
			t.Fatal(err)
		}
		s2, _ := svc.CreateSession(ctx, u.ID, "1.2.3.4", "test")
		if p, err := svc.SessionPrincipal(ctx, s1); err != nil || p.User.ID != u.ID {
			t.Fatalf("session resolves to %v, %v", p.User.ID, err)
		}
		var stored models.Session
		db.First(&stored)
		if stored.ID == s1 || stored.ID == s2 {
			t.Fatal("the session secret itself is stored")
		}
		if err := svc.EndSession(ctx, s1); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SessionPrincipal(ctx, s1); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("ended session: %v", err)
		}
		s3, _ := svc.CreateSession(ctx, u.ID, "", "")
		if n, err := svc.EndAllSessions(ctx, u.ID); err != nil || n != 2 {
			t.Fatalf("end all = %d, %v; want 2", n, err)
		}
		for _, s := range []string{s2, s3} {
			if _, err := svc.SessionPrincipal(ctx, s); !errors.Is(err, auth.ErrUnauthenticated) {
				t.Fatalf("session after sign-out everywhere: %v", err)
			}
		}
		later := svc.WithClock(func() time.Time { return time.Now().Add(auth.SessionLifetime + time.Hour) })
		s4, _ := svc.CreateSession(ctx, u.ID, "", "")
		if _, err := later.SessionPrincipal(ctx, s4); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("expired session: %v", err)
		}
		db.Model(&models.User{}).Where("id = ?", u.ID).Update("status", models.StatusDisabled)
		if _, err := svc.SessionPrincipal(ctx, s4); !errors.Is(err, auth.ErrDisabled) {
			t.Fatalf("disabled user's session: %v", err)
		}
		if _, err := svc.CreateSession(ctx, u.ID, "", ""); !errors.Is(err, auth.ErrDisabled) {
			t.Fatalf("disabled user signed in: %v", err)
		}
	})
}

func TestLoginLinks_SingleUseBoundToEmailAndShortLived(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := auth.New(db)
		u := newUser(t, db, "ana@example.com")
		link, err := svc.IssueLoginToken(ctx, models.PurposeMagicLink, u)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.RedeemLoginToken(ctx, models.PurposeMagicLink, link, "bo@example.com"); !errors.Is(err, auth.ErrLinkWrongEmail) {
			t.Fatalf("wrong email: %v", err)
		}
		if _, err := svc.RedeemLoginToken(ctx, models.PurposePasswordReset, link, "ana@example.com"); !errors.Is(err, auth.ErrLinkInvalid) {
			t.Fatalf("magic link used as a reset link: %v", err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if got, err := svc.RedeemLoginToken(ctx, models.PurposeMagicLink, link, "ANA@example.com"); err == nil && got.ID == u.ID {
					mu.Lock()
					ok++
					mu.Unlock()
				} else if !errors.Is(err, auth.ErrLinkUsed) {
					t.Errorf("concurrent redeem: %v", err)
				}
			}()
		}
		wg.Wait()
		if ok != 1 {
			t.Fatalf("link redeemed %d times; want exactly once", ok)
		}
		old, _ := svc.IssueLoginToken(ctx, models.PurposeMagicLink, u)
		late := svc.WithClock(func() time.Time { return time.Now().Add(auth.LoginLinkLifetime + time.Second) })
		if _, err := late.RedeemLoginToken(ctx, models.PurposeMagicLink, old, "ana@example.com"); !errors.Is(err, auth.ErrLinkExpired) {
			t.Fatalf("expired link: %v", err)
		}
		if _, err := svc.RedeemLoginToken(ctx, models.PurposeMagicLink, "made-up", "ana@example.com"); !errors.Is(err, auth.ErrLinkInvalid) {
			t.Fatalf("unknown link: %v", err)
		}
		if email, ok := svc.LoginTokenEmail(ctx, old); !ok || email != "ana@example.com" {
			t.Fatalf("link email = %q %v", email, ok)
		}
	})
}

func TestTokens_AuthenticateRevokeExpireAndDisable(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := auth.New(db)
		u := newUser(t, db, "ana@example.com")
		other := newUser(t, db, "bo@example.com")
		if _, _, err := svc.CreateToken(ctx, auth.NewTokenRequest{UserID: u.ID, Name: "laptop", ExpiryDays: 14}); !errors.Is(err, auth.ErrInvalid) {
			t.Fatalf("14-day expiry is not in the policy: %v", err)
		}
		if _, _, err := svc.CreateToken(ctx, auth.NewTokenRequest{UserID: u.ID, Name: " ", ExpiryDays: 30}); !errors.Is(err, auth.ErrInvalid) {
			t.Fatalf("blank name: %v", err)
		}
		tok, pat, err := svc.CreateToken(ctx, auth.NewTokenRequest{UserID: u.ID, Name: "laptop", ExpiryDays: 30, Scopes: []string{"cli"}})
		if err != nil {
			t.Fatal(err)
		}
		if pat.TokenHash == tok || strings.Contains(pat.DisplayHint, tok[10:30]) || pat.ExpiresAt == nil {
			t.Fatalf("stored token row %+v leaks the token or lacks an expiry", pat)
		}
		p, err := svc.TokenPrincipal(ctx, tok)
		if err != nil || p.User.ID != u.ID || p.Token == nil || p.Token.LastUsedAt == nil {
			t.Fatalf("principal = %+v, %v", p, err)
		}
		unknown := auth.NewToken()
		if _, err := svc.TokenPrincipal(ctx, unknown); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("unknown token: %v", err)
		}
		late := svc.WithClock(func() time.Time { return time.Now().Add(31 * 24 * time.Hour) })
		if _, err := late.TokenPrincipal(ctx, tok); !errors.Is(err, auth.ErrTokenExpired) {
			t.Fatalf("expired token: %v", err)
		}
		forever, _, _ := svc.CreateToken(ctx, auth.NewTokenRequest{UserID: u.ID, Name: "ci", ExpiryDays: 0})
		if _, err := late.TokenPrincipal(ctx, forever); err != nil {
			t.Fatalf("a token without expiry expired: %v", err)
		}
		if err := svc.RevokeToken(ctx, other.ID, pat.ID); !errors.Is(err, auth.ErrInvalid) {
			t.Fatalf("another user revoked the token: %v", err)
		}
		for range 2 {
			if err := svc.RevokeToken(ctx, u.ID, pat.ID); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := svc.TokenPrincipal(ctx, tok); !errors.Is(err, auth.ErrTokenRevoked) {
			t.Fatalf("revoked token: %v", err)
		}
		db.Model(&models.Account{}).Where("id = ?", u.AccountID).Update("status", models.StatusDisabled)
		if _, err := svc.TokenPrincipal(ctx, forever); !errors.Is(err, auth.ErrDisabled) {
			t.Fatalf("token of a disabled account: %v", err)
		}
		list, _ := svc.Tokens(ctx, u.ID)
		if len(list) != 2 || list[0].Name != "ci" {
			t.Fatalf("tokens = %+v", list)
		}
	})
}

// Clients choose their User-Agent; whatever they send must not stop them
// signing in (Postgres refuses invalid UTF-8).
func TestCreateSession_StoresAnyUserAgentSafely(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		svc := auth.New(db)
		u := newUser(t, db, "ana@example.com")
		for _, ua := range []string{strings.Repeat("x", 299) + "é", "bad \xff byte", strings.Repeat("日本", 400)} {
			if _, err := svc.CreateSession(context.Background(), u.ID, "1.2.3.4", ua); err != nil {
				t.Fatalf("user agent %q: %v", ua[:10], err)
			}
		}
		if _, _, err := svc.CreateToken(context.Background(), auth.NewTokenRequest{UserID: u.ID, Name: "laptop\xff", ExpiryDays: 30}); !errors.Is(err, auth.ErrInvalid) {
			t.Fatalf("token name with invalid UTF-8: %v", err)
		}
	})
}

func TestIssueLoginToken_RefusesDisabledAccounts(t *testing.T) {
	db := testenv.SQLite(t)
	svc := auth.New(db)
	u := newUser(t, db, "ana@example.com")
	db.Model(&models.Account{}).Where("id = ?", u.AccountID).Update("status", models.StatusDisabled)
	if _, err := svc.IssueLoginToken(context.Background(), models.PurposePasswordReset, u); !errors.Is(err, auth.ErrDisabled) {
		t.Fatalf("link for a disabled account: %v", err)
	}
	var n int64
	db.Model(&models.LoginToken{}).Count(&n)
	if n != 0 {
		t.Fatal("a link row was written")
	}
}
