package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

// cliKeyed posts a CLI top-up with an Idempotency-Key.
func (s *creditsServer) cliKeyed(token, key string, body any) (int, map[string]any, string) {
	s.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/cli/topups", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := s.noRedirect.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header.Get("Idempotent-Replayed")
}

func (s *creditsServer) topUpCount(accountID int64) int64 {
	s.t.Helper()
	var n int64
	if err := s.db.Model(&models.TopUp{}).Where("account_id = ?", accountID).Count(&n).Error; err != nil {
		s.t.Fatal(err)
	}
	return n
}

func TestTopUp_RepeatedIdempotencyKeyOpensOneCheckoutAndNeverASecondAfterPayment(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	u, _, tok := s.user("retry@example.com", models.AccountIndividual)
	const key = "moby-test-key-0001"
	code, first, replayed := s.cliKeyed(tok, key, map[string]any{"amount_cents": 600})
	if code != http.StatusCreated || replayed != "" || first["checkout_url"] == nil {
		t.Fatalf("first POST = %d %v replayed=%q", code, first, replayed)
	}
	// The CLI retrying after a lost answer: the same top-up and checkout.
	code, again, replayed := s.cliKeyed(tok, key, map[string]any{"amount_cents": 600})
	if code != http.StatusOK || replayed != "true" || again["id"] != first["id"] || again["checkout_url"] != first["checkout_url"] {
		t.Fatalf("replayed POST = %d %v (first %v) replayed=%q", code, again, first, replayed)
	}
	if n := s.topUpCount(u.AccountID); n != 1 {
		t.Fatalf("%d top-ups after a replay, want 1", n)
	}
	// The same key for a different request is refused, naming the problem.
	code, body, _ := s.cliKeyed(tok, key, map[string]any{"amount_cents": 900})
	if code != http.StatusConflict || !strings.Contains(body["error"].(map[string]any)["message"].(string), "different top-up") {
		t.Fatalf("key reused for $9 = %d %v", code, body)
	}
	// A malformed key is a 400 that writes nothing.
	code, body, _ = s.cliKeyed(tok, "short", map[string]any{"amount_cents": 600})
	if code != http.StatusBadRequest || body["error"].(map[string]any)["code"] != "bad_idempotency_key" {
		t.Fatalf("short key = %d %v", code, body)
	}
	// Pay it, then replay once more: the paid top-up is reported, and no
	// second checkout or workflow is opened.
	path := strings.TrimPrefix(first["checkout_url"].(string), s.URL)
	form := url.Values{"card": {providers.SandboxCardVisa}}
	if code, _, _ := s.do(http.MethodPost, path, strings.NewReader(form.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, nil); code != http.StatusSeeOther {
		t.Fatalf("paying = %d", code)
	}
	s.waitTopUp(first["id"].(string))
	code, after, replayed := s.cliKeyed(tok, key, map[string]any{"amount_cents": 600})
	if code != http.StatusOK || replayed != "true" || after["status"] != "succeeded" || after["checkout_url"] != nil || after["balance_cents"] != float64(600) {
		t.Fatalf("replay after payment = %d %v", code, after)
	}
	if n := s.topUpCount(u.AccountID); n != 1 {
		t.Fatalf("%d top-ups, want 1", n)
	}
	if acct, err := s.ledger.Account(t.Context(), u.AccountID); err != nil || acct.BalanceCents != 600 {
		t.Fatalf("balance %+v, %v", acct, err)
	}
}

func TestTopUp_DoubleSubmittedCreditsFormOpensOneCheckout(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	u, cookie, _ := s.user("double@example.com", models.AccountIndividual)
	code, _, page := s.do(http.MethodGet, "/credits", nil, nil, cookie)
	if code != http.StatusOK {
		t.Fatalf("GET /credits = %d", code)
	}
	const marker = `name="request_key" value="`
	i := bytes.Index(page, []byte(marker))
	if i < 0 {
		t.Fatal("the top-up form has no request_key")
	}
	key := string(page[i+len(marker):])
	key = key[:strings.IndexByte(key, '"')]
	post := func() string {
		form := url.Values{"amount": {"5"}, "request_key": {key}}
		code, loc, body := s.do(http.MethodPost, "/api/topups", strings.NewReader(form.Encode()),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, cookie)
		if code != http.StatusSeeOther {
			t.Fatalf("POST /api/topups = %d %s", code, body)
		}
		return loc
	}
	a, b := post(), post()
	if a != b || !strings.Contains(a, providers.SandboxCheckoutPath) {
		t.Fatalf("two submits went to %q and %q", a, b)
	}
	if n := s.topUpCount(u.AccountID); n != 1 {
		t.Fatalf("%d top-ups after a double submit, want 1", n)
	}
	// A freshly rendered form carries a new key: a second top-up is a new one.
	_, _, page2 := s.do(http.MethodGet, "/credits", nil, nil, cookie)
	if bytes.Contains(page2, []byte(marker+key+`"`)) {
		t.Fatal("a new page reused the previous form's request key")
	}
}
