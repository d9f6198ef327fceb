// Package cmdutil is what every moby command shares: the Factory that hands
// out streams, settings and an HTTP client; typed errors and exit codes; and
// the --json exporter.
//
// A command is one package per verb, after gh (internal/cli/<noun>/<verb>):
//
//	type BalanceOptions struct {
//		IO         *iostreams.IOStreams
//		HTTPClient func() (*http.Client, error)
//		Exporter   cmdutil.Exporter
//	}
//
//	func NewCmdBalance(f *cmdutil.Factory, runF func(*BalanceOptions) error) *cobra.Command {
//		opts := &BalanceOptions{IO: f.IOStreams, HTTPClient: f.HTTPClient}
//		return &cobra.Command{
//			Use:  "balance",
//			Args: cobra.NoArgs, // argument errors become ExitUsage
//			RunE: func(cmd *cobra.Command, args []string) error {
//				opts.Exporter = f.Exporter() // --json is global: read it after parsing
//				if runF != nil {
//					return runF(opts)
//				}
//				return balanceRun(opts)
//			},
//		}
//	}
//
// balanceRun writes data to opts.IO.Out (through opts.Exporter when set) and
// returns FlagErrorf for bad input, an AuthError for a missing or rejected
// token, anything else for a failure. root.NewCmdRoot adds the command.
package cmdutil

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
)

// DefaultHost is the production API, used unless --host, MOBY_HOST or the
// config file says otherwise.
const DefaultHost = "https://app.mobayilo.com"

// BuildInfo identifies the binary; main fills it from -ldflags -X.
type BuildInfo struct {
	Version string
	Commit  string
	Date    string
}

// NewBuildInfo fills blanks from the Go build metadata where it has them
// (module version for `go install`, VCS stamp for `go build` in a checkout)
// and otherwise uses "dev", "none" and "unknown".
func NewBuildInfo(version, commit, date string) BuildInfo {
	b := BuildInfo{Version: version, Commit: commit, Date: date}
	if info, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && b.Commit == "":
				b.Commit = s.Value
			case s.Key == "vcs.time" && b.Date == "":
				b.Date = s.Value
			}
		}
	}
	b.Version = orDefault(b.Version, "dev")
	b.Commit = orDefault(b.Commit, "none")
	b.Date = orDefault(b.Date, "unknown")
	return b
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// GlobalFlags are the root command's persistent flags. The root binds them;
// commands read them through the Factory's methods rather than directly.
type GlobalFlags struct {
	JSON    bool
	Host    string // empty: not given
	Token   string // empty: not given
	Verbose bool
}

// Factory gives commands what they need, lazily, so that `moby version`
// never touches the network or the config file. Tests build one by hand and
// replace the function fields.
type Factory struct {
	Build     BuildInfo
	IOStreams *iostreams.IOStreams
	// Getenv is the environment; tests pass a map lookup instead of os.Getenv.
	Getenv func(string) string
	Flags  GlobalFlags

	// Config loads config.json from ConfigDir once.
	Config func() (*Config, error)
	// HTTPClient is built on first use: it sends the token to the API host
	// (and only there), a User-Agent, and logs requests with --verbose.
	HTTPClient func() (*http.Client, error)
	// Credentials opens the token store (OS keyring, else a file in
	// ConfigDir) once. MOBY_NO_KEYRING=1 skips the keyring.
	Credentials func() (*CredentialStore, error)
}

// NewFactory wires the real environment: process streams, os.Getenv, the
// config file and net/http.
func NewFactory(build BuildInfo) *Factory {
	return NewFactoryWith(build, iostreams.System(os.Getenv), os.Getenv)
}

// NewFactoryWith is NewFactory with the streams and environment given, for
// tests that run whole command trees.
func NewFactoryWith(build BuildInfo, ios *iostreams.IOStreams, getenv func(string) string) *Factory {
	f := &Factory{Build: build, IOStreams: ios, Getenv: getenv}
	f.Config = sync.OnceValues(func() (*Config, error) {
		dir, err := configDir(f.Getenv)
		if err != nil {
			return nil, err
		}
		return LoadConfig(dir)
	})
	f.HTTPClient = sync.OnceValues(func() (*http.Client, error) {
		return f.HTTPClientWithToken(f.Token())
	})
	f.Credentials = sync.OnceValues(func() (*CredentialStore, error) {
		dir, err := configDir(f.Getenv)
		if err != nil {
			return nil, err
		}
		return NewCredentialStore(dir, f.getenv("MOBY_NO_KEYRING") == ""), nil
	})
	return f
}

