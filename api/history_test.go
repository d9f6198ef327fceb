package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

var callSeq int

// addCall stores a call as its workflow leaves it: billed when it has a
// duration (seconds >= 0 and a final status), in progress otherwise.
func (e *admEnv) addCall(t *testing.T, u models.User, to string, st models.CallStatus, created time.Time, seconds int64) models.Call {
	t.Helper()
	callSeq++
	price := int64(2)
	c := models.Call{ID: fmt.Sprintf("call_test%04d_%d", callSeq, u.ID), AccountID: u.AccountID, UserID: u.ID, Seat: u.Role == models.RoleSeat,
		Identity: fmt.Sprintf("user_%d", u.ID), ToE164: to, ToCountry: "US", CallerID: "+15005550006", PricePerMinuteCents: price,
		MaxMinutes: 10, Status: st, Rank: st.Rank(), ExpiresAt: created.Add(2 * time.Minute), CreatedAt: created.UTC(), UpdatedAt: created.UTC()}
	if st.Final() && seconds >= 0 {
		cost := rates.CallCostCents(seconds, price)
		billed := cost / price
		c.DurationSeconds, c.BilledMinutes, c.CostCents = &seconds, &billed, &cost
	}
	if err := e.db.Create(&c).Error; err != nil {
		t.Fatal(err)
	}
	return c
}

func csvRecords(t *testing.T, body string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, body)
	}
	return recs
}

// historyRows are the call ids the page lists, in its order.
func historyRows(body string) []string {
	var ids []string
	for _, part := range strings.Split(body, `data-call="`)[1:] {
		id, _, _ := strings.Cut(part, `"`)
		ids = append(ids, id)
	}
	return ids
}

func TestHistory_ListsPagesFiltersAndExportsCSV(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newAdmEnv(t, db)
		ana := e.newUser(t, "ana@example.com", models.AccountIndividual, false)
		bob := e.newUser(t, "bob@example.com", models.AccountIndividual, false)
		// Times come from the clock: yesterday's calls and today's.
		today := time.Now().UTC().Truncate(24 * time.Hour)
		yesterday := today.AddDate(0, 0, -1)
		var all []models.Call
		for i := range 27 {
			all = append(all, e.addCall(t, ana, "+14155550100", models.CallCompleted, yesterday.Add(time.Duration(i)*time.Minute), int64(i*30)))
		}
		busy := e.addCall(t, ana, "+14155550102", models.CallBusy, today.Add(time.Minute), 0)
		long := e.addCall(t, ana, "+14155550101", models.CallCompleted, today.Add(2*time.Minute), 61)
		e.addCall(t, bob, "+14155550100", models.CallCompleted, today.Add(3*time.Minute), 300) // not ana's
		all = append(all, busy, long)
		sort.Slice(all, func(i, j int) bool { return all[i].CreatedAt.After(all[j].CreatedAt) })

		browser := e.signIn(t, ana)
		r := e.send(t, browser, http.MethodGet, "/history", nil, nil)
		if r.status != 200 {
			t.Fatalf("GET /history = %d\n%s", r.status, r.body)
		}
		ids := historyRows(r.body)
		if len(ids) != 25 || ids[0] != long.ID || ids[1] != busy.ID || !strings.Contains(r.body, `data-history-total>29<`) {
			t.Fatalf("first page = %d rows %v; want 25 of 29, newest first", len(ids), ids[:min(3, len(ids))])
		}
		if strings.Contains(r.body, "data-seat") || strings.Contains(r.body, `name="seat"`) {
			t.Fatal("an individual's history shows seats")
		}
		// The 61 s call: 1:01, 2 minutes, $0.04.
		_, row, _ := strings.Cut(r.body, `data-call="`+long.ID+`"`)
		row, _, _ = strings.Cut(row, "</tr>")
		for _, want := range []string{"<td data-duration>1:01</td>", "<td data-billed>2 min</td>", "<td data-cost>$0.04</td>", "&#43;14155550101", "Completed",
			"<td data-caller-id>&#43;15005550006</td>"} {
			if !strings.Contains(row, want) {
				t.Fatalf("row of the 61 s call lacks %q: %s", want, row)
			}
		}
		r = e.send(t, browser, http.MethodGet, "/history?page=2", nil, nil)
		if ids := historyRows(r.body); len(ids) != 4 || ids[3] != all[28].ID || !strings.Contains(r.body, `rel="prev"`) || strings.Contains(r.body, `rel="next"`) {
			t.Fatalf("page 2 = %v", ids)
		}

		// Status and date range.
		r = e.send(t, browser, http.MethodGet, "/history?status=busy", nil, nil)
		if ids := historyRows(r.body); len(ids) != 1 || ids[0] != busy.ID {
			t.Fatalf("status=busy = %v", ids)
		}
		day := yesterday.Format(time.DateOnly)
		r = e.send(t, browser, http.MethodGet, "/history?since="+day+"&until="+day, nil, nil)
		if ids := historyRows(r.body); len(ids) != 25 || !strings.Contains(r.body, `data-history-total>27<`) {
			t.Fatalf("yesterday only = %d rows", len(ids))
		}
		r = e.send(t, browser, http.MethodGet, "/history?since="+today.Format(time.DateOnly), nil, nil)
		if ids := historyRows(r.body); len(ids) != 2 {
			t.Fatalf("since today = %v", ids)
		}

		// CSV: the same filter, every row, exact content.
		r = e.send(t, browser, http.MethodGet, "/history.csv?since="+today.Format(time.DateOnly), nil, nil)
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") || !strings.Contains(r.header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("CSV = %d %v", r.status, r.header)
		}
		recs := csvRecords(t, r.body)
		want := [][]string{
			{"call_id", "started_at", "to", "country", "status", "duration_seconds", "billed_minutes", "cost_cents", "cost", "caller_id"},
			{long.ID, long.CreatedAt.UTC().Format(time.RFC3339), "+14155550101", "US", "completed", "61", "2", "4", "$0.04", "+15005550006"},
			{busy.ID, busy.CreatedAt.UTC().Format(time.RFC3339), "+14155550102", "US", "busy", "0", "0", "0", "$0.00", "+15005550006"},
		}
		if fmt.Sprint(recs) != fmt.Sprint(want) {
			t.Fatalf("CSV =\n%v\nwant\n%v", recs, want)
		}
		recs = csvRecords(t, e.send(t, browser, http.MethodGet, "/history.csv", nil, nil).body)
		if len(recs) != 30 {
			t.Fatalf("full CSV has %d lines, want header + 29 (all pages, none of bob's)", len(recs))
		}
	})
}

