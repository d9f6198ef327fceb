// Package topup implements `moby topup <amount>`: start a card top-up,
// print (or open) its checkout page, and optionally wait until the wallet
// is credited.
package topup

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cli/browser"
	"github.com/spf13/cobra"

	"github.com/mobayilo/mobayilo/internal/cli/auth/shared"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/cli/creditsapi"
	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
)

// MinimumCents is the smallest top-up anyone may make ($5, individuals);
// the server is authoritative and also enforces the company minimum.
const MinimumCents = 500

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
		Long: `Start a card top-up of <amount> dollars (at least $5; $100 for company
wallets) and print the checkout link. --open opens it in your browser;
--wait waits until the payment is credited, then prints the new balance.`,
		Example: "  moby topup 20 --open --wait\n  moby topup 5 --json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cents, err := ParseAmount(args[0])
			if err != nil {
				return cmdutil.FlagErrorf("%s", err)
			}
			if cents < MinimumCents {
				return cmdutil.FlagErrorf("the minimum top-up is %s", shared.Dollars(MinimumCents))
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

// ParseAmount reads dollars ("5", "12.50", "$20") into cents.
func ParseAmount(s string) (int64, error) {
	bad := fmt.Errorf("invalid amount %q: give dollars, such as 20 or 12.50", s)
	s = strings.TrimPrefix(strings.TrimSpace(s), "$")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || len(s) > 12 {
		return 0, bad
	}
	frac += strings.Repeat("0", 2-len(frac))
	d, err1 := strconv.ParseUint(whole, 10, 32)
	c, err2 := strconv.ParseUint(frac, 10, 8)
	if err1 != nil || err2 != nil {
		return 0, bad
	}
	return int64(d)*100 + int64(c), nil
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
	if final.Status != "succeeded" {
		return fmt.Errorf("top-up %s %s: nothing was charged", final.ID, final.Status)
	}
	if opts.Exporter == nil {
		fmt.Fprintf(errOut, "%s added.\n", final.Amount)
		fmt.Fprintf(opts.IO.Out, "Balance: %s\n", shared.Dollars(final.BalanceCents))
	}
	return nil
}

// waitFor polls the top-up until it is final.
func waitFor(ctx context.Context, opts *TopUpOptions, client *http.Client, host, id string) (creditsapi.TopUp, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.WaitTimeout)
	defer cancel()
	stop := cmdutil.StartProgress(opts.IO, "Waiting for the payment")
	defer stop()
	for {
		t, err := creditsapi.GetTopUp(ctx, client, host, id)
		var ae *shared.APIError
		switch {
		case err == nil && t.Status != "awaiting_payment":
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
