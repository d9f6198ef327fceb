package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/mobayilo/mobayilo/internal/callerid"
	"github.com/mobayilo/mobayilo/internal/ledger"
)

// Activities of the CallerIDVerification workflow: its gate and its record
// in our database (Twilio's steps are in twilio.go).

// CallerIDs is what the caller-ID activities need of internal/callerid.
type CallerIDs interface {
	Gate(ctx context.Context, accountID int64) error
	Record(ctx context.Context, p callerid.Progress) error
}

// CallerIDGateResult says whether the account may verify a caller ID now;
// Reason is the refusal's message for the page and the CLI.
type CallerIDGateResult struct {
	Allowed bool
	Reason  string
}

// CheckCallerIDGate checks the balance gate (and that the account is an
// active individual one). A refusal is a result, not an error.
func (a *Activities) CheckCallerIDGate(ctx context.Context, accountID int64) (CallerIDGateResult, error) {
	err := a.CallerIDs.Gate(ctx, accountID)
	var be *callerid.BalanceError
	switch {
	case err == nil:
		return CallerIDGateResult{Allowed: true}, nil
	case errors.As(err, &be), errors.Is(err, callerid.ErrCompanyAccount), errors.Is(err, ledger.ErrAccountDisabled):
		return CallerIDGateResult{Reason: err.Error()}, nil
	}
	return CallerIDGateResult{}, fmt.Errorf("caller-id gate: %w", err)
}

// CallerIDProgress is one recorded step of a verification.
type CallerIDProgress = callerid.Progress

// RecordCallerID writes the verification's state to the number's row.
func (a *Activities) RecordCallerID(ctx context.Context, p CallerIDProgress) error {
	return a.CallerIDs.Record(ctx, p)
}
