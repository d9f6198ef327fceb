package status

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/mobayilo/mobayilo/internal/cli/auth/authtest"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
)

func TestMain(m *testing.M) {
	keyring.MockInit()
	os.Exit(m.Run())
}

type result struct {
	err error
	io  authtest.IO
}

func (r result) code() cmdutil.ExitCode { return cmdutil.ExitCodeFor(r.err) }

// status runs `moby auth status` against srv; stored, when not empty, is
// saved as if by `moby auth login`.
func status(t *testing.T, srv *authtest.Server, env authtest.Env, stored string, json bool) result {
	t.Helper()
	env["MOBY_HOST"] = srv.URL
	f, tio := authtest.Factory(t, env)
	f.Flags.JSON = json
	if stored != "" {
		store, _ := f.Credentials()
		if _, err := store.Set(srv.URL, stored); err != nil {
			t.Fatal(err)
		}
	}
	cmd := NewCmdStatus(f, func(o *StatusOptions) error {
		o.Now = func() time.Time { return time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC) }
		return statusRun(context.Background(), o)
	})
	cmd.SetArgs(nil)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	_, err := cmd.ExecuteC()
	return result{err, tio}
}

func TestStatus_ShowsUserAccountBalanceHostAndExpiry(t *testing.T) {
	srv := authtest.NewServer(t)
	exp := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	srv.AddToken("moby_ok", authtest.Token{BalanceCents: 1234, AccountName: "Acme Ltd", ExpiresAt: &exp})
	r := status(t, srv, authtest.Env{}, "moby_ok", false)
	if r.err != nil {
		t.Fatal(r.err)
	}
	out := r.io.Out.String()
	for _, want := range []string{srv.URL, "Logged in as ada@example.com", "Acme Ltd", "$12.34", "expires 30 Nov 2026 (in 29 days)", "OS keyring"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "moby_ok") {
		t.Fatal("status printed the token")
	}
}

func TestStatus_JSONHasIntegerCentsAndNoToken(t *testing.T) {
	srv := authtest.NewServer(t)
	srv.AddToken("moby_ok", authtest.Token{BalanceCents: 1234})
	r := status(t, srv, authtest.Env{"MOBY_TOKEN": "moby_ok"}, "", true)
	if r.err != nil {
		t.Fatal(r.err)
	}
	var res struct {
		Host        string         `json:"host"`
		LoggedIn    bool           `json:"logged_in"`
		TokenSource string         `json:"token_source"`
		Account     map[string]any `json:"account"`
		Token       map[string]any `json:"token"`
	}
	if err := json.Unmarshal(r.io.Out.Bytes(), &res); err != nil {
		t.Fatalf("stdout %q: %v", r.io.Out, err)
	}
	if !res.LoggedIn || res.Host != srv.URL || res.TokenSource != "MOBY_TOKEN" || res.Account["balance_cents"] != float64(1234) {
		t.Fatalf("json %s", r.io.Out)
	}
	if _, ok := res.Token["expires_at"]; !ok {
		t.Fatal("no token expiry in --json")
	}
	if strings.Contains(r.io.Out.String(), "moby_ok") {
		t.Fatal("--json printed the token")
	}
}

func TestStatus_ExitsFourSayingWhyWhenNotUsable(t *testing.T) {
	srv := authtest.NewServer(t)
	srv.AddToken("moby_expired", authtest.Token{Expired: true})
	srv.AddToken("moby_revoked", authtest.Token{Revoked: true})
	srv.AddToken("moby_disabled", authtest.Token{Disabled: true})
	cases := []struct {
		name, stored string
		env          authtest.Env
		reason, says string
	}{
		{"not logged in", "", authtest.Env{}, "not_logged_in", "not logged in to " + srv.URL},
		{"expired", "moby_expired", authtest.Env{}, "token_expired", "your token has expired; run `moby auth login`"},
		{"revoked", "moby_revoked", authtest.Env{}, "token_revoked", "was revoked"},
		{"unknown", "moby_never_issued", authtest.Env{}, "unauthenticated", "not known to"},
		{"disabled", "moby_disabled", authtest.Env{}, "account_disabled", "disabled"},
		{"expired from MOBY_TOKEN", "", authtest.Env{"MOBY_TOKEN": "moby_expired"}, "token_expired", "the token in MOBY_TOKEN has expired"},
	}
	for _, c := range cases {
		for _, asJSON := range []bool{false, true} {
			r := status(t, srv, c.env, c.stored, asJSON)
			if r.code() != cmdutil.ExitAuth || !strings.Contains(r.err.Error(), c.says) {
				t.Errorf("%s (json %v): exit %d, err %v; want 4 saying %q", c.name, asJSON, r.code(), r.err, c.says)
				continue
			}
			if !asJSON {
				if r.io.Out.Len() != 0 {
					t.Errorf("%s: stdout %q", c.name, r.io.Out)
				}
				continue
			}
			var res map[string]any
			if err := json.Unmarshal(r.io.Out.Bytes(), &res); err != nil || res["logged_in"] != false || res["reason"] != c.reason {
				t.Errorf("%s: json %s; want logged_in false, reason %s", c.name, r.io.Out, c.reason)
			}
		}
	}
}

func TestStatus_UnreachableServerExitsOne(t *testing.T) {
	srv := authtest.NewServer(t)
	srv.Close()
	r := status(t, srv, authtest.Env{}, "moby_x", false)
	if r.code() != cmdutil.ExitError || !strings.Contains(r.err.Error(), "cannot reach") {
		t.Fatalf("exit %d, err %v; want 1", r.code(), r.err)
	}
}
