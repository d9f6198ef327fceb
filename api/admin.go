package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
)

// registerAdmin adds the operators' admin area and company admins' seat and
// domain management.
func (h *handlers) registerAdmin(r gin.IRouter) {
	company := h.registerCompany(r)

	// Signed out or not an operator: the 404 page, so the area is not
	// advertised. Every action is audited as admin:<id>.
	g := r.Group("/admin", h.requireAdmin())
	g.GET("", h.adminUsersPage)
	g.POST("/users/:id/disable", h.adminUserStatus(models.StatusDisabled))
	g.POST("/users/:id/enable", h.adminUserStatus(models.StatusActive))
	g.POST("/accounts/:id/disable", h.adminAccountStatus(models.StatusDisabled))
	g.POST("/accounts/:id/enable", h.adminAccountStatus(models.StatusActive))
	g.POST("/accounts/:id/adjust", h.adminAdjust)
	g.POST("/accounts/:id/caller-id/remove", h.adminRemoveCallerID)
	g.GET("/subscribers", h.adminSubscribersPage)
	g.POST("/subscribers/:id/invite", h.adminInvite)
	g.GET("/audit", h.adminAuditPage)
	h.registerAdminCalling(g)
	h.registerNumbers(company, g)
}

// adminFlashes are the messages a redirect back into /admin may carry, by
// key, so no user-controlled text travels in the URL.
var adminFlashes = map[string]string{
	"user-disabled":      "User disabled. They were signed out everywhere and their tokens were revoked.",
	"user-enabled":       "User re-enabled. They can sign in again; old tokens stay revoked.",
	"account-disabled":   "Account disabled. Nobody on it can sign in, use a token, call or top up.",
	"account-enabled":    "Account re-enabled. Its users' sessions and tokens work again.",
	"subscriber-invited": "Subscriber invited. They can now finish signing up.",
	"adjusted":           "Adjustment posted to the ledger and audited.",
	"adjust-replayed":    "That adjustment was already posted; nothing changed. Give it a reference to post a second, separate one.",
	"subscriber-already": "That subscriber was already invited.",
	"caller-id-removed":  "Caller ID removed and audited. The account's calls show the default caller ID again.",
}

// ---- Users and accounts ----

type adminUsersView struct {
	Query    string
	Page     int
	PrevPage int // 0 when there is none
	NextPage int
	Total    int64
	Rows     []adminUserRow
}

type adminUserRow struct {
	ID         int64
	Email      string
	Role       string
	IsAdmin    bool
	Active     bool
	Self       bool
	LastSignIn string

	AccountID     int64
	AccountName   string
	AccountKind   string
	AccountActive bool
	OwnAccount    bool
	Balance       string
	Held          string
	HasHeld       bool
	// CallerID is the account's verified caller ID, "" when its calls use
	// DEFAULT_CALLER_ID (or, for company seats, company numbers).
	CallerID string
}

func (h *handlers) adminUsersPage(c *gin.Context) {
	h.renderAdminUsers(c, http.StatusOK, adminFlashes[c.Query("done")])
}

func (h *handlers) renderAdminUsers(c *gin.Context, status int, flash string) {
	p, _ := principal(c)
	page := formPage(c.Query("page"))
	res, err := h.d.Identity.ListUsers(c.Request.Context(), c.Query("q"), page)
	if err != nil {
		h.pageFailed(c, err)
		return
	}
	v := adminUsersView{Query: res.Query, Page: res.Page, Total: res.Total}
	if res.Page > 1 {
		v.PrevPage = res.Page - 1
	}
	if res.HasNext {
		v.NextPage = res.Page + 1
	}
	accounts := make([]int64, 0, len(res.Rows))
	for _, r := range res.Rows {
		accounts = append(accounts, r.Account.ID)
	}
	callerIDs, err := h.d.CallerIDs.VerifiedByAccount(c.Request.Context(), accounts)
	if err != nil {
		h.pageFailed(c, err)
		return
	}
	for _, r := range res.Rows {
		v.Rows = append(v.Rows, adminUserRow{CallerID: callerIDs[r.Account.ID],
			ID: r.User.ID, Email: r.User.Email, Role: string(r.User.Role), IsAdmin: r.User.IsAdmin,
			Active: r.User.Status == models.StatusActive, Self: r.User.ID == p.User.ID, LastSignIn: lastSignIn(r.User.LastSignInAt),
			AccountID: r.Account.ID, AccountName: r.Account.Name, AccountKind: string(r.Account.Kind),
			AccountActive: r.Account.Status == models.StatusActive, OwnAccount: r.Account.ID == p.User.AccountID,
			Balance: money.Format(r.Account.BalanceCents), Held: money.Format(r.Account.HeldCents), HasHeld: r.Account.HeldCents != 0,
		})
	}
	h.serveAdmin(c, status, "admin", "Admin · Users", flash, v)
}

