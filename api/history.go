package api

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/calls"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/internal/wire"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
)

// The call history: /history (the page), /history.csv (the same filter as
// a file) and GET /api/cli/history (`moby history`). A company's admin sees
// every seat's calls and can pick one seat; a seat sees its own calls.

// historyPageSize is the page's size; the CSV takes every match up to
// historyCSVMax.
const (
	historyPageSize = 25
	historyCSVMax   = 50_000
)

func (h *handlers) registerHistory(r gin.IRouter) {
	r.GET("/history", requireUser(), h.historyPage)
	r.GET("/history.csv", requireUser(), h.historyCSV)
}

// historyStatuses are the statuses a filter may name, in the order the
// page offers them.
var historyStatuses = []models.CallStatus{models.CallCompleted, models.CallBusy, models.CallNoAnswer, models.CallFailed,
	models.CallCanceled, models.CallExpired, models.CallInProgress, models.CallRinging, models.CallDialing, models.CallAuthorized}

// historyScope is who may see what: the account, and the one user whose
// calls a seat (or an individual) is limited to.
type historyScope struct {
	AccountID int64
	// SelfOnly: not the company admin, so only one's own calls.
	SelfOnly bool
	UserID   int64
	Company  bool
	// Admin: a company's admin, who sees seats and filters by them.
	Admin bool
}

func historyScopeOf(c *gin.Context) historyScope {
	p, _ := principal(c)
	company := p.Account.Kind == models.AccountCompany
	admin := company && p.User.Role == models.RoleOwner
	return historyScope{AccountID: p.Account.ID, UserID: p.User.ID, SelfOnly: !admin, Company: company, Admin: admin}
}

// historyQuery reads a history filter. get reads a parameter; dates are
// YYYY-MM-DD (until is inclusive: the whole day) or RFC 3339 instants.
// Errors name the parameter and what it takes.
func historyQuery(sc historyScope, get func(string) string) (calls.Filter, error) {
	f := calls.Filter{AccountID: sc.AccountID}
	if sc.SelfOnly {
		f.UserID = sc.UserID
	}
	if st := strings.ToLower(strings.TrimSpace(get("status"))); st != "" {
		s := models.CallStatus(st)
		if s.Rank() < 0 {
			names := make([]string, len(historyStatuses))
			for i, hs := range historyStatuses {
				names[i] = string(hs)
			}
			return f, badRequest("invalid_status", fmt.Sprintf("status %s is not one of %s", quote(st), strings.Join(names, ", ")))
		}
		f.Status = s
	}
	var err error
	if f.Since, err = historyTime("since", get("since"), false); err != nil {
		return f, err
	}
	if f.Until, err = historyTime("until", get("until"), true); err != nil {
		return f, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return f, badRequest("invalid_range", "until must be after since")
	}
	if seat := strings.TrimSpace(get("seat")); seat != "" && sc.Admin {
		id, err := strconv.ParseInt(seat, 10, 64)
		if err != nil || id <= 0 {
			return f, badRequest("invalid_seat", "seat must be a seat's id, got "+quote(seat))
		}
		f.UserID = id
	}
	return f, nil
}

func historyTime(name, v string, endOfDay bool) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		if endOfDay {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, badRequest("invalid_"+name, fmt.Sprintf("%s must be a date such as 2026-01-31 or a time such as 2026-01-31T15:04:05Z, got %s", name, quote(v)))
}

type historyView struct {
	Rows     []historyRow
	Total    int64
	Page     int
	PrevURL  string
	NextURL  string
	CSVURL   string
	ShowSeat bool
	Seats    []historyOption
	Statuses []historyOption
	Since    string
	Until    string
	Error    string
}

type historyOption struct {
	Value, Label string
	Selected     bool
}

type historyRow struct {
	ID, To, National, Country, Status, StatusLabel, Started, StartedISO, Duration, Billed, Cost, Seat string
	// CallerID is the number the callee saw.
	CallerID string
}

