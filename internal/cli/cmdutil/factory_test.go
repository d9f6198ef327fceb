package cmdutil

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
)

func testFactory(t *testing.T, env map[string]string) (*Factory, *bytes.Buffer) {
	t.Helper()
	if _, ok := env["MOBY_CONFIG_DIR"]; !ok {
		env["MOBY_CONFIG_DIR"] = t.TempDir()
	}
	ios, _, _, stderr := iostreams.Test()
	return NewFactoryWith(BuildInfo{Version: "1.2.3"}, ios, func(k string) string { return env[k] }), stderr
}

func TestHost_Precedence(t *testing.T) {
	cfgDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(cfgDir, ConfigFileName), []byte(`{"host":"https://from-config.example"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		flag   string
		env    string
		cfgDir string
		want   string
	}{
		{"default", "", "", t.TempDir(), DefaultHost},
		{"config file over default", "", "", cfgDir, "https://from-config.example"},
		{"MOBY_HOST over config file", "", "https://from-env.example", cfgDir, "https://from-env.example"},
		{"--host over MOBY_HOST", "http://localhost:8080/", "https://from-env.example", cfgDir, "http://localhost:8080"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := testFactory(t, map[string]string{"MOBY_HOST": tc.env, "MOBY_CONFIG_DIR": tc.cfgDir})
			f.Flags.Host = tc.flag
			got, err := f.Host()
			if err != nil || got != tc.want {
				t.Fatalf("Host() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestValidateHost_RejectsAnythingButAbsoluteHTTPURLs(t *testing.T) {
	for _, bad := range []string{"", "app.mobayilo.com", "/api", "ftp://x.example", "https://", "https://u:p@x.example", "https://x.example/?a=1", "http://x.example#frag"} {
		_, err := ValidateHost("--host", bad)
		if ExitCodeFor(err) != ExitUsage || !strings.Contains(err.Error(), "--host") {
			t.Errorf("ValidateHost(%q) = %v; want a usage error naming --host", bad, err)
		}
	}
	for in, want := range map[string]string{
		"https://app.mobayilo.com":        "https://app.mobayilo.com",
		"http://localhost:8080/":          "http://localhost:8080",
		"https://example.com/mobayilo///": "https://example.com/mobayilo",
	} {
		if got, err := ValidateHost("--host", in); err != nil || got != want {
			t.Errorf("ValidateHost(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestHost_BadConfigFileIsAFailureNotAUsageError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ConfigFileName), []byte(`{"host":"nope"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	f, _ := testFactory(t, map[string]string{"MOBY_CONFIG_DIR": dir})
	_, err := f.Host()
	if err == nil || ExitCodeFor(err) != ExitError || !strings.Contains(err.Error(), ConfigFileName) {
		t.Fatalf("Host() err = %v", err)
	}
}

func TestToken_FlagOverridesEnvironment(t *testing.T) {
	f, _ := testFactory(t, map[string]string{"MOBY_TOKEN": "env-token"})
	if got := f.Token(); got != "env-token" {
		t.Fatalf("Token() = %q", got)
	}
	f.Flags.Token = "flag-token"
	if got := f.Token(); got != "flag-token" {
		t.Fatalf("Token() = %q", got)
	}
}

func TestRequireToken_NoTokenIsAnAuthError(t *testing.T) {
	f, _ := testFactory(t, map[string]string{})
	_, err := f.RequireToken()
	if ExitCodeFor(err) != ExitAuth {
		t.Fatalf("RequireToken() err = %v, exit %d", err, ExitCodeFor(err))
	}
}

func TestExporter_OnlyWithJSONFlag(t *testing.T) {
	f, _ := testFactory(t, map[string]string{})
	if f.Exporter() != nil {
		t.Fatal("exporter without --json")
	}
	f.Flags.JSON = true
	if f.Exporter() == nil {
		t.Fatal("no exporter with --json")
	}
}

func TestJSONExporter_CompactInAPipeIndentedOnATTY(t *testing.T) {
	ios, _, out, _ := iostreams.Test()
	data := map[string]string{"url": "https://x.example/?a=1&b=2"}
	if err := (JSONExporter{}).Write(ios, data); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != `{"url":"https://x.example/?a=1&b=2"}`+"\n" {
		t.Fatalf("pipe output %q", got)
	}
	out.Reset()
	ios.SetStdoutTTY(true)
	if err := (JSONExporter{}).Write(ios, data); err != nil {
		t.Fatal(err)
	}
	var back map[string]string
	if err := json.Unmarshal(out.Bytes(), &back); err != nil || !strings.Contains(out.String(), "\n  ") {
		t.Fatalf("tty output %q (%v)", out.String(), err)
	}
}

func TestHTTPClient_SendsTokenOnlyToTheAPIHost(t *testing.T) {
	var gotAuth, gotUA string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotUA = r.Header.Get("Authorization"), r.Header.Get("User-Agent")
	}))
	defer api.Close()
	var otherAuth string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherAuth = r.Header.Get("Authorization")
	}))
	defer other.Close()

	f, stderr := testFactory(t, map[string]string{"MOBY_TOKEN": "sekret"})
	f.Flags.Host = api.URL
	f.Flags.Verbose = true
	client, err := f.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{api.URL + "/api/cli/balance", other.URL + "/elsewhere"} {
		resp, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if gotAuth != "Bearer sekret" || gotUA != "moby/1.2.3" {
		t.Fatalf("API got Authorization %q, User-Agent %q", gotAuth, gotUA)
	}
	if otherAuth != "" {
		t.Fatalf("token leaked to another host: %q", otherAuth)
	}
	if log := stderr.String(); !strings.Contains(log, "> GET "+api.URL+"/api/cli/balance") || !strings.Contains(log, "< 200 OK") || strings.Contains(log, "sekret") {
		t.Fatalf("verbose log %q", log)
	}
}
