package providers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
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

// Reconciliation asks Twilio for a call by SID: the request is the one
// Twilio's own OpenAPI spec describes (Prism refuses any other), and the
// answer's status and duration are read.
func TestTwilioTelephony_FetchCallReadsStatusAndDurationFromTwilio(t *testing.T) {
	tel, rec := prismTelephony(t, nil)
	const sid = "CA0123456789abcdef0123456789abcdef"

	info, err := tel.FetchCall(context.Background(), sid)
	if err != nil {
		t.Fatal(err)
	}

	if info.SID == "" || info.Status == "" {
		t.Fatalf("call = %+v, want Twilio's SID and status", info)
	}
	if info.DurationSeconds < 0 {
		t.Errorf("duration = %d, want Twilio's example duration read", info.DurationSeconds)
	}
	reqs := rec.requests()
	want := "/2010-04-01/Accounts/" + testenv.PrismProbeAccountSID + "/Calls/" + sid + ".json"
	if len(reqs) != 1 || reqs[0].URL.Path != want || reqs[0].Method != http.MethodGet {
		t.Fatalf("requests %v, want one GET %s", reqs, want)
	}
}

// Voice tokens carry the TTL we ask for in their exp claim, not
// twilio-go's one-hour floor, and a Voice grant for our TwiML app.
func TestVoiceToken_ExpClaimIsTheTTLAskedFor(t *testing.T) {
	now := time.Now()
	expires := now.Add(5 * time.Minute).Truncate(time.Second)
	tok, err := voiceToken("AC0123", "SK0123", "secret0123", "AP0123", "user_7", expires)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWT", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Exp    int64  `json:"exp"`
		Iss    string `json:"iss"`
		Sub    string `json:"sub"`
		Grants struct {
			Identity string `json:"identity"`
			Voice    struct {
				Outgoing struct {
					ApplicationSid string `json:"application_sid"`
				} `json:"outgoing"`
			} `json:"voice"`
		} `json:"grants"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Exp != expires.Unix() {
		t.Errorf("exp = %d (%s from now), want %d (5m)", claims.Exp, time.Unix(claims.Exp, 0).Sub(now).Round(time.Second), expires.Unix())
	}
	if claims.Iss != "SK0123" || claims.Sub != "AC0123" || claims.Grants.Identity != "user_7" || claims.Grants.Voice.Outgoing.ApplicationSid != "AP0123" {
		t.Errorf("claims %+v", claims)
	}
	if _, err := voiceToken("AC0123", "", "", "", "user_7", expires); err == nil {
		t.Error("a token without an API key was signed")
	}
}

// A bridge call's owner leg: Calls create carries To, From, our webhook
// URLs and the time limit as Twilio's spec names them (Prism refuses any
// other form), and its SID is read from the answer.
func TestTwilioTelephony_CreateCallSendsTheBridgeLegAsTwilioSpecifies(t *testing.T) {
	tel, rec := prismTelephony(t, nil)
	rec.next = prismFormArrays{http.DefaultTransport}

	sid, err := tel.CreateCall(context.Background(), OutboundCall{To: "+447400123456", From: "+14155550199",
		URL: "https://mobayilo.test/api/webhooks/twilio/bridge?bridge=call_b", StatusCallback: "https://mobayilo.test/api/webhooks/twilio/status?call=call_a",
		TimeLimit: 7 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}

	if sid == "" {
		t.Fatal("no SID read from Twilio's answer")
	}
	reqs := rec.requests()
	want := "/2010-04-01/Accounts/" + testenv.PrismProbeAccountSID + "/Calls.json"
	if len(reqs) != 1 || reqs[0].Method != http.MethodPost || reqs[0].URL.Path != want {
		t.Fatalf("requests %v, want one POST %s", reqs, want)
	}
	form := reqs[0].Form
	if form.Get("To") != "+447400123456" || form.Get("From") != "+14155550199" || form.Get("TimeLimit") != "420" ||
		form.Get("Url") != "https://mobayilo.test/api/webhooks/twilio/bridge?bridge=call_b" ||
		form.Get("StatusCallback") != "https://mobayilo.test/api/webhooks/twilio/status?call=call_a" || len(form["StatusCallbackEvent"]) != 4 {
		t.Fatalf("form %v", form)
	}
}

// Hanging up is Calls update with the status asked for.
func TestTwilioTelephony_EndCallUpdatesTheCallsStatus(t *testing.T) {
	tel, rec := prismTelephony(t, nil)
	const sid = "CA0123456789abcdef0123456789abcdef"

	for _, status := range []string{"canceled", "completed"} {
		if err := tel.EndCall(context.Background(), sid, status); err != nil {
			t.Fatalf("%s: %v", status, err)
		}
	}

	reqs := rec.requests()
	want := "/2010-04-01/Accounts/" + testenv.PrismProbeAccountSID + "/Calls/" + sid + ".json"
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	for i, status := range []string{"canceled", "completed"} {
		form := reqs[i].Form
		if reqs[i].Method != http.MethodPost || reqs[i].URL.Path != want || form.Get("Status") != status {
			t.Fatalf("request %d: %s %s %v, want POST %s Status=%s", i, reqs[i].Method, reqs[i].URL.Path, form, want, status)
		}
	}
}

// prismFormArrays passes Prism a form array the way it parses one. Twilio
// (and twilio-go, which the recorder saw) repeat the key,
// StatusCallbackEvent=a&StatusCallbackEvent=b; Prism reads a repeated
// urlencoded key as a string and refuses it, but accepts the same values
// as StatusCallbackEvent[]. Only the key's spelling changes on the way.
type prismFormArrays struct{ next http.RoundTripper }

func (p prismFormArrays) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil {
		return p.next.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	fixed := strings.ReplaceAll(string(body), "StatusCallbackEvent=", "StatusCallbackEvent%5B%5D=")
	req = req.Clone(req.Context())
	req.Body, req.ContentLength = io.NopCloser(strings.NewReader(fixed)), int64(len(fixed))
	return p.next.RoundTrip(req)
}
