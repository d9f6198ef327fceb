package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/models"
)

// Errors. Each maps to one HTTP status in api/errors.go.
var (
	// ErrUnauthenticated: no credentials, or unknown ones (401).
	ErrUnauthenticated = errors.New("not signed in")
	// ErrTokenRevoked: the token was revoked (401).
	ErrTokenRevoked = errors.New("token revoked")
	// ErrTokenExpired: the token is past its expiry (401).
	ErrTokenExpired = errors.New("token expired")
	// ErrDisabled: the user, seat or account is disabled (403).
	ErrDisabled = errors.New("account disabled")
	// ErrLinkInvalid: no such link (it may never have existed).
	ErrLinkInvalid = errors.New("this link is not valid")
	// ErrLinkUsed: the link was already used once.
	ErrLinkUsed = errors.New("this link was already used")
	// ErrLinkExpired: the link is older than its lifetime.
	ErrLinkExpired = errors.New("this link has expired")
	// ErrLinkWrongEmail: the link was sent to a different address.
	ErrLinkWrongEmail = errors.New("this link was sent to a different email address")
	// ErrInvalid wraps input problems (a bad expiry, an empty name).
	ErrInvalid = errors.New("invalid request")
)

// Lifetimes.
const (
	SessionLifetime   = 30 * 24 * time.Hour
	LoginLinkLifetime = 15 * time.Minute
	// touchEvery bounds how often a session's or token's last-used time is
	// written: once a minute is plenty for "last used" and spares the DB.
	touchEvery = time.Minute
)

// TokenExpiries are the expiries the policy allows, in days; 0 means never.
var TokenExpiries = []int{7, 30, 90, 0}

// DefaultTokenExpiryDays is what a new token gets unless asked otherwise.
const DefaultTokenExpiryDays = 30

// Service issues and checks credentials.
type Service struct {
	db  *gorm.DB
	now func() time.Time
}

// New returns the credential service.
func New(db *gorm.DB) *Service {
	return &Service{db: db, now: func() time.Time { return time.Now().UTC() }}
}

// WithClock returns a copy whose clock is now (tests).
func (s *Service) WithClock(now func() time.Time) *Service {
	c := *s
	c.now = now
	return &c
}

// Principal is who a request acts as.
type Principal struct {
	User    models.User
	Account models.Account
	// Token is set when the request used a personal access token.
	Token *models.PersonalAccessToken
	// SessionID is set when the request used a web session.
	SessionID string
}

// activeUser loads a user and their account and checks both are active.
func (s *Service) activeUser(ctx context.Context, userID int64) (models.User, models.Account, error) {
	var u models.User
	if err := s.db.WithContext(ctx).Take(&u, userID).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return u, models.Account{}, ErrUnauthenticated
		}
		return u, models.Account{}, err
	}
	var a models.Account
	if err := s.db.WithContext(ctx).Take(&a, u.AccountID).Error; err != nil {
		return u, a, err
	}
	if u.Status != models.StatusActive || a.Status != models.StatusActive {
		return u, a, ErrDisabled
	}
	return u, a, nil
}

// ---- Web sessions ----

// CreateSession signs a user in and returns the cookie secret. Callers
// rotate: they delete the previous session of the browser first.
func (s *Service) CreateSession(ctx context.Context, userID int64, ip, userAgent string) (string, error) {
	if _, _, err := s.activeUser(ctx, userID); err != nil {
		return "", err
	}
	secret := NewSecret()
	now := s.now()
	userAgent = clip(userAgent, 300)
	ip = clip(ip, 64)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&models.Session{ID: Hash(secret), UserID: userID, CreatedAt: now, ExpiresAt: now.Add(SessionLifetime),
			LastSeenAt: now, IP: ip, UserAgent: userAgent}).Error; err != nil {
			return err
		}
		return tx.Model(&models.User{}).Where("id = ?", userID).
			Updates(map[string]any{"last_sign_in_at": now, "sign_in_count": gorm.Expr("sign_in_count + 1")}).Error
	})
	if err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return secret, nil
}

