package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/ulule/limiter/v3"

	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
	"github.com/mobayilo/mobayilo/workflows"
)

// Device login (RFC 8628), for `moby auth login`: the CLI asks for a code,
// a signed-in person approves it on /device, and the CLI polls for its token.
// Each code is a DeviceLogin workflow; these handlers only start, signal,
// update and query it. The token is minted here, after the workflow hands
// the approval to exactly one poll, so it never enters Temporal's history.
//
// The two /api/cli/device endpoints are the one place the API does not
// answer errors as {"error":{"code","message"}}: they answer OAuth 2.0's
// {"error":"…","error_description":"…"} (RFC 6749 §5.2), because standard
// device-flow clients (golang.org/x/oauth2, which moby uses) parse only that.

const (
	deviceClientID    = "moby"
	deviceGrantType   = "urn:ietf:params:oauth:grant-type:device_code"
	deviceInterval    = 5 * time.Second
	deviceDefaultName = "moby CLI"
	// devicePageTimeout bounds the /device page's round trips to Temporal.
	devicePageTimeout = workflows.DevicePollTimeout
)

// Rate limits, shared by every API process through the database.
const (
	deviceCodesPerIP        = 20 // code requests per IP per 10 minutes
	deviceTokenPollsPerIP   = 120
	deviceTokenPollsPerCode = 30 // per minute: a client keeping the interval polls 12 times
	deviceGuessesPerUser    = 10 // wrong user codes per 15 minutes
	deviceGuessesPerIP      = 30
	deviceGuessWindow       = 15 * time.Minute
)

// registerDevice adds the RFC 8628 device-login endpoints and the /device
// approval page.
func (h *handlers) registerDevice(r gin.IRouter) {
	r.POST("/api/cli/device/code", limitBody(16<<10),
		h.limit("device-code-ip", deviceCodesPerIP, 10*time.Minute, byIP, oauthLimits), h.deviceCode)
	r.POST("/api/cli/device/token", limitBody(16<<10),
		h.limit("device-token-ip", deviceTokenPollsPerIP, time.Minute, byIP, oauthLimits),
		h.limit("device-token-code", deviceTokenPollsPerCode, time.Minute, byDeviceCode, oauthLimits), h.deviceToken)

	g := &userCodeGuesses{
		byUser: h.d.Limits.New("device-guess-user", deviceGuessesPerUser, deviceGuessWindow),
		byIP:   h.d.Limits.New("device-guess-ip", deviceGuessesPerIP, deviceGuessWindow),
	}
	r.GET("/device", requireUser(), h.devicePage(g))
	r.POST("/device", requireUser(), limitBody(16<<10), h.deviceDecide(g))
}

// ---- OAuth endpoints ----

// oauthError is RFC 6749 §5.2's error body.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// oauthFail answers an OAuth error: 401 for invalid_client, 429 when rate
// limited, 400 otherwise (503 when we are the problem).
func oauthFail(c *gin.Context, status int, code, description string) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	c.AbortWithStatusJSON(status, oauthError{Error: code, Description: description})
}

// oauthLimits answers the device endpoints' limits in the OAuth error
// shape: 429 with Retry-After and slow_down, which standard clients
// understand as "back off" (x/oauth2 adds 5 s to its interval and keeps
// polling).
var oauthLimits = limitAnswer{
	over: func(c *gin.Context, retry int64) {
		oauthFail(c, http.StatusTooManyRequests, "slow_down", "too many requests; retry after "+itoa(retry)+" seconds")
	},
	failed: func(c *gin.Context, _ error) {
		oauthFail(c, http.StatusServiceUnavailable, "temporarily_unavailable", "try again shortly")
	},
}

// byDeviceCode keys a limit on the polled device code's hash.
func byDeviceCode(c *gin.Context) string {
	if code := c.PostForm("device_code"); code != "" && len(code) <= 100 {
		return "code:" + auth.Hash(code)
	}
	return ""
}

