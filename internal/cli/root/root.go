// Package root assembles the moby command tree and runs it.
package root

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	authCmd "github.com/mobayilo/mobayilo/internal/cli/auth"
	autotopupCmd "github.com/mobayilo/mobayilo/internal/cli/autotopup"
	balanceCmd "github.com/mobayilo/mobayilo/internal/cli/balance"
	callCmd "github.com/mobayilo/mobayilo/internal/cli/call"
	calleridCmd "github.com/mobayilo/mobayilo/internal/cli/callerid"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	historyCmd "github.com/mobayilo/mobayilo/internal/cli/history"
	ratesCmd "github.com/mobayilo/mobayilo/internal/cli/rates"
	topupCmd "github.com/mobayilo/mobayilo/internal/cli/topup"
	transactionsCmd "github.com/mobayilo/mobayilo/internal/cli/transactions"
	versionCmd "github.com/mobayilo/mobayilo/internal/cli/version"
)

func init() {
	// Run the root's PersistentPreRunE (global flag checks) even when a
	// command group defines its own.
	cobra.EnableTraverseRunHooks = true
}

const long = `Mobayilo lets you call any phone from your browser or your terminal,
paid for from a prepaid wallet. moby is its command-line client.

Environment:
  MOBY_HOST         API base URL when --host is not given (default ` + cmdutil.DefaultHost + `)
  MOBY_TOKEN        API token when --token is not given (else the one saved by moby auth login)
  MOBY_CONFIG_DIR   where config.json lives (default: your OS config directory/moby)
  MOBY_NO_KEYRING   set to anything to keep the token in a file there instead of the OS keyring
  NO_COLOR          set to anything to turn colour off

Exit status:
  0  success
  1  failure
  2  usage error: unknown command or flag, bad flag value or argument
  3  a precondition is not met: moby call without a verified caller ID
  4  authentication error: not logged in, or the token was rejected`

// NewCmdRoot builds the `moby` command with its global flags and every
// command. The flags are bound to f.Flags.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:           "moby",
		Short:         "Mobayilo from the command line",
		Long:          long,
		Example:       "  moby auth login\n  moby auth status --json\n  moby version",
		Version:       f.Build.Version,
		SilenceErrors: true, // Run reports errors, with the right exit code
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return validateGlobalFlags(cmd, f)
		},
	}
	cmd.SetVersionTemplate(versionCmd.Line(f.Build) + "\n")
	cmd.SetIn(f.IOStreams.In)
	cmd.SetOut(f.IOStreams.Out)
	cmd.SetErr(f.IOStreams.ErrOut)
	// A completion script cannot honour --json; add it back as its own verb
	// package if we want it.
	cmd.CompletionOptions.DisableDefaultCmd = true
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return cmdutil.FlagErrorWrap(err)
	})

	pf := cmd.PersistentFlags()
	pf.BoolVar(&f.Flags.JSON, "json", false, "Print the result as JSON on stdout")
	pf.StringVar(&f.Flags.Host, "host", "", "Mobayilo API base URL (default $MOBY_HOST, else "+cmdutil.DefaultHost+")")
	pf.StringVar(&f.Flags.Token, "token", "", "API token (default $MOBY_TOKEN)")
	pf.BoolVar(&f.Flags.Verbose, "verbose", false, "Log HTTP requests to stderr")

	cmd.AddCommand(authCmd.NewCmdAuth(f), versionCmd.NewCmdVersion(f, nil))
	cmd.AddCommand(authCmd.NewCmdAliases(f)...)
	cmd.AddCommand(autotopupCmd.NewCmdAutoTopUp(f))
	cmd.AddCommand(balanceCmd.NewCmdBalance(f, nil), topupCmd.NewCmdTopUp(f, nil), transactionsCmd.NewCmdTransactions(f, nil))
	cmd.AddCommand(ratesCmd.NewCmdRates(f, nil), historyCmd.NewCmdHistory(f, nil))
	cmd.AddCommand(calleridCmd.NewCmdCallerID(f, nil), callCmd.NewCmdCall(f, nil))

	makeArgErrorsUsageErrors(cmd)
	return cmd
}

// Run executes moby with args, reports any error on stderr and returns the
// exit code. main is only this and os.Exit.
func Run(ctx context.Context, f *cmdutil.Factory, args []string) cmdutil.ExitCode {
	cmd := NewCmdRoot(f)
	if args == nil {
		args = []string{} // nil would make cobra read os.Args
	}
	cmd.SetArgs(args)
	failed, err := cmd.ExecuteContextC(ctx)
	return cmdutil.ReportError(f.IOStreams.ErrOut, failed, err)
}

// validateGlobalFlags rejects a bad --host (or MOBY_HOST, when the flag
// does not override it) before any command runs.
func validateGlobalFlags(cmd *cobra.Command, f *cmdutil.Factory) error {
	if cmd.Flags().Changed("host") {
		_, err := cmdutil.ValidateHost("--host", f.Flags.Host)
		return err
	}
	if h := f.Getenv("MOBY_HOST"); h != "" {
		_, err := cmdutil.ValidateHost("MOBY_HOST", h)
		return err
	}
	return nil
}

// makeArgErrorsUsageErrors walks the tree so that every argument mistake
// exits with ExitUsage, whoever wrote the command:
//   - a command group (root, or a noun such as `auth`) shows its help when
//     called bare and rejects an unknown verb; cobra would otherwise print
//     help and exit 0 for `moby auth bogus`;
//   - a verb's Args validator (cobra.NoArgs, ExactArgs, …) returns a
//     FlagError instead of a plain error.
func makeArgErrorsUsageErrors(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		makeArgErrorsUsageErrors(c)
	}
	if cmd.HasSubCommands() && cmd.Run == nil && cmd.RunE == nil {
		cmd.Args = cobra.ArbitraryArgs
		cmd.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return unknownCommand(cmd, args[0])
		}
		return
	}
	if validate := cmd.Args; validate != nil {
		cmd.Args = func(cmd *cobra.Command, args []string) error {
			return cmdutil.FlagErrorWrap(validate(cmd, args))
		}
	}
}

func unknownCommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return cmdutil.FlagErrorf("%s", msg)
}
