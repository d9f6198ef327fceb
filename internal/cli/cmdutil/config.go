package cmdutil

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ConfigFileName is the settings file inside ConfigDir.
const ConfigFileName = "config.json"

// ConfigDir is where moby keeps its settings: $MOBY_CONFIG_DIR if set,
// otherwise the OS convention (os.UserConfigDir()/moby: ~/.config/moby on
// Linux, ~/Library/Application Support/moby on macOS, %AppData%\moby on
// Windows).
func ConfigDir() (string, error) { return configDir(os.Getenv) }

func configDir(getenv func(string) string) (string, error) {
	if d := getenv("MOBY_CONFIG_DIR"); d != "" {
		return d, nil
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("locating the config directory (set MOBY_CONFIG_DIR): %w", err)
	}
	return filepath.Join(base, "moby"), nil
}

// Config is what moby remembers between runs. Credentials are not kept
// here: they belong in the OS keyring.
type Config struct {
	// Host is the API base URL chosen at login, used when neither --host nor
	// MOBY_HOST is given.
	Host string `json:"host,omitempty"`

	path string
}

// LoadConfig reads dir/config.json. A missing file is an empty Config.
func LoadConfig(dir string) (*Config, error) {
	c := &Config{path: filepath.Join(dir, ConfigFileName)}
	b, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("reading config %s: %w", c.path, err)
	}
	return c, nil
}

// Path is the file the Config is read from and saved to.
func (c *Config) Path() string { return c.path }

// Save writes the Config atomically, creating the directory with mode 0700
// and the file with mode 0600: it will sit next to tokens one day.
func (c *Config) Save() error {
	if c.path == "" {
		return errors.New("saving config: no path (use LoadConfig)")
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("saving config: %w", err)
	}
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("saving config: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".config-*.json") // created 0600
	if err != nil {
		return fmt.Errorf("saving config: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("saving config: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("saving config: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving config: %w", err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("saving config: %w", err)
	}
	return nil
}