// deviceCodeResponse is RFC 8628 §3.2's device authorization response.
type deviceCodeResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// deviceCode starts a device login: POST /api/cli/device/code.
func (h *handlers) deviceCode(c *gin.Context) {
	if c.PostForm("client_id") != deviceClientID {
		oauthFail(c, http.StatusUnauthorized, "invalid_client", "unknown client_id; this endpoint serves the moby CLI (client_id=moby)")
		return
	}
	if h.d.Temporal == nil {
		oauthFail(c, http.StatusServiceUnavailable, "temporarily_unavailable", "device login is not available right now")
		return
	}
	ctx := c.Request.Context()
	lifetime := h.d.Config.DeviceCodeLifetime
	da, err := h.d.Auth.CreateDeviceLogin(ctx, auth.NewDeviceLogin{ClientID: deviceClientID, DeviceName: cleanDeviceName(c.PostForm("device_name")),
		IP: c.ClientIP(), Lifetime: lifetime, WorkflowID: workflows.DeviceLoginWorkflowID})
	if err != nil {
		slog.ErrorContext(ctx, "device code: store", "error", err, "request_id", c.GetString(requestIDKey))
		oauthFail(c, http.StatusServiceUnavailable, "temporarily_unavailable", "could not start a device login; try again")
		return
	}
	err = h.wf.StartDeviceLogin(ctx, da.DeviceCodeHash, workflows.DeviceLoginInput{ClientID: da.ClientID, DeviceName: da.DeviceName, IP: da.IP,
		RequestedAt: da.CreatedAt, ExpiresIn: lifetime, Interval: deviceInterval})
	if err != nil {
		if derr := h.d.Auth.DeleteDeviceLogin(context.WithoutCancel(ctx), da.ID); derr != nil {
			slog.WarnContext(ctx, "device code: remove the login whose workflow did not start", "error", derr)
		}
		slog.ErrorContext(ctx, "device code: start workflow", "error", err, "request_id", c.GetString(requestIDKey))
		oauthFail(c, http.StatusServiceUnavailable, "temporarily_unavailable", "could not start a device login; try again")
		return
	}
	slog.InfoContext(ctx, "device login started", "workflow_id", da.WorkflowID, "request_id", c.GetString(requestIDKey))
	// Housekeeping rides on new requests: rows of logins long over go.
	if err := h.d.Auth.PurgeDeviceLogins(ctx); err != nil {
		slog.WarnContext(ctx, "device code: purge old rows", "error", err)
	}
	verify := h.d.Config.PublicBaseURL + "/device"
	shown := auth.FormatUserCode(da.UserCode)
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, deviceCodeResponse{DeviceCode: da.DeviceCode, UserCode: shown, VerificationURI: verify,
		VerificationURIComplete: verify + "?user_code=" + shown,
		ExpiresIn:               int64(lifetime / time.Second), Interval: int64(deviceInterval / time.Second)})
}

// cleanDeviceName keeps what the CLI says it is printable and short: it is
// shown to the person approving, and becomes the token's name.
func cleanDeviceName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1 // includes bidi overrides that could disguise the name
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	for utf8.RuneCountInString(s) > 64 || len(s) > 100 {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return strings.TrimSpace(s)
}

