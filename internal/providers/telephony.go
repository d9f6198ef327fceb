package providers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twilio/twilio-go"
	twclient "github.com/twilio/twilio-go/client"
	"github.com/twilio/twilio-go/client/jwt"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/mobayilo/mobayilo/internal/config"
)

// Telephony is what activities and the API need from the telephony
// provider.
type Telephony interface {
	// FetchAccount returns the account the credentials belong to; it proves
	// the credentials work.
	FetchAccount(ctx context.Context) (AccountInfo, error)
	// FetchCall returns Twilio's record of a call leg, for reconciling a
	// call whose final status callback never came.
	FetchCall(ctx context.Context, sid string) (CallInfo, error)
	// VoiceToken is an access token for the browser's Voice SDK with a
	// Voice grant for our TwiML app, valid until expires.
	VoiceToken(identity string, expires time.Time) (string, error)
	// CreateCall has Twilio place an outbound call (REST Calls create):
	// when it is answered Twilio fetches c.URL for its TwiML, and its
	// progress goes to c.StatusCallback. It returns the new call's SID.
	CreateCall(ctx context.Context, c OutboundCall) (string, error)
	// EndCall ends a call leg (REST Calls update): status is "canceled"
	// for a call not answered yet, "completed" for one in progress.
	EndCall(ctx context.Context, sid, status string) error
}

// OutboundCall is a call Twilio places itself: a bridge call's first leg,
// to the owner's phone.
type OutboundCall struct {
	To, From string
	// URL is our webhook Twilio asks, once the call is answered, what to
	// do next; StatusCallback gets the leg's progress.
	URL, StatusCallback string
	// TimeLimit bounds the call once answered (Twilio's TimeLimit).
	TimeLimit time.Duration
}

// statusCallbackEvents are the progress callbacks an outbound call asks
// for (Twilio's names; "completed" always comes).
var statusCallbackEvents = []string{"initiated", "ringing", "answered", "completed"}

// CallInfo is Twilio's record of one call leg.
type CallInfo struct {
	SID    string
	Status string
	// DurationSeconds is Twilio's duration of the leg, -1 when not yet
	// known.
	DurationSeconds int64
}

// ErrCallUnknown: the provider has no call with that SID.
var ErrCallUnknown = errors.New("telephony: no such call")

// AccountInfo is the telephony provider's view of our account.
type AccountInfo struct {
	SID          string
	FriendlyName string
	Status       string
}

// twilioCallTimeout bounds one REST call when the caller's ctx allows more.
const twilioCallTimeout = 30 * time.Second

// SandboxAccountSID is the account the sandbox telephony reports.
const SandboxAccountSID = "AC00000000000000000000000000000000"

// twilioTelephony is Telephony over Twilio's REST API.
type twilioTelephony struct {
	accountSID string
	username   string // an API key, or the account SID
	password   string // the API secret, or the auth token
	base       *url.URL
	transport  http.RoundTripper
	// apiKey, apiSecret and twimlApp sign voice access tokens.
	apiKey, apiSecret, twimlApp string
}

// newTwilioTelephony prefers an API key over the auth token, as Twilio
// advises: a key can be revoked without changing the token webhooks are
// signed with. transport nil means http.DefaultTransport.
func newTwilioTelephony(cfg config.Config, transport http.RoundTripper) *twilioTelephony {
	t := &twilioTelephony{
		accountSID: cfg.TwilioAccountSID,
		username:   cfg.TwilioAccountSID,
		password:   cfg.TwilioAuthToken,
		transport:  transport,
		apiKey:     cfg.TwilioAPIKey,
		apiSecret:  cfg.TwilioAPISecret,
		twimlApp:   cfg.TwilioTwiMLAppSID,
	}
	if cfg.TwilioAPIKey != "" {
		t.username, t.password = cfg.TwilioAPIKey, cfg.TwilioAPISecret
	}
	if t.transport == nil {
		t.transport = http.DefaultTransport
	}
	if cfg.TwilioAPIBaseURL != "" {
		// config validated it as an absolute URL.
		t.base, _ = url.Parse(strings.TrimRight(cfg.TwilioAPIBaseURL, "/"))
	}
	return t
}

// rest builds a twilio-go client for one call. twilio-go sends every
// request with context.Background(), so ctx reaches the request only
// through a transport bound to it; without that an activity's cancellation
// or deadline would not stop a hung call.
func (t *twilioTelephony) rest(ctx context.Context) *twilio.RestClient {
	c := &twclient.Client{
		Credentials: twclient.NewCredentials(t.username, t.password),
		// No Client.Timeout: the transport replaces the request's context,
		// which would drop the client's deadline; callers bound ctx instead.
		HTTPClient: &http.Client{
			Transport: &twilioTransport{ctx: ctx, base: t.base, next: t.transport},
			// As twilio-go's default: a redirect is an answer, not a hop.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	// Without it, paths that hold the account SID go out as /Accounts//.
	c.SetAccountSid(t.accountSID)
	rc := twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
	// twilio-go reads TWILIO_EDGE and TWILIO_REGION from the environment;
	// configuration is explicit here, so clear them.
	rc.SetEdge("")
	rc.SetRegion("")
	return rc
}

func (t *twilioTelephony) FetchAccount(ctx context.Context) (AccountInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, twilioCallTimeout)
	defer cancel()
	a, err := t.rest(ctx).Api.FetchAccount(t.accountSID)
	if err != nil {
		return AccountInfo{}, fmt.Errorf("twilio: fetch account %s: %w", t.accountSID, err)
	}
	return AccountInfo{SID: deref(a.Sid), FriendlyName: deref(a.FriendlyName), Status: deref(a.Status)}, nil
}

func (t *twilioTelephony) FetchCall(ctx context.Context, sid string) (CallInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, twilioCallTimeout)
	defer cancel()
	c, err := t.rest(ctx).Api.FetchCall(sid, nil)
	if err != nil {
		var re *twclient.TwilioRestError
		if errors.As(err, &re) && re.Status == http.StatusNotFound {
			return CallInfo{}, fmt.Errorf("%w: %s", ErrCallUnknown, sid)
		}
		return CallInfo{}, fmt.Errorf("twilio: fetch call %s: %w", sid, err)
	}
	info := CallInfo{SID: deref(c.Sid), Status: deref(c.Status), DurationSeconds: -1}
	if d, err := strconv.ParseInt(deref(c.Duration), 10, 64); err == nil {
		info.DurationSeconds = d
	}
	return info, nil
}

