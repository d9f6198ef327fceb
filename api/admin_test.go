package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/callerid"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

func TestAdmin_IsA404ForEveryoneButOperators(t *testing.T) {
	e := newAdmEnv(t, testenv.SQLite(t))
	ana := e.newUser(t, "ana@example.test", models.AccountIndividual, false)
	boss := e.newUser(t, "boss@acme.test", models.AccountCompany, false)
	clients := map[string]*http.Client{"signed out": nil, "individual": e.signIn(t, ana), "company admin": e.signIn(t, boss)}
	for name, c := range clients {
		for _, path := range []string{"/admin", "/admin/subscribers", "/admin/audit"} {
			if r := e.send(t, c, "GET", path, nil, nil); r.status != 404 || !strings.Contains(r.body, "status-code") {
				t.Errorf("%s: GET %s = %d; want the 404 page", name, path, r.status)
			}
		}
		for _, path := range []string{fmt.Sprintf("/admin/users/%d/disable", boss.ID), fmt.Sprintf("/admin/accounts/%d/disable", boss.AccountID), "/admin/subscribers/1/invite",
			fmt.Sprintf("/admin/accounts/%d/caller-id/remove", boss.AccountID)} {
			if r := e.send(t, c, "POST", path, nil, nil); r.status != 404 {
				t.Errorf("%s: POST %s = %d; want 404", name, path, r.status)
			}
		}
	}
	if e.status(t, boss.ID) != models.StatusActive || len(e.audits(t)) != 0 {
		t.Fatal("a non-operator changed something")
	}
}

func TestAdminUsers_ListsBalancesSearchesByEmailAndPages(t *testing.T) {
	e := newAdmEnv(t, testenv.SQLite(t))
	op := e.newUser(t, "op@mobayilo.test", models.AccountIndividual, true)
	for i := range identity.PageSize + 3 {
		e.newUser(t, fmt.Sprintf("user%02d@example.test", i), models.AccountIndividual, false)
	}
	rich := e.newUser(t, "rich@acme.test", models.AccountCompany, false)
	if _, err := e.led.Post(context.Background(), ledger.Posting{AccountID: rich.AccountID, Kind: models.EntryTopUp, AmountCents: 123456, IdempotencyKey: "t", Actor: "system"}); err != nil {
		t.Fatal(err)
	}
	c := e.signIn(t, op)

	p1 := e.send(t, c, "GET", "/admin", nil, nil)
	if p1.status != 200 || strings.Count(p1.body, `data-user="`) != identity.PageSize || !strings.Contains(p1.body, `rel="next"`) || strings.Contains(p1.body, `rel="prev"`) {
		t.Fatalf("page 1 = %d with %d rows", p1.status, strings.Count(p1.body, `data-user="`))
	}
	if !strings.Contains(p1.body, "$1234.56") || !strings.Contains(p1.body, "company · rich@acme.test") {
		t.Fatal("page 1 does not show the newest user's account and balance")
	}
	p2 := e.send(t, c, "GET", "/admin?page=2", nil, nil)
	if n := strings.Count(p2.body, `data-user="`); n != 5 || !strings.Contains(p2.body, `rel="prev"`) || strings.Contains(p2.body, `rel="next"`) {
		t.Fatalf("page 2 has %d rows", n)
	}
	s := e.send(t, c, "GET", "/admin?q=USER07", nil, nil)
	if n := strings.Count(s.body, `data-user="`); n != 1 || !strings.Contains(s.body, `data-user="user07@example.test"`) {
		t.Fatalf("search found %d rows", n)
	}
	if r := e.send(t, c, "GET", "/admin?q=%25&page=abc", nil, nil); r.status != 200 || strings.Count(r.body, `data-user="`) != 0 {
		t.Fatalf("a %% search must match only a literal %%: %d", strings.Count(r.body, `data-user="`))
	}
}

