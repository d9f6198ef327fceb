package api_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"golang.org/x/oauth2"
	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
	mworker "github.com/mobayilo/mobayilo/worker"
	"github.com/mobayilo/mobayilo/workflows"
)

// deviceServer is the real API on httptest, a real Temporal server and a
// worker built by worker.New on its own task queue, and a database.
type deviceServer struct {
	*httptest.Server
	t        *testing.T
	db       *gorm.DB
	auth     *auth.Service
	identity *identity.Service
	temporal client.Client
	// oauth is a standard RFC 8628 client for this server.
	oauth oauth2.Config
}

func newDeviceServer(t *testing.T, db *gorm.DB, env map[string]string) *deviceServer {
	t.Helper()
	tc := testenv.Temporal(t).Client(t)
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	queue := "device-test-" + hex.EncodeToString(suffix)
	led := ledger.New(db)
	w := mworker.New(tc, queue, &activities.Activities{Ledger: led})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	pages, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	s := &deviceServer{t: t, db: db, auth: auth.New(db), identity: identity.New(db, led), temporal: tc}
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
	cfg, err := config.Load(env)
	if err != nil {
		t.Fatal(err)
	}
	s.Config.Handler = api.New(deps(cfg, db, api.Deps{Temporal: tc,
		Pages: pages, Auth: s.auth, Identity: s.identity, Ledger: led}))
	s.oauth = oauth2.Config{ClientID: "moby", Endpoint: oauth2.Endpoint{
		DeviceAuthURL: s.URL + "/api/cli/device/code",
		TokenURL:      s.URL + "/api/cli/device/token",
		AuthStyle:     oauth2.AuthStyleInParams,
	}}
	return s
}

// signIn creates a user with a web session, as sign-in would.
func (s *deviceServer) signIn(email string) (models.User, *http.Cookie) {
	s.t.Helper()
	u, _, err := s.identity.CreateUser(context.Background(), identity.NewUser{Email: email})
	if err != nil {
		s.t.Fatal(err)
	}
	secret, err := s.auth.CreateSession(context.Background(), u.ID, "127.0.0.1", "test")
	if err != nil {
		s.t.Fatal(err)
	}
	return u, &http.Cookie{Name: api.SessionCookie, Value: secret}
}

// page requests a /device page as the cookie's user and returns status and
// HTML (redirects are not followed).
func (s *deviceServer) page(method, path string, cookie *http.Cookie, form url.Values) (int, http.Header, string) {
	s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, s.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// decide presses Approve or Deny on /device.
func (s *deviceServer) decide(cookie *http.Cookie, userCode, decision string) string {
	s.t.Helper()
	code, _, html := s.page("POST", "/device", cookie, url.Values{"user_code": {userCode}, "decision": {decision}})
	if code != http.StatusOK {
		s.t.Fatalf("POST /device %s = %d\n%s", decision, code, html)
	}
	return html
}

// form posts an OAuth request and decodes the JSON answer.
func (s *deviceServer) form(path string, v url.Values) (int, http.Header, map[string]any) {
	s.t.Helper()
	resp, err := http.PostForm(s.URL+path, v)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		s.t.Fatalf("%s: answer is not JSON: %v", path, err)
	}
	return resp.StatusCode, resp.Header, out
}

func (s *deviceServer) poll(deviceCode string) (int, map[string]any) {
	s.t.Helper()
	code, _, out := s.form("/api/cli/device/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
		"device_code": {deviceCode}, "client_id": {"moby"}})
	return code, out
}

func (s *deviceServer) deviceAuth(name string) *oauth2.DeviceAuthResponse {
	s.t.Helper()
	resp, err := s.oauth.DeviceAuth(context.Background(), oauth2.SetAuthURLParam("device_name", name))
	if err != nil {
		s.t.Fatal(err)
	}
	return resp
}

func (s *deviceServer) workflowID(deviceCode string) string {
	return workflows.DeviceLoginWorkflowID(auth.Hash(deviceCode))
}

func (s *deviceServer) result(deviceCode string) workflows.DeviceLoginResult {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var res workflows.DeviceLoginResult
	if err := s.temporal.GetWorkflow(ctx, s.workflowID(deviceCode), "").Get(ctx, &res); err != nil {
		s.t.Fatal(err)
	}
	return res
}

func oauthCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

var userCodeShape = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