// deviceTokenResponse is RFC 6749 §5.1's token response.
type deviceTokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// deviceToken answers a device's poll: POST /api/cli/device/token.
func (h *handlers) deviceToken(c *gin.Context) {
	switch grant := c.PostForm("grant_type"); {
	case grant == "":
		oauthFail(c, http.StatusBadRequest, "invalid_request", "grant_type is required")
		return
	case grant != deviceGrantType:
		oauthFail(c, http.StatusBadRequest, "unsupported_grant_type", "only "+deviceGrantType+" is supported here")
		return
	}
	clientID := c.PostForm("client_id")
	if clientID != deviceClientID {
		oauthFail(c, http.StatusUnauthorized, "invalid_client", "unknown client_id; this endpoint serves the moby CLI (client_id=moby)")
		return
	}
	code := c.PostForm("device_code")
	if code == "" {
		oauthFail(c, http.StatusBadRequest, "invalid_request", "device_code is required")
		return
	}
	if h.d.Temporal == nil {
		oauthFail(c, http.StatusServiceUnavailable, "temporarily_unavailable", "device login is not available right now")
		return
	}
	ctx := c.Request.Context()
	da, err := h.d.Auth.DeviceLoginByCode(ctx, clientID, code)
	switch {
	case errors.Is(err, auth.ErrDeviceCodeUnknown):
		oauthFail(c, http.StatusBadRequest, "invalid_grant", "unknown device code")
		return
	case err != nil:
		slog.ErrorContext(ctx, "device token: look up code", "error", err, "request_id", c.GetString(requestIDKey))
		oauthFail(c, http.StatusServiceUnavailable, "temporarily_unavailable", "try again shortly")
		return
	}

	res, err := h.wf.PollDeviceLogin(ctx, da.DeviceCodeHash, workflows.DevicePoll{ClientID: da.ClientID})
	switch {
	case errors.Is(err, workflows.ErrInvalidGrant):
		oauthFail(c, http.StatusBadRequest, "invalid_grant", "this device code belongs to another client")
		return
	case errors.Is(err, workflows.ErrUnavailable):
		oauthFail(c, http.StatusServiceUnavailable, "temporarily_unavailable", "device login is not available right now")
		return
	case err != nil:
		// The workflow did not answer in time (a worker restarting, say).
		// slow_down keeps a standard client polling, a little slower.
		slog.WarnContext(ctx, "device token: poll failed", "workflow_id", da.WorkflowID, "error", err, "request_id", c.GetString(requestIDKey))
		oauthFail(c, http.StatusBadRequest, "slow_down", "the login service is busy; poll less often")
		return
	}
	switch res.Answer {
	case workflows.PollApproved:
		h.issueDeviceToken(c, da, res.UserID)
	case workflows.PollPending:
		oauthFail(c, http.StatusBadRequest, "authorization_pending", "waiting for you to approve this device at "+h.d.Config.PublicBaseURL+"/device")
	case workflows.PollSlowDown:
		oauthFail(c, http.StatusBadRequest, "slow_down", fmt.Sprintf("polling too often; wait %d seconds between requests", int64(res.Interval/time.Second)))
	case workflows.PollDenied:
		oauthFail(c, http.StatusBadRequest, "access_denied", "the request was denied on the approval page")
	default:
		oauthFail(c, http.StatusBadRequest, "expired_token", "this device code has expired or was already used; start a new login")
	}
}