// Each user's row shows the caller ID their account's calls use: the
// verified one (not one under way or removed), or none; the helpdesk can
// remove it there.
func TestAdminUsers_ShowEachUsersVerifiedCallerID(t *testing.T) {
	e := newAdmEnv(t, testenv.SQLite(t))
	op := e.newUser(t, "op@mobayilo.test", models.AccountIndividual, true)
	ana := e.newUser(t, "ana@example.test", models.AccountIndividual, false)
	bob := e.newUser(t, "bob@example.test", models.AccountIndividual, false)
	cids := callerid.New(e.db, e.led)
	at := time.Now().UTC()
	for _, p := range []callerid.Progress{
		{AccountID: ana.AccountID, UserID: ana.ID, E164: "+447400123462", State: callerid.StateVerified, VerifiedAt: &at},
		{AccountID: bob.AccountID, UserID: bob.ID, E164: "+447400123463", State: callerid.StateAwaitingCode},
	} {
		if err := cids.Record(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	opc := e.signIn(t, op)
	page := e.send(t, opc, "GET", "/admin", nil, nil)
	row := func(email string) string {
		i := strings.Index(page.body, `data-user="`+email+`"`)
		if i < 0 {
			t.Fatalf("no row for %s", email)
		}
		rest := page.body[i:]
		if j := strings.Index(rest, "</li>"); j > 0 {
			rest = rest[:j]
		}
		return rest
	}
	if r := row("ana@example.test"); !strings.Contains(r, "447400123462 <span class=\"hint\">verified") {
		t.Errorf("ana's row does not show her verified caller ID:\n%s", r)
	}
	if r := row("bob@example.test"); strings.Contains(r, "447400123463") || !strings.Contains(r, "none (default)") || strings.Contains(r, "data-remove-caller-id") {
		t.Errorf("bob's row shows a caller ID still being verified:\n%s", r)
	}

	// The helpdesk removes ana's: audited as the operator, and her calls
	// use the default again.
	if r := e.send(t, opc, "POST", fmt.Sprintf("/admin/accounts/%d/caller-id/remove", ana.AccountID), url.Values{}, nil); r.status >= 400 {
		t.Fatalf("remove = %d", r.status)
	}
	page = e.send(t, opc, "GET", "/admin", nil, nil)
	if r := row("ana@example.test"); !strings.Contains(r, "none (default)") {
		t.Errorf("after the removal ana's row is:\n%s", r)
	}
	if v, _ := cids.Verified(context.Background(), ana.AccountID); v != "" {
		t.Errorf("ana still calls with %q", v)
	}
	var a models.AuditLog
	if err := e.db.Where("action = ?", "caller_id.remove").Take(&a).Error; err != nil || a.Actor != fmt.Sprintf("admin:%d", op.ID) {
		t.Errorf("audit %+v, %v; want the operator's removal", a, err)
	}
	if r := e.send(t, opc, "POST", fmt.Sprintf("/admin/accounts/%d/caller-id/remove", ana.AccountID), url.Values{}, nil); r.status != http.StatusNotFound {
		t.Errorf("removing again = %d, want 404", r.status)
	}
}

func TestAdminUsers_DisableAndEnableAreAuditedAndNeverOneself(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newAdmEnv(t, db)
		op := e.newUser(t, "op@mobayilo.test", models.AccountIndividual, true)
		ana := e.newUser(t, "ana@example.test", models.AccountIndividual, false)
		c := e.signIn(t, op)
		anaWeb := e.signIn(t, ana)

		form := url.Values{"q": {"ana"}, "page": {"1"}}
		wantRedirect(t, e.send(t, c, "POST", fmt.Sprintf("/admin/users/%d/disable", ana.ID), form, nil), "/admin?done=user-disabled&q=ana")
		if e.status(t, ana.ID) != models.StatusDisabled {
			t.Fatal("not disabled")
		}
		wantRedirect(t, e.send(t, anaWeb, "GET", "/dial", nil, nil), "/signin?next=%2Fdial")
		page := e.send(t, c, "GET", "/admin?done=user-disabled&q=ana", nil, nil)
		if !strings.Contains(page.body, "User disabled") || !strings.Contains(page.body, fmt.Sprintf(`/admin/users/%d/enable`, ana.ID)) {
			t.Fatalf("page after disable:\n%s", page.body)
		}
		wantRedirect(t, e.send(t, c, "POST", fmt.Sprintf("/admin/users/%d/enable", ana.ID), nil, nil), "/admin?done=user-enabled")

		r := e.send(t, c, "POST", fmt.Sprintf("/admin/users/%d/disable", op.ID), nil, nil)
		if r.status != 409 || !strings.Contains(r.body, "You cannot disable your own user") || e.status(t, op.ID) != models.StatusActive {
			t.Fatalf("operator disabling themselves = %d", r.status)
		}
		r = e.send(t, c, "POST", fmt.Sprintf("/admin/accounts/%d/disable", op.AccountID), nil, nil)
		if r.status != 409 || !strings.Contains(r.body, "the account you sign in with") {
			t.Fatalf("operator disabling their own account = %d", r.status)
		}
		if r := e.send(t, c, "POST", "/admin/users/424242/disable", nil, nil); r.status != 404 {
			t.Fatalf("unknown user = %d", r.status)
		}
		want := []string{
			fmt.Sprintf("admin:%d user.disable user:%d", op.ID, ana.ID),
			fmt.Sprintf("admin:%d user.enable user:%d", op.ID, ana.ID),
		}
		if got := e.audits(t); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("audit = %q, want %q", got, want)
		}
		audit := e.send(t, c, "GET", "/admin/audit", nil, nil)
		if audit.status != 200 || !strings.Contains(audit.body, "user.disable") || !strings.Contains(audit.body, "sessions_ended=1") {
			t.Fatalf("audit page = %d:\n%s", audit.status, audit.body)
		}
	})
}

