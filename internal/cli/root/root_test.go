package root

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
)

type result struct {
	code           cmdutil.ExitCode
	stdout, stderr string
	f              *cmdutil.Factory
}

// run executes moby as main does, with test streams and env as the whole
// environment (plus a private config directory).
func run(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["MOBY_CONFIG_DIR"]; !ok {
		env["MOBY_CONFIG_DIR"] = t.TempDir()
	}
	ios, _, stdout, stderr := iostreams.Test()
	build := cmdutil.BuildInfo{Version: "v1.4.0", Commit: "abc1234", Date: "2026-02-19"}
	f := cmdutil.NewFactoryWith(build, ios, func(k string) string { return env[k] })
	code := Run(context.Background(), f, args)
	return result{code, stdout.String(), stderr.String(), f}
}

func TestHelp_DescribesMobayiloAndListsVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {}} {
		r := run(t, nil, args...)
		if r.code != cmdutil.ExitOK {
			t.Fatalf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, "Mobayilo") || !strings.Contains(r.stdout, "\n  version ") {
			t.Fatalf("%v: help on stdout does not describe Mobayilo and list version:\n%s", args, r.stdout)
		}
		for _, flag := range []string{"--json", "--host", "--token", "--verbose"} {
			if !strings.Contains(r.stdout, flag) {
				t.Errorf("%v: help does not mention %s", args, flag)
			}
		}
	}
}

func TestVersion_PrintsVersionCommitAndDate(t *testing.T) {
	r := run(t, nil, "version")
	if r.code != cmdutil.ExitOK || r.stdout != "moby v1.4.0 (abc1234, 2026-02-19)\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestVersion_JSONIsValidWithAllFields(t *testing.T) {
	r := run(t, nil, "version", "--json")
	if r.code != cmdutil.ExitOK {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %q: %v", r.stdout, err)
	}
	for _, k := range []string{"version", "commit", "date", "go"} {
		if got[k] == "" {
			t.Errorf("field %q missing in %s", k, r.stdout)
		}
	}
	if got["version"] != "v1.4.0" {
		t.Errorf("version = %q", got["version"])
	}
}

func TestJSONFlag_IsGlobal(t *testing.T) {
	r := run(t, nil, "--json", "version")
	if !json.Valid([]byte(r.stdout)) {
		t.Fatalf("--json before the verb: stdout %q", r.stdout)
	}
}

func TestHost_FlagOverridesMobyHostWhichOverridesDefault(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"default", nil, nil, cmdutil.DefaultHost},
		{"MOBY_HOST", map[string]string{"MOBY_HOST": "https://staging.mobayilo.com"}, nil, "https://staging.mobayilo.com"},
		{"--host over MOBY_HOST", map[string]string{"MOBY_HOST": "https://staging.mobayilo.com"}, []string{"--host", "http://localhost:8080"}, "http://localhost:8080"},
		{"--host over a bad MOBY_HOST", map[string]string{"MOBY_HOST": "nonsense"}, []string{"--host=http://localhost:8080"}, "http://localhost:8080"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.env, append(tc.args, "version")...)
			if r.code != cmdutil.ExitOK {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			got, err := r.f.Host()
			if err != nil || got != tc.want {
				t.Fatalf("Host() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestBadHost_IsAUsageErrorNamingTheSource(t *testing.T) {
	cases := []struct {
		name   string
		env    map[string]string
		args   []string
		source string
	}{
		{"flag not a URL", nil, []string{"--host", "app.mobayilo.com", "version"}, "--host"},
		{"flag wrong scheme", nil, []string{"version", "--host=ftp://app.mobayilo.com"}, "--host"},
		{"flag empty", nil, []string{"--host=", "version"}, "--host"},
		{"environment", map[string]string{"MOBY_HOST": "localhost:8080"}, []string{"version"}, "MOBY_HOST"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.env, tc.args...)
			if r.code != cmdutil.ExitUsage {
				t.Fatalf("exit %d, want %d; stderr %q", r.code, cmdutil.ExitUsage, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.source) || r.stdout != "" {
				t.Fatalf("stderr %q does not name %s, or stdout %q is not empty", r.stderr, tc.source, r.stdout)
			}
		})
	}
}

func TestUsageMistakes_ExitTwoWithAMessageOnStderr(t *testing.T) {
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"bogus"}, `unknown command "bogus" for "moby"`},
		{[]string{"versoin"}, "Did you mean this?\n\tversion"},
		{[]string{"--bogus"}, "unknown flag: --bogus"},
		{[]string{"version", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"version", "extra"}, `unknown command "extra" for "moby version"`},
		{[]string{"--verbose=maybe", "version"}, "--verbose"},
	}
	for _, tc := range cases {
		r := run(t, nil, tc.args...)
		if r.code != cmdutil.ExitUsage {
			t.Errorf("%v: exit %d, want %d; stderr %q", tc.args, r.code, cmdutil.ExitUsage, r.stderr)
			continue
		}
		if !strings.Contains(r.stderr, tc.msg) || !strings.Contains(r.stderr, "--help' for usage") {
			t.Errorf("%v: stderr %q lacks %q and a pointer to --help", tc.args, r.stderr, tc.msg)
		}
		if r.stdout != "" {
			t.Errorf("%v: stdout %q, want nothing", tc.args, r.stdout)
		}
	}
}

// A noun added later (`moby auth …`) gets the same treatment without doing
// anything: a bare group shows help, an unknown verb is a usage error, and
// cobra's own argument validators become usage errors.
func TestLaterCommandGroups_RejectUnknownVerbs(t *testing.T) {
	ios, _, stdout, stderr := iostreams.Test()
	f := cmdutil.NewFactoryWith(cmdutil.BuildInfo{}, ios, func(string) string { return "" })
	root := NewCmdRoot(f)
	auth := &cobra.Command{Use: "auth", Short: "Log in and out"}
	auth.AddCommand(&cobra.Command{Use: "status", Args: cobra.NoArgs, RunE: func(*cobra.Command, []string) error { return nil }})
	root.AddCommand(auth)
	makeArgErrorsUsageErrors(root)

	exec := func(args ...string) cmdutil.ExitCode {
		stdout.Reset()
		stderr.Reset()
		root.SetArgs(args)
		c, err := root.ExecuteC()
		return cmdutil.ReportError(&bytes.Buffer{}, c, err)
	}
	if code := exec("auth"); code != cmdutil.ExitOK || !strings.Contains(stdout.String(), "status") {
		t.Fatalf("moby auth: exit %d, stdout %q", code, stdout)
	}
	if code := exec("auth", "bogus"); code != cmdutil.ExitUsage {
		t.Fatalf("moby auth bogus: exit %d", code)
	}
	if code := exec("auth", "status", "extra"); code != cmdutil.ExitUsage {
		t.Fatalf("moby auth status extra: exit %d", code)
	}
}
