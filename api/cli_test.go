package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/internal/wire"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
)

// authServer is the test server with the credential services wired, as
// `mobayilo api` wires them.
type authServer struct {
	*server
	auth *auth.Service
	ids  *identity.Service
	led  *ledger.Service
	log  *bytes.Buffer
}

func newAuthServer(t *testing.T, db *gorm.DB) *authServer {
	t.Helper()
	s := newServer(t, db, nil)
	pages, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	led := ledger.New(db)
	a := &authServer{server: s, auth: auth.New(db), ids: identity.New(db, led), led: led, log: &bytes.Buffer{}}
	s.Config.Handler = api.New(deps(s.cfg, db, api.Deps{Pages: pages,
		Log: slog.New(slog.NewTextHandler(a.log, nil)), Auth: a.auth, Identity: a.ids, Ledger: led}))
	return a
}

func (s *authServer) user(t *testing.T, email string, kind models.AccountKind, admin bool) models.User {
	t.Helper()
	u, _, err := s.ids.CreateUser(context.Background(), identity.NewUser{Email: email, AccountKind: kind, Admin: admin})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (s *authServer) token(t *testing.T, u models.User, days int, source string) (string, models.PersonalAccessToken) {
	t.Helper()
	tok, pat, err := s.auth.CreateToken(context.Background(), auth.NewTokenRequest{UserID: u.ID, Name: "test " + source, Scopes: []string{"cli"}, ExpiryDays: days, Source: source})
	if err != nil {
		t.Fatal(err)
	}
	return tok, pat
}

// browser is a signed-in web client that does not follow redirects, so
// tests see them.
func (s *authServer) browser(t *testing.T, u models.User) *http.Client {
	t.Helper()
	secret, err := s.auth.CreateSession(context.Background(), u.ID, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	jar := &fixedCookieJar{cookie: &http.Cookie{Name: api.SessionCookie, Value: secret}}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type fixedCookieJar struct{ cookie *http.Cookie }

func (j *fixedCookieJar) SetCookies(*url.URL, []*http.Cookie) {}
func (j *fixedCookieJar) Cookies(*url.URL) []*http.Cookie     { return []*http.Cookie{j.cookie} }

type cliReply struct {
	status int
	header http.Header
	body   string
}

func (r cliReply) errorCode() string {
	var eb wire.ErrorBody
	_ = json.Unmarshal([]byte(r.body), &eb)
	return eb.Error.Code
}

func cliDo(t *testing.T, c *http.Client, method, u string, form url.Values, header map[string]string) cliReply {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return cliReply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (s *authServer) cli(t *testing.T, method, path, token string) cliReply {
	t.Helper()
	h := map[string]string{}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return cliDo(t, http.DefaultClient, method, s.URL+path, nil, h)
}

// badChecksum changes a token's last character, keeping prefix, length and
// alphabet.
func badChecksum(tok string) string {
	last := tok[len(tok)-1]
	repl := byte('A')
	if last == 'A' {
		repl = 'B'
	}
	return tok[:len(tok)-1] + string(repl)
}

func TestCLIAPI_EveryAuthPathHasItsOwnAnswer(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newAuthServer(t, db)
		ctx := context.Background()
		u := s.user(t, "ada@example.com", models.AccountIndividual, false)
		good, _ := s.token(t, u, 30, "web")
		revoked, revokedPAT := s.token(t, u, 30, "web")
		if err := s.auth.RevokeToken(ctx, u.ID, revokedPAT.ID); err != nil {
			t.Fatal(err)
		}
		past := s.auth.WithClock(func() time.Time { return time.Now().Add(-8 * 24 * time.Hour) })
		expired, _, err := past.CreateToken(ctx, auth.NewTokenRequest{UserID: u.ID, Name: "old", ExpiryDays: 7})
		if err != nil {
			t.Fatal(err)
		}
		disabledUser := s.user(t, "bob@example.com", models.AccountIndividual, false)
		disabledUserTok, _ := s.token(t, disabledUser, 30, "web")
		db.Model(&models.User{}).Where("id = ?", disabledUser.ID).Update("status", models.StatusDisabled)
		disabledAcct := s.user(t, "cy@example.com", models.AccountIndividual, false)
		disabledAcctTok, _ := s.token(t, disabledAcct, 30, "device")
		db.Model(&models.Account{}).Where("id = ?", disabledAcct.AccountID).Update("status", models.StatusDisabled)

		cases := []struct {
			name, header string
			status       int
			code         string
		}{
			{"missing", "", 401, "token_missing"},
			{"not bearer", "Basic " + good, 401, "token_missing"},
			{"empty bearer", "Bearer ", 401, "token_missing"},
			{"malformed", "Bearer hunter2", 401, "token_malformed"},
			{"wrong prefix", "Bearer ghp_" + good[len("moby_"):], 401, "token_malformed"},
			{"bad checksum", "Bearer " + badChecksum(good), 401, "token_bad_checksum"},
			{"unknown", "Bearer " + auth.NewToken(), 401, "unauthenticated"},
			{"revoked", "Bearer " + revoked, 401, "token_revoked"},
			{"expired", "Bearer " + expired, 401, "token_expired"},
			{"disabled user", "Bearer " + disabledUserTok, 403, "account_disabled"},
			{"disabled account", "Bearer " + disabledAcctTok, 403, "account_disabled"},
			{"good", "Bearer " + good, 200, ""},
			{"lower-case scheme", "bearer " + good, 200, ""},
		}
		for _, c := range cases {
			h := map[string]string{}
			if c.header != "" {
				h["Authorization"] = c.header
			}
			r := cliDo(t, http.DefaultClient, "GET", s.URL+"/api/cli/me", nil, h)
			if r.status != c.status || r.errorCode() != c.code {
				t.Errorf("%s: %d %s; want %d %q", c.name, r.status, r.body, c.status, c.code)
			}
			if c.status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: 401 without a WWW-Authenticate challenge", c.name)
			}
			if c.status != 200 && !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
				t.Errorf("%s: error is %s, not JSON", c.name, r.header.Get("Content-Type"))
			}
		}
	})
}

