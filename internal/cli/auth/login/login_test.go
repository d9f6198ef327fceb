package login

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/mobayilo/mobayilo/internal/cli/auth/authtest"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
)

// An in-memory keyring: no test touches the real one of the machine.
func TestMain(m *testing.M) {
	keyring.MockInit()
	os.Exit(m.Run())
}

type run struct {
	err     error
	io      authtest.IO
	f       *cmdutil.Factory
	opened  []string
	openedM sync.Mutex
}

func (r *run) code() cmdutil.ExitCode { return cmdutil.ExitCodeFor(r.err) }

func (r *run) browserOpened() []string {
	r.openedM.Lock()
	defer r.openedM.Unlock()
	return append([]string(nil), r.opened...)
}

// login runs `moby auth login args…` against srv, as if on a machine named
// test-laptop whose browser is recorded rather than opened.
func login(t *testing.T, srv *authtest.Server, env authtest.Env, stdin string, tweak func(*LoginOptions, authtest.IO), args ...string) *run {
	t.Helper()
	env["MOBY_HOST"] = srv.URL
	f, tio := authtest.Factory(t, env)
	tio.In.WriteString(stdin)
	r := &run{io: tio, f: f}
	cmd := NewCmdLogin(f, func(o *LoginOptions) error {
		o.Hostname = func() (string, error) { return "test-laptop", nil }
		o.GOOS = "linux"
		o.OpenBrowser = func(u string) error {
			r.openedM.Lock()
			defer r.openedM.Unlock()
			r.opened = append(r.opened, u)
			return nil
		}
		if tweak != nil {
			tweak(o, tio)
		}
		return loginRun(context.Background(), o)
	})
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	_, r.err = cmd.ExecuteC()
	return r
}

func storedToken(t *testing.T, f *cmdutil.Factory, host string) (string, cmdutil.TokenSource) {
	t.Helper()
	store, err := f.Credentials()
	if err != nil {
		t.Fatal(err)
	}
	tok, src, err := store.Get(host)
	if err != nil {
		t.Fatal(err)
	}
	return tok, src
}

