package api_test

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
	"github.com/mobayilo/mobayilo/internal/cli/root"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

// runMoby runs the real moby command tree against the test server with
// token, as `MOBY_TOKEN=… moby args…` would.
func runMoby(t *testing.T, host, token string, args ...string) (stdout, stderr string, code cmdutil.ExitCode) {
	t.Helper()
	env := map[string]string{"MOBY_HOST": host, "MOBY_TOKEN": token, "MOBY_CONFIG_DIR": t.TempDir(), "MOBY_NO_KEYRING": "1"}
	ios, _, out, errOut := iostreams.Test()
	f := cmdutil.NewFactoryWith(cmdutil.NewBuildInfo("test", "", ""), ios, func(k string) string { return env[k] })
	code = root.Run(context.Background(), f, args)
	return out.String(), errOut.String(), code
}

func jsonKeys(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

// `moby rates` and `moby history` against the real API: --json carries
// exactly the fields, the table is readable, refusals exit as the
// other commands do.
func TestMoby_RatesAndHistoryJSONFieldsAgainstTheAPI(t *testing.T) {
	e := newAdmEnv(t, testenv.SQLite(t))
	ana := e.newUser(t, "ana@acme.test", models.AccountCompany, false)
	dee := e.newSeat(t, ana.AccountID, "dee@acme.test")
	if _, err := e.led.Post(context.Background(), ledger.Posting{AccountID: ana.AccountID, Kind: models.EntryTopUp, AmountCents: 1000, IdempotencyKey: "t1", Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	placed := time.Now().UTC().Add(-time.Hour)
	c := e.addCall(t, dee, "+14155550101", models.CallCompleted, placed, 61)
	tok := e.apiToken(t, ana)

	out, errOut, code := runMoby(t, e.URL, tok, "rates", "US", "--json")
	var quote map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &quote) != nil || jsonKeys(quote) != "minutes_at_balance,price_per_minute_cents" {
		t.Fatalf("moby rates US --json = %d %q %q", code, out, errOut)
	}
	if price := int64(quote["price_per_minute_cents"].(float64)); price <= 0 || quote["minutes_at_balance"] != float64(1000/price) {
		t.Fatalf("minutes = %v, want 1000 cents / price", quote)
	}
	out, _, code = runMoby(t, e.URL, tok, "rates", "0612345678", "--country", "fr")
	if code != 0 || !strings.Contains(out, "per minute") || !strings.Contains(out, "minutes with your balance") {
		t.Fatalf("moby rates (table) = %d %q", code, out)
	}

	out, errOut, code = runMoby(t, e.URL, tok, "history", "--json", "--status", "completed", "--limit", "5")
	var calls []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &calls) != nil || len(calls) != 1 {
		t.Fatalf("moby history --json = %d %q %q", code, out, errOut)
	}
	if jsonKeys(calls[0]) != "billed_minutes,call_id,cost_cents,duration_seconds,seat,started_at,status,to" {
		t.Fatalf("history fields = %s", jsonKeys(calls[0]))
	}
	if calls[0]["call_id"] != c.ID || calls[0]["seat"] != "dee@acme.test" || calls[0]["cost_cents"] != 4.0 || calls[0]["billed_minutes"] != 2.0 {
		t.Fatalf("history = %v", calls[0])
	}
	out, _, code = runMoby(t, e.URL, tok, "history")
	if code != 0 || !strings.Contains(out, "SEAT") || !strings.Contains(out, "+14155550101") || !strings.Contains(out, "$0.04") {
		t.Fatalf("moby history (table) = %d %q", code, out)
	}

	// Errors: the server's refusal (exit 1, its message), usage (exit 2),
	// and a bad token (auth exit code, what to do).
	_, errOut, code = runMoby(t, e.URL, tok, "rates", "QQ")
	if code != cmdutil.ExitError || !strings.Contains(errOut, "no rates for QQ") {
		t.Fatalf("moby rates QQ = %d %q", code, errOut)
	}
	_, errOut, code = runMoby(t, e.URL, tok, "history", "--limit", "0")
	if code != cmdutil.ExitUsage || !strings.Contains(errOut, "--limit") {
		t.Fatalf("moby history --limit 0 = %d %q", code, errOut)
	}
	_, errOut, code = runMoby(t, e.URL, tok, "history", "--since", "last week")
	if code != cmdutil.ExitUsage || !strings.Contains(errOut, "--since") {
		t.Fatalf("moby history --since 'last week' = %d %q", code, errOut)
	}
	_, errOut, code = runMoby(t, e.URL, tok, "rates")
	if code != cmdutil.ExitUsage {
		t.Fatalf("moby rates without a destination = %d %q", code, errOut)
	}
	if err := e.auth.RevokeToken(context.Background(), ana.ID, tokenID(t, e, ana)); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = runMoby(t, e.URL, tok, "history", "--json")
	if code != cmdutil.ExitAuth || !strings.Contains(errOut, "revoked") {
		t.Fatalf("revoked token = %d %q", code, errOut)
	}
}

func tokenID(t *testing.T, e *admEnv, u models.User) int64 {
	t.Helper()
	var tk models.PersonalAccessToken
	if err := e.db.Where("user_id = ?", u.ID).Order("id DESC").Take(&tk).Error; err != nil {
		t.Fatal(err)
	}
	return tk.ID
}
