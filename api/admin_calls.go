package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/workflows"
)

// The operators' calling pages: every call (/admin/calls, its workflow ID
// linking to the Temporal UI), an account's transactions, and the rate
// table with Twilio's costs and our margins (/admin/rates, reload and sync).

const adminCallsPageSize = 50

func (h *handlers) registerAdminCalling(g gin.IRouter) {
	g.GET("/calls", h.adminCallsPage)
	g.GET("/accounts/:id/transactions", h.adminTransactionsPage)
	g.GET("/rates", h.adminRatesPage)
	g.POST("/rates/reload", h.adminRatesReload)
	g.POST("/rates/sync", h.adminRatesSync)
}

type adminCallsView struct {
	historyView
	Account, To string
	Rows        []adminCallRow
}

type adminCallRow struct {
	historyRow
	AccountID   int64
	WorkflowID  string
	WorkflowURL string
	Reconcile   string
}

func (h *handlers) adminCallsPage(c *gin.Context) {
	v := adminCallsView{historyView: historyView{Since: c.Query("since"), Until: c.Query("until"), Page: formPage(c.Query("page"))},
		Account: c.Query("account"), To: c.Query("to")}
	for _, st := range historyStatuses {
		v.Statuses = append(v.Statuses, historyOption{Value: string(st), Label: statusLabel(st), Selected: c.Query("status") == string(st)})
	}
	status := http.StatusOK
	f, err := historyQuery(historyScope{}, c.Query)
	if err == nil {
		f.AllAccounts = true
		if a := strings.TrimSpace(v.Account); a != "" {
			id, perr := strconv.ParseInt(a, 10, 64)
			if perr != nil || id <= 0 {
				err = badRequest("invalid_account", "account must be an account id, got "+quote(a))
			}
			f.AllAccounts, f.AccountID = false, id
		}
		if to := strings.TrimSpace(v.To); to != "" {
			if strings.Trim(to, "+0123456789") != "" {
				err = badRequest("invalid_to", "destination must be digits, optionally after +, got "+quote(to))
			}
			f.To = "+" + strings.TrimPrefix(to, "+")
		}
	}
	if err != nil {
		status, _ = statusFor(err)
		v.Error = err.Error()
		h.serveAdmin(c, status, "admin_calls", "Admin · Calls", "", v)
		return
	}
	f.Limit, f.Offset = adminCallsPageSize, (v.Page-1)*adminCallsPageSize
	rows, total, err := h.d.Calls.History(c.Request.Context(), f)
	if err != nil {
		h.pageFailed(c, err)
		return
	}
	v.Total = total
	for _, r := range rows {
		wid := workflows.CallWorkflowID(r.ID)
		v.Rows = append(v.Rows, adminCallRow{historyRow: historyRowOf(r), AccountID: r.AccountID, WorkflowID: wid,
			WorkflowURL: h.temporalWorkflowURL(wid), Reconcile: r.ReconcileReason})
	}
	q := c.Request.URL.Query()
	q.Del("page")
	if v.Page > 1 {
		v.PrevURL = adminCallsURL(q, v.Page-1)
	}
	if int64(v.Page*adminCallsPageSize) < total {
		v.NextURL = adminCallsURL(q, v.Page+1)
	}
	h.serveAdmin(c, status, "admin_calls", "Admin · Calls", "", v)
}

func adminCallsURL(q url.Values, page int) string {
	q = cloneValues(q)
	q.Set("page", strconv.Itoa(page))
	return "/admin/calls?" + q.Encode()
}

// temporalWorkflowURL is the workflow's page in the Temporal Web UI
// (TEMPORAL_UI_URL), "" when no UI is configured. Call workflow IDs hold a
// '/', which the UI takes escaped.
func (h *handlers) temporalWorkflowURL(workflowID string) string {
	base := strings.TrimRight(h.d.Config.TemporalUIURL, "/")
	if base == "" {
		return ""
	}
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s", base, url.PathEscape(h.d.Config.TemporalNamespace), url.PathEscape(workflowID))
}

type adminTransactionsView struct {
	AccountID          int64
	Name, Kind, Status string
	Balance, Held      string
	HasHeld            bool
	Entries            []adminEntry
	FirstPage          bool
	NextBefore         int64
}

type adminEntry struct {
	ID                                                                      int64
	When, WhenISO, Kind, KindCode, Amount, BalanceAfter, Description, Actor string
	Credit                                                                  bool
}

