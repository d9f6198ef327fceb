package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
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

// admEnv is the production router with the identity services wired, as
// `mobayilo api` wires them, for the company and operator admin tests.
type admEnv struct {
	*server
	auth *auth.Service
	ids  *identity.Service
	led  *ledger.Service
}

func newAdmEnv(t *testing.T, db *gorm.DB) *admEnv {
	t.Helper()
	s := newServer(t, db, nil)
	pages, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	led := ledger.New(db)
	e := &admEnv{server: s, auth: auth.New(db), ids: identity.New(db, led), led: led}
	s.Config.Handler = api.New(deps(s.cfg, db, api.Deps{Pages: pages,
		Auth: e.auth, Identity: e.ids, Ledger: led}))
	return e
}

func (e *admEnv) newUser(t *testing.T, email string, kind models.AccountKind, operator bool) models.User {
	t.Helper()
	u, _, err := e.ids.CreateUser(context.Background(), identity.NewUser{Email: email, AccountKind: kind, Admin: operator})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// newSeat adds a seat to a company account, as sign-in's auto-provisioning
// will.
func (e *admEnv) newSeat(t *testing.T, accountID int64, email string) models.User {
	t.Helper()
	now := time.Now().UTC()
	u := models.User{AccountID: accountID, Email: email, Role: models.RoleSeat, Status: models.StatusActive, CreatedAt: now, UpdatedAt: now}
	if err := e.db.Create(&u).Error; err != nil {
		t.Fatal(err)
	}
	return u
}

// signIn returns a browser-like client signed in as u: a real cookie jar
// (so a cleared cookie stays cleared) that does not follow redirects.
func (e *admEnv) signIn(t *testing.T, u models.User) *http.Client {
	t.Helper()
	secret, err := e.auth.CreateSession(context.Background(), u.ID, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	base, _ := url.Parse(e.URL)
	jar.SetCookies(base, []*http.Cookie{{Name: api.SessionCookie, Value: secret, Path: "/"}})
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *admEnv) apiToken(t *testing.T, u models.User) string {
	t.Helper()
	tok, _, err := e.auth.CreateToken(context.Background(), auth.NewTokenRequest{UserID: u.ID, Name: "cli", Scopes: []string{"cli"}, ExpiryDays: 30})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type admReply struct {
	status int
	header http.Header
	body   string
}

func (r admReply) code() string {
	var eb wire.ErrorBody
	_ = json.Unmarshal([]byte(r.body), &eb)
	return eb.Error.Code
}

// send makes a request as client c; a POST is a same-origin form post, as
// a browser sends it, unless header says otherwise.
func (e *admEnv) send(t *testing.T, c *http.Client, method, path string, form url.Values, header map[string]string) admReply {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Origin", e.URL)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if c == nil {
		c = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return admReply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (e *admEnv) me(t *testing.T, token string) admReply {
	t.Helper()
	return e.send(t, nil, http.MethodGet, "/api/cli/me", nil, map[string]string{"Authorization": "Bearer " + token})
}

func (e *admEnv) audits(t *testing.T) []string {
	t.Helper()
	var rows []models.AuditLog
	if err := e.db.Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Actor+" "+r.Action+" "+r.Target)
	}
	return out
}

func (e *admEnv) status(t *testing.T, userID int64) models.Status {
	t.Helper()
	var u models.User
	if err := e.db.Take(&u, userID).Error; err != nil {
		t.Fatal(err)
	}
	return u.Status
}

func wantRedirect(t *testing.T, r admReply, location string) {
	t.Helper()
	if r.status != http.StatusSeeOther || r.header.Get("Location") != location {
		t.Fatalf("got %d to %q; want 303 to %q\n%s", r.status, r.header.Get("Location"), location, r.body)
	}
}

func TestCompanyPage_OnlyTheCompanyOwnerGetsIn(t *testing.T) {
	e := newAdmEnv(t, testenv.SQLite(t))
	owner := e.newUser(t, "ana@acme.test", models.AccountCompany, false)
	dee := e.newSeat(t, owner.AccountID, "dee@acme.test")
	indie := e.newUser(t, "cy@example.test", models.AccountIndividual, false)
	op := e.newUser(t, "op@mobayilo.test", models.AccountIndividual, true)

	wantRedirect(t, e.send(t, nil, "GET", "/company", nil, nil), "/signin?next=%2Fcompany")
	for name, u := range map[string]models.User{"seat": dee, "individual": indie, "operator": op} {
		if r := e.send(t, e.signIn(t, u), "GET", "/company", nil, nil); r.status != 404 || !strings.Contains(r.body, "status-code") {
			t.Errorf("%s: GET /company = %d; want the 404 page", name, r.status)
		}
	}
	r := e.send(t, e.signIn(t, owner), "GET", "/company", nil, nil)
	if r.status != 200 {
		t.Fatalf("owner: GET /company = %d", r.status)
	}
	for _, want := range []string{`data-seat="ana@acme.test"`, `data-seat="dee@acme.test"`, "(you)", fmt.Sprintf(`action="/company/seats/%d/disable"`, dee.ID), "No domains yet"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("company page lacks %q", want)
		}
	}
	if strings.Contains(r.body, fmt.Sprintf(`/company/seats/%d/disable`, owner.ID)) {
		t.Error("the page offers the admin a button to disable themselves")
	}
}

func TestCompanyDomains_AddValidatesAndRemoveAudits(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newAdmEnv(t, db)
		ana := e.newUser(t, "ana@acme.test", models.AccountCompany, false)
		bo := e.newUser(t, "bo@globex.test", models.AccountCompany, false)
		if _, _, err := e.ids.AddDomain(context.Background(), bo, "globex.test"); err != nil {
			t.Fatal(err)
		}
		c := e.signIn(t, ana)

		wantRedirect(t, e.send(t, c, "POST", "/company/domains", url.Values{"domain": {" ACME.test "}}, nil), "/company?done=domain-added")
		wantRedirect(t, e.send(t, c, "POST", "/company/domains", url.Values{"domain": {"acme.test"}}, nil), "/company?done=domain-exists")
		refused := []struct {
			domain string
			status int
			says   string
		}{
			{"*.acme.test", 422, "Wildcards are not allowed"},
			{"ana@acme.test", 422, "Enter just the domain"},
			{"gmail.com", 422, "public email provider"},
			{"localhost", 422, "not a full domain"},
			{"", 422, "Enter a domain"},
			{"Globex.TEST", 409, "Another company already has globex.test"},
		}
		for _, x := range refused {
			r := e.send(t, c, "POST", "/company/domains", url.Values{"domain": {x.domain}}, nil)
			if r.status != x.status || !strings.Contains(r.body, x.says) {
				t.Errorf("add %q = %d, want %d saying %q", x.domain, r.status, x.status, x.says)
			}
		}
		page := e.send(t, c, "GET", "/company?done=domain-added", nil, nil)
		if !strings.Contains(page.body, `data-domain="acme.test"`) || !strings.Contains(page.body, "Domain added") {
			t.Fatalf("page after adding:\n%s", page.body)
		}
		ds, _ := e.ids.Domains(context.Background(), ana.AccountID)
		if len(ds) != 1 || ds[0].Domain != "acme.test" {
			t.Fatalf("domains = %+v", ds)
		}
		wantRedirect(t, e.send(t, c, "POST", fmt.Sprintf("/company/domains/%d/remove", ds[0].ID), nil, nil), "/company?done=domain-removed")
		want := []string{
			fmt.Sprintf("user:%d domain.add domain:globex.test", bo.ID),
			fmt.Sprintf("user:%d domain.add domain:acme.test", ana.ID),
			fmt.Sprintf("user:%d domain.remove domain:acme.test", ana.ID),
		}
		if got := e.audits(t); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("audit = %q, want %q", got, want)
		}
	})
}

