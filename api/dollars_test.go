package api

import "testing"

func TestParseDollars_AcceptsDollarAmountsAndNamesTheFormatOtherwise(t *testing.T) {
	for in, want := range map[string]int64{"5": 500, "5.5": 550, "12.34": 1234, "$20": 2000, " 7 ": 700, "5.": 500, "0": 0} {
		if got, err := parseDollars(in); err != nil || got != want {
			t.Errorf("parseDollars(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-5", "+5", "1.+5", "1.-5", "5.123", ".5", "abc", "1e3", "1,000", "1234567890", "$", "5 .5"} {
		if got, err := parseDollars(in); err == nil || err.Error() != "enter an amount in dollars, such as 20 or 12.50" {
			t.Errorf("parseDollars(%q) = %d, %v; want refused with the format named", in, got, err)
		}
	}
}