func TestDeviceLogin_OAuth2ClientGetsAWorkingTokenOnceAfterApproval(t *testing.T) {
	t.Parallel() // the client waits out real 5 s intervals
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s := newDeviceServer(t, db, nil)
		u, cookie := s.signIn("ada@example.com")
		ctx := context.Background()

		resp := s.deviceAuth("ada-laptop")
		if !userCodeShape.MatchString(resp.UserCode) || len(resp.DeviceCode) < 43 {
			t.Fatalf("device auth response %+v: want a XXXX-XXXX user code and a high-entropy device code", resp)
		}
		if resp.VerificationURI != s.URL+"/device" || resp.VerificationURIComplete != s.URL+"/device?user_code="+resp.UserCode {
			t.Fatalf("verification URIs %q %q", resp.VerificationURI, resp.VerificationURIComplete)
		}
		if resp.Interval != 5 || time.Until(resp.Expiry) < 595*time.Second || time.Until(resp.Expiry) > 600*time.Second {
			t.Fatalf("interval %d, expires in %s; want 5 and 600s", resp.Interval, time.Until(resp.Expiry))
		}

		// The page accepts the code in any case, with or without the dash,
		// and says which device is asking.
		typed := strings.ToLower(strings.ReplaceAll(resp.UserCode, "-", ""))
		code, _, html := s.page("GET", "/device?user_code="+typed, cookie, nil)
		for _, want := range []string{"ada-laptop", "127.0.0.1", resp.UserCode, `value="approve"`, `value="deny"`} {
			if code != 200 || !strings.Contains(html, want) {
				t.Fatalf("GET /device?user_code=%s = %d, want it to show %q\n%s", typed, code, want, html)
			}
		}
		if html := s.decide(cookie, typed, "approve"); !strings.Contains(html, `data-device-outcome="approved"`) {
			t.Fatalf("approve page:\n%s", html)
		}

		tok, err := s.oauth.DeviceAccessToken(ctx, resp)
		if err != nil {
			t.Fatal(err)
		}
		if tok.TokenType != "bearer" || time.Until(tok.Expiry) < 29*24*time.Hour || time.Until(tok.Expiry) > 30*24*time.Hour {
			t.Fatalf("token type %q expiring %s; want a 30-day bearer token", tok.TokenType, tok.Expiry)
		}
		p, err := s.auth.TokenPrincipal(ctx, tok.AccessToken)
		if err != nil || p.User.ID != u.ID {
			t.Fatalf("the token does not authenticate ada: %+v %v", p.User, err)
		}
		if p.Token.Source != "device" || p.Token.Name != "ada-laptop" {
			t.Fatalf("token record %+v, want source device named after the device", p.Token)
		}
		req, _ := http.NewRequest("GET", s.URL+"/api/cli/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode == http.StatusUnauthorized {
			t.Fatalf("bearer token refused by the CLI API: %v %v", r, err)
		} else {
			r.Body.Close()
		}

		// Single use: the same device code never yields a second token.
		_, err = s.oauth.DeviceAccessToken(ctx, resp)
		if oauthCode(err) != "expired_token" {
			t.Fatalf("second DeviceAccessToken = %v, want expired_token", err)
		}
		res := s.result(resp.DeviceCode)
		if res.Status != workflows.DeviceLoginApproved || !res.TokenIssued || res.DecidedBy != u.ID {
			t.Fatalf("workflow result %+v", res)
		}
		var n int64
		db.Model(&models.PersonalAccessToken{}).Where("user_id = ?", u.ID).Count(&n)
		if n != 1 {
			t.Fatalf("%d tokens issued, want 1", n)
		}

		// Neither the device code nor the token is in Temporal's history or
		// in the database; the workflow is keyed on the code's hash.
		hist := testenv.WorkflowHistory(t, s.temporal, s.workflowID(resp.DeviceCode), "")
		for name, secret := range map[string]string{"device code": resp.DeviceCode, "access token": tok.AccessToken,
			"user code": strings.ReplaceAll(resp.UserCode, "-", "")} {
			if strings.Contains(string(hist), secret) {
				t.Errorf("the %s is in the workflow history", name)
			}
			var found int64
			db.Raw(`SELECT count(*) FROM device_authorizations WHERE device_code_hash = ? OR user_code_hash = ? OR workflow_id LIKE ?`,
				secret, secret, "%"+secret+"%").Scan(&found)
			db.Raw(`SELECT count(*) + ? FROM personal_access_tokens WHERE token_hash = ?`, found, secret).Scan(&found)
			if found != 0 {
				t.Errorf("the %s is stored in plain text", name)
			}
		}
		testenv.RecordHistory(t, hist, "device-login-approved")

		// The page now says the code is spent: to its approver, that the
		// device is connected; to anyone else, that it was used.
		if _, _, html := s.page("GET", "/device?user_code="+resp.UserCode, cookie, nil); !strings.Contains(html, `data-device-outcome="approved"`) {
			t.Fatalf("page for the approver of a used code:\n%s", html)
		}
		_, other := s.signIn("zed@example.com")
		if _, _, html := s.page("GET", "/device?user_code="+resp.UserCode, other, nil); !strings.Contains(html, "already been used") || strings.Contains(html, `value="approve"`) {
			t.Fatalf("page for a used code:\n%s", html)
		}
	})
}

