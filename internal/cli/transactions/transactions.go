// Package transactions implements `moby transactions`: the wallet's ledger
// entries, newest first.
package transactions

import (
	"context"
	"fmt"
	"net/http"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mobayilo/mobayilo/internal/cli/auth/shared"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/cli/creditsapi"
	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
	"github.com/mobayilo/mobayilo/internal/money"
)

// TransactionsOptions is everything transactionsRun needs.
type TransactionsOptions struct {
	IO         *iostreams.IOStreams
	HTTPClient func() (*http.Client, error)
	Host       func() (string, error)
	Token      func() (string, cmdutil.TokenSource, error)
	Exporter   cmdutil.Exporter
	Limit      int
	Before     int64
}

// NewCmdTransactions builds `moby transactions`.
func NewCmdTransactions(f *cmdutil.Factory, runF func(*TransactionsOptions) error) *cobra.Command {
	opts := &TransactionsOptions{IO: f.IOStreams, Host: f.Host, Token: f.TokenWithSource}
	cmd := &cobra.Command{
		Use:     "transactions",
		Short:   "List your wallet's transactions, newest first",
		Example: "  moby transactions\n  moby transactions --limit 100 --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Limit < 1 || opts.Limit > 200 {
				return cmdutil.FlagErrorf("--limit must be between 1 and 200")
			}
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
			return transactionsRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.Limit, "limit", 20, "How many to show (1-200)")
	cmd.Flags().Int64Var(&opts.Before, "before", 0, "Show those older than this transaction id (from next_before)")
	return cmd
}

func transactionsRun(ctx context.Context, opts *TransactionsOptions) error {
	host, err := opts.Host()
	if err != nil {
		return err
	}
	client, err := opts.HTTPClient()
	if err != nil {
		return err
	}
	page, err := creditsapi.ListTransactions(ctx, client, host, opts.Before, opts.Limit)
	if err != nil {
		_, source, _ := opts.Token()
		return shared.Explain(err, host, source)
	}
	if opts.Exporter != nil {
		return opts.Exporter.Write(opts.IO, page)
	}
	if len(page.Transactions) == 0 {
		fmt.Fprintln(opts.IO.ErrOut, "No transactions.")
		return nil
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ID\tDATE\tKIND\tAMOUNT\tBALANCE\t")
	for _, t := range page.Transactions {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t\n", t.ID, t.CreatedAt, t.Kind, money.Format(t.AmountCents), money.Format(t.BalanceAfterCents))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.NextBefore > 0 {
		fmt.Fprintf(opts.IO.ErrOut, "More: moby transactions --before %d\n", page.NextBefore)
	}
	return nil
}
