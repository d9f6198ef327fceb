// Package authtest is a stand-in Mobayilo server for the `moby auth`
// command tests: the RFC 8628 device endpoints with scripted answers,
// GET /api/cli/me and DELETE /api/cli/token, speaking the same wire format
// as package api.
package authtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
)

// Token is a token the server knows, and its state.
type Token struct {
	ID                          int64
	Revoked, Expired, Disabled  bool
	ExpiresAt                   *time.Time
	Email, AccountName, Account string
	BalanceCents                int64
}

// Server answers like a Mobayilo API.
type Server struct {
	*httptest.Server

	mu sync.Mutex
	// Polls scripts the answers to successive token polls: an RFC 8628
	// error code, or "approve". Past the end it answers
	// authorization_pending.
	Polls []string
	// Interval and ExpiresIn are what the code endpoint announces.
	Interval, ExpiresIn int
	// CodeForms and PollForms record the device requests, PollTimes when
	// each poll came.
	CodeForms []url.Values
	PollForms []url.Values
	PollTimes []time.Time
	// Revoked counts DELETE /api/cli/token calls that revoked something.
	Revoked int
	tokens  map[string]*Token
	nextID  int64
}

// UserCode is the code the server hands out.
const UserCode = "BCDF-GHJK"

// NewServer starts a server, closed when t ends.
func NewServer(t *testing.T) *Server {
	t.Helper()
	s := &Server{Interval: 1, ExpiresIn: 600, tokens: map[string]*Token{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/cli/device/code", s.deviceCode)
	mux.HandleFunc("POST /api/cli/device/token", s.deviceToken)
	mux.HandleFunc("GET /api/cli/me", s.me)
	mux.HandleFunc("DELETE /api/cli/token", s.revoke)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// AddToken makes the server know value.
func (s *Server) AddToken(value string, tok Token) *Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	tok.ID = s.nextID
	if tok.Email == "" {
		tok.Email = "ada@example.com"
	}
	if tok.AccountName == "" {
		tok.AccountName = "Ada Lovelace"
	}
	s.tokens[value] = &tok
	return &tok
}

// Lookup returns what the server knows of value.
func (s *Server) Lookup(value string) (Token, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[value]
	if !ok {
		return Token{}, false
	}
	return *t, true
}

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": "scripted " + code})
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (s *Server) deviceCode(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") != "moby" {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	s.mu.Lock()
	s.CodeForms = append(s.CodeForms, r.PostForm)
	interval, expires := s.Interval, s.ExpiresIn
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"device_code":               "dev-code-1",
		"user_code":                 UserCode,
		"verification_uri":          s.URL + "/device",
		"verification_uri_complete": s.URL + "/device?user_code=BCDFGHJK",
		"expires_in":                expires,
		"interval":                  interval,
	})
}

func (s *Server) deviceToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") != "moby" {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:device_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	if r.PostForm.Get("device_code") != "dev-code-1" {
		oauthError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	s.mu.Lock()
	s.PollForms = append(s.PollForms, r.PostForm)
	s.PollTimes = append(s.PollTimes, time.Now())
	answer := "authorization_pending"
	if len(s.Polls) > 0 {
		answer, s.Polls = s.Polls[0], s.Polls[1:]
	}
	s.mu.Unlock()
	if answer != "approve" {
		oauthError(w, http.StatusBadRequest, answer)
		return
	}
	exp := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	value := fmt.Sprintf("moby_device_token_%d", time.Now().UnixNano())
	s.AddToken(value, Token{ExpiresAt: &exp})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{"access_token": value, "token_type": "bearer", "expires_in": 30 * 24 * 3600})
}

// authenticate answers the request's token as the real API does.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*Token, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		apiError(w, 401, "token_missing", "missing bearer token")
		return nil, false
	}
	s.mu.Lock()
	t := s.tokens[tok]
	s.mu.Unlock()
	switch {
	case t == nil:
		apiError(w, 401, "unauthenticated", "not signed in")
	case t.Revoked:
		apiError(w, 401, "token_revoked", "token revoked")
	case t.Expired:
		apiError(w, 401, "token_expired", "token expired")
	case t.Disabled:
		apiError(w, 403, "account_disabled", "account disabled")
	default:
		return t, true
	}
	return nil, false
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	t, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	body := map[string]any{
		"user":    map[string]any{"id": 7, "email": t.Email, "role": "owner", "is_admin": false},
		"account": map[string]any{"id": 3, "kind": "individual", "name": t.AccountName, "status": "active", "balance_cents": t.BalanceCents, "balance": "$?"},
		"token":   map[string]any{"id": t.ID, "name": "laptop", "source": "device", "created_at": time.Now().UTC(), "expires_at": t.ExpiresAt, "scopes": []string{"cli"}},
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	t, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	t.Revoked = true
	s.Revoked++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"revoked":{"id":%d}}`, t.ID)
}

// Env is a test environment: a private config directory and the host.
type Env map[string]string

// IO is what a command test sees of the streams.
type IO struct {
	*iostreams.IOStreams
	In, Out, ErrOut *bytes.Buffer
}

// Factory builds a cmdutil.Factory over test streams whose environment is
// exactly env plus a private MOBY_CONFIG_DIR (unless env names one).
func Factory(t *testing.T, env Env) (*cmdutil.Factory, IO) {
	t.Helper()
	if _, ok := env["MOBY_CONFIG_DIR"]; !ok {
		env["MOBY_CONFIG_DIR"] = t.TempDir()
	}
	ios, in, out, errOut := iostreams.Test()
	f := cmdutil.NewFactoryWith(cmdutil.BuildInfo{Version: "test"}, ios, func(k string) string { return env[k] })
	return f, IO{ios, in, out, errOut}
}
