// Package set implements `moby autotopup set`.
package set

import (
	"context"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/mobayilo/mobayilo/internal/cli/autotopup/shared"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/wire"
)

// SetOptions is everything setRun needs: the change as the server takes it.
type SetOptions struct {
	IO           *iostreams.IOStreams
	HTTPClient   func() (*http.Client, error)
	Host         func() (string, error)
	RequireToken func() (string, error)
	Exporter     cmdutil.Exporter
	Update       wire.AutoTopUpUpdate
}

// NewCmdSet builds `moby autotopup set`.
func NewCmdSet(f *cmdutil.Factory, runF func(*SetOptions) error) *cobra.Command {
	opts := &SetOptions{IO: f.IOStreams, HTTPClient: f.HTTPClient, Host: f.Host, RequireToken: f.RequireToken}
	var enable, disable bool
	var threshold, amount, dailyMax string
	var dailyCount int
	cmd := &cobra.Command{
		Use:   "set [--enable|--disable] [--threshold D] [--amount D] [--daily-max-count N] [--daily-max D]",
		Short: "Change your auto top-up settings",
		Long: `Change only the settings you name. Amounts are dollars. Turning auto
top-up on needs a saved card (save one on the website's Auto top-up page).`,
		Example: "  moby autotopup set --enable --threshold 2 --amount 20\n  moby autotopup set --disable --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if enable && disable {
				return cmdutil.FlagErrorf("--enable and --disable cannot be used together")
			}
			u := &opts.Update
			if enable || disable {
				u.Enabled = &enable
			}
			for _, d := range []struct {
				flag string
				raw  string
				dst  **int64
			}{{"threshold", threshold, &u.ThresholdCents}, {"amount", amount, &u.AmountCents}, {"daily-max", dailyMax, &u.DailyMaxCents}} {
				if !cmd.Flags().Changed(d.flag) {
					continue
				}
				c, err := money.ParseDollars(d.raw)
				if err != nil {
					return cmdutil.FlagErrorf("--%s: %v", d.flag, err)
				}
				*d.dst = &c
			}
			if cmd.Flags().Changed("daily-max-count") {
				if dailyCount < 1 {
					return cmdutil.FlagErrorf("--daily-max-count must be at least 1")
				}
				u.DailyMaxCount = &dailyCount
			}
			if *u == (wire.AutoTopUpUpdate{}) {
				return cmdutil.FlagErrorf("nothing to change: name at least one setting (see --help)")
			}
			opts.Exporter = f.Exporter()
			if runF != nil {
				return runF(opts)
			}
			return setRun(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&enable, "enable", false, "Turn auto top-up on (needs a saved card)")
	fl.BoolVar(&disable, "disable", false, "Turn auto top-up off")
	fl.StringVar(&threshold, "threshold", "", "Top up when the balance falls below this many dollars (suggested 2)")
	fl.StringVar(&amount, "amount", "", "Dollars to add each time (suggested 20, or 100 for companies)")
	fl.IntVar(&dailyCount, "daily-max-count", 0, "At most this many auto top-ups a day")
	fl.StringVar(&dailyMax, "daily-max", "", "At most this many dollars a day")
	return cmd
}

func setRun(ctx context.Context, opts *SetOptions) error {
	if _, err := opts.RequireToken(); err != nil {
		return err
	}
	host, err := opts.Host()
	if err != nil {
		return err
	}
	client, err := opts.HTTPClient()
	if err != nil {
		return err
	}
	s, err := shared.Call(ctx, client, host, http.MethodPut, opts.Update)
	if err != nil {
		return err
	}
	if opts.Exporter != nil {
		return opts.Exporter.Write(opts.IO, s)
	}
	fmt.Fprintln(opts.IO.ErrOut, "Auto top-up settings saved.")
	shared.Print(opts.IO.Out, s)
	return nil
}
