package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
	mworker "github.com/mobayilo/mobayilo/worker"
	"github.com/mobayilo/mobayilo/workflows"
)

const signinPassword = "correct horse battery"

// signinServer is the real API on httptest with a real Temporal server, a
// worker running the real activities on its own task queue, and the dev
// mailbox: what `make run` wires, so a sign-in link travels the whole way.
type signinServer struct {
	*httptest.Server
	db       *gorm.DB
	cfg      config.Config
	auth     *auth.Service
	ids      *identity.Service
	mailbox  *mail.Mailbox
	temporal client.Client
	log      *bytes.Buffer
}

func newSigninServer(t *testing.T, db *gorm.DB, env map[string]string) *signinServer {
	t.Helper()
	tc := testenv.Temporal(t).Client(t)
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	queue := "signin-test-" + hex.EncodeToString(suffix)
	startUserIDsAtRandom(t, db)
	led := ledger.New(db)
	s := &signinServer{db: db, auth: auth.New(db), ids: identity.New(db, led), temporal: tc, log: &bytes.Buffer{},
		mailbox: mail.NewMailbox(slog.New(slog.NewTextHandler(io.Discard, nil)))}
	w := mworker.New(tc, queue, &activities.Activities{Ledger: led, Mailer: s.mailbox, Users: s.ids, LoginLinks: s.auth})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	pages, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	s.Server = httptest.NewUnstartedServer(nil)
	s.Start()
	t.Cleanup(s.Close)
	if env == nil {
		env = map[string]string{}
	}
	if _, set := env["MOBAYILO_SANDBOX"]; !set {
		env["MOBAYILO_SANDBOX"] = "true" // the sandbox, unless a test asks for live
	}
	env["PUBLIC_BASE_URL"] = s.URL
	env["TEMPORAL_TASK_QUEUE"] = queue
	if s.cfg, err = config.Load(env); err != nil {
		t.Fatal(err)
	}
	s.Config.Handler = api.New(deps(s.cfg, db, api.Deps{Temporal: tc, Pages: pages,
		Log: slog.New(slog.NewTextHandler(s.log, nil)), Auth: s.auth, Identity: s.ids, Ledger: led, Mailbox: s.mailbox}))
	return s
}

// startUserIDsAtRandom moves the users id sequence to a random point.
// Every test shares one Temporal server, and SendLoginLink's workflow IDs
// are derived from user ids; fresh databases all starting at 1 would make
// one test's request look like another's double submit.
func startUserIDsAtRandom(t *testing.T, db *gorm.DB) {
	t.Helper()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	start := 1000 + int64(b[0])<<16 | int64(b[1])<<8 | int64(b[2])
	var err error
	if models.DialectOf(db) == models.Postgres {
		err = db.Exec("SELECT setval('users_id_seq', ?)", start).Error
	} else {
		err = db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec("DELETE FROM sqlite_sequence WHERE name = 'users'").Error; err != nil {
				return err
			}
			return tx.Exec("INSERT INTO sqlite_sequence (name, seq) VALUES ('users', ?)", start).Error
		})
	}
	if err != nil {
		t.Fatalf("move the users id sequence: %v", err)
	}
}

