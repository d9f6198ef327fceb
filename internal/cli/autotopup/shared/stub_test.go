package shared

import "testing"

func TestParseDollars_ReadsDollarsAndCentsAndRefusesTheRest(t *testing.T) {
	for in, want := range map[string]int64{"20": 2000, "2.5": 250, "2.50": 250, "$100": 10000, " 0.05 ": 5} {
		if got, err := ParseDollars(in); err != nil || got != want {
			t.Errorf("ParseDollars(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-5", "2.", "2.555", "abc", "1e3", "99999999"} {
		if _, err := ParseDollars(in); err == nil {
			t.Errorf("ParseDollars(%q) accepted", in)
		}
	}
}
