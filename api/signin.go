package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
	"github.com/mobayilo/mobayilo/workflows"
)

// SubscribePath is the marketing site's waiting-list endpoint, the one
// path its origin may post to (see csrf).
const SubscribePath = "/api/subscribe"

// Sign-in limits, per client IP and per address (the normalised email,
// hashed). Counters live in the database, so they hold across API
// processes.
const (
	signInPerIP         = 20 // per 10 minutes, each of the sign-in forms
	signInPerEmail      = 5  // links or password attempts per 15 minutes
	signUpPerIPPerHour  = 10
	linkRedeemsPerIP    = 30 // per 10 minutes; link secrets carry 256 bits, this only bounds noise
	subscribesPerIP     = 20 // per 10 minutes
	signInFormBodyLimit = 16 << 10
)

// registerSignIn adds sign-in, sign-up, magic links, password reset, sign
// out, the dev mailbox and the subscriber API.
func (h *handlers) registerSignIn(r gin.IRouter) {
	perIP := func(name string, n int64) gin.HandlerFunc {
		return h.limit(name, n, 10*time.Minute, byIP, h.signinLimits())
	}
	perEmail := func(name string) gin.HandlerFunc {
		return h.limit(name, signInPerEmail, 15*time.Minute, byFormEmail, h.signinLimits())
	}
	small := signinBodyLimit(signInFormBodyLimit)

	r.GET("/signin", h.signInPage)
	r.POST("/signin", small, perIP("signin-ip", signInPerIP), perEmail("signin-email"), h.signIn)
	r.GET("/signin/password", h.passwordSignInPage)
	r.POST("/signin/password", small, perIP("password-signin-ip", signInPerIP), perEmail("password-signin-email"), h.passwordSignIn)
	r.GET("/signup", h.signUpPage)
	r.POST("/signup", small, h.limit("signup-ip", signUpPerIPPerHour, time.Hour, byIP, h.signinLimits()), perEmail("signup-email"), h.signUp)
	r.GET(activities.MagicLinkPath, h.magicLinkPage)
	r.POST(activities.MagicLinkPath, small, perIP("link-redeem-ip", linkRedeemsPerIP), h.redeemMagicLink)
	r.GET("/password/reset", h.passwordResetPage)
	r.POST("/password/reset", small, perIP("password-reset-ip", signInPerIP), perEmail("password-reset-email"), h.passwordReset)
	r.GET(activities.PasswordResetPath, h.passwordResetConfirmPage)
	r.POST(activities.PasswordResetPath, small, perIP("link-redeem-ip", linkRedeemsPerIP), h.passwordResetConfirm)
	r.POST("/signout", h.signOut)
	r.POST("/signout/everywhere", h.signOutEverywhere)
	r.GET("/dev/mail", h.devMail)

	// The CORS middleware answers preflights itself; it runs first so that
	// even a 429 carries the headers the marketing page needs to read it.
	allowMarketing := h.subscribeCORS()
	r.OPTIONS(SubscribePath, allowMarketing)
	r.POST(SubscribePath, allowMarketing, small, h.limit("subscribe-ip", subscribesPerIP, 10*time.Minute, byIP), h.subscribe)
}

// ---- Pages and their data ----

type signInView struct {
	Email, Next, Error string
	BetaGate           bool
}

type signUpView struct {
	Email, CompanyName, Kind, Next, Error string
	BetaGate                              bool
}

type checkEmailView struct {
	// Kind is "signin", "signup" or "reset": what the mail is for.
	Kind, Email, Next string
	// DevMailbox links the dev mailbox, where the mail lands without SMTP.
	DevMailbox bool
}

type magicView struct{ Token, Email, Next string }

type resetConfirmView struct{ Token, Email, Error string }

// linkProblemView explains a link that cannot be used and offers to send
// another.
type linkProblemView struct {
	// Problem is "expired", "used", "wrong_email", "invalid" or "disabled".
	Problem string
	// Email is where a resend goes when the link's address was verified
	// (expired or used links); empty means the person types it.
	Email string
	// ResendAction is the form the resend button posts to.
	ResendAction string
	Next         string
}