func TestCompanySeats_DisableCutsTheSeatOffAndReEnableLetsThemBackIn(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newAdmEnv(t, db)
		ana := e.newUser(t, "ana@acme.test", models.AccountCompany, false)
		dee := e.newSeat(t, ana.AccountID, "dee@acme.test")
		admin := e.signIn(t, ana)
		deeWeb := e.signIn(t, dee)
		deeTok := e.apiToken(t, dee)
		if r := e.send(t, deeWeb, "GET", "/", nil, nil); r.status != 200 || !strings.Contains(r.body, "data-dialer") {
			t.Fatalf("seat before disable: GET / = %d, want the dialer", r.status)
		}

		r := e.send(t, admin, "POST", fmt.Sprintf("/company/seats/%d/disable", ana.ID), nil, nil)
		if r.status != 409 || !strings.Contains(r.body, "You cannot disable your own user") || e.status(t, ana.ID) != models.StatusActive {
			t.Fatalf("self-disable = %d; want 409 with an explanation, nothing changed", r.status)
		}

		wantRedirect(t, e.send(t, admin, "POST", fmt.Sprintf("/company/seats/%d/disable", dee.ID), nil, nil), "/company?done=seat-disabled")
		if e.status(t, dee.ID) != models.StatusDisabled {
			t.Fatal("seat not disabled")
		}
		wantRedirect(t, e.send(t, deeWeb, "GET", "/dial", nil, nil), "/signin?next=%2Fdial")
		if me := e.me(t, deeTok); me.status != 403 || me.code() != "account_disabled" {
			t.Fatalf("seat's token after disable: %d %s", me.status, me.body)
		}
		if _, err := e.auth.CreateSession(context.Background(), dee.ID, "", ""); err == nil {
			t.Fatal("a disabled seat could sign in")
		}
		page := e.send(t, admin, "GET", "/company?done=seat-disabled", nil, nil)
		if !strings.Contains(page.body, "Seat disabled") || !strings.Contains(page.body, fmt.Sprintf(`/company/seats/%d/enable`, dee.ID)) {
			t.Fatalf("page after disabling:\n%s", page.body)
		}

		wantRedirect(t, e.send(t, admin, "POST", fmt.Sprintf("/company/seats/%d/enable", dee.ID), nil, nil), "/company?done=seat-enabled")
		if r := e.send(t, e.signIn(t, dee), "GET", "/", nil, nil); r.status != 200 || !strings.Contains(r.body, "data-dialer") {
			t.Fatalf("seat signed in again after re-enable: GET / = %d, want the dialer", r.status)
		}
		if me := e.me(t, e.apiToken(t, dee)); me.status != 200 {
			t.Fatalf("a new token after re-enable: %d %s", me.status, me.body)
		}
		want := []string{
			fmt.Sprintf("user:%d seat.disable user:%d", ana.ID, dee.ID),
			fmt.Sprintf("user:%d seat.enable user:%d", ana.ID, dee.ID),
		}
		if got := e.audits(t); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("audit = %q, want %q", got, want)
		}
	})
}

