package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/wire"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
	"github.com/mobayilo/mobayilo/workflows"
)

// Credits: the Credits page, starting a top-up (web form and CLI) and
// reading balance, transactions and top-ups. A top-up is a TopUp workflow
// started with update-with-start: the update returns as soon as the
// checkout URL exists, so neither the page nor the CLI waits on payment.

// lowBalanceCents is the low-balance banner's threshold while auto top-up
// is off; when it is on, its threshold is used.
const lowBalanceCents = 200

// transactionsPerPage is the Credits page's and the CLI's page size.
const transactionsPerPage = 20

// topUpStartTimeout bounds the wait for the checkout URL.
const topUpStartTimeout = 20 * time.Second

var (
	errSeatTopUp = &requestError{status: http.StatusForbidden, code: "seat_cannot_top_up",
		message: "seats spend from the company wallet; ask your company admin to top it up"}
	errTemporalMissing = &requestError{status: http.StatusServiceUnavailable, code: "workflows_unavailable",
		message: "top-ups are unavailable right now; try again in a minute"}
)

func (h *handlers) registerCredits(r gin.IRouter) {
	r.GET("/credits", requireUser(), h.creditsPage)
	r.GET("/credits/receipts/:id", requireUser(), h.receiptPage)
	r.POST("/api/topups", requireUser(), h.webCreateTopUp)

	cli := r.Group("/api/cli", cliTokenShape(),
		h.limit("cli-ip", cliPerIPPerMinute, time.Minute, byIP),
		h.bearer(),
		h.limit("cli-user", cliPerUserPerMinute, time.Minute, byUser))
	cli.GET("/balance", h.cliBalance)
	cli.GET("/transactions", h.cliTransactions)
	cli.POST("/topups", h.cliCreateTopUp)
	cli.GET("/topups/:id", h.cliTopUp)

	h.registerSandboxCheckout(r)
}

func (h *handlers) credits() *credits.Service { return h.d.Credits }

// topUpLimits are the configured top-up maximums.
func (h *handlers) topUpLimits() credits.Limits {
	return credits.Limits{MaxCents: h.d.Config.TopUpMaxCents, FirstMaxCents: h.d.Config.FirstTopUpMaxCents}
}

// topUpRequest is a new top-up, from the CLI's JSON body or the web form.
type topUpRequest struct {
	wire.NewTopUp
	// RequestKey makes a repeat of the same request (double submit, CLI
	// retry) return the first request's top-up: the form's hidden
	// request_key, the CLI's Idempotency-Key header.
	RequestKey string `json:"-"`
}

