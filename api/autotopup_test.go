package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/internal/wire"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
	"github.com/mobayilo/mobayilo/worker"
	"github.com/mobayilo/mobayilo/workflows"
)

func putJSON(t *testing.T, u, token, body string) cliReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return cliReply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// The owner saves a card the way production does, through Checkout in
// setup mode (the sandbox's page over HTTP, a real Temporal server and
// worker running SaveCard), then opts in, then removes the card.
func TestAutoTopUpPage_OwnerSavesACardThroughSetupCheckoutThenOptsIn(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		cs := newCreditsServer(t, db)
		ana, cookie, _ := cs.user("ana@example.com", models.AccountIndividual)
		formHdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
		post := func(path string, form url.Values, c *http.Cookie) (int, string, string) {
			code, loc, body := cs.do(http.MethodPost, path, strings.NewReader(form.Encode()), formHdr, c)
			return code, loc, string(body)
		}
		get := func(path string) (int, string) {
			code, _, body := cs.do(http.MethodGet, path, nil, nil, cookie)
			return code, string(body)
		}
		code, page := get("/autotopup")
		if code != http.StatusOK || !strings.Contains(page, `value="2"`) || !strings.Contains(page, `value="20"`) || !strings.Contains(page, "data-no-card") || !strings.Contains(page, "data-save-card") {
			t.Fatalf("page %d, want the suggested $2 threshold and $20 amount, no card and a Save a card button:\n%s", code, page)
		}
		form := url.Values{"enabled": {"on"}, "threshold": {"2"}, "amount": {"25.50"}, "daily_max_count": {"2"}, "daily_max": {"60"}}
		if code, _, body := post("/autotopup", form, cookie); code != http.StatusConflict || !strings.Contains(body, "Save a card before") {
			t.Fatalf("opting in without a card: %d, want 409 with a clear message:\n%s", code, body)
		}
		code, checkout, body := post("/autotopup/card/setup", url.Values{}, cookie)
		if code != http.StatusSeeOther || !strings.HasPrefix(checkout, cs.URL+providers.SandboxCheckoutPath+providers.SandboxSetupSessionPrefix) {
			t.Fatalf("Save a card: %d %q, want 303 to the sandbox setup checkout\n%s", code, checkout, body)
		}
		path := strings.TrimPrefix(checkout, cs.URL)
		if code, _, page := cs.do(http.MethodGet, path, nil, nil, nil); code != http.StatusOK || !strings.Contains(string(page), "data-setup-mode") ||
			!strings.Contains(string(page), "every test card saves") || strings.Contains(string(page), "Pay $") {
			t.Fatalf("setup checkout page %d, want the save-a-card mode:\n%s", code, page)
		}
		if code, _, _ := post(path, url.Values{"card": {"pm_card_bogus"}}, nil); code != http.StatusUnprocessableEntity {
			t.Fatalf("an unknown test card: %d, want 422", code)
		}
		// A card that will decline still saves, as Stripe's do: the decline
		// comes when auto top-up charges it.
		if code, loc, body := post(path, url.Values{"card": {providers.SandboxCardDeclined}}, nil); code != http.StatusSeeOther || loc != "/autotopup?done=card-saved" {
			t.Fatalf("saving pm_card_chargeDeclined: %d %q\n%s", code, loc, body)
		}
		if code, page := get("/autotopup?done=card-saved"); code != http.StatusOK || !strings.Contains(page, "visa ending in 0002") || !strings.Contains(page, "Card saved.") {
			t.Fatalf("after saving: %d, want the card shown:\n%s", code, page)
		}
		var setup models.CardSetup
		if err := db.Where("account_id = ?", ana.AccountID).Take(&setup).Error; err != nil || setup.Status != models.CardSetupSaved || setup.CardLast4 != "0002" {
			t.Fatalf("card setup row %+v, %v", setup, err)
		}
		var cust models.StripeCustomer
		if err := db.Where("account_id = ?", ana.AccountID).Take(&cust).Error; err != nil {
			t.Fatalf("no stripe customer made for the setup: %v", err)
		}
		if st, _ := autotopup.New(db, cs.ledger).Settings(context.Background(), ana.AccountID); st.PaymentMethodID != providers.SandboxCardDeclined || st.CustomerID != cust.CustomerID || st.Enabled {
			t.Fatalf("settings after saving %+v, want the test card with the account's customer, still off", st)
		}
		if code, _, _ := post(path, url.Values{"card": {providers.SandboxCardVisa}}, nil); code != http.StatusConflict {
			t.Fatalf("a second card on a finished setup: %d, want 409", code)
		}
		if code, loc, _ := post("/autotopup", form, cookie); code != http.StatusSeeOther || loc != "/autotopup?done=saved" {
			t.Fatalf("opting in with a card: %d %s", code, loc)
		}
		st, err := autotopup.New(db, cs.ledger).Settings(context.Background(), ana.AccountID)
		if err != nil || !st.Enabled || st.AmountCents != 2550 || st.DailyMaxCount != 2 || st.DailyMaxCents != 6000 || st.CardLast4 != "0002" {
			t.Fatalf("stored %+v (%v)", st, err)
		}
		bad := url.Values{"threshold": {"two"}, "amount": {"20"}, "daily_max_count": {"2"}, "daily_max": {"60"}}
		if code, _, body := post("/autotopup", bad, cookie); code != http.StatusUnprocessableEntity || !strings.Contains(body, "threshold must be an amount") {
			t.Fatalf("a bad threshold: %d, want 422 naming the field:\n%s", code, body)
		}
		if code, _, _ := post("/autotopup/card/remove", url.Values{}, cookie); code != http.StatusSeeOther {
			t.Fatalf("removing the card: %d", code)
		}
		if st, _ := autotopup.New(db, cs.ledger).Settings(context.Background(), ana.AccountID); st.Enabled || st.HasCard() {
			t.Fatalf("after removing the card: %+v, want off", st)
		}
		// A charge that needs the cardholder shows a banner.
		if err := autotopup.New(db, cs.ledger).StartAttempt(context.Background(), models.AutoTopUpAttempt{AttemptID: "auto-top-up-x-1", AccountID: ana.AccountID,
			AmountCents: 2000, Status: models.AttemptNeedsAuthentication}); err != nil {
			t.Fatal(err)
		}
		if _, page := get("/autotopup"); !strings.Contains(page, "data-autotopup-banner") || !strings.Contains(page, "approve the $20.00 auto top-up") ||
			!strings.Contains(page, `<a href="/autotopup/approve" data-banner-action>`) {
			t.Fatalf("no authentication banner with the approve link:\n%s", page)
		}
		// The dialer and the credits page carry it too, with the link that
		// fixes it: that is where people are.
		for _, path := range []string{"/", "/credits"} {
			if _, page := get(path); !strings.Contains(page, "approve the $20.00 auto top-up") ||
				!strings.Contains(page, `href="/autotopup/approve" data-flash-action>Approve it</a>`) {
				t.Fatalf("%s lacks the auto top-up banner and its link:\n%s", path, page)
			}
		}
		// A charge whose outcome is being reconciled, or that reconciliation
		// found never happened, is never called a decline.
		svc := autotopup.New(db, cs.ledger)
		if err := svc.StartAttempt(context.Background(), models.AutoTopUpAttempt{AttemptID: "auto-top-up-x-2", AccountID: ana.AccountID,
			AmountCents: 2000, Status: models.AttemptCharging}); err != nil {
			t.Fatal(err)
		}
		if _, page := get("/credits"); !strings.Contains(page, "confirming your $20.00 auto top-up") || strings.Contains(page, "declined") {
			t.Fatalf("an unknown outcome's banner:\n%s", page)
		}
		if err := svc.FinishAttempt(context.Background(), "auto-top-up-x-2", models.AttemptError, activities.DeclineNotCharged, "no charge", ""); err != nil {
			t.Fatal(err)
		}
		if _, page := get("/credits"); !strings.Contains(page, "could not be made; your card was not charged") || strings.Contains(page, "declined") {
			t.Fatalf("a not-charged attempt's banner:\n%s", page)
		}
	})
}