func TestAdminAccounts_DisableAndEnableAreAudited(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newAdmEnv(t, db)
		op := e.newUser(t, "op@mobayilo.test", models.AccountIndividual, true)
		boss := e.newUser(t, "boss@acme.test", models.AccountCompany, false)
		c := e.signIn(t, op)
		wantRedirect(t, e.send(t, c, "POST", fmt.Sprintf("/admin/accounts/%d/disable", boss.AccountID), nil, nil), "/admin?done=account-disabled")
		var a models.Account
		db.Take(&a, boss.AccountID)
		if a.Status != models.StatusDisabled {
			t.Fatal("account not disabled")
		}
		page := e.send(t, c, "GET", "/admin?q=boss", nil, nil)
		if !strings.Contains(page.body, fmt.Sprintf(`/admin/accounts/%d/enable`, boss.AccountID)) {
			t.Fatal("the list does not offer to enable the disabled account")
		}
		wantRedirect(t, e.send(t, c, "POST", fmt.Sprintf("/admin/accounts/%d/enable", boss.AccountID), nil, nil), "/admin?done=account-enabled")
		want := []string{
			fmt.Sprintf("admin:%d account.disable account:%d", op.ID, boss.AccountID),
			fmt.Sprintf("admin:%d account.enable account:%d", op.ID, boss.AccountID),
		}
		if got := e.audits(t); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("audit = %q, want %q", got, want)
		}
	})
}

