package cmdutil

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"
)

// Every test here gets an in-memory keyring, so none touches the real one
// of the machine running them.
func TestMain(m *testing.M) {
	keyring.MockInit()
	os.Exit(m.Run())
}

const host = "https://app.mobayilo.example"

func TestCredentials_KeyringWhenAvailable(t *testing.T) {
	keyring.MockInit()
	dir := t.TempDir()
	s := NewCredentialStore(dir, true)
	where, err := s.Set(host, "moby_secret")
	if err != nil || where != SourceKeyring {
		t.Fatalf("Set = %q, %v; want the keyring", where, err)
	}
	if got, _ := keyring.Get("moby", host); got != "moby_secret" {
		t.Fatalf("keyring holds %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, CredentialsFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a credentials file was written although the keyring took the token")
	}
	tok, src, err := s.Get(host)
	if tok != "moby_secret" || src != SourceKeyring || err != nil {
		t.Fatalf("Get = %q %q %v", tok, src, err)
	}
	if tok, src, _ := s.Get("https://other.example"); tok != "" || src != SourceNone {
		t.Fatalf("another host's token = %q %q", tok, src)
	}
	if err := s.Delete(host); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.Get("moby", host); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("after Delete the keyring says %v", err)
	}
}

func TestCredentials_FallBackToAPrivateFileWithoutAKeyring(t *testing.T) {
	keyring.MockInitWithError(errors.New("org.freedesktop.secrets was not provided by any .service files"))
	t.Cleanup(keyring.MockInit)
	dir := filepath.Join(t.TempDir(), "moby")
	s := NewCredentialStore(dir, true)
	where, err := s.Set(host, "moby_secret")
	if err != nil || where != SourceFile {
		t.Fatalf("Set = %q, %v; want the file", where, err)
	}
	if _, err := s.Set("https://staging.example", "moby_other"); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		assertMode(t, dir, 0o700)
		assertMode(t, s.FilePath(), 0o600)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
	tok, src, err := s.Get(host)
	if tok != "moby_secret" || src != SourceFile || err != nil {
		t.Fatalf("Get = %q %q %v", tok, src, err)
	}
	if err := s.Delete(host); err != nil {
		t.Fatal(err)
	}
	if tok, _, _ := s.Get(host); tok != "" {
		t.Fatal("Delete left the token")
	}
	if tok, _, _ := s.Get("https://staging.example"); tok != "moby_other" {
		t.Fatal("Delete removed another host's token")
	}
	if err := s.Delete("https://staging.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.FilePath()); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("an empty credentials file was left behind")
	}
}

func TestCredentials_KeyringTakesOverFromTheFile(t *testing.T) {
	keyring.MockInitWithError(errors.New("no keyring"))
	dir := t.TempDir()
	s := NewCredentialStore(dir, true)
	if where, _ := s.Set(host, "moby_old"); where != SourceFile {
		t.Fatal("want the file while the keyring is away")
	}
	keyring.MockInit()
	if where, _ := s.Set(host, "moby_new"); where != SourceKeyring {
		t.Fatal("want the keyring once it answers")
	}
	if _, err := os.Stat(s.FilePath()); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the old token stayed in the file")
	}
}

func TestCredentials_NoKeyringWhenTurnedOff(t *testing.T) {
	keyring.MockInit()
	s := NewCredentialStore(t.TempDir(), false)
	if where, _ := s.Set(host, "moby_secret"); where != SourceFile {
		t.Fatalf("stored in %q with the keyring turned off", where)
	}
	if _, err := keyring.Get("moby", host); err == nil {
		t.Fatal("the keyring was written although turned off")
	}
}

func TestCredentials_CorruptFileNamesIt(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, CredentialsFileName), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := NewCredentialStore(dir, false).Get(host)
	if err == nil || !strings.Contains(err.Error(), CredentialsFileName) {
		t.Fatalf("err = %v", err)
	}
}

func TestToken_StoredCredentialsForTheHostComeAfterFlagAndEnvironment(t *testing.T) {
	keyring.MockInit()
	env := map[string]string{"MOBY_HOST": host}
	f, _ := testFactory(t, env)
	store, err := f.Credentials()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Set(host, "moby_stored"); err != nil {
		t.Fatal(err)
	}
	if tok, src, _ := f.TokenWithSource(); tok != "moby_stored" || src != SourceKeyring {
		t.Fatalf("stored: %q %q", tok, src)
	}
	env["MOBY_TOKEN"] = "moby_env"
	if tok, src, _ := f.TokenWithSource(); tok != "moby_env" || src != SourceEnv {
		t.Fatalf("MOBY_TOKEN: %q %q", tok, src)
	}
	f.Flags.Token = "moby_flag"
	if tok, src, _ := f.TokenWithSource(); tok != "moby_flag" || src != SourceFlag {
		t.Fatalf("--token: %q %q", tok, src)
	}
	delete(env, "MOBY_TOKEN")
	f.Flags.Token = ""
	f.Flags.Host = "https://elsewhere.example"
	if tok, _, _ := f.TokenWithSource(); tok != "" {
		t.Fatalf("another host got this host's token: %q", tok)
	}
}
