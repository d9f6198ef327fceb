// Package callerid implements `moby caller-id`: verify a number of yours
// as the caller ID your calls show (request, confirm, status, remove).
package callerid

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mobayilo/mobayilo/internal/cli/auth/shared"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/cli/creditsapi"
	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
	"github.com/mobayilo/mobayilo/internal/wire"
)

// Options is everything the caller-id verbs need.
type Options struct {
	IO         *iostreams.IOStreams
	HTTPClient func() (*http.Client, error)
	Host       func() (string, error)
	Token      func() (string, cmdutil.TokenSource, error)
	Exporter   cmdutil.Exporter
	Number     string
	Country    string
	Code       string
}

// NewCmdCallerID builds `moby caller-id` and its verbs; runF replaces
// each verb's run in tests.
func NewCmdCallerID(f *cmdutil.Factory, runF func(verb string, o *Options) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "caller-id <command>",
		Short: "Verify a number of yours as the caller ID your calls show",
	}
	cmd.AddCommand(newVerb(f, runF, "request", &cobra.Command{
		Use:     "request <number>",
		Short:   "Start verifying a number: we text it a code",
		Example: "  moby caller-id request +44 7400 123456\n  moby caller-id request 07400 123456 --country GB",
		Args:    cobra.MinimumNArgs(1),
	}, func(o *Options, args []string) error {
		o.Number = strings.TrimSpace(strings.Join(args, " "))
		return nil
	}))
	cmd.AddCommand(newVerb(f, runF, "confirm", &cobra.Command{
		Use:     "confirm <code> | confirm <number> <code> --country ISO",
		Short:   "Confirm the code we texted; then answer Twilio's call and key in the code shown",
		Example: "  moby caller-id confirm 123456\n  moby caller-id confirm 07400 123456 482913 --country GB",
		Args:    cobra.MinimumNArgs(1),
	}, func(o *Options, args []string) error {
		// The last word is the code; anything before it is the older
		// form's number (typed with spaces, unquoted).
		o.Code = args[len(args)-1]
		o.Number = strings.TrimSpace(strings.Join(args[:len(args)-1], " "))
		return nil
	}))
	cmd.AddCommand(newVerb(f, runF, "status", &cobra.Command{
		Use:   "status",
		Short: "Show your caller ID and every verification's progress",
		Args:  cobra.NoArgs,
	}, func(*Options, []string) error { return nil }))
	cmd.AddCommand(newVerb(f, runF, "remove", &cobra.Command{
		Use:     "remove [<number>]",
		Short:   "Stop showing your number: calls show Mobayilo's again; a verification under way ends",
		Example: "  moby caller-id remove\n  moby caller-id remove 07400 123456 --country GB",
	}, func(o *Options, args []string) error {
		o.Number = strings.TrimSpace(strings.Join(args, " "))
		return nil
	}))
	return cmd
}

func newVerb(f *cmdutil.Factory, runF func(string, *Options) error, verb string, cmd *cobra.Command, parse func(*Options, []string) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Host: f.Host, Token: f.TokenWithSource}
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if err := parse(opts, args); err != nil {
			return err
		}
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
			return runF(verb, opts)
		}
		return run(c.Context(), verb, opts)
	}
	if verb != "status" {
		cmd.Flags().StringVar(&opts.Country, "country", "", "Country (ISO code) to read a national number with")
	}
	return cmd
}

func run(ctx context.Context, verb string, o *Options) error {
	host, err := o.Host()
	if err != nil {
		return err
	}
	client, err := o.HTTPClient()
	if err != nil {
		return err
	}
	var out any
	switch verb {
	case "request":
		v := &wire.CallerID{}
		out, err = v, creditsapi.Call(ctx, client, http.MethodPost, host+"/api/cli/caller-id", wire.CallerIDRequest{Number: o.Number, Country: o.Country}, v)
	case "confirm":
		v := &wire.CallerID{}
		out, err = v, creditsapi.Call(ctx, client, http.MethodPost, host+"/api/cli/caller-id/confirm",
			wire.CallerIDConfirm{Code: o.Code, Number: o.Number, Country: o.Country}, v)
	case "remove":
		q := url.Values{}
		if o.Number != "" {
			q.Set("number", o.Number)
		}
		if o.Country != "" {
			q.Set("country", o.Country)
		}
		path := host + "/api/cli/caller-id"
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		v := &wire.CallerIDRemoval{}
		out, err = v, creditsapi.Call(ctx, client, http.MethodDelete, path, nil, v)
	default:
		v := &wire.CallerIDStatus{}
		out, err = v, creditsapi.Call(ctx, client, http.MethodGet, host+"/api/cli/caller-id", nil, v)
	}
	if err != nil {
		_, source, _ := o.Token()
		return shared.Explain(err, host, source)
	}
	if o.Exporter != nil {
		return o.Exporter.Write(o.IO, out)
	}
	switch v := out.(type) {
	case *wire.CallerID:
		printOne(o, *v)
	case *wire.CallerIDRemoval:
		fmt.Fprintf(o.IO.Out, "Removed %s.\n", strings.Join(v.Removed, ", "))
		printShows(o, v.Verified, v.CallerID)
	case *wire.CallerIDStatus:
		printShows(o, v.Verified, v.CallerID)
		for _, c := range v.CallerIDs {
			printOne(o, c)
		}
	}
	return nil
}

func printShows(o *Options, verified bool, callerID string) {
	if verified {
		fmt.Fprintf(o.IO.Out, "Your calls show %s (verified).\n", callerID)
	} else {
		fmt.Fprintf(o.IO.Out, "Your calls show %s (Mobayilo's number); verify yours with `moby caller-id request <number>`.\n", callerID)
	}
}

func printOne(o *Options, c wire.CallerID) {
	if c.Approved != nil && !*c.Approved {
		fmt.Fprintf(o.IO.ErrOut, "That code is not right (%d wrong so far).\n", c.CodeAttempts)
	}
	fmt.Fprintf(o.IO.Out, "%s\t%s\t%s\n", c.Number, c.State, c.Message)
	if c.ValidationCode != "" {
		fmt.Fprintf(o.IO.Out, "Validation code: %s\n", c.ValidationCode)
	}
}
