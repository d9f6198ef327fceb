// Package auth is the `moby auth` command group: login, status, logout.
package auth

import (
	"github.com/spf13/cobra"

	"github.com/mobayilo/mobayilo/internal/cli/auth/login"
	"github.com/mobayilo/mobayilo/internal/cli/auth/logout"
	"github.com/mobayilo/mobayilo/internal/cli/auth/status"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
)

// NewCmdAuth builds `moby auth` and its verbs.
func NewCmdAuth(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth <command>",
		Short: "Log in, check who you are, log out",
	}
	cmd.AddCommand(login.NewCmdLogin(f, nil), status.NewCmdStatus(f, nil), logout.NewCmdLogout(f, nil))
	return cmd
}

// NewCmdAliases builds the top-level `moby login` and `moby status`, kept
// from before the auth group existed. They are the same commands.
func NewCmdAliases(f *cmdutil.Factory) []*cobra.Command {
	l := login.NewCmdLogin(f, nil)
	l.Short = "Log in to Mobayilo (same as `moby auth login`)"
	s := status.NewCmdStatus(f, nil)
	s.Short = "Show who you are logged in as (same as `moby auth status`)"
	return []*cobra.Command{l, s}
}