func TestHistory_BadFiltersAreRefusedNamingTheProblem(t *testing.T) {
	e := newAdmEnv(t, testenv.SQLite(t))
	ana := e.newUser(t, "ana@example.com", models.AccountIndividual, false)
	browser := e.signIn(t, ana)
	for q, says := range map[string]string{
		"status=ringing-ish":                "status \"ringing-ish\" is not one of",
		"since=yesterday":                   "since must be a date",
		"until=2026-13-01":                  "until must be a date",
		"since=2026-02-02&until=2026-02-01": "until must be after since",
	} {
		r := e.send(t, browser, http.MethodGet, "/history?"+q, nil, nil)
		if r.status != 400 || !strings.Contains(r.body, "data-history-error") || !strings.Contains(r.body, strings.ReplaceAll(says, `"`, "&#34;")) {
			t.Errorf("/history?%s = %d; want 400 saying %q", q, r.status, says)
		}
		r = e.send(t, browser, http.MethodGet, "/history.csv?"+q, nil, nil)
		if r.status != 400 || !strings.Contains(r.body, `"error"`) {
			t.Errorf("/history.csv?%s = %d %s; want a 400 JSON error", q, r.status, r.body)
		}
	}
	if r := e.send(t, nil, http.MethodGet, "/history", nil, nil); r.status != http.StatusSeeOther && r.status != http.StatusFound {
		t.Fatalf("signed out /history = %d, want a redirect to sign in", r.status)
	}
}

