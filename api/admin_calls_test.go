package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/web"
	"github.com/mobayilo/mobayilo/workflows"
)

func TestAdminCalling_IsA404ForEveryoneButOperators(t *testing.T) {
	e := newAdmEnv(t, testenv.SQLite(t))
	ana := e.newUser(t, "ana@example.test", models.AccountIndividual, false)
	boss := e.newUser(t, "boss@acme.test", models.AccountCompany, false)
	for name, c := range map[string]*http.Client{"signed out": nil, "individual": e.signIn(t, ana), "company admin": e.signIn(t, boss)} {
		for _, path := range []string{"/admin/calls", "/admin/rates", fmt.Sprintf("/admin/accounts/%d/transactions", ana.AccountID)} {
			if r := e.send(t, c, http.MethodGet, path, nil, nil); r.status != 404 {
				t.Errorf("%s: GET %s = %d; want 404", name, path, r.status)
			}
		}
		for _, path := range []string{"/admin/rates/reload", "/admin/rates/sync"} {
			if r := e.send(t, c, http.MethodPost, path, nil, nil); r.status != 404 {
				t.Errorf("%s: POST %s = %d; want 404", name, path, r.status)
			}
		}
	}
}

func TestAdminCalls_EveryCallFilterableWithItsWorkflowInTheTemporalUI(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newAdmEnv(t, db)
		op := e.newUser(t, "op@mobayilo.test", models.AccountIndividual, true)
		ana := e.newUser(t, "ana@example.com", models.AccountIndividual, false)
		boss := e.newUser(t, "boss@acme.test", models.AccountCompany, false)
		dee := e.newSeat(t, boss.AccountID, "dee@acme.test")
		placed := time.Now().UTC().Add(-time.Hour)
		a := e.addCall(t, ana, "+33612345678", models.CallCompleted, placed, 61)
		d := e.addCall(t, dee, "+14155550102", models.CallBusy, placed.Add(time.Minute), 0)
		if err := db.Model(&models.Call{}).Where("id = ?", a.ID).Update("reconcile_reason", "callback after billing says 70 s").Error; err != nil {
			t.Fatal(err)
		}

		admin := e.signIn(t, op)
		r := e.send(t, admin, http.MethodGet, "/admin/calls", nil, nil)
		if ids := historyRows(r.body); r.status != 200 || len(ids) != 2 || ids[0] != d.ID || ids[1] != a.ID {
			t.Fatalf("GET /admin/calls = %d %v", r.status, ids)
		}
		// The dev server's UI by default, the workflow ID escaped.
		link := fmt.Sprintf(`href="http://localhost:8233/namespaces/default/workflows/%s"`, url.PathEscape(workflows.CallWorkflowID(d.ID)))
		if !strings.Contains(r.body, link) || !strings.Contains(r.body, "dee@acme.test") || !strings.Contains(r.body, "reconcile") {
			t.Fatalf("no Temporal UI link %s, seat or reconcile flag in\n%s", link, r.body)
		}
		for q, want := range map[string]string{
			fmt.Sprintf("account=%d", boss.AccountID): d.ID,
			"status=completed":                        a.ID,
			"to=%2B336":                               a.ID,
			"to=336":                                  a.ID,
		} {
			r := e.send(t, admin, http.MethodGet, "/admin/calls?"+q, nil, nil)
			if ids := historyRows(r.body); len(ids) != 1 || ids[0] != want {
				t.Errorf("/admin/calls?%s = %v, want [%s]", q, ids, want)
			}
		}
		for _, q := range []string{"account=x", "to=abc", "status=nope", "since=soon"} {
			if r := e.send(t, admin, http.MethodGet, "/admin/calls?"+q, nil, nil); r.status != 400 || !strings.Contains(r.body, "data-admin-calls-error") {
				t.Errorf("/admin/calls?%s = %d, want 400 naming the problem", q, r.status)
			}
		}
	})
}