// HTTPClientWithToken is HTTPClient sending token ("" for none) instead of
// the configured one: `moby auth` commands use it to talk to the API before
// a token is stored, or with one they name themselves.
func (f *Factory) HTTPClientWithToken(token string) (*http.Client, error) {
	host, err := f.Host()
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(host) // validated by Host
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &apiTransport{
			base:      http.DefaultTransport,
			apiHost:   u.Host,
			token:     token,
			userAgent: fmt.Sprintf("moby/%s", f.Build.Version),
			verbose:   f.Flags.Verbose,
			log:       f.IOStreams.ErrOut,
		},
	}, nil
}

// Exporter returns the JSON exporter when --json was given, otherwise nil:
//
//	if opts.Exporter != nil { return opts.Exporter.Write(opts.IO, result) }
func (f *Factory) Exporter() Exporter {
	if f.Flags.JSON {
		return JSONExporter{}
	}
	return nil
}

// Host is the API base URL, without a trailing slash. Precedence: --host,
// then MOBY_HOST, then "host" in config.json, then DefaultHost.
func (f *Factory) Host() (string, error) {
	if f.Flags.Host != "" {
		return ValidateHost("--host", f.Flags.Host)
	}
	if h := f.getenv("MOBY_HOST"); h != "" {
		return ValidateHost("MOBY_HOST", h)
	}
	if f.Config != nil {
		cfg, err := f.Config()
		if err != nil {
			return "", err
		}
		if cfg.Host != "" {
			h, ok := normalizeHost(cfg.Host)
			if !ok {
				// A broken file is a failure, not a command-line mistake.
				return "", fmt.Errorf("invalid host %q in %s: must be an absolute http:// or https:// URL", cfg.Host, cfg.Path())
			}
			return h, nil
		}
	}
	return DefaultHost, nil
}

// Token is the API token, or "" when there is none: --token, then
// MOBY_TOKEN, then the one `moby auth login` stored for Host.
func (f *Factory) Token() string {
	t, _, _ := f.TokenWithSource()
	return t
}

// TokenWithSource is Token and where it came from. The error is a broken
// config or credentials file; a missing token is "", SourceNone, nil.
func (f *Factory) TokenWithSource() (string, TokenSource, error) {
	if f.Flags.Token != "" {
		return f.Flags.Token, SourceFlag, nil
	}
	if t := f.getenv("MOBY_TOKEN"); t != "" {
		return t, SourceEnv, nil
	}
	if f.Credentials == nil {
		return "", SourceNone, nil
	}
	host, err := f.Host()
	if err != nil {
		return "", SourceNone, err
	}
	store, err := f.Credentials()
	if err != nil {
		return "", SourceNone, err
	}
	return store.Get(host)
}

// RequireToken is Token for commands that cannot work anonymously: no token
// is an AuthError that says how to get one.
func (f *Factory) RequireToken() (string, error) {
	t, _, err := f.TokenWithSource()
	if err != nil {
		return "", err
	}
	if t != "" {
		return t, nil
	}
	return "", AuthErrorf("not logged in: run `moby auth login`, or pass --token or set MOBY_TOKEN")
}

func (f *Factory) getenv(key string) string {
	if f.Getenv == nil {
		return ""
	}
	return f.Getenv(key)
}

// ValidateHost checks that raw is an absolute http(s) URL and returns it
// without a trailing slash. A bad value is a usage error naming source (the
// flag or variable it came from).
func ValidateHost(source, raw string) (string, error) {
	h, ok := normalizeHost(raw)
	if !ok {
		return "", FlagErrorf("invalid %s %q: must be an absolute http:// or https:// URL such as %s", source, raw, DefaultHost)
	}
	return h, nil
}

// normalizeHost accepts a base URL with an optional path prefix, but no
// credentials, query or fragment: those could not be joined with API paths.
func normalizeHost(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	return strings.TrimRight(raw, "/"), true
}