func TestCLIAPI_BadChecksumIsRefusedWithoutTheDatabase(t *testing.T) {
	db := testenv.SQLite(t)
	s := newAuthServer(t, db)
	u := s.user(t, "ada@example.com", models.AccountIndividual, false)
	good, _ := s.token(t, u, 30, "web")
	sqlDB, _ := db.DB()
	sqlDB.Close()

	for header, code := range map[string]string{
		"Bearer " + badChecksum(good): "token_bad_checksum",
		"Bearer moby_short":           "token_malformed",
		"":                            "token_missing",
	} {
		h := map[string]string{}
		if header != "" {
			h["Authorization"] = header
		}
		if r := cliDo(t, http.DefaultClient, "GET", s.URL+"/api/cli/me", nil, h); r.status != 401 || r.errorCode() != code {
			t.Errorf("with the database closed, %q got %d %s; want 401 %s", header, r.status, r.body, code)
		}
	}
	// A well-formed token does need the database: with it closed the same
	// route fails, so the answers above really came without a lookup.
	if r := s.cli(t, "GET", "/api/cli/me", good); r.status != 500 {
		t.Fatalf("a well-formed token with the database closed got %d %s; the check above proves nothing", r.status, r.body)
	}
}

func TestCLIAPI_MeShowsUserAccountBalanceAndTokenExpiry(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newAuthServer(t, db)
		u := s.user(t, "boss@acme.example", models.AccountCompany, false)
		if _, err := s.led.Post(context.Background(), ledger.Posting{AccountID: u.AccountID, Kind: models.EntryBonus, AmountCents: 1234,
			IdempotencyKey: "test-bonus", Actor: "system:test"}); err != nil {
			t.Fatal(err)
		}
		tok, pat := s.token(t, u, 7, "device")
		r := s.cli(t, "GET", "/api/cli/me", tok)
		if r.status != 200 {
			t.Fatalf("me = %d %s", r.status, r.body)
		}
		var me struct {
			User    map[string]any `json:"user"`
			Account map[string]any `json:"account"`
			Token   map[string]any `json:"token"`
		}
		if err := json.Unmarshal([]byte(r.body), &me); err != nil {
			t.Fatal(err)
		}
		if me.User["id"] != float64(u.ID) || me.User["email"] != "boss@acme.example" || me.User["role"] != "owner" || me.User["is_admin"] != false {
			t.Errorf("user = %v", me.User)
		}
		if me.Account["id"] != float64(u.AccountID) || me.Account["kind"] != "company" || me.Account["status"] != "active" ||
			me.Account["balance_cents"] != float64(1234) || me.Account["balance"] != "$12.34" || me.Account["name"] == "" {
			t.Errorf("account = %v", me.Account)
		}
		exp, _ := time.Parse(time.RFC3339, fmt.Sprint(me.Token["expires_at"]))
		if me.Token["id"] != float64(pat.ID) || me.Token["name"] != pat.Name || !exp.Equal(pat.ExpiresAt.Truncate(time.Second)) && exp.Sub(*pat.ExpiresAt).Abs() > time.Second {
			t.Errorf("token = %v; want id %d expiring %s", me.Token, pat.ID, pat.ExpiresAt)
		}
		if sc, _ := me.Token["scopes"].([]any); len(sc) != 1 || sc[0] != "cli" {
			t.Errorf("scopes = %v", me.Token["scopes"])
		}
		if strings.Contains(r.body, tok) || strings.Contains(r.body, pat.TokenHash) {
			t.Error("/me echoes the token or its hash")
		}

		forever, _ := s.token(t, u, 0, "web")
		r = s.cli(t, "GET", "/api/cli/me", forever)
		if !strings.Contains(r.body, `"expires_at":null`) {
			t.Errorf("a token without expiry: %s; want expires_at null", r.body)
		}
	})
}

