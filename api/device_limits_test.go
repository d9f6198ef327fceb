package api_test

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/mobayilo/mobayilo/internal/testenv"
)

// The token endpoint's rate limits (30 polls per device code and 120 per IP
// per minute) answer as RFC 8628 clients expect: 429, Retry-After, and the
// OAuth error slow_down. Counters live in the test's own database, and a
// window lasts a minute from its first request, so each test runs well
// inside one window.

// pollToken polls the token endpoint for code and returns status, the
// headers and the JSON body.
func (s *deviceServer) pollToken(code string) (int, http.Header, map[string]any) {
	s.t.Helper()
	return s.form("/api/cli/device/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
		"device_code": {code}, "client_id": {"moby"}})
}

// wantSlowDown429 checks a rate-limit refusal: 429, a Retry-After of whole
// seconds within the one-minute window, and the OAuth error body. The
// window's reset is rounded up to a second and Retry-After rounds up again,
// so a window just begun answers 61.
func wantSlowDown429(t *testing.T, what string, status int, h http.Header, out map[string]any) {
	t.Helper()
	retry, err := strconv.Atoi(h.Get("Retry-After"))
	desc, _ := out["error_description"].(string)
	if status != http.StatusTooManyRequests || err != nil || retry < 1 || retry > 61 || out["error"] != "slow_down" ||
		!strings.Contains(desc, "retry after "+h.Get("Retry-After")+" seconds") || len(out) != 2 || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("%s = %d Retry-After %q %v; want 429, Retry-After 1-61 s and {\"error\":\"slow_down\",...}", what, status, h.Get("Retry-After"), out)
	}
}

func randomDeviceCode(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func TestDeviceToken_PollsPerDeviceCodeAreLimitedWithoutBlockingAnotherCode(t *testing.T) {
	s := newDeviceServer(t, testenv.SQLite(t), nil)
	first, second := s.deviceAuth("fast-poller"), s.deviceAuth("patient-poller")
	for i := range 30 {
		// The workflow answers pending, then slow_down (400) for polling
		// faster than the interval: polls within the limit.
		status, h, out := s.pollToken(first.DeviceCode)
		if status != http.StatusBadRequest || h.Get("Retry-After") != "" || (out["error"] != "authorization_pending" && out["error"] != "slow_down") {
			t.Fatalf("poll %d of one code = %d %v, want the workflow's answer", i+1, status, out)
		}
	}
	status, h, out := s.pollToken(first.DeviceCode)
	wantSlowDown429(t, "the 31st poll of one code in a minute", status, h, out)

	// Another code from the same IP, well below the IP's 120, still polls.
	if status, h, out := s.pollToken(second.DeviceCode); status != http.StatusBadRequest || out["error"] != "authorization_pending" || h.Get("Retry-After") != "" {
		t.Fatalf("another code from the same IP = %d %v, want authorization_pending", status, out)
	}
	// And the limited code stays limited.
	status, h, out = s.pollToken(first.DeviceCode)
	wantSlowDown429(t, "the limited code polled again", status, h, out)
}

func TestDeviceToken_PollsPerIPAreLimitedAcrossCodes(t *testing.T) {
	s := newDeviceServer(t, testenv.SQLite(t), nil)
	// 120 polls, each for another (unknown) code: no code reaches its own
	// limit, so only the IP's can stop them.
	for i := range 120 {
		if status, h, out := s.pollToken(randomDeviceCode(t)); status != http.StatusBadRequest || out["error"] != "invalid_grant" || h.Get("Retry-After") != "" {
			t.Fatalf("poll %d from the IP = %d %v, want invalid_grant", i+1, status, out)
		}
	}
	status, h, out := s.pollToken(randomDeviceCode(t))
	wantSlowDown429(t, "the 121st poll from one IP in a minute, for a fresh code", status, h, out)
	// A real code from that IP is refused too, before its workflow is asked.
	resp := s.deviceAuth("late-device")
	status, h, out = s.pollToken(resp.DeviceCode)
	wantSlowDown429(t, "a real code's first poll from the limited IP", status, h, out)
}