// startTopUp validates the amount, stores the top-up and starts its
// workflow, returning the checkout URL. A repeated request key returns the
// first request's top-up and checkout; url is "" when that top-up is no
// longer awaiting payment. Errors: *money.TopUpAmountError,
// *credits.FirstTopUpLimitError, errSeatTopUp,
// errTemporalMissing, credits.ErrRequestKey*, or a failure to open the
// checkout.
func (h *handlers) startTopUp(ctx context.Context, c *gin.Context, req topUpRequest) (models.TopUp, string, error) {
	p, _ := principal(c)
	if p.User.Role == models.RoleSeat {
		return models.TopUp{}, "", errSeatTopUp
	}
	if err := h.credits().CheckAmount(ctx, p.Account.ID, p.Account.Kind, req.AmountCents, h.topUpLimits()); err != nil {
		return models.TopUp{}, "", err
	}
	if h.d.Temporal == nil {
		// Checked before anything is stored: no top-up without a workflow.
		return models.TopUp{}, "", errTemporalMissing
	}
	t, replayed, err := h.credits().Create(ctx, credits.NewTopUp{AccountID: p.Account.ID, UserID: p.User.ID,
		AmountCents: req.AmountCents, SaveCard: req.SaveCard, RequestKey: req.RequestKey})
	if err != nil {
		return models.TopUp{}, "", err
	}
	if replayed {
		c.Header("Idempotent-Replayed", "true")
		if t.Status != models.TopUpAwaitingPayment {
			return t, "", nil
		}
		if t.CheckoutURL != "" {
			return t, t.CheckoutURL, nil
		}
		// The first request is still opening the checkout (or gave up):
		// the update below joins its workflow.
	}
	ctx, cancel := context.WithTimeout(ctx, topUpStartTimeout)
	defer cancel()
	link, err := h.wf.StartTopUp(ctx, workflows.TopUpInput{TopUpID: t.ID, AccountID: t.AccountID, AmountCents: t.AmountCents})
	switch {
	case replayed && errors.Is(err, workflows.ErrAlreadyStarted):
		// Closed between our read and the start: report it as it is now.
		now, gerr := h.credits().Get(ctx, t.ID)
		if gerr != nil {
			return models.TopUp{}, "", gerr
		}
		return now, "", nil
	case errors.Is(err, workflows.ErrUnavailable):
		return models.TopUp{}, "", errTemporalMissing
	case err != nil:
		slog.WarnContext(ctx, "top-up checkout could not be opened", "topup_id", t.ID, "error", err)
		return models.TopUp{}, "", &requestError{status: http.StatusBadGateway, code: "checkout_unavailable",
			message: "the payment page could not be opened; try again in a minute"}
	}
	t.CheckoutURL = link.URL
	return t, link.URL, nil
}

// webCreateTopUp is the Credits page's form: 303 to the checkout, or the
// page again with the reason.
func (h *handlers) webCreateTopUp(c *gin.Context) {
	var req topUpRequest
	amount := strings.TrimSpace(c.PostForm("amount"))
	if amount == "custom" || amount == "" {
		amount = strings.TrimSpace(c.PostForm("custom_amount"))
	}
	cents, err := money.ParseDollars(amount)
	if err != nil {
		h.renderCredits(c, http.StatusUnprocessableEntity, err.Error())
		return
	}
	req.AmountCents, req.SaveCard = cents, c.PostForm("save_card") == "on"
	req.RequestKey = c.PostForm("request_key")
	t, url, err := h.startTopUp(c.Request.Context(), c, req)
	if err != nil {
		status, _ := statusFor(err)
		msg := err.Error()
		if status >= 500 && status != http.StatusBadGateway && status != http.StatusServiceUnavailable {
			msg = "something went wrong on our side; nothing was charged. Try again."
		}
		h.renderCredits(c, status, msg)
		return
	}
	if url == "" {
		// A repeat of a form already paid or closed: show how it ended.
		c.Redirect(http.StatusSeeOther, "/credits?topup="+t.ID)
		return
	}
	c.Redirect(http.StatusSeeOther, url)
}

func (h *handlers) cliCreateTopUp(c *gin.Context) {
	var req topUpRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		abortWithError(c, badRequest("bad_json", "send JSON {\"amount_cents\": 500}"))
		return
	}
	req.RequestKey = c.GetHeader("Idempotency-Key")
	t, _, err := h.startTopUp(c.Request.Context(), c, req)
	if err != nil {
		abortWithError(c, err)
		return
	}
	status := http.StatusCreated
	if c.Writer.Header().Get("Idempotent-Replayed") != "" {
		status = http.StatusOK
	}
	p, _ := principal(c)
	c.JSON(status, h.topUpJSON(t, p.Account.BalanceCents))
}

func (h *handlers) cliTopUp(c *gin.Context) {
	p, _ := principal(c)
	t, err := h.credits().GetForAccount(c.Request.Context(), p.Account.ID, c.Param("id"))
	if err != nil {
		abortWithError(c, err)
		return
	}
	acct, err := h.d.Ledger.Account(c.Request.Context(), p.Account.ID)
	if err != nil {
		abortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, h.topUpJSON(t, acct.BalanceCents))
}

func (h *handlers) topUpJSON(t models.TopUp, balance int64) wire.TopUp {
	out := wire.TopUp{ID: t.ID, Status: wire.TopUpStatus(t.Status), AmountCents: t.AmountCents, Amount: money.Format(t.AmountCents),
		CardBrand: t.CardBrand, CardLast4: t.CardLast4, BalanceCents: balance, Balance: money.Format(balance)}
	if t.Status == models.TopUpAwaitingPayment {
		out.CheckoutURL = t.CheckoutURL
	}
	return out
}

func (h *handlers) cliBalance(c *gin.Context) {
	p, _ := principal(c)
	acct, err := h.d.Ledger.Account(c.Request.Context(), p.Account.ID)
	if err != nil {
		abortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, wire.Balance{BalanceCents: acct.BalanceCents, Balance: money.Format(acct.BalanceCents),
		AvailableCents: acct.AvailableCents(), Available: money.Format(acct.AvailableCents()),
		MinimumTopUpCents: credits.MinimumCents(acct.Kind)})
}

func (h *handlers) cliTransactions(c *gin.Context) {
	p, _ := principal(c)
	before, _ := strconv.ParseInt(c.Query("before"), 10, 64)
	limit, _ := strconv.Atoi(c.Query("limit"))
	if limit <= 0 || limit > 200 {
		limit = transactionsPerPage
	}
	es, err := h.d.Ledger.Entries(c.Request.Context(), p.Account.ID, before, limit)
	if err != nil {
		abortWithError(c, err)
		return
	}
	out := wire.Transactions{Transactions: make([]wire.Transaction, 0, len(es))}
	for _, e := range es {
		out.Transactions = append(out.Transactions, wire.Transaction{ID: e.ID, Kind: string(e.Kind), AmountCents: e.AmountCents, Amount: money.Format(e.AmountCents),
			BalanceAfterCents: e.BalanceAfter, Description: e.Description, CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339)})
	}
	if len(es) == limit {
		out.NextBefore = es[len(es)-1].ID
	}
	c.JSON(http.StatusOK, out)
}

// ---- The Credits page ----

type creditsView struct {
	Balance    string
	LowBalance bool
	CanTopUp   bool
	Minimum    string
	MinDollars int64
	MaxDollars int64
	Presets    []creditsPreset
	// RequestKey is the form's hidden request_key (see topUpRequest).
	RequestKey  string
	Entries     []creditsEntry
	NextBefore  int64
	Receipts    []creditsReceipt
	TopUp       *creditsTopUp
	IsSandbox   bool
	FirstPage   bool
	EntriesNone bool
	// Auto top-up (its settings page is /autotopup).
	AutoTopUpOn        bool
	AutoTopUpThreshold string
	AutoTopUpAmount    string
	SavedCard          string
	// CustomAmount pre-fills "Other" (from ?amount=<cents>, the link in the
	// auto top-up needs-approval email), in dollars.
	CustomAmount string
	// FirstTopUpMax, when set, is the first-purchase limit this account is
	// still under, and TopUpMax the limit after its first payment.
	FirstTopUpMax, TopUpMax string
}

type creditsPreset struct {
	Dollars int64
	Label   string
	Checked bool
}

type creditsEntry struct {
	When, WhenISO, Kind, Amount, BalanceAfter, Description string
	// KindCode is the ledger kind (topup, auto_topup, ...) for scripts.
	KindCode string
	Credit   bool
}

type creditsReceipt struct {
	ID, When, WhenISO, Amount, Card, PaymentIntentID string
	// Kind is "Top-up" or "Auto top-up"; KindCode the receipt kind for
	// scripts; Ref the top-up or auto top-up attempt id.
	Kind, KindCode, Ref string
}

// receiptLabels name the receipt kinds as the page says them.
var receiptLabels = map[credits.ReceiptKind]string{credits.ReceiptTopUp: "Top-up", credits.ReceiptAutoTopUp: "Auto top-up"}