func (h *handlers) signinRender(c *gin.Context, status int, name, title string, data any) {
	// Sign-in pages carry link secrets in their URLs and forms: keep them
	// out of caches.
	c.Header("Cache-Control", "no-store")
	p := web.PageFor(c, title, "")
	p.Data = data
	h.d.Pages.Serve(c, status, name, p)
}

func (h *handlers) signinLog() *slog.Logger {
	if h.d.Log != nil {
		return h.d.Log
	}
	return slog.Default()
}

// signinFailed answers an error on a sign-in page: problems with the
// request re-render the form with the message, anything else is the error
// page (and a log line with the request id).
func (h *handlers) signinFailed(c *gin.Context, err error, rerender func(status int, msg string)) {
	status, _ := statusFor(err)
	if status < 500 && rerender != nil {
		rerender(status, formMessage(err))
		return
	}
	h.signinLog().ErrorContext(c.Request.Context(), "sign-in request failed", "error", err, "path", c.FullPath(), "request_id", c.GetString(requestIDKey))
	h.d.Pages.Serve(c, http.StatusInternalServerError, "error", web.PageFor(c, "Something went wrong", ""))
}

// formMessage drops the sentinel's prefix ("invalid user: …") that is
// meant for logs, keeping what the person must fix.
func formMessage(err error) string {
	msg := err.Error()
	for _, prefix := range []string{identity.ErrInvalid.Error() + ": ", identity.ErrCompanyDomain.Error() + ": "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	if msg == "" {
		return "please check what you entered"
	}
	return strings.ToUpper(msg[:1]) + msg[1:]
}

// ---- Email-first sign-in ----

func (h *handlers) signInPage(c *gin.Context) {
	next := safeNext(c.Query("next"))
	if _, ok := principal(c); ok {
		c.Redirect(http.StatusSeeOther, orDial(next))
		return
	}
	h.signinRender(c, http.StatusOK, "signin", "Sign in", signInView{Next: next, Email: c.Query("email"), BetaGate: h.d.Config.BetaGate})
}

// signIn answers every address the same way: "check your email". Known
// users, new seats and new individuals get a link; disabled users and
// accounts get nothing, which only the log tells. With the beta gate on,
// addresses not let in see the waiting-list page instead.
func (h *handlers) signIn(c *gin.Context) {
	ctx := c.Request.Context()
	raw, next := c.PostForm("email"), safeNext(c.PostForm("next"))
	res, err := h.d.Identity.ResolveSignIn(ctx, raw, h.d.Config.BetaGate)
	if err != nil {
		h.signinFailed(c, err, func(status int, msg string) {
			h.signinRender(c, status, "signin", "Sign in", signInView{Email: raw, Next: next, Error: msg, BetaGate: h.d.Config.BetaGate})
		})
		return
	}
	email, _ := identity.NormalizeEmail(raw)
	log := h.signinLog().With("outcome", string(res.Outcome), "user_id", res.User.ID, "request_id", c.GetString(requestIDKey))
	switch {
	case res.Outcome == identity.SignInWaitlisted:
		log.InfoContext(ctx, "sign-in held by the beta gate", "domain", domainOf(email))
		h.signinRender(c, http.StatusOK, "waitlist", "You're on the list", checkEmailView{Email: email})
		return
	case res.SendLink():
		if err := h.sendLoginLink(ctx, activities.LinkSignIn, res.User, next); err != nil {
			h.signinFailed(c, err, nil)
			return
		}
		log.InfoContext(ctx, "sign-in link requested")
	default:
		log.WarnContext(ctx, "sign-in refused: user or account disabled; no link sent", "domain", domainOf(email))
	}
	h.checkEmail(c, "signin", email, next)
}

func (h *handlers) checkEmail(c *gin.Context, kind, email, next string) {
	h.signinRender(c, http.StatusOK, "check_email", "Check your email",
		checkEmailView{Kind: kind, Email: email, Next: next, DevMailbox: h.devMailVisible(c)})
}

// sendLoginLink starts the SendLoginLink workflow. Requests for the same
// link within workflows.LoginLinkDedupWindow share one workflow ID, so a
// double submit mails once; finding that workflow is not an error.
func (h *handlers) sendLoginLink(ctx context.Context, kind activities.LinkKind, u models.User, next string) error {
	return h.wf.StartSendLoginLink(ctx, workflows.SendLoginLinkInput{Kind: kind, UserID: u.ID, Email: u.Email, Next: next}, time.Now())
}

// ---- Magic links ----

// magicLinkPage only shows a button: mail scanners that open every link
// must not burn it. The POST redeems.
func (h *handlers) magicLinkPage(c *gin.Context) {
	v := magicView{Token: c.Query("token"), Email: c.Query("email"), Next: safeNext(c.Query("next"))}
	if v.Token == "" || v.Email == "" {
		h.linkProblem(c, auth.ErrLinkInvalid, "", "/signin", v.Next)
		return
	}
	h.signinRender(c, http.StatusOK, "magic", "Confirm sign-in", v)
}

func (h *handlers) redeemMagicLink(c *gin.Context) {
	ctx := c.Request.Context()
	token, email, next := c.PostForm("token"), c.PostForm("email"), safeNext(c.PostForm("next"))
	u, err := h.d.Auth.RedeemLoginToken(ctx, models.PurposeMagicLink, token, email)
	if err != nil {
		h.linkProblem(c, err, email, "/signin", next)
		return
	}
	h.confirmEmail(c, u.ID)
	if err := h.startSession(c, u.ID); err != nil {
		h.linkProblem(c, err, "", "/signin", next)
		return
	}
	h.signinLog().InfoContext(ctx, "signed in by email link", "user_id", u.ID, "request_id", c.GetString(requestIDKey))
	c.Redirect(http.StatusSeeOther, orDial(next))
}

// confirmEmail records that the user read mail at their address. A failure
// here must not block the sign-in the link was for: it is logged, and the
// next link confirms.
func (h *handlers) confirmEmail(c *gin.Context, userID int64) {
	conf, err := h.d.Identity.ConfirmEmail(c.Request.Context(), userID)
	log := h.signinLog().With("user_id", userID, "request_id", c.GetString(requestIDKey))
	switch {
	case err != nil:
		log.ErrorContext(c.Request.Context(), "could not record email confirmation", "error", err)
	case conf.DomainTaken != "":
		log.WarnContext(c.Request.Context(), "company sign-up confirmed, but its domain was claimed meanwhile by another company", "domain", conf.DomainTaken)
	case conf.Domain != "":
		log.InfoContext(c.Request.Context(), "company sign-up confirmed; domain allowlisted", "domain", conf.Domain)
	}
}

// startSession signs the browser in as userID with a new session, ending
// the one it had: the session rotates at every sign-in, so a session id
// planted before sign-in is worthless after. Errors: auth.ErrDisabled.
func (h *handlers) startSession(c *gin.Context, userID int64) error {
	ctx := c.Request.Context()
	if old, err := c.Cookie(SessionCookie); err == nil && old != "" {
		if err := h.d.Auth.EndSession(ctx, old); err != nil {
			return err
		}
	}
	secret, err := h.d.Auth.CreateSession(ctx, userID, c.ClientIP(), c.Request.UserAgent())
	if err != nil {
		return err
	}
	h.setSessionCookie(c, secret)
	return nil
}

// linkProblem explains an unusable link (or a disabled account) and offers
// to send a new one.
func (h *handlers) linkProblem(c *gin.Context, err error, email, resendAction, next string) {
	v := linkProblemView{ResendAction: resendAction, Next: next}
	switch {
	case errors.Is(err, auth.ErrLinkExpired):
		v.Problem, v.Email = "expired", email
	case errors.Is(err, auth.ErrLinkUsed):
		v.Problem, v.Email = "used", email
	case errors.Is(err, auth.ErrLinkWrongEmail):
		v.Problem = "wrong_email"
	case errors.Is(err, auth.ErrLinkInvalid):
		v.Problem = "invalid"
	case errors.Is(err, auth.ErrDisabled):
		v.Problem = "disabled"
	default:
		h.signinFailed(c, err, nil)
		return
	}
	if v.Email != "" {
		// The address was checked against the link; tidy it for the form.
		v.Email, _ = identity.NormalizeEmail(v.Email)
	}
	status, _ := statusFor(err)
	if v.Problem == "invalid" && c.Request.Method == http.MethodGet {
		status = http.StatusBadRequest
	}
	h.signinRender(c, status, "link_problem", "This link can't be used", v)
}

// ---- Passwords ----

func (h *handlers) passwordSignInPage(c *gin.Context) {
	next := safeNext(c.Query("next"))
	if _, ok := principal(c); ok {
		c.Redirect(http.StatusSeeOther, orDial(next))
		return
	}
	h.signinRender(c, http.StatusOK, "password", "Sign in with a password", signInView{Next: next, Email: c.Query("email")})
}

func (h *handlers) passwordSignIn(c *gin.Context) {
	ctx := c.Request.Context()
	email, next := c.PostForm("email"), safeNext(c.PostForm("next"))
	rerender := func(status int, msg string) {
		h.signinRender(c, status, "password", "Sign in with a password", signInView{Email: email, Next: next, Error: msg})
	}
	u, err := h.d.Identity.PasswordSignIn(ctx, email, c.PostForm("password"))
	if err == nil {
		err = h.startSession(c, u.ID)
	}
	if err != nil {
		if errors.Is(err, identity.ErrBadCredentials) {
			h.signinLog().InfoContext(ctx, "password sign-in refused", "domain", domainOf(strings.ToLower(email)), "request_id", c.GetString(requestIDKey))
		}
		if errors.Is(err, auth.ErrDisabled) {
			err = &requestError{status: http.StatusForbidden, code: "account_disabled",
				message: "this account is disabled; if you think that is a mistake, contact support or your company's admin"}
		}
		h.signinFailed(c, err, rerender)
		return
	}
	h.signinLog().InfoContext(ctx, "signed in with a password", "user_id", u.ID, "request_id", c.GetString(requestIDKey))
	c.Redirect(http.StatusSeeOther, orDial(next))
}

func (h *handlers) signUpPage(c *gin.Context) {
	next := safeNext(c.Query("next"))
	if _, ok := principal(c); ok {
		c.Redirect(http.StatusSeeOther, orDial(next))
		return
	}
	h.signinRender(c, http.StatusOK, "signup", "Create your account", signUpView{Kind: string(models.AccountIndividual), Next: next, BetaGate: h.d.Config.BetaGate})
}

// signUp creates a pending account and mails a confirmation link. An
// address that already has a user gets a sign-in link instead and the same
// page, so sign-up does not reveal who has an account.
func (h *handlers) signUp(c *gin.Context) {
	ctx := c.Request.Context()
	v := signUpView{Email: c.PostForm("email"), CompanyName: c.PostForm("company_name"), Kind: c.PostForm("kind"),
		Next: safeNext(c.PostForm("next")), BetaGate: h.d.Config.BetaGate}
	if v.Kind != string(models.AccountCompany) {
		v.Kind = string(models.AccountIndividual)
	}
	res, err := h.d.Identity.SignUp(ctx, identity.SignUpRequest{Email: v.Email, Password: c.PostForm("password"),
		Kind: models.AccountKind(v.Kind), CompanyName: v.CompanyName, BetaGate: h.d.Config.BetaGate})
	if err != nil {
		h.signinFailed(c, err, func(status int, msg string) {
			v.Error = msg
			h.signinRender(c, status, "signup", "Create your account", v)
		})
		return
	}
	email, _ := identity.NormalizeEmail(v.Email)
	log := h.signinLog().With("outcome", string(res.Outcome), "user_id", res.User.ID, "request_id", c.GetString(requestIDKey))
	switch res.Outcome {
	case identity.SignUpWaitlisted:
		log.InfoContext(ctx, "sign-up held by the beta gate", "domain", domainOf(email))
		h.signinRender(c, http.StatusOK, "waitlist", "You're on the list", checkEmailView{Email: email})
		return
	case identity.SignUpCreated, identity.SignUpExisting:
		kind := activities.LinkSignUp
		if res.Outcome == identity.SignUpExisting {
			kind = activities.LinkSignIn
		}
		if err := h.sendLoginLink(ctx, kind, res.User, v.Next); err != nil {
			h.signinFailed(c, err, nil)
			return
		}
		log.InfoContext(ctx, "sign-up link requested", "account_kind", v.Kind)
	default:
		log.WarnContext(ctx, "sign-up refused: user or account disabled; no link sent")
	}
	h.checkEmail(c, "signup", email, v.Next)
}

func (h *handlers) passwordResetPage(c *gin.Context) {
	h.signinRender(c, http.StatusOK, "password_reset", "Reset your password", signInView{Email: c.Query("email")})
}

// passwordReset mails a reset link to individuals and company admins. The
// answer is the same whoever asks; seats (who have no password), unknown
// and disabled addresses get no mail, which only the log tells.
func (h *handlers) passwordReset(c *gin.Context) {
	ctx := c.Request.Context()
	raw := c.PostForm("email")
	email, err := identity.NormalizeEmail(raw)
	if err != nil {
		h.signinFailed(c, err, func(status int, msg string) {
			h.signinRender(c, status, "password_reset", "Reset your password", signInView{Email: raw, Error: msg})
		})
		return
	}
	u, err := h.d.Identity.UserByEmail(ctx, email)
	log := h.signinLog().With("user_id", u.ID, "request_id", c.GetString(requestIDKey))
	switch {
	case errors.Is(err, identity.ErrUserNotFound):
		log.InfoContext(ctx, "password reset for an unknown address; no link sent", "domain", domainOf(email))
	case err != nil:
		h.signinFailed(c, err, nil)
		return
	case u.Role == models.RoleSeat:
		log.InfoContext(ctx, "password reset asked by a seat, who signs in by link only; no link sent")
	case !h.userActive(ctx, u):
		log.WarnContext(ctx, "password reset for a disabled user or account; no link sent")
	default:
		if err := h.sendLoginLink(ctx, activities.LinkPasswordReset, u, ""); err != nil {
			h.signinFailed(c, err, nil)
			return
		}
		log.InfoContext(ctx, "password reset link requested")
	}
	h.checkEmail(c, "reset", email, "")
}

func (h *handlers) passwordResetConfirmPage(c *gin.Context) {
	v := resetConfirmView{Token: c.Query("token"), Email: c.Query("email")}
	if v.Token == "" || v.Email == "" {
		h.linkProblem(c, auth.ErrLinkInvalid, "", "/password/reset", "")
		return
	}
	h.signinRender(c, http.StatusOK, "password_reset_confirm", "Choose a new password", v)
}

// passwordResetConfirm sets the new password, ends every session the user
// had (a reset often follows a suspected compromise) and signs this
// browser in.
func (h *handlers) passwordResetConfirm(c *gin.Context) {
	ctx := c.Request.Context()
	v := resetConfirmView{Token: c.PostForm("token"), Email: c.PostForm("email")}
	password := c.PostForm("password")
	// Check the policy before redeeming, so a too-short password does not
	// burn the link.
	if n := len(password); n < identity.MinPasswordLength || n > 72 {
		v.Error = fmt.Sprintf("Choose a password of %d to 72 characters.", identity.MinPasswordLength)
		h.signinRender(c, http.StatusUnprocessableEntity, "password_reset_confirm", "Choose a new password", v)
		return
	}
	u, err := h.d.Auth.RedeemLoginToken(ctx, models.PurposePasswordReset, v.Token, v.Email)
	if err != nil {
		h.linkProblem(c, err, v.Email, "/password/reset", "")
		return
	}
	if err := h.d.Identity.SetPassword(ctx, u.ID, password); err != nil {
		h.signinFailed(c, err, func(status int, msg string) {
			h.signinRender(c, status, "link_problem", "This link can't be used", linkProblemView{Problem: "invalid", ResendAction: "/signin"})
		})
		return
	}
	ended, err := h.d.Auth.EndAllSessions(ctx, u.ID)
	if err == nil {
		// "Signs you out everywhere" includes CLI logins; scripts' tokens
		// made on the Settings page stay, as the user chose them.
		_, err = h.d.Auth.RevokeDeviceTokens(ctx, u.ID)
	}
	if err != nil {
		h.signinFailed(c, err, nil)
		return
	}
	if err := h.startSession(c, u.ID); err != nil {
		h.linkProblem(c, err, "", "/password/reset", "")
		return
	}
	h.signinLog().InfoContext(ctx, "password reset; other sessions ended", "user_id", u.ID, "sessions_ended", ended, "request_id", c.GetString(requestIDKey))
	c.Redirect(http.StatusSeeOther, "/dial")
}

// ---- Sign out ----

func (h *handlers) signOut(c *gin.Context) {
	if secret, err := c.Cookie(SessionCookie); err == nil && secret != "" {
		if err := h.d.Auth.EndSession(c.Request.Context(), secret); err != nil {
			h.signinFailed(c, err, nil)
			return
		}
	}
	h.clearSessionCookie(c)
	c.Redirect(http.StatusSeeOther, "/")
}

// signOutEverywhere ends every web session of the user, this one included.
// CLI tokens are not sessions and stay; Settings revokes those.
func (h *handlers) signOutEverywhere(c *gin.Context) {
	p, ok := principal(c)
	if !ok {
		c.Redirect(http.StatusSeeOther, "/signin")
		return
	}
	n, err := h.d.Auth.EndAllSessions(c.Request.Context(), p.User.ID)
	if err != nil {
		h.signinFailed(c, err, nil)
		return
	}
	h.signinLog().InfoContext(c.Request.Context(), "signed out everywhere", "user_id", p.User.ID, "sessions_ended", n, "request_id", c.GetString(requestIDKey))
	h.clearSessionCookie(c)
	c.Redirect(http.StatusSeeOther, "/signin")
}

// ---- Dev mailbox ----

// devMailVisible reports whether this request may read the dev mailbox.
// It holds every sign-in link, so it exists only without SMTP, and outside
// localhost only Mobayilo operators see it: a sandbox on a public address
// must not hand anyone's link to everyone.
func (h *handlers) devMailVisible(c *gin.Context) bool {
	if h.d.Mailbox == nil {
		return false
	}
	// On a localhost deployment, only this machine may look: the server
	// listens on every interface, and the mailbox holds everyone's links.
	if loopbackURL(h.d.Config.PublicBaseURL) {
		if ip := net.ParseIP(c.RemoteIP()); ip != nil && ip.IsLoopback() {
			return true
		}
	}
	p, ok := principal(c)
	return ok && p.User.IsAdmin
}

func loopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type devMailView struct {
	Messages []devMessage
}

type devMessage struct {
	To, Subject, At string
	Lines           [][]textPart
}

// textPart is a run of a message's text; URL is set when the run is a
// link, which the page makes clickable.
type textPart struct{ Text, URL string }

var linkPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

func linkify(line string) []textPart {
	var out []textPart
	last := 0
	for _, m := range linkPattern.FindAllStringIndex(line, -1) {
		if m[0] > last {
			out = append(out, textPart{Text: line[last:m[0]]})
		}
		out = append(out, textPart{Text: line[m[0]:m[1]], URL: line[m[0]:m[1]]})
		last = m[1]
	}
	if last < len(line) || len(out) == 0 {
		out = append(out, textPart{Text: line[last:]})
	}
	return out
}

func (h *handlers) devMail(c *gin.Context) {
	if !h.devMailVisible(c) {
		web.NotFound(h.d.Pages)(c)
		return
	}
	var v devMailView
	for _, m := range h.d.Mailbox.Messages() {
		dm := devMessage{To: m.To, Subject: m.Subject, At: m.At.UTC().Format("2 Jan 2006, 15:04:05 UTC")}
		for _, line := range strings.Split(strings.TrimRight(m.Text, "\n"), "\n") {
			dm.Lines = append(dm.Lines, linkify(line))
		}
		v.Messages = append(v.Messages, dm)
	}
	h.signinRender(c, http.StatusOK, "dev_mail", "Dev mailbox", v)
}

// ---- Waiting list API ----

// subscribeCORS lets the marketing site's pages call the subscribe API.
// Only MARKETING_ORIGIN gets Access-Control-Allow-Origin; any other
// cross-origin request is refused with 403.
func (h *handlers) subscribeCORS() gin.HandlerFunc {
	cfg := cors.Config{
		AllowMethods: []string{http.MethodPost},
		AllowHeaders: []string{"Content-Type"},
		MaxAge:       12 * time.Hour,
	}
	if o := h.d.Config.MarketingOrigin; o != "" {
		cfg.AllowOrigins = []string{o}
	} else {
		cfg.AllowOriginFunc = func(string) bool { return false }
	}
	return cors.New(cfg)
}

var (
	errEmailMissing  = &requestError{status: http.StatusUnprocessableEntity, code: "invalid_email", message: "email is required"}
	errSubscribeJSON = &requestError{status: http.StatusBadRequest, code: "invalid_json",
		message: `send {"email":"you@example.com"} as JSON, or an email form field`}
)

// subscribe puts an address on the waiting list: JSON {"email": …} or a
// form field. Repeats, in any letter case, answer 200 like the first time,
// so the endpoint neither errs on a double submit nor tells who is listed.
func (h *handlers) subscribe(c *gin.Context) {
	var raw string
	if strings.HasPrefix(strings.ToLower(c.ContentType()), "application/json") {
		var body struct {
			Email string `json:"email"`
		}
		if err := json.NewDecoder(c.Request.Body).Decode(&body); err != nil && !errors.Is(err, io.EOF) {
			abortWithError(c, errSubscribeJSON)
			return
		}
		raw = body.Email
	} else {
		raw = c.PostForm("email")
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		abortWithError(c, errEmailMissing)
		return
	}
	if len(raw) > 254 {
		abortWithError(c, &requestError{status: http.StatusUnprocessableEntity, code: "invalid_email", message: "email is longer than 254 characters"})
		return
	}
	email, err := identity.NormalizeEmail(raw)
	if err != nil {
		abortWithError(c, &requestError{status: http.StatusUnprocessableEntity, code: "invalid_email", message: fmt.Sprintf("email %q is not an email address", raw)})
		return
	}
	added, err := h.d.Identity.Subscribe(c.Request.Context(), email)
	if err != nil {
		abortWithError(c, err)
		return
	}
	if added {
		h.signinLog().InfoContext(c.Request.Context(), "waiting-list subscriber added", "domain", domainOf(email))
	}
	c.JSON(http.StatusOK, gin.H{"email": email, "subscribed": true})
}

// ---- Helpers ----

// signinLimits answers the sign-in forms' limits with a page (the
// request's Retry-After is already set) rather than JSON.
func (h *handlers) signinLimits() limitAnswer {
	return limitAnswer{
		over: func(c *gin.Context, retry int64) {
			h.signinRender(c, http.StatusTooManyRequests, "slow_down", "Too many attempts", struct{ Wait string }{waitWords(retry)})
		},
		failed: func(c *gin.Context, err error) { h.signinFailed(c, err, nil) },
	}
}

// signinBodyLimit caps a form's body: sign-in forms are a few fields.
func signinBodyLimit(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		c.Next()
	}
}

