package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
	"github.com/mobayilo/mobayilo/workflows"
)

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
	small := limitBody(signInFormBodyLimit)

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
