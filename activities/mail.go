package activities

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/models"
)

// Activities that send email: sign-in and reset links, receipts, auto
// top-up notices.

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

// EmailTopUpReceipt mails the receipt of a paid top-up, once.
func (a *Activities) EmailTopUpReceipt(ctx context.Context, topUpID string) error {
	t, err := a.TopUps.Get(ctx, topUpID)
	if err != nil {
		return err
	}
	if t.ReceiptEmailedAt != nil || t.Status != models.TopUpSucceeded {
		return nil
	}
	u, err := a.TopUps.PayerOf(ctx, t)
	if err != nil {
		return fmt.Errorf("payer of top-up %s: %w", t.ID, err)
	}
	if err := a.Mailer.Send(ctx, receiptMessage(u.Email, credits.ReceiptOfTopUp(t), "")); err != nil {
		return fmt.Errorf("mail receipt of top-up %s to user %d: %w", t.ID, u.ID, err)
	}
	return a.TopUps.MarkReceiptEmailed(ctx, t.ID)
}

// AutoTopUpReceiptInput names one credited auto top-up charge.
type AutoTopUpReceiptInput struct {
	AccountID       int64
	AttemptID       string
	AmountCents     int64
	PaymentIntentID string
	// BaseURL is PUBLIC_BASE_URL, where the receipt's page is linked.
	BaseURL string
}

// ErrTypeReceiptRefused marks a receipt asked for a payment the ledger has
// not credited: no retry makes it right.
const ErrTypeReceiptRefused = "ReceiptRefused"

// EmailAutoTopUpReceipt stores the receipt of a credited auto top-up (one
// per PaymentIntent) and mails it to the account's owner once: a retry
// after the mail went out sends nothing, and a retry after a failed send
// finds the receipt already stored.
func (a *Activities) EmailAutoTopUpReceipt(ctx context.Context, in AutoTopUpReceiptInput) error {
	r, err := a.TopUps.AutoTopUpReceipt(ctx, in.PaymentIntentID)
	if errors.Is(err, credits.ErrReceiptNotFound) {
		r, err = a.recordAutoTopUpReceipt(ctx, in)
	}
	if err != nil {
		return err
	}
	if r.EmailedAt != nil {
		return nil
	}
	to, err := a.AutoTopUps.OwnerEmail(ctx, r.AccountID)
	if err != nil {
		return fmt.Errorf("owner of account %d: %w", r.AccountID, err)
	}
	if err := a.Mailer.Send(ctx, receiptMessage(to, credits.ReceiptOfAutoTopUp(r), in.BaseURL)); err != nil {
		return fmt.Errorf("mail receipt %s to the owner of account %d: %w", r.ID, r.AccountID, err)
	}
	return a.TopUps.MarkAutoTopUpReceiptEmailed(ctx, r.ID)
}

// recordAutoTopUpReceipt stores the receipt of a payment the ledger holds,
// with the card the PaymentIntent was paid by (the saved card when the
// provider cannot say: the receipt stands without the provider).
func (a *Activities) recordAutoTopUpReceipt(ctx context.Context, in AutoTopUpReceiptInput) (models.AutoTopUpReceipt, error) {
	if in.PaymentIntentID == "" || in.AccountID == 0 || in.AmountCents <= 0 {
		return models.AutoTopUpReceipt{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("auto top-up receipt request is incomplete (account %d, attempt %q)", in.AccountID, in.AttemptID), ErrTypeReceiptRefused, nil)
	}
	credited, err := a.AutoTopUps.Credited(ctx, in.PaymentIntentID)
	if err != nil {
		return models.AutoTopUpReceipt{}, err
	}
	if !credited {
		return models.AutoTopUpReceipt{}, temporal.NewNonRetryableApplicationError(
			"no receipt for "+in.PaymentIntentID+": the ledger has not credited it", ErrTypeReceiptRefused, nil)
	}
	card, err := a.Payments.PaymentCard(ctx, in.PaymentIntentID)
	if err != nil || card.Last4 == "" {
		if err != nil {
			activity.GetLogger(ctx).Warn("auto top-up receipt: card from the saved card", "payment_intent", in.PaymentIntentID, "error", err.Error())
		}
		s, serr := a.AutoTopUps.Settings(ctx, in.AccountID)
		if serr != nil {
			return models.AutoTopUpReceipt{}, serr
		}
		card = providers.Card{Brand: s.CardBrand, Last4: s.CardLast4}
	}
	return a.TopUps.RecordAutoTopUpReceipt(ctx, models.AutoTopUpReceipt{AccountID: in.AccountID, AttemptID: in.AttemptID,
		PaymentIntentID: in.PaymentIntentID, AmountCents: in.AmountCents, CardBrand: card.Brand, CardLast4: card.Last4})
}

