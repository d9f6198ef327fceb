package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mobayilo/mobayilo/internal/testenv"
)

// "/" is the dialer for a signed-in user and the home page with its rate
// lookup for visitors; /dial redirects to "/" keeping its query (checkout
// returns to /dial?topup=…), and sends visitors to sign in first.
func TestDialer_IsTheHomeOfSignedInUsersAndDialRedirectsThere(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	c := s.caller("home@example.com", 150)

	code, _, body := s.do(http.MethodGet, "/", nil, nil, nil)
	if page := string(body); code != 200 || !strings.Contains(page, "data-rate-form") || strings.Contains(page, "data-dialer") {
		t.Fatalf("a visitor's / = %d, want the home page with the rate lookup:\n%s", code, page)
	}
	code, _, body = s.do(http.MethodGet, "/", nil, nil, c.cookie)
	page := string(body)
	if code != 200 || !strings.Contains(page, "data-dialer") || strings.Contains(page, "data-rate-form") {
		t.Fatalf("a signed-in / = %d, want the dialer:\n%s", code, page)
	}
	for _, want := range []string{`<label for="dial-number">Phone number</label>`, `data-sandbox="true"`, `data-available-cents="150"`,
		`data-low-balance`, `href="/credits" data-topup-link`, `role="status" data-call-status`, "/static/dialer.js?v="} {
		if !strings.Contains(page, want) {
			t.Errorf("the dialer lacks %s", want)
		}
	}
	if strings.Contains(page, "voice-sdk") {
		t.Error("the sandbox dialer loads the Voice SDK")
	}
	if csp := s.header(t, "/", c.cookie, "Content-Security-Policy"); strings.Contains(csp, "twilio") || !strings.Contains(csp, "connect-src 'self';") {
		t.Errorf("sandbox CSP %q names Twilio", csp)
	}

	code, loc, _ := s.do(http.MethodGet, "/dial?topup=tu_x&number=%2B14155550100", nil, nil, c.cookie)
	if code != http.StatusFound || loc != "/?topup=tu_x&number=%2B14155550100" {
		t.Fatalf("/dial = %d → %q, want a redirect to / with the query", code, loc)
	}
	code, loc, _ = s.do(http.MethodGet, "/dial", nil, nil, nil)
	if code != http.StatusSeeOther || loc != "/signin?next=%2Fdial" {
		t.Fatalf("a visitor's /dial = %d → %q, want sign-in first", code, loc)
	}
	code, _, body = s.do(http.MethodGet, "/?number=%2B14155550100", nil, nil, c.cookie)
	if code != 200 || !strings.Contains(string(body), `value="&#43;14155550100"`) {
		t.Fatalf("the home page's \"Call this number\" does not prefill the dialer (%d)", code)
	}
}

// header is one response header of a GET.
func (s *creditsServer) header(t *testing.T, path string, cookie *http.Cookie, name string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := s.noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get(name)
}
