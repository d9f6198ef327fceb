package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/twilio/twilio-go/twiml"

	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/numbers"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
	"github.com/mobayilo/mobayilo/workflows"
)

// Company numbers: the company admin's /company/numbers (search, buy with
// the first month charged first, assign users), the numbers' inbound
// webhook, and the operators' /admin/numbers. Buying starts the number's
// MonthlyNumberFee workflow, which charges and buys; the page waits for
// its answer (update-with-start).

func (h *handlers) registerNumbers(company, admin gin.IRouter) {
	company.GET("/numbers", h.numbersPage)
	company.POST("/numbers/buy", h.numbersBuy)
	company.POST("/seats/:id/number", h.numbersAssign)
	admin.GET("/numbers", h.adminNumbersPage)
}

var numbersFlashes = map[string]string{
	"bought":   "Number bought and its first month charged. Assign it to the people who call with it.",
	"assigned": "Saved. Their next calls go out with that number.",
	"cleared":  "Number unassigned. They cannot call out until they have one again.",
}

type numbersView struct {
	Company    string
	Balance    string
	Fee        string
	GraceDays  int
	Numbers    []numberRow
	Active     []numberRow
	Users      []numberUser
	Country    string
	AreaCode   string
	Searched   bool
	Results    []providers.AvailableNumber
	SearchNote string
}

type numberRow struct {
	ID         int64
	E164       string
	State      string
	Label      string
	NextCharge string
	GraceEnds  string
	LastError  string
	Seats      int
}

type numberUser struct {
	ID       int64
	Email    string
	Owner    bool
	NumberID int64
}

var numberLabels = map[models.NumberState]string{
	models.NumberPurchasing: "Buying", models.NumberActive: "Active", models.NumberSuspended: "Suspended",
	models.NumberReleased: "Released", models.NumberFailed: "Not bought",
}

func dayOf(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2 Jan 2006")
}

func (h *handlers) numbersPage(c *gin.Context) {
	h.renderNumbers(c, http.StatusOK, numbersFlashes[c.Query("done")])
}

func (h *handlers) renderNumbers(c *gin.Context, status int, flash string) {
	p, _ := principal(c)
	ctx := c.Request.Context()
	co, err := h.d.Identity.Company(ctx, p.User)
	if err != nil {
		h.pageFailed(c, err)
		return
	}
	list, err := h.d.Numbers.List(ctx, co.Account.ID)
	if err != nil {
		h.pageFailed(c, err)
		return
	}
	pol := h.d.Numbers.Policy()
	v := numbersView{Company: co.Account.Name, Balance: money.Format(co.Account.AvailableCents()), Fee: money.Format(pol.FeeCents),
		GraceDays: pol.GraceDays, Country: strings.ToUpper(c.DefaultQuery("country", "US")), AreaCode: c.Query("area_code")}
	seats := map[int64]int{}
	for _, s := range co.Seats {
		if s.User.PhoneNumberID != nil {
			seats[*s.User.PhoneNumberID]++
		}
	}
	for _, n := range list {
		r := numberRow{ID: n.ID, E164: n.E164, State: string(n.State), Label: numberLabels[n.State], NextCharge: dayOf(n.NextChargeAt),
			GraceEnds: dayOf(n.GraceEndsAt), LastError: n.LastError, Seats: seats[n.ID]}
		v.Numbers = append(v.Numbers, r)
		if n.State == models.NumberActive {
			v.Active = append(v.Active, r)
		}
	}
	for _, s := range co.Seats {
		u := numberUser{ID: s.User.ID, Email: s.User.Email, Owner: s.User.Role == models.RoleOwner}
		if s.User.PhoneNumberID != nil {
			u.NumberID = *s.User.PhoneNumberID
		}
		v.Users = append(v.Users, u)
	}
	if _, ok := c.GetQuery("country"); ok && status == http.StatusOK {
		v.Searched = true
		v.Results, err = h.d.Numbers.Search(ctx, p.User, v.Country, v.AreaCode)
		if st, _ := statusFor(err); err != nil && st < 500 {
			status, flash = st, flashMessage(err)
		} else if err != nil {
			slog.ErrorContext(ctx, "number search failed", "error", err, "request_id", c.GetString(requestIDKey))
			v.SearchNote = "The number search is unavailable right now; try again in a minute."
		}
	}
	pg := web.PageFor(c, "Company numbers", "settings")
	pg.Data, pg.Flash = v, flash
	c.Header("Cache-Control", "no-store")
	h.d.Pages.Serve(c, status, "company_numbers", pg)
}