// SessionPrincipal resolves a session cookie. Errors: ErrUnauthenticated,
// ErrDisabled.
func (s *Service) SessionPrincipal(ctx context.Context, secret string) (Principal, error) {
	if secret == "" || len(secret) > 100 {
		return Principal{}, ErrUnauthenticated
	}
	var sess models.Session
	err := s.db.WithContext(ctx).Where("id = ?", Hash(secret)).Take(&sess).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, err
	}
	now := s.now()
	if now.After(sess.ExpiresAt) {
		return Principal{}, ErrUnauthenticated
	}
	u, a, err := s.activeUser(ctx, sess.UserID)
	if err != nil {
		return Principal{}, err
	}
	if now.Sub(sess.LastSeenAt) > touchEvery {
		s.db.WithContext(ctx).Model(&models.Session{}).Where("id = ?", sess.ID).Update("last_seen_at", now)
	}
	return Principal{User: u, Account: a, SessionID: sess.ID}, nil
}

// EndSession signs one browser out.
func (s *Service) EndSession(ctx context.Context, secret string) error {
	return s.db.WithContext(ctx).Where("id = ?", Hash(secret)).Delete(&models.Session{}).Error
}

// EndAllSessions signs a user out everywhere and returns how many sessions
// ended.
func (s *Service) EndAllSessions(ctx context.Context, userID int64) (int64, error) {
	q := s.db.WithContext(ctx).Where("user_id = ?", userID).Delete(&models.Session{})
	return q.RowsAffected, q.Error
}

// clip makes client-supplied text safe to store: valid UTF-8, at most n
// bytes, cut on a character boundary.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ---- Magic links and password resets ----

// IssueLoginToken creates a single-use link secret for user, bound to their
// email, valid for LoginLinkLifetime. Errors: ErrDisabled when the user or
// their account is disabled, so no link is ever minted for them.
func (s *Service) IssueLoginToken(ctx context.Context, purpose models.LoginTokenPurpose, u models.User) (string, error) {
	if _, _, err := s.activeUser(ctx, u.ID); err != nil {
		return "", err
	}
	secret := NewSecret()
	now := s.now()
	err := s.db.WithContext(ctx).Create(&models.LoginToken{TokenHash: Hash(secret), Purpose: purpose,
		Email: strings.ToLower(u.Email), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(LoginLinkLifetime)}).Error
	if err != nil {
		return "", fmt.Errorf("issue login link: %w", err)
	}
	return secret, nil
}

// RedeemLoginToken uses a link exactly once. email is the address the link
// claims (it travels in the link); it must be the one it was sent to.
// Errors: ErrLinkInvalid, ErrLinkUsed, ErrLinkExpired, ErrLinkWrongEmail,
// ErrDisabled.
func (s *Service) RedeemLoginToken(ctx context.Context, purpose models.LoginTokenPurpose, secret, email string) (models.User, error) {
	if secret == "" || len(secret) > 100 {
		return models.User{}, ErrLinkInvalid
	}
	h := Hash(secret)
	var lt models.LoginToken
	err := s.db.WithContext(ctx).Where("token_hash = ? AND purpose = ?", h, purpose).Take(&lt).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return models.User{}, ErrLinkInvalid
	}
	if err != nil {
		return models.User{}, err
	}
	now := s.now()
	switch {
	case !strings.EqualFold(strings.TrimSpace(email), lt.Email):
		return models.User{}, ErrLinkWrongEmail
	case lt.UsedAt != nil:
		return models.User{}, ErrLinkUsed
	case now.After(lt.ExpiresAt):
		return models.User{}, ErrLinkExpired
	}
	// The conditional update is the single-use guarantee: of two clicks at
	// once, exactly one changes the row.
	q := s.db.WithContext(ctx).Model(&models.LoginToken{}).Where("token_hash = ? AND used_at IS NULL", h).Update("used_at", now)
	if q.Error != nil {
		return models.User{}, q.Error
	}
	if q.RowsAffected == 0 {
		return models.User{}, ErrLinkUsed
	}
	u, _, err := s.activeUser(ctx, lt.UserID)
	return u, err
}

// LoginTokenEmail tells which address a link was issued for, so an expired
// or used link's page can offer to resend to that address.
func (s *Service) LoginTokenEmail(ctx context.Context, secret string) (string, bool) {
	var lt models.LoginToken
	if err := s.db.WithContext(ctx).Where("token_hash = ?", Hash(secret)).Take(&lt).Error; err != nil {
		return "", false
	}
	return lt.Email, true
}

// ---- Personal access tokens ----

// NewTokenRequest describes a token to create.
type NewTokenRequest struct {
	UserID     int64
	Name       string
	Scopes     []string
	ExpiryDays int // one of TokenExpiries; 0 means never
	Source     string
}