func (h *handlers) historyPage(c *gin.Context) {
	sc := historyScopeOf(c)
	ctx := c.Request.Context()
	v := historyView{ShowSeat: sc.Admin, Since: c.Query("since"), Until: c.Query("until"), Page: formPage(c.Query("page"))}
	for _, st := range historyStatuses {
		v.Statuses = append(v.Statuses, historyOption{Value: string(st), Label: statusLabel(st), Selected: c.Query("status") == string(st)})
	}
	if sc.Admin {
		seats, err := h.d.Identity.Seats(ctx, sc.AccountID)
		if err != nil {
			h.pageFailed(c, err)
			return
		}
		for _, s := range seats {
			id := strconv.FormatInt(s.User.ID, 10)
			v.Seats = append(v.Seats, historyOption{Value: id, Label: s.User.Email, Selected: c.Query("seat") == id})
		}
	}
	status := http.StatusOK
	f, err := historyQuery(sc, c.Query)
	if err != nil {
		status, _ = statusFor(err)
		v.Error = err.Error()
	} else {
		f.Limit, f.Offset = historyPageSize, (v.Page-1)*historyPageSize
		rows, total, err := h.d.Calls.History(ctx, f)
		if err != nil {
			h.pageFailed(c, err)
			return
		}
		v.Total = total
		for _, r := range rows {
			v.Rows = append(v.Rows, historyRowOf(r))
		}
		q := c.Request.URL.Query()
		q.Del("page")
		v.CSVURL = "/history.csv?" + q.Encode()
		if v.Page > 1 {
			v.PrevURL = historyPageURL(q, v.Page-1)
		}
		if int64(v.Page*historyPageSize) < total {
			v.NextURL = historyPageURL(q, v.Page+1)
		}
	}
	pg := web.PageFor(c, "History", "history")
	pg.Data = v
	c.Header("Cache-Control", "no-store")
	h.d.Pages.Serve(c, status, "history", pg)
}

