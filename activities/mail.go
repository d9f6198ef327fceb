package activities

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/models"
)

// LoginLinks issues single-use link secrets (internal/auth).
type LoginLinks interface {
	IssueLoginToken(ctx context.Context, purpose models.LoginTokenPurpose, u models.User) (string, error)
}

// Users finds users by email (internal/identity).
type Users interface {
	UserByEmail(ctx context.Context, email string) (models.User, error)
}

// LinkKind says which email a login link goes out in.
type LinkKind string

const (
	// LinkSignIn is a magic sign-in link.
	LinkSignIn LinkKind = "signin"
	// LinkSignUp confirms a password sign-up; it signs in like a magic link.
	LinkSignUp LinkKind = "signup"
	// LinkPasswordReset lets an individual or company admin choose a new
	// password.
	LinkPasswordReset LinkKind = "password_reset"
)

// Purpose is the login token purpose the link redeems as.
func (k LinkKind) Purpose() models.LoginTokenPurpose {
	if k == LinkPasswordReset {
		return models.PurposePasswordReset
	}
	return models.PurposeMagicLink
}

// Valid reports whether k is a known kind.
func (k LinkKind) Valid() bool {
	return k == LinkSignIn || k == LinkSignUp || k == LinkPasswordReset
}

// Paths of the pages links open. The API registers its routes on them.
const (
	MagicLinkPath     = "/magic"
	PasswordResetPath = "/password/reset/confirm"
)

// SendLoginLinkInput names the user a link is for. It carries no secret:
// the activity makes the link's secret itself, so it never reaches workflow
// history.
type SendLoginLinkInput struct {
	Kind   LinkKind
	UserID int64
	Email  string
	// BaseURL is PUBLIC_BASE_URL, where links point.
	BaseURL string
	// Next is the same-site path to land on after signing in; may be empty.
	Next string
}

// SendLoginLinkResult reports what happened. Skipped, when not empty, says
// why no mail went out: the user is gone, disabled, or has changed address,
// or a seat asked for a password reset.
type SendLoginLinkResult struct {
	Sent    bool
	Skipped string
}

// Reasons a link is skipped rather than sent.
const (
	SkipUserGone     = "user_gone"
	SkipUserDisabled = "user_disabled"
	SkipSeatPassword = "seat_has_no_password"
)

// ErrTypeBadLinkRequest marks a link request no retry can fix.
const ErrTypeBadLinkRequest = "BadLinkRequest"

// SendLoginLink issues a single-use link for the user and mails it. Every
// attempt issues a fresh secret: a retry after a failed send must not mail
// a link that is about to expire, and an unsent secret is harmless (it
// expires unused). The secret exists only in this activity, the database
// (as its hash) and the email.
func (a *Activities) SendLoginLink(ctx context.Context, in SendLoginLinkInput) (SendLoginLinkResult, error) {
	if !in.Kind.Valid() || in.UserID == 0 || in.Email == "" || in.BaseURL == "" {
		return SendLoginLinkResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("login link request is incomplete (kind %q, user %d)", in.Kind, in.UserID), ErrTypeBadLinkRequest, nil)
	}
	u, err := a.Users.UserByEmail(ctx, in.Email)
	switch {
	case errors.Is(err, identity.ErrUserNotFound):
		return SendLoginLinkResult{Skipped: SkipUserGone}, nil
	case err != nil:
		return SendLoginLinkResult{}, fmt.Errorf("find user %d: %w", in.UserID, err)
	case u.ID != in.UserID:
		return SendLoginLinkResult{Skipped: SkipUserGone}, nil
	case u.Status != models.StatusActive:
		return SendLoginLinkResult{Skipped: SkipUserDisabled}, nil
	case in.Kind == LinkPasswordReset && u.Role == models.RoleSeat:
		return SendLoginLinkResult{Skipped: SkipSeatPassword}, nil
	}
	secret, err := a.LoginLinks.IssueLoginToken(ctx, in.Kind.Purpose(), u)
	if errors.Is(err, auth.ErrDisabled) {
		return SendLoginLinkResult{Skipped: SkipUserDisabled}, nil
	}
	if err != nil {
		return SendLoginLinkResult{}, fmt.Errorf("issue link for user %d: %w", u.ID, err)
	}
	msg := loginLinkMessage(in.Kind, u.Email, loginLinkURL(in, secret))
	if err := a.Mailer.Send(ctx, msg); err != nil {
		// The error names the recipient's user id, never the link.
		return SendLoginLinkResult{}, fmt.Errorf("mail %s link to user %d: %w", in.Kind, u.ID, err)
	}
	return SendLoginLinkResult{Sent: true}, nil
}

// loginLinkURL builds the link: the page, the secret, and the address it
// is bound to (checked when the link is used).
func loginLinkURL(in SendLoginLinkInput, secret string) string {
	path := MagicLinkPath
	if in.Kind == LinkPasswordReset {
		path = PasswordResetPath
	}
	q := url.Values{"token": {secret}, "email": {strings.ToLower(in.Email)}}
	if in.Next != "" && in.Kind != LinkPasswordReset {
		q.Set("next", in.Next)
	}
	return strings.TrimRight(in.BaseURL, "/") + path + "?" + q.Encode()
}

func loginLinkMessage(kind LinkKind, to, link string) mail.Message {
	lifetime := fmt.Sprintf("%d minutes", int(auth.LoginLinkLifetime.Minutes()))
	switch kind {
	case LinkSignUp:
		return mail.Message{To: to, Subject: "Confirm your Mobayilo account", Text: "Hello,\n\n" +
			"Someone, hopefully you, signed up for Mobayilo with " + to + " and chose a password.\n" +
			"Open this link to confirm the address and sign in. It works once, for " + lifetime + ":\n\n" +
			link + "\n\n" +
			"If it was not you, ignore this email: the account stays unconfirmed and its password does not work.\n"}
	case LinkPasswordReset:
		return mail.Message{To: to, Subject: "Reset your Mobayilo password", Text: "Hello,\n\n" +
			"Open this link to choose a new password for " + to + ". It works once, for " + lifetime + ":\n\n" +
			link + "\n\n" +
			"Choosing a new password signs you out everywhere else, CLI logins included.\n" +
			"If you did not ask for this, ignore this email; your password stays as it is.\n"}
	default:
		return mail.Message{To: to, Subject: "Your Mobayilo sign-in link", Text: "Hello,\n\n" +
			"Open this link to sign in to Mobayilo as " + to + ". It works once, for " + lifetime + ":\n\n" +
			link + "\n\n" +
			"If you did not ask to sign in, ignore this email; nobody can sign in without the link.\n"}
	}
}
