package shared

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
)

func TestExpiry_SaysWhenRelativeToNow(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	cases := []struct {
		exp  *time.Time
		want string
	}{
		{nil, "never expires"},
		{at(30 * 24 * time.Hour), "(in 30 days)"},
		{at(3 * time.Hour), "(in 4 hours)"},
		{at(-time.Hour), "expired on"},
	}
	for _, c := range cases {
		if got := Expiry(c.exp, now); !strings.Contains(got, c.want) {
			t.Errorf("Expiry(%v) = %q, want it to contain %q", c.exp, got, c.want)
		}
	}
}

func TestExplain_RefusalsAreAuthErrorsThatSayWhatToDo(t *testing.T) {
	cases := []struct {
		err    error
		source cmdutil.TokenSource
		exit   cmdutil.ExitCode
		says   string
	}{
		{&APIError{Status: 401, Code: "token_expired"}, cmdutil.SourceKeyring, cmdutil.ExitAuth, "your token has expired; run `moby auth login`"},
		{&APIError{Status: 401, Code: "token_revoked"}, cmdutil.SourceEnv, cmdutil.ExitAuth, "the token in MOBY_TOKEN was revoked"},
		{&APIError{Status: 401, Code: "token_bad_checksum"}, cmdutil.SourceFlag, cmdutil.ExitAuth, "--token is not a valid Mobayilo token"},
		{&APIError{Status: 403, Code: "account_disabled"}, cmdutil.SourceFile, cmdutil.ExitAuth, "disabled"},
		{&APIError{Status: 429, Code: "rate_limited", RetryAfter: "17"}, cmdutil.SourceFile, cmdutil.ExitError, "17 seconds"},
		{&APIError{Status: 500, Code: "internal", Message: "boom"}, cmdutil.SourceFile, cmdutil.ExitError, "boom"},
		{errors.New("cannot reach"), cmdutil.SourceFile, cmdutil.ExitError, "cannot reach"},
	}
	for _, c := range cases {
		got := Explain(c.err, "https://h.example", c.source)
		if cmdutil.ExitCodeFor(got) != c.exit || !strings.Contains(got.Error(), c.says) {
			t.Errorf("Explain(%v, %s) = %v (exit %d); want exit %d saying %q", c.err, c.source, got, cmdutil.ExitCodeFor(got), c.exit, c.says)
		}
	}
}