func historyPageURL(q url.Values, page int) string {
	q = cloneValues(q)
	q.Set("page", strconv.Itoa(page))
	return "/history?" + q.Encode()
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func historyRowOf(r calls.HistoryRow) historyRow {
	row := historyRow{ID: r.ID, To: r.ToE164, National: r.ToNational, Country: r.ToCountry, Status: string(r.Status),
		StatusLabel: statusLabel(r.Status), Started: r.CreatedAt.UTC().Format("2 Jan 2006 15:04"),
		StartedISO: r.CreatedAt.UTC().Format(time.RFC3339), Duration: "—", Billed: "—", Cost: "—", Seat: r.UserEmail,
		CallerID: r.CallerID}
	if r.DurationSeconds != nil {
		row.Duration = fmt.Sprintf("%d:%02d", *r.DurationSeconds/60, *r.DurationSeconds%60)
	}
	if r.BilledMinutes != nil {
		row.Billed = strconv.FormatInt(*r.BilledMinutes, 10) + " min"
	}
	if r.CostCents != nil {
		row.Cost = money.Format(*r.CostCents)
	}
	return row
}

func statusLabel(s models.CallStatus) string {
	switch s {
	case models.CallInProgress:
		return "In progress"
	case models.CallNoAnswer:
		return "No answer"
	}
	if s == "" {
		return ""
	}
	return strings.ToUpper(string(s[:1])) + string(s[1:])
}

// historyCSVHeader is the export's first line; seat is there for a
// company's admin only.
var historyCSVHeader = []string{"call_id", "started_at", "to", "country", "status", "duration_seconds", "billed_minutes", "cost_cents", "cost", "caller_id"}

// historyCSV exports every call the filter matches (up to historyCSVMax),
// newest first. A bad filter is the JSON error, never a half file.
func (h *handlers) historyCSV(c *gin.Context) {
	sc := historyScopeOf(c)
	f, err := historyQuery(sc, c.Query)
	if err != nil {
		abortWithError(c, err)
		return
	}
	var rows []calls.HistoryRow
	for f.Limit = calls.MaxPage; len(rows) < historyCSVMax; f.Offset += calls.MaxPage {
		page, _, err := h.d.Calls.History(c.Request.Context(), f)
		if err != nil {
			abortWithError(c, err)
			return
		}
		rows = append(rows, page...)
		if len(page) < calls.MaxPage {
			break
		}
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="mobayilo-calls.csv"`)
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusOK)
	w := csv.NewWriter(c.Writer)
	header := historyCSVHeader
	if sc.Admin {
		header = append(append([]string(nil), header...), "seat")
	}
	_ = w.Write(header)
	for _, r := range rows {
		rec := []string{r.ID, r.CreatedAt.UTC().Format(time.RFC3339), r.ToE164, r.ToCountry, string(r.Status),
			optInt(r.DurationSeconds), optInt(r.BilledMinutes), optInt(r.CostCents), "", r.CallerID}
		if r.CostCents != nil {
			rec[8] = money.Format(*r.CostCents)
		}
		if sc.Admin {
			rec = append(rec, csvSafe(r.UserEmail))
		}
		_ = w.Write(rec)
	}
	w.Flush()
}

func optInt(p *int64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatInt(*p, 10)
}

// csvSafe keeps a spreadsheet from reading a cell people chose (an email
// address) as a formula. Numbers we write ("+1415…") are left as they are.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// ---- CLI: moby history, moby rates ----

func (h *handlers) registerCLICalls(cli gin.IRouter) {
	cli.GET("/history", h.cliHistory)
	cli.GET("/rates", h.cliRates)
}

// cliHistory answers `moby history [--status --since --until --limit]`.
func (h *handlers) cliHistory(c *gin.Context) {
	sc := historyScopeOf(c)
	f, err := historyQuery(sc, c.Query)
	if err != nil {
		abortWithError(c, err)
		return
	}
	f.Limit = 20
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > calls.MaxPage {
			abortWithError(c, badRequest("invalid_limit", fmt.Sprintf("limit must be between 1 and %d, got %s", calls.MaxPage, quote(raw))))
			return
		}
		f.Limit = n
	}
	rows, total, err := h.d.Calls.History(c.Request.Context(), f)
	if err != nil {
		abortWithError(c, err)
		return
	}
	out := wire.History{Calls: make([]wire.HistoryCall, 0, len(rows)), Total: total}
	for _, r := range rows {
		hc := wire.HistoryCall{CallID: r.ID, To: r.ToE164, Status: string(r.Status), StartedAt: r.CreatedAt.UTC(),
			DurationSeconds: r.DurationSeconds, BilledMinutes: r.BilledMinutes, CostCents: r.CostCents}
		if sc.Company {
			seat := r.UserEmail
			hc.Seat = &seat
		}
		out.Calls = append(out.Calls, hc)
	}
	c.JSON(http.StatusOK, out)
}

// cliRates answers `moby rates <ISO|number> [--country ISO]`: the price a
// minute costs this caller (the seat price in a company) and the minutes
// the available balance buys. A country's price is its dearest prefix, so
// the minutes are what any number there gets at least.
func (h *handlers) cliRates(c *gin.Context) {
	p, _ := principal(c)
	ctx := c.Request.Context()
	q := strings.TrimSpace(c.Query("q"))
	country := strings.ToUpper(strings.TrimSpace(c.Query("country")))
	if q == "" {
		abortWithError(c, badRequest("empty", "name a country (such as FR) or a phone number"))
		return
	}
	if len(q) > 64 || len(country) > 3 {
		abortWithError(c, badRequest("too_long", "the destination or country is too long"))
		return
	}
	t, err := h.d.Rates.Table(ctx)
	if err != nil {
		abortWithError(c, err)
		return
	}
	audience := models.AudienceIndividual
	if p.Account.Kind == models.AccountCompany {
		audience = models.AudienceCompany
	}
	var price int64
	if isISO(q) {
		iso := strings.ToUpper(q)
		rs := t.ForISO(iso)
		if len(rs) == 0 {
			abortWithError(c, notFound("no_rates", "we have no rates for "+iso))
			return
		}
		for _, r := range rs {
			price = max(price, rates.PriceCents(r, audience))
		}
	} else {
		n, err := rates.Normalize(q, country)
		if err != nil {
			abortWithError(c, err)
			return
		}
		r, ok := t.Lookup(n.E164)
		if !ok {
			abortWithError(c, badRequest("not_dialable", "not dialable: we have no rate for "+n.E164))
			return
		}
		price = rates.PriceCents(r, audience)
	}
	acct, err := h.d.Ledger.Account(ctx, p.Account.ID)
	if err != nil {
		abortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, wire.RateQuote{PricePerMinuteCents: price, MinutesAtBalance: max(acct.AvailableCents(), 0) / price})
}

func isISO(s string) bool {
	return len(s) == 2 && isLetter(s[0]) && isLetter(s[1])
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }
