package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/internal/credits"
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

func (h *handlers) credits() *credits.Service { return credits.New(h.d.DB) }

// topUpLimits are the configured top-up maximums.
func (h *handlers) topUpLimits() credits.Limits {
	return credits.Limits{MaxCents: h.d.Config.TopUpMaxCents, FirstMaxCents: h.d.Config.FirstTopUpMaxCents}
}

// topUpRequest is the JSON (CLI) and form (web) body of a new top-up.
type topUpRequest struct {
	AmountCents int64 `json:"amount_cents" form:"amount_cents"`
	SaveCard    bool  `json:"save_card" form:"save_card"`
	// RequestKey makes a repeat of the same request (double submit, CLI
	// retry) return the first request's top-up: the form's hidden
	// request_key, the CLI's Idempotency-Key header.
	RequestKey string `json:"-" form:"-"`
}

// topUpJSON is a top-up as the CLI sees it: integer cents alongside the
// formatted amount.
type topUpJSON struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	AmountCents int64  `json:"amount_cents"`
	Amount      string `json:"amount"`
	CheckoutURL string `json:"checkout_url,omitempty"`
	CardBrand   string `json:"card_brand,omitempty"`
	CardLast4   string `json:"card_last4,omitempty"`
	// BalanceCents is the wallet now, so `moby topup --wait` can print it.
	BalanceCents int64  `json:"balance_cents"`
	Balance      string `json:"balance"`
}

// startTopUp validates the amount, stores the top-up and starts its
// workflow, returning the checkout URL. A repeated request key returns the
// first request's top-up and checkout; url is "" when that top-up is no
// longer awaiting payment. Errors: *credits.AmountError,
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
	start := h.d.Temporal.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       workflows.TopUpWorkflowID(t.ID),
		TaskQueue:                h.d.Config.TemporalTaskQueue,
		WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		// A top-up has one workflow, ever: a replayed request must not
		// open a second checkout for a top-up that already closed.
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, workflows.NameTopUp, workflows.TopUpInput{TopUpID: t.ID, AccountID: t.AccountID, AmountCents: t.AmountCents, BaseURL: h.d.Config.PublicBaseURL})
	handle, err := h.d.Temporal.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{UpdateName: workflows.UpdateTopUpCheckoutURL,
			WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if replayed && errors.As(err, &started) {
		// Closed between our read and the start: report it as it is now.
		now, gerr := h.credits().Get(ctx, t.ID)
		if gerr != nil {
			return models.TopUp{}, "", gerr
		}
		return now, "", nil
	}
	if err != nil {
		return models.TopUp{}, "", fmt.Errorf("start top-up %s: %w", t.ID, err)
	}
	var link workflows.CheckoutLink
	if err := handle.Get(ctx, &link); err != nil {
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
	cents, err := parseDollars(amount)
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

// parseDollars reads dollars ("5", "5.5", "12.34", "$20") into cents: the
// one parser of every form amount (top-up, auto top-up settings, admin
// adjustments; signs are the caller's business).
func parseDollars(s string) (int64, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "$")
	bad := fmt.Errorf("enter an amount in dollars, such as 20 or 12.50")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 9 || len(frac) > 2 || !allDigits(whole) || !allDigits(frac) {
		return 0, bad
	}
	for len(frac) < 2 {
		frac += "0"
	}
	d, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt(frac, 10, 64)
	return d*100 + f, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
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

func (h *handlers) topUpJSON(t models.TopUp, balance int64) topUpJSON {
	out := topUpJSON{ID: t.ID, Status: string(t.Status), AmountCents: t.AmountCents, Amount: credits.FormatCents(t.AmountCents),
		CardBrand: t.CardBrand, CardLast4: t.CardLast4, BalanceCents: balance, Balance: credits.FormatCents(balance)}
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
	c.JSON(http.StatusOK, gin.H{"balance_cents": acct.BalanceCents, "balance": credits.FormatCents(acct.BalanceCents),
		"available_cents": acct.AvailableCents(), "available": credits.FormatCents(acct.AvailableCents()),
		"minimum_topup_cents": credits.MinimumCents(acct.Kind)})
}

// transactionJSON is one ledger entry for the CLI.
type transactionJSON struct {
	ID                int64  `json:"id"`
	Kind              string `json:"kind"`
	AmountCents       int64  `json:"amount_cents"`
	Amount            string `json:"amount"`
	BalanceAfterCents int64  `json:"balance_after_cents"`
	Description       string `json:"description"`
	CreatedAt         string `json:"created_at"`
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
	out := make([]transactionJSON, 0, len(es))
	for _, e := range es {
		out = append(out, transactionJSON{ID: e.ID, Kind: string(e.Kind), AmountCents: e.AmountCents, Amount: credits.FormatCents(e.AmountCents),
			BalanceAfterCents: e.BalanceAfter, Description: e.Description, CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339)})
	}
	resp := gin.H{"transactions": out}
	if len(es) == limit {
		resp["next_before"] = es[len(es)-1].ID
	}
	c.JSON(http.StatusOK, resp)
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
		Amount: credits.FormatCents(r.AmountCents), Card: card, PaymentIntentID: r.PaymentIntentID,
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
	st, err := autotopup.New(h.d.DB, h.d.Ledger).Settings(ctx, acct.ID)
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
	v := creditsView{Balance: credits.FormatCents(acct.BalanceCents), LowBalance: acct.BalanceCents < low,
		CanTopUp: pr.User.Role != models.RoleSeat, Minimum: credits.FormatCents(minCents), MinDollars: minCents / 100,
		MaxDollars: maxCents / 100, IsSandbox: !h.d.Config.StripeLive(),
		AutoTopUpOn: st.Enabled, AutoTopUpThreshold: credits.FormatCents(st.ThresholdCents), AutoTopUpAmount: credits.FormatCents(st.AmountCents),
		// One key per rendered form: submitting it twice opens one checkout.
		RequestKey: credits.NewTopUpID()}
	if maxCents < h.d.Config.TopUpMaxCents {
		v.FirstTopUpMax, v.TopUpMax = credits.FormatCents(maxCents), credits.FormatCents(h.d.Config.TopUpMaxCents)
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
		v.Presets = append(v.Presets, creditsPreset{Dollars: d, Label: credits.FormatCents(d * 100), Checked: checked})
	}
	if want > 0 && !slices.ContainsFunc(v.Presets, func(p creditsPreset) bool { return p.Checked }) {
		v.CustomAmount = fmt.Sprintf("%d.%02d", want/100, want%100)
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
			Kind: entryLabels[e.Kind], Amount: credits.FormatCents(e.AmountCents), BalanceAfter: credits.FormatCents(e.BalanceAfter),
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
			v.TopUp = &creditsTopUp{ID: t.ID, Status: string(t.Status), Amount: credits.FormatCents(t.AmountCents)}
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
		return fmt.Sprintf("%s added. Your balance is %s.", credits.FormatCents(t.AmountCents), credits.FormatCents(acct.BalanceCents))
	case models.TopUpAwaitingPayment:
		return fmt.Sprintf("We are confirming your %s payment; it is added in a moment. Your balance is %s.", credits.FormatCents(t.AmountCents), credits.FormatCents(acct.BalanceCents))
	}
	return fmt.Sprintf("Your %s top-up was not completed; nothing was charged.", credits.FormatCents(t.AmountCents))
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