func TestDeviceLogin_DenyEndsInAccessDenied(t *testing.T) {
	t.Parallel()
	s := newDeviceServer(t, testenv.Postgres(t), nil)
	_, cookie := s.signIn("ben@example.com")
	resp := s.deviceAuth("ben-server")
	if html := s.decide(cookie, resp.UserCode, "deny"); !strings.Contains(html, `data-device-outcome="denied"`) {
		t.Fatalf("deny page:\n%s", html)
	}
	_, err := s.oauth.DeviceAccessToken(context.Background(), resp)
	if oauthCode(err) != "access_denied" {
		t.Fatalf("DeviceAccessToken after a denial = %v, want access_denied", err)
	}
	if res := s.result(resp.DeviceCode); res.Status != workflows.DeviceLoginDenied || res.TokenIssued {
		t.Fatalf("workflow result %+v", res)
	}
	// A second decision cannot overturn the first, by the same user or
	// anyone else.
	if html := s.decide(cookie, resp.UserCode, "approve"); !strings.Contains(html, `data-device-outcome="denied"`) {
		t.Fatalf("approving a code you denied:\n%s", html)
	}
	_, other := s.signIn("zed@example.com")
	if html := s.decide(other, resp.UserCode, "approve"); !strings.Contains(html, `data-device-outcome="unusable"`) {
		t.Fatalf("approving someone else's denied code:\n%s", html)
	}
	if res := s.result(resp.DeviceCode); res.Status != workflows.DeviceLoginDenied {
		t.Fatalf("workflow result after a late approval %+v", res)
	}
	testenv.RecordHistory(t, testenv.WorkflowHistory(t, s.temporal, s.workflowID(resp.DeviceCode), ""), "device-login-denied")
	var n int64
	s.db.Model(&models.PersonalAccessToken{}).Count(&n)
	if n != 0 {
		t.Fatalf("%d tokens issued for a denied device", n)
	}
}

func TestDeviceLogin_TheWorkflowTimerExpiresTheCode(t *testing.T) {
	t.Parallel()
	s := newDeviceServer(t, testenv.SQLite(t), map[string]string{"DEVICE_CODE_LIFETIME": "2s"})
	_, cookie := s.signIn("cy@example.com")
	resp := s.deviceAuth("cy-pi")
	if time.Until(resp.Expiry) > 2*time.Second {
		t.Fatalf("expires_in not taken from DEVICE_CODE_LIFETIME: %s", time.Until(resp.Expiry))
	}
	// Ignore the client-side deadline, as a client with a skewed clock
	// would, so the first poll (after the 5 s interval) reaches the server
	// after the workflow's timer fired.
	resp.Expiry = time.Time{}
	_, err := s.oauth.DeviceAccessToken(context.Background(), resp)
	if oauthCode(err) != "expired_token" {
		t.Fatalf("DeviceAccessToken on an expired code = %v, want expired_token", err)
	}
	res := s.result(resp.DeviceCode)
	if res.Status != workflows.DeviceLoginExpired || res.DecidedBy != 0 {
		t.Fatalf("workflow result %+v, want expired with no decision", res)
	}
	desc, err := s.temporal.DescribeWorkflowExecution(context.Background(), s.workflowID(resp.DeviceCode), "")
	if err != nil {
		t.Fatal(err)
	}
	if st := desc.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("workflow status %s: expiry is a result of its own timer, not a failure or a timeout", st)
	}
	testenv.RecordHistory(t, testenv.WorkflowHistory(t, s.temporal, s.workflowID(resp.DeviceCode), ""), "device-login-expired")
	code, _, html := s.page("GET", "/device?user_code="+resp.UserCode, cookie, nil)
	if code != http.StatusGone || !strings.Contains(html, "expired") {
		t.Fatalf("page for an expired code = %d\n%s", code, html)
	}
	if code, _, _ := s.page("POST", "/device", cookie, url.Values{"user_code": {resp.UserCode}, "decision": {"approve"}}); code != http.StatusGone {
		t.Fatalf("approving an expired code = %d, want 410", code)
	}
}

