// Package iostreams is the moby CLI's view of stdin, stdout and stderr:
// where data and messages go, whether a human is watching, and whether
// colour is allowed.
package iostreams

import (
	"bytes"
	"io"
	"os"

	"github.com/mattn/go-isatty"
)

// IOStreams carries the standard streams and what is known about them.
// Commands write data to Out and messages (progress, warnings, errors) to
// ErrOut, so that `moby … | jq` never sees anything but data.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool

	// noColor records NO_COLOR at construction; the TTY check is made on use
	// so that tests can flip SetStdoutTTY after building the streams.
	noColor bool
}

// System wraps the process's standard streams. getenv is consulted for
// NO_COLOR (https://no-color.org): any non-empty value disables colour, as
// does TERM=dumb.
func System(getenv func(string) string) *IOStreams {
	return &IOStreams{
		In:        os.Stdin,
		Out:       os.Stdout,
		ErrOut:    os.Stderr,
		stdinTTY:  isTerminal(os.Stdin),
		stdoutTTY: isTerminal(os.Stdout),
		stderrTTY: isTerminal(os.Stderr),
		noColor:   getenv("NO_COLOR") != "" || getenv("TERM") == "dumb",
	}
}

// Test returns streams backed by buffers, none of them a TTY, for tests:
// stdin to fill, and stdout and stderr to inspect.
func Test() (ios *IOStreams, stdin, stdout, stderr *bytes.Buffer) {
	stdin, stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: stdin, Out: stdout, ErrOut: stderr}, stdin, stdout, stderr
}

func isTerminal(f *os.File) bool {
	fd := f.Fd()
	return isatty.IsTerminal(fd) || isatty.IsCygwinTerminal(fd)
}

// IsStdinTTY reports whether stdin is a terminal, i.e. prompting is possible.
func (s *IOStreams) IsStdinTTY() bool { return s.stdinTTY }

// IsStdoutTTY reports whether stdout is a terminal, i.e. a human reads it.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether stderr is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// SetStdinTTY overrides TTY detection for stdin (tests).
func (s *IOStreams) SetStdinTTY(v bool) { s.stdinTTY = v }

// SetStdoutTTY overrides TTY detection for stdout (tests).
func (s *IOStreams) SetStdoutTTY(v bool) { s.stdoutTTY = v }

// SetStderrTTY overrides TTY detection for stderr (tests).
func (s *IOStreams) SetStderrTTY(v bool) { s.stderrTTY = v }

// SetNoColor records whether NO_COLOR is in effect (tests).
func (s *IOStreams) SetNoColor(v bool) { s.noColor = v }

// ColorEnabled reports whether stdout may carry colour: only on a TTY and
// never when NO_COLOR is set.
func (s *IOStreams) ColorEnabled() bool { return s.stdoutTTY && !s.noColor }

// ErrColorEnabled is ColorEnabled for stderr.
func (s *IOStreams) ErrColorEnabled() bool { return s.stderrTTY && !s.noColor }

// ColorScheme styles text for stdout; every method is the identity when
// colour is off, so callers never branch on it.
func (s *IOStreams) ColorScheme() *ColorScheme { return &ColorScheme{enabled: s.ColorEnabled()} }

// ErrColorScheme styles text for stderr.
func (s *IOStreams) ErrColorScheme() *ColorScheme { return &ColorScheme{enabled: s.ErrColorEnabled()} }