func TestAdminSubscribers_InviteMovesWaitingToInvited(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newAdmEnv(t, db)
		op := e.newUser(t, "op@mobayilo.test", models.AccountIndividual, true)
		sub := models.Subscriber{Email: "fan@example.test", Status: models.SubscriberWaiting, CreatedAt: time.Now().UTC()}
		if err := db.Create(&sub).Error; err != nil {
			t.Fatal(err)
		}
		c := e.signIn(t, op)
		list := e.send(t, c, "GET", "/admin/subscribers", nil, nil)
		if list.status != 200 || !strings.Contains(list.body, fmt.Sprintf(`action="/admin/subscribers/%d/invite"`, sub.ID)) || !strings.Contains(list.body, "1 waiting") {
			t.Fatalf("subscribers page = %d:\n%s", list.status, list.body)
		}
		path := fmt.Sprintf("/admin/subscribers/%d/invite", sub.ID)
		wantRedirect(t, e.send(t, c, "POST", path, nil, nil), "/admin/subscribers?done=subscriber-invited")
		var got models.Subscriber
		db.Take(&got, sub.ID)
		if got.Status != models.SubscriberInvited || got.InvitedAt == nil {
			t.Fatalf("subscriber = %+v", got)
		}
		wantRedirect(t, e.send(t, c, "POST", path, nil, nil), "/admin/subscribers?done=subscriber-already")
		if r := e.send(t, c, "POST", "/admin/subscribers/999/invite", nil, nil); r.status != 404 {
			t.Fatalf("unknown subscriber = %d", r.status)
		}
		if list := e.send(t, c, "GET", "/admin/subscribers", nil, nil); !strings.Contains(list.body, "0 waiting") || !strings.Contains(list.body, "invited ") {
			t.Fatalf("list after invite:\n%s", list.body)
		}
		if got := e.audits(t); len(got) != 1 || got[0] != fmt.Sprintf("admin:%d subscriber.invite subscriber:%d", op.ID, sub.ID) {
			t.Fatalf("audit = %q", got)
		}
	})
}

func TestAdmin_CrossSiteFormPostIsRefusedAndWritesNothing(t *testing.T) {
	e := newAdmEnv(t, testenv.SQLite(t))
	op := e.newUser(t, "op@mobayilo.test", models.AccountIndividual, true)
	ana := e.newUser(t, "ana@example.test", models.AccountIndividual, false)
	c := e.signIn(t, op)
	evil := map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
	r := e.send(t, c, "POST", fmt.Sprintf("/admin/users/%d/disable", ana.ID), nil, evil)
	if r.status != 403 || r.code() != "csrf" {
		t.Fatalf("cross-site POST = %d %s", r.status, r.body)
	}
	if e.status(t, ana.ID) != models.StatusActive || len(e.audits(t)) != 0 {
		t.Fatal("a cross-site post changed something")
	}
}