func (h *handlers) adminUserStatus(st models.Status) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, _ := principal(c)
		id, ok := h.pathID(c)
		if !ok {
			return
		}
		if _, err := h.d.Identity.SetUserStatus(c.Request.Context(), identity.OperatorActor(p.User), id, st); err != nil {
			h.adminFailed(c, err)
			return
		}
		h.backToUsers(c, "user-"+statusWord(st))
	}
}

func (h *handlers) adminAccountStatus(st models.Status) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, _ := principal(c)
		id, ok := h.pathID(c)
		if !ok {
			return
		}
		if _, err := h.d.Identity.SetAccountStatus(c.Request.Context(), identity.OperatorActor(p.User), id, st); err != nil {
			h.adminFailed(c, err)
			return
		}
		h.backToUsers(c, "account-"+statusWord(st))
	}
}

func statusWord(st models.Status) string {
	if st == models.StatusDisabled {
		return "disabled"
	}
	return "enabled"
}

// backToUsers redirects to the list the form was posted from: the same
// search and page, which travel as form fields, never as a URL.
// adminRemoveCallerID removes an account's caller IDs for the helpdesk (a
// number the user no longer holds), as the owner's Remove does; audited
// as admin:<id>.
func (h *handlers) adminRemoveCallerID(c *gin.Context) {
	p, _ := principal(c)
	id, ok := h.pathID(c)
	if !ok {
		return
	}
	if _, err := h.removeCallerIDs(c.Request.Context(), identity.OperatorActor(p.User).Name, id, ""); err != nil {
		h.adminFailed(c, err)
		return
	}
	h.backToUsers(c, "caller-id-removed")
}

func (h *handlers) backToUsers(c *gin.Context, done string) {
	q := url.Values{"done": {done}}
	if s := strings.TrimSpace(c.PostForm("q")); s != "" {
		q.Set("q", s)
	}
	if pg := formPage(c.PostForm("page")); pg > 1 {
		q.Set("page", strconv.Itoa(pg))
	}
	c.Redirect(http.StatusSeeOther, "/admin?"+q.Encode())
}

// adminFailed shows a refused action on the users page with its status
// (409 for disabling oneself); an unknown id is the 404 page.
func (h *handlers) adminFailed(c *gin.Context, err error) {
	status, _ := statusFor(err)
	if status == http.StatusNotFound || status >= 500 {
		h.pageFailed(c, err)
		return
	}
	// The page shows the list the form came from.
	c.Request.URL.RawQuery = url.Values{"q": {c.PostForm("q")}, "page": {c.PostForm("page")}}.Encode()
	h.renderAdminUsers(c, status, flashMessage(err))
}