func TestHistory_CompanyAdminSeesAndFiltersSeatsWhileASeatSeesItsOwn(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newAdmEnv(t, db)
		ana := e.newUser(t, "ana@acme.test", models.AccountCompany, false)
		dee := e.newSeat(t, ana.AccountID, "dee@acme.test")
		eve := e.newSeat(t, ana.AccountID, "=eve@acme.test")
		now := time.Now().UTC().Add(-time.Hour)
		dc := e.addCall(t, dee, "+14155550100", models.CallCompleted, now, 120)
		ec := e.addCall(t, eve, "+14155550106", models.CallCompleted, now.Add(time.Minute), 5)

		admin := e.signIn(t, ana)
		r := e.send(t, admin, http.MethodGet, "/history", nil, nil)
		if ids := historyRows(r.body); len(ids) != 2 || !strings.Contains(r.body, "<td data-seat>dee@acme.test</td>") || !strings.Contains(r.body, `name="seat"`) {
			t.Fatalf("admin's history = %v\n%s", ids, r.body)
		}
		r = e.send(t, admin, http.MethodGet, fmt.Sprintf("/history?seat=%d", dee.ID), nil, nil)
		if ids := historyRows(r.body); len(ids) != 1 || ids[0] != dc.ID {
			t.Fatalf("seat filter = %v", ids)
		}
		recs := csvRecords(t, e.send(t, admin, http.MethodGet, "/history.csv", nil, nil).body)
		if len(recs) != 3 || recs[0][10] != "seat" || recs[1][0] != ec.ID || recs[1][10] != "'=eve@acme.test" || recs[2][10] != "dee@acme.test" {
			t.Fatalf("admin CSV = %v", recs)
		}

		// A seat sees its own calls, no seat column, and cannot ask for another's.
		seat := e.signIn(t, dee)
		r = e.send(t, seat, http.MethodGet, fmt.Sprintf("/history?seat=%d", eve.ID), nil, nil)
		if ids := historyRows(r.body); len(ids) != 1 || ids[0] != dc.ID || strings.Contains(r.body, "data-seat") {
			t.Fatalf("seat's history = %v", ids)
		}
		recs = csvRecords(t, e.send(t, seat, http.MethodGet, fmt.Sprintf("/history.csv?seat=%d", eve.ID), nil, nil).body)
		if len(recs) != 2 || len(recs[0]) != 10 || recs[1][0] != dc.ID {
			t.Fatalf("seat's CSV = %v", recs)
		}
	})
}

// cliGet calls a CLI endpoint with a bearer token and decodes the body.
func (e *admEnv) cliGet(t *testing.T, token, path string, out any) admReply {
	t.Helper()
	r := e.send(t, nil, http.MethodGet, path, nil, map[string]string{"Authorization": "Bearer " + token})
	if out != nil && r.status == 200 {
		if err := json.Unmarshal([]byte(r.body), out); err != nil {
			t.Fatalf("%s: %v\n%s", path, err, r.body)
		}
	}
	return r
}

func TestCLIHistory_FieldsFiltersAndLimit(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newAdmEnv(t, db)
		ana := e.newUser(t, "ana@acme.test", models.AccountCompany, false)
		dee := e.newSeat(t, ana.AccountID, "dee@acme.test")
		now := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		e.addCall(t, dee, "+14155550102", models.CallBusy, now, 0)
		done := e.addCall(t, dee, "+14155550101", models.CallCompleted, now.Add(time.Minute), 61)
		live := e.addCall(t, ana, "+14155550100", models.CallInProgress, now.Add(2*time.Minute), -1)

		var body struct {
			Calls []map[string]any `json:"calls"`
			Total int64            `json:"total"`
		}
		r := e.cliGet(t, e.apiToken(t, ana), "/api/cli/history?limit=2", &body)
		if r.status != 200 || body.Total != 3 || len(body.Calls) != 2 {
			t.Fatalf("history = %d %s", r.status, r.body)
		}
		keys := []string{}
		for k := range body.Calls[1] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if fmt.Sprint(keys) != "[billed_minutes call_id cost_cents duration_seconds seat started_at status to]" {
			t.Fatalf("fields = %v", keys)
		}
		got := body.Calls[1]
		if got["call_id"] != done.ID || got["to"] != "+14155550101" || got["status"] != "completed" || got["duration_seconds"] != 61.0 ||
			got["billed_minutes"] != 2.0 || got["cost_cents"] != 4.0 || got["seat"] != "dee@acme.test" || got["started_at"] != done.CreatedAt.UTC().Format(time.RFC3339) {
			t.Fatalf("billed call = %v", got)
		}
		if l := body.Calls[0]; l["call_id"] != live.ID || l["cost_cents"] != nil || l["duration_seconds"] != nil {
			t.Fatalf("call in progress = %v", l)
		}
		r = e.cliGet(t, e.apiToken(t, ana), "/api/cli/history?status=busy&since="+url.QueryEscape(now.Format(time.RFC3339))+"&until="+url.QueryEscape(now.Add(time.Second).Format(time.RFC3339)), &body)
		if r.status != 200 || len(body.Calls) != 1 || body.Calls[0]["status"] != "busy" {
			t.Fatalf("busy in range = %s", r.body)
		}
		// A seat's history is its own.
		r = e.cliGet(t, e.apiToken(t, dee), "/api/cli/history", &body)
		if r.status != 200 || body.Total != 2 {
			t.Fatalf("seat's history = %s", r.body)
		}
		for q, code := range map[string]string{"limit=0": "invalid_limit", "limit=x": "invalid_limit", "status=nope": "invalid_status", "until=tomorrow": "invalid_until"} {
			if r := e.cliGet(t, e.apiToken(t, ana), "/api/cli/history?"+q, nil); r.status != 400 || r.code() != code {
				t.Errorf("history?%s = %d %s; want 400 %s", q, r.status, r.body, code)
			}
		}
		if r := e.send(t, nil, http.MethodGet, "/api/cli/history", nil, nil); r.status != 401 {
			t.Fatalf("without a token = %d", r.status)
		}
	})
}