func TestCLIAPI_LogoutRevokesOnlyTheTokenUsed(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newAuthServer(t, db)
		u := s.user(t, "ada@example.com", models.AccountIndividual, false)
		first, pat := s.token(t, u, 30, "device")
		second, _ := s.token(t, u, 30, "device")
		third, _ := s.token(t, u, 30, "device")

		r := s.cli(t, "DELETE", "/api/cli/token", first)
		if r.status != 200 || !strings.Contains(r.body, fmt.Sprintf(`"id":%d`, pat.ID)) {
			t.Fatalf("DELETE /api/cli/token = %d %s", r.status, r.body)
		}
		if r := s.cli(t, "GET", "/api/cli/me", first); r.status != 401 || r.errorCode() != "token_revoked" {
			t.Fatalf("revoked token still answers %d %s", r.status, r.body)
		}
		if r := s.cli(t, "DELETE", "/api/cli/token", first); r.status != 401 {
			t.Fatalf("revoking with a revoked token = %d", r.status)
		}
		if r := s.cli(t, "GET", "/api/cli/me", second); r.status != 200 {
			t.Fatalf("another token of the same user stopped working: %d", r.status)
		}
		if r := s.cli(t, "POST", "/api/cli/token/revoke", third); r.status != 200 {
			t.Fatalf("POST /api/cli/token/revoke = %d %s", r.status, r.body)
		}
		if r := s.cli(t, "GET", "/api/cli/me", third); r.errorCode() != "token_revoked" {
			t.Fatalf("after POST revoke: %d %s", r.status, r.body)
		}
	})
}

func TestCLIAPI_RateLimitedPerUserWithRetryAfter(t *testing.T) {
	s := newAuthServer(t, testenv.SQLite(t))
	u := s.user(t, "ada@example.com", models.AccountIndividual, false)
	tok, _ := s.token(t, u, 30, "web")
	other, _ := s.token(t, u, 30, "device")
	for i := range 120 {
		if r := s.cli(t, "GET", "/api/cli/me", tok); r.status != 200 {
			t.Fatalf("request %d = %d %s", i+1, r.status, r.body)
		}
	}
	for _, tk := range []string{tok, other} {
		r := s.cli(t, "GET", "/api/cli/me", tk)
		if r.status != 429 || r.errorCode() != "rate_limited" {
			t.Fatalf("over the limit: %d %s; want 429 rate_limited for every token of the user", r.status, r.body)
		}
		if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Fatalf("Retry-After = %q", ra)
		}
	}
	someoneElse := s.user(t, "bob@example.com", models.AccountIndividual, false)
	tok2, _ := s.token(t, someoneElse, 30, "web")
	if r := s.cli(t, "GET", "/api/cli/me", tok2); r.status != 200 {
		t.Fatalf("another user is limited too: %d", r.status)
	}
}

func TestCLIAPI_RateLimitedPerIPEvenForUnknownTokens(t *testing.T) {
	s := newAuthServer(t, testenv.SQLite(t))
	guess := auth.NewToken()
	for i := range 300 {
		if r := s.cli(t, "GET", "/api/cli/me", guess); r.status != 401 {
			t.Fatalf("guess %d = %d %s", i+1, r.status, r.body)
		}
	}
	r := s.cli(t, "GET", "/api/cli/me", auth.NewToken())
	if r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("guess 301 = %d %s; want 429 with Retry-After", r.status, r.body)
	}
}

