package logout

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

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
	f   *cmdutil.Factory
}

func (r result) code() cmdutil.ExitCode { return cmdutil.ExitCodeFor(r.err) }

func (r result) stored(t *testing.T, host string) string {
	t.Helper()
	store, _ := r.f.Credentials()
	tok, _, err := store.Get(host)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func logout(t *testing.T, host string, env authtest.Env, stored string, asJSON bool) result {
	t.Helper()
	env["MOBY_HOST"] = host
	f, tio := authtest.Factory(t, env)
	f.Flags.JSON = asJSON
	if stored != "" {
		store, _ := f.Credentials()
		if _, err := store.Set(host, stored); err != nil {
			t.Fatal(err)
		}
	}
	cmd := NewCmdLogout(f, func(o *LogoutOptions) error { return logoutRun(context.Background(), o) })
	cmd.SetArgs(nil)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	_, err := cmd.ExecuteC()
	return result{err, tio, f}
}

func TestLogout_RevokesOnTheServerThenDeletesLocally(t *testing.T) {
	srv := authtest.NewServer(t)
	srv.AddToken("moby_mine", authtest.Token{})
	r := logout(t, srv.URL, authtest.Env{}, "moby_mine", true)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if tok, _ := srv.Lookup("moby_mine"); !tok.Revoked {
		t.Fatal("the token still works on the server")
	}
	if r.stored(t, srv.URL) != "" {
		t.Fatal("the token is still stored")
	}
	var res map[string]any
	if err := json.Unmarshal(r.io.Out.Bytes(), &res); err != nil || res["revoked_on_server"] != true || res["deleted_locally"] != true {
		t.Fatalf("json %s", r.io.Out)
	}
	if !strings.Contains(r.io.ErrOut.String(), "Logged out of "+srv.URL) {
		t.Fatalf("stderr:\n%s", r.io.ErrOut)
	}
}

func TestLogout_UnreachableServerStillDeletesLocallyAndSaysSo(t *testing.T) {
	srv := authtest.NewServer(t)
	srv.Close()
	r := logout(t, srv.URL, authtest.Env{}, "moby_mine", false)
	if r.code() != cmdutil.ExitError {
		t.Fatalf("exit %d; want 1: the token still works on the server", r.code())
	}
	if r.stored(t, srv.URL) != "" {
		t.Fatal("the token was kept because the server was away")
	}
	stderr := r.io.ErrOut.String()
	for _, want := range []string{"Could not revoke the token on " + srv.URL, "deleted here", srv.URL + "/settings"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestLogout_AlreadyRevokedTokenIsStillForgotten(t *testing.T) {
	srv := authtest.NewServer(t)
	srv.AddToken("moby_old", authtest.Token{Revoked: true})
	r := logout(t, srv.URL, authtest.Env{}, "moby_old", false)
	if r.err != nil || r.stored(t, srv.URL) != "" || !strings.Contains(r.io.ErrOut.String(), "already stopped working") {
		t.Fatalf("err %v, stderr:\n%s", r.err, r.io.ErrOut)
	}
}

func TestLogout_TokenFromTheEnvironmentIsRevokedButNothingStoredIsTouched(t *testing.T) {
	srv := authtest.NewServer(t)
	srv.AddToken("moby_env", authtest.Token{})
	r := logout(t, srv.URL, authtest.Env{"MOBY_TOKEN": "moby_env"}, "moby_stored", false)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if tok, _ := srv.Lookup("moby_env"); !tok.Revoked {
		t.Fatal("the token in use was not revoked")
	}
	if r.stored(t, srv.URL) != "moby_stored" || !strings.Contains(r.io.ErrOut.String(), "came from MOBY_TOKEN") {
		t.Fatalf("stderr:\n%s", r.io.ErrOut)
	}
}

func TestLogout_NotLoggedInIsAnAuthError(t *testing.T) {
	srv := authtest.NewServer(t)
	if r := logout(t, srv.URL, authtest.Env{}, "", false); r.code() != cmdutil.ExitAuth {
		t.Fatalf("exit %d, err %v", r.code(), r.err)
	}
	if srv.Revoked != 0 {
		t.Fatal("revoked something without a token")
	}
}