// TestStatus_DisabledUserSeatAndAccountAreRefusedOnEveryPath proves the
// status switch on every path that exists: the web session, a bearer token
// on the CLI API, and the ledger. Re-enabling restores access.
func TestStatus_DisabledUserSeatAndAccountAreRefusedOnEveryPath(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		e := newAdmEnv(t, db)
		ctx := context.Background()
		op := e.newUser(t, "op@mobayilo.test", models.AccountIndividual, true)
		boss := e.newUser(t, "boss@acme.test", models.AccountCompany, false)
		if _, err := e.led.Post(ctx, ledger.Posting{AccountID: boss.AccountID, Kind: models.EntryTopUp, AmountCents: 1000, IdempotencyKey: "seed", Actor: "system"}); err != nil {
			t.Fatal(err)
		}
		opWeb, bossWeb := e.signIn(t, op), e.signIn(t, boss)
		n := 0
		charge := func(u models.User) error {
			n++
			_, err := e.led.Post(ctx, ledger.Posting{AccountID: u.AccountID, Kind: models.EntryCallCharge, AmountCents: -1,
				IdempotencyKey: fmt.Sprintf("call-%d", n), Actor: identity.UserActor(u.ID)})
			return err
		}
		signedIn := func(t *testing.T, c *http.Client) bool {
			t.Helper()
			// Signed in, /dial sends people on to the dialer at "/";
			// signed out, to sign in.
			r := e.send(t, c, "GET", "/dial", nil, nil)
			if r.status == 303 && r.header.Get("Location") != "/signin?next=%2Fdial" {
				t.Fatalf("refused with a redirect to %q", r.header.Get("Location"))
			}
			return r.status == http.StatusFound && r.header.Get("Location") == "/"
		}

		t.Run("user", func(t *testing.T) {
			ana := e.newUser(t, "ana@example.test", models.AccountIndividual, false)
			web, tok := e.signIn(t, ana), e.apiToken(t, ana)
			wantRedirect(t, e.send(t, opWeb, "POST", fmt.Sprintf("/admin/users/%d/disable", ana.ID), nil, nil), "/admin?done=user-disabled")
			if signedIn(t, web) {
				t.Fatal("web session survived")
			}
			if me := e.me(t, tok); me.status != 403 || me.code() != "account_disabled" {
				t.Fatalf("token after disable: %d %s", me.status, me.body)
			}
			wantRedirect(t, e.send(t, opWeb, "POST", fmt.Sprintf("/admin/users/%d/enable", ana.ID), nil, nil), "/admin?done=user-enabled")
			if !signedIn(t, e.signIn(t, ana)) || e.me(t, e.apiToken(t, ana)).status != 200 {
				t.Fatal("re-enabled user cannot sign in or use a new token")
			}
		})

		t.Run("seat", func(t *testing.T) {
			dee := e.newSeat(t, boss.AccountID, "dee@acme.test")
			web, tok := e.signIn(t, dee), e.apiToken(t, dee)
			wantRedirect(t, e.send(t, bossWeb, "POST", fmt.Sprintf("/company/seats/%d/disable", dee.ID), nil, nil), "/company?done=seat-disabled")
			if signedIn(t, web) {
				t.Fatal("web session survived")
			}
			if me := e.me(t, tok); me.status != 403 || me.code() != "account_disabled" {
				t.Fatalf("token after disable: %d %s", me.status, me.body)
			}
			if signedIn(t, bossWeb) != true {
				t.Fatal("disabling a seat signed the company admin out")
			}
			wantRedirect(t, e.send(t, bossWeb, "POST", fmt.Sprintf("/company/seats/%d/enable", dee.ID), nil, nil), "/company?done=seat-enabled")
			if !signedIn(t, e.signIn(t, dee)) || e.me(t, e.apiToken(t, dee)).status != 200 {
				t.Fatal("re-enabled seat cannot sign in or use a new token")
			}
		})

		t.Run("user disabled without revoking", func(t *testing.T) {
			// Whatever slips past revocation (a token made while the disable
			// was committing, a status set by hand) still meets the status
			// check on every request: 403, not a pass.
			cy := e.newUser(t, "cy@example.test", models.AccountIndividual, false)
			web, tok := e.signIn(t, cy), e.apiToken(t, cy)
			db.Model(&models.User{}).Where("id = ?", cy.ID).Update("status", models.StatusDisabled)
			if signedIn(t, web) {
				t.Fatal("web session of a disabled user accepted")
			}
			if me := e.me(t, tok); me.status != 403 || me.code() != "account_disabled" {
				t.Fatalf("token of a disabled user: %d %s", me.status, me.body)
			}
		})

		t.Run("account", func(t *testing.T) {
			dee, err := e.ids.UserByEmail(ctx, "dee@acme.test")
			if err != nil {
				t.Fatal(err)
			}
			bossTok, deeWeb, deeTok := e.apiToken(t, boss), e.signIn(t, dee), e.apiToken(t, dee)
			wantRedirect(t, e.send(t, opWeb, "POST", fmt.Sprintf("/admin/accounts/%d/disable", boss.AccountID), nil, nil), "/admin?done=account-disabled")
			if signedIn(t, deeWeb) {
				t.Fatal("seat's web session on a disabled account survived")
			}
			for who, tok := range map[string]string{"owner": bossTok, "seat": deeTok} {
				if me := e.me(t, tok); me.status != 403 || me.code() != "account_disabled" {
					t.Fatalf("%s's token on a disabled account: %d %s", who, me.status, me.body)
				}
			}
			if err := charge(dee); !errors.Is(err, ledger.ErrAccountDisabled) {
				t.Fatalf("call charge on a disabled account: %v", err)
			}
			if _, err := e.led.Post(ctx, ledger.Posting{AccountID: boss.AccountID, Kind: models.EntryTopUp, AmountCents: 500, IdempotencyKey: "topup-while-disabled", Actor: identity.UserActor(boss.ID)}); !errors.Is(err, ledger.ErrAccountDisabled) {
				t.Fatalf("top-up on a disabled account: %v", err)
			}
			if _, err := e.auth.CreateSession(ctx, boss.ID, "", ""); err == nil {
				t.Fatal("signed in to a disabled account")
			}

			wantRedirect(t, e.send(t, opWeb, "POST", fmt.Sprintf("/admin/accounts/%d/enable", boss.AccountID), nil, nil), "/admin?done=account-enabled")
			for who, tok := range map[string]string{"owner": bossTok, "seat": deeTok} {
				if me := e.me(t, tok); me.status != 200 {
					t.Fatalf("%s's token after re-enabling: %d %s", who, me.status, me.body)
				}
			}
			if !signedIn(t, e.signIn(t, dee)) {
				t.Fatal("seat cannot sign in after re-enabling")
			}
			if err := charge(dee); err != nil {
				t.Fatalf("call charge after re-enabling: %v", err)
			}
		})
	})
}

