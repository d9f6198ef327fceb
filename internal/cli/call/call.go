// Package call implements `moby call <number>`: Mobayilo rings your own
// verified phone, and once you answer dials the number with your number as
// caller ID. It shows the call live (a spinner while ringing, a timer while
// talking), hangs up on Ctrl-C, and ends with each leg's cost, the total
// and the new balance.
package call

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mobayilo/mobayilo/internal/cli/auth/shared"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/cli/creditsapi"
	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/wire"
)

// CallOptions is everything callRun needs.
type CallOptions struct {
	IO         *iostreams.IOStreams
	HTTPClient func() (*http.Client, error)
	Host       func() (string, error)
	Token      func() (string, cmdutil.TokenSource, error)
	Exporter   cmdutil.Exporter
	Number     string
	Country    string
	// PollInterval is how often the call's state is read; HangUpWait bounds
	// the wait for the final bill after a hang-up.
	PollInterval time.Duration
	HangUpWait   time.Duration
}

// NewCmdCall builds `moby call <number> [--country ISO]`; runF replaces
// the run in tests.
func NewCmdCall(f *cmdutil.Factory, runF func(*CallOptions) error) *cobra.Command {
	opts := &CallOptions{IO: f.IOStreams, Host: f.Host, Token: f.TokenWithSource, PollInterval: 500 * time.Millisecond, HangUpWait: 2 * time.Minute}
	cmd := &cobra.Command{
		Use:   "call <number>",
		Short: "Call a number: we ring your verified phone, then connect you",
		Long: "Call a phone number from your terminal. Mobayilo first rings your own phone (your verified\n" +
			"caller ID); when you answer, it dials the number, which sees your number calling. Each leg\n" +
			"is billed per started minute at its own rate. Ctrl-C hangs up.\n\n" +
			"The number may have spaces and dashes; a national number is read with --country, else in\n" +
			"your caller ID's country (moby says so). Without a verified caller ID moby exits with 3:\n" +
			"run `moby caller-id request <your number>` first.",
		Example: "  moby call +44 20 7946 0123\n  moby call 020 7946 0123 --country GB\n  moby call 415-555-0100 --json",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// A number may be typed with spaces, unquoted.
			opts.Number = strings.TrimSpace(strings.Join(args, " "))
			opts.Country = strings.ToUpper(strings.TrimSpace(opts.Country))
			if opts.Country != "" && (len(opts.Country) != 2 || strings.Trim(opts.Country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "") {
				return cmdutil.FlagErrorf("--country must be a two-letter ISO code such as GB, got %q", opts.Country)
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
			return callRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Country, "country", "", "Country (ISO code) to read a national number with")
	return cmd
}

func callRun(ctx context.Context, opts *CallOptions) error {
	host, err := opts.Host()
	if err != nil {
		return err
	}
	client, err := opts.HTTPClient()
	if err != nil {
		return err
	}
	explain := func(err error) error {
		var ae *shared.APIError
		if errors.As(err, &ae) && ae.Code == wire.CodeCallerIDRequired {
			return cmdutil.PreconditionErrorWrap(err)
		}
		_, source, _ := opts.Token()
		return shared.Explain(err, host, source)
	}
	var bc wire.BridgeCall
	if err := creditsapi.Call(ctx, client, http.MethodPost, host+"/api/cli/calls", wire.NewCall{To: opts.Number, Country: opts.Country}, &bc); err != nil {
		return explain(err)
	}
	if read := howRead(opts.Number, bc); read != "" {
		fmt.Fprintln(opts.IO.ErrOut, read)
	}
	bc, err = follow(ctx, client, host, opts, bc)
	if err != nil {
		return explain(err)
	}
	if opts.Exporter != nil {
		return opts.Exporter.Write(opts.IO, bc)
	}
	if bc.Owner.Status != "completed" {
		fmt.Fprintf(opts.IO.ErrOut, "Your phone did not answer (%s), so %s was not called.\n", bc.Owner.Status, bc.To)
	}
	printBill(opts.IO, bc)
	return nil
}

// howRead says how the number typed was read, when that took a guess or a
// country: "" when it was typed in full international form.
func howRead(typed string, bc wire.BridgeCall) string {
	switch {
	case bc.CountryGuessed:
		return fmt.Sprintf("Read %s as %s (%s, the country of your caller ID); pass --country to read it elsewhere.", typed, bc.To, bc.Country)
	case !strings.HasPrefix(strings.TrimSpace(typed), "+"):
		return fmt.Sprintf("Read %s as %s (%s).", typed, bc.To, bc.Country)
	}
	return ""
}

// follow shows the call live until both legs are billed. Ctrl-C (ctx
// done) hangs up, then waits for the bill on a context of its own.
func follow(ctx context.Context, client *http.Client, host string, opts *CallOptions, bc wire.BridgeCall) (wire.BridgeCall, error) {
	live := newLiveStatus(opts.IO)
	defer live.stop()
	path := host + "/api/cli/calls/" + url.PathEscape(bc.CallID)
	wait := ctx
	tick := time.NewTicker(opts.PollInterval)
	defer tick.Stop()
	for {
		live.show(bc)
		if bc.Status == wire.BridgeEnded {
			return bc, nil
		}
		select {
		case <-wait.Done():
			if wait != ctx {
				return bc, fmt.Errorf("hung up, but the call's bill did not come within %s; see `moby history`", opts.HangUpWait)
			}
			live.stop()
			fmt.Fprintln(opts.IO.ErrOut, "Hanging up…")
			hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.HangUpWait)
			defer cancel()
			wait = hctx
			if err := creditsapi.Call(wait, client, http.MethodPost, path+"/hangup", nil, nil); err != nil {
				return bc, err
			}
			continue
		case <-tick.C:
		}
		var next wire.BridgeCall
		if err := creditsapi.Call(wait, client, http.MethodGet, path, nil, &next); err != nil {
			if wait.Err() != nil && wait == ctx {
				continue // Ctrl-C during the read: hang up next
			}
			return bc, err
		}
		bc = next
	}
}

// liveStatus is the call's one status line: a spinner while ringing and a
// timer while talking on a terminal; elsewhere one plain line per change.
type liveStatus struct {
	io      *iostreams.IOStreams
	last    string // the message last shown
	spinner func() // stops the running spinner; nil when none runs
	timer   bool   // a timer line is on screen
	talking time.Time
}

func newLiveStatus(ios *iostreams.IOStreams) *liveStatus { return &liveStatus{io: ios} }

func (l *liveStatus) show(bc wire.BridgeCall) {
	var msg string
	switch bc.Status {
	case wire.BridgeRingingOwner:
		msg = "Ringing your phone " + bc.Owner.To + "…"
	case wire.BridgeRingingDestination:
		msg = "Calling " + bc.To + " from " + bc.CallerID + "…"
	case wire.BridgeInProgress:
		msg = "Talking with " + bc.To
	default:
		l.stop()
		return
	}
	if bc.Status == wire.BridgeInProgress && l.io.ErrColorEnabled() {
		if l.spinner != nil {
			l.spinner()
			l.spinner = nil
		}
		// Timed on this machine's clock from when moby saw the answer: the
		// server's answered_at may be skewed against it.
		if l.talking.IsZero() {
			l.talking = time.Now()
		}
		fmt.Fprintf(l.io.ErrOut, "\r\x1b[K%s  %s", msg, clock(time.Since(l.talking)))
		l.last, l.timer = msg, true
		return
	}
	if msg == l.last {
		return
	}
	l.stop()
	l.last = msg
	l.spinner = cmdutil.StartProgress(l.io, msg)
}

// stop clears the spinner or the timer line.
func (l *liveStatus) stop() {
	if l.spinner != nil {
		l.spinner()
		l.spinner = nil
	}
	if l.timer {
		fmt.Fprint(l.io.ErrOut, "\r\x1b[K")
		l.timer = false
	}
}

func clock(d time.Duration) string {
	d = max(d, 0).Truncate(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// printBill writes each leg's cost, the total and the new balance.
func printBill(ios *iostreams.IOStreams, bc wire.BridgeCall) {
	tw := tabwriter.NewWriter(ios.Out, 0, 4, 2, ' ', 0)
	leg := func(name string, l wire.BridgeLeg) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d min × %s\t%s\n", name, l.To, l.Status, seconds(l.DurationSeconds), deref(l.BilledMinutes),
			l.PricePerMinute, money.Format(deref(l.CostCents)))
	}
	leg("Your phone", bc.Owner)
	leg("Called", bc.Destination)
	_ = tw.Flush()
	fmt.Fprintf(ios.Out, "Total: %s\n", money.Format(deref(bc.TotalCostCents)))
	if bc.BalanceCents != nil {
		fmt.Fprintf(ios.Out, "Balance: %s\n", money.Format(*bc.BalanceCents))
	}
}

func seconds(p *int64) string { return fmt.Sprintf("%d s", deref(p)) }

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
