package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/internal/wire"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

const formType = "application/x-www-form-urlencoded"

// company is a company admin with cents on the wallet and two seats, each
// signed in.
func (s *creditsServer) company(email string, cents int64) (caller, []caller) {
	s.t.Helper()
	admin, cookie, _ := s.user(email, models.AccountCompany)
	if cents > 0 {
		s.credit(admin.AccountID, cents, "seed-"+email)
	}
	var seats []caller
	for i := range 2 {
		now := time.Now().UTC()
		u := models.User{AccountID: admin.AccountID, Email: fmt.Sprintf("seat%d.%s", i, email), Role: models.RoleSeat,
			Status: models.StatusActive, CreatedAt: now, UpdatedAt: now}
		if err := s.db.Create(&u).Error; err != nil {
			s.t.Fatal(err)
		}
		secret, err := s.auth.CreateSession(context.Background(), u.ID, "127.0.0.1", "test")
		if err != nil {
			s.t.Fatal(err)
		}
		seats = append(seats, caller{s: s, user: u, cookie: &http.Cookie{Name: api.SessionCookie, Value: secret}})
	}
	return caller{s: s, user: admin, cookie: cookie}, seats
}

func (s *creditsServer) credit(accountID, cents int64, key string) {
	s.t.Helper()
	if _, err := s.ledger.Post(context.Background(), ledger.Posting{AccountID: accountID, Kind: models.EntryBonus, AmountCents: cents,
		IdempotencyKey: key, Actor: "test"}); err != nil {
		s.t.Fatal(err)
	}
}

func (c caller) form(path string, v url.Values) (int, string, string) {
	c.s.t.Helper()
	code, loc, body := c.s.do(http.MethodPost, path, strings.NewReader(v.Encode()), map[string]string{"Content-Type": formType}, c.cookie)
	return code, loc, string(body)
}

// assignActiveNumber gives a company user an active number, as if bought
// (company calls need one; the purchase is TestNumbers_…'s).
func assignActiveNumber(t *testing.T, db *gorm.DB, u models.User, e164 string) {
	t.Helper()
	now := time.Now().UTC()
	pn := models.PhoneNumber{AccountID: u.AccountID, E164: e164, Country: "US", State: models.NumberActive, MonthlyFeeCents: 300,
		BoughtBy: u.ID, CreatedAt: now, UpdatedAt: now}
	if err := db.Create(&pn).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Model(&models.User{}).Where("id = ?", u.ID).Update("phone_number_id", pn.ID).Error; err != nil {
		t.Fatal(err)
	}
}

// number is the company's row for e164.
func (s *creditsServer) number(e164 string) models.PhoneNumber {
	s.t.Helper()
	var pn models.PhoneNumber
	if err := s.db.Where("e164 = ?", e164).Order("id DESC").Take(&pn).Error; err != nil {
		s.t.Fatalf("number %s: %v", e164, err)
	}
	return pn
}

// endNumberAtCleanup ends the number's workflow with the test: number ids
// repeat across the tests' databases while they share one Temporal.
func (s *creditsServer) endNumberAtCleanup(id int64) {
	s.t.Cleanup(func() {
		_ = s.temporal.TerminateWorkflow(context.Background(), workflows.NumberWorkflowID(id), "", "test over")
	})
}

func (s *creditsServer) waitNumber(e164 string, state models.NumberState) models.PhoneNumber {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		pn := s.number(e164)
		if pn.State == state {
			return pn
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("number %s stayed %s (%s), want %s", e164, pn.State, pn.LastError, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *creditsServer) feeEntries(accountID int64) int64 {
	s.t.Helper()
	var n int64
	s.db.Model(&models.LedgerEntry{}).Where("account_id = ? AND kind = ?", accountID, models.EntryNumberFee).Count(&n)
	return n
}

// mailTo waits a little for the mail (the workflow mails after it records
// the state the test saw).
func (s *creditsServer) mailTo(to, subject string) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, m := range s.mailbox.Messages() {
			if m.To == to && m.Subject == subject {
				return true
			}
		}
	}
	return false
}

