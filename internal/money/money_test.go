package money

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestFormat_ShowsCentsAsDollarsWithTheSignInFront(t *testing.T) {
	for _, c := range []struct {
		cents int64
		want  string
	}{
		{0, "$0.00"},
		{5, "$0.05"},
		{99, "$0.99"},
		{100, "$1.00"},
		{1234, "$12.34"},
		{100000, "$1000.00"},
		{123456, "$1234.56"},
		{-5, "-$0.05"},
		{-105, "-$1.05"},
		{-250, "-$2.50"},
		{math.MaxInt64, "$92233720368547758.07"},
		{math.MinInt64, "-$92233720368547758.08"},
	} {
		if got := Format(c.cents); got != c.want {
			t.Errorf("Format(%d) = %q, want %q", c.cents, got, c.want)
		}
	}
}

func TestFormatInput_ShowsWholeDollarsBareAndCentsWithTwoDecimals(t *testing.T) {
	for _, c := range []struct {
		cents int64
		want  string
	}{
		{0, "0"}, {5, "0.05"}, {99, "0.99"}, {100, "1"}, {250, "2.50"}, {2000, "20"}, {123456, "1234.56"}, {-250, "-2.50"}, {-2000, "-20"},
	} {
		if got := FormatInput(c.cents); got != c.want {
			t.Errorf("FormatInput(%d) = %q, want %q", c.cents, got, c.want)
		}
	}
}

func TestFormatInput_ReadsBackThroughParseDollars(t *testing.T) {
	for _, cents := range []int64{0, 1, 5, 99, 100, 101, 250, 2000, 123456, 99999999999} {
		if got, err := ParseDollars(FormatInput(cents)); err != nil || got != cents {
			t.Errorf("ParseDollars(FormatInput(%d)) = %d, %v", cents, got, err)
		}
	}
}

// The accepted cases are those of the API's form parser (api/dollars_test.go)
// and of the CLI's two former parsers (moby topup, moby autotopup set).
func TestParseDollars_ReadsDigitsWithUpToTwoDecimalsAndAnOptionalDollarSign(t *testing.T) {
	for in, want := range map[string]int64{
		// the API's form parser
		"5": 500, "5.5": 550, "12.34": 1234, "$20": 2000, " 7 ": 700, "5.": 500, "0": 0,
		// moby topup
		"$12.34": 1234, "100": 10000, "0.99": 99,
		// moby autotopup set
		"20": 2000, "2.5": 250, "2.50": 250, "$100": 10000, " 0.05 ": 5,
		// moby autotopup set refused these two ("2." and more than seven
		// digits of dollars); the API took them, and its rule is the one kept.
		// The server still refuses amounts above its limits.
		"2.": 200, "99999999": 9999999900,
		// the bounds
		"999999999.99": 99999999999, "007": 700,
	} {
		if got, err := ParseDollars(in); err != nil || got != want {
			t.Errorf("ParseDollars(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

func TestParseDollars_RefusesAnythingElseNamingTheProblem(t *testing.T) {
	for in, want := range map[string]Reason{
		// the API's form parser
		"": ReasonEmpty, "-5": ReasonSign, "+5": ReasonSign, "1.+5": ReasonCharacter, "1.-5": ReasonCharacter,
		"5.123": ReasonDecimals, ".5": ReasonNoWhole, "abc": ReasonCharacter, "1e3": ReasonCharacter,
		"1,000": ReasonCharacter, "1234567890": ReasonTooLarge, "$": ReasonEmpty, "5 .5": ReasonCharacter,
		// moby topup
		"five": ReasonCharacter, "5.555": ReasonDecimals, "99999999999": ReasonTooLarge,
		// moby autotopup set
		"2.555": ReasonDecimals,
		// more
		"   ": ReasonEmpty, "$$5": ReasonCharacter, "1.2.3": ReasonCharacter, ".": ReasonNoWhole, "5$": ReasonCharacter,
		"１２": ReasonCharacter, "0x10": ReasonCharacter, "1_000": ReasonCharacter, "-$5": ReasonSign,
	} {
		got, err := ParseDollars(in)
		var pe *ParseError
		if !errors.As(err, &pe) || !errors.Is(err, ErrNotDollars) || pe.Reason != want || pe.Input != in || got != 0 {
			t.Errorf("ParseDollars(%q) = %d, %v; want a *ParseError saying %q", in, got, err, want)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, string(want)) || !strings.HasSuffix(msg, "enter an amount in dollars, such as 20 or 12.50") {
			t.Errorf("ParseDollars(%q): message %q does not name the problem and the format", in, msg)
		}
		if want != ReasonEmpty && !strings.HasPrefix(msg, strconv.Quote(in)+" ") {
			t.Errorf("ParseDollars(%q): message %q does not quote the input", in, msg)
		}
	}
}