func TestLogin_DeviceFlowWaitsThroughPendingAndSlowDownThenStoresTheToken(t *testing.T) {
	t.Parallel()
	srv := authtest.NewServer(t)
	srv.Polls = []string{"authorization_pending", "slow_down", "approve"}
	r := login(t, srv, authtest.Env{"DISPLAY": ":0"}, "", nil)
	if r.err != nil {
		t.Fatalf("login: %v\nstderr:\n%s", r.err, r.io.ErrOut)
	}

	if len(srv.CodeForms) != 1 {
		t.Fatalf("%d code requests", len(srv.CodeForms))
	}
	if cf := srv.CodeForms[0]; cf.Get("client_id") != "moby" || cf.Get("device_name") != "test-laptop" {
		t.Fatalf("code request %v; want client_id moby and the machine's name", cf)
	}
	if len(srv.PollTimes) != 3 {
		t.Fatalf("%d polls, want pending, slow_down, approve", len(srv.PollTimes))
	}
	for _, pf := range srv.PollForms {
		if pf.Get("grant_type") != "urn:ietf:params:oauth:grant-type:device_code" || pf.Get("client_id") != "moby" {
			t.Fatalf("poll %v", pf)
		}
	}
	// RFC 8628 §3.5: after slow_down the interval grows by 5 seconds.
	if gap := srv.PollTimes[2].Sub(srv.PollTimes[1]); gap < 5500*time.Millisecond {
		t.Fatalf("polled %s after slow_down; want at least the 1 s interval + 5 s", gap)
	}

	stderr := r.io.ErrOut.String()
	for _, want := range []string{authtest.UserCode, srv.URL + "/device", "Waiting for you to approve", "Logged in to " + srv.URL + " as ada@example.com", "OS keyring"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if r.io.Out.Len() != 0 {
		t.Errorf("stdout %q; messages belong on stderr", r.io.Out)
	}
	tok, src := storedToken(t, r.f, srv.URL)
	if _, known := srv.Lookup(tok); !known || src != cmdutil.SourceKeyring {
		t.Fatalf("stored %q in %q; want the issued token in the keyring", tok, src)
	}
	if strings.Contains(stderr, tok) {
		t.Fatal("the token was printed")
	}
	cfg, _ := r.f.Config()
	if cfg.Host != srv.URL {
		t.Fatalf("config host = %q; later commands would not find this login", cfg.Host)
	}
}

func TestLogin_DeniedInTheBrowserIsAnAuthErrorAndStoresNothing(t *testing.T) {
	t.Parallel()
	srv := authtest.NewServer(t)
	srv.Polls = []string{"authorization_pending", "access_denied"}
	r := login(t, srv, authtest.Env{}, "", nil)
	if r.code() != cmdutil.ExitAuth || !strings.Contains(r.err.Error(), "denied") {
		t.Fatalf("exit %d, err %v; want 4 saying denied", r.code(), r.err)
	}
	if tok, _ := storedToken(t, r.f, srv.URL); tok != "" {
		t.Fatal("a denied login stored a token")
	}
}

func TestLogin_ExpiredCodeSaysSoAndExitsWithAuthError(t *testing.T) {
	t.Parallel()
	t.Run("server says expired_token", func(t *testing.T) {
		t.Parallel()
		srv := authtest.NewServer(t)
		srv.Polls = []string{"expired_token"}
		r := login(t, srv, authtest.Env{}, "", nil)
		if r.code() != cmdutil.ExitAuth || !strings.Contains(r.err.Error(), "expired") || !strings.Contains(r.err.Error(), "moby auth login") {
			t.Fatalf("exit %d, err %v", r.code(), r.err)
		}
	})
	t.Run("expires_in runs out while pending", func(t *testing.T) {
		t.Parallel()
		srv := authtest.NewServer(t)
		srv.ExpiresIn, srv.Interval = 2, 1
		start := time.Now()
		r := login(t, srv, authtest.Env{}, "", nil)
		if r.code() != cmdutil.ExitAuth || !strings.Contains(r.err.Error(), "expired") {
			t.Fatalf("exit %d, err %v", r.code(), r.err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("gave up after %s; the code lived 2 s", took)
		}
	})
}

func TestLogin_WithTokenReadsStandardInputChecksItAndStoresIt(t *testing.T) {
	srv := authtest.NewServer(t)
	srv.AddToken("moby_from_settings", authtest.Token{BalanceCents: 1234})
	r := login(t, srv, authtest.Env{}, "  moby_from_settings\n", func(o *LoginOptions, _ authtest.IO) {
		o.Exporter = cmdutil.JSONExporter{}
	}, "--with-token")
	if r.err != nil {
		t.Fatalf("login: %v", r.err)
	}
	if len(srv.CodeForms) != 0 {
		t.Fatal("--with-token started a device flow")
	}
	var res map[string]any
	if err := json.Unmarshal(r.io.Out.Bytes(), &res); err != nil {
		t.Fatalf("stdout is not JSON: %q", r.io.Out)
	}
	acct, _ := res["account"].(map[string]any)
	user, _ := res["user"].(map[string]any)
	if res["host"] != srv.URL || res["stored_in"] != "keyring" || acct["balance_cents"] != float64(1234) || user["email"] != "ada@example.com" {
		t.Fatalf("json = %v", res)
	}
	if _, ok := acct["balance"]; ok {
		t.Fatal("--json carries a formatted amount; amounts are integer cents")
	}
	if strings.Contains(r.io.Out.String(), "moby_from_settings") {
		t.Fatal("--json printed the token")
	}
	if tok, _ := storedToken(t, r.f, srv.URL); tok != "moby_from_settings" {
		t.Fatalf("stored %q", tok)
	}
}

func TestLogin_TokenTheServerRefusesIsNotStored(t *testing.T) {
	srv := authtest.NewServer(t)
	srv.AddToken("moby_revoked", authtest.Token{Revoked: true})
	for _, tok := range []string{"moby_unknown", "moby_revoked"} {
		r := login(t, srv, authtest.Env{}, tok, nil, "--with-token")
		if r.code() != cmdutil.ExitAuth {
			t.Fatalf("%s: exit %d, err %v; want 4", tok, r.code(), r.err)
		}
		if stored, _ := storedToken(t, r.f, srv.URL); stored != "" {
			t.Fatalf("%s was stored", tok)
		}
	}
	if r := login(t, srv, authtest.Env{}, "\n", nil, "--with-token"); r.code() != cmdutil.ExitUsage {
		t.Fatalf("empty stdin: exit %d, err %v; want 2", r.code(), r.err)
	}
	if r := login(t, srv, authtest.Env{}, "", nil, "--with-token", "--api-token", "x"); r.code() != cmdutil.ExitUsage {
		t.Fatalf("both flags: exit %d; want 2", r.code())
	}
}

func TestLogin_APITokenFlagStillWorksWithAWarning(t *testing.T) {
	srv := authtest.NewServer(t)
	srv.AddToken("moby_legacy", authtest.Token{})
	r := login(t, srv, authtest.Env{}, "", nil, "--api-token", "moby_legacy")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !strings.Contains(r.io.ErrOut.String(), "shell history") {
		t.Fatalf("no warning about shell history:\n%s", r.io.ErrOut)
	}
	if tok, _ := storedToken(t, r.f, srv.URL); tok != "moby_legacy" {
		t.Fatalf("stored %q", tok)
	}
}

func TestLogin_OffersToOpenTheBrowserOnATerminal(t *testing.T) {
	t.Parallel()
	srv := authtest.NewServer(t)
	srv.Polls = []string{"approve"}
	r := login(t, srv, authtest.Env{"WAYLAND_DISPLAY": "wayland-0"}, "\n", func(o *LoginOptions, tio authtest.IO) {
		tio.SetStdinTTY(true)
	})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !strings.Contains(r.io.ErrOut.String(), "Press Enter to open") {
		t.Fatalf("no offer to open the browser:\n%s", r.io.ErrOut)
	}
	if got := r.browserOpened(); len(got) != 1 || got[0] != srv.URL+"/device?user_code=BCDFGHJK" {
		t.Fatalf("opened %v; want the verification_uri_complete", got)
	}
}

func TestLogin_SaysWhatToDoWhenNoBrowserCanOpen(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		env  authtest.Env
		says string
	}{
		"ssh":        {authtest.Env{"SSH_CONNECTION": "10.0.0.1 22 10.0.0.2 22", "DISPLAY": ":0"}, "SSH session"},
		"no display": {authtest.Env{}, "no graphical display"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := authtest.NewServer(t)
			srv.Polls = []string{"approve"}
			r := login(t, srv, c.env, "\n", func(o *LoginOptions, tio authtest.IO) { tio.SetStdinTTY(true) })
			if r.err != nil {
				t.Fatal(r.err)
			}
			stderr := r.io.ErrOut.String()
			if !strings.Contains(stderr, c.says) || !strings.Contains(stderr, "phone or another computer") || !strings.Contains(stderr, srv.URL+"/device") {
				t.Fatalf("stderr:\n%s", stderr)
			}
			if strings.Contains(stderr, "Press Enter") || len(r.browserOpened()) != 0 {
				t.Fatal("offered or tried to open a browser that cannot open")
			}
		})
	}
}

