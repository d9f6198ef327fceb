package wire

import "time"

// CallerIDRequest starts a caller-ID verification (POST /api/cli/caller-id
// and /api/caller-id): a number in any common form, read with Country when
// it has no country code.
type CallerIDRequest struct {
	Number  string `json:"number"`
	Country string `json:"country,omitempty"`
}

// CallerIDConfirm is an SMS code; Number and Country are the older form's
// and optional: without them the account's pending number is meant.
type CallerIDConfirm struct {
	Code    string `json:"code"`
	Number  string `json:"number,omitempty"`
	Country string `json:"country,omitempty"`
}

// CallerID is one number's verification as the page and the CLI show it.
type CallerID struct {
	Number  string `json:"number"`
	Country string `json:"country"`
	State   string `json:"state"`
	// Message explains the state in a sentence (what to do next).
	Message string `json:"message"`
	// ValidationCode is the 6-digit code to key in on the phone while
	// Twilio's validation call rings (awaiting_call only).
	ValidationCode string     `json:"validation_code,omitempty"`
	CodeAttempts   int        `json:"code_attempts"`
	Approved       *bool      `json:"approved,omitempty"`
	VerifiedAt     *time.Time `json:"verified_at,omitempty"`
}

// CallerIDStatus is GET /api/cli/caller-id: the caller ID calls go out
// with, and every number's verification.
type CallerIDStatus struct {
	CallerID  string     `json:"caller_id"`
	Verified  bool       `json:"verified"`
	CallerIDs []CallerID `json:"caller_ids"`
}

// CallerIDRemoval is DELETE /api/cli/caller-id's answer: the numbers
// removed, and the caller ID calls go out with now.
type CallerIDRemoval struct {
	Removed  []string `json:"removed"`
	CallerID string   `json:"caller_id"`
	Verified bool     `json:"verified"`
}
