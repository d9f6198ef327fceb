// Package autotopup is the `moby autotopup` command group: show and set.
package autotopup

import (
	"github.com/spf13/cobra"

	"github.com/mobayilo/mobayilo/internal/cli/autotopup/set"
	"github.com/mobayilo/mobayilo/internal/cli/autotopup/show"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
)

// NewCmdAutoTopUp builds `moby autotopup` and its verbs.
func NewCmdAutoTopUp(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "autotopup <command>",
		Short: "Show or change automatic top-ups of your wallet",
	}
	cmd.AddCommand(show.NewCmdShow(f, nil), set.NewCmdSet(f, nil))
	return cmd
}