func TestCompanySeats_ShowUsageAttributedToEachSeat(t *testing.T) {
	e := newAdmEnv(t, testenv.SQLite(t))
	ctx := context.Background()
	ana := e.newUser(t, "ana@acme.test", models.AccountCompany, false)
	dee := e.newSeat(t, ana.AccountID, "dee@acme.test")
	e.newSeat(t, ana.AccountID, "eve@acme.test")
	for _, p := range []ledger.Posting{
		{AccountID: ana.AccountID, Kind: models.EntryTopUp, AmountCents: 2000, IdempotencyKey: "t1", Actor: identity.UserActor(ana.ID)},
		{AccountID: ana.AccountID, Kind: models.EntryCallCharge, AmountCents: -105, IdempotencyKey: "c1", Actor: identity.UserActor(dee.ID)},
		{AccountID: ana.AccountID, Kind: models.EntryCallCharge, AmountCents: -45, IdempotencyKey: "c2", Actor: identity.UserActor(dee.ID)},
	} {
		if _, err := e.led.Post(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	body := e.send(t, e.signIn(t, ana), "GET", "/company", nil, nil).body
	seatBlock := func(email string) string {
		_, after, ok := strings.Cut(body, `data-seat="`+email+`"`)
		if !ok {
			t.Fatalf("no row for %s", email)
		}
		before, _, _ := strings.Cut(after, "</li>")
		return before
	}
	if b := seatBlock("dee@acme.test"); !strings.Contains(b, "<dd data-usage-entries>2</dd>") || !strings.Contains(b, "<dd data-usage-spent>$1.50</dd>") {
		t.Fatalf("dee's row: %s", b)
	}
	if b := seatBlock("eve@acme.test"); !strings.Contains(b, "<dd data-usage-entries>0</dd>") || !strings.Contains(b, "<dd data-usage-spent>$0.00</dd>") {
		t.Fatalf("eve's row: %s", b)
	}
	if !strings.Contains(body, "$18.50") {
		t.Fatal("company balance not shown")
	}
}

func TestCompany_AdminOfOneCompanyCannotTouchAnothersSeatsOrDomains(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newAdmEnv(t, db)
		ana := e.newUser(t, "ana@acme.test", models.AccountCompany, false)
		bo := e.newUser(t, "bo@globex.test", models.AccountCompany, false)
		eve := e.newSeat(t, bo.AccountID, "eve@globex.test")
		d, _, err := e.ids.AddDomain(context.Background(), bo, "globex.test")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.ids.SetSeatStatus(context.Background(), bo, eve.ID, models.StatusDisabled); err != nil {
			t.Fatal(err)
		}
		before := e.audits(t)
		c := e.signIn(t, ana)
		for _, path := range []string{
			fmt.Sprintf("/company/seats/%d/enable", eve.ID),
			fmt.Sprintf("/company/seats/%d/disable", bo.ID),
			fmt.Sprintf("/company/domains/%d/remove", d.ID),
			"/company/seats/999999/disable",
			"/company/seats/abc/disable",
			"/company/domains/-1/remove",
		} {
			if r := e.send(t, c, "POST", path, nil, nil); r.status != 404 {
				t.Errorf("POST %s = %d, want 404", path, r.status)
			}
		}
		if e.status(t, eve.ID) != models.StatusDisabled || e.status(t, bo.ID) != models.StatusActive {
			t.Fatal("company B's users changed")
		}
		if ds, _ := e.ids.Domains(context.Background(), bo.AccountID); len(ds) != 1 {
			t.Fatal("company B's domain was removed")
		}
		if after := e.audits(t); len(after) != len(before) {
			t.Fatalf("refused actions were audited: %q", after[len(before):])
		}
	})
}
