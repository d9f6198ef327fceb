package root

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/mobayilo/mobayilo/internal/cli/auth/authtest"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
)

// An in-memory keyring: no test touches the real one of the machine.
func TestMain(m *testing.M) {
	keyring.MockInit()
	os.Exit(m.Run())
}

func runWithStdin(t *testing.T, env authtest.Env, stdin string, args ...string) (cmdutil.ExitCode, authtest.IO) {
	t.Helper()
	f, tio := authtest.Factory(t, env)
	tio.In.WriteString(stdin)
	return Run(context.Background(), f, args), tio
}

func TestAuth_LoginStatusLogoutThroughTheWholeTreeAndAliases(t *testing.T) {
	srv := authtest.NewServer(t)
	srv.AddToken("moby_from_settings", authtest.Token{BalanceCents: 500})
	env := authtest.Env{"MOBY_CONFIG_DIR": t.TempDir()}

	code, io := runWithStdin(t, env, "", "status", "--host", srv.URL)
	if code != cmdutil.ExitAuth || !strings.Contains(io.ErrOut.String(), "not logged in to "+srv.URL) || io.Out.Len() != 0 {
		t.Fatalf("moby status before login: exit %d, stdout %q, stderr %q", code, io.Out, io.ErrOut)
	}
	// `moby login` is `moby auth login`; it remembers the host.
	if code, io = runWithStdin(t, env, "moby_from_settings\n", "login", "--with-token", "--host", srv.URL); code != cmdutil.ExitOK {
		t.Fatalf("moby login: exit %d, stderr %q", code, io.ErrOut)
	}
	for _, args := range [][]string{{"status"}, {"auth", "status"}} {
		code, io = runWithStdin(t, env, "", args...)
		if code != cmdutil.ExitOK || !strings.Contains(io.Out.String(), "$5.00") || !strings.Contains(io.Out.String(), srv.URL) {
			t.Fatalf("moby %v after login: exit %d, stdout %q, stderr %q", args, code, io.Out, io.ErrOut)
		}
	}
	if code, io = runWithStdin(t, env, "", "auth", "logout"); code != cmdutil.ExitOK {
		t.Fatalf("moby auth logout: exit %d, stderr %q", code, io.ErrOut)
	}
	if tok, _ := srv.Lookup("moby_from_settings"); !tok.Revoked {
		t.Fatal("logout did not revoke the token")
	}
	if code, _ = runWithStdin(t, env, "", "auth", "status", "--json"); code != cmdutil.ExitAuth {
		t.Fatalf("moby auth status after logout: exit %d", code)
	}
}

func TestAuth_HelpListsTheVerbsAndTheAliasesExist(t *testing.T) {
	code, io := runWithStdin(t, authtest.Env{}, "", "auth")
	for _, verb := range []string{"login", "status", "logout"} {
		if code != cmdutil.ExitOK || !strings.Contains(io.Out.String(), verb) {
			t.Fatalf("moby auth: exit %d, stdout %q", code, io.Out)
		}
	}
	code, io = runWithStdin(t, authtest.Env{}, "", "--help")
	if !strings.Contains(io.Out.String(), "login") || !strings.Contains(io.Out.String(), "MOBY_NO_KEYRING") {
		t.Fatalf("moby --help does not list login or MOBY_NO_KEYRING:\n%s", io.Out)
	}
	if code, _ = runWithStdin(t, authtest.Env{}, "", "auth", "login", "--with-token", "--api-token", "x"); code != cmdutil.ExitUsage {
		t.Fatalf("conflicting flags: exit %d", code)
	}
	if code, _ = runWithStdin(t, authtest.Env{}, "", "login", "extra"); code != cmdutil.ExitUsage {
		t.Fatalf("moby login extra: exit %d", code)
	}
}