func (s *signinServer) user(t *testing.T, email, password string) models.User {
	t.Helper()
	u, _, err := s.ids.CreateUser(context.Background(), identity.NewUser{Email: email, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// visitor is one browser: a cookie jar and no automatic redirects, so
// tests see each 303 and its Location.
type visitor struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (s *signinServer) visitor(t *testing.T) *visitor {
	jar, _ := cookiejar.New(nil)
	return &visitor{t: t, base: s.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (p page) location() string { return p.header.Get("Location") }

func (v *visitor) do(method, path string, form url.Values, header map[string]string) page {
	v.t.Helper()
	u := path
	if !strings.HasPrefix(path, "http") {
		u = v.base + path
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		v.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, val := range header {
		req.Header.Set(k, val)
	}
	resp, err := v.c.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (v *visitor) get(path string) page { return v.do("GET", path, nil, nil) }

func (v *visitor) post(path string, form url.Values) page { return v.do("POST", path, form, nil) }

// session is the browser's session cookie, "" when it has none.
func (v *visitor) session() string {
	u, _ := url.Parse(v.base)
	for _, c := range v.c.Jar.Cookies(u) {
		if c.Name == api.SessionCookie {
			return c.Value
		}
	}
	return ""
}

// signedInAs reports who "/" (the dialer, signed in) says is signed in, ""
// for nobody (the visitors' home page).
func (v *visitor) signedInAs() string {
	v.t.Helper()
	p := v.get("/")
	if p.status != 200 {
		v.t.Fatalf("/ answered %d:\n%s", p.status, p.body)
	}
	m := regexp.MustCompile(`data-viewer-email>([^<]+)<`).FindStringSubmatch(p.body)
	if m == nil {
		if strings.Contains(p.body, "data-dialer") {
			v.t.Fatalf("/ shows the dialer without a viewer:\n%s", p.body)
		}
		return ""
	}
	return html.UnescapeString(m[1])
}

// waitForMail waits for the n-th message to an address (n counts from 1)
// and returns it.
func (s *signinServer) waitForMail(t *testing.T, to string, n int) mail.Captured {
	t.Helper()
	// Generous: on a loaded two-core CI machine a workflow's activity can
	// wait its turn; this waits for an event, it does not time anything.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var got []mail.Captured
		for _, m := range s.mailbox.Messages() {
			if m.To == to {
				got = append(got, m)
			}
		}
		if len(got) >= n {
			return got[len(got)-n] // Messages is newest first
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail #%d to %s after 60 s; mailbox has %d messages; log:\n%s", n, to, len(s.mailbox.Messages()), s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *signinServer) mailsTo(to string) int {
	n := 0
	for _, m := range s.mailbox.Messages() {
		if m.To == to {
			n++
		}
	}
	return n
}

var mailLinkRE = regexp.MustCompile(`https?://\S+`)

// link is a link from a mail: the URL and its token and email parameters.
type link struct {
	url, token, email, next string
}

func linkIn(t *testing.T, m mail.Captured) link {
	t.Helper()
	raw := mailLinkRE.FindString(m.Text)
	u, err := url.Parse(raw)
	if err != nil || raw == "" {
		t.Fatalf("no link in %q", m.Text)
	}
	q := u.Query()
	return link{url: raw, token: q.Get("token"), email: q.Get("email"), next: q.Get("next")}
}

// signInByLink follows a magic link as a person would: open it, then press
// the button on the page it shows.
func (v *visitor) signInByLink(l link) page {
	v.t.Helper()
	confirm := v.get(l.url)
	if confirm.status != 200 || !strings.Contains(confirm.body, `action="/magic"`) {
		v.t.Fatalf("opening the link: %d\n%s", confirm.status, confirm.body)
	}
	return v.post("/magic", url.Values{"token": {l.token}, "email": {l.email}, "next": {l.next}})
}

// issueLink makes a magic link directly, for tests about redeeming links.
func (s *signinServer) issueLink(t *testing.T, purpose models.LoginTokenPurpose, u models.User) link {
	t.Helper()
	secret, err := s.auth.IssueLoginToken(context.Background(), purpose, u)
	if err != nil {
		t.Fatal(err)
	}
	path := activities.MagicLinkPath
	if purpose == models.PurposePasswordReset {
		path = activities.PasswordResetPath
	}
	return link{url: s.URL + path + "?" + url.Values{"token": {secret}, "email": {u.Email}}.Encode(), token: secret, email: u.Email}
}

// count counts rows of a model, or of a table given by name.
func (s *signinServer) count(t *testing.T, m any, where string, args ...any) int64 {
	t.Helper()
	var n int64
	q := s.db.Model(m)
	if table, ok := m.(string); ok {
		q = s.db.Table(table)
	}
	if where != "" {
		q = q.Where(where, args...)
	}
	if err := q.Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// ---- Email-first sign-in, end to end on real Temporal ----

func TestSignIn_KnownUserGetsAMagicLinkByMailThatSignsThemIn(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newSigninServer(t, db, nil)
		u := s.user(t, "ana@example.com", "")
		v := s.visitor(t)

		asked := time.Now()
		p := v.post("/signin", url.Values{"email": {"  Ana@Example.COM "}, "next": {"/history"}})
		if p.status != 200 || !strings.Contains(p.body, "Check your email") || !strings.Contains(p.body, "ana@example.com") {
			t.Fatalf("POST /signin = %d\n%s", p.status, p.body)
		}
		m := s.waitForMail(t, "ana@example.com", 1)
		l := linkIn(t, m)
		if !strings.HasPrefix(l.url, s.URL+"/magic?") || l.email != "ana@example.com" || l.next != "/history" || len(l.token) < 40 {
			t.Fatalf("link %+v", l)
		}

		// Opening the link only shows a button; a mail scanner's GET must
		// not use it up.
		if got := v.get(l.url); got.status != 200 || !strings.Contains(got.body, "Continue as") {
			t.Fatalf("GET link = %d", got.status)
		}
		if n := s.count(t, &models.LoginToken{}, "user_id = ? AND used_at IS NULL", u.ID); n != 1 {
			t.Fatalf("%d unused links after opening the page, want 1", n)
		}
		done := v.signInByLink(l)
		if done.status != http.StatusSeeOther || done.location() != "/history" {
			t.Fatalf("POST /magic = %d to %q", done.status, done.location())
		}
		if who := v.signedInAs(); who != "ana@example.com" {
			t.Fatalf("signed in as %q", who)
		}

		// The link's secret never reached Temporal: not in the workflow's
		// input, result or any history event.
		ids := loginLinkWorkflowIDs(activities.LinkSignIn, u.ID, asked, m.At)
		hist := ""
		for _, id := range ids {
			if _, err := s.temporal.DescribeWorkflowExecution(context.Background(), id, ""); err != nil {
				continue
			}
			var res workflows.SendLoginLinkResult
			if err := s.temporal.GetWorkflow(context.Background(), id, "").Get(context.Background(), &res); err != nil || !res.Sent {
				t.Fatalf("workflow %s: %+v %v, want sent", id, res, err)
			}
			raw, text := workflowHistory(t, s.temporal, id)
			hist = text
			testenv.RecordHistory(t, raw, "send-login-link-sent")
		}
		if !strings.Contains(hist, "ana@example.com") {
			t.Fatalf("history of %v does not look like the sign-in's:\n%s", ids, hist)
		}
		if strings.Contains(hist, l.token) || strings.Contains(hist, auth.Hash(l.token)) {
			t.Fatal("the link's secret (or its hash) is in the workflow history")
		}
	})
}

// loginLinkWorkflowIDs are the SendLoginLink workflow IDs a request made
// between from and to can have started (two when a dedup window ended in
// between).
func loginLinkWorkflowIDs(kind activities.LinkKind, userID int64, from, to time.Time) []string {
	a, b := workflows.LoginLinkWorkflowID(string(kind), userID, from), workflows.LoginLinkWorkflowID(string(kind), userID, to)
	if a == b {
		return []string{a}
	}
	return []string{a, b}
}

// workflowHistory returns a workflow's history as JSON (the replayer's
// format) and as searchable text, with every payload decoded.
func workflowHistory(t *testing.T, tc client.Client, id string) (raw []byte, text string) {
	t.Helper()
	raw = testenv.WorkflowHistory(t, tc, id, "")
	var b strings.Builder
	b.Write(raw)
	// Payloads are base64 in JSON; decode them so a secret in one would
	// show up as text.
	for _, m := range regexp.MustCompile(`"data":\s*"([^"]+)"`).FindAllStringSubmatch(string(raw), -1) {
		if d, err := base64.StdEncoding.DecodeString(m[1]); err == nil {
			b.Write(d)
		}
	}
	return raw, b.String()
}

func TestSignIn_AllowedCompanyDomainGetsASeatThenALink(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newSigninServer(t, db, nil)
		_, acme, err := s.ids.CreateCompany(context.Background(), identity.NewCompany{Name: "Acme", AdminEmail: "boss@acme.test"})
		if err != nil {
			t.Fatal(err)
		}
		v := s.visitor(t)
		if p := v.post("/signin", url.Values{"email": {"Bob@ACME.test"}}); p.status != 200 || !strings.Contains(p.body, "Check your email") {
			t.Fatalf("POST /signin = %d", p.status)
		}
		bob, err := s.ids.UserByEmail(context.Background(), "bob@acme.test")
		if err != nil || bob.Role != models.RoleSeat || bob.AccountID != acme.ID {
			t.Fatalf("seat %+v %v, want a seat of account %d", bob, err, acme.ID)
		}
		if p := v.signInByLink(linkIn(t, s.waitForMail(t, "bob@acme.test", 1))); p.status != http.StatusSeeOther || p.location() != "/dial" {
			t.Fatalf("redeem = %d %q", p.status, p.location())
		}
		if !strings.Contains(v.get("/").body, "company seat") {
			t.Fatal("the header should say the person is a company seat")
		}
	})
}

func TestSignIn_UnknownDomainGetsAnIndividualAccountThenALink(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newSigninServer(t, db, nil)
		v := s.visitor(t)
		if p := v.post("/signin", url.Values{"email": {"new@somewhere.test"}}); p.status != 200 {
			t.Fatalf("POST /signin = %d", p.status)
		}
		u, err := s.ids.UserByEmail(context.Background(), "new@somewhere.test")
		if err != nil || u.Role != models.RoleOwner {
			t.Fatalf("user %+v %v", u, err)
		}
		var acct models.Account
		db.Take(&acct, u.AccountID)
		if acct.Kind != models.AccountIndividual {
			t.Fatalf("account %+v", acct)
		}
		v.signInByLink(linkIn(t, s.waitForMail(t, "new@somewhere.test", 1)))
		if who := v.signedInAs(); who != "new@somewhere.test" {
			t.Fatalf("signed in as %q", who)
		}
	})
}

// The page a disabled address gets is the one everybody gets; only the log
// and the missing mail differ.
func TestSignIn_DisabledUsersSeatsAndAccountsGetTheSameAnswerButNoLink(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newSigninServer(t, db, nil)
		ctx := context.Background()
		off := s.user(t, "off@example.com", "")
		db.Model(&models.User{}).Where("id = ?", off.ID).Update("status", models.StatusDisabled)
		frozen := s.user(t, "frozen@example.com", "")
		db.Model(&models.Account{}).Where("id = ?", frozen.AccountID).Update("status", models.StatusDisabled)
		_, _, _ = s.ids.CreateCompany(ctx, identity.NewCompany{Name: "Acme", AdminEmail: "boss@acme.test"})
		seat, _ := s.ids.ResolveSignIn(ctx, "seat@acme.test", false)
		db.Model(&models.User{}).Where("id = ?", seat.User.ID).Update("status", models.StatusDisabled)
		_, other, _ := s.ids.CreateCompany(ctx, identity.NewCompany{Name: "Shut", AdminEmail: "boss@shut.test"})
		db.Model(&models.Account{}).Where("id = ?", other.ID).Update("status", models.StatusDisabled)
		s.user(t, "ok@example.com", "")

		v := s.visitor(t)
		asked := time.Now()
		normal := v.post("/signin", url.Values{"email": {"ok@example.com"}})
		disabled := []string{"off@example.com", "frozen@example.com", "seat@acme.test", "newcomer@shut.test"}
		for _, email := range disabled {
			p := v.post("/signin", url.Values{"email": {email}})
			if p.status != normal.status || stripRequestID(strings.ReplaceAll(p.body, email, "ok@example.com")) != stripRequestID(normal.body) {
				t.Errorf("%s got a different answer (%d) from an active user's (%d)", email, p.status, normal.status)
			}
		}
		s.waitForMail(t, "ok@example.com", 1)
		for _, email := range disabled {
			if n := s.mailsTo(email); n != 0 {
				t.Errorf("%s got %d mails", email, n)
			}
			u, err := s.ids.UserByEmail(ctx, email)
			if err == nil {
				if n := s.count(t, &models.LoginToken{}, "user_id = ?", u.ID); n != 0 {
					t.Errorf("%s has %d links", email, n)
				}
				for _, id := range loginLinkWorkflowIDs(activities.LinkSignIn, u.ID, asked, time.Now()) {
					var nf *serviceerror.NotFound
					if _, err := s.temporal.DescribeWorkflowExecution(ctx, id, ""); !errors.As(err, &nf) {
						t.Errorf("%s: a SendLoginLink workflow was started (%v)", email, err)
					}
				}
			}
		}
		if _, err := s.ids.UserByEmail(ctx, "newcomer@shut.test"); !errors.Is(err, identity.ErrUserNotFound) {
			t.Fatal("a disabled company got a new seat")
		}
		if !strings.Contains(s.log.String(), "sign-in refused") {
			t.Fatalf("refusals must be logged:\n%s", s.log)
		}
	})
}

var requestIDRE = regexp.MustCompile(`[0-9a-f]{16}`)

func stripRequestID(s string) string { return requestIDRE.ReplaceAllString(s, "") }

func TestSignIn_BadAddressIsA422OnTheForm(t *testing.T) {
	s := newSigninServer(t, testenv.SQLite(t), nil)
	p := s.visitor(t).post("/signin", url.Values{"email": {"ana at example"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "is not an email address") || !strings.Contains(p.body, `role="alert"`) {
		t.Fatalf("POST /signin bad address = %d\n%s", p.status, p.body)
	}
}

func TestSignIn_DoubleSubmitSendsOneMail(t *testing.T) {
	s := newSigninServer(t, testenv.SQLite(t), nil)
	s.user(t, "ana@example.com", "")
	// Keep both submits inside one dedup window.
	if left := workflows.LoginLinkDedupWindow - time.Duration(time.Now().UnixNano())%workflows.LoginLinkDedupWindow; left < 3*time.Second {
		time.Sleep(left + 100*time.Millisecond)
	}
	v := s.visitor(t)
	for range 2 {
		if p := v.post("/signin", url.Values{"email": {"ana@example.com"}}); p.status != 200 {
			t.Fatalf("POST /signin = %d", p.status)
		}
	}
	s.waitForMail(t, "ana@example.com", 1)
	time.Sleep(time.Second)
	if n := s.mailsTo("ana@example.com"); n != 1 {
		t.Fatalf("%d mails for a double submit, want 1", n)
	}
}

// ---- Magic-link problems ----

func TestMagicLink_ExpiredUsedWrongEmailAndUnknownEachSayWhatIsWrong(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newSigninServer(t, db, nil)
		u := s.user(t, "ana@example.com", "")
		v := s.visitor(t)

		expired := s.issueLink(t, models.PurposeMagicLink, u)
		db.Model(&models.LoginToken{}).Where("token_hash = ?", auth.Hash(expired.token)).Update("expires_at", time.Now().Add(-time.Minute))
		used := s.issueLink(t, models.PurposeMagicLink, u)
		if p := v.signInByLink(used); p.status != http.StatusSeeOther {
			t.Fatalf("first use = %d\n%s", p.status, p.body)
		}
		v2 := s.visitor(t)
		wrong := s.issueLink(t, models.PurposeMagicLink, u)

		cases := []struct {
			name          string
			form          url.Values
			says          string
			resendToEmail bool
		}{
			{"expired", url.Values{"token": {expired.token}, "email": {expired.email}}, "This link has expired", true},
			{"used", url.Values{"token": {used.token}, "email": {used.email}}, "already used", true},
			{"wrong email", url.Values{"token": {wrong.token}, "email": {"mallory@example.com"}}, "for another address", false},
			{"unknown", url.Values{"token": {"made-up"}, "email": {"ana@example.com"}}, "isn't valid", false},
		}
		for _, c := range cases {
			p := v2.post("/magic", c.form)
			if p.status != http.StatusGone || !strings.Contains(html.UnescapeString(p.body), c.says) {
				t.Errorf("%s: %d, want 410 saying %q\n%s", c.name, p.status, c.says, p.body)
				continue
			}
			if !strings.Contains(p.body, `action="/signin"`) {
				t.Errorf("%s: no resend button", c.name)
			}
			hasEmail := strings.Contains(p.body, `name="email" value="ana@example.com"`)
			if hasEmail != c.resendToEmail {
				t.Errorf("%s: resend pre-filled with the address = %v, want %v", c.name, hasEmail, c.resendToEmail)
			}
		}
		if v2.session() != "" || v2.signedInAs() != "" {
			t.Fatal("a bad link signed someone in")
		}
		// The wrong-email attempt did not burn the link for its owner.
		if p := v2.signInByLink(wrong); p.status != http.StatusSeeOther {
			t.Fatalf("the right address after a wrong one = %d", p.status)
		}
		// The resend button works: it is the ordinary sign-in form.
		if p := v2.post("/signin", url.Values{"email": {"ana@example.com"}}); p.status != 200 || !strings.Contains(p.body, "Check your email") {
			t.Fatalf("resend = %d", p.status)
		}
		s.waitForMail(t, "ana@example.com", 1)
		// A link opened without its parameters explains itself too.
		if p := v2.get("/magic"); p.status != http.StatusBadRequest || !strings.Contains(html.UnescapeString(p.body), "isn't valid") {
			t.Fatalf("GET /magic without a token = %d", p.status)
		}
	})
}

func TestMagicLink_ExpiresAfterFifteenMinutesByTheServiceClock(t *testing.T) {
	s := newSigninServer(t, testenv.SQLite(t), nil)
	u := s.user(t, "ana@example.com", "")
	early := auth.New(s.db).WithClock(func() time.Time { return time.Now().Add(-auth.LoginLinkLifetime - time.Second) })
	secret, err := early.IssueLoginToken(context.Background(), models.PurposeMagicLink, u)
	if err != nil {
		t.Fatal(err)
	}
	p := s.visitor(t).post("/magic", url.Values{"token": {secret}, "email": {u.Email}})
	if p.status != http.StatusGone || !strings.Contains(p.body, "expired") {
		t.Fatalf("a link issued 15 min 1 s ago = %d", p.status)
	}
}

func TestMagicLink_NextOnlyLeadsToPathsOnThisSite(t *testing.T) {
	s := newSigninServer(t, testenv.SQLite(t), nil)
	u := s.user(t, "ana@example.com", "")
	for next, want := range map[string]string{
		"/settings?tab=tokens":   "/settings?tab=tokens",
		"//evil.example/phish":   "/dial",
		"https://evil.example/":  "/dial",
		"/\\evil.example":        "/dial",
		"javascript:alert(1)":    "/dial",
		"":                       "/dial",
		"/device?code=BCDF-GHJK": "/device?code=BCDF-GHJK",
	} {
		l := s.issueLink(t, models.PurposeMagicLink, u)
		p := s.visitor(t).post("/magic", url.Values{"token": {l.token}, "email": {l.email}, "next": {next}})
		if p.status != http.StatusSeeOther || p.location() != want {
			t.Errorf("next=%q: %d to %q, want %q", next, p.status, p.location(), want)
		}
	}
}

// ---- Sessions ----

func TestSession_RotatesAtSignInSoTheOldCookieStopsWorking(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newSigninServer(t, db, nil)
		ana := s.user(t, "ana@example.com", "")
		s.user(t, "bob@example.com", signinPassword)
		v := s.visitor(t)
		v.signInByLink(s.issueLink(t, models.PurposeMagicLink, ana))
		first := v.session()
		if first == "" || v.signedInAs() != "ana@example.com" {
			t.Fatal("not signed in")
		}
		// Signing in again, here as someone else by password, replaces the
		// session rather than reusing it.
		p := v.post("/signin/password", url.Values{"email": {"bob@example.com"}, "password": {signinPassword}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("password sign-in = %d\n%s", p.status, p.body)
		}
		second := v.session()
		if second == "" || second == first || v.signedInAs() != "bob@example.com" {
			t.Fatalf("session did not rotate: %q then %q", first, second)
		}
		if _, err := s.auth.SessionPrincipal(context.Background(), first); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("the old session still works: %v", err)
		}
		if n := s.count(t, &models.Session{}, "user_id = ?", ana.ID); n != 0 {
			t.Fatalf("%d sessions left for the first user", n)
		}
	})
}

