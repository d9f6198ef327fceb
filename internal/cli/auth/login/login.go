// Package login implements `moby auth login` (and its alias `moby login`):
// the OAuth 2.0 device flow (RFC 8628) through golang.org/x/oauth2, or a
// token given on standard input.
package login

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/cli/browser"
	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/mobayilo/mobayilo/internal/cli/auth/shared"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/wire"
)

// ClientID is moby's OAuth client id at every Mobayilo server.
const ClientID = "moby"

// LoginOptions is everything loginRun needs.
type LoginOptions struct {
	IO *iostreams.IOStreams
	// HTTPClient talks to the API without any stored token.
	HTTPClient  func() (*http.Client, error)
	Host        func() (string, error)
	Config      func() (*cmdutil.Config, error)
	Credentials func() (*cmdutil.CredentialStore, error)
	Getenv      func(string) string
	Exporter    cmdutil.Exporter
	// OpenBrowser opens a URL; Hostname names this machine to the person
	// approving. Tests replace both.
	OpenBrowser func(url string) error
	Hostname    func() (string, error)
	GOOS        string

	WithToken bool
	APIToken  string
	NoBrowser bool
}

// Result is the --json shape of a successful login.
type Result struct {
	Host     string              `json:"host"`
	User     wire.User           `json:"user"`
	Account  wire.Account        `json:"account"`
	Token    wire.Token          `json:"token"`
	StoredIn cmdutil.TokenSource `json:"stored_in"`
	// CredentialsFile is set when the token went to the file.
	CredentialsFile string `json:"credentials_file,omitempty"`
}

