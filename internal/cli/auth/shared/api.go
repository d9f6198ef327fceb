// Package shared is what the `moby auth` verbs have in common: the calls to
// /api/cli/me and /api/cli/token, and turning the server's refusals into
// messages that say what to do.
package shared

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/wire"
)

// APIError is the API's {"error":{"code","message"}}, with the status.
type APIError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter string
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("the server answered %d %s", e.Status, http.StatusText(e.Status))
	}
	return e.Message
}

// Rejected reports whether the server refused the credentials themselves.
func (e *APIError) Rejected() bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
}

// ReadAPIError reads an error answer (any status but 2xx) and its
// {"error":{"code","message"}} body, which may be missing or not JSON.
func ReadAPIError(resp *http.Response, body []byte) *APIError {
	var eb wire.ErrorBody
	_ = json.Unmarshal(body, &eb)
	return &APIError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message, RetryAfter: resp.Header.Get("Retry-After")}
}

// FetchMe asks the server who token is. A refused token is an APIError
// (see Explain); a server that cannot be reached is a plain error.
func FetchMe(ctx context.Context, client *http.Client, host, token string) (*wire.Me, error) {
	var me wire.Me
	if err := call(ctx, client, http.MethodGet, host+"/api/cli/me", token, &me); err != nil {
		return nil, err
	}
	return &me, nil
}

// RevokeToken revokes token on the server (DELETE /api/cli/token).
func RevokeToken(ctx context.Context, client *http.Client, host, token string) error {
	return call(ctx, client, http.MethodDelete, host+"/api/cli/token", token, nil)
}

func call(ctx context.Context, client *http.Client, method, url, token string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return Unreachable(url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Unreachable(url, err)
	}
	if resp.StatusCode/100 != 2 {
		return ReadAPIError(resp, body)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("unexpected answer from %s (is the host a Mobayilo server?): %w", url, err)
	}
	return nil
}

// Unreachable says a request did not get an answer, without the query or
// credentials the URL might carry.
func Unreachable(url string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("cannot reach %s: %w", strings.SplitN(url, "?", 2)[0], unwrapURLError(err))
}

func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		return ue.Unwrap()
	}
	return err
}

// ReasonNotLoggedIn is Reason's word for a missing or unexplained token.
const ReasonNotLoggedIn = "not_logged_in"

// Reason is a short, stable word for why a token does not work, for --json
// output: the server's error code, or ReasonNotLoggedIn.
func Reason(err error) string {
	var ae *APIError
	if errors.As(err, &ae) && ae.Code != "" {
		return ae.Code
	}
	return ReasonNotLoggedIn
}

// Explain turns the server's refusal of a token into an AuthError that says
// why and what to do; other errors pass through. source says where the
// token came from, so the advice fits (unset MOBY_TOKEN, log in again…).
func Explain(err error, host string, source cmdutil.TokenSource) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return err
	}
	if ae.Status == http.StatusTooManyRequests {
		return fmt.Errorf("%s is rate limiting this token; try again in %s seconds", host, orDefault(ae.RetryAfter, "a few"))
	}
	if !ae.Rejected() {
		return err
	}
	which := "your token"
	fix := "run `moby auth login` to log in again"
	switch source {
	case cmdutil.SourceEnv:
		which, fix = "the token in MOBY_TOKEN", "set MOBY_TOKEN to a working token, or unset it and run `moby auth login`"
	case cmdutil.SourceFlag:
		which, fix = "the token given with --token", "pass a working token, or drop --token and run `moby auth login`"
	}
	var why string
	switch ae.Code {
	case wire.CodeTokenExpired:
		why = which + " has expired"
	case wire.CodeTokenRevoked:
		why = which + " was revoked (on the Settings page, or by `moby auth logout`)"
	case wire.CodeTokenMalformed, wire.CodeTokenBadChecksum:
		why = which + " is not a valid Mobayilo token (mistyped or cut short?)"
	case wire.CodeAccountDisabled:
		return cmdutil.AuthErrorf("%s: your account or seat is disabled; ask your company admin or Mobayilo support", host)
	case wire.CodeTokenMissing:
		why = "no token was sent"
	default:
		why = which + " is not known to " + host + " (deleted, or made for another host?)"
	}
	return cmdutil.AuthErrorf("%s: %s; %s", host, why, fix)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Expiry describes when a token expires, relative to now.
func Expiry(exp *time.Time, now time.Time) string {
	if exp == nil {
		return "never expires"
	}
	date := exp.Local().Format("2 Jan 2006")
	left := exp.Sub(now)
	switch {
	case left <= 0:
		return "expired on " + date
	case left < 24*time.Hour:
		return fmt.Sprintf("expires %s (in %d hours)", date, int(left.Hours())+1)
	default:
		return fmt.Sprintf("expires %s (in %d days)", date, int(left.Hours()/24))
	}
}
