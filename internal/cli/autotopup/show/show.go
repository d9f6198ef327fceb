// Package show implements `moby autotopup show`.
package show

import (
	"context"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/mobayilo/mobayilo/internal/cli/autotopup/shared"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
)

// ShowOptions is everything showRun needs.
type ShowOptions struct {
	IO           *iostreams.IOStreams
	HTTPClient   func() (*http.Client, error)
	Host         func() (string, error)
	RequireToken func() (string, error)
	Exporter     cmdutil.Exporter
}

// NewCmdShow builds `moby autotopup show`.
func NewCmdShow(f *cmdutil.Factory, runF func(*ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{IO: f.IOStreams, HTTPClient: f.HTTPClient, Host: f.Host, RequireToken: f.RequireToken}
	return &cobra.Command{
		Use:     "show",
		Short:   "Show your auto top-up settings, saved card and last attempt",
		Example: "  moby autotopup show\n  moby autotopup show --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Exporter = f.Exporter()
			if runF != nil {
				return runF(opts)
			}
			return showRun(cmd.Context(), opts)
		},
	}
}

func showRun(ctx context.Context, opts *ShowOptions) error {
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
	s, err := shared.Call(ctx, client, host, http.MethodGet, nil)
	if err != nil {
		return err
	}
	if opts.Exporter != nil {
		return opts.Exporter.Write(opts.IO, s)
	}
	shared.Print(opts.IO.Out, s)
	return nil
}
