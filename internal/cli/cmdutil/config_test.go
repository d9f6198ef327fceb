package cmdutil

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestConfigDir_MobyConfigDirOverridesOSConvention(t *testing.T) {
	env := map[string]string{"MOBY_CONFIG_DIR": "/tmp/moby-test"}
	got, err := configDir(func(k string) string { return env[k] })
	if err != nil || got != "/tmp/moby-test" {
		t.Fatalf("configDir = %q, %v", got, err)
	}
}

func TestConfigDir_DefaultsToUserConfigDirMoby(t *testing.T) {
	base, err := os.UserConfigDir()
	if err != nil {
		t.Skip("no user config dir here:", err)
	}
	got, err := configDir(func(string) string { return "" })
	if err != nil || got != filepath.Join(base, "moby") {
		t.Fatalf("configDir = %q, %v; want %q", got, err, filepath.Join(base, "moby"))
	}
}

func TestLoadConfig_MissingFileIsEmpty(t *testing.T) {
	c, err := LoadConfig(t.TempDir())
	if err != nil || c.Host != "" {
		t.Fatalf("LoadConfig = %+v, %v", c, err)
	}
}

func TestConfig_SaveIsPrivateAndRoundTrips(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "moby")
	c, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	c.Host = "https://staging.mobayilo.com"
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	again, err := LoadConfig(dir)
	if err != nil || again.Host != c.Host {
		t.Fatalf("reloaded %+v, %v", again, err)
	}
	if runtime.GOOS == "windows" {
		return // no Unix permissions
	}
	assertMode(t, dir, 0o700)
	assertMode(t, filepath.Join(dir, ConfigFileName), 0o600)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestLoadConfig_CorruptFileNamesIt(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ConfigFileName), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(dir)
	if err == nil || !strings.Contains(err.Error(), ConfigFileName) {
		t.Fatalf("err = %v", err)
	}
	if ExitCodeFor(err) != ExitError {
		t.Fatal("a corrupt config file is a failure, not a usage error")
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Fatalf("%s mode = %o, want %o", path, got, want)
	}
}
