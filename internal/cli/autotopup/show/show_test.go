package show

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mobayilo/mobayilo/internal/cli/auth/authtest"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
)

const settings = `{"enabled":false,"threshold_cents":200,"threshold":"$2.00","amount_cents":2000,"amount":"$20.00","daily_max_count":3,"daily_max_cents":6000,"daily_max":"$60.00","card":null,"last_attempt":{"status":"hard_decline","amount_cents":2000,"decline_code":"generic_decline","at":"2026-11-01T12:00:00Z"}}`

func show(t *testing.T, token string, jsonOut bool) (authtest.IO, error) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/api/cli/autotopup" || r.Header.Get("Authorization") != "Bearer moby_ok" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"code":"token_revoked","message":"this token was revoked"}}`)
			return
		}
		io.WriteString(w, settings)
	}))
	t.Cleanup(srv.Close)
	f, tio := authtest.Factory(t, authtest.Env{"MOBY_HOST": srv.URL, "MOBY_TOKEN": token, "MOBY_NO_KEYRING": "1"})
	f.Flags.JSON = jsonOut
	cmd := NewCmdShow(f, func(o *ShowOptions) error { return showRun(context.Background(), o) })
	cmd.SetArgs(nil)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	_, err := cmd.ExecuteC()
	return tio, err
}

func TestShow_PrintsSettingsCardAndLastAttempt(t *testing.T) {
	tio, err := show(t, "moby_ok", false)
	if err != nil {
		t.Fatal(err)
	}
	out := tio.Out.String()
	for _, want := range []string{"Auto top-up: off", "$2.00", "$20.00", "3 top-ups, $60.00", "none saved", "hard decline, $20.00"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}

func TestShow_JSONHasIntegerCents(t *testing.T) {
	tio, err := show(t, "moby_ok", true)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(tio.Out.Bytes(), &got); err != nil || got["threshold_cents"] != float64(200) || got["amount_cents"] != float64(2000) || got["card"] != nil {
		t.Fatalf("--json gave %s (%v)", tio.Out.String(), err)
	}
}

func TestShow_RefusedOrMissingTokenIsAnAuthError(t *testing.T) {
	for _, tok := range []string{"moby_revoked", ""} {
		if _, err := show(t, tok, false); cmdutil.ExitCodeFor(err) != cmdutil.ExitAuth {
			t.Errorf("token %q: %v (exit %d), want the auth exit code", tok, err, cmdutil.ExitCodeFor(err))
		}
	}
}
