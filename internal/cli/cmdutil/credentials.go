package cmdutil

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/zalando/go-keyring"
)

// TokenSource says where the token in use came from, so that commands can
// say which one the server refused and what to do about it.
type TokenSource string

const (
	SourceNone    TokenSource = ""
	SourceFlag    TokenSource = "--token"
	SourceEnv     TokenSource = "MOBY_TOKEN"
	SourceKeyring TokenSource = "keyring"
	SourceFile    TokenSource = "file"
)

// Stored reports whether the token was saved by `moby auth login` (and so
// `moby auth logout` can delete it).
func (s TokenSource) Stored() bool { return s == SourceKeyring || s == SourceFile }

// CredentialsFileName is the fallback token file inside ConfigDir, used only
// when no OS keyring answers.
const CredentialsFileName = "credentials.json"

// keyringService names moby's entries in the OS keyring; each entry's user
// is the API host it is for.
const keyringService = "moby"

// keyringTimeout bounds each keyring call: a Secret Service that is
// installed but locked or wedged can block forever, and then the file is
// the better answer.
const keyringTimeout = 3 * time.Second

// CredentialStore keeps one API token per host: in the OS keyring (macOS
// Keychain, Windows Credential Manager, the Secret Service on Linux) when
// one answers, otherwise in a 0600 file in the config directory.
type CredentialStore struct {
	path       string
	useKeyring bool
}

// NewCredentialStore stores tokens in the keyring (if useKeyring and one is
// available), falling back to dir/credentials.json.
func NewCredentialStore(dir string, useKeyring bool) *CredentialStore {
	return &CredentialStore{path: filepath.Join(dir, CredentialsFileName), useKeyring: useKeyring}
}

// FilePath is the fallback file.
func (s *CredentialStore) FilePath() string { return s.path }

// Get returns the token stored for host and where it was found, or "" and
// SourceNone. Keyring trouble is not an error: the file is tried instead.
func (s *CredentialStore) Get(host string) (string, TokenSource, error) {
	if s.useKeyring {
		if tok, err := withTimeout(func() (string, error) { return keyring.Get(keyringService, host) }); err == nil && tok != "" {
			return tok, SourceKeyring, nil
		}
	}
	f, err := s.readFile()
	if err != nil {
		return "", SourceNone, err
	}
	if tok := f.Hosts[host].Token; tok != "" {
		return tok, SourceFile, nil
	}
	return "", SourceNone, nil
}

// Set stores token for host and says where: the keyring if it takes it,
// else the file. A copy in the other place is removed, so there is one.
func (s *CredentialStore) Set(host, token string) (TokenSource, error) {
	if s.useKeyring {
		if _, err := withTimeout(func() (string, error) { return "", keyring.Set(keyringService, host, token) }); err == nil {
			if err := s.updateFile(func(f *credentialsFile) { delete(f.Hosts, host) }); err != nil {
				return SourceKeyring, err
			}
			return SourceKeyring, nil
		}
	}
	err := s.updateFile(func(f *credentialsFile) { f.Hosts[host] = credentialsEntry{Token: token} })
	if err != nil {
		return SourceNone, err
	}
	return SourceFile, nil
}

// Delete forgets host's token everywhere it may be kept.
func (s *CredentialStore) Delete(host string) error {
	if s.useKeyring {
		_, _ = withTimeout(func() (string, error) { return "", keyring.Delete(keyringService, host) })
	}
	return s.updateFile(func(f *credentialsFile) { delete(f.Hosts, host) })
}

type credentialsFile struct {
	Hosts map[string]credentialsEntry `json:"hosts"`
}

type credentialsEntry struct {
	Token string `json:"token"`
}

func (s *CredentialStore) readFile() (*credentialsFile, error) {
	f := &credentialsFile{Hosts: map[string]credentialsEntry{}}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading credentials: %w", err)
	}
	if err := json.Unmarshal(b, f); err != nil {
		return nil, fmt.Errorf("reading credentials %s: %w (delete it and run `moby auth login`)", s.path, err)
	}
	if f.Hosts == nil {
		f.Hosts = map[string]credentialsEntry{}
	}
	return f, nil
}

// updateFile rewrites the file atomically with mode 0600 in a 0700
// directory; an empty result removes the file.
func (s *CredentialStore) updateFile(change func(*credentialsFile)) error {
	f, err := s.readFile()
	if err != nil {
		return err
	}
	change(f)
	if len(f.Hosts) == 0 {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("deleting credentials: %w", err)
		}
		return nil
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return writePrivate(s.path, append(b, '\n'))
}

// writePrivate writes path atomically: a 0600 temporary file in a 0700
// directory, renamed over the old one, so a crash never leaves half a file
// and the secret is never readable by others, not even for a moment.
func writePrivate(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("saving %s: %w", filepath.Base(path), err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*") // created 0600
	if err != nil {
		return fmt.Errorf("saving %s: %w", filepath.Base(path), err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("saving %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("saving %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("saving %s: %w", filepath.Base(path), err)
	}
	return nil
}

var errKeyringTimeout = errors.New("keyring did not answer in time")

// withTimeout runs a keyring call, giving up after keyringTimeout (the call
// itself cannot be cancelled; it is left to finish on its own).
func withTimeout(call func() (string, error)) (string, error) {
	type result struct {
		s   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := call()
		ch <- result{s, err}
	}()
	select {
	case r := <-ch:
		return r.s, r.err
	case <-time.After(keyringTimeout):
		return "", errKeyringTimeout
	}
}