func (t *twilioTelephony) CreateCall(ctx context.Context, c OutboundCall) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, twilioCallTimeout)
	defer cancel()
	p := (&api.CreateCallParams{}).SetTo(c.To).SetFrom(c.From).SetUrl(c.URL).SetMethod(http.MethodPost).
		SetStatusCallback(c.StatusCallback).SetStatusCallbackMethod(http.MethodPost).SetStatusCallbackEvent(statusCallbackEvents)
	if c.TimeLimit > 0 {
		p.SetTimeLimit(int(c.TimeLimit / time.Second))
	}
	call, err := t.rest(ctx).Api.CreateCall(p)
	if err != nil {
		return "", fmt.Errorf("twilio: create call to %s: %w", c.To, err)
	}
	if deref(call.Sid) == "" {
		return "", fmt.Errorf("twilio: create call to %s: no SID in the answer", c.To)
	}
	return deref(call.Sid), nil
}

func (t *twilioTelephony) EndCall(ctx context.Context, sid, status string) error {
	ctx, cancel := context.WithTimeout(ctx, twilioCallTimeout)
	defer cancel()
	_, err := t.rest(ctx).Api.UpdateCall(sid, (&api.UpdateCallParams{}).SetStatus(status))
	var re *twclient.TwilioRestError
	if errors.As(err, &re) && re.Status == http.StatusNotFound {
		return fmt.Errorf("%w: %s", ErrCallUnknown, sid)
	}
	if err != nil {
		return fmt.Errorf("twilio: end call %s (%s): %w", sid, status, err)
	}
	return nil
}

// VoiceToken signs with the API key (TWILIO_API_KEY/SECRET). twilio-go
// raises a TTL under an hour to an hour, so the expiry is set explicitly.
func (t *twilioTelephony) VoiceToken(identity string, expires time.Time) (string, error) {
	return voiceToken(t.accountSID, t.apiKey, t.apiSecret, t.twimlApp, identity, expires)
}

func voiceToken(accountSID, key, secret, app, identity string, expires time.Time) (string, error) {
	if key == "" || secret == "" || app == "" {
		return "", errors.New("twilio: voice tokens need TWILIO_API_KEY, TWILIO_API_SECRET and TWILIO_TWIML_APP_SID")
	}
	tok := jwt.CreateAccessToken(jwt.AccessTokenParams{AccountSid: accountSID, SigningKeySid: key, Secret: secret,
		Identity: identity, ValidUntil: float64(expires.Unix())})
	tok.AddGrant(&jwt.VoiceGrant{Outgoing: jwt.Outgoing{ApplicationSid: app}})
	return tok.ToJwt()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// twilioTransport binds requests to ctx and, when base is set
// (TWILIO_API_BASE_URL), sends them to base instead of Twilio's hosts,
// keeping the path under base's own path.
type twilioTransport struct {
	ctx  context.Context
	base *url.URL
	next http.RoundTripper
}

func (t *twilioTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(t.ctx)
	if t.base != nil {
		r.URL.Scheme = t.base.Scheme
		r.URL.Host = t.base.Host
		r.URL.Path = t.base.Path + r.URL.Path
		r.URL.RawPath = ""
		r.Host = ""
	}
	return t.next.RoundTrip(r)
}

// sandboxTelephony stands in for Twilio when no account is configured.
type sandboxTelephony struct {
	// carrier is the simulated network the sandbox dialer calls through;
	// it keeps the record FetchCall reads.
	carrier *SandboxCarrier
}

// SandboxTokenKey and SandboxTwiMLApp sign the sandbox's voice tokens: real
// tokens in form, which no Twilio would accept.
const (
	SandboxTokenKey    = "SK00000000000000000000000000000000"
	SandboxTokenSecret = "sandbox_voice_token_secret_not_secret"
	SandboxTwiMLApp    = "AP00000000000000000000000000000000"
)

func (s sandboxTelephony) FetchCall(_ context.Context, sid string) (CallInfo, error) {
	if s.carrier == nil {
		return CallInfo{}, fmt.Errorf("%w: %s", ErrCallUnknown, sid)
	}
	return s.carrier.Record(sid)
}

func (s sandboxTelephony) CreateCall(ctx context.Context, c OutboundCall) (string, error) {
	return s.carrier.CreateCall(ctx, c)
}

func (s sandboxTelephony) EndCall(_ context.Context, sid, _ string) error {
	return s.carrier.EndCall(sid)
}

func (sandboxTelephony) VoiceToken(identity string, expires time.Time) (string, error) {
	return voiceToken(SandboxAccountSID, SandboxTokenKey, SandboxTokenSecret, SandboxTwiMLApp, identity, expires)
}

func (sandboxTelephony) FetchAccount(context.Context) (AccountInfo, error) {
	return AccountInfo{SID: SandboxAccountSID, FriendlyName: "Mobayilo sandbox", Status: "active"}, nil
}
