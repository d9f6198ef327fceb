package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/wire"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
	"github.com/mobayilo/mobayilo/workflows"
)

// registerAutoTopUp serves the owner's auto top-up settings (page and CLI
// API) and the operators' list of failed auto top-ups with its Retry.
func (h *handlers) registerAutoTopUp(r gin.IRouter) {
	g := r.Group("/autotopup", requireUser())
	g.GET("", h.autoTopUpPage)
	g.POST("", h.autoTopUpSave)
	g.POST("/card/setup", h.autoTopUpStartCardSetup)
	g.POST("/card/remove", h.autoTopUpRemoveCard)

	a := r.Group("/admin/autotopups", h.requireAdmin())
	a.GET("", h.adminAutoTopUpsPage)
	a.POST("/:id/retry", h.adminAutoTopUpRetry)

	cli := r.Group("/api/cli/autotopup", cliTokenShape(),
		h.limit("cli-ip", cliPerIPPerMinute, time.Minute, byIP),
		h.bearer(),
		h.limit("cli-user", cliPerUserPerMinute, time.Minute, byUser))
	cli.GET("", h.cliAutoTopUp)
	cli.PUT("", h.cliSetAutoTopUp)
}

var errAutoTopUpOwnersOnly = &requestError{status: http.StatusForbidden, code: wire.CodeOwnersOnly,
	message: "only the account's owner manages auto top-up"}

func (h *handlers) autoTopUps() *autotopup.Service { return h.d.AutoTopUps }

// autoTopUpOwner is the signed-in owner's account id, or false after
// answering 403 to a seat.
func autoTopUpOwner(c *gin.Context) (int64, bool) {
	p, _ := principal(c)
	if p.User.Role != models.RoleOwner {
		abortWithError(c, errAutoTopUpOwnersOnly)
		return 0, false
	}
	return p.User.AccountID, true
}

// ---- The settings page ----

var autoTopUpFlashes = map[string]string{
	"saved":          "Auto top-up settings saved.",
	"card-saved":     "Card saved. A failed auto top-up, if any, tries again with it.",
	"card-removed":   "Card removed. Auto top-up is off until you save a card and turn it on.",
	"card-not-saved": "No card was saved: the card page closed before a card was entered.",
	"approved":       "Thanks. Your balance goes up as soon as your bank confirms the payment; if it does not, approve again from the banner.",
}

type autoTopUpView struct {
	Settings                          models.AutoTopUpSettings
	Threshold, Amount, DailyMax       string
	SuggestedThreshold, SuggestedAmnt string
	Sandbox                           bool
	Banner                            string
	BannerAction                      *web.Link
	Error                             string
}

func (h *handlers) autoTopUpPage(c *gin.Context) {
	h.renderAutoTopUp(c, http.StatusOK, autoTopUpFlashes[c.Query("done")], "")
}

