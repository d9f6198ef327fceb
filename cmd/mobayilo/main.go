// Command mobayilo is the Mobayilo server and its operator tools:
//
//	mobayilo dev       the whole system on one machine (make run)
//	mobayilo api       the HTTP API and web app
//	mobayilo worker    the Temporal worker
//	mobayilo migrate   apply database migrations
//	mobayilo users …, ledger …, rates …   operator commands
//
// Every subcommand reads the same environment configuration.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/mobayilo/mobayilo/internal/config"
)

// Set with -ldflags "-X main.version=…".
var version = "dev"

// exitError carries a specific exit status (ledger verify uses 1 for
// discrepancies) without printing usage.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(os.Stderr, ee.msg)
		}
		os.Exit(ee.code)
	}
	fmt.Fprintln(os.Stderr, "mobayilo:", err)
	os.Exit(1)
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "mobayilo",
		Short:         "Mobayilo: browser-to-phone calling with a prepaid wallet",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newDevCmd(), newAPICmd(), newWorkerCmd(), newMigrateCmd(), newUsersCmd(), newLedgerCmd(), newRatesCmd(), newTokensCmd())
	return root
}

// loadConfig reads the environment; a bad value stops start-up with a
// message naming the variable.
func loadConfig() (config.Config, error) {
	cfg, err := config.FromOS()
	if err != nil {
		return cfg, &exitError{code: 2, msg: err.Error()}
	}
	return cfg, nil
}
