package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/internal/wire"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

type server struct {
	*httptest.Server
	db  *gorm.DB
	cfg config.Config
}

func newServer(t *testing.T, db *gorm.DB, env map[string]string) *server {
	t.Helper()
	if _, err := rates.SeedIfEmpty(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	pages, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{db: db}
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
	cfg, err := config.Load(env)
	if err != nil {
		t.Fatal(err)
	}
	s.cfg = cfg
	s.Config.Handler = api.New(deps(cfg, db, api.Deps{Pages: pages}))
	return s
}

func (s *server) get(t *testing.T, path string) (int, http.Header, wire.ErrorBody, map[string]any) {
	t.Helper()
	resp, err := http.Get(s.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	var eb wire.ErrorBody
	if e, ok := raw["error"].(map[string]any); ok {
		eb.Error.Code, _ = e["code"].(string)
		eb.Error.Message, _ = e["message"].(string)
	}
	return resp.StatusCode, resp.Header, eb, raw
}

func TestRates_CountryAndCalculateAnswerGoodInput(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newServer(t, db, nil)
		code, _, _, body := s.get(t, "/api/rates/fr")
		if code != 200 || body["iso"] != "FR" || body["country"] != "France" {
			t.Fatalf("GET /api/rates/fr = %d %v", code, body)
		}
		rs, _ := body["rates"].([]any)
		if len(rs) < 2 {
			t.Fatalf("want landline and mobile prefixes for FR, got %v", rs)
		}
		for _, q := range []string{"phone_number=0612345678&country=FR", "phone_number=%2B33+6+12+34+56+78", "phone_number=0033612345678"} {
			code, _, _, body = s.get(t, "/api/rates/calculate?"+q)
			if code != 200 || body["e164"] != "+33612345678" || body["prefix"] != "336" || body["destination"] != "Mobile" {
				t.Fatalf("calculate %s = %d %v", q, code, body)
			}
			if body["individual_cents_per_minute"].(float64) < body["company_cents_per_minute"].(float64) {
				t.Fatalf("company seats must not pay more than individuals: %v", body)
			}
		}
	})
}

func TestRates_BadInputIs400WithAClearMessage(t *testing.T) {
	s := newServer(t, testenv.SQLite(t), nil)
	cases := []struct{ path, code, says string }{
		{"/api/rates/calculate", "empty", "enter a phone number"},
		{"/api/rates/calculate?phone_number=06123&country=FR", "too_short", "too short"},
		{"/api/rates/calculate?phone_number=0612345678", "region_required", "needs a country"},
		{"/api/rates/calculate?phone_number=0612345678&country=QQ", "unknown_region", "unknown country"},
		{"/api/rates/calculate?phone_number=%2B999123456", "unknown_country", "unknown country"},
		{"/api/rates/calculate?phone_number=call+me", "not_a_number", "not a phone number"},
		{"/api/rates/calculate?phone_number=0899123456&country=FR", "not_dialable", "premium-rate"},
		{"/api/rates/calculate?phone_number=" + strings.Repeat("1", 80), "too_long", "too long"},
		{"/api/rates/FRA", "invalid_country", "two-letter"},
		{"/api/rates/QQ", "unknown_country", "QQ"},
		{"/api/rates/1%3B", "invalid_country", "two-letter"},
	}
	for _, c := range cases {
		code, _, eb, _ := s.get(t, c.path)
		if code != 400 || eb.Error.Code != c.code || !strings.Contains(eb.Error.Message, c.says) {
			t.Errorf("GET %s = %d %+v; want 400 %s saying %q", c.path, code, eb.Error, c.code, c.says)
		}
	}
}

func TestRates_RateLimitedWithRetryAfter(t *testing.T) {
	s := newServer(t, testenv.SQLite(t), map[string]string{"RATES_LIMIT_PER_MINUTE": "3"})
	for i := range 3 {
		if code, _, _, _ := s.get(t, "/api/rates/FR"); code != 200 {
			t.Fatalf("request %d answered %d", i+1, code)
		}
	}
	code, h, eb, _ := s.get(t, "/api/rates/calculate?phone_number=%2B33612345678")
	if code != http.StatusTooManyRequests || eb.Error.Code != "rate_limited" {
		t.Fatalf("4th request = %d %+v, want 429 rate_limited", code, eb)
	}
	if ra := h.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After = %q", ra)
	}
}

func TestReadyz_NamesWhatFailed(t *testing.T) {
	db := testenv.SQLite(t)
	s := newServer(t, db, nil)
	code, _, _, body := s.get(t, "/readyz")
	checks, _ := body["checks"].(map[string]any)
	if code != 503 || checks["database"] != "ok" || !strings.Contains(checks["temporal"].(string), "not configured") {
		t.Fatalf("readyz without Temporal = %d %v", code, body)
	}
	sqlDB, _ := db.DB()
	sqlDB.Close()
	code, _, _, body = s.get(t, "/readyz")
	checks, _ = body["checks"].(map[string]any)
	if code != 503 || !strings.Contains(checks["database"].(string), "unreachable") {
		t.Fatalf("readyz with the database gone = %d %v", code, body)
	}
	if code, _, _, _ := s.get(t, "/healthz"); code != 200 {
		t.Fatalf("healthz = %d; the process is up", code)
	}
}