func TestAdminCalls_TemporalUIURLIsConfigurable(t *testing.T) {
	db := testenv.SQLite(t)
	s := newServer(t, db, map[string]string{"TEMPORAL_UI_URL": "https://temporal.ops.example/", "TEMPORAL_NAMESPACE": "prod"})
	pages, _ := web.New()
	full := newAdmEnvWith(t, s, db, pages)
	op := full.newUser(t, "op@mobayilo.test", models.AccountIndividual, true)
	ana := full.newUser(t, "ana@example.com", models.AccountIndividual, false)
	c := full.addCall(t, ana, "+14155550100", models.CallCompleted, time.Now().Add(-time.Minute), 5)
	r := full.send(t, full.signIn(t, op), http.MethodGet, "/admin/calls", nil, nil)
	if !strings.Contains(r.body, `href="https://temporal.ops.example/namespaces/prod/workflows/call%2F`+c.ID+`"`) {
		t.Fatalf("link not built from TEMPORAL_UI_URL:\n%s", r.body)
	}
	if _, err := config.Load(map[string]string{"MOBAYILO_SANDBOX": "true", "TEMPORAL_UI_URL": "ftp://x"}); err == nil || !strings.Contains(err.Error(), "TEMPORAL_UI_URL") {
		t.Fatalf("a non-http TEMPORAL_UI_URL was accepted: %v", err)
	}
}

func TestAdminTransactions_ShowsAnAccountsLedgerFromTheUsersPage(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newAdmEnv(t, db)
		ctx := context.Background()
		op := e.newUser(t, "op@mobayilo.test", models.AccountIndividual, true)
		ana := e.newUser(t, "ana@example.com", models.AccountIndividual, false)
		var ids []int64
		for i, cents := range []int64{500, -120, 300} {
			kind := models.EntryBonus
			if cents < 0 {
				kind = models.EntryCallCharge
			}
			res, err := e.led.Post(ctx, ledger.Posting{AccountID: ana.AccountID, Kind: kind, AmountCents: cents, IdempotencyKey: fmt.Sprintf("k%d", i),
				Actor: "user:" + fmt.Sprint(ana.ID), Description: fmt.Sprintf("entry %d", i), AllowOverdraft: cents < 0})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, res.Entry.ID)
		}
		admin := e.signIn(t, op)
		users := e.send(t, admin, http.MethodGet, "/admin?q=ana", nil, nil).body
		path := fmt.Sprintf("/admin/accounts/%d/transactions", ana.AccountID)
		if !strings.Contains(users, `href="`+path+`"`) {
			t.Fatalf("/admin does not link to %s", path)
		}
		r := e.send(t, admin, http.MethodGet, path, nil, nil)
		if r.status != 200 || !strings.Contains(r.body, "<strong class=\"admin-money\" data-balance>$6.80</strong>") {
			t.Fatalf("GET %s = %d\n%s", path, r.status, r.body)
		}
		// Newest first, each with its amount, balance after and actor.
		i0, i1, i2 := strings.Index(r.body, fmt.Sprintf(`data-entry="%d"`, ids[2])), strings.Index(r.body, fmt.Sprintf(`data-entry="%d"`, ids[1])), strings.Index(r.body, fmt.Sprintf(`data-entry="%d"`, ids[0]))
		if i0 < 0 || i1 < i0 || i2 < i1 || !strings.Contains(r.body, "-$1.20") || !strings.Contains(r.body, "entry 1") || !strings.Contains(r.body, fmt.Sprintf("user:%d", ana.ID)) {
			t.Fatalf("entries not listed newest first with details:\n%s", r.body)
		}
		if r := e.send(t, admin, http.MethodGet, "/admin/accounts/999999/transactions", nil, nil); r.status != 404 {
			t.Fatalf("unknown account = %d", r.status)
		}
	})
}

// newAdmEnvWith wires the identity services onto an existing server.
func newAdmEnvWith(t *testing.T, s *server, db *gorm.DB, pages *web.Renderer) *admEnv {
	t.Helper()
	env := newAdmEnv(t, db)
	env.server = s
	s.Config.Handler = api.New(deps(s.cfg, db, api.Deps{Pages: pages, Auth: env.auth, Identity: env.ids, Ledger: env.led}))
	return env
}

