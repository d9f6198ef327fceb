package version

import (
	"encoding/json"
	"runtime"
	"testing"

	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
)

var build = cmdutil.BuildInfo{Version: "v1.4.0", Commit: "abc1234", Date: "2026-02-19T10:00:00Z"}

func TestNewCmdVersion_JSONFlagSetsTheExporter(t *testing.T) {
	for _, jsonFlag := range []bool{false, true} {
		ios, _, _, _ := iostreams.Test()
		f := &cmdutil.Factory{Build: build, IOStreams: ios, Flags: cmdutil.GlobalFlags{JSON: jsonFlag}}
		var got *VersionOptions
		cmd := NewCmdVersion(f, func(o *VersionOptions) error { got = o; return nil })
		cmd.SetArgs([]string{})
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		if (got.Exporter != nil) != jsonFlag || got.Build != build {
			t.Fatalf("json=%v: options %+v", jsonFlag, got)
		}
	}
}

func TestVersionRun_PrintsOneLine(t *testing.T) {
	ios, _, stdout, stderr := iostreams.Test()
	if err := versionRun(&VersionOptions{IO: ios, Build: build}); err != nil {
		t.Fatal(err)
	}
	if want := "moby v1.4.0 (abc1234, 2026-02-19T10:00:00Z)\n"; stdout.String() != want {
		t.Fatalf("stdout %q, want %q", stdout, want)
	}
	if stderr.Len() != 0 {
		t.Fatalf("stderr %q", stderr)
	}
}

func TestVersionRun_JSONHasVersionCommitDateGo(t *testing.T) {
	ios, _, stdout, _ := iostreams.Test()
	if err := versionRun(&VersionOptions{IO: ios, Build: build, Exporter: cmdutil.JSONExporter{}}); err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %q: %v", stdout, err)
	}
	want := map[string]string{"version": "v1.4.0", "commit": "abc1234", "date": "2026-02-19T10:00:00Z", "go": runtime.Version()}
	if len(got) != len(want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}