func TestSession_CookieIsHttpOnlyAndSameSite(t *testing.T) {
	s := newSigninServer(t, testenv.SQLite(t), nil)
	u := s.user(t, "ana@example.com", "")
	l := s.issueLink(t, models.PurposeMagicLink, u)
	p := s.visitor(t).post("/magic", url.Values{"token": {l.token}, "email": {l.email}})
	c := p.header.Get("Set-Cookie")
	if !strings.Contains(c, api.SessionCookie+"=") || !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Lax") {
		t.Fatalf("Set-Cookie %q", c)
	}
	if strings.Contains(p.header.Get("Cache-Control"), "public") {
		t.Fatal("sign-in answers must not be cached")
	}
}

func TestSignOut_EndsThisSessionOnly(t *testing.T) {
	s := newSigninServer(t, testenv.SQLite(t), nil)
	u := s.user(t, "ana@example.com", "")
	phone, laptop := s.visitor(t), s.visitor(t)
	phone.signInByLink(s.issueLink(t, models.PurposeMagicLink, u))
	laptop.signInByLink(s.issueLink(t, models.PurposeMagicLink, u))
	old := phone.session()
	if p := phone.post("/signout", url.Values{}); p.status != http.StatusSeeOther || p.location() != "/" {
		t.Fatalf("sign out = %d %q", p.status, p.location())
	}
	if phone.signedInAs() != "" {
		t.Fatal("still signed in after signing out")
	}
	if _, err := s.auth.SessionPrincipal(context.Background(), old); err == nil {
		t.Fatal("the session survives on the server")
	}
	if laptop.signedInAs() != "ana@example.com" {
		t.Fatal("signing out one browser signed out another")
	}
}

