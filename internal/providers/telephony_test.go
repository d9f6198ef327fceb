package providers

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	twclient "github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/mobayilo/mobayilo/internal/testenv"
)

func prismTelephony(t *testing.T, extra map[string]string) (*twilioTelephony, *recorder) {
	t.Helper()
	environ := map[string]string{
		"TWILIO_ACCOUNT_SID":  testenv.PrismProbeAccountSID,
		"TWILIO_AUTH_TOKEN":   "authtoken0123",
		"TWILIO_API_BASE_URL": testenv.TwilioPrism(t),
	}
	for k, v := range extra {
		environ[k] = v
	}
	rec := newRecorder()
	return newTwilioTelephony(loadConfig(t, environ), rec), rec
}

func TestTwilioTelephony_FetchAccountPutsAccountSIDInPath(t *testing.T) {
	tel, rec := prismTelephony(t, nil)

	acct, err := tel.FetchAccount(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	if acct.SID == "" || acct.Status == "" {
		t.Errorf("account = %+v, want a SID and a status", acct)
	}
	reqs := rec.requests()
	if len(reqs) != 1 {
		t.Fatalf("sent %d requests, want 1", len(reqs))
	}
	want := "/2010-04-01/Accounts/" + testenv.PrismProbeAccountSID + ".json"
	if got := reqs[0].URL.Path; got != want || strings.Contains(got, "/Accounts//") {
		t.Errorf("path = %q, want %q", got, want)
	}
	if user, pass, _ := basicAuth(reqs[0].Header); user != testenv.PrismProbeAccountSID || pass != "authtoken0123" {
		t.Errorf("basic auth = %q:%q, want account SID and auth token", user, pass)
	}
}

func TestTwilioTelephony_PrefersAPIKeyOverAuthToken(t *testing.T) {
	tel, rec := prismTelephony(t, map[string]string{"TWILIO_API_KEY": "SK0123456789abcdef0123456789abcdef", "TWILIO_API_SECRET": "apisecret0123"})

	if _, err := tel.FetchAccount(context.Background()); err != nil {
		t.Fatal(err)
	}

	reqs := rec.requests()
	if user, pass, _ := basicAuth(reqs[0].Header); user != "SK0123456789abcdef0123456789abcdef" || pass != "apisecret0123" {
		t.Errorf("basic auth = %q:%q, want the API key and secret", user, pass)
	}
	if !strings.Contains(reqs[0].URL.Path, "/Accounts/"+testenv.PrismProbeAccountSID+".json") {
		t.Errorf("path = %q, want the account SID, not the API key", reqs[0].URL.Path)
	}
}

func TestTwilioTelephony_CancelledContextStopsTheCall(t *testing.T) {
	tel, _ := prismTelephony(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := tel.FetchAccount(ctx)

	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestPrism_EnforcesTwilioSpec proves the harness: if Prism accepted
// anything, the tests above would prove nothing about our requests.
func TestPrism_EnforcesTwilioSpec(t *testing.T) {
	tel, _ := prismTelephony(t, nil)
	rest := tel.rest(context.Background())
	valid := func() *api.CreateCallParams {
		return (&api.CreateCallParams{}).SetTo("+15551234567").SetFrom("+15557654321").SetUrl("https://example.com/twiml")
	}

	t.Run("valid call is created", func(t *testing.T) {
		call, err := rest.Api.CreateCall(valid())
		if err != nil {
			t.Fatal(err)
		}
		if call.Sid == nil || *call.Sid == "" {
			t.Errorf("call has no SID: %+v", call)
		}
	})
	t.Run("call without From is rejected", func(t *testing.T) {
		p := valid()
		p.From = nil
		_, err := rest.Api.CreateCall(p)
		assertRejected(t, err)
	})
	t.Run("empty account SID in path is rejected", func(t *testing.T) {
		_, err := rest.Api.CreateCall(valid().SetPathAccountSid(""))
		assertRejected(t, err)
	})
	t.Run("request without auth is rejected", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, testenv.TwilioPrism(t)+"/2010-04-01/Accounts/"+testenv.PrismProbeAccountSID+".json", nil)
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status = %d, want 401", resp.StatusCode)
		}
	})
}

func assertRejected(t *testing.T, err error) {
	t.Helper()
	var rest *twclient.TwilioRestError
	if !errors.As(err, &rest) {
		t.Fatalf("err = %v (%T), want a *TwilioRestError", err, err)
	}
	if rest.Status < 400 || rest.Status >= 500 {
		t.Errorf("status = %d, want 4xx (Prism answers 422)", rest.Status)
	}
}

func basicAuth(h http.Header) (user, pass string, ok bool) {
	r := http.Request{Header: h}
	return r.BasicAuth()
}
