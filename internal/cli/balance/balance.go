// Package balance implements `moby balance`: the wallet's balance.
package balance

import (
	"context"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/mobayilo/mobayilo/internal/cli/auth/shared"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/cli/creditsapi"
	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
	"github.com/mobayilo/mobayilo/internal/money"
)

// BalanceOptions is everything balanceRun needs.
type BalanceOptions struct {
	IO         *iostreams.IOStreams
	HTTPClient func() (*http.Client, error)
	Host       func() (string, error)
	Token      func() (string, cmdutil.TokenSource, error)
	Exporter   cmdutil.Exporter
}

// NewCmdBalance builds `moby balance`.
func NewCmdBalance(f *cmdutil.Factory, runF func(*BalanceOptions) error) *cobra.Command {
	opts := &BalanceOptions{IO: f.IOStreams, Host: f.Host, Token: f.TokenWithSource}
	return &cobra.Command{
		Use:     "balance",
		Short:   "Show your wallet's balance",
		Example: "  moby balance\n  moby balance --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Exporter = f.Exporter()
			opts.HTTPClient = func() (*http.Client, error) {
				tok, err := f.RequireToken()
				if err != nil {
					return nil, err
				}
				return f.HTTPClientWithToken(tok)
			}
			if runF != nil {
				return runF(opts)
			}
			return balanceRun(cmd.Context(), opts)
		},
	}
}

func balanceRun(ctx context.Context, opts *BalanceOptions) error {
	host, err := opts.Host()
	if err != nil {
		return err
	}
	client, err := opts.HTTPClient()
	if err != nil {
		return err
	}
	b, err := creditsapi.GetBalance(ctx, client, host)
	if err != nil {
		_, source, _ := opts.Token()
		return shared.Explain(err, host, source)
	}
	if opts.Exporter != nil {
		return opts.Exporter.Write(opts.IO, b)
	}
	fmt.Fprintln(opts.IO.Out, money.Format(b.BalanceCents))
	if b.AvailableCents != b.BalanceCents {
		fmt.Fprintf(opts.IO.ErrOut, "%s available (the rest is held for calls in progress)\n", money.Format(b.AvailableCents))
	}
	return nil
}