func TestSignOutEverywhere_EndsEveryBrowsersSession(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newSigninServer(t, db, nil)
		u := s.user(t, "ana@example.com", "")
		other := s.user(t, "other@example.com", "")
		phone, laptop, stranger := s.visitor(t), s.visitor(t), s.visitor(t)
		phone.signInByLink(s.issueLink(t, models.PurposeMagicLink, u))
		laptop.signInByLink(s.issueLink(t, models.PurposeMagicLink, u))
		stranger.signInByLink(s.issueLink(t, models.PurposeMagicLink, other))
		if !strings.Contains(phone.get("/").body, `action="/signout/everywhere"`) {
			t.Fatal("the account menu should offer signing out everywhere")
		}
		if p := phone.post("/signout/everywhere", url.Values{}); p.status != http.StatusSeeOther || p.location() != "/signin" {
			t.Fatalf("sign out everywhere = %d %q", p.status, p.location())
		}
		if phone.signedInAs() != "" || laptop.signedInAs() != "" {
			t.Fatal("a browser is still signed in")
		}
		if n := s.count(t, &models.Session{}, "user_id = ?", u.ID); n != 0 {
			t.Fatalf("%d sessions left", n)
		}
		if stranger.signedInAs() != "other@example.com" {
			t.Fatal("another user's session ended too")
		}
	})
}

