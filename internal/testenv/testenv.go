// Package testenv gives tests the real peers Mobayilo talks to: Postgres, a
// Temporal server, stripe-mock, a Prism mock of Twilio and headless Chromium.
//
// Where a peer cannot be had, tests skip with a loud message on a developer's
// machine but fail when CI=true, so a green CI run never hides a missing peer.
package testenv

import (
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// InCI reports whether the tests run under CI, where every peer is required.
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable skips t locally, or fails it in CI, because peer cannot be had.
func Unavailable(t testing.TB, peer string, err error) {
	t.Helper()
	msg := "\n\n*** " + peer + " is not available: " + err.Error() + " ***\n*** run `make test` (it installs and builds the test peers) ***\n"
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

var (
	cleanupMu sync.Mutex
	cleanups  []func()
)

// atExit registers f to run when Main returns; package-wide peers (a
// throwaway Postgres cluster, a shared Temporal server) stop there.
func atExit(f func()) {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	cleanups = append(cleanups, f)
}

// Main runs the tests and then stops every package-wide peer. Use it from
// TestMain: `func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }`.
func Main(m *testing.M) int {
	code := m.Run()
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	return code
}

// RepoRoot is the module root, found from this source file's location.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// ToolBin is where `make tools` puts the peer binaries it builds.
func ToolBin(name string) string {
	return filepath.Join(RepoRoot(), ".mobayilo", "bin", name)
}
