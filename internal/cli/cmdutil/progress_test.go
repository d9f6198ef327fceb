package cmdutil

import (
	"strings"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
)

func TestStartProgress_PlainLineOutsideATerminal(t *testing.T) {
	ios, _, _, stderr := iostreams.Test()
	stop := StartProgress(ios, "Waiting")
	time.Sleep(250 * time.Millisecond)
	stop()
	stop()
	if got := stderr.String(); got != "Waiting\n" {
		t.Fatalf("stderr = %q", got)
	}
}

func TestStartProgress_NoSpinnerWithNoColor(t *testing.T) {
	ios, _, _, stderr := iostreams.Test()
	ios.SetStderrTTY(true)
	ios.SetNoColor(true)
	stop := StartProgress(ios, "Waiting")
	time.Sleep(250 * time.Millisecond)
	stop()
	if got := stderr.String(); got != "Waiting\n" {
		t.Fatalf("stderr = %q", got)
	}
}

func TestStartProgress_SpinsOnATerminalAndClearsTheLine(t *testing.T) {
	ios, _, _, stderr := iostreams.Test()
	ios.SetStderrTTY(true)
	stop := StartProgress(ios, "Waiting")
	time.Sleep(250 * time.Millisecond)
	stop()
	got := stderr.String()
	if strings.Count(got, "\r") < 3 || !strings.Contains(got, spinnerFrames[1]+" Waiting") || !strings.HasSuffix(got, "\r\x1b[K") {
		t.Fatalf("stderr = %q", got)
	}
}