func TestCLIRates_PriceAndMinutesAtTheAvailableBalance(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newAdmEnv(t, db)
		ctx := context.Background()
		ind := e.newUser(t, "ind@example.com", models.AccountIndividual, false)
		co := e.newUser(t, "ana@acme.test", models.AccountCompany, false)
		for _, u := range []models.User{ind, co} {
			if _, err := e.led.Post(ctx, ledger.Posting{AccountID: u.AccountID, Kind: models.EntryBonus, AmountCents: 1000, IdempotencyKey: fmt.Sprintf("seed-%d", u.ID), Actor: "test"}); err != nil {
				t.Fatal(err)
			}
		}
		// A hold is not available: 1000 - 400 = 600 cents to spend.
		if _, err := e.led.PlaceHold(ctx, ledger.HoldRequest{AccountID: ind.AccountID, AmountCents: 400, IdempotencyKey: "h1", Reference: "test"}); err != nil {
			t.Fatal(err)
		}
		tab, err := rates.Load(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		mobile, _ := tab.Lookup("+33612345678")
		dearestFR := int64(0)
		for _, r := range tab.ForISO("FR") {
			dearestFR = max(dearestFR, r.IndividualCents)
		}
		check := func(u models.User, q string, wantPrice, available int64) {
			t.Helper()
			var raw map[string]any
			r := e.cliGet(t, e.apiToken(t, u), "/api/cli/rates?"+q, &raw)
			if r.status != 200 || len(raw) != 2 || raw["price_per_minute_cents"] != float64(wantPrice) || raw["minutes_at_balance"] != float64(available/wantPrice) {
				t.Fatalf("rates?%s = %d %s; want price %d, %d minutes", q, r.status, r.body, wantPrice, available/wantPrice)
			}
		}
		check(ind, "q="+url.QueryEscape("+33 6 12 34 56 78"), mobile.IndividualCents, 600)
		check(ind, "q=0612345678&country=fr", mobile.IndividualCents, 600)
		check(co, "q=0612345678&country=FR", mobile.CompanyCents, 1000)
		check(ind, "q=fr", dearestFR, 600)
		for q, code := range map[string]string{"q=": "empty", "q=QQ": "no_rates", "q=0612345678": "region_required", "q=hello": "not_a_number"} {
			if r := e.cliGet(t, e.apiToken(t, ind), "/api/cli/rates?"+q, nil); r.status/100 != 4 || r.code() != code {
				t.Errorf("rates?%s = %d %s; want %s", q, r.status, r.body, code)
			}
		}
	})
}