func (s *creditsServer) incoming(to string, signed bool) (int, string) {
	s.t.Helper()
	form := url.Values{"To": {to}, "From": {"+447911123456"}, "CallSid": {"CA0001"}}
	sig := providers.SignTwilio(s.cfg.EffectiveTwilioAuthToken(), s.cfg.PublicBaseURL+"/api/webhooks/twilio/incoming", form)
	if !signed {
		sig = "bad"
	}
	code, _, body := s.do(http.MethodPost, "/api/webhooks/twilio/incoming", strings.NewReader(form.Encode()),
		map[string]string{"Content-Type": formType, "X-Twilio-Signature": sig}, nil)
	return code, string(body)
}

// A company admin buys a number only once the wallet covers its first
// month (no Twilio request before), assigns two seats, who call with it;
// the company runs dry at the next period, the number is suspended (calls
// refused, inbound rejected, admin emailed) and the next top-up, through
// Stripe's checkout and webhook, restores it with no one's help. Real
// Temporal, real Postgres, the sandbox providers.
func TestNumbers_BuyAssignSuspendAndHealByTopUp(t *testing.T) {
	s := newCreditsServer(t, testenv.Postgres(t))
	admin, seats := s.company("admin@numbers.test", 200)
	const e164 = "+14155550150"

	code, _, page := s.do(http.MethodGet, "/company/numbers?country=US&area_code=415", nil, nil, admin.cookie)
	if text := html.UnescapeString(string(page)); code != http.StatusOK || !strings.Contains(text, `data-available-number="`+e164+`"`) || !strings.Contains(text, `aria-label="Buy `+e164+` for $3.00 a month"`) || !strings.Contains(text, "<span class=\"admin-meta\" data-offer-fee>$3.00 a month</span>") {
		t.Fatalf("search = %d %s", code, page)
	}
	// $2.00 does not cover the first month: refused before Twilio is asked.
	code, _, body := admin.form("/company/numbers/buy", url.Values{"number": {e164}})
	if code != http.StatusPaymentRequired || !strings.Contains(body, "costs $3.00 a month") {
		t.Fatalf("buy with $2.00 = %d %s", code, body)
	}
	if got := s.prov.SandboxNumbers.Requests(); len(got) != 1 || got[0] != "search US 415" {
		t.Fatalf("number shop requests %v: a buy without funds must ask nothing", got)
	}
	var rows int64
	s.db.Model(&models.PhoneNumber{}).Count(&rows)
	if rows != 0 {
		t.Fatalf("%d number rows after a refused buy", rows)
	}

	s.credit(admin.user.AccountID, 800, "more-money")
	code, loc, body := admin.form("/company/numbers/buy", url.Values{"number": {e164}})
	pn := s.number(e164)
	s.endNumberAtCleanup(pn.ID)
	if code != http.StatusSeeOther || loc != "/company/numbers?done=bought" {
		t.Fatalf("buy = %d %q %s", code, loc, body)
	}
	if pn.State != models.NumberActive || !strings.HasPrefix(pn.TwilioSID, "PN") || pn.NextChargeAt == nil ||
		pn.NextChargeAt.Before(time.Now().AddDate(0, 1, -2)) {
		t.Fatalf("bought %+v", pn)
	}
	if n := s.feeEntries(admin.user.AccountID); n != 1 {
		t.Fatalf("%d fees after buying", n)
	}
	if code, twiml := s.incoming(e164, true); code != http.StatusOK || !strings.Contains(twiml, "does not take incoming calls") || !strings.Contains(twiml, "<Hangup") {
		t.Fatalf("inbound to an active number = %d %s", code, twiml)
	}

	_, _, before := s.do(http.MethodGet, "/company", nil, nil, admin.cookie)
	if !strings.Contains(string(before), "no number: cannot call") {
		t.Fatal("/company does not say the seats cannot call yet")
	}
	for _, seat := range seats {
		if code, loc, body := admin.form(fmt.Sprintf("/company/seats/%d/number", seat.user.ID), url.Values{"number_id": {fmt.Sprint(pn.ID)}}); code != http.StatusSeeOther || loc != "/company/numbers?done=assigned" {
			t.Fatalf("assign = %d %q %s", code, loc, body)
		}
	}
	_, _, after := s.do(http.MethodGet, "/company", nil, nil, admin.cookie)
	if got := strings.Count(html.UnescapeString(string(after)), "<dd data-seat-number>"+e164+"</dd>"); got != 2 {
		t.Fatalf("/company shows the number on %d seats, want 2", got)
	}
	// Both seats call with it: the sandbox's busy number costs nothing.
	for _, seat := range seats {
		call := seat.dial("+14155550102")
		if call.CallerID != e164 {
			t.Fatalf("seat call's caller ID %q, want %s", call.CallerID, e164)
		}
		s.waitCall(call.CallID)
	}

	// Run (almost) dry: $2 is a call's worth but not the $3 fee. The next
	// period comes due (the number as if bought a
	// month and a day ago: the operator's restart of its workflow).
	acct, _ := s.ledger.Account(context.Background(), admin.user.AccountID)
	if _, err := s.ledger.Post(context.Background(), ledger.Posting{AccountID: acct.ID, Kind: models.EntryAdjustment, AmountCents: 200 - acct.BalanceCents,
		IdempotencyKey: "spend-most", Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	// The purchase run, asleep until its next period: a history to replay.
	testenv.RecordHistory(t, testenv.WorkflowHistory(t, s.temporal, workflows.NumberWorkflowID(pn.ID), ""), "number-bought")
	if err := s.temporal.TerminateWorkflow(context.Background(), workflows.NumberWorkflowID(pn.ID), "", "next period"); err != nil {
		t.Fatal(err)
	}
	wf := workflows.NewClient(s.temporal, workflows.OptionsFrom(s.cfg))
	if err := wf.ResumeNumber(context.Background(), workflows.MonthlyNumberFeeInput{NumberID: pn.ID, AccountID: acct.ID, E164: e164,
		Anchor: time.Now().UTC().AddDate(0, -1, -1), Period: 1, GraceDays: 14, BaseURL: s.URL}); err != nil {
		t.Fatal(err)
	}
	pn = s.waitNumber(e164, models.NumberSuspended)
	if pn.GraceEndsAt == nil || pn.SuspendedAt == nil {
		t.Fatalf("suspended without its dates: %+v", pn)
	}
	if !s.mailTo(admin.user.Email, "Your company number "+e164+" is suspended") {
		t.Fatalf("no suspension mail to the admin: %+v", s.mailbox.Messages())
	}
	code, out := seats[0].post("/api/calls", wire.NewCall{To: "+447911123456"})
	var refusal wire.ErrorBody
	_ = json.Unmarshal(out, &refusal)
	if code != http.StatusForbidden || refusal.Error.Code != "number_suspended" || !strings.Contains(refusal.Error.Message, "top-up") {
		t.Fatalf("call from a suspended seat = %d %s", code, out)
	}
	if code, twiml := s.incoming(e164, true); code != http.StatusOK || !strings.Contains(twiml, "suspended") || !strings.Contains(twiml, "<Reject") {
		t.Fatalf("inbound to a suspended number = %d %s", code, twiml)
	}
	if code, _ := s.incoming(e164, false); code != http.StatusForbidden {
		t.Fatalf("unsigned inbound = %d, want 403", code)
	}

	// The next top-up heals it: Stripe's checkout, its webhook, the TopUp
	// workflow's credit, the credit hook's signal, the fee, active.
	checkout := s.webTopUp(admin.cookie, "100")
	if code, _, _ := s.do(http.MethodPost, strings.TrimPrefix(checkout, s.URL), strings.NewReader(url.Values{"card": {providers.SandboxCardVisa}}.Encode()),
		map[string]string{"Content-Type": formType}, nil); code != http.StatusSeeOther {
		t.Fatalf("paying at the sandbox checkout = %d", code)
	}
	pn = s.waitNumber(e164, models.NumberActive)
	if pn.GraceEndsAt != nil || pn.SuspendedAt != nil {
		t.Fatalf("restored with suspension dates left: %+v", pn)
	}
	if n := s.feeEntries(admin.user.AccountID); n != 2 {
		t.Fatalf("%d fees, want the first month and this one", n)
	}
	acct, _ = s.ledger.Account(context.Background(), admin.user.AccountID)
	if acct.BalanceCents != 200+10000-300 {
		t.Fatalf("balance %d: $2 left, a $100 top-up and the $3 fee", acct.BalanceCents)
	}
	if !s.mailTo(admin.user.Email, "Your company number "+e164+" is active again") {
		t.Fatal("no restored mail")
	}
	time.Sleep(200 * time.Millisecond) // the workflow settles into its sleep
	testenv.RecordHistory(t, testenv.WorkflowHistory(t, s.temporal, workflows.NumberWorkflowID(pn.ID), ""), "number-suspended-then-healed")
	if call := seats[1].dial("+14155550102"); call.CallerID != e164 {
		t.Fatalf("after restore the caller ID is %q", call.CallerID)
	} else {
		s.waitCall(call.CallID)
	}
	if problems, err := s.ledger.Verify(context.Background()); err != nil || len(problems) != 0 {
		t.Fatalf("ledger verify: %v %v", problems, err)
	}
}

// A number Twilio will not sell after the search: the first month is
// refunded through the ledger and the page says so; a seat without a
// number cannot call, and the message tells what to do.
func TestNumbers_RefusedPurchaseRefundsAndSeatsNeedANumber(t *testing.T) {
	s := newCreditsServer(t, testenv.Postgres(t))
	admin, seats := s.company("admin@refund.test", 1000)
	code, _, body := admin.form("/company/numbers/buy", url.Values{"number": {providers.SandboxUnavailableNumber}})
	pn := s.number(providers.SandboxUnavailableNumber)
	s.endNumberAtCleanup(pn.ID)
	if code != http.StatusConflict || !strings.Contains(body, "was not bought") || !strings.Contains(body, "refunded") {
		t.Fatalf("buy of an unavailable number = %d %s", code, body)
	}
	if pn.State != models.NumberFailed {
		t.Fatalf("row %+v", pn)
	}
	acct, _ := s.ledger.Account(context.Background(), admin.user.AccountID)
	if acct.BalanceCents != 1000 {
		t.Fatalf("balance %d after a refunded failed purchase", acct.BalanceCents)
	}
	var kinds []string
	s.db.Model(&models.LedgerEntry{}).Where("account_id = ?", acct.ID).Order("id").Pluck("kind", &kinds)
	if fmt.Sprint(kinds) != "[bonus number_fee refund]" {
		t.Fatalf("entries %v", kinds)
	}
	code, out := seats[0].post("/api/calls", wire.NewCall{To: "+447911123456"})
	var refusal wire.ErrorBody
	_ = json.Unmarshal(out, &refusal)
	if code != http.StatusForbidden || refusal.Error.Code != "no_company_number" || !strings.Contains(refusal.Error.Message, "company admin") {
		t.Fatalf("call from a seat without a number = %d %s", code, out)
	}
	if code, twiml := s.incoming("+14155550999", true); code != http.StatusOK || !strings.Contains(twiml, "<Reject") || strings.Contains(twiml, "<Say") {
		t.Fatalf("inbound to a number not ours = %d %s", code, twiml)
	}
	// Bad input writes nothing and says what is wrong.
	for _, bad := range []string{"", "12", "+1 415"} {
		if code, _, body := admin.form("/company/numbers/buy", url.Values{"number": {bad}}); code != http.StatusBadRequest || !strings.Contains(body, "E.164") {
			t.Errorf("buy %q = %d", bad, code)
		}
	}
	if code, _, _ := admin.form(fmt.Sprintf("/company/seats/%d/number", seats[0].user.ID), url.Values{"number_id": {"abc"}}); code != http.StatusBadRequest {
		t.Errorf("assign abc = %d", code)
	}
	if code, _, _ := admin.form(fmt.Sprintf("/company/seats/%d/number", seats[0].user.ID), url.Values{"number_id": {fmt.Sprint(pn.ID)}}); code != http.StatusConflict {
		t.Errorf("assigning a failed number = %d, want 409", code)
	}
	// A seat is not the admin: the page is not theirs.
	if code, _, _ := s.do(http.MethodGet, "/company/numbers", nil, nil, seats[0].cookie); code != http.StatusNotFound {
		t.Errorf("a seat opening /company/numbers = %d", code)
	}
}

// Operators see every number on /admin/numbers with its company, state,
// next charge and a link to its workflow; the suspended query is printed.
// Nobody else sees the page.
func TestAdminNumbers_ListsEveryNumberWithItsWorkflow(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newAdmEnv(t, db)
		op := e.newUser(t, "op@mobayilo.test", models.AccountIndividual, true)
		ana := e.newUser(t, "ana@acme.test", models.AccountCompany, false)
		dee := e.newSeat(t, ana.AccountID, "dee@acme.test")
		assignActiveNumber(t, db, dee, "+14155550161")
		grace := time.Now().UTC().AddDate(0, 0, 14)
		pn := models.PhoneNumber{AccountID: ana.AccountID, E164: "+14155550162", State: models.NumberSuspended, MonthlyFeeCents: 300,
			BoughtBy: ana.ID, GraceEndsAt: &grace, CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}
		if err := db.Create(&pn).Error; err != nil {
			t.Fatal(err)
		}
		r := e.send(t, e.signIn(t, op), http.MethodGet, "/admin/numbers", nil, nil)
		page := html.UnescapeString(r.body)
		if r.status != http.StatusOK || !strings.Contains(page, `data-number="+14155550161" data-state="active"`) ||
			!strings.Contains(page, `data-number="+14155550162" data-state="suspended"`) ||
			!strings.Contains(page, "<code>"+workflows.NumberWorkflowID(pn.ID)+"</code>") || !strings.Contains(page, grace.Format("2 Jan 2006")) ||
			!strings.Contains(page, workflows.NumberSuspendedQuery) {
			t.Fatalf("/admin/numbers = %d %s", r.status, r.body)
		}
		if r := e.send(t, e.signIn(t, ana), http.MethodGet, "/admin/numbers", nil, nil); r.status != http.StatusNotFound {
			t.Fatalf("a company admin on /admin/numbers = %d", r.status)
		}
	})
}