// ---- CSRF and rate limits ----

func TestSignIn_CrossSitePostIs403AndWritesNothing(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newSigninServer(t, db, map[string]string{"MARKETING_ORIGIN": "https://mobayilo.example"})
		u := s.user(t, "ana@example.com", signinPassword)
		counts := func() [5]int64 {
			return [5]int64{s.count(t, &models.User{}, ""), s.count(t, &models.LoginToken{}, ""), s.count(t, &models.Session{}, ""),
				s.count(t, &models.Subscriber{}, ""), s.count(t, "rate_limit_counters", "")}
		}
		v := s.visitor(t)
		l := s.issueLink(t, models.PurposeMagicLink, u)
		before := counts()
		for _, c := range []struct {
			path string
			form url.Values
			hdr  map[string]string
		}{
			{"/signin", url.Values{"email": {"new@example.com"}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
			{"/signin", url.Values{"email": {"new@example.com"}}, map[string]string{"Origin": "https://evil.example"}},
			// The marketing site is trusted for the waiting list only.
			{"/signin", url.Values{"email": {"new@example.com"}}, map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://mobayilo.example"}},
			{"/signin/password", url.Values{"email": {"ana@example.com"}, "password": {signinPassword}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
			{"/signup", url.Values{"email": {"new@example.com"}, "password": {signinPassword}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
			{"/magic", url.Values{"token": {l.token}, "email": {l.email}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
			{"/password/reset", url.Values{"email": {"ana@example.com"}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
			{"/signout/everywhere", url.Values{}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
			{"/api/subscribe", url.Values{"email": {"new@example.com"}}, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
		} {
			if p := v.do("POST", c.path, c.form, c.hdr); p.status != http.StatusForbidden {
				t.Errorf("cross-site POST %s %v = %d, want 403", c.path, c.hdr, p.status)
			}
		}
		if after := counts(); after != before {
			t.Fatalf("refused requests wrote rows: %v then %v", before, after)
		}
		if v.session() != "" {
			t.Fatal("a cross-site POST signed the browser in")
		}
	})
}

func TestSignIn_RateLimitedPerAddressWith429AndRetryAfter(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newSigninServer(t, db, nil)
		s.user(t, "ana@example.com", "")
		v := s.visitor(t)
		for i, email := range []string{"ana@example.com", "ANA@example.com", "Ana@Example.com ", "ana@EXAMPLE.com", "ana@example.com"} {
			if p := v.post("/signin", url.Values{"email": {email}}); p.status != 200 {
				t.Fatalf("request %d = %d", i+1, p.status)
			}
		}
		p := v.post("/signin", url.Values{"email": {"aNa@example.com"}})
		if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "Too many attempts") {
			t.Fatalf("6th request for one address = %d\n%s", p.status, p.body)
		}
		if ra := p.header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Fatalf("Retry-After %q", ra)
		}
		// Another address from the same IP is not held up by Ana's limit.
		if p := v.post("/signin", url.Values{"email": {"bob@example.com"}}); p.status != 200 {
			t.Fatalf("another address = %d", p.status)
		}
	})
}

func TestSignIn_RateLimitedPerIP(t *testing.T) {
	s := newSigninServer(t, testenv.SQLite(t), nil)
	v := s.visitor(t)
	var last page
	for i := range 21 {
		last = v.post("/password/reset", url.Values{"email": {"nobody" + strconv.Itoa(i) + "@example.com"}})
	}
	if last.status != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" {
		t.Fatalf("21st reset request from one IP = %d", last.status)
	}
}

func TestPasswordSignIn_RateLimitedPerAddress(t *testing.T) {
	s := newSigninServer(t, testenv.SQLite(t), nil)
	s.user(t, "ana@example.com", signinPassword)
	v := s.visitor(t)
	for i := range 5 {
		if p := v.post("/signin/password", url.Values{"email": {"ana@example.com"}, "password": {"guess number " + strconv.Itoa(i)}}); p.status != http.StatusUnauthorized {
			t.Fatalf("guess %d = %d", i+1, p.status)
		}
	}
	p := v.post("/signin/password", url.Values{"email": {"ana@example.com"}, "password": {signinPassword}})
	if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" {
		t.Fatalf("6th attempt = %d; even the right password waits", p.status)
	}
}

// ---- Beta gate ----

func TestBetaGate_OnlyUsersAndInviteesGetInOthersJoinTheList(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newSigninServer(t, db, map[string]string{"BETA_GATE": "true"})
		ctx := context.Background()
		s.user(t, "old@example.com", "")
		db.Create(&models.Subscriber{Email: "invited@example.com", Status: models.SubscriberInvited})
		v := s.visitor(t)

		if p := v.get("/signin"); !strings.Contains(p.body, "private beta") {
			t.Fatal("the sign-in page should say the beta is invite-only")
		}
		for _, path := range []string{"/signin", "/signup"} {
			form := url.Values{"email": {"stranger" + strings.ReplaceAll(path, "/", "-") + "@example.com"}, "password": {signinPassword}}
			p := v.post(path, form)
			if p.status != 200 || !strings.Contains(html.UnescapeString(p.body), "You're on the list") {
				t.Fatalf("stranger via %s = %d\n%s", path, p.status, p.body)
			}
			if _, err := s.ids.UserByEmail(ctx, form.Get("email")); !errors.Is(err, identity.ErrUserNotFound) {
				t.Fatalf("the gate let %s sign up", form.Get("email"))
			}
			if n := s.count(t, &models.Subscriber{}, "email = ? AND status = ?", form.Get("email"), models.SubscriberWaiting); n != 1 {
				t.Fatalf("%s is not waiting on the list", form.Get("email"))
			}
		}
		for _, email := range []string{"old@example.com", "invited@example.com"} {
			if p := v.post("/signin", url.Values{"email": {email}}); !strings.Contains(p.body, "Check your email") {
				t.Fatalf("%s was held at the gate", email)
			}
			s.waitForMail(t, email, 1)
		}
	})
}

func TestBetaGate_OffByDefault(t *testing.T) {
	s := newSigninServer(t, testenv.SQLite(t), nil)
	if p := s.visitor(t).post("/signin", url.Values{"email": {"stranger@example.com"}}); !strings.Contains(p.body, "Check your email") {
		t.Fatalf("without BETA_GATE anyone signs up:\n%s", p.body)
	}
	s.waitForMail(t, "stranger@example.com", 1)
}

// ---- Passwords ----

func TestSignUp_IndividualConfirmsByMailThenSignsInWithThePassword(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newSigninServer(t, db, nil)
		v := s.visitor(t)
		if p := v.get("/signup"); p.status != 200 || !strings.Contains(p.body, `name="password"`) {
			t.Fatalf("GET /signup = %d", p.status)
		}
		p := v.post("/signup", url.Values{"email": {"Ana@Example.com"}, "password": {signinPassword}, "kind": {"individual"}})
		if p.status != 200 || !strings.Contains(p.body, "Check your email") {
			t.Fatalf("POST /signup = %d\n%s", p.status, p.body)
		}
		early := v.post("/signin/password", url.Values{"email": {"ana@example.com"}, "password": {signinPassword}})
		if early.status != http.StatusForbidden || !strings.Contains(early.body, "Confirm your email address first") {
			t.Fatalf("password before confirming = %d\n%s", early.status, early.body)
		}
		m := s.waitForMail(t, "ana@example.com", 1)
		if !strings.Contains(m.Subject, "Confirm") {
			t.Fatalf("mail %q", m.Subject)
		}
		if p := v.signInByLink(linkIn(t, m)); p.status != http.StatusSeeOther {
			t.Fatalf("confirm = %d", p.status)
		}
		v.post("/signout", url.Values{})
		if p := v.post("/signin/password", url.Values{"email": {"ana@example.com"}, "password": {signinPassword}, "next": {"/credits"}}); p.status != http.StatusSeeOther || p.location() != "/credits" {
			t.Fatalf("password sign-in = %d %q\n%s", p.status, p.location(), p.body)
		}
		if v.signedInAs() != "ana@example.com" {
			t.Fatal("not signed in")
		}
	})
}

func TestSignUp_CompanyGetsItsDomainOnceConfirmed(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newSigninServer(t, db, nil)
		ctx := context.Background()
		v := s.visitor(t)
		p := v.post("/signup", url.Values{"email": {"boss@acme.test"}, "password": {signinPassword}, "kind": {"company"}, "company_name": {"Acme"}})
		if p.status != 200 || !strings.Contains(p.body, "Check your email") {
			t.Fatalf("company sign-up = %d\n%s", p.status, p.body)
		}
		boss, _ := s.ids.UserByEmail(ctx, "boss@acme.test")
		var acct models.Account
		db.Take(&acct, boss.AccountID)
		if acct.Kind != models.AccountCompany || acct.Name != "Acme" {
			t.Fatalf("account %+v", acct)
		}
		if n := s.count(t, &models.CompanyDomain{}, ""); n != 0 {
			t.Fatal("domain allowlisted before the admin confirmed the address")
		}
		v.signInByLink(linkIn(t, s.waitForMail(t, "boss@acme.test", 1)))
		if !strings.Contains(v.get("/").body, "company admin") {
			t.Fatal("the header should say the person is a company admin")
		}
		if n := s.count(t, &models.CompanyDomain{}, "account_id = ? AND domain = ?", acct.ID, "acme.test"); n != 1 {
			t.Fatal("confirming did not allowlist acme.test")
		}
		s.visitor(t).post("/signin", url.Values{"email": {"bob@acme.test"}})
		if bob, err := s.ids.UserByEmail(ctx, "bob@acme.test"); err != nil || bob.Role != models.RoleSeat || bob.AccountID != acct.ID {
			t.Fatalf("colleague %+v %v, want a seat", bob, err)
		}
	})
}

