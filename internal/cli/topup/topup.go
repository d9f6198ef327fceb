// Package topup implements `moby topup <amount>`: start a card top-up,
// print (or open) its checkout page, and optionally wait until the wallet
// is credited.
package topup

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/cli/browser"
	"github.com/spf13/cobra"

	"github.com/mobayilo/mobayilo/internal/cli/auth/shared"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/cli/creditsapi"
	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/wire"
)

// TopUpOptions is everything topupRun needs.
type TopUpOptions struct {
	IO          *iostreams.IOStreams
	HTTPClient  func() (*http.Client, error)
	Host        func() (string, error)
	Token       func() (string, cmdutil.TokenSource, error)
	Exporter    cmdutil.Exporter
	OpenBrowser func(url string) error

	AmountCents int64
	Open        bool
	Wait        bool
	SaveCard    bool
	// PollInterval and WaitTimeout pace --wait; tests shorten them.
	PollInterval time.Duration
	WaitTimeout  time.Duration
}

// NewCmdTopUp builds `moby topup`.
func NewCmdTopUp(f *cmdutil.Factory, runF func(*TopUpOptions) error) *cobra.Command {
	opts := &TopUpOptions{IO: f.IOStreams, Host: f.Host, Token: f.TokenWithSource, OpenBrowser: browser.OpenURL,
		PollInterval: 2 * time.Second, WaitTimeout: 75 * time.Minute}
	cmd := &cobra.Command{
		Use:   "topup <amount>",
		Short: "Add credit to your wallet by card",
		Long: fmt.Sprintf(`Start a card top-up of <amount> dollars (at least %s; %s for company
wallets) and print the checkout link. --open opens it in your browser;
--wait waits until the payment is credited, then prints the new balance.`,
			money.Format(money.MinIndividualTopUpCents), money.Format(money.MinCompanyTopUpCents)),
		Example: "  moby topup 20 --open --wait\n  moby topup 5 --json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cents, err := money.ParseDollars(args[0])
			if err != nil {
				return cmdutil.FlagErrorWrap(err)
			}
			// No wallet takes less than an individual's minimum, so less
			// is refused here with the server's own rule and words; the
			// server knows the wallet, its minimum and the maximum.
			if err := money.CheckTopUp(cents, money.MinIndividualTopUpCents, math.MaxInt64); err != nil {
				return cmdutil.FlagErrorWrap(err)
			}
			opts.AmountCents = cents
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
			return topupRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Open, "open", false, "Open the checkout page in your browser")
	cmd.Flags().BoolVar(&opts.Wait, "wait", false, "Wait until the payment is credited, then print the new balance")
	cmd.Flags().BoolVar(&opts.SaveCard, "save-card", false, "Save the card for auto top-up")
	return cmd
}

func topupRun(ctx context.Context, opts *TopUpOptions) error {
	host, err := opts.Host()
	if err != nil {
		return err
	}
	client, err := opts.HTTPClient()
	if err != nil {
		return err
	}
	explain := func(err error) error {
		_, source, _ := opts.Token()
		return shared.Explain(err, host, source)
	}
	t, err := creditsapi.CreateTopUp(ctx, client, host, opts.AmountCents, opts.SaveCard)
	if err != nil {
		return explain(err)
	}
	errOut := opts.IO.ErrOut
	opened := false
	if opts.Open {
		if err := opts.OpenBrowser(t.CheckoutURL); err != nil {
			fmt.Fprintf(errOut, "Could not open a browser (%v); open the link yourself.\n", err)
		} else {
			opened = true
		}
	}
	if opts.Exporter == nil {
		if !opened {
			fmt.Fprintf(errOut, "Pay %s at:\n", t.Amount)
		}
		fmt.Fprintln(opts.IO.Out, t.CheckoutURL)
	}
	if !opts.Wait {
		if opts.Exporter != nil {
			return opts.Exporter.Write(opts.IO, t)
		}
		return nil
	}
	final, err := waitFor(ctx, opts, client, host, t.ID)
	if err != nil {
		return explain(err)
	}
	if opts.Exporter != nil {
		if err := opts.Exporter.Write(opts.IO, final); err != nil {
			return err
		}
	}
	if final.Status != wire.TopUpSucceeded {
		return fmt.Errorf("top-up %s %s: nothing was charged", final.ID, final.Status)
	}
	if opts.Exporter == nil {
		fmt.Fprintf(errOut, "%s added.\n", final.Amount)
		fmt.Fprintf(opts.IO.Out, "Balance: %s\n", money.Format(final.BalanceCents))
	}
	return nil
}

// waitFor polls the top-up until it is final.
func waitFor(ctx context.Context, opts *TopUpOptions, client *http.Client, host, id string) (wire.TopUp, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.WaitTimeout)
	defer cancel()
	stop := cmdutil.StartProgress(opts.IO, "Waiting for the payment")
	defer stop()
	for {
		t, err := creditsapi.GetTopUp(ctx, client, host, id)
		var ae *shared.APIError
		switch {
		case err == nil && t.Status != wire.TopUpAwaitingPayment:
			return t, nil
		case err != nil && (errors.As(err, &ae) || ctx.Err() != nil):
			return t, err
		}
		// A network blip while waiting is retried.
		select {
		case <-ctx.Done():
			return t, fmt.Errorf("gave up waiting for top-up %s: %w", id, ctx.Err())
		case <-time.After(opts.PollInterval):
		}
	}
}