// issueDeviceToken mints the device's personal access token. The workflow
// gives the approval to one poll only, so this runs at most once per code.
func (h *handlers) issueDeviceToken(c *gin.Context, da models.DeviceAuthorization, userID int64) {
	ctx := c.Request.Context()
	name := da.DeviceName
	if name == "" {
		name = deviceDefaultName
	}
	tok, pat, err := h.d.Auth.CreateToken(ctx, auth.NewTokenRequest{UserID: userID, Name: name,
		ExpiryDays: auth.DefaultTokenExpiryDays, Source: "device"})
	switch {
	case errors.Is(err, auth.ErrDisabled), errors.Is(err, auth.ErrUnauthenticated):
		oauthFail(c, http.StatusBadRequest, "access_denied", "the approving account is disabled")
		return
	case err != nil:
		slog.ErrorContext(ctx, "device token: create token", "workflow_id", da.WorkflowID, "error", err, "request_id", c.GetString(requestIDKey))
		oauthFail(c, http.StatusServiceUnavailable, "temporarily_unavailable", "could not issue the token; start a new login")
		return
	}
	slog.InfoContext(ctx, "device login completed", "workflow_id", da.WorkflowID, "user_id", userID, "token_id", pat.ID, "request_id", c.GetString(requestIDKey))
	var expiresIn int64
	if pat.ExpiresAt != nil {
		expiresIn = int64(time.Until(*pat.ExpiresAt) / time.Second)
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	c.JSON(http.StatusOK, deviceTokenResponse{AccessToken: tok, TokenType: "bearer", ExpiresIn: expiresIn})
}

// ---- The /device approval page ----

// userCodeGuesses counts wrong user codes per user and per IP. Only misses
// count, so approving your own device is never limited.
type userCodeGuesses struct {
	byUser, byIP *limiter.Limiter
}

// deviceView is what the page shows of a waiting device.
type deviceView struct {
	Name        string
	IP          string
	RequestedAt time.Time
	Ago         string
}

// devicePageData drives device.html. Step is "enter" (the code form),
// "confirm" (approve or deny) or "done".
type devicePageData struct {
	Step     string
	UserCode string
	Error    string
	Device   deviceView
	// Outcome, on "done": approved, denied or unusable.
	Outcome string
	Message string
}

func (h *handlers) renderDevice(c *gin.Context, status int, d devicePageData) {
	p := web.PageFor(c, "Connect a device", "settings")
	p.Data = d
	c.Header("Cache-Control", "no-store")
	h.d.Pages.Serve(c, status, "device", p)
}

// devicePage shows the code form, or, given ?user_code=, the device waiting
// behind it.
func (h *handlers) devicePage(g *userCodeGuesses) gin.HandlerFunc {
	return func(c *gin.Context) {
		raw := c.Query("user_code")
		if raw == "" {
			h.renderDevice(c, http.StatusOK, devicePageData{Step: "enter"})
			return
		}
		da, st, ok := h.lookupUserCode(c, g, raw)
		if !ok {
			return
		}
		if st.Status != workflows.DeviceLoginPending {
			h.renderDevice(c, http.StatusOK, decidedPage(da, st, deviceUserID(c)))
			return
		}
		// The code as typed (normalised): the database holds only its hash.
		code, _ := auth.NormalizeUserCode(raw)
		h.renderDevice(c, http.StatusOK, devicePageData{Step: "confirm", UserCode: auth.FormatUserCode(code), Device: viewOf(da)})
	}
}

// deviceDecide applies Approve or Deny: it signals the workflow, then reads
// its state back to tell the person what happened.
func (h *handlers) deviceDecide(g *userCodeGuesses) gin.HandlerFunc {
	return func(c *gin.Context) {
		decision := c.PostForm("decision")
		if decision != "approve" && decision != "deny" {
			h.renderDevice(c, http.StatusBadRequest, devicePageData{Step: "enter", UserCode: c.PostForm("user_code"),
				Error: "Choose Approve or Deny."})
			return
		}
		da, st, ok := h.lookupUserCode(c, g, c.PostForm("user_code"))
		if !ok {
			return
		}
		me := deviceUserID(c)
		if st.Status == workflows.DeviceLoginPending {
			ctx, cancel := context.WithTimeout(c.Request.Context(), devicePageTimeout)
			defer cancel()
			err := h.wf.SignalDeviceDecision(ctx, da.DeviceCodeHash, workflows.DeviceDecision{Approve: decision == "approve", UserID: me})
			if err != nil {
				h.deviceUnavailable(c, err)
				return
			}
			// Queries see every signal sent before them, so this reads the
			// decision back, or whichever came first.
			if st, err = h.deviceState(ctx, da); err != nil {
				h.deviceUnavailable(c, err)
				return
			}
			slog.InfoContext(ctx, "device login decision", "workflow_id", da.WorkflowID, "user_id", me, "decision", decision, "status", st.Status, "request_id", c.GetString(requestIDKey))
		}
		h.renderDevice(c, http.StatusOK, decidedPage(da, st, me))
	}
}

// lookupUserCode finds the device login behind what the person typed and
// its state. It answers the page itself (and returns false) for a wrong,
// expired or rate-limited code. Wrong codes count against the user and the
// IP; once either is over its limit, no code is looked up.
func (h *handlers) lookupUserCode(c *gin.Context, g *userCodeGuesses, raw string) (models.DeviceAuthorization, workflows.DeviceLoginState, bool) {
	ctx := c.Request.Context()
	var da models.DeviceAuthorization
	keys := []string{byUser(c), byIP(c)}
	for i, l := range []*limiter.Limiter{g.byUser, g.byIP} {
		res, err := l.Peek(ctx, keys[i])
		if err != nil {
			h.deviceUnavailable(c, err)
			return da, workflows.DeviceLoginState{}, false
		}
		if res.Remaining <= 0 {
			retry := retryAfter(res.Reset)
			c.Header("Retry-After", itoa(retry))
			h.renderDevice(c, http.StatusTooManyRequests, devicePageData{Step: "enter", UserCode: raw,
				Error: fmt.Sprintf("Too many wrong codes. Try again in %s.", deviceWait(retry))})
			return da, workflows.DeviceLoginState{}, false
		}
	}
	wrong := func() {
		for i, l := range []*limiter.Limiter{g.byUser, g.byIP} {
			if _, err := l.Increment(ctx, keys[i], 1); err != nil {
				slog.WarnContext(ctx, "device: count wrong code", "error", err)
			}
		}
		h.renderDevice(c, http.StatusUnprocessableEntity, devicePageData{Step: "enter", UserCode: raw,
			Error: "That code doesn't match a device waiting to sign in. Check the code your terminal shows."})
	}
	da, err := h.d.Auth.DeviceLoginByUserCode(ctx, raw)
	switch {
	case errors.Is(err, auth.ErrUserCodeUnknown):
		wrong()
		return da, workflows.DeviceLoginState{}, false
	case errors.Is(err, auth.ErrDeviceLoginExpired):
		h.renderDevice(c, http.StatusGone, devicePageData{Step: "done", Outcome: "unusable", Device: viewOf(da),
			Message: "This code has expired. Run moby auth login on your device again to get a new one."})
		return da, workflows.DeviceLoginState{}, false
	case err != nil:
		h.deviceUnavailable(c, err)
		return da, workflows.DeviceLoginState{}, false
	}
	st, err := h.deviceState(ctx, da)
	if err != nil {
		h.deviceUnavailable(c, err)
		return da, workflows.DeviceLoginState{}, false
	}
	return da, st, true
}

// deviceState queries the workflow; a closed workflow reports how it ended.
func (h *handlers) deviceState(ctx context.Context, da models.DeviceAuthorization) (workflows.DeviceLoginState, error) {
	ctx, cancel := context.WithTimeout(ctx, devicePageTimeout)
	defer cancel()
	return h.wf.DeviceLoginState(ctx, da.DeviceCodeHash)
}

// decidedPage explains a login that is no longer waiting, from the point of
// view of user me.
func decidedPage(da models.DeviceAuthorization, st workflows.DeviceLoginState, me int64) devicePageData {
	d := devicePageData{Step: "done", Outcome: "unusable", Device: viewOf(da)}
	switch {
	case st.Status == workflows.DeviceLoginApproved && st.DecidedBy == me:
		d.Outcome = "approved"
		d.Message = "Go back to your terminal: it is signing in as you."
	case st.Status == workflows.DeviceLoginDenied && st.DecidedBy == me:
		d.Outcome = "denied"
		d.Message = "The device was not signed in. If you did not start this, nothing more is needed."
	case st.Status == workflows.DeviceLoginExpired:
		d.Message = "This code has expired. Run moby auth login on your device again to get a new one."
	default:
		d.Message = "This code has already been used. Run moby auth login on your device again if you still need to sign in."
	}
	return d
}

// deviceUnavailable answers the page when Temporal or the database fails.
func (h *handlers) deviceUnavailable(c *gin.Context, err error) {
	slog.ErrorContext(c.Request.Context(), "device page", "error", err, "request_id", c.GetString(requestIDKey))
	h.renderDevice(c, http.StatusServiceUnavailable, devicePageData{Step: "enter", UserCode: c.Query("user_code"),
		Error: "Device sign-in is unavailable right now. Try again in a minute."})
}

func viewOf(da models.DeviceAuthorization) deviceView {
	name := da.DeviceName
	if name == "" {
		name = "Unnamed device"
	}
	return deviceView{Name: name, IP: da.IP, RequestedAt: da.CreatedAt.UTC(), Ago: deviceAgo(time.Since(da.CreatedAt))}
}

func deviceAgo(d time.Duration) string {
	switch m := int(d / time.Minute); {
	case m < 1:
		return "just now"
	case m == 1:
		return "1 minute ago"
	default:
		return fmt.Sprintf("%d minutes ago", m)
	}
}

func deviceWait(secs int64) string {
	if secs < 60 {
		return fmt.Sprintf("%d seconds", secs)
	}
	return fmt.Sprintf("%d minutes", (secs+59)/60)
}

func deviceUserID(c *gin.Context) int64 {
	p, _ := principal(c)
	return p.User.ID
}