// receiptMessage is the receipt email of either kind; baseURL, when set,
// links the receipt's own page.
func receiptMessage(to string, r credits.AccountReceipt, baseURL string) mail.Message {
	card := "card"
	if r.CardLast4 != "" {
		card = fmt.Sprintf("%s ending in %s", r.CardBrand, r.CardLast4)
	}
	amount := money.Format(r.AmountCents)
	subject, intro, ref := "Your Mobayilo receipt: "+amount+" added",
		"Thank you. We added "+amount+" of calling credit to your Mobayilo wallet.", "Top-up:   "+r.Ref
	if r.Kind == credits.ReceiptAutoTopUp {
		subject = "Your Mobayilo auto top-up receipt: " + amount + " added"
		intro = "Your balance fell below your auto top-up threshold, so we charged your saved card and added " + amount + " of calling credit to your Mobayilo wallet."
		ref = "Receipt:  " + r.ID
	}
	where := "Your receipts are on the Credits page.\n"
	if baseURL != "" {
		where = "This receipt is also at " + strings.TrimRight(baseURL, "/") + "/credits/receipts/" + r.ID + "\n"
	}
	return mail.Message{To: to, Subject: subject, Text: "Hello,\n\n" + intro + "\n\n" +
		"Amount:   " + amount + "\n" +
		"Paid with: " + card + "\n" +
		"Date:     " + r.PaidAt.UTC().Format("2 January 2006 15:04 MST") + "\n" +
		ref + "\n" +
		"Payment:  " + r.PaymentIntentID + "\n\n" + where}
}

// AutoTopUpNotice says which email to send the owner.
type AutoTopUpNotice string

const (
	NoticeNeedsAuthentication AutoTopUpNotice = "needs_authentication"
	NoticeDeclined            AutoTopUpNotice = "declined"
	// NoticeNotCharged: the provider never answered and, asked afterwards,
	// has no charge: the card was not charged (and was not declined).
	NoticeNotCharged AutoTopUpNotice = "not_charged"
)

// NotifyAutoTopUpInput is one email to an account's owner.
type NotifyAutoTopUpInput struct {
	AccountID   int64
	Notice      AutoTopUpNotice
	AmountCents int64
	Reason      string
	// WillRetry says the workflow retries on its own (a soft decline).
	WillRetry bool
	BaseURL   string
}

// NotifyAutoTopUp emails the account's owner about a failed or blocked
// auto top-up, with a link to fix it on the site.
func (a *Activities) NotifyAutoTopUp(ctx context.Context, in NotifyAutoTopUpInput) error {
	to, err := a.AutoTopUps.OwnerEmail(ctx, in.AccountID)
	if err != nil {
		return err
	}
	amount := money.Format(in.AmountCents)
	m := mail.Message{To: to}
	switch in.Notice {
	case NoticeNeedsAuthentication:
		m.Subject = "Your Mobayilo auto top-up needs your approval"
		m.Text = fmt.Sprintf("Your bank asked to confirm the %s auto top-up, so we did not charge your card.\n\n"+
			"Approve the payment now, signed in, where your bank can ask you to confirm it:\n%s/autotopup/approve\n\n"+
			"Or save a different card for auto top-up:\n%s/autotopup\n\n"+
			"We will not try this charge again on our own.\n", amount, in.BaseURL, in.BaseURL)
	case NoticeNotCharged:
		m.Subject = "Your Mobayilo auto top-up could not be made"
		m.Text = fmt.Sprintf("We could not reach the payment provider for the %s auto top-up. We checked afterwards: your card was not charged.\n\n"+
			"Auto top-up is paused until an operator retries it or you save your card again; you can also top up by hand:\n%s/credits\n", amount, in.BaseURL)
	default:
		m.Subject = "Your Mobayilo auto top-up was declined"
		next := "Auto top-up is paused until you update your card or we retry it for you."
		if in.WillRetry {
			next = "We will retry a few times over the next hours; if it still fails, auto top-up pauses until you update your card."
		}
		m.Text = fmt.Sprintf("Your card was declined for the %s auto top-up (%s).\n\n%s\n\nUpdate your card or top up by hand:\n%s/autotopup\n",
			amount, in.Reason, next, in.BaseURL)
	}
	return a.Mailer.Send(ctx, m)
}
