package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// ExitCode is the process status moby exits with. Scripts may rely on these
// values; they never change meaning.
type ExitCode int

const (
	// ExitOK: the command did what was asked.
	ExitOK ExitCode = 0
	// ExitError: the command failed (network, server, bad state, …).
	ExitError ExitCode = 1
	// ExitUsage: the command line was wrong: unknown command or flag, bad
	// flag value, wrong number of arguments. Nothing was attempted.
	ExitUsage ExitCode = 2
	// ExitPrecondition: a precondition is not met (`moby call` without a
	// verified caller ID). The message says what to do first.
	ExitPrecondition ExitCode = 3
	// ExitAuth: no usable credentials, or the server rejected them. Logging
	// in again (or fixing MOBY_TOKEN) is the remedy.
	ExitAuth ExitCode = 4
)

// FlagError is a usage error: a bad flag, flag value or argument. It exits
// with ExitUsage.
type FlagError struct{ err error }

func (e *FlagError) Error() string { return e.err.Error() }
func (e *FlagError) Unwrap() error { return e.err }

// FlagErrorf builds a FlagError. Name the flag or argument in the message.
func FlagErrorf(format string, args ...any) error {
	return &FlagError{err: fmt.Errorf(format, args...)}
}

// FlagErrorWrap turns err into a usage error.
func FlagErrorWrap(err error) error {
	if err == nil {
		return nil
	}
	return &FlagError{err: err}
}

// AuthError means credentials are missing or were rejected. It exits with
// ExitAuth.
type AuthError struct{ err error }

func (e *AuthError) Error() string { return e.err.Error() }
func (e *AuthError) Unwrap() error { return e.err }

// AuthErrorf builds an AuthError; say how to fix it in the message.
func AuthErrorf(format string, args ...any) error {
	return &AuthError{err: fmt.Errorf(format, args...)}
}

// PreconditionError means the command cannot run until the user does
// something first (verify a caller ID). It exits with ExitPrecondition.
type PreconditionError struct{ err error }

func (e *PreconditionError) Error() string { return e.err.Error() }
func (e *PreconditionError) Unwrap() error { return e.err }

// PreconditionErrorWrap turns err into a precondition error; its message
// must say what to do.
func PreconditionErrorWrap(err error) error {
	if err == nil {
		return nil
	}
	return &PreconditionError{err: err}
}

// ErrSilent fails the command without printing anything more: the command
// has already explained itself on stderr.
var ErrSilent = errors.New("silent error")

// ExitCodeFor maps an error returned by a command to the exit code.
func ExitCodeFor(err error) ExitCode {
	var flagErr *FlagError
	var authErr *AuthError
	var preErr *PreconditionError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &flagErr):
		return ExitUsage
	case errors.As(err, &authErr):
		return ExitAuth
	case errors.As(err, &preErr):
		return ExitPrecondition
	default:
		return ExitError
	}
}

// ReportError writes err for a human on w and returns the exit code. cmd is
// the command that failed (it may be nil), used to point at its help.
func ReportError(w io.Writer, cmd *cobra.Command, err error) ExitCode {
	code := ExitCodeFor(err)
	switch {
	case err == nil:
	case errors.Is(err, ErrSilent):
	case errors.Is(err, context.Canceled):
		// Interrupted with Ctrl-C: the user knows.
	default:
		msg := err.Error()
		fmt.Fprint(w, msg)
		if !strings.HasSuffix(msg, "\n") {
			fmt.Fprintln(w)
		}
		if code == ExitUsage && cmd != nil {
			fmt.Fprintf(w, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
	}
	return code
}
