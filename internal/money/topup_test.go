package money

import (
	"errors"
	"testing"
)

func TestMinTopUpCents_IsFiveDollarsAndAHundredForCompanies(t *testing.T) {
	if got := MinTopUpCents(false); got != 500 {
		t.Errorf("individual minimum = %d, want 500", got)
	}
	if got := MinTopUpCents(true); got != 10000 {
		t.Errorf("company minimum = %d, want 10000", got)
	}
}

func TestCheckTopUp_RefusesOutsideTheBoundsNamingTheBoundBroken(t *testing.T) {
	for _, c := range []struct {
		amount, min, max int64
		says             string
	}{
		{499, 500, 100000, "the minimum top-up is $5.00"},
		{0, 500, 100000, "the minimum top-up is $5.00"},
		{-500, 500, 100000, "the minimum top-up is $5.00"},
		{9999, 10000, 100000, "the minimum top-up is $100.00"},
		{100001, 500, 100000, "the maximum top-up is $1000.00"},
	} {
		err := CheckTopUp(c.amount, c.min, c.max)
		var ae *TopUpAmountError
		if !errors.Is(err, ErrTopUpAmount) || !errors.As(err, &ae) || err.Error() != c.says ||
			ae.AmountCents != c.amount || ae.MinCents != c.min || ae.MaxCents != c.max {
			t.Errorf("CheckTopUp(%d, %d, %d) = %v; want %q", c.amount, c.min, c.max, err, c.says)
		}
	}
	for _, c := range [][3]int64{{500, 500, 100000}, {100000, 500, 100000}, {10000, 10000, 100000}} {
		if err := CheckTopUp(c[0], c[1], c[2]); err != nil {
			t.Errorf("CheckTopUp%v refused: %v", c, err)
		}
	}
}