func TestReadyz_OKWithRealTemporal(t *testing.T) {
	srv := testenv.Temporal(t)
	db := testenv.SQLite(t)
	pages, _ := web.New()
	cfg, _ := config.Load(map[string]string{})
	h := api.New(deps(cfg, db, api.Deps{Pages: pages, Temporal: srv.Client(t)}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 {
		t.Fatalf("readyz = %d %s", rec.Code, rec.Body)
	}
}

func countRows(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var total int64
	for _, m := range []any{&models.LedgerEntry{}, &models.AuditLog{}, &models.Account{}, &models.Hold{}} {
		var n int64
		db.Model(m).Count(&n)
		total += n
	}
	return total
}

func postRaw(t *testing.T, url, contentType string, body string, headers map[string]string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestStripeWebhook_RefusesBadSignaturesBeforeAnythingElse(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newServer(t, db, map[string]string{"STRIPE_WEBHOOK_SECRET": "whsec_test_secret"})
		before := countRows(t, db)
		body := `{"id":"evt_1","object":"event","type":"checkout.session.completed","api_version":"2023-10-16","created":1,"data":{"object":{"id":"cs_1","object":"checkout.session"}}}`
		url := s.URL + "/api/webhooks/stripe"
		now := time.Now()
		cases := map[string]struct {
			body, header string
		}{
			"tampered body":   {strings.Replace(body, "cs_1", "cs_2", 1), providers.SignStripe([]byte(body), "whsec_test_secret", now)},
			"wrong secret":    {body, providers.SignStripe([]byte(body), "whsec_other", now)},
			"stale timestamp": {body, providers.SignStripe([]byte(body), "whsec_test_secret", now.Add(-301*time.Second))},
			"missing header":  {body, ""},
		}
		for name, c := range cases {
			if code := postRaw(t, url, "application/json", c.body, map[string]string{"Stripe-Signature": c.header}); code != 400 {
				t.Errorf("%s: status %d, want 400", name, code)
			}
		}
		if after := countRows(t, db); after != before {
			t.Fatalf("refused webhooks wrote %d rows", after-before)
		}
		if code := postRaw(t, url, "application/json", body, map[string]string{"Stripe-Signature": providers.SignStripe([]byte(body), "whsec_test_secret", now)}); code != 200 {
			t.Fatalf("a correctly signed event answered %d", code)
		}
	})
}

// Issue 11 §3 asks 403 for a bad or missing X-Twilio-Signature (it was
// 400 before calling existed).
func TestTwilioWebhook_VerifiesAgainstThePublicURL(t *testing.T) {
	s := newServer(t, testenv.SQLite(t), map[string]string{"TWILIO_AUTH_TOKEN": "twilio_secret"})
	form := url.Values{"CallSid": {"CA123"}, "CallStatus": {"completed"}, "CallDuration": {"61"}}
	path := "/api/webhooks/twilio/status?call=42"
	good := providers.SignTwilio("twilio_secret", s.cfg.PublicBaseURL+path, form)
	cases := map[string]struct {
		form url.Values
		sig  string
		want int
	}{
		"signed":         {form, good, 204},
		"tampered param": {url.Values{"CallSid": {"CA123"}, "CallStatus": {"completed"}, "CallDuration": {"1"}}, good, 403},
		"wrong secret":   {form, providers.SignTwilio("other", s.cfg.PublicBaseURL+path, form), 403},
		"other url":      {form, providers.SignTwilio("twilio_secret", "https://evil.example"+path, form), 403},
		"missing header": {form, "", 403},
	}
	for name, c := range cases {
		if code := postRaw(t, s.URL+path, "application/x-www-form-urlencoded", c.form.Encode(), map[string]string{"X-Twilio-Signature": c.sig}); code != c.want {
			t.Errorf("%s: status %d, want %d", name, code, c.want)
		}
	}
}

func TestErrors_UnknownRoutesAndMethodsAnswerJSONUnderAPI(t *testing.T) {
	s := newServer(t, testenv.SQLite(t), nil)
	if code, _, eb, _ := s.get(t, "/api/nothing-here"); code != 404 || eb.Error.Code != "not_found" {
		t.Fatalf("unknown API route = %d %+v", code, eb)
	}
	if code := postRaw(t, s.URL+"/api/rates/FR", "application/json", "{}", nil); code != 405 {
		t.Fatalf("POST on a GET route = %d, want 405", code)
	}
	resp, err := http.Get(s.URL + "/no-such-page")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("unknown page = %d %s, want the styled HTML 404", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
