package iostreams

// ColorScheme wraps text in ANSI styles when colour is enabled.
type ColorScheme struct{ enabled bool }

// Enabled reports whether the scheme emits escape codes.
func (c *ColorScheme) Enabled() bool { return c.enabled }

func (c *ColorScheme) wrap(code, s string) string {
	if !c.enabled || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// Bold styles s in bold.
func (c *ColorScheme) Bold(s string) string { return c.wrap("1", s) }

// Red styles s in red, for failures.
func (c *ColorScheme) Red(s string) string { return c.wrap("31", s) }

// Green styles s in green, for successes.
func (c *ColorScheme) Green(s string) string { return c.wrap("32", s) }

// Yellow styles s in yellow, for warnings.
func (c *ColorScheme) Yellow(s string) string { return c.wrap("33", s) }

// Gray styles s in gray, for secondary detail.
func (c *ColorScheme) Gray(s string) string { return c.wrap("90", s) }

// SuccessIcon is a green check mark.
func (c *ColorScheme) SuccessIcon() string { return c.Green("✓") }

// FailureIcon is a red cross.
func (c *ColorScheme) FailureIcon() string { return c.Red("X") }

// WarningIcon is a yellow exclamation mark.
func (c *ColorScheme) WarningIcon() string { return c.Yellow("!") }