// TestBrowser_OperatorDisablesUserWhoIsSignedOutOnTheirNextRequest drives
// two separate browser profiles: an operator disables a user from /admin,
// and the user's next page load finds them signed out.
func TestBrowser_OperatorDisablesUserWhoIsSignedOutOnTheirNextRequest(t *testing.T) {
	e := newAdmEnv(t, testenv.SQLite(t))
	op := e.newUser(t, "op@mobayilo.test", models.AccountIndividual, true)
	ana := e.newUser(t, "ana@example.test", models.AccountIndividual, false)
	session := func(u models.User) string {
		s, err := e.auth.CreateSession(context.Background(), u.ID, "127.0.0.1", "chromium")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	setSession := func(secret string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: api.SessionCookie, Value: secret, URL: e.URL + "/", HTTPOnly: ptrTo(true)})
			return err
		})
	}

	opCtx := testenv.Browser(t)
	userCtx, cancel := chromedp.NewContext(opCtx, chromedp.WithNewBrowserContext())
	defer cancel()

	if err := chromedp.Do(userCtx, setSession(session(ana)), chromedp.Navigate(e.URL+"/dial")); err != nil {
		t.Fatal(err)
	}
	if loc, err := chromedp.Run(userCtx, chromedp.Location()); err != nil || loc != e.URL+"/" {
		t.Fatalf("user before: at %q (%v); want the dialer", loc, err)
	}

	disable := chromedp.CSS(`[data-user="ana@example.test"] [data-disable-user]`)
	if err := chromedp.Do(opCtx,
		setSession(session(op)),
		chromedp.Navigate(e.URL+"/admin?q=ana"),
		chromedp.WaitVisible(disable),
		chromedp.Click(disable),
		chromedp.WaitVisible(chromedp.CSS(`[data-user="ana@example.test"] [data-enable-user]`)),
	); err != nil {
		t.Fatal(err)
	}
	flash, err := chromedp.Run(opCtx, chromedp.Text(chromedp.CSS(".flash")))
	if err != nil || !strings.Contains(flash, "User disabled") {
		t.Fatalf("operator sees %q (%v)", flash, err)
	}

	if err := chromedp.Do(userCtx, chromedp.Navigate(e.URL+"/dial")); err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(userCtx, chromedp.Location())
	if err != nil || !strings.HasPrefix(loc, e.URL+"/signin?next=%2Fdial") {
		t.Fatalf("user after: at %q (%v); want the sign-in page", loc, err)
	}
	cookies, err := chromedp.Call(userCtx, network.GetCookies, network.GetCookiesParams{URLs: []string{e.URL + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies.Cookies {
		if c.Name == api.SessionCookie {
			t.Fatal("the disabled user's browser still holds a session cookie")
		}
	}
	// The operator's own session, in the other profile, is untouched.
	if err := chromedp.Do(opCtx, chromedp.Navigate(e.URL+"/admin/audit"), chromedp.WaitVisible(chromedp.CSS("[data-audit]"))); err != nil {
		t.Fatal(err)
	}
}

func ptrTo[T any](v T) *T { return &v }
