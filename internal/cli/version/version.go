// Package version implements `moby version`.
package version

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
)

// VersionOptions is everything versionRun needs.
type VersionOptions struct {
	IO       *iostreams.IOStreams
	Exporter cmdutil.Exporter
	Build    cmdutil.BuildInfo
}

// Info is the --json shape of `moby version`.
type Info struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Date    string `json:"date"`
	Go      string `json:"go"`
}

// NewCmdVersion builds `moby version`. Tests pass runF to inspect the
// parsed options instead of running.
func NewCmdVersion(f *cmdutil.Factory, runF func(*VersionOptions) error) *cobra.Command {
	opts := &VersionOptions{IO: f.IOStreams, Build: f.Build}
	return &cobra.Command{
		Use:   "version",
		Short: "Show moby's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Exporter = f.Exporter()
			if runF != nil {
				return runF(opts)
			}
			return versionRun(opts)
		},
	}
}

func versionRun(opts *VersionOptions) error {
	if opts.Exporter != nil {
		return opts.Exporter.Write(opts.IO, Info{
			Version: opts.Build.Version,
			Commit:  opts.Build.Commit,
			Date:    opts.Build.Date,
			Go:      runtime.Version(),
		})
	}
	_, err := fmt.Fprintln(opts.IO.Out, Line(opts.Build))
	return err
}

// Line is the one-line human form, also printed by `moby --version`.
func Line(b cmdutil.BuildInfo) string {
	return fmt.Sprintf("moby %s (%s, %s)", b.Version, b.Commit, b.Date)
}
