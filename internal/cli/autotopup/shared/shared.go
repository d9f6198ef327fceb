// Package shared is what `moby autotopup show` and `set` have in common: the
// wire shapes of /api/cli/autotopup and the one call that talks to it.
package shared

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	authshared "github.com/mobayilo/mobayilo/internal/cli/auth/shared"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
)

// Settings is GET/PUT /api/cli/autotopup and the --json shape of both verbs:
// amounts in integer cents beside their formatted strings.
type Settings struct {
	Enabled        bool         `json:"enabled"`
	ThresholdCents int64        `json:"threshold_cents"`
	Threshold      string       `json:"threshold"`
	AmountCents    int64        `json:"amount_cents"`
	Amount         string       `json:"amount"`
	DailyMaxCount  int          `json:"daily_max_count"`
	DailyMaxCents  int64        `json:"daily_max_cents"`
	DailyMax       string       `json:"daily_max"`
	Card           *Card        `json:"card"`
	LastAttempt    *LastAttempt `json:"last_attempt"`
}

// Card is the saved card.
type Card struct {
	Brand string `json:"brand"`
	Last4 string `json:"last4"`
}

// LastAttempt is the latest off-session charge.
type LastAttempt struct {
	Status      string    `json:"status"`
	AmountCents int64     `json:"amount_cents"`
	DeclineCode string    `json:"decline_code,omitempty"`
	At          time.Time `json:"at"`
}

// Update is the PUT body: only the fields set change.
type Update struct {
	Enabled        *bool  `json:"enabled,omitempty"`
	ThresholdCents *int64 `json:"threshold_cents,omitempty"`
	AmountCents    *int64 `json:"amount_cents,omitempty"`
	DailyMaxCount  *int   `json:"daily_max_count,omitempty"`
	DailyMaxCents  *int64 `json:"daily_max_cents,omitempty"`
}

// Call sends method to /api/cli/autotopup with body (nil for none) and
// decodes the settings. A refused token becomes an AuthError (exit 4); a
// refused value is a failure quoting the server's message.
func Call(ctx context.Context, client *http.Client, host, method string, body any) (Settings, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return Settings{}, err
		}
		rd = bytes.NewReader(b)
	}
	url := host + "/api/cli/autotopup"
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return Settings{}, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return Settings{}, authshared.Unreachable(url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Settings{}, authshared.Unreachable(url, err)
	}
	if resp.StatusCode/100 != 2 {
		var eb struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.Unmarshal(raw, &eb)
		ae := &authshared.APIError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message, RetryAfter: resp.Header.Get("Retry-After")}
		if ae.Code == "owners_only" {
			return Settings{}, errors.New("only the account's owner manages auto top-up")
		}
		return Settings{}, authshared.Explain(ae, host, cmdutil.SourceNone)
	}
	var s Settings
	if err := json.Unmarshal(raw, &s); err != nil {
		return Settings{}, fmt.Errorf("unexpected answer from %s (is the host a Mobayilo server?): %w", url, err)
	}
	return s, nil
}

// ParseDollars reads "20", "2.5", "2.50" or "$20" as cents.
func ParseDollars(s string) (int64, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "$")
	whole, frac, hasFrac := strings.Cut(s, ".")
	bad := fmt.Errorf("%q is not an amount in dollars, like 20 or 2.50", s)
	if whole == "" || len(whole) > 7 || (hasFrac && (frac == "" || len(frac) > 2)) {
		return 0, bad
	}
	d, err := strconv.ParseUint(whole, 10, 32)
	if err != nil {
		return 0, bad
	}
	var c uint64
	if hasFrac {
		if len(frac) == 1 {
			frac += "0"
		}
		if c, err = strconv.ParseUint(frac, 10, 8); err != nil {
			return 0, bad
		}
	}
	return int64(d)*100 + int64(c), nil
}

// Print writes the settings for a person.
func Print(w io.Writer, s Settings) {
	state := "off"
	if s.Enabled {
		state = "on"
	}
	fmt.Fprintf(w, "Auto top-up: %s\n", state)
	fmt.Fprintf(w, "  When balance falls below: %s\n", s.Threshold)
	fmt.Fprintf(w, "  Add:                      %s\n", s.Amount)
	fmt.Fprintf(w, "  Daily limit:              %d top-ups, %s\n", s.DailyMaxCount, s.DailyMax)
	if s.Card != nil {
		fmt.Fprintf(w, "  Card:                     %s ending in %s\n", s.Card.Brand, s.Card.Last4)
	} else {
		fmt.Fprintln(w, "  Card:                     none saved (save one on the website's Auto top-up page)")
	}
	if a := s.LastAttempt; a != nil {
		fmt.Fprintf(w, "  Last attempt:             %s, $%d.%02d, %s\n", strings.ReplaceAll(a.Status, "_", " "), a.AmountCents/100, a.AmountCents%100, a.At.Format("2 Jan 2006 15:04 UTC"))
	}
}