// adminAdjust posts a manual credit or debit through the ledger, with the
// operator as actor and an audit record; a debit that leaves the balance
// below the account's auto top-up threshold triggers auto top-up.
func (h *handlers) adminAdjust(c *gin.Context) {
	p, _ := principal(c)
	id, ok := h.pathID(c)
	if !ok {
		return
	}
	raw := strings.TrimSpace(c.PostForm("amount"))
	negative := strings.HasPrefix(raw, "-")
	cents, err := money.ParseDollars(strings.TrimPrefix(raw, "-"))
	if err != nil || cents == 0 {
		h.adminFailed(c, &requestError{status: http.StatusUnprocessableEntity, code: "invalid_amount",
			message: "amount must be a non-zero dollar amount such as 5, 2.50 or -3"})
		return
	}
	if negative {
		cents = -cents
	}
	res, err := h.d.Ledger.Adjust(c.Request.Context(), ledger.Adjustment{AccountID: id, AmountCents: cents,
		Reason: c.PostForm("reason"), Ref: strings.TrimSpace(c.PostForm("ref")), Actor: fmt.Sprintf("admin:%d", p.User.ID),
		ActorAccountID: p.Account.ID})
	if err != nil {
		h.adminFailed(c, err)
		return
	}
	if res.Replayed {
		h.backToUsers(c, "adjust-replayed")
		return
	}
	if h.d.Temporal != nil {
		if _, err := h.autoTopUps().AfterDebit(c.Request.Context(), h.wf, res); err != nil {
			// The adjustment stands; the next debit triggers again.
			slog.WarnContext(c.Request.Context(), "auto top-up trigger after an adjustment failed", "account_id", id, "error", err)
		}
	}
	h.backToUsers(c, "adjusted")
}

// ---- Subscribers ----

type adminSubscribersView struct {
	Waiting  int64
	Page     int
	PrevPage int
	NextPage int
	Rows     []adminSubscriberRow
}

type adminSubscriberRow struct {
	ID      int64
	Email   string
	Waiting bool
	Joined  string
	Invited string
}

func (h *handlers) adminSubscribersPage(c *gin.Context) {
	res, err := h.d.Identity.ListSubscribers(c.Request.Context(), formPage(c.Query("page")))
	if err != nil {
		h.pageFailed(c, err)
		return
	}
	v := adminSubscribersView{Waiting: res.Waiting, Page: res.Page}
	if res.Page > 1 {
		v.PrevPage = res.Page - 1
	}
	if res.HasNext {
		v.NextPage = res.Page + 1
	}
	for _, s := range res.Rows {
		row := adminSubscriberRow{ID: s.ID, Email: s.Email, Waiting: s.Status == models.SubscriberWaiting, Joined: formatTime(s.CreatedAt)}
		if s.InvitedAt != nil {
			row.Invited = formatTime(*s.InvitedAt)
		}
		v.Rows = append(v.Rows, row)
	}
	h.serveAdmin(c, http.StatusOK, "admin_subscribers", "Admin · Subscribers", adminFlashes[c.Query("done")], v)
}

func (h *handlers) adminInvite(c *gin.Context) {
	p, _ := principal(c)
	id, ok := h.pathID(c)
	if !ok {
		return
	}
	_, invited, err := h.d.Identity.InviteSubscriber(c.Request.Context(), identity.OperatorActor(p.User), id)
	if err != nil {
		h.pageFailed(c, err)
		return
	}
	q := url.Values{"done": {"subscriber-invited"}}
	if !invited {
		q.Set("done", "subscriber-already")
	}
	if pg := formPage(c.PostForm("page")); pg > 1 {
		q.Set("page", strconv.Itoa(pg))
	}
	c.Redirect(http.StatusSeeOther, "/admin/subscribers?"+q.Encode())
}

// ---- Audit log ----

type adminAuditRow struct {
	When, Actor, Action, Target, Details string
}

func (h *handlers) adminAuditPage(c *gin.Context) {
	rows, err := h.d.Identity.AuditLog(c.Request.Context(), identity.AuditPageSize)
	if err != nil {
		h.pageFailed(c, err)
		return
	}
	v := make([]adminAuditRow, 0, len(rows))
	for _, a := range rows {
		v = append(v, adminAuditRow{When: formatTime(a.CreatedAt), Actor: a.Actor, Action: a.Action, Target: a.Target, Details: a.Details})
	}
	h.serveAdmin(c, http.StatusOK, "admin_audit", "Admin · Audit log", "", v)
}

// ---- Shared ----

func (h *handlers) serveAdmin(c *gin.Context, status int, name, title, flash string, data any) {
	pg := web.PageFor(c, title, "settings")
	pg.Data, pg.Flash = data, flash
	c.Header("Cache-Control", "no-store")
	h.d.Pages.Serve(c, status, name, pg)
}

// formPage reads a 1-based page number; anything else is page 1. Pages
// stop at 10 000, far beyond any list, so the offset stays small.
func formPage(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 {
		return 1
	}
	return min(n, 10000)
}
