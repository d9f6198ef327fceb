package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mobayilo/mobayilo/internal/cli/auth/authtest"
)

// TestBinary_AuthRoundTrip runs the real moby against a stand-in API:
// status before login exits 4, login --with-token stores the token in a
// 0600 file (MOBY_NO_KEYRING keeps the developer's keyring out of it),
// status shows the account, logout revokes and deletes.
func TestBinary_AuthRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "moby")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	if out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	srv := authtest.NewServer(t)
	srv.AddToken("moby_binary_test", authtest.Token{BalanceCents: 250})
	cfgDir := filepath.Join(t.TempDir(), "moby")

	moby := func(stdin string, args ...string) (stdout, stderr string, code int) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "MOBY_CONFIG_DIR="+cfgDir, "MOBY_HOST="+srv.URL, "MOBY_TOKEN=", "MOBY_NO_KEYRING=1", "NO_COLOR=1")
		cmd.Stdin = strings.NewReader(stdin)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			code = exit.ExitCode()
		case err != nil:
			t.Fatalf("running moby %v: %v", args, err)
		}
		return o.String(), e.String(), code
	}

	if out, errOut, code := moby("", "auth", "status"); code != 4 || out != "" || !strings.Contains(errOut, "not logged in") {
		t.Fatalf("status before login: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, errOut, code := moby("moby_binary_test\n", "auth", "login", "--with-token"); code != 0 {
		t.Fatalf("login: exit %d, stderr %q", code, errOut)
	}
	file := filepath.Join(cfgDir, "credentials.json")
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file mode %o, want 600", fi.Mode().Perm())
	}
	if out, errOut, code := moby("", "status", "--json"); code != 0 || !strings.Contains(out, `"balance_cents":250`) || strings.Contains(out, "moby_binary_test") {
		t.Fatalf("status: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, errOut, code := moby("", "auth", "logout"); code != 0 {
		t.Fatalf("logout: exit %d, stderr %q", code, errOut)
	}
	if tok, _ := srv.Lookup("moby_binary_test"); !tok.Revoked {
		t.Fatal("logout did not revoke the token on the server")
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("logout left the credentials file")
	}
}
