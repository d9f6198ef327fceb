package deploycheck

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mobayilo/mobayilo/internal/config"
)

func TestEnvExample_ListsExactlyTheConfigVariables(t *testing.T) {
	f, err := os.Open(filepath.Join(repoRoot(t), ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	var listed []string
	prevComment := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			prevComment = false
		case strings.HasPrefix(line, "#"):
			prevComment = true
		default:
			name, _, ok := strings.Cut(line, "=")
			if !ok {
				t.Errorf(".env.example:%d: not NAME=value: %q", n, line)
				continue
			}
			if !prevComment {
				t.Errorf(".env.example:%d: %s has no comment line above it", n, name)
			}
			if slices.Contains(listed, name) {
				t.Errorf(".env.example:%d: %s is listed twice", n, name)
			}
			listed = append(listed, name)
			prevComment = false
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}

	want := config.VariableNames()
	for _, name := range want {
		if !slices.Contains(listed, name) {
			t.Errorf(".env.example does not list %s", name)
		}
	}
	for _, name := range listed {
		if !slices.Contains(want, name) {
			t.Errorf(".env.example lists %s, which internal/config does not read", name)
		}
	}
}

// A copied .env.example must start the app in sandbox mode: every value in
// it has to pass validation as is.
func TestEnvExample_ValuesAreAValidConfiguration(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	environ := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			k, v, _ := strings.Cut(line, "=")
			environ[k] = v
		}
	}
	c, err := config.Load(environ)
	if err != nil {
		t.Fatal(err)
	}
	if c.TwilioLive() || c.StripeLive() {
		t.Fatal(".env.example configures live providers")
	}
}
