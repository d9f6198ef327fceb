package ledger

import (
	"errors"
	"fmt"
)

// Domain errors. Check them with errors.Is; api maps them to HTTP statuses.
var (
	// ErrInsufficientFunds: the debit or hold would take the available
	// balance (balance minus active holds) below zero. Nothing was written.
	ErrInsufficientFunds = errors.New("insufficient funds")
	// ErrIdempotencyConflict: the idempotency key was already used for a
	// posting with different content. Nothing was written.
	ErrIdempotencyConflict = errors.New("idempotency key already used for a different posting")
	// ErrAccountNotFound: no account has that id.
	ErrAccountNotFound = errors.New("account not found")
	// ErrAccountDisabled: the account is disabled and the operation is not
	// one that may still touch a disabled account.
	ErrAccountDisabled = errors.New("account is disabled")
	// ErrHoldNotFound: no hold has that id.
	ErrHoldNotFound = errors.New("hold not found")
	// ErrHoldSettled: the hold was already captured or released.
	ErrHoldSettled = errors.New("hold already settled")
	// ErrCaptureExceedsHold: a capture may be smaller than its hold, never larger.
	ErrCaptureExceedsHold = errors.New("capture exceeds hold")
	// ErrSelfAdjustment: an operator tried to adjust their own wallet.
	ErrSelfAdjustment = errors.New("operators cannot adjust their own wallet; ask another operator")
	// ErrInvalid is wrapped by every *ValidationError.
	ErrInvalid = errors.New("invalid ledger request")
)

// ValidationError names the field of a request that is wrong. It matches
// ErrInvalid with errors.Is.
type ValidationError struct {
	Field   string
	Problem string
}

func (e *ValidationError) Error() string { return fmt.Sprintf("%s %s", e.Field, e.Problem) }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, problem string) error { return &ValidationError{Field: field, Problem: problem} }
