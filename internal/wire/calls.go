package wire

import "time"

// Call is a call as POST /api/calls, GET /api/calls/:id and its event
// stream answer it. The authorisation's fields (call_id, to, to_national,
// country, price_per_minute_cents, max_minutes, caller_id) are the issue's
// contract; the rest fill in as the call goes.
type Call struct {
	CallID              string `json:"call_id"`
	To                  string `json:"to"`
	ToNational          string `json:"to_national"`
	Country             string `json:"country"`
	PricePerMinuteCents int64  `json:"price_per_minute_cents"`
	PricePerMinute      string `json:"price_per_minute"`
	// MaxMinutes are the whole minutes the call's hold covers.
	MaxMinutes int64  `json:"max_minutes"`
	CallerID   string `json:"caller_id"`
	// Status is authorized, dialing, ringing, in-progress, or final:
	// completed, busy, no-answer, failed, canceled, expired.
	Status    string     `json:"status"`
	ExpiresAt time.Time  `json:"expires_at"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	// DurationSeconds, BilledMinutes and CostCents are set once billed.
	DurationSeconds *int64 `json:"duration_seconds,omitempty"`
	BilledMinutes   *int64 `json:"billed_minutes,omitempty"`
	CostCents       *int64 `json:"cost_cents,omitempty"`
	Cost            string `json:"cost,omitempty"`
	// BalanceCents is the wallet's balance once the call is billed.
	BalanceCents *int64    `json:"balance_cents,omitempty"`
	Balance      string    `json:"balance,omitempty"`
	CreatedAt    time.Time `json:"created_at,omitzero"`
}

// NewCall is POST /api/calls's body: the number as typed, and the country
// to read a national number with.
type NewCall struct {
	To      string `json:"to"`
	Country string `json:"country,omitempty"`
}

// VoiceToken is GET /api/calls/token: a Twilio Voice access token for the
// browser. Sandbox says the dialer calls through the sandbox carrier.
type VoiceToken struct {
	Token     string    `json:"token"`
	Identity  string    `json:"identity"`
	ExpiresAt time.Time `json:"expires_at"`
	Sandbox   bool      `json:"sandbox"`
}

// RecentNumbers is GET /api/calls/recent: the account's last unique
// destinations, newest first.
type RecentNumbers struct {
	Numbers []RecentNumber `json:"numbers"`
}

// RecentNumber is one destination to redial.
type RecentNumber struct {
	To           string    `json:"to"`
	ToNational   string    `json:"to_national"`
	Country      string    `json:"country"`
	LastCalledAt time.Time `json:"last_called_at"`
}

// SandboxConnect is the sandbox carrier's answer to the dialer's connect:
// the browser leg's SID, or what the voice webhook said instead of dialing.
type SandboxConnect struct {
	CallSID string `json:"call_sid"`
	Refused string `json:"refused,omitempty"`
}

// HistoryCall is one call as `moby history` shows it; the field names are
// the contract. DurationSeconds, BilledMinutes and CostCents are
// null until the call is billed; Seat is who placed it in a company (null
// for an individual's calls).
type HistoryCall struct {
	CallID          string    `json:"call_id"`
	To              string    `json:"to"`
	Status          string    `json:"status"`
	StartedAt       time.Time `json:"started_at"`
	DurationSeconds *int64    `json:"duration_seconds"`
	BilledMinutes   *int64    `json:"billed_minutes"`
	CostCents       *int64    `json:"cost_cents"`
	Seat            *string   `json:"seat"`
}

// History is GET /api/cli/history: the calls that match, newest first, and
// how many match in all.
type History struct {
	Calls []HistoryCall `json:"calls"`
	Total int64         `json:"total"`
}

// RateQuote is GET /api/cli/rates: what a minute to the destination costs
// the caller and how many whole minutes the available balance buys; the
// field names are the contract.
type RateQuote struct {
	PricePerMinuteCents int64 `json:"price_per_minute_cents"`
	MinutesAtBalance    int64 `json:"minutes_at_balance"`
}

// Bridge call statuses (BridgeCall.Status): Twilio rings the owner's phone,
// then the destination; the call talks; both legs are billed.
const (
	BridgeRingingOwner       = "ringing-owner"
	BridgeRingingDestination = "ringing-destination"
	BridgeInProgress         = "in-progress"
	BridgeEnded              = "ended"
)

// BridgeCall is POST /api/cli/calls's answer and GET /api/cli/calls/:id:
// a `moby call`, with both its legs. CallID is the destination leg's call
// id, which names the bridge (hang-up and state use it). To, ToNational,
// Country and CountryGuessed say how the number typed was read
// (CountryGuessed only in POST's answer: read in the verified number's
// country because it had no country code and none was given).
type BridgeCall struct {
	CallID         string `json:"call_id"`
	To             string `json:"to"`
	ToNational     string `json:"to_national"`
	Country        string `json:"country"`
	CountryGuessed bool   `json:"country_guessed"`
	// CallerID is the verified number the destination sees.
	CallerID string `json:"caller_id"`
	// MaxMinutes bound both legs: available / (both legs' prices).
	MaxMinutes  int64     `json:"max_minutes"`
	Status      string    `json:"status"`
	Owner       BridgeLeg `json:"owner"`
	Destination BridgeLeg `json:"destination"`
	// TotalCostCents and BalanceCents are set once both legs are billed.
	TotalCostCents *int64 `json:"total_cost_cents,omitempty"`
	TotalCost      string `json:"total_cost,omitempty"`
	BalanceCents   *int64 `json:"balance_cents,omitempty"`
	Balance        string `json:"balance,omitempty"`
}

// BridgeLeg is one leg of a bridge call: the owner's phone or the
// destination, each billed per started minute at its own rate.
type BridgeLeg struct {
	CallID              string     `json:"call_id"`
	To                  string     `json:"to"`
	Status              string     `json:"status"`
	PricePerMinuteCents int64      `json:"price_per_minute_cents"`
	PricePerMinute      string     `json:"price_per_minute"`
	AnsweredAt          *time.Time `json:"answered_at,omitempty"`
	DurationSeconds     *int64     `json:"duration_seconds,omitempty"`
	BilledMinutes       *int64     `json:"billed_minutes,omitempty"`
	CostCents           *int64     `json:"cost_cents,omitempty"`
	Cost                string     `json:"cost,omitempty"`
}