func receiptView(r credits.AccountReceipt) creditsReceipt {
	card := "Card"
	if r.CardLast4 != "" {
		card = brandName(r.CardBrand) + " •••• " + r.CardLast4
	}
	return creditsReceipt{ID: r.ID, When: r.PaidAt.Format("2 Jan 2006 15:04"), WhenISO: r.PaidAt.Format(time.RFC3339),
		Amount: money.Format(r.AmountCents), Card: card, PaymentIntentID: r.PaymentIntentID,
		Kind: receiptLabels[r.Kind], KindCode: string(r.Kind), Ref: r.Ref}
}

// receiptPage is one receipt of the viewer's account. Any other id, another
// account's receipt included, is the plain 404 page, so ids cannot be
// probed.
func (h *handlers) receiptPage(c *gin.Context) {
	pr, _ := principal(c)
	r, err := h.credits().AccountReceipt(c.Request.Context(), pr.Account.ID, c.Param("id"))
	if errors.Is(err, credits.ErrReceiptNotFound) {
		web.NotFound(h.d.Pages)(c)
		return
	}
	if err != nil {
		abortWithError(c, err)
		return
	}
	p := web.PageFor(c, "Receipt", "credits")
	p.Data = receiptView(r)
	h.d.Pages.Serve(c, http.StatusOK, "receipt", p)
}

type creditsTopUp struct {
	ID, Status, Amount string
}

var entryLabels = map[models.EntryKind]string{
	models.EntryTopUp: "Top-up", models.EntryAutoTopUp: "Auto top-up", models.EntryCallCharge: "Call",
	models.EntryNumberFee: "Number fee", models.EntryRefund: "Refund", models.EntryBonus: "Bonus", models.EntryAdjustment: "Adjustment",
}

func (h *handlers) creditsPage(c *gin.Context) { h.renderCredits(c, http.StatusOK, "") }

