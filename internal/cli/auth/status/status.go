// Package status implements `moby auth status` (and its alias `moby
// status`): who the token acts as, the account and its balance, the host
// and the token's expiry.
package status

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/mobayilo/mobayilo/internal/cli/auth/shared"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/wire"
)

// StatusOptions is everything statusRun needs.
type StatusOptions struct {
	IO         *iostreams.IOStreams
	HTTPClient func() (*http.Client, error)
	Host       func() (string, error)
	Token      func() (string, cmdutil.TokenSource, error)
	Exporter   cmdutil.Exporter
	Now        func() time.Time
}

// Result is the --json shape of `moby auth status`. When LoggedIn is false,
// Reason says why ("not_logged_in", "token_expired", "token_revoked", …)
// and the exit status is 4.
type Result struct {
	Host        string              `json:"host"`
	LoggedIn    bool                `json:"logged_in"`
	Reason      string              `json:"reason,omitempty"`
	TokenSource cmdutil.TokenSource `json:"token_source,omitempty"`
	User        *wire.User          `json:"user,omitempty"`
	Account     *wire.Account       `json:"account,omitempty"`
	Token       *wire.Token         `json:"token,omitempty"`
}

// NewCmdStatus builds `moby auth status`.
func NewCmdStatus(f *cmdutil.Factory, runF func(*StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{
		IO:         f.IOStreams,
		HTTPClient: func() (*http.Client, error) { return f.HTTPClientWithToken("") },
		Host:       f.Host,
		Token:      f.TokenWithSource,
		Now:        time.Now,
	}
	return &cobra.Command{
		Use:   "status",
		Short: "Show who you are logged in as, your account and balance",
		Long: `Show the host, who the token acts as, the account and its balance, and when
the token expires. Exits with status 4 when not logged in, or when the
server refuses the token (expired, revoked, account disabled), saying why.`,
		Example: "  moby auth status\n  moby auth status --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Exporter = f.Exporter()
			if runF != nil {
				return runF(opts)
			}
			return statusRun(cmd.Context(), opts)
		},
	}
}

func statusRun(ctx context.Context, opts *StatusOptions) error {
	host, err := opts.Host()
	if err != nil {
		return err
	}
	token, source, err := opts.Token()
	if err != nil {
		return err
	}
	if token == "" {
		if err := export(opts, Result{Host: host, Reason: shared.ReasonNotLoggedIn}); err != nil {
			return err
		}
		return cmdutil.AuthErrorf("not logged in to %s: run `moby auth login`", host)
	}
	client, err := opts.HTTPClient()
	if err != nil {
		return err
	}
	me, err := shared.FetchMe(ctx, client, host, token)
	if err != nil {
		explained := shared.Explain(err, host, source)
		if cmdutil.ExitCodeFor(explained) == cmdutil.ExitAuth {
			if err := export(opts, Result{Host: host, Reason: shared.Reason(err), TokenSource: source}); err != nil {
				return err
			}
		}
		return explained
	}
	if opts.Exporter != nil {
		return export(opts, Result{Host: host, LoggedIn: true, TokenSource: source, User: &me.User, Account: &me.Account.Account, Token: &me.Token})
	}

	cs := opts.IO.ColorScheme()
	w := opts.IO.Out
	role := me.User.Role
	if me.User.IsAdmin {
		role += ", Mobayilo operator"
	}
	fmt.Fprintln(w, cs.Bold(host))
	fmt.Fprintf(w, "  %s Logged in as %s (%s)\n", cs.SuccessIcon(), cs.Bold(me.User.Email), role)
	fmt.Fprintf(w, "  Account:  %s (%s account #%d, %s)\n", me.Account.Name, me.Account.Kind, me.Account.ID, me.Account.Status)
	fmt.Fprintf(w, "  Balance:  %s\n", money.Format(me.Account.BalanceCents))
	expiry := shared.Expiry(me.Token.ExpiresAt, opts.Now())
	if me.Token.ExpiresAt != nil && me.Token.ExpiresAt.Sub(opts.Now()) < 3*24*time.Hour {
		expiry = cs.Yellow(expiry)
	}
	fmt.Fprintf(w, "  Token:    %s, %s\n", me.Token.Name, expiry)
	fmt.Fprintf(w, "  From:     %s\n", describeSource(source))
	return nil
}

func export(opts *StatusOptions, r Result) error {
	if opts.Exporter == nil {
		return nil
	}
	return opts.Exporter.Write(opts.IO, r)
}

func describeSource(s cmdutil.TokenSource) string {
	switch s {
	case cmdutil.SourceFlag:
		return "--token"
	case cmdutil.SourceEnv:
		return "MOBY_TOKEN environment variable"
	case cmdutil.SourceKeyring:
		return "OS keyring"
	case cmdutil.SourceFile:
		return "credentials file"
	}
	return string(s)
}
