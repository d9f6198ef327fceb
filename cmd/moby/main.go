// Command moby is Mobayilo's command-line client.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/cli/root"
)

// Set at release time:
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=$(git rev-parse HEAD) -X main.date=$(date -u +%FT%TZ)" ./cmd/moby
var version, commit, date string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() { <-ctx.Done(); stop() }() // a second Ctrl-C kills at once

	f := cmdutil.NewFactory(cmdutil.NewBuildInfo(version, commit, date))
	code := root.Run(ctx, f, os.Args[1:])
	stop()
	os.Exit(int(code))
}
