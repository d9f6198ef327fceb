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
)

// TestBinary builds the real moby once, with release-style -ldflags, and
// checks what a user or a script sees: output streams and exit statuses.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "moby")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	ldflags := "-X main.version=v9.9.9-test -X main.commit=0123abc -X main.date=2026-02-19T00:00:00Z"
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	build := exec.Command(goBin, "build", "-o", bin, "-ldflags", ldflags, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	moby := func(args ...string) (stdout, stderr string, code int) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "MOBY_CONFIG_DIR="+t.TempDir(), "MOBY_HOST=", "NO_COLOR=1")
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

	t.Run("help exits 0 and lists version", func(t *testing.T) {
		out, errOut, code := moby("--help")
		if code != 0 || !strings.Contains(out, "Mobayilo") || !strings.Contains(out, "version") {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
	})
	t.Run("version comes from ldflags", func(t *testing.T) {
		out, errOut, code := moby("version")
		if want := "moby v9.9.9-test (0123abc, 2026-02-19T00:00:00Z)\n"; code != 0 || out != want {
			t.Fatalf("exit %d, stdout %q (want %q), stderr %q", code, out, want, errOut)
		}
	})
	t.Run("unknown command exits 2 on stderr", func(t *testing.T) {
		out, errOut, code := moby("bogus")
		if code != 2 || out != "" || !strings.Contains(errOut, "unknown command") {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})
}