// recordingTransport notes every OAuth answer the client sees.
type recordingTransport struct {
	mu      sync.Mutex
	answers []string
	seen    chan string
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || req.URL.Path != "/api/cli/device/token" {
		return resp, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	var out struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(b, &out)
	answer := out.Error
	if answer == "" {
		answer = "token"
	}
	rt.mu.Lock()
	rt.answers = append(rt.answers, answer)
	rt.mu.Unlock()
	rt.seen <- answer
	return resp, nil
}

func TestDeviceLogin_PollingTooFastGetsSlowDownAndTheClientBacksOff(t *testing.T) {
	t.Parallel()
	s := newDeviceServer(t, testenv.SQLite(t), nil)
	_, cookie := s.signIn("dee@example.com")
	resp := s.deviceAuth("dee-mac")

	// Two polls back to back: the second is too soon.
	if code, out := s.poll(resp.DeviceCode); code != 400 || out["error"] != "authorization_pending" {
		t.Fatalf("first poll = %d %v", code, out)
	}
	code, out := s.poll(resp.DeviceCode)
	if code != 400 || out["error"] != "slow_down" || !strings.Contains(out["error_description"].(string), "10 seconds") {
		t.Fatalf("second poll at once = %d %v, want slow_down with a 10 s interval", code, out)
	}

	// x/oauth2 polls after its 5 s interval, which is now too soon: it is
	// told slow_down, waits 5 s more, and then gets its token.
	rt := &recordingTransport{seen: make(chan string, 10)}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: rt})
	type outcome struct {
		tok *oauth2.Token
		err error
	}
	done := make(chan outcome, 1)
	start := time.Now()
	go func() {
		tok, err := s.oauth.DeviceAccessToken(ctx, resp)
		done <- outcome{tok, err}
	}()
	if first := <-rt.seen; first != "slow_down" {
		t.Fatalf("the client's first poll got %q, want slow_down", first)
	}
	s.decide(cookie, resp.UserCode, "approve")
	got := <-done
	if got.err != nil {
		t.Fatal(got.err)
	}
	if took := time.Since(start); took < 15*time.Second {
		t.Fatalf("token after %s: the client did not add 5 s after slow_down", took)
	}
	if len(rt.answers) != 2 || rt.answers[1] != "token" {
		t.Fatalf("client saw %v, want slow_down then the token", rt.answers)
	}
}

func TestDeviceLogin_ConcurrentPollsAfterApprovalIssueOneToken(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newDeviceServer(t, db, nil)
		u, cookie := s.signIn("eve@example.com")
		resp := s.deviceAuth("eve-box")
		s.decide(cookie, resp.UserCode, "approve")

		var wg sync.WaitGroup
		type answer struct {
			status int
			body   map[string]any
		}
		answers := make([]answer, 10)
		for i := range answers {
			wg.Go(func() {
				code, out := s.poll(resp.DeviceCode)
				answers[i] = answer{code, out}
			})
		}
		wg.Wait()
		tokens := 0
		for _, a := range answers {
			switch {
			case a.status == 200 && strings.HasPrefix(a.body["access_token"].(string), auth.TokenPrefix):
				tokens++
			case a.status == 400 && a.body["error"] == "expired_token":
			default:
				t.Errorf("poll answered %d %v", a.status, a.body)
			}
		}
		if tokens != 1 {
			t.Fatalf("%d of 10 concurrent polls got a token, want exactly 1: %v", tokens, answers)
		}
		var n int64
		db.Model(&models.PersonalAccessToken{}).Where("user_id = ?", u.ID).Count(&n)
		if n != 1 {
			t.Fatalf("%d tokens stored, want 1", n)
		}
	})
}