func TestAutoTopUpCLIAPI_ShowsAndSetsInCentsAndRefusesBadInput(t *testing.T) {
	db := testenv.SQLite(t)
	s := newAuthServer(t, db)
	ana := s.user(t, "ana@example.com", models.AccountIndividual, false)
	tok, _ := s.token(t, ana, 30, "device")
	r := s.cli(t, http.MethodGet, "/api/cli/autotopup", tok)
	var got wire.AutoTopUp
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || r.status != http.StatusOK || got.ThresholdCents != 200 || got.AmountCents != 2000 || got.Amount != "$20.00" || got.Card != nil || got.Enabled {
		t.Fatalf("GET: %d %s (%v)", r.status, r.body, err)
	}
	if r := putJSON(t, s.URL+"/api/cli/autotopup", tok, `{"enabled":true}`); r.status != http.StatusConflict || r.errorCode() != "no_card" {
		t.Fatalf("enabling without a card: %d %s, want 409 no_card", r.status, r.body)
	}
	if r := putJSON(t, s.URL+"/api/cli/autotopup", tok, `{"amount_cents":100}`); r.status != http.StatusUnprocessableEntity || r.errorCode() != "invalid_amount_cents" {
		t.Fatalf("a $1 amount: %d %s, want 422 invalid_amount_cents", r.status, r.body)
	}
	if r := putJSON(t, s.URL+"/api/cli/autotopup", tok, `{"amount_cents":`); r.status != http.StatusBadRequest || r.errorCode() != "bad_json" {
		t.Fatalf("broken JSON: %d %s, want 400 bad_json", r.status, r.body)
	}
	card, _ := autotopup.SandboxCard(providers.SandboxCardVisa)
	if _, err := autotopup.New(db, s.led).SaveCard(context.Background(), ana.AccountID, card); err != nil {
		t.Fatal(err)
	}
	r = putJSON(t, s.URL+"/api/cli/autotopup", tok, `{"enabled":true,"amount_cents":3000,"daily_max_cents":9000}`)
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || r.status != http.StatusOK || !got.Enabled || got.AmountCents != 3000 || got.ThresholdCents != 200 || got.Card == nil || got.Card.Last4 != "4242" {
		t.Fatalf("PUT: %d %s (%v)", r.status, r.body, err)
	}
	if r := s.cli(t, http.MethodGet, "/api/cli/autotopup", ""); r.status != http.StatusUnauthorized {
		t.Fatalf("without a token: %d, want 401", r.status)
	}
}