// adminTransactionsPage is one account's ledger, newest first, for
// operators: every entry with who made it.
func (h *handlers) adminTransactionsPage(c *gin.Context) {
	id, ok := h.pathID(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	acct, err := h.d.Ledger.Account(ctx, id)
	if err != nil {
		h.pageFailed(c, err)
		return
	}
	before, _ := strconv.ParseInt(c.Query("before"), 10, 64)
	es, err := h.d.Ledger.Entries(ctx, id, before, transactionsPerPage)
	if err != nil {
		h.pageFailed(c, err)
		return
	}
	v := adminTransactionsView{AccountID: acct.ID, Name: acct.Name, Kind: string(acct.Kind), Status: string(acct.Status),
		Balance: money.Format(acct.BalanceCents), Held: money.Format(acct.HeldCents), HasHeld: acct.HeldCents != 0, FirstPage: before == 0}
	for _, e := range es {
		v.Entries = append(v.Entries, adminEntry{ID: e.ID, When: formatTime(e.CreatedAt), WhenISO: e.CreatedAt.UTC().Format(time.RFC3339),
			Kind: entryLabels[e.Kind], KindCode: string(e.Kind), Amount: money.Format(e.AmountCents), BalanceAfter: money.Format(e.BalanceAfter),
			Description: e.Description, Actor: e.Actor, Credit: e.AmountCents > 0})
	}
	if len(es) == transactionsPerPage {
		v.NextBefore = es[len(es)-1].ID
	}
	h.serveAdmin(c, http.StatusOK, "admin_transactions", fmt.Sprintf("Admin · Account #%d", acct.ID), "", v)
}

// ---- Rates ----

type adminRatesView struct {
	Count, Negative, Unknown int
	CanSync                  bool
	Rows                     []adminRateRow
}

type adminRateRow struct {
	Prefix, ISO, Country, Destination, Individual, Company, Cost, IndividualMargin, CompanyMargin string
	Known, Negative, IndividualNegative, CompanyNegative                                          bool
}

var adminRatesFlashes = map[string]string{
	"reloaded": "Rates reloaded from the data file; Twilio's costs of the prefixes that stayed are kept.",
	"synced":   "Twilio's costs synced; our prices did not change.",
}

func (h *handlers) adminRatesPage(c *gin.Context) {
	flash := adminRatesFlashes[c.Query("done")]
	if d := c.Query("done"); d == "synced" || d == "reloaded" {
		// The counts travel as numbers only, never as text.
		if n, err := strconv.Atoi(c.Query("n")); err == nil {
			flash += fmt.Sprintf(" %d prefixes %s.", n, map[string]string{"synced": "priced", "reloaded": "changed"}[d])
		}
	}
	h.renderAdminRates(c, http.StatusOK, flash)
}

func (h *handlers) renderAdminRates(c *gin.Context, status int, flash string) {
	ms, err := h.d.RatesAdmin.Margins(c.Request.Context())
	if err != nil {
		h.pageFailed(c, err)
		return
	}
	v := adminRatesView{Count: len(ms), CanSync: h.d.RatesAdmin.CanSync()}
	for _, m := range ms {
		row := adminRateRow{Prefix: m.Prefix, ISO: m.ISO, Country: m.Country, Destination: m.Destination,
			Individual: money.Format(m.IndividualCents), Company: money.Format(m.CompanyCents), Known: m.Known, Negative: m.Negative,
			IndividualNegative: m.IndividualMillicents < 0, CompanyNegative: m.CompanyMillicents < 0}
		if m.Known {
			row.Cost = rates.FormatMillicents(*m.TwilioCostMillicents)
			row.IndividualMargin, row.CompanyMargin = rates.FormatMillicents(m.IndividualMillicents), rates.FormatMillicents(m.CompanyMillicents)
		} else {
			v.Unknown++
		}
		if m.Negative {
			v.Negative++
		}
		v.Rows = append(v.Rows, row)
	}
	h.serveAdmin(c, status, "admin_rates", "Admin · Rates", flash, v)
}

func (h *handlers) adminRatesReload(c *gin.Context) {
	p, _ := principal(c)
	res, err := h.d.RatesAdmin.ReloadDefault(c.Request.Context(), identity.OperatorActor(p.User).Name)
	if err != nil {
		h.adminRatesFailed(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/admin/rates?done=reloaded&n=%d", res.Added+res.Updated+res.Removed))
}

// adminRatesSync reads Twilio's prices now; it takes a request per
// country we sell, a few seconds in all, which an operator waits for.
func (h *handlers) adminRatesSync(c *gin.Context) {
	p, _ := principal(c)
	res, err := h.d.RatesAdmin.Sync(c.Request.Context(), identity.OperatorActor(p.User).Name)
	if err != nil {
		h.adminRatesFailed(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/admin/rates?done=synced&n=%d", res.Priced))
}

// adminRatesFailed shows why a reload or sync did nothing, with the
// status statusFor gives it: no Twilio credentials (409), Twilio
// unreachable or refusing (502), a bad data file (422).
func (h *handlers) adminRatesFailed(c *gin.Context, err error) {
	status, _ := statusFor(err)
	if status >= 500 && status != http.StatusBadGateway {
		h.pageFailed(c, err)
		return
	}
	_ = c.Error(err)
	h.renderAdminRates(c, status, "Nothing changed: "+err.Error()+".")
}