func TestDeviceLogin_EndpointsAnswerOAuthErrors(t *testing.T) {
	s := newDeviceServer(t, testenv.SQLite(t), nil)
	grant := "urn:ietf:params:oauth:grant-type:device_code"
	cases := []struct {
		name, path string
		form       url.Values
		status     int
		error      string
	}{
		{"code without client", "/api/cli/device/code", url.Values{}, 401, "invalid_client"},
		{"code for another client", "/api/cli/device/code", url.Values{"client_id": {"gh"}}, 401, "invalid_client"},
		{"token without grant", "/api/cli/device/token", url.Values{"client_id": {"moby"}, "device_code": {"x"}}, 400, "invalid_request"},
		{"token with another grant", "/api/cli/device/token", url.Values{"grant_type": {"password"}, "client_id": {"moby"}}, 400, "unsupported_grant_type"},
		{"token for another client", "/api/cli/device/token", url.Values{"grant_type": {grant}, "client_id": {"gh"}, "device_code": {"x"}}, 401, "invalid_client"},
		{"token without code", "/api/cli/device/token", url.Values{"grant_type": {grant}, "client_id": {"moby"}}, 400, "invalid_request"},
		{"token for an unknown code", "/api/cli/device/token", url.Values{"grant_type": {grant}, "client_id": {"moby"}, "device_code": {auth.NewSecret()}}, 400, "invalid_grant"},
	}
	for _, c := range cases {
		code, h, out := s.form(c.path, c.form)
		if code != c.status || out["error"] != c.error || out["error_description"] == "" {
			t.Errorf("%s: %d %v, want %d %s with a description", c.name, code, out, c.status, c.error)
		}
		if h.Get("Cache-Control") != "no-store" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			t.Errorf("%s: headers %v", c.name, h)
		}
	}
	// The device name is cleaned before anyone sees it.
	_, _, out := s.form("/api/cli/device/code", url.Values{"client_id": {"moby"}, "device_name": {"  evil\u202e\x1b[31m  laptop\n" + strings.Repeat("x", 200)}})
	var da models.DeviceAuthorization
	s.db.Where("device_code_hash = ?", auth.Hash(out["device_code"].(string))).Take(&da)
	if strings.ContainsAny(da.DeviceName, "\u202e\x1b\n") || len(da.DeviceName) > 100 || !strings.HasPrefix(da.DeviceName, "evil[31m laptop") {
		t.Fatalf("stored device name %q", da.DeviceName)
	}
}

func TestDeviceLogin_CodeRequestsAreRateLimitedPerIP(t *testing.T) {
	s := newDeviceServer(t, testenv.SQLite(t), nil)
	for i := range 20 {
		if code, _, out := s.form("/api/cli/device/code", url.Values{"client_id": {"moby"}}); code != 200 {
			t.Fatalf("request %d = %d %v", i+1, code, out)
		}
	}
	code, h, out := s.form("/api/cli/device/code", url.Values{"client_id": {"moby"}})
	if code != http.StatusTooManyRequests || out["error"] != "slow_down" || h.Get("Retry-After") == "" {
		t.Fatalf("21st code request = %d %v Retry-After %q", code, out, h.Get("Retry-After"))
	}
}

func TestDevicePage_WrongCodesAreRateLimitedPerUserAndPerIP(t *testing.T) {
	s := newDeviceServer(t, testenv.SQLite(t), nil)
	_, fay := s.signIn("fay@example.com")
	_, gus := s.signIn("gus@example.com")
	resp := s.deviceAuth("fay-phone")

	for i := range 10 {
		if code, _, html := s.page("GET", "/device?user_code=BBBB-BBBB", fay, nil); code != http.StatusUnprocessableEntity || !strings.Contains(html, "doesn&#39;t match") {
			t.Fatalf("wrong guess %d = %d\n%s", i+1, code, html)
		}
	}
	// Fay is locked out, even with the right code.
	code, h, html := s.page("GET", "/device?user_code="+resp.UserCode, fay, nil)
	if code != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(html, "Too many wrong codes") {
		t.Fatalf("after 10 wrong guesses = %d Retry-After %q\n%s", code, h.Get("Retry-After"), html)
	}
	code, _, _ = s.page("POST", "/device", fay, url.Values{"user_code": {resp.UserCode}, "decision": {"approve"}})
	if code != http.StatusTooManyRequests {
		t.Fatalf("approving while locked out = %d", code)
	}
	// Others on the same IP may still try, until the IP has 30 misses.
	if code, _, _ := s.page("GET", "/device?user_code="+resp.UserCode, gus, nil); code != 200 {
		t.Fatalf("another user with the right code = %d", code)
	}
	_, hank := s.signIn("hank@example.com")
	for _, c := range []*http.Cookie{gus, hank} {
		for i := range 10 {
			if code, _, _ := s.page("GET", "/device?user_code=not-a-code", c, nil); code != http.StatusUnprocessableEntity {
				t.Fatalf("wrong guess %d = %d", i+1, code)
			}
		}
	}
	_, ida := s.signIn("ida@example.com")
	if code, _, _ := s.page("GET", "/device?user_code="+resp.UserCode, ida, nil); code != http.StatusTooManyRequests {
		t.Fatalf("a fresh user after 30 misses from one IP = %d, want 429", code)
	}
}