func TestSignUp_RefusalsNameTheProblem(t *testing.T) {
	s := newSigninServer(t, testenv.SQLite(t), nil)
	_, _, _ = s.ids.CreateCompany(context.Background(), identity.NewCompany{Name: "Acme", AdminEmail: "boss@acme.test"})
	v := s.visitor(t)
	for _, c := range []struct {
		form   url.Values
		status int
		says   string
	}{
		{url.Values{"email": {"me@gmail.com"}, "password": {signinPassword}, "kind": {"company"}, "company_name": {"Me"}}, 422, "public email provider"},
		{url.Values{"email": {"rival@acme.test"}, "password": {signinPassword}, "kind": {"company"}, "company_name": {"Rival"}}, 409, "another company"},
		{url.Values{"email": {"bob@acme.test"}, "password": {signinPassword}}, 409, "joins that company as a seat"},
		{url.Values{"email": {"ana@example.com"}, "password": {"short"}}, 422, "at least 10 characters"},
		{url.Values{"email": {"x@newco.test"}, "password": {signinPassword}, "kind": {"company"}}, 422, "Company name must be"},
	} {
		p := v.post("/signup", c.form)
		if p.status != c.status || !strings.Contains(html.UnescapeString(p.body), c.says) {
			t.Errorf("sign-up %v = %d, want %d saying %q", c.form, p.status, c.status, c.says)
		}
	}
}

// Sign-up does not reveal who has an account: an existing address gets
// the same page (and a sign-in link in its mailbox).
func TestSignUp_ExistingAddressGetsTheSamePageAndASignInLink(t *testing.T) {
	s := newSigninServer(t, testenv.SQLite(t), nil)
	s.user(t, "ana@example.com", signinPassword)
	v := s.visitor(t)
	fresh := v.post("/signup", url.Values{"email": {"new@example.com"}, "password": {signinPassword}})
	taken := v.post("/signup", url.Values{"email": {"ana@example.com"}, "password": {"another password"}})
	if taken.status != fresh.status || stripRequestID(strings.ReplaceAll(taken.body, "ana@example.com", "new@example.com")) != stripRequestID(fresh.body) {
		t.Fatalf("sign-up for a taken address answers differently (%d vs %d)", taken.status, fresh.status)
	}
	if m := s.waitForMail(t, "ana@example.com", 1); !strings.Contains(m.Subject, "sign-in link") {
		t.Fatalf("mail %q", m.Subject)
	}
	if _, err := s.ids.PasswordSignIn(context.Background(), "ana@example.com", signinPassword); err != nil {
		t.Fatalf("the owner's password must survive: %v", err)
	}
}

func TestPasswordSignIn_OneMessageForEveryWrongAnswer(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newSigninServer(t, db, nil)
		s.user(t, "ana@example.com", signinPassword)
		_, _, _ = s.ids.CreateCompany(context.Background(), identity.NewCompany{Name: "Acme", AdminEmail: "boss@acme.test"})
		_, _ = s.ids.ResolveSignIn(context.Background(), "seat@acme.test", false)
		v := s.visitor(t)
		for _, c := range [][2]string{{"ana@example.com", "wrong password"}, {"nobody@example.com", signinPassword}, {"seat@acme.test", signinPassword}} {
			p := v.post("/signin/password", url.Values{"email": {c[0]}, "password": {c[1]}})
			if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "Wrong email or password") {
				t.Errorf("%s = %d\n%s", c[0], p.status, p.body)
			}
		}
		if v.session() != "" {
			t.Fatal("a failed password sign-in set a session")
		}
	})
}