func TestAutoTopUp_SeatsCannotManageTheCompanyCard(t *testing.T) {
	db := testenv.SQLite(t)
	s := newAuthServer(t, db)
	boss := s.user(t, "boss@acme.example", models.AccountCompany, false)
	seat := models.User{AccountID: boss.AccountID, Email: "emp@acme.example", Role: models.RoleSeat, Status: models.StatusActive}
	if err := db.Create(&seat).Error; err != nil {
		t.Fatal(err)
	}
	b := s.browser(t, seat)
	if r := cliDo(t, b, http.MethodGet, s.URL+"/autotopup", nil, nil); r.status != http.StatusForbidden || r.errorCode() != "owners_only" {
		t.Fatalf("a seat on /autotopup: %d %s, want 403 owners_only", r.status, r.body)
	}
	if r := cliDo(t, b, http.MethodPost, s.URL+"/autotopup/card/setup", url.Values{}, nil); r.status != http.StatusForbidden {
		t.Fatalf("a seat saving a card: %d, want 403", r.status)
	}
}

// TestAdminAutoTopUps_ListsAFailedAutoTopUpAndRetryIsAudited drives the
// admin page against a real Temporal dev server and Postgres.
func TestAdminAutoTopUps_ListsAFailedAutoTopUpAndRetryIsAudited(t *testing.T) {
	ctx := context.Background()
	db := testenv.Postgres(t)
	s := newAuthServer(t, db)
	tc := testenv.Temporal(t).Client(t)
	if err := worker.EnsureSearchAttributes(ctx, tc, "default"); err != nil {
		t.Fatal(err)
	}
	pages, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	s.Config.Handler = api.New(deps(s.cfg, db, api.Deps{Pages: pages,
		Log: slog.New(slog.NewTextHandler(s.log, nil)), Auth: s.auth, Identity: s.ids, Ledger: s.led, Temporal: tc}))
	svc := autotopup.New(db, s.led)
	queue := fmt.Sprintf("autotopup-admin-%d", time.Now().UnixNano())
	pay := providers.Sandbox(nil).Payments
	w := worker.New(tc, queue, &activities.Activities{Mailer: mail.NewMailbox(nil), AutoTopUps: svc, Charges: pay, Payments: pay, TopUps: credits.New(db)})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	op := s.user(t, "ops@mobayilo.example", models.AccountIndividual, true)
	ana := s.user(t, "ana-admin-test@example.com", models.AccountIndividual, false)
	card, _ := autotopup.SandboxCard(providers.SandboxCardDeclined)
	if _, err := svc.SaveCard(ctx, ana.AccountID, card); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Save(ctx, ana.AccountID, autotopup.Update{Enabled: true, ThresholdCents: 200, AmountCents: 2000, DailyMaxCount: 3, DailyMaxCents: 6000}); err != nil {
		t.Fatal(err)
	}
	if err := workflows.NewClient(tc, workflows.ClientOptions{TaskQueue: queue, AutoTopUpCooldown: time.Second}).SignalAutoTopUpDebit(ctx, ana.AccountID); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = tc.TerminateWorkflow(context.Background(), workflows.AutoTopUpWorkflowID(ana.AccountID), "", "test over")
	})

	if r := cliDo(t, s.browser(t, ana), http.MethodGet, s.URL+"/admin/autotopups", nil, nil); r.status != http.StatusNotFound {
		t.Fatalf("a customer on the admin page: %d, want 404", r.status)
	}
	b := s.browser(t, op)
	marker := fmt.Sprintf(`data-account-id="%d"`, ana.AccountID)
	var page cliReply
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if page = cliDo(t, b, http.MethodGet, s.URL+"/admin/autotopups", nil, nil); strings.Contains(page.body, marker) {
			break
		}
	}
	if !strings.Contains(page.body, marker) || !strings.Contains(page.body, "generic_decline") || !strings.Contains(page.body, "$20.00") {
		t.Fatalf("the admin page does not list the failed auto top-up with its error and amount:\n%s", page.body)
	}
	if r := cliDo(t, b, http.MethodPost, fmt.Sprintf("%s/admin/autotopups/%d/retry", s.URL, ana.AccountID), url.Values{}, nil); r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "done=retried") {
		t.Fatalf("retry: %d %s", r.status, r.header.Get("Location"))
	}
	var audits []models.AuditLog
	db.Where("action = ?", "autotopup.retry").Find(&audits)
	if len(audits) != 1 || audits[0].Actor != fmt.Sprintf("admin:%d", op.ID) || audits[0].Target != fmt.Sprintf("account:%d", ana.AccountID) {
		t.Fatalf("audit %+v, want one retry by the operator", audits)
	}
	if r := cliDo(t, b, http.MethodPost, s.URL+"/admin/autotopups/999999/retry", url.Values{}, nil); r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "done=not-running") {
		t.Fatalf("retrying a missing workflow: %d %s", r.status, r.header.Get("Location"))
	}
}