// Temporal down: the buy is refused with 503 and its reservation freed (no
// fee, nothing bought), so the number can be bought once it is back.
func TestNumbers_BuyWithoutTemporalFreesTheNumber(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newAdmEnv(t, db)
		ana := e.newUser(t, "ana@acme.test", models.AccountCompany, false)
		if _, err := e.led.Post(context.Background(), ledger.Posting{AccountID: ana.AccountID, Kind: models.EntryBonus, AmountCents: 1000,
			IdempotencyKey: "seed", Actor: "test"}); err != nil {
			t.Fatal(err)
		}
		r := e.send(t, e.signIn(t, ana), http.MethodPost, "/company/numbers/buy", url.Values{"number": {"+14155550163"}}, nil)
		if r.status != http.StatusServiceUnavailable {
			t.Fatalf("buy without Temporal = %d %s", r.status, r.body)
		}
		var pn models.PhoneNumber
		if err := db.Where("e164 = ?", "+14155550163").Take(&pn).Error; err != nil || pn.State != models.NumberFailed {
			t.Fatalf("reservation %+v (%v), want failed", pn, err)
		}
		acct, _ := e.led.Account(context.Background(), ana.AccountID)
		if acct.BalanceCents != 1000 {
			t.Fatalf("balance %d", acct.BalanceCents)
		}
	})
}

// /settings tells company users which number their calls show, or why
// they cannot call.
func TestSettings_CompanyUsersSeeTheirCompanyNumber(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newAdmEnv(t, db)
		ana := e.newUser(t, "ana@acme.test", models.AccountCompany, false)
		dee := e.newSeat(t, ana.AccountID, "dee@acme.test")
		assignActiveNumber(t, db, dee, "+14155550164")
		page := html.UnescapeString(e.send(t, e.signIn(t, dee), http.MethodGet, "/settings", nil, nil).body)
		if !strings.Contains(page, "+14155550164</strong>") || !strings.Contains(page, "(your company's number)") {
			t.Fatalf("a seat's settings: %s", page)
		}
		page = html.UnescapeString(e.send(t, e.signIn(t, ana), http.MethodGet, "/settings", nil, nil).body)
		if !strings.Contains(page, "data-callerid-problem") || !strings.Contains(page, "buy one on /company/numbers") {
			t.Fatalf("the admin's settings without a number: %s", page)
		}
	})
}