func TestPasswordReset_LinkSetsANewPasswordAndEndsOtherSessions(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newSigninServer(t, db, nil)
		u := s.user(t, "ana@example.com", signinPassword)
		laptop := s.visitor(t)
		if p := laptop.post("/signin/password", url.Values{"email": {"ana@example.com"}, "password": {signinPassword}}); p.status != http.StatusSeeOther {
			t.Fatalf("sign-in = %d", p.status)
		}
		v := s.visitor(t)
		known := v.post("/password/reset", url.Values{"email": {"ana@example.com"}})
		unknown := v.post("/password/reset", url.Values{"email": {"nobody@example.com"}})
		if known.status != 200 || stripRequestID(strings.ReplaceAll(unknown.body, "nobody@example.com", "ana@example.com")) != stripRequestID(known.body) {
			t.Fatalf("reset answers differ for known and unknown addresses (%d, %d)", known.status, unknown.status)
		}
		m := s.waitForMail(t, "ana@example.com", 1)
		l := linkIn(t, m)
		if !strings.Contains(l.url, activities.PasswordResetPath) || !strings.Contains(m.Subject, "Reset") {
			t.Fatalf("reset mail %q %s", m.Subject, l.url)
		}
		if p := v.get(l.url); p.status != 200 || !strings.Contains(p.body, `autocomplete="new-password"`) {
			t.Fatalf("GET reset link = %d", p.status)
		}
		// A password that breaks the policy does not burn the link.
		short := v.post(activities.PasswordResetPath, url.Values{"token": {l.token}, "email": {l.email}, "password": {"short"}})
		if short.status != http.StatusUnprocessableEntity {
			t.Fatalf("short password = %d", short.status)
		}
		done := v.post(activities.PasswordResetPath, url.Values{"token": {l.token}, "email": {l.email}, "password": {"a brand new passphrase"}})
		if done.status != http.StatusSeeOther || done.location() != "/dial" || v.signedInAs() != "ana@example.com" {
			t.Fatalf("reset = %d %q", done.status, done.location())
		}
		if laptop.signedInAs() != "" {
			t.Fatal("the other browser is still signed in after a reset")
		}
		if n := s.count(t, &models.Session{}, "user_id = ?", u.ID); n != 1 {
			t.Fatalf("%d sessions after the reset, want just this browser's", n)
		}
		if _, err := s.ids.PasswordSignIn(context.Background(), "ana@example.com", signinPassword); !errors.Is(err, identity.ErrBadCredentials) {
			t.Fatal("the old password still works")
		}
		if _, err := s.ids.PasswordSignIn(context.Background(), "ana@example.com", "a brand new passphrase"); err != nil {
			t.Fatalf("the new password: %v", err)
		}
		again := v.post(activities.PasswordResetPath, url.Values{"token": {l.token}, "email": {l.email}, "password": {"yet another passphrase"}})
		if again.status != http.StatusGone || !strings.Contains(again.body, `action="/password/reset"`) {
			t.Fatalf("reusing the reset link = %d", again.status)
		}
		time.Sleep(500 * time.Millisecond)
		if n := s.mailsTo("nobody@example.com"); n != 0 {
			t.Fatal("an unknown address got mail")
		}
	})
}

func TestPasswordReset_SeatsGetNoLink(t *testing.T) {
	s := newSigninServer(t, testenv.SQLite(t), nil)
	_, _, _ = s.ids.CreateCompany(context.Background(), identity.NewCompany{Name: "Acme", AdminEmail: "boss@acme.test"})
	seat, _ := s.ids.ResolveSignIn(context.Background(), "seat@acme.test", false)
	s.user(t, "ana@example.com", "")
	v := s.visitor(t)
	v.post("/password/reset", url.Values{"email": {"seat@acme.test"}})
	v.post("/password/reset", url.Values{"email": {"ana@example.com"}})
	s.waitForMail(t, "ana@example.com", 1)
	time.Sleep(500 * time.Millisecond)
	if n := s.mailsTo("seat@acme.test"); n != 0 {
		t.Fatal("a seat got a password reset link")
	}
	if n := s.count(t, &models.LoginToken{}, "user_id = ?", seat.User.ID); n != 0 {
		t.Fatal("a reset link was issued for a seat")
	}
	// Even a reset link made for a seat by other means cannot set one.
	l := s.issueLink(t, models.PurposePasswordReset, seat.User)
	if p := v.post(activities.PasswordResetPath, url.Values{"token": {l.token}, "email": {l.email}, "password": {signinPassword}}); p.status != http.StatusForbidden {
		t.Fatalf("seat reset = %d", p.status)
	}
}

// ---- Waiting list API ----

func TestSubscribe_ValidatesAndKeepsAddressesUniqueRegardlessOfCase(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newSigninServer(t, db, nil)
		v := s.visitor(t)
		postJSON := func(body string) page {
			req, _ := http.NewRequest("POST", s.URL+"/api/subscribe", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return page{status: resp.StatusCode, header: resp.Header, body: string(b)}
		}
		for _, c := range []struct {
			body, code, says string
			status           int
		}{
			{`{"email":""}`, "invalid_email", "email is required", 422},
			{`{}`, "invalid_email", "email is required", 422},
			{`{"email":"not-an-email"}`, "invalid_email", "is not an email address", 422},
			{`{"email":"` + strings.Repeat("a", 250) + `@example.com"}`, "invalid_email", "longer than 254", 422},
			{`{"email":`, "invalid_json", "as JSON", 400},
		} {
			p := postJSON(c.body)
			if p.status != c.status || !strings.Contains(p.body, `"code":"`+c.code+`"`) || !strings.Contains(p.body, c.says) {
				t.Errorf("subscribe %s = %d %s", c.body, p.status, p.body)
			}
		}
		if p := postJSON(`{"email":"Ana@Example.com"}`); p.status != 200 || !strings.Contains(p.body, `"email":"ana@example.com"`) {
			t.Fatalf("first = %d %s", p.status, p.body)
		}
		if p := postJSON(`{"email":"ana@EXAMPLE.com"}`); p.status != 200 {
			t.Fatalf("repeat in another case = %d %s, want 200", p.status, p.body)
		}
		if p := v.post("/api/subscribe", url.Values{"email": {"ANA@example.com"}}); p.status != 200 {
			t.Fatalf("form post = %d %s", p.status, p.body)
		}
		if n := s.count(t, &models.Subscriber{}, ""); n != 1 {
			t.Fatalf("%d subscribers, want 1", n)
		}
		var sub models.Subscriber
		db.Take(&sub)
		if sub.Status != models.SubscriberWaiting {
			t.Fatalf("status %s", sub.Status)
		}
	})
}