// A company admin caps a seat on /company (a same-origin form, audited);
// the page shows the seat's spend today; authorising a call that the cap
// no longer covers is a 403 seat_cap_reached, and removing the cap lifts it.
func TestSeatCap_SetOnCompanyPageAndEnforcedByAuthorise(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newAdmEnv(t, db)
		ctx := context.Background()
		ana := e.newUser(t, "ana@acme.test", models.AccountCompany, false)
		dee := e.newSeat(t, ana.AccountID, "dee@acme.test")
		assignActiveNumber(t, db, dee, "+14155550160")
		if _, err := e.led.Post(ctx, ledger.Posting{AccountID: ana.AccountID, Kind: models.EntryTopUp, AmountCents: 10_000, IdempotencyKey: "t1", Actor: identity.UserActor(ana.ID)}); err != nil {
			t.Fatal(err)
		}
		today := time.Now().UTC().Truncate(24 * time.Hour)
		e.addCall(t, dee, "+14155550100", models.CallCompleted, today.Add(time.Second), 60*49)    // 98¢ today
		e.addCall(t, dee, "+14155550100", models.CallCompleted, today.Add(-time.Minute), 60*1000) // yesterday: not counted

		admin := e.signIn(t, ana)
		wantRedirect(t, e.send(t, admin, http.MethodPost, fmt.Sprintf("/company/seats/%d/cap", dee.ID), url.Values{"cap": {"1.00"}}, nil), "/company?done=cap-set")
		var u models.User
		if err := db.Take(&u, dee.ID).Error; err != nil || u.DailySpendCapCents == nil || *u.DailySpendCapCents != 100 {
			t.Fatalf("stored cap = %v, %v", u.DailySpendCapCents, err)
		}
		body := e.send(t, admin, http.MethodGet, "/company", nil, nil).body
		_, row, _ := strings.Cut(body, `data-seat="dee@acme.test"`)
		row, _, _ = strings.Cut(row, "</li>")
		if !strings.Contains(row, "<dd data-spent-today>$0.98</dd>") || !strings.Contains(row, "<dd data-cap>$1.00</dd>") || !strings.Contains(row, `value="1"`) {
			t.Fatalf("dee's row: %s", row)
		}

		// 2¢ more today: $1.00 spent, so not one minute (2¢ to a US number
		// at the seat price) is left under the cap.
		e.addCall(t, dee, "+14155550100", models.CallCompleted, today.Add(2*time.Second), 1)
		deeBrowser := e.signIn(t, dee)
		r := e.postJSON(t, deeBrowser, "/api/calls", `{"to":"+14155550123"}`)
		if r.status != http.StatusForbidden || r.code() != "seat_cap_reached" || !strings.Contains(r.body, "$1.00") {
			t.Fatalf("authorise over the cap = %d %s; want 403 seat_cap_reached", r.status, r.body)
		}
		var n int64
		db.Model(&models.Call{}).Where("to_e164 = ?", "+14155550123").Count(&n)
		if n != 0 {
			t.Fatal("a refused call was stored")
		}

		// Bad input changes nothing; another company's admin cannot cap dee.
		r = e.send(t, admin, http.MethodPost, fmt.Sprintf("/company/seats/%d/cap", dee.ID), url.Values{"cap": {"-5"}}, nil)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "dollar amount") {
			t.Fatalf("cap -5 = %d", r.status)
		}
		r = e.send(t, admin, http.MethodPost, fmt.Sprintf("/company/seats/%d/cap", ana.ID), url.Values{"cap": {"5"}}, nil)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "caps are for seats") {
			t.Fatalf("capping the admin = %d", r.status)
		}
		other := e.newUser(t, "zed@other.test", models.AccountCompany, false)
		if r := e.send(t, e.signIn(t, other), http.MethodPost, fmt.Sprintf("/company/seats/%d/cap", dee.ID), url.Values{"cap": {"500"}}, nil); r.status != http.StatusNotFound {
			t.Fatalf("another company's admin = %d", r.status)
		}
		r = e.send(t, admin, http.MethodPost, fmt.Sprintf("/company/seats/%d/cap", dee.ID), url.Values{"cap": {"9"}}, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
		if r.status != http.StatusForbidden {
			t.Fatalf("cross-site cap post = %d, want 403", r.status)
		}
		if err := db.Take(&u, dee.ID).Error; err != nil || *u.DailySpendCapCents != 100 {
			t.Fatalf("refused posts changed the cap: %v", u.DailySpendCapCents)
		}

		// Removing the cap lets the call past the cap check.
		wantRedirect(t, e.send(t, admin, http.MethodPost, fmt.Sprintf("/company/seats/%d/cap", dee.ID), url.Values{"cap": {""}}, nil), "/company?done=cap-removed")
		if err := db.Take(&u, dee.ID).Error; err != nil || u.DailySpendCapCents != nil {
			t.Fatalf("cap after removal = %v", u.DailySpendCapCents)
		}
		if r := e.postJSON(t, deeBrowser, "/api/calls", `{"to":"+14155550123"}`); r.code() == "seat_cap_reached" {
			t.Fatalf("uncapped seat still refused: %s", r.body)
		}
		var audits []string
		for _, a := range e.audits(t) {
			if strings.Contains(a, "seat.cap") {
				audits = append(audits, a)
			}
		}
		if len(audits) != 2 || !strings.HasPrefix(audits[0], identity.UserActor(ana.ID)+" seat.cap "+identity.UserActor(dee.ID)) {
			t.Fatalf("audits = %v", audits)
		}
	})
}

func (e *admEnv) postJSON(t *testing.T, c *http.Client, path, body string) admReply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.URL+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", e.URL)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return admReply{status: resp.StatusCode, header: resp.Header, body: b.String()}
}