var tokenPattern = regexp.MustCompile(`moby_[0-9A-Za-z]{49}`)

func TestSettings_SignedOutVisitorsAreSentToSignIn(t *testing.T) {
	s := newAuthServer(t, testenv.SQLite(t))
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, m := range []string{"GET /settings", "POST /settings/tokens", "POST /settings/tokens/1/revoke", "POST /settings/cli-sessions/revoke"} {
		method, path, _ := strings.Cut(m, " ")
		r := cliDo(t, c, method, s.URL+path, url.Values{"name": {"x"}}, nil)
		if r.status != 303 || !strings.HasPrefix(r.header.Get("Location"), "/signin?next=") {
			t.Errorf("%s signed out = %d %s", m, r.status, r.header.Get("Location"))
		}
	}
	var n int64
	s.db.Model(&models.PersonalAccessToken{}).Count(&n)
	if n != 0 {
		t.Fatal("a signed-out post created a token")
	}
}

func TestSettings_NewTokenIsShownExactlyOnce(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newAuthServer(t, db)
		u := s.user(t, "ada@example.com", models.AccountIndividual, false)
		b := s.browser(t, u)

		r := cliDo(t, b, "POST", s.URL+"/settings/tokens", url.Values{"name": {"backup script"}, "expiry_days": {"7"}}, nil)
		if r.status != 201 || r.header.Get("Cache-Control") != "no-store" || r.header.Get("Location") != "" {
			t.Fatalf("create = %d, Cache-Control %q, Location %q", r.status, r.header.Get("Cache-Control"), r.header.Get("Location"))
		}
		toks := tokenPattern.FindAllString(r.body, -1)
		if len(toks) != 1 {
			t.Fatalf("want the new token once on the page, found %d", len(toks))
		}
		tok := toks[0]
		if err := auth.CheckToken(tok); err != nil {
			t.Fatalf("shown token %v", err)
		}
		if me := s.cli(t, "GET", "/api/cli/me", tok); me.status != 200 {
			t.Fatalf("the shown token does not work: %d %s", me.status, me.body)
		}
		var pat models.PersonalAccessToken
		if err := db.Where("user_id = ?", u.ID).Take(&pat).Error; err != nil {
			t.Fatal(err)
		}
		if pat.TokenHash != auth.Hash(tok) || pat.Name != "backup script" || pat.Source != "web" || pat.Scopes != "cli" {
			t.Fatalf("stored %+v", pat)
		}
		if d := pat.ExpiresAt.Sub(pat.CreatedAt); d != 7*24*time.Hour {
			t.Fatalf("expiry %s, want 7 days", d)
		}

		list := cliDo(t, b, "GET", s.URL+"/settings", nil, nil)
		if list.status != 200 || strings.Contains(list.body, tok) || tokenPattern.MatchString(list.body) {
			t.Fatalf("the list shows the token again (status %d)", list.status)
		}
		if !strings.Contains(list.body, "backup script") || !strings.Contains(list.body, pat.DisplayHint) || !strings.Contains(list.body, "Last used") {
			t.Fatalf("the list lacks the token's name, hint or last use:\n%s", list.body)
		}
		if list.header.Get("Cache-Control") != "no-store" {
			t.Fatal("settings page may be cached")
		}
		if strings.Contains(s.log.String(), tok) {
			t.Fatal("the token was logged")
		}
	})
}

