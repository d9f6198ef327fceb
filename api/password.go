package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/wire"
	"github.com/mobayilo/mobayilo/models"
)

// Passwords: owners may sign in, sign up and reset with a password.

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
			err = &requestError{status: http.StatusForbidden, code: wire.CodeAccountDisabled,
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
