// Package logout implements `moby auth logout`: revoke the token on the
// server, then forget it here.
package logout

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/mobayilo/mobayilo/internal/cli/auth/shared"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
)

// LogoutOptions is everything logoutRun needs.
type LogoutOptions struct {
	IO          *iostreams.IOStreams
	HTTPClient  func() (*http.Client, error)
	Host        func() (string, error)
	Token       func() (string, cmdutil.TokenSource, error)
	Credentials func() (*cmdutil.CredentialStore, error)
	Exporter    cmdutil.Exporter
}

// Result is the --json shape of `moby auth logout`.
type Result struct {
	Host string `json:"host"`
	// RevokedOnServer is false when the server could not be reached; the
	// token then works until it expires or is revoked on the Settings page.
	RevokedOnServer bool `json:"revoked_on_server"`
	// AlreadyInvalid: the server had already stopped accepting the token.
	AlreadyInvalid bool `json:"already_invalid,omitempty"`
	DeletedLocally bool `json:"deleted_locally"`
	// TokenSource is where the token came from; from --token or MOBY_TOKEN
	// there is nothing to delete here.
	TokenSource cmdutil.TokenSource `json:"token_source"`
}

// NewCmdLogout builds `moby auth logout`.
func NewCmdLogout(f *cmdutil.Factory, runF func(*LogoutOptions) error) *cobra.Command {
	opts := &LogoutOptions{
		IO:          f.IOStreams,
		HTTPClient:  func() (*http.Client, error) { return f.HTTPClientWithToken("") },
		Host:        f.Host,
		Token:       f.TokenWithSource,
		Credentials: f.Credentials,
	}
	return &cobra.Command{
		Use:   "logout",
		Short: "Log out: revoke the token on the server and delete it here",
		Long: `Revoke the token on the server, so it stops working everywhere at once,
then delete it from the OS keyring or credentials file. If the server cannot
be reached the token is still deleted here, and moby says so and exits 1:
revoke it on the Settings page then.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Exporter = f.Exporter()
			if runF != nil {
				return runF(opts)
			}
			return logoutRun(cmd.Context(), opts)
		},
	}
}

func logoutRun(ctx context.Context, opts *LogoutOptions) error {
	host, err := opts.Host()
	if err != nil {
		return err
	}
	token, source, err := opts.Token()
	if err != nil {
		return err
	}
	if token == "" {
		return cmdutil.AuthErrorf("not logged in to %s", host)
	}
	client, err := opts.HTTPClient()
	if err != nil {
		return err
	}
	res := Result{Host: host, TokenSource: source}
	revokeErr := shared.RevokeToken(ctx, client, host, token)
	var ae *shared.APIError
	switch {
	case revokeErr == nil:
		res.RevokedOnServer = true
	case errors.As(revokeErr, &ae) && ae.Status == http.StatusUnauthorized:
		// Expired, revoked or unknown: it already does not work.
		res.RevokedOnServer, res.AlreadyInvalid = true, true
	case errors.Is(revokeErr, context.Canceled):
		return revokeErr
	}

	if source.Stored() {
		store, err := opts.Credentials()
		if err != nil {
			return err
		}
		if err := store.Delete(host); err != nil {
			return fmt.Errorf("could not delete the stored token: %w", err)
		}
		res.DeletedLocally = true
	}

	if opts.Exporter != nil {
		if err := opts.Exporter.Write(opts.IO, res); err != nil {
			return err
		}
	}
	cs := opts.IO.ErrColorScheme()
	w := opts.IO.ErrOut
	if !res.RevokedOnServer {
		fmt.Fprintf(w, "%s Could not revoke the token on %s: %v\n", cs.FailureIcon(), host, revokeErr)
		if res.DeletedLocally {
			fmt.Fprintf(w, "  It was deleted here, but it still works until it expires.\n")
		}
		fmt.Fprintf(w, "  Revoke it at %s/settings.\n", host)
		return cmdutil.ErrSilent
	}
	switch {
	case res.AlreadyInvalid:
		fmt.Fprintf(w, "%s The token had already stopped working on %s\n", cs.SuccessIcon(), host)
	default:
		fmt.Fprintf(w, "%s Token revoked on %s\n", cs.SuccessIcon(), host)
	}
	switch {
	case res.DeletedLocally:
		fmt.Fprintf(w, "%s Logged out of %s\n", cs.SuccessIcon(), host)
	default:
		fmt.Fprintf(w, "%s The token came from %s, so nothing was stored here: stop passing it\n", cs.WarningIcon(), source)
	}
	return nil
}