func TestSettings_ExpiryDefaultsTo30DaysAndFollowsPolicy(t *testing.T) {
	s := newAuthServer(t, testenv.SQLite(t))
	u := s.user(t, "ada@example.com", models.AccountIndividual, false)
	b := s.browser(t, u)

	page := cliDo(t, b, "GET", s.URL+"/settings", nil, nil)
	if !strings.Contains(page.body, `<option value="30" selected>`) {
		t.Fatalf("30 days is not preselected:\n%s", page.body)
	}
	for _, d := range []string{"7", "90", "0"} {
		if !strings.Contains(page.body, `<option value="`+d+`"`) {
			t.Errorf("expiry %s days is not offered", d)
		}
	}
	for form, want := range map[string]*time.Duration{"name=a": durPtr(30 * 24 * time.Hour), "name=b&expiry_days=0": nil, "name=c&expiry_days=90": durPtr(90 * 24 * time.Hour)} {
		v, _ := url.ParseQuery(form)
		if r := cliDo(t, b, "POST", s.URL+"/settings/tokens", v, nil); r.status != 201 {
			t.Fatalf("%s = %d", form, r.status)
		}
		var pat models.PersonalAccessToken
		s.db.Where("name = ?", v.Get("name")).Take(&pat)
		switch {
		case want == nil && pat.ExpiresAt != nil, want != nil && (pat.ExpiresAt == nil || pat.ExpiresAt.Sub(pat.CreatedAt) != *want):
			t.Errorf("%s: expires %v after %v", form, pat.ExpiresAt, pat.CreatedAt)
		}
	}
	for form, says := range map[string]string{"name=x&expiry_days=5": "Expiry must be", "name=x&expiry_days=soon": "Choose an expiry", "name=++&expiry_days=7": "Name must be"} {
		v, _ := url.ParseQuery(form)
		r := cliDo(t, b, "POST", s.URL+"/settings/tokens", v, nil)
		if r.status != 422 || !strings.Contains(r.body, says) || tokenPattern.MatchString(r.body) {
			t.Errorf("%s = %d; want 422 saying %q and no token", form, r.status, says)
		}
	}
}

func durPtr[T any](v T) *T { return &v }

func TestSettings_RevokeStopsTheTokenAndOnlyYours(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newAuthServer(t, db)
		u := s.user(t, "ada@example.com", models.AccountIndividual, false)
		other := s.user(t, "eve@example.com", models.AccountIndividual, false)
		tok, pat := s.token(t, u, 30, "web")
		otherTok, otherPat := s.token(t, other, 30, "web")
		b := s.browser(t, u)

		r := cliDo(t, b, "POST", fmt.Sprintf("%s/settings/tokens/%d/revoke", s.URL, otherPat.ID), url.Values{}, nil)
		if r.status != 404 {
			t.Fatalf("revoking someone else's token = %d", r.status)
		}
		if me := s.cli(t, "GET", "/api/cli/me", otherTok); me.status != 200 {
			t.Fatal("someone else's token was revoked")
		}
		if r := cliDo(t, b, "POST", s.URL+"/settings/tokens/nope/revoke", url.Values{}, nil); r.status != 404 {
			t.Fatalf("revoking a bad id = %d", r.status)
		}

		r = cliDo(t, b, "POST", fmt.Sprintf("%s/settings/tokens/%d/revoke", s.URL, pat.ID), url.Values{}, nil)
		if r.status != 303 || r.header.Get("Location") != "/settings?done=revoked" {
			t.Fatalf("revoke = %d %s", r.status, r.header.Get("Location"))
		}
		if me := s.cli(t, "GET", "/api/cli/me", tok); me.status != 401 || me.errorCode() != "token_revoked" {
			t.Fatalf("revoked token = %d %s", me.status, me.body)
		}
		page := cliDo(t, b, "GET", s.URL+"/settings?done=revoked", nil, nil)
		if !strings.Contains(page.body, "Token revoked") || !strings.Contains(page.body, "Revoked</span>") {
			t.Fatalf("the page does not say the token is revoked:\n%s", page.body)
		}
	})
}

func TestSettings_RevokeCLISessionsRevokesDeviceTokensOnly(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newAuthServer(t, db)
		u := s.user(t, "ada@example.com", models.AccountIndividual, false)
		laptop, _ := s.token(t, u, 30, "device")
		desktop, _ := s.token(t, u, 0, "device")
		script, _ := s.token(t, u, 30, "web")
		b := s.browser(t, u)

		if page := cliDo(t, b, "GET", s.URL+"/settings", nil, nil); !strings.Contains(page.body, "Revoke my CLI sessions (2)") {
			t.Fatalf("the page does not count two CLI sessions:\n%s", page.body)
		}
		r := cliDo(t, b, "POST", s.URL+"/settings/cli-sessions/revoke", url.Values{}, nil)
		if r.status != 303 || r.header.Get("Location") != "/settings?done=cli-revoked" {
			t.Fatalf("revoke CLI sessions = %d %s", r.status, r.header.Get("Location"))
		}
		for name, tok := range map[string]string{"laptop": laptop, "desktop": desktop} {
			if me := s.cli(t, "GET", "/api/cli/me", tok); me.errorCode() != "token_revoked" {
				t.Errorf("%s CLI token still works: %d", name, me.status)
			}
		}
		if me := s.cli(t, "GET", "/api/cli/me", script); me.status != 200 {
			t.Fatal("a token made on the Settings page was revoked with the CLI sessions")
		}
		r = cliDo(t, b, "POST", s.URL+"/settings/cli-sessions/revoke", url.Values{}, nil)
		if r.header.Get("Location") != "/settings?done=cli-none" {
			t.Fatalf("second revoke = %s", r.header.Get("Location"))
		}
	})
}