func TestDevicePage_NeedsAnActiveSignedInUser(t *testing.T) {
	s := newDeviceServer(t, testenv.SQLite(t), nil)
	resp := s.deviceAuth("hal-vm")
	code, h, _ := s.page("GET", "/device?user_code="+resp.UserCode, nil, nil)
	if code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/signin?next=") {
		t.Fatalf("signed out: %d Location %q", code, h.Get("Location"))
	}
	u, cookie := s.signIn("hal@example.com")
	if err := s.db.Model(&models.User{}).Where("id = ?", u.ID).Update("status", models.StatusDisabled).Error; err != nil {
		t.Fatal(err)
	}
	code, _, _ = s.page("POST", "/device", cookie, url.Values{"user_code": {resp.UserCode}, "decision": {"approve"}})
	if code != http.StatusSeeOther {
		t.Fatalf("disabled user approving = %d, want a redirect to sign in", code)
	}
	if code, out := s.poll(resp.DeviceCode); out["error"] != "authorization_pending" {
		t.Fatalf("after a disabled user's attempt the code is %d %v, want still pending", code, out)
	}
}

func TestDeviceLogin_AUserDisabledAfterApprovingGetsNoToken(t *testing.T) {
	s := newDeviceServer(t, testenv.SQLite(t), nil)
	u, cookie := s.signIn("ivy@example.com")
	resp := s.deviceAuth("ivy-laptop")
	s.decide(cookie, resp.UserCode, "approve")
	if err := s.db.Model(&models.User{}).Where("id = ?", u.ID).Update("status", models.StatusDisabled).Error; err != nil {
		t.Fatal(err)
	}
	if code, out := s.poll(resp.DeviceCode); code != 400 || out["error"] != "access_denied" {
		t.Fatalf("poll = %d %v, want access_denied", code, out)
	}
	var n int64
	s.db.Model(&models.PersonalAccessToken{}).Count(&n)
	if n != 0 {
		t.Fatalf("%d tokens issued to a disabled user", n)
	}
}

func TestDeviceLogin_OldRowsArePurgedByLaterRequests(t *testing.T) {
	s := newDeviceServer(t, testenv.SQLite(t), nil)
	now := time.Now().UTC()
	old := models.DeviceAuthorization{DeviceCodeHash: "old", UserCodeHash: "old-code", WorkflowID: "device-login/old", ClientID: "moby",
		CreatedAt: now.Add(-9 * 24 * time.Hour), ExpiresAt: now.Add(-8 * 24 * time.Hour)}
	recent := models.DeviceAuthorization{DeviceCodeHash: "recent", UserCodeHash: "recent-code", WorkflowID: "device-login/recent", ClientID: "moby",
		CreatedAt: now.Add(-2 * 24 * time.Hour), ExpiresAt: now.Add(-2 * 24 * time.Hour)}
	if err := s.db.Create(&old).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.db.Create(&recent).Error; err != nil {
		t.Fatal(err)
	}
	if code, _, out := s.form("/api/cli/device/code", url.Values{"client_id": {"moby"}}); code != 200 {
		t.Fatalf("code request = %d %v", code, out)
	}
	var left []string
	s.db.Model(&models.DeviceAuthorization{}).Order("id").Pluck("device_code_hash", &left)
	if len(left) != 2 || left[0] != "recent" {
		t.Fatalf("rows left %v: want the recent one and the new one, not the week-old one", left)
	}
}
