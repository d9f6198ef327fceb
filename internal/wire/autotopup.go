package wire

import "time"

// AutoTopUp is GET and PUT /api/cli/autotopup, and the --json shape of
// `moby autotopup show` and `set`.
type AutoTopUp struct {
	Enabled        bool              `json:"enabled"`
	ThresholdCents int64             `json:"threshold_cents"`
	Threshold      string            `json:"threshold"`
	AmountCents    int64             `json:"amount_cents"`
	Amount         string            `json:"amount"`
	DailyMaxCount  int               `json:"daily_max_count"`
	DailyMaxCents  int64             `json:"daily_max_cents"`
	DailyMax       string            `json:"daily_max"`
	Card           *AutoTopUpCard    `json:"card"`
	LastAttempt    *AutoTopUpAttempt `json:"last_attempt"`
}

// AutoTopUpCard is the saved card as shown.
type AutoTopUpCard struct {
	Brand string `json:"brand"`
	Last4 string `json:"last4"`
}

// AutoTopUpAttempt is the latest off-session charge.
type AutoTopUpAttempt struct {
	// Status is the attempt's state (succeeded, soft_decline, hard_decline,
	// needs_authentication, ...), shown as it comes.
	Status      string    `json:"status"`
	AmountCents int64     `json:"amount_cents"`
	DeclineCode string    `json:"decline_code,omitempty"`
	At          time.Time `json:"at"`
}

// AutoTopUpUpdate is the body of PUT /api/cli/autotopup: only the fields
// given change.
type AutoTopUpUpdate struct {
	Enabled        *bool  `json:"enabled,omitempty"`
	ThresholdCents *int64 `json:"threshold_cents,omitempty"`
	AmountCents    *int64 `json:"amount_cents,omitempty"`
	DailyMaxCount  *int   `json:"daily_max_count,omitempty"`
	DailyMaxCents  *int64 `json:"daily_max_cents,omitempty"`
}