// numbersBuy reserves the number after the balance pre-check (no Twilio
// request before it passes), then starts its workflow and waits for the
// purchase's outcome.
func (h *handlers) numbersBuy(c *gin.Context) {
	p, _ := principal(c)
	ctx := c.Request.Context()
	pn, err := h.d.Numbers.Reserve(ctx, p.User, c.PostForm("number"))
	if err != nil {
		h.numbersFailed(c, err)
		return
	}
	res, err := h.wf.StartNumber(ctx, workflows.MonthlyNumberFeeInput{NumberID: pn.ID, AccountID: pn.AccountID, E164: pn.E164,
		GraceDays: h.d.Numbers.Policy().GraceDays, BaseURL: h.d.Config.PublicBaseURL})
	switch {
	case errors.Is(err, workflows.ErrUnavailable):
		// No workflow started, so nothing was charged or bought: free the
		// number for another try.
		if rerr := h.d.Numbers.Record(ctx, numbers.Progress{NumberID: pn.ID, State: models.NumberFailed,
			LastError: "not started: the workflow service was unavailable"}); rerr != nil {
			slog.ErrorContext(ctx, "number reservation left purchasing", "number_id", pn.ID, "error", rerr, "request_id", c.GetString(requestIDKey))
		}
		h.numbersFailed(c, err)
	case err != nil:
		// The workflow runs on; the row shows how the purchase ends.
		slog.WarnContext(ctx, "number purchase still running", "number_id", pn.ID, "error", err, "request_id", c.GetString(requestIDKey))
		h.renderNumbers(c, http.StatusAccepted, "The purchase of "+pn.E164+" is still running; this page shows how it ends.")
	case res.State == workflows.NumberActive:
		c.Redirect(http.StatusSeeOther, "/company/numbers?done=bought")
	default:
		h.renderNumbers(c, http.StatusConflict, pn.E164+" was not bought: "+res.LastError+". Nothing was kept: any fee charged was refunded.")
	}
}

func (h *handlers) numbersAssign(c *gin.Context) {
	p, _ := principal(c)
	id, ok := h.pathID(c)
	if !ok {
		return
	}
	var numberID *int64
	if raw := strings.TrimSpace(c.PostForm("number_id")); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n <= 0 {
			h.numbersFailed(c, badRequest("invalid_number_id", "number_id must be one of your numbers, got "+quote(raw)))
			return
		}
		numberID = &n
	}
	if err := h.d.Numbers.Assign(c.Request.Context(), p.User, id, numberID); err != nil {
		h.numbersFailed(c, err)
		return
	}
	if numberID == nil {
		c.Redirect(http.StatusSeeOther, "/company/numbers?done=cleared")
		return
	}
	c.Redirect(http.StatusSeeOther, "/company/numbers?done=assigned")
}

func (h *handlers) numbersFailed(c *gin.Context, err error) {
	status, _ := statusFor(err)
	if status == http.StatusServiceUnavailable {
		slog.ErrorContext(c.Request.Context(), "number purchase not started", "error", err, "request_id", c.GetString(requestIDKey))
		h.renderNumbers(c, status, "Buying numbers is unavailable right now; nothing was charged. Try again in a minute.")
		return
	}
	if status == http.StatusNotFound || status >= 500 {
		h.pageFailed(c, err)
		return
	}
	h.renderNumbers(c, status, flashMessage(err))
}

// Inbound calls to a company number: we take none yet. An active number
// says so; a suspended one says why it is rejected; a number that is not
// (or no longer) ours is rejected without a word.
const (
	incomingActiveSay    = "Thank you for calling. This number does not take incoming calls yet. Goodbye."
	incomingSuspendedSay = "This number is suspended because its monthly fee is unpaid, so this call is rejected. Goodbye."
)

func (h *handlers) incomingWebhook(c *gin.Context) {
	to := c.PostForm("To")
	pn, found, err := h.d.Numbers.ByE164(c.Request.Context(), to)
	if err != nil {
		abortWithError(c, err)
		return
	}
	switch {
	case found && pn.State == models.NumberActive:
		sayAndHangUp(c, incomingActiveSay)
	case found && pn.State == models.NumberSuspended:
		writeTwiML(c, &twiml.VoiceSay{Message: incomingSuspendedSay}, &twiml.VoiceReject{Reason: "rejected"})
	default:
		writeTwiML(c, &twiml.VoiceReject{Reason: "rejected"})
	}
}

type adminNumberRow struct {
	numberRow
	AccountID   int64
	Company     string
	Fee         string
	WorkflowID  string
	WorkflowURL string
}

func (h *handlers) adminNumbersPage(c *gin.Context) {
	all, err := h.d.Numbers.All(c.Request.Context())
	if err != nil {
		h.pageFailed(c, err)
		return
	}
	rows := make([]adminNumberRow, 0, len(all))
	for _, n := range all {
		wid := workflows.NumberWorkflowID(n.ID)
		rows = append(rows, adminNumberRow{numberRow: numberRow{ID: n.ID, E164: n.E164, State: string(n.State), Label: numberLabels[n.State],
			NextCharge: dayOf(n.NextChargeAt), GraceEnds: dayOf(n.GraceEndsAt), LastError: n.LastError, Seats: int(n.Seats)},
			AccountID: n.AccountID, Company: n.Company, Fee: money.Format(n.MonthlyFeeCents), WorkflowID: wid, WorkflowURL: h.temporalWorkflowURL(wid)})
	}
	pg := web.PageFor(c, "Numbers", "")
	pg.Data = struct {
		Rows           []adminNumberRow
		SuspendedQuery string
	}{rows, workflows.NumberSuspendedQuery}
	c.Header("Cache-Control", "no-store")
	h.d.Pages.Serve(c, http.StatusOK, "admin_numbers", pg)
}
