// Package history implements `moby history`: the caller's calls, newest
// first (a company admin's: every seat's).
package history

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mobayilo/mobayilo/internal/cli/auth/shared"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/cli/creditsapi"
	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
	"github.com/mobayilo/mobayilo/internal/money"
)

// HistoryOptions is everything historyRun needs.
type HistoryOptions struct {
	IO         *iostreams.IOStreams
	HTTPClient func() (*http.Client, error)
	Host       func() (string, error)
	Token      func() (string, cmdutil.TokenSource, error)
	Exporter   cmdutil.Exporter
	Query      creditsapi.HistoryQuery
}

// maxLimit is the server's largest page.
const maxLimit = 500

// NewCmdHistory builds `moby history`.
func NewCmdHistory(f *cmdutil.Factory, runF func(*HistoryOptions) error) *cobra.Command {
	opts := &HistoryOptions{IO: f.IOStreams, Host: f.Host, Token: f.TokenWithSource}
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List your calls, newest first",
		Long: "List your calls, newest first, with their status, duration, billed minutes and cost.\n" +
			"--since and --until take a date (2026-01-31, UTC; --until includes that day) or an RFC 3339 time.",
		Example: "  moby history\n  moby history --status completed --since 2026-01-01 --limit 100 --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Query.Limit < 1 || opts.Query.Limit > maxLimit {
				return cmdutil.FlagErrorf("--limit must be between 1 and %d", maxLimit)
			}
			for name, v := range map[string]string{"--since": opts.Query.Since, "--until": opts.Query.Until} {
				if v != "" && !validTime(v) {
					return cmdutil.FlagErrorf("%s must be a date such as 2026-01-31 or a time such as 2026-01-31T15:04:05Z, got %q", name, v)
				}
			}
			opts.Query.Status = strings.ToLower(strings.TrimSpace(opts.Query.Status))
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
			return historyRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Query.Status, "status", "", "Only calls in this status: completed, busy, no-answer, failed, canceled, expired, in-progress, ringing, dialing, authorized")
	cmd.Flags().StringVar(&opts.Query.Since, "since", "", "Only calls placed at or after this date or time")
	cmd.Flags().StringVar(&opts.Query.Until, "until", "", "Only calls placed before this time (a date includes the whole day)")
	cmd.Flags().IntVar(&opts.Query.Limit, "limit", 20, fmt.Sprintf("How many to show (1-%d)", maxLimit))
	return cmd
}

func validTime(s string) bool {
	if _, err := time.Parse(time.DateOnly, s); err == nil {
		return true
	}
	_, err := time.Parse(time.RFC3339, s)
	return err == nil
}

func historyRun(ctx context.Context, opts *HistoryOptions) error {
	host, err := opts.Host()
	if err != nil {
		return err
	}
	client, err := opts.HTTPClient()
	if err != nil {
		return err
	}
	page, err := creditsapi.ListHistory(ctx, client, host, opts.Query)
	if err != nil {
		_, source, _ := opts.Token()
		return shared.Explain(err, host, source)
	}
	if opts.Exporter != nil {
		// The contract is a list of calls.
		return opts.Exporter.Write(opts.IO, page.Calls)
	}
	if len(page.Calls) == 0 {
		fmt.Fprintln(opts.IO.ErrOut, "No calls.")
		return nil
	}
	seats := false
	for _, c := range page.Calls {
		seats = seats || c.Seat != nil
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
	head := "STARTED\tTO\tSTATUS\tDURATION\tBILLED\tCOST"
	if seats {
		head += "\tSEAT"
	}
	fmt.Fprintln(tw, head)
	for _, c := range page.Calls {
		dur, billed, cost := "-", "-", "-"
		if c.DurationSeconds != nil {
			dur = fmt.Sprintf("%d:%02d", *c.DurationSeconds/60, *c.DurationSeconds%60)
		}
		if c.BilledMinutes != nil {
			billed = fmt.Sprintf("%d min", *c.BilledMinutes)
		}
		if c.CostCents != nil {
			cost = money.Format(*c.CostCents)
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", c.StartedAt.UTC().Format("2006-01-02 15:04"), c.To, c.Status, dur, billed, cost)
		if seats {
			seat := ""
			if c.Seat != nil {
				seat = *c.Seat
			}
			line += "\t" + seat
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if int64(len(page.Calls)) < page.Total {
		fmt.Fprintf(opts.IO.ErrOut, "Showing %d of %d; narrow with --since/--until or raise --limit.\n", len(page.Calls), page.Total)
	}
	return nil
}
