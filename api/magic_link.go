package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/models"
)

// Magic links: the sign-in, sign-up and password-reset links mailed by the
// SendLoginLink workflow. GET shows a confirm button, POST redeems.

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
