// Package rates implements `moby rates`: what a minute to a destination
// costs you, and how many minutes your balance buys.
package rates

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mobayilo/mobayilo/internal/cli/auth/shared"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/cli/creditsapi"
	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
	"github.com/mobayilo/mobayilo/internal/money"
)

// RatesOptions is everything ratesRun needs.
type RatesOptions struct {
	IO          *iostreams.IOStreams
	HTTPClient  func() (*http.Client, error)
	Host        func() (string, error)
	Token       func() (string, cmdutil.TokenSource, error)
	Exporter    cmdutil.Exporter
	Destination string
	Country     string
}

// NewCmdRates builds `moby rates <ISO|number> [--country ISO]`.
func NewCmdRates(f *cmdutil.Factory, runF func(*RatesOptions) error) *cobra.Command {
	opts := &RatesOptions{IO: f.IOStreams, Host: f.Host, Token: f.TokenWithSource}
	cmd := &cobra.Command{
		Use:   "rates <ISO|number>",
		Short: "Show the price per minute to a country or number, and the minutes your balance buys",
		Long: "Show the price per minute (billed per started minute) to a country (ISO code such as FR)\n" +
			"or a phone number, and how many minutes your available balance buys. A country's price is\n" +
			"its dearest destination, so every number there gets at least those minutes.\n" +
			"A national number needs --country.",
		Example: "  moby rates FR\n  moby rates +33612345678 --json\n  moby rates 06 12 34 56 78 --country FR",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// A number may be typed with spaces, unquoted.
			opts.Destination = strings.TrimSpace(strings.Join(args, " "))
			opts.Country = strings.ToUpper(strings.TrimSpace(opts.Country))
			if opts.Country != "" && (len(opts.Country) != 2 || strings.Trim(opts.Country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "") {
				return cmdutil.FlagErrorf("--country must be a two-letter ISO code such as FR, got %q", opts.Country)
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
			return ratesRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Country, "country", "", "Country (ISO code) to read a national number with")
	return cmd
}

func ratesRun(ctx context.Context, opts *RatesOptions) error {
	host, err := opts.Host()
	if err != nil {
		return err
	}
	client, err := opts.HTTPClient()
	if err != nil {
		return err
	}
	q, err := creditsapi.GetRate(ctx, client, host, opts.Destination, opts.Country)
	if err != nil {
		_, source, _ := opts.Token()
		return shared.Explain(err, host, source)
	}
	if opts.Exporter != nil {
		return opts.Exporter.Write(opts.IO, q)
	}
	fmt.Fprintf(opts.IO.Out, "%s per minute\n", money.Format(q.PricePerMinuteCents))
	fmt.Fprintf(opts.IO.Out, "about %d minutes with your balance\n", q.MinutesAtBalance)
	return nil
}