// The rates page: margins with negatives flagged first, a reload from the
// data file, and a sync from Twilio's Pricing API (Prism serving Twilio's
// spec) that records costs and keeps our prices; without credentials the
// sync is refused and nothing changes.
func TestAdminRates_MarginsReloadAndSyncFromTwilio(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newAdmEnv(t, db)
		op := e.newUser(t, "op@mobayilo.test", models.AccountIndividual, true)
		admin := e.signIn(t, op)

		// Sandbox: no Twilio credentials, so no sync.
		r := e.send(t, admin, http.MethodGet, "/admin/rates", nil, nil)
		if r.status != 200 || !strings.Contains(r.body, "data-rates-no-sync") || strings.Contains(r.body, "data-negative") {
			t.Fatalf("GET /admin/rates = %d", r.status)
		}
		if r := e.send(t, admin, http.MethodPost, "/admin/rates/sync", nil, nil); r.status != http.StatusConflict || !strings.Contains(r.body, "TWILIO_ACCOUNT_SID") {
			t.Fatalf("sync without credentials = %d", r.status)
		}

		// With credentials pointing at Prism.
		cfg, err := config.Load(map[string]string{"MOBAYILO_SANDBOX": "true", "TWILIO_ACCOUNT_SID": testenv.PrismProbeAccountSID,
			"TWILIO_AUTH_TOKEN": "authtoken0123", "TWILIO_API_BASE_URL": testenv.TwilioPricingPrism(t)})
		if err != nil {
			t.Fatal(err)
		}
		pricing, err := providers.NewTwilioPricing(cfg)
		if err != nil {
			t.Fatal(err)
		}
		pages, _ := web.New()
		e.Config.Handler = api.New(deps(e.cfg, db, api.Deps{Pages: pages, Auth: e.auth, Identity: e.ids, Ledger: e.led,
			RatesAdmin: rates.NewAdmin(db, nil, pricing)}))
		wantRedirect(t, e.send(t, admin, http.MethodPost, "/admin/rates/sync", nil, nil), "/admin/rates?done=synced&n=1")
		r = e.send(t, admin, http.MethodGet, "/admin/rates?done=synced&n=1", nil, nil)
		// Twilio's spec example: Alaska (+1907) at $0.090 under our +1 at 2¢.
		_, row, _ := strings.Cut(r.body, `data-prefix="1" data-negative`)
		row, _, _ = strings.Cut(row, "</tr>")
		if !strings.Contains(row, "<td data-cost>$0.09</td>") || !strings.Contains(row, "-$0.07") || !strings.Contains(row, "below cost") {
			t.Fatalf("US row after sync:%s\n", row)
		}
		if first := strings.Index(r.body, "data-prefix="); !strings.HasPrefix(r.body[first:], `data-prefix="1" data-negative`) {
			t.Fatal("negative margins are not listed first")
		}
		if !strings.Contains(r.body, "1 prefixes priced") {
			t.Fatal("no flash after sync")
		}
		var us models.Rate
		if err := db.Where("prefix = ?", "1").Take(&us).Error; err != nil || us.IndividualCents != 2 || us.TwilioCostMillicents == nil {
			t.Fatalf("US rate = %+v, %v", us, err)
		}

		// Reload from the data file keeps the cost of the prefixes that stay.
		if err := db.Model(&models.Rate{}).Where("prefix = ?", "1").Update("individual_cents", 50).Error; err != nil {
			t.Fatal(err)
		}
		wantRedirect(t, e.send(t, admin, http.MethodPost, "/admin/rates/reload", nil, nil), "/admin/rates?done=reloaded&n=1")
		if err := db.Where("prefix = ?", "1").Take(&us).Error; err != nil || us.IndividualCents != 2 || us.TwilioCostMillicents == nil || *us.TwilioCostMillicents != 9000 {
			t.Fatalf("US rate after reload = %+v, %v", us, err)
		}
		var actions []string
		for _, a := range e.audits(t) {
			if strings.Contains(a, " rates.") {
				actions = append(actions, a)
			}
		}
		want := []string{fmt.Sprintf("admin:%d rates.sync rates", op.ID), fmt.Sprintf("admin:%d rates.reload rates", op.ID)}
		if fmt.Sprint(actions) != fmt.Sprint(want) {
			t.Fatalf("audits = %v, want %v", actions, want)
		}
	})
}