func TestSettings_TokenCreationIsRateLimitedPerUser(t *testing.T) {
	s := newAuthServer(t, testenv.SQLite(t))
	u := s.user(t, "ada@example.com", models.AccountIndividual, false)
	b := s.browser(t, u)
	for i := range 10 {
		if r := cliDo(t, b, "POST", s.URL+"/settings/tokens", url.Values{"name": {fmt.Sprint("t", i)}}, nil); r.status != 201 {
			t.Fatalf("create %d = %d", i+1, r.status)
		}
	}
	r := cliDo(t, b, "POST", s.URL+"/settings/tokens", url.Values{"name": {"one too many"}}, nil)
	if r.status != 429 || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "too many tokens") || tokenPattern.MatchString(r.body) {
		t.Fatalf("11th create = %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	var n int64
	s.db.Model(&models.PersonalAccessToken{}).Where("user_id = ?", u.ID).Count(&n)
	if n != 10 {
		t.Fatalf("%d tokens exist, want 10", n)
	}
	other := s.browser(t, s.user(t, "bob@example.com", models.AccountIndividual, false))
	if r := cliDo(t, other, "POST", s.URL+"/settings/tokens", url.Values{"name": {"mine"}}, nil); r.status != 201 {
		t.Fatalf("another user is limited too: %d", r.status)
	}
}

func TestSettings_CrossSiteFormPostsAreRefused(t *testing.T) {
	s := newAuthServer(t, testenv.SQLite(t))
	u := s.user(t, "ada@example.com", models.AccountIndividual, false)
	_, pat := s.token(t, u, 30, "device")
	b := s.browser(t, u)
	evil := map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
	for _, path := range []string{"/settings/tokens", fmt.Sprintf("/settings/tokens/%d/revoke", pat.ID), "/settings/cli-sessions/revoke"} {
		if r := cliDo(t, b, "POST", s.URL+path, url.Values{"name": {"evil"}}, evil); r.status != 403 || r.errorCode() != "csrf" {
			t.Errorf("cross-site POST %s = %d %s", path, r.status, r.body)
		}
	}
	var n int64
	s.db.Model(&models.PersonalAccessToken{}).Where("revoked_at IS NULL").Count(&n)
	if n != 1 {
		t.Fatalf("cross-site posts changed tokens: %d active, want 1", n)
	}
	if r := cliDo(t, b, "POST", s.URL+"/settings/tokens", url.Values{"name": {"ok"}}, map[string]string{"Sec-Fetch-Site": "same-origin"}); r.status != 201 {
		t.Fatalf("same-origin POST = %d", r.status)
	}
}

func TestSettings_LinksToCompanyAndAdminAreasOnlyForThoseAllowed(t *testing.T) {
	s := newAuthServer(t, testenv.SQLite(t))
	for _, c := range []struct {
		email           string
		kind            models.AccountKind
		admin           bool
		company, admin2 bool
	}{
		{"ind@example.com", models.AccountIndividual, false, false, false},
		{"boss@acme.example", models.AccountCompany, false, true, false},
		{"ops@mobayilo.example", models.AccountIndividual, true, false, true},
	} {
		b := s.browser(t, s.user(t, c.email, c.kind, c.admin))
		page := cliDo(t, b, "GET", s.URL+"/settings", nil, nil)
		if got := strings.Contains(page.body, `href="/company"`); got != c.company {
			t.Errorf("%s: link to /company %v, want %v", c.email, got, c.company)
		}
		if got := strings.Contains(page.body, `href="/admin"`); got != c.admin2 {
			t.Errorf("%s: link to /admin %v, want %v", c.email, got, c.admin2)
		}
		if !strings.Contains(page.body, `action="/signout/everywhere"`) {
			t.Errorf("%s: no sign-out-everywhere button", c.email)
		}
	}
}