func TestBrowserAvailable_DetectsSSHAndMissingDisplays(t *testing.T) {
	cases := []struct {
		goos string
		env  map[string]string
		want bool
	}{
		{"linux", map[string]string{"DISPLAY": ":0"}, true},
		{"linux", map[string]string{"WAYLAND_DISPLAY": "wayland-0"}, true},
		{"linux", nil, false},
		{"freebsd", nil, false},
		{"linux", map[string]string{"DISPLAY": ":0", "SSH_TTY": "/dev/pts/1"}, false},
		{"darwin", nil, true},
		{"darwin", map[string]string{"SSH_CLIENT": "10.0.0.1 5000 22"}, false},
		{"windows", nil, true},
	}
	for _, c := range cases {
		got, why := browserAvailable(func(k string) string { return c.env[k] }, c.goos)
		if got != c.want || (!got && why == "") {
			t.Errorf("%s %v: %v %q, want %v with a reason when false", c.goos, c.env, got, why, c.want)
		}
	}
}

func TestLogin_FallsBackToAPrivateFileWithoutAKeyring(t *testing.T) {
	keyring.MockInitWithError(errors.New("The name org.freedesktop.secrets was not provided by any .service files"))
	t.Cleanup(keyring.MockInit)
	srv := authtest.NewServer(t)
	srv.AddToken("moby_headless", authtest.Token{})
	dir := filepath.Join(t.TempDir(), "moby")
	r := login(t, srv, authtest.Env{"MOBY_CONFIG_DIR": dir}, "moby_headless", nil, "--with-token")
	if r.err != nil {
		t.Fatal(r.err)
	}
	file := filepath.Join(dir, cmdutil.CredentialsFileName)
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s mode %o, want 600", file, fi.Mode().Perm())
	}
	if !strings.Contains(r.io.ErrOut.String(), "No OS keyring here") || !strings.Contains(r.io.ErrOut.String(), file) {
		t.Fatalf("stderr does not say where the token went:\n%s", r.io.ErrOut)
	}
	if tok, src := storedToken(t, r.f, srv.URL); tok != "moby_headless" || src != cmdutil.SourceFile {
		t.Fatalf("stored %q in %q", tok, src)
	}
}

