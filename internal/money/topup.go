package money

import "errors"

// Minimum top-ups, in cents, by wallet. The server refuses less; the CLI
// refuses less than MinIndividualTopUpCents before asking, since no wallet
// takes less than that.
const (
	MinIndividualTopUpCents int64 = 500
	MinCompanyTopUpCents    int64 = 10000
)

// MinTopUpCents is the smallest top-up into a wallet: a company's takes
// MinCompanyTopUpCents, any other MinIndividualTopUpCents.
func MinTopUpCents(company bool) int64 {
	if company {
		return MinCompanyTopUpCents
	}
	return MinIndividualTopUpCents
}

// ErrTopUpAmount is wrapped by every *TopUpAmountError.
var ErrTopUpAmount = errors.New("top-up amount out of range")

// TopUpAmountError says why a top-up amount was refused and names the
// bound it broke.
type TopUpAmountError struct {
	AmountCents, MinCents, MaxCents int64
}

func (e *TopUpAmountError) Error() string {
	if e.AmountCents < e.MinCents {
		return "the minimum top-up is " + Format(e.MinCents)
	}
	return "the maximum top-up is " + Format(e.MaxCents)
}

// Is makes errors.Is(err, ErrTopUpAmount) true.
func (e *TopUpAmountError) Is(target error) bool { return target == ErrTopUpAmount }

// CheckTopUp returns a *TopUpAmountError unless minCents <= amountCents <=
// maxCents.
func CheckTopUp(amountCents, minCents, maxCents int64) error {
	if amountCents < minCents || amountCents > maxCents {
		return &TopUpAmountError{AmountCents: amountCents, MinCents: minCents, MaxCents: maxCents}
	}
	return nil
}