func (h *handlers) renderCredits(c *gin.Context, status int, flash string) {
	ctx := c.Request.Context()
	pr, _ := principal(c)
	acct, err := h.d.Ledger.Account(ctx, pr.Account.ID)
	if err != nil {
		abortWithError(c, err)
		return
	}
	// The banner shows below the auto top-up threshold when it is on, else
	// below $2.
	low := int64(lowBalanceCents)
	st, err := h.d.AutoTopUps.Settings(ctx, acct.ID)
	if err != nil {
		abortWithError(c, err)
		return
	}
	if st.Enabled {
		low = st.ThresholdCents
	}
	minCents := credits.MinimumCents(acct.Kind)
	maxCents, err := h.credits().MaxCents(ctx, acct.ID, h.topUpLimits())
	if err != nil {
		abortWithError(c, err)
		return
	}
	v := creditsView{Balance: money.Format(acct.BalanceCents), LowBalance: acct.BalanceCents < low,
		CanTopUp: pr.User.Role != models.RoleSeat, Minimum: money.Format(minCents), MinDollars: minCents / 100,
		MaxDollars: maxCents / 100, IsSandbox: h.d.Config.SandboxStripe(),
		AutoTopUpOn: st.Enabled, AutoTopUpThreshold: money.Format(st.ThresholdCents), AutoTopUpAmount: money.Format(st.AmountCents),
		// One key per rendered form: submitting it twice opens one checkout.
		RequestKey: credits.NewTopUpID()}
	if maxCents < h.d.Config.TopUpMaxCents {
		v.FirstTopUpMax, v.TopUpMax = money.Format(maxCents), money.Format(h.d.Config.TopUpMaxCents)
	}
	if st.CardLast4 != "" {
		v.SavedCard = brandName(st.CardBrand) + " •••• " + st.CardLast4
	}
	presets := []int64{5, 10, 20, 50}
	if acct.Kind == models.AccountCompany {
		presets = []int64{100, 200, 500, 1000}
	}
	// ?amount=<cents> pre-selects an amount, for links that suggest one.
	want, _ := strconv.ParseInt(c.Query("amount"), 10, 64)
	if want < minCents || want > maxCents {
		want = 0
	}
	for i, d := range presets {
		checked := (want == 0 && i == 0) || want == d*100
		v.Presets = append(v.Presets, creditsPreset{Dollars: d, Label: money.Format(d * 100), Checked: checked})
	}
	if want > 0 && !slices.ContainsFunc(v.Presets, func(p creditsPreset) bool { return p.Checked }) {
		v.CustomAmount = money.FormatInput(want)
	}
	before, _ := strconv.ParseInt(c.Query("before"), 10, 64)
	v.FirstPage = before == 0
	es, err := h.d.Ledger.Entries(ctx, acct.ID, before, transactionsPerPage)
	if err != nil {
		abortWithError(c, err)
		return
	}
	for _, e := range es {
		v.Entries = append(v.Entries, creditsEntry{When: e.CreatedAt.UTC().Format("2 Jan 2006 15:04"), WhenISO: e.CreatedAt.UTC().Format(time.RFC3339),
			Kind: entryLabels[e.Kind], Amount: money.Format(e.AmountCents), BalanceAfter: money.Format(e.BalanceAfter),
			Description: e.Description, KindCode: string(e.Kind), Credit: e.AmountCents > 0})
	}
	v.EntriesNone = len(es) == 0 && v.FirstPage
	if len(es) == transactionsPerPage {
		v.NextBefore = es[len(es)-1].ID
	}
	rs, err := h.credits().AccountReceipts(ctx, acct.ID, 20)
	if err != nil {
		abortWithError(c, err)
		return
	}
	for _, r := range rs {
		v.Receipts = append(v.Receipts, receiptView(r))
	}
	if id := c.Query("topup"); id != "" {
		if t, err := h.credits().GetForAccount(ctx, acct.ID, id); err == nil {
			v.TopUp = &creditsTopUp{ID: t.ID, Status: string(t.Status), Amount: money.Format(t.AmountCents)}
		} else if !errors.Is(err, credits.ErrTopUpNotFound) {
			abortWithError(c, err)
			return
		}
	}
	p := web.PageFor(c, "Credits", "credits")
	p.Data, p.Flash = v, flash
	if flash == "" {
		// A failed or unapproved auto top-up is the first thing to tell.
		p.Flash, p.FlashAction = h.AutoTopUpBanner(ctx, acct.ID)
	}
	h.d.Pages.Serve(c, status, "credits", p)
}

// topUpFlash tells the payer, back from checkout at /dial?topup=<id>, what
// became of the top-up and the new balance; "" without a top-up of theirs.
func (h *handlers) topUpFlash(c *gin.Context) string {
	id := c.Query("topup")
	p, ok := principal(c)
	if id == "" || !ok || h.d.Ledger == nil {
		return ""
	}
	ctx := c.Request.Context()
	t, err := h.credits().GetForAccount(ctx, p.Account.ID, id)
	if err != nil {
		return ""
	}
	acct, err := h.d.Ledger.Account(ctx, p.Account.ID)
	if err != nil {
		return ""
	}
	switch t.Status {
	case models.TopUpSucceeded:
		return fmt.Sprintf("%s added. Your balance is %s.", money.Format(t.AmountCents), money.Format(acct.BalanceCents))
	case models.TopUpAwaitingPayment:
		return fmt.Sprintf("We are confirming your %s payment; it is added in a moment. Your balance is %s.", money.Format(t.AmountCents), money.Format(acct.BalanceCents))
	}
	return fmt.Sprintf("Your %s top-up was not completed; nothing was charged.", money.Format(t.AmountCents))
}

// brandName is Stripe's card brand ("visa", "amex") as people write it.
func brandName(b string) string {
	switch b {
	case "amex":
		return "American Express"
	case "mastercard":
		return "Mastercard"
	case "":
		return "Card"
	}
	return strings.ToUpper(b[:1]) + b[1:]
}