// CreateToken makes a personal access token and returns it in plain text,
// the only time it is ever seen. Errors: ErrInvalid, ErrDisabled.
func (s *Service) CreateToken(ctx context.Context, r NewTokenRequest) (string, models.PersonalAccessToken, error) {
	name := strings.TrimSpace(r.Name)
	if name == "" || len(name) > 100 || !utf8.ValidString(name) {
		return "", models.PersonalAccessToken{}, fmt.Errorf("%w: name must be 1 to 100 characters", ErrInvalid)
	}
	allowed := false
	for _, d := range TokenExpiries {
		allowed = allowed || d == r.ExpiryDays
	}
	if !allowed {
		return "", models.PersonalAccessToken{}, fmt.Errorf("%w: expiry must be 7, 30 or 90 days, or none", ErrInvalid)
	}
	if r.Source == "" {
		r.Source = "web"
	}
	if _, _, err := s.activeUser(ctx, r.UserID); err != nil {
		return "", models.PersonalAccessToken{}, err
	}
	tok := NewToken()
	now := s.now()
	pat := models.PersonalAccessToken{UserID: r.UserID, Name: name, TokenHash: Hash(tok), DisplayHint: TokenHint(tok),
		Scopes: strings.Join(r.Scopes, ","), Source: r.Source, CreatedAt: now}
	if r.ExpiryDays > 0 {
		exp := now.Add(time.Duration(r.ExpiryDays) * 24 * time.Hour)
		pat.ExpiresAt = &exp
	}
	if err := s.db.WithContext(ctx).Create(&pat).Error; err != nil {
		return "", models.PersonalAccessToken{}, fmt.Errorf("create token: %w", err)
	}
	return tok, pat, nil
}

// TokenPrincipal authenticates a bearer token. A malformed token is refused
// before any lookup. Errors: ErrTokenMalformed, ErrUnauthenticated,
// ErrTokenRevoked, ErrTokenExpired, ErrDisabled.
func (s *Service) TokenPrincipal(ctx context.Context, tok string) (Principal, error) {
	if err := CheckToken(tok); err != nil {
		return Principal{}, err
	}
	var pat models.PersonalAccessToken
	err := s.db.WithContext(ctx).Where("token_hash = ?", Hash(tok)).Take(&pat).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, err
	}
	// Status first: a disabled user or account is told so (403) even when
	// disabling also revoked the token.
	u, a, err := s.activeUser(ctx, pat.UserID)
	if err != nil {
		return Principal{}, err
	}
	now := s.now()
	switch {
	case pat.RevokedAt != nil:
		return Principal{}, ErrTokenRevoked
	case pat.ExpiresAt != nil && now.After(*pat.ExpiresAt):
		return Principal{}, ErrTokenExpired
	}
	if pat.LastUsedAt == nil || now.Sub(*pat.LastUsedAt) > touchEvery {
		s.db.WithContext(ctx).Model(&models.PersonalAccessToken{}).Where("id = ?", pat.ID).Update("last_used_at", now)
		pat.LastUsedAt = &now
	}
	return Principal{User: u, Account: a, Token: &pat}, nil
}

// RevokeDeviceTokens revokes every token a device login (the CLI) made for
// the user and returns how many.
func (s *Service) RevokeDeviceTokens(ctx context.Context, userID int64) (int64, error) {
	q := s.db.WithContext(ctx).Model(&models.PersonalAccessToken{}).
		Where("user_id = ? AND source = 'device' AND revoked_at IS NULL", userID).Update("revoked_at", s.now())
	return q.RowsAffected, q.Error
}

// Tokens lists a user's tokens, newest first, revoked ones included.
func (s *Service) Tokens(ctx context.Context, userID int64) ([]models.PersonalAccessToken, error) {
	var out []models.PersonalAccessToken
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("id DESC").Find(&out).Error
	return out, err
}

// RevokeToken revokes one of the user's tokens; revoking twice is harmless.
// Errors: ErrUnauthenticated when the token is not the user's.
func (s *Service) RevokeToken(ctx context.Context, userID, tokenID int64) error {
	var pat models.PersonalAccessToken
	if err := s.db.WithContext(ctx).Where("id = ? AND user_id = ?", tokenID, userID).Take(&pat).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("%w: no such token", ErrInvalid)
		}
		return err
	}
	return s.db.WithContext(ctx).Model(&models.PersonalAccessToken{}).
		Where("id = ? AND revoked_at IS NULL", tokenID).Update("revoked_at", s.now()).Error
}