func (h *handlers) renderAutoTopUp(c *gin.Context, status int, flash, problem string) {
	acct, ok := autoTopUpOwner(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	st, err := h.autoTopUps().Settings(ctx, acct)
	if err != nil {
		h.pageFailed(c, err)
		return
	}
	p, _ := principal(c)
	def := autotopup.Defaults(acct, p.Account.Kind)
	v := autoTopUpView{Settings: st, Threshold: money.FormatInput(st.ThresholdCents), Amount: money.FormatInput(st.AmountCents),
		DailyMax: money.FormatInput(st.DailyMaxCents), SuggestedThreshold: money.Format(def.ThresholdCents), SuggestedAmnt: money.Format(def.AmountCents),
		Sandbox: h.d.Config.SandboxStripe(), Error: problem}
	v.Banner, v.BannerAction = h.AutoTopUpBanner(ctx, acct)
	pg := web.PageFor(c, "Auto top-up", "credits")
	pg.Data, pg.Flash = v, flash
	c.Header("Cache-Control", "no-store")
	h.d.Pages.Serve(c, status, "autotopup", pg)
}

func (h *handlers) autoTopUpSave(c *gin.Context) {
	acct, ok := autoTopUpOwner(c)
	if !ok {
		return
	}
	u, err := autoTopUpForm(c)
	if err == nil {
		_, err = h.autoTopUps().Save(c.Request.Context(), acct, u)
	}
	if err != nil {
		if status, _ := statusFor(err); status < 500 {
			h.renderAutoTopUp(c, status, "", autoTopUpProblem(err))
			return
		}
		h.pageFailed(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/autotopup?done=saved")
}

// autoTopUpForm reads the settings form; amounts are dollars.
func autoTopUpForm(c *gin.Context) (autotopup.Update, error) {
	u := autotopup.Update{Enabled: c.PostForm("enabled") == "on"}
	var err error
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"threshold", &u.ThresholdCents}, {"amount", &u.AmountCents}, {"daily_max", &u.DailyMaxCents}} {
		if *f.dst, err = money.ParseDollars(c.PostForm(f.name)); err != nil {
			return u, &autotopup.ValidationError{Field: f.name, Problem: "must be an amount in dollars, like 20 or 2.50"}
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(c.PostForm("daily_max_count")))
	if err != nil {
		return u, &autotopup.ValidationError{Field: "daily_max_count", Problem: "must be a whole number"}
	}
	u.DailyMaxCount = n
	return u, nil
}

func autoTopUpProblem(err error) string {
	if errors.Is(err, autotopup.ErrNoCard) {
		return "Save a card before turning auto top-up on."
	}
	var ve *autotopup.ValidationError
	if errors.As(err, &ve) {
		return strings.ReplaceAll(ve.Field, "_", " ") + " " + ve.Problem + "."
	}
	return err.Error()
}

func (h *handlers) autoTopUpRemoveCard(c *gin.Context) {
	acct, ok := autoTopUpOwner(c)
	if !ok {
		return
	}
	if _, err := h.autoTopUps().RemoveCard(c.Request.Context(), acct); err != nil {
		h.pageFailed(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/autotopup?done=card-removed")
}

// AutoTopUpBanner is the warning to show an account's members when its
// latest auto top-up needs authentication or was declined, with the link
// that fixes it; "" otherwise. The dialer and Credits pages show it as
// their flash, the Auto top-up page in its own banner.
func (h *handlers) AutoTopUpBanner(ctx context.Context, accountID int64) (string, *web.Link) {
	as, err := h.autoTopUps().Attempts(ctx, accountID, 1)
	if err != nil || len(as) == 0 {
		return "", nil
	}
	switch as[0].Status {
	case models.AttemptCharging:
		// The outcome is being reconciled: not a decline, nothing to do.
		return fmt.Sprintf("We are confirming your %s auto top-up with the payment provider.", money.Format(as[0].AmountCents)), nil
	case models.AttemptNeedsAuthentication:
		return fmt.Sprintf("Your bank wants you to approve the %s auto top-up.", money.Format(as[0].AmountCents)),
			&web.Link{Href: "/autotopup/approve", Text: "Approve it"}
	case models.AttemptError:
		if as[0].DeclineCode == activities.DeclineNotCharged {
			return fmt.Sprintf("Your %s auto top-up could not be made; your card was not charged.", money.Format(as[0].AmountCents)),
				&web.Link{Href: "/credits", Text: "Top up"}
		}
		return fmt.Sprintf("Your %s auto top-up was declined.", money.Format(as[0].AmountCents)),
			&web.Link{Href: "/autotopup", Text: "Update your card"}
	case models.AttemptHardDecline, models.AttemptSoftDecline:
		return fmt.Sprintf("Your %s auto top-up was declined.", money.Format(as[0].AmountCents)),
			&web.Link{Href: "/autotopup", Text: "Update your card"}
	}
	return "", nil
}

// ---- The CLI API: GET/PUT /api/cli/autotopup ----

func (h *handlers) cliAutoTopUp(c *gin.Context) {
	acct, ok := autoTopUpOwner(c)
	if !ok {
		return
	}
	h.answerAutoTopUp(c, acct)
}

func (h *handlers) answerAutoTopUp(c *gin.Context, acct int64) {
	ctx := c.Request.Context()
	st, err := h.autoTopUps().Settings(ctx, acct)
	if err != nil {
		abortWithError(c, err)
		return
	}
	out := wire.AutoTopUp{Enabled: st.Enabled, ThresholdCents: st.ThresholdCents, Threshold: money.Format(st.ThresholdCents),
		AmountCents: st.AmountCents, Amount: money.Format(st.AmountCents), DailyMaxCount: st.DailyMaxCount,
		DailyMaxCents: st.DailyMaxCents, DailyMax: money.Format(st.DailyMaxCents)}
	if st.HasCard() {
		out.Card = &wire.AutoTopUpCard{Brand: st.CardBrand, Last4: st.CardLast4}
	}
	if as, err := h.autoTopUps().Attempts(ctx, acct, 1); err == nil && len(as) == 1 {
		out.LastAttempt = &wire.AutoTopUpAttempt{Status: string(as[0].Status), AmountCents: as[0].AmountCents, DeclineCode: as[0].DeclineCode, At: as[0].UpdatedAt.UTC()}
	}
	c.JSON(http.StatusOK, out)
}

var errAutoTopUpBadJSON = &requestError{status: http.StatusBadRequest, code: "bad_json",
	message: `send a JSON object such as {"enabled":true,"amount_cents":2000}`}

func (h *handlers) cliSetAutoTopUp(c *gin.Context) {
	acct, ok := autoTopUpOwner(c)
	if !ok {
		return
	}
	var in wire.AutoTopUpUpdate
	if err := c.ShouldBindJSON(&in); err != nil {
		abortWithError(c, errAutoTopUpBadJSON)
		return
	}
	ctx := c.Request.Context()
	st, err := h.autoTopUps().Settings(ctx, acct)
	if err != nil {
		abortWithError(c, err)
		return
	}
	u := autotopup.Update{Enabled: st.Enabled, ThresholdCents: st.ThresholdCents, AmountCents: st.AmountCents, DailyMaxCount: st.DailyMaxCount, DailyMaxCents: st.DailyMaxCents}
	if in.Enabled != nil {
		u.Enabled = *in.Enabled
	}
	if in.ThresholdCents != nil {
		u.ThresholdCents = *in.ThresholdCents
	}
	if in.AmountCents != nil {
		u.AmountCents = *in.AmountCents
	}
	if in.DailyMaxCount != nil {
		u.DailyMaxCount = *in.DailyMaxCount
	}
	if in.DailyMaxCents != nil {
		u.DailyMaxCents = *in.DailyMaxCents
	}
	if _, err := h.autoTopUps().Save(ctx, acct, u); err != nil {
		abortWithError(c, err)
		return
	}
	h.answerAutoTopUp(c, acct)
}

// ---- Admin: failed auto top-ups ----

type adminAutoTopUpRow struct {
	AccountID                              int64
	WorkflowID, State, Amount, LastError   string
	Age, Since                             string
	NeedsAuthentication, RetryNotAvailable bool
}

type adminAutoTopUpsView struct {
	Query string
	Rows  []adminAutoTopUpRow
	// Problem is set when Temporal could not be asked.
	Problem string
}

var adminAutoTopUpFlashes = map[string]string{
	"retried":     "Retry sent. The workflow checks the balance and charges the saved card again; the result shows here within a minute.",
	"not-running": "That auto top-up is no longer waiting (it closed or succeeded); nothing was sent.",
}

func (h *handlers) adminAutoTopUpsPage(c *gin.Context) {
	v := adminAutoTopUpsView{Query: workflows.AutoTopUpNeedsAttentionQuery}
	if h.d.Temporal == nil {
		v.Problem = "Temporal is not configured, so the list cannot be read."
		h.serveAdmin(c, http.StatusOK, "admin_autotopups", "Admin · Auto top-ups", adminAutoTopUpFlashes[c.Query("done")], v)
		return
	}
	ctx := c.Request.Context()
	list, err := h.wf.AutoTopUpsNeedingAttention(ctx)
	if err != nil {
		v.Problem = "Temporal did not answer the query: " + err.Error()
		h.serveAdmin(c, http.StatusOK, "admin_autotopups", "Admin · Auto top-ups", "", v)
		return
	}
	now := time.Now()
	for _, e := range list {
		id := e.AccountID
		row := adminAutoTopUpRow{AccountID: id, WorkflowID: e.WorkflowID, State: e.State, Amount: money.Format(e.AmountCents),
			NeedsAuthentication: e.State == workflows.AutoTopUpNeedsAuthentication}
		since := e.StartedAt
		if as, err := h.autoTopUps().Attempts(ctx, id, 1); err == nil && len(as) == 1 {
			row.LastError = strings.TrimSpace(as[0].DeclineCode + ": " + as[0].Message)
			since = as[0].UpdatedAt
		}
		row.Age, row.Since = now.Sub(since).Round(time.Minute).String(), formatTime(since)
		v.Rows = append(v.Rows, row)
	}
	h.serveAdmin(c, http.StatusOK, "admin_autotopups", "Admin · Auto top-ups", adminAutoTopUpFlashes[c.Query("done")], v)
}

// adminAutoTopUpRetry sends the retry signal, audited as admin:<id>.
func (h *handlers) adminAutoTopUpRetry(c *gin.Context) {
	id, ok := h.pathID(c)
	if !ok {
		return
	}
	if h.d.Temporal == nil {
		h.pageFailed(c, errors.New("temporal is not configured"))
		return
	}
	p, _ := principal(c)
	err := h.autoTopUps().Retry(c.Request.Context(), h.wf, fmt.Sprintf("admin:%d", p.User.ID), id)
	q := url.Values{"done": {"retried"}}
	switch {
	case errors.Is(err, workflows.ErrNotRunning):
		q.Set("done", "not-running")
	case err != nil:
		h.pageFailed(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/admin/autotopups?"+q.Encode())
}
