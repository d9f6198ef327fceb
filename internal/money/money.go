// Package money is what the server and the moby CLI agree on about
// amounts: cents shown as dollars, dollars typed by people read as cents,
// and the top-up bounds. It imports only the standard library, so the CLI
// can use it without linking any server code.
package money

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Format shows cents as dollars for people: 500 → "$5.00", -250 → "-$2.50".
func Format(cents int64) string {
	sign, abs := magnitude(cents)
	return fmt.Sprintf("%s$%d.%02d", sign, abs/100, abs%100)
}

// FormatInput shows cents as a form field's value, which ParseDollars
// reads back: 2000 → "20", 250 → "2.50".
func FormatInput(cents int64) string {
	sign, abs := magnitude(cents)
	if abs%100 == 0 {
		return sign + strconv.FormatUint(abs/100, 10)
	}
	return fmt.Sprintf("%s%d.%02d", sign, abs/100, abs%100)
}

// magnitude splits cents into a sign and an absolute value; unsigned, so
// the most negative int64 has one too.
func magnitude(cents int64) (string, uint64) {
	if cents < 0 {
		return "-", uint64(-(cents + 1)) + 1
	}
	return "", uint64(cents)
}

// maxWholeDigits bounds the dollars ParseDollars takes (up to
// $999,999,999.99), far above any limit and far below int64 overflow.
const maxWholeDigits = 9

// ErrNotDollars is wrapped by every *ParseError.
var ErrNotDollars = errors.New("not an amount in dollars")

// Reason names what is wrong with a text that is not an amount in dollars.
type Reason string

// The reasons ParseDollars gives.
const (
	ReasonEmpty     Reason = "no amount was given"
	ReasonSign      Reason = "has a sign; give the amount without + or -"
	ReasonCharacter Reason = "has something other than digits and one decimal point"
	ReasonNoWhole   Reason = "needs a digit before the decimal point"
	ReasonDecimals  Reason = "has more than two digits after the decimal point"
	ReasonTooLarge  Reason = "is too large"
)

// ParseError says why a text is not an amount in dollars.
type ParseError struct {
	// Input is the text as given.
	Input  string
	Reason Reason
}

func (e *ParseError) Error() string {
	const hint = "enter an amount in dollars, such as 20 or 12.50"
	if e.Reason == ReasonEmpty {
		return string(e.Reason) + ": " + hint
	}
	return fmt.Sprintf("%q %s: %s", e.Input, e.Reason, hint)
}

// Is makes errors.Is(err, ErrNotDollars) true.
func (e *ParseError) Is(target error) bool { return target == ErrNotDollars }

// ParseDollars reads dollars as people type them into cents: digits, at
// most two decimals, an optional leading "$", spaces around ("5", "5.",
// "12.34", "$20", " 7 "). Signs are the caller's business: "-5" is
// refused. Errors: *ParseError.
func ParseDollars(s string) (int64, error) {
	in := s
	s = strings.TrimPrefix(strings.TrimSpace(s), "$")
	fail := func(r Reason) (int64, error) { return 0, &ParseError{Input: in, Reason: r} }
	if s == "" {
		return fail(ReasonEmpty)
	}
	if s[0] == '-' || s[0] == '+' {
		return fail(ReasonSign)
	}
	point := -1
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] >= '0' && s[i] <= '9':
		case s[i] == '.' && point < 0:
			point = i
		default:
			return fail(ReasonCharacter)
		}
	}
	whole, frac := s, ""
	if point >= 0 {
		whole, frac = s[:point], s[point+1:]
	}
	switch {
	case whole == "":
		return fail(ReasonNoWhole)
	case len(frac) > 2:
		return fail(ReasonDecimals)
	case len(whole) > maxWholeDigits:
		return fail(ReasonTooLarge)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	// Both are at most maxWholeDigits and 2 digits: they parse.
	d, _ := strconv.ParseInt(whole, 10, 64)
	c, _ := strconv.ParseInt(frac, 10, 64)
	return d*100 + c, nil
}