// NewCmdLogin builds `moby auth login`. Tests pass runF to inspect the
// parsed options instead of running.
func NewCmdLogin(f *cmdutil.Factory, runF func(*LoginOptions) error) *cobra.Command {
	opts := &LoginOptions{
		IO:          f.IOStreams,
		HTTPClient:  func() (*http.Client, error) { return f.HTTPClientWithToken("") },
		Host:        f.Host,
		Config:      f.Config,
		Credentials: f.Credentials,
		Getenv:      f.Getenv,
		OpenBrowser: browser.OpenURL,
		Hostname:    os.Hostname,
		GOOS:        runtime.GOOS,
	}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in to Mobayilo",
		Long: `Log in by approving this device in your browser: moby shows a one-time
code and a URL, you open the URL (on this machine or any other, such as
your phone), check the code and approve.

The token is stored in the OS keyring, or, where there is none, in a file
readable only by you in the config directory. --token and MOBY_TOKEN take
precedence over it.

With --with-token, read a token made on the Settings page from standard
input instead.`,
		Example: `  moby auth login
  moby auth login --host http://localhost:8080
  moby auth login --with-token < token.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.WithToken && opts.APIToken != "" {
				return cmdutil.FlagErrorf("use --with-token or --api-token, not both")
			}
			opts.Exporter = f.Exporter()
			if runF != nil {
				return runF(opts)
			}
			return loginRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.WithToken, "with-token", false, "Read a token from standard input")
	cmd.Flags().StringVar(&opts.APIToken, "api-token", "", "Log in with this token (kept for compatibility; it lands in your shell history, so prefer --with-token)")
	cmd.Flags().BoolVar(&opts.NoBrowser, "no-browser", false, "Do not offer to open a browser; just print the code and URL")
	return cmd
}

func loginRun(ctx context.Context, opts *LoginOptions) error {
	host, err := opts.Host()
	if err != nil {
		return err
	}
	client, err := opts.HTTPClient()
	if err != nil {
		return err
	}
	var token string
	switch {
	case opts.WithToken:
		b, err := io.ReadAll(io.LimitReader(opts.IO.In, 4096))
		if err != nil {
			return fmt.Errorf("reading the token from standard input: %w", err)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return cmdutil.FlagErrorf("--with-token: no token on standard input (try: moby auth login --with-token < token.txt)")
		}
	case opts.APIToken != "":
		token = strings.TrimSpace(opts.APIToken)
		fmt.Fprintf(opts.IO.ErrOut, "%s --api-token leaves the token in your shell history; next time use --with-token\n", opts.IO.ErrColorScheme().WarningIcon())
	default:
		token, err = deviceFlow(ctx, opts, host, client)
		if err != nil {
			return err
		}
	}
	return finish(ctx, opts, host, client, token)
}

// deviceFlow runs RFC 8628 with x/oauth2 and returns the access token.
func deviceFlow(ctx context.Context, opts *LoginOptions, host string, client *http.Client) (string, error) {
	conf := &oauth2.Config{
		ClientID: ClientID,
		Endpoint: oauth2.Endpoint{
			DeviceAuthURL: host + "/api/cli/device/code",
			TokenURL:      host + "/api/cli/device/token",
			AuthStyle:     oauth2.AuthStyleInParams,
		},
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, client)
	name, err := opts.Hostname()
	if err != nil || name == "" {
		name = "moby CLI"
	}
	da, err := conf.DeviceAuth(ctx, oauth2.SetAuthURLParam("device_name", name))
	if err != nil {
		return "", deviceError(err, host, "starting the login")
	}

	cs := opts.IO.ErrColorScheme()
	w := opts.IO.ErrOut
	link := da.VerificationURIComplete
	if link == "" {
		link = da.VerificationURI
	}
	fmt.Fprintf(w, "%s First copy your one-time code: %s\n", cs.WarningIcon(), cs.Bold(da.UserCode))
	canOpen, why := browserAvailable(opts.Getenv, opts.GOOS)
	switch {
	case opts.NoBrowser:
		fmt.Fprintf(w, "Open %s in a browser on any device, sign in and enter the code.\n", da.VerificationURI)
	case !canOpen:
		fmt.Fprintf(w, "No browser can be opened here (%s).\nOn your phone or another computer, open %s\nsign in and enter the code.\n", why, da.VerificationURI)
	case opts.IO.IsStdinTTY():
		fmt.Fprintf(w, "Press Enter to open %s in your browser, or open it on any other device.\n", da.VerificationURI)
		go func() {
			// Polling goes on meanwhile, so approving elsewhere needs no
			// key press. The read is abandoned when moby exits.
			if _, err := bufio.NewReader(opts.IO.In).ReadString('\n'); err != nil {
				return
			}
			if err := opts.OpenBrowser(link); err != nil {
				fmt.Fprintf(w, "%s could not open a browser (%v); open %s yourself\n", cs.WarningIcon(), err, da.VerificationURI)
			}
		}()
	default:
		fmt.Fprintf(w, "Open %s in a browser, sign in and enter the code.\n", da.VerificationURI)
	}

	stop := cmdutil.StartProgress(opts.IO, "Waiting for you to approve this device…")
	tok, err := conf.DeviceAccessToken(ctx, da)
	stop()
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err() // Ctrl-C
		}
		var re *oauth2.RetrieveError
		switch {
		case errors.As(err, &re) && re.ErrorCode == "access_denied":
			return "", cmdutil.AuthErrorf("login denied: the request for code %s was denied in the browser", da.UserCode)
		case errors.As(err, &re) && re.ErrorCode == "expired_token", errors.Is(err, context.DeadlineExceeded):
			return "", cmdutil.AuthErrorf("the code %s expired before it was approved; run `moby auth login` again", da.UserCode)
		}
		return "", deviceError(err, host, "waiting for approval")
	}
	if tok.AccessToken == "" {
		return "", fmt.Errorf("%s approved the login but sent no token", host)
	}
	return tok.AccessToken, nil
}

// deviceError explains a failed device-flow request.
func deviceError(err error, host, during string) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.Response != nil && re.Response.StatusCode == http.StatusTooManyRequests {
			return fmt.Errorf("%s: too many login attempts from here; wait a few minutes and try again", host)
		}
		if re.ErrorCode != "" {
			msg := re.ErrorCode
			if re.ErrorDescription != "" {
				msg += ": " + re.ErrorDescription
			}
			return fmt.Errorf("%s refused the login while %s (%s)", host, during, msg)
		}
		if re.Response != nil {
			return fmt.Errorf("%s answered %s while %s; is it a Mobayilo server?", host, re.Response.Status, during)
		}
	}
	return fmt.Errorf("%s while %s: %w", host, during, err)
}

// browserAvailable reports whether a browser can be opened on this machine,
// and if not, why. Over SSH a browser would open (if at all) on the remote
// machine, not in front of the person.
func browserAvailable(getenv func(string) string, goos string) (bool, string) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if getenv("SSH_CONNECTION") != "" || getenv("SSH_TTY") != "" || getenv("SSH_CLIENT") != "" {
		return false, "this is an SSH session"
	}
	switch goos {
	case "darwin", "windows", "android", "ios":
		return true, ""
	}
	if getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == "" {
		return false, "no graphical display: DISPLAY and WAYLAND_DISPLAY are not set"
	}
	return true, ""
}

// finish checks the token with the server, stores it and says who is
// logged in.
func finish(ctx context.Context, opts *LoginOptions, host string, client *http.Client, token string) error {
	me, err := shared.FetchMe(ctx, client, host, token)
	if err != nil {
		var ae *shared.APIError
		if errors.As(err, &ae) && ae.Rejected() {
			return cmdutil.AuthErrorf("%s did not accept the token: %s", host, ae.Error())
		}
		return shared.Explain(err, host, cmdutil.SourceNone)
	}
	store, err := opts.Credentials()
	if err != nil {
		return err
	}
	previous, _, _ := store.Get(host)
	where, err := store.Set(host, token)
	if err != nil {
		return fmt.Errorf("logged in, but the token could not be saved: %w", err)
	}
	// The previous login's token would otherwise stay valid, unseen, until
	// it expires. Best effort: it may already be revoked or expired.
	replaced := previous != "" && previous != token && shared.RevokeToken(ctx, client, host, previous) == nil
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	if cfg.Host != host {
		cfg.Host = host
		if err := cfg.Save(); err != nil {
			return fmt.Errorf("logged in, but %w", err)
		}
	}

	res := Result{Host: host, User: me.User, Account: me.Account.Account, Token: me.Token, StoredIn: where}
	if where == cmdutil.SourceFile {
		res.CredentialsFile = store.FilePath()
	}
	if opts.Exporter != nil {
		if err := opts.Exporter.Write(opts.IO, res); err != nil {
			return err
		}
	}
	cs := opts.IO.ErrColorScheme()
	w := opts.IO.ErrOut
	fmt.Fprintf(w, "%s Logged in to %s as %s (%s, balance %s)\n", cs.SuccessIcon(), host, cs.Bold(me.User.Email),
		me.Account.Name, money.Format(me.Account.BalanceCents))
	switch where {
	case cmdutil.SourceKeyring:
		fmt.Fprintf(w, "%s Token saved in the OS keyring; it %s\n", cs.SuccessIcon(), shared.Expiry(me.Token.ExpiresAt, time.Now()))
	default:
		fmt.Fprintf(w, "%s No OS keyring here: token saved in %s (readable only by you); it %s\n", cs.WarningIcon(), store.FilePath(),
			shared.Expiry(me.Token.ExpiresAt, time.Now()))
	}
	if replaced {
		fmt.Fprintf(w, "%s Revoked the token of your previous login on this machine\n", cs.SuccessIcon())
	}
	if opts.Getenv != nil && opts.Getenv("MOBY_TOKEN") != "" {
		fmt.Fprintf(w, "%s MOBY_TOKEN is set and takes precedence over the saved token; unset it to use this login\n", cs.WarningIcon())
	}
	return nil
}
