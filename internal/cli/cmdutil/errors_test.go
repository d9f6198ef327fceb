package cmdutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestExitCodeFor_MapsTypedErrors(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want ExitCode
	}{
		{"nil", nil, ExitOK},
		{"plain failure", errors.New("server said no"), ExitError},
		{"flag error", FlagErrorf("--amount must be positive"), ExitUsage},
		{"wrapped flag error", fmt.Errorf("topup: %w", FlagErrorf("bad")), ExitUsage},
		{"auth error", AuthErrorf("token rejected"), ExitAuth},
		{"wrapped auth error", fmt.Errorf("balance: %w", AuthErrorf("token rejected")), ExitAuth},
		{"precondition", fmt.Errorf("call: %w", PreconditionErrorWrap(errors.New("verify a caller ID first"))), ExitPrecondition},
		{"silent", ErrSilent, ExitError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ExitCodeFor(tc.err); got != tc.want {
				t.Fatalf("ExitCodeFor(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}

func TestExitCodes_AreTheDocumentedValues(t *testing.T) {
	if ExitOK != 0 || ExitError != 1 || ExitUsage != 2 || ExitAuth != 4 {
		t.Fatal("exit codes are part of the CLI's contract and must not change")
	}
}

func TestReportError_UsageErrorPointsAtHelp(t *testing.T) {
	var buf bytes.Buffer
	cmd := &cobra.Command{Use: "topup"}
	code := ReportError(&buf, cmd, FlagErrorf("invalid --amount %q", "x"))
	if code != ExitUsage {
		t.Fatalf("code = %d", code)
	}
	want := "invalid --amount \"x\"\nRun 'topup --help' for usage.\n"
	if buf.String() != want {
		t.Fatalf("stderr = %q, want %q", buf.String(), want)
	}
}

func TestReportError_SilentAndCancelledPrintNothing(t *testing.T) {
	for _, err := range []error{ErrSilent, context.Canceled, nil} {
		var buf bytes.Buffer
		ReportError(&buf, nil, err)
		if buf.Len() != 0 {
			t.Fatalf("%v printed %q", err, buf.String())
		}
	}
}

func TestReportError_FailurePrintsMessageOnce(t *testing.T) {
	var buf bytes.Buffer
	if code := ReportError(&buf, nil, errors.New("boom")); code != ExitError {
		t.Fatalf("code = %d", code)
	}
	if got := buf.String(); got != "boom\n" || strings.Contains(got, "--help") {
		t.Fatalf("stderr = %q", got)
	}
}