func TestLogin_WarnsThatMOBY_TOKENStillWins(t *testing.T) {
	srv := authtest.NewServer(t)
	srv.AddToken("moby_new", authtest.Token{})
	r := login(t, srv, authtest.Env{"MOBY_TOKEN": "moby_other"}, "moby_new", nil, "--with-token")
	if r.err != nil || !strings.Contains(r.io.ErrOut.String(), "MOBY_TOKEN is set") {
		t.Fatalf("err %v, stderr:\n%s", r.err, r.io.ErrOut)
	}
}

func TestLogin_UnreachableServerIsAFailureNotAnAuthError(t *testing.T) {
	srv := authtest.NewServer(t)
	srv.Close()
	r := login(t, srv, authtest.Env{}, "", nil)
	if r.code() != cmdutil.ExitError {
		t.Fatalf("exit %d, err %v; want 1", r.code(), r.err)
	}
	r = login(t, srv, authtest.Env{}, "moby_x", nil, "--with-token")
	if r.code() != cmdutil.ExitError || !strings.Contains(r.err.Error(), "cannot reach") {
		t.Fatalf("exit %d, err %v; want 1 saying it cannot reach the host", r.code(), r.err)
	}
}

func TestLogin_AgainRevokesThePreviousLoginsToken(t *testing.T) {
	srv := authtest.NewServer(t)
	srv.AddToken("moby_first", authtest.Token{})
	srv.AddToken("moby_second", authtest.Token{})
	env := authtest.Env{"MOBY_CONFIG_DIR": t.TempDir()}
	if r := login(t, srv, env, "moby_first", nil, "--with-token"); r.err != nil {
		t.Fatal(r.err)
	}
	r := login(t, srv, env, "moby_second", nil, "--with-token")
	if r.err != nil {
		t.Fatal(r.err)
	}
	if first, _ := srv.Lookup("moby_first"); !first.Revoked {
		t.Fatal("the previous login's token still works")
	}
	if second, _ := srv.Lookup("moby_second"); second.Revoked {
		t.Fatal("the new token was revoked")
	}
	if !strings.Contains(r.io.ErrOut.String(), "Revoked the token of your previous login") {
		t.Fatalf("stderr:\n%s", r.io.ErrOut)
	}
	// Logging in again with the same token revokes nothing.
	if r := login(t, srv, env, "moby_second", nil, "--with-token"); r.err != nil {
		t.Fatal(r.err)
	}
	if second, _ := srv.Lookup("moby_second"); second.Revoked {
		t.Fatal("logging in with the same token revoked it")
	}
}
