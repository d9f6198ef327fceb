package set

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mobayilo/mobayilo/internal/cli/auth/authtest"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
)

// stub answers PUT /api/cli/autotopup like the API, recording bodies.
type stub struct {
	*httptest.Server
	bodies []map[string]any
	status int
	answer string
}

func newStub(t *testing.T) *stub {
	s := &stub{status: http.StatusOK, answer: `{"enabled":true,"threshold_cents":200,"threshold":"$2.00","amount_cents":2550,"amount":"$25.50","daily_max_count":2,"daily_max_cents":6000,"daily_max":"$60.00","card":{"brand":"visa","last4":"4242"},"last_attempt":null}`}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/cli/autotopup" || r.Method != http.MethodPut || r.Header.Get("Authorization") != "Bearer moby_ok" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"code":"token_revoked","message":"revoked"}}`)
			return
		}
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		s.bodies = append(s.bodies, b)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.status)
		io.WriteString(w, s.answer)
	}))
	t.Cleanup(s.Close)
	return s
}

func run(t *testing.T, s *stub, token string, jsonOut bool, args ...string) (authtest.IO, error) {
	t.Helper()
	f, tio := authtest.Factory(t, authtest.Env{"MOBY_HOST": s.URL, "MOBY_TOKEN": token, "MOBY_NO_KEYRING": "1"})
	f.Flags.JSON = jsonOut
	cmd := NewCmdSet(f, func(o *SetOptions) error { return setRun(context.Background(), o) })
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return cmdutil.FlagErrorWrap(err) })
	_, err := cmd.ExecuteC()
	return tio, err
}

func TestSet_SendsOnlyTheNamedSettingsInCents(t *testing.T) {
	s := newStub(t)
	tio, err := run(t, s, "moby_ok", false, "--enable", "--amount", "25.50", "--daily-max-count", "2")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.bodies) != 1 {
		t.Fatalf("%d requests", len(s.bodies))
	}
	b := s.bodies[0]
	if b["enabled"] != true || b["amount_cents"] != float64(2550) || b["daily_max_count"] != float64(2) || len(b) != 3 {
		t.Fatalf("body %v, want only enabled, amount_cents=2550 and daily_max_count=2", b)
	}
	if out := tio.Out.String(); !strings.Contains(out, "Auto top-up: on") || !strings.Contains(out, "$25.50") || !strings.Contains(out, "visa ending in 4242") {
		t.Fatalf("stdout:\n%s", out)
	}
}

func TestSet_JSONPrintsTheServersSettings(t *testing.T) {
	s := newStub(t)
	tio, err := run(t, s, "moby_ok", true, "--disable")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(tio.Out.Bytes(), &got); err != nil || got["amount_cents"] != float64(2550) || got["threshold"] != "$2.00" {
		t.Fatalf("--json gave %s (%v)", tio.Out.String(), err)
	}
	if s.bodies[0]["enabled"] != false {
		t.Fatalf("--disable sent %v", s.bodies[0])
	}
}

func TestSet_BadFlagsAreUsageErrorsAndSendNothing(t *testing.T) {
	s := newStub(t)
	for _, args := range [][]string{{}, {"--enable", "--disable"}, {"--amount", "lots"}, {"--threshold", "-1"}, {"--daily-max-count", "0"}} {
		_, err := run(t, s, "moby_ok", false, args...)
		if cmdutil.ExitCodeFor(err) != cmdutil.ExitUsage {
			t.Errorf("%v: exit %d (%v), want usage", args, cmdutil.ExitCodeFor(err), err)
		}
	}
	if len(s.bodies) != 0 {
		t.Fatalf("bad flags still sent %d requests", len(s.bodies))
	}
}

func TestSet_ServerRefusalsKeepTheirMeaning(t *testing.T) {
	s := newStub(t)
	s.status, s.answer = http.StatusConflict, `{"error":{"code":"no_card","message":"auto top-up needs a saved card"}}`
	_, err := run(t, s, "moby_ok", false, "--enable")
	if err == nil || cmdutil.ExitCodeFor(err) != cmdutil.ExitError || !strings.Contains(err.Error(), "saved card") {
		t.Fatalf("no card: %v (exit %d), want a failure naming the card", err, cmdutil.ExitCodeFor(err))
	}
	_, err = run(t, s, "moby_revoked", false, "--enable")
	if cmdutil.ExitCodeFor(err) != cmdutil.ExitAuth {
		t.Fatalf("a refused token: %v (exit %d), want the auth exit code", err, cmdutil.ExitCodeFor(err))
	}
	_, err = run(t, s, "", false, "--enable")
	if cmdutil.ExitCodeFor(err) != cmdutil.ExitAuth {
		t.Fatalf("no token: %v, want the auth exit code", err)
	}
}