func waitWords(secs int64) string {
	if secs < 60 {
		return fmt.Sprintf("%d seconds", secs)
	}
	return fmt.Sprintf("%d minutes", (secs+59)/60)
}

// byFormEmail keys a limit on the posted address, normalised and hashed so
// the counters table holds no addresses.
func byFormEmail(c *gin.Context) string {
	email, err := identity.NormalizeEmail(c.PostForm("email"))
	if err != nil {
		return ""
	}
	return "email:" + auth.Hash(email)[:32]
}

// safeNext keeps a post-sign-in destination only if it is a path on this
// site: "/dial" yes, "//evil.example", "https://…" or "/\evil" no.
func safeNext(s string) string {
	if s == "" || len(s) > 1024 || s[0] != '/' || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\\r\n\t") {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	return s
}

func orDial(next string) string {
	if next == "" {
		return "/dial"
	}
	return next
}

// domainOf is what logs say of an address: its domain, not the person.
func domainOf(email string) string {
	if at := strings.LastIndexByte(email, '@'); at >= 0 {
		return email[at+1:]
	}
	return ""
}

// userActive reports whether u and their account are active; on a lookup
// error it says no, which only withholds a link.
func (h *handlers) userActive(ctx context.Context, u models.User) bool {
	ok, err := h.d.Identity.UserActive(ctx, u)
	return err == nil && ok
}
