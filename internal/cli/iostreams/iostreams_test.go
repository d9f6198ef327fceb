package iostreams

import "testing"

func TestColor_OnlyOnATTYAndNeverWithNoColor(t *testing.T) {
	cases := []struct {
		name    string
		tty     bool
		noColor bool
		want    bool
	}{
		{"tty", true, false, true},
		{"pipe", false, false, false},
		{"tty with NO_COLOR", true, true, false},
		{"pipe with NO_COLOR", false, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ios, _, _, _ := Test()
			ios.SetStdoutTTY(tc.tty)
			ios.SetNoColor(tc.noColor)
			if got := ios.ColorEnabled(); got != tc.want {
				t.Fatalf("ColorEnabled() = %v, want %v", got, tc.want)
			}
			red := ios.ColorScheme().Red("boom")
			if plain := red == "boom"; plain == tc.want {
				t.Fatalf("Red(%q) = %q with colour %v", "boom", red, tc.want)
			}
		})
	}
}

func TestSystem_NoColorEnvironmentVariableDisablesColour(t *testing.T) {
	env := map[string]string{"NO_COLOR": "1"}
	ios := System(func(k string) string { return env[k] })
	ios.SetStdoutTTY(true)
	ios.SetStderrTTY(true)
	if ios.ColorEnabled() || ios.ErrColorEnabled() {
		t.Fatal("colour enabled although NO_COLOR is set")
	}
}

func TestSystem_EmptyNoColorKeepsColourOnATTY(t *testing.T) {
	ios := System(func(string) string { return "" })
	ios.SetStdoutTTY(true)
	if !ios.ColorEnabled() {
		t.Fatal("colour disabled on a TTY without NO_COLOR")
	}
}

func TestTest_StreamsAreBuffersAndNotTTYs(t *testing.T) {
	ios, in, out, errOut := Test()
	in.WriteString("typed")
	ios.Out.Write([]byte("data"))
	ios.ErrOut.Write([]byte("message"))
	if out.String() != "data" || errOut.String() != "message" {
		t.Fatalf("stdout %q, stderr %q", out, errOut)
	}
	if ios.IsStdinTTY() || ios.IsStdoutTTY() || ios.IsStderrTTY() {
		t.Fatal("test streams claim to be a TTY")
	}
}