func TestSubscribe_CORSAllowsOnlyTheMarketingOrigin(t *testing.T) {
	s := newSigninServer(t, testenv.SQLite(t), map[string]string{"MARKETING_ORIGIN": "https://mobayilo.example"})
	v := s.visitor(t)
	preflight := func(origin string) page {
		return v.do("OPTIONS", "/api/subscribe", nil, map[string]string{"Origin": origin,
			"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
	}
	ok := preflight("https://mobayilo.example")
	if ok.status != http.StatusNoContent || ok.header.Get("Access-Control-Allow-Origin") != "https://mobayilo.example" ||
		!strings.Contains(ok.header.Get("Access-Control-Allow-Methods"), "POST") || !strings.Contains(strings.ToLower(ok.header.Get("Access-Control-Allow-Headers")), "content-type") {
		t.Fatalf("preflight from the marketing origin = %d %v", ok.status, ok.header)
	}
	for _, origin := range []string{"https://evil.example", "https://mobayilo.example.evil.test", "http://mobayilo.example"} {
		bad := preflight(origin)
		if bad.status != http.StatusForbidden || bad.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight from %s = %d with ACAO %q", origin, bad.status, bad.header.Get("Access-Control-Allow-Origin"))
		}
	}
	// The browser's real request from the marketing page: cross-site JSON.
	req, _ := http.NewRequest("POST", s.URL+"/api/subscribe", strings.NewReader(`{"email":"fan@example.com"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://mobayilo.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://mobayilo.example" {
		t.Fatalf("cross-site subscribe from the marketing origin = %d ACAO %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	if n := s.count(t, &models.Subscriber{}, "email = ?", "fan@example.com"); n != 1 {
		t.Fatal("the subscriber was not stored")
	}
}

func TestSubscribe_NoMarketingOriginMeansNoCrossOriginCalls(t *testing.T) {
	s := newSigninServer(t, testenv.SQLite(t), nil)
	p := s.visitor(t).do("OPTIONS", "/api/subscribe", nil, map[string]string{"Origin": "https://mobayilo.example", "Access-Control-Request-Method": "POST"})
	if p.status != http.StatusForbidden || p.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight without MARKETING_ORIGIN = %d %v", p.status, p.header)
	}
}

func TestSubscribe_RateLimitedPerIP(t *testing.T) {
	s := newSigninServer(t, testenv.SQLite(t), nil)
	v := s.visitor(t)
	var last page
	for i := range 21 {
		last = v.post("/api/subscribe", url.Values{"email": {"fan" + strconv.Itoa(i) + "@example.com"}})
	}
	if last.status != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" || !strings.Contains(last.body, `"rate_limited"`) {
		t.Fatalf("21st subscribe = %d %s", last.status, last.body)
	}
}

// ---- Dev mailbox ----

func TestDevMail_ListsMailNewestFirstWithClickableLinks(t *testing.T) {
	s := newSigninServer(t, testenv.SQLite(t), nil)
	_ = s.mailbox.Send(context.Background(), mail.Message{To: "a@example.com", Subject: "First", Text: "Hi\n\nhttp://x.test/one?a=1&b=2\n"})
	_ = s.mailbox.Send(context.Background(), mail.Message{To: "b@example.com", Subject: "Second", Text: "Open <this>: http://x.test/two\n"})
	p := s.visitor(t).get("/dev/mail")
	if p.status != 200 {
		t.Fatalf("GET /dev/mail = %d", p.status)
	}
	first, second := strings.Index(p.body, "First"), strings.Index(p.body, "Second")
	if first < 0 || second < 0 || second > first {
		t.Fatal("want both messages, newest first")
	}
	if !strings.Contains(p.body, `<a href="http://x.test/one?a=1&amp;b=2" data-devmail-link>`) || !strings.Contains(p.body, "Open &lt;this&gt;: ") {
		t.Fatalf("links must be clickable and text escaped:\n%s", p.body)
	}
	if !strings.Contains(p.header.Get("Cache-Control"), "no-store") {
		t.Fatal("the mailbox holds sign-in links; it must not be cached")
	}
}

func TestDevMail_IsA404WithSMTPOrOffLocalhostForNonOperators(t *testing.T) {
	db := testenv.SQLite(t)
	pages, _ := web.New()
	led := ledger.New(db)
	au, ids := auth.New(db), identity.New(db, led)
	remote := "127.0.0.1:5555"
	serve := func(base string, box *mail.Mailbox, cookie string) int {
		cfg, err := config.Load(map[string]string{"MOBAYILO_SANDBOX": "true", "PUBLIC_BASE_URL": base})
		if err != nil {
			t.Fatal(err)
		}
		h := api.New(deps(cfg, db, api.Deps{Pages: pages, Auth: au, Identity: ids, Ledger: led, Mailbox: box}))
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/dev/mail", nil)
		req.RemoteAddr = remote
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: cookie})
		}
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	box := mail.NewMailbox(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if code := serve("http://localhost:8080", nil, ""); code != 404 {
		t.Fatalf("with SMTP (no mailbox) = %d, want 404", code)
	}
	if code := serve("http://localhost:8080", box, ""); code != 200 {
		t.Fatalf("dev on localhost = %d, want 200", code)
	}
	remote = "192.168.1.20:4444"
	if code := serve("http://localhost:8080", box, ""); code != 404 {
		t.Fatalf("dev mailbox from another machine on the network = %d, want 404", code)
	}
	remote = "127.0.0.1:5555"
	if code := serve("https://sandbox.mobayilo.example", box, ""); code != 404 {
		t.Fatalf("public sandbox, signed out = %d, want 404", code)
	}
	plain, _, _ := ids.CreateUser(context.Background(), identity.NewUser{Email: "ana@example.com"})
	op, _, _ := ids.CreateUser(context.Background(), identity.NewUser{Email: "op@mobayilo.example", Admin: true})
	userCookie, _ := au.CreateSession(context.Background(), plain.ID, "", "")
	opCookie, _ := au.CreateSession(context.Background(), op.ID, "", "")
	if code := serve("https://sandbox.mobayilo.example", box, userCookie); code != 404 {
		t.Fatalf("public sandbox, a customer = %d, want 404", code)
	}
	if code := serve("https://sandbox.mobayilo.example", box, opCookie); code != 200 {
		t.Fatalf("public sandbox, an operator = %d, want 200", code)
	}
}

// ---- The layout's header ----

func TestLayout_HeaderShowsSignInOrTheSignedInAccount(t *testing.T) {
	s := newSigninServer(t, testenv.SQLite(t), nil)
	u := s.user(t, "ana@example.com", "")
	v := s.visitor(t)
	home := v.get("/")
	if !strings.Contains(home.body, `href="/signin"`) || strings.Contains(home.body, `action="/signout"`) {
		t.Fatal("signed out, the header should offer Sign in")
	}
	v.signInByLink(s.issueLink(t, models.PurposeMagicLink, u))
	home = v.get("/")
	if !strings.Contains(home.body, "ana@example.com") || !strings.Contains(home.body, `action="/signout"`) || !strings.Contains(home.body, `class="tabbar"`) {
		t.Fatal("signed in, the header should show the email and a Sign out form, and keep the tab bar")
	}
	if p := v.get("/signin"); p.status != http.StatusSeeOther || p.location() != "/dial" {
		t.Fatalf("/signin when signed in = %d %q", p.status, p.location())
	}
}
