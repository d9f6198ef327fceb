// Package shared is what `moby autotopup show` and `set` have in common: the
// one call to /api/cli/autotopup (its bodies are package wire's) and the
// settings as people read them.
package shared

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	authshared "github.com/mobayilo/mobayilo/internal/cli/auth/shared"
	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/wire"
)

// Call sends method to /api/cli/autotopup with body (nil for none) and
// decodes the settings. A refused token becomes an AuthError (exit 4); a
// refused value is a failure quoting the server's message.
func Call(ctx context.Context, client *http.Client, host, method string, body any) (wire.AutoTopUp, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return wire.AutoTopUp{}, err
		}
		rd = bytes.NewReader(b)
	}
	url := host + "/api/cli/autotopup"
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return wire.AutoTopUp{}, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return wire.AutoTopUp{}, authshared.Unreachable(url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return wire.AutoTopUp{}, authshared.Unreachable(url, err)
	}
	if resp.StatusCode/100 != 2 {
		ae := authshared.ReadAPIError(resp, raw)
		if ae.Code == wire.CodeOwnersOnly {
			return wire.AutoTopUp{}, errors.New("only the account's owner manages auto top-up")
		}
		return wire.AutoTopUp{}, authshared.Explain(ae, host, cmdutil.SourceNone)
	}
	var s wire.AutoTopUp
	if err := json.Unmarshal(raw, &s); err != nil {
		return wire.AutoTopUp{}, fmt.Errorf("unexpected answer from %s (is the host a Mobayilo server?): %w", url, err)
	}
	return s, nil
}

// Print writes the settings for a person.
func Print(w io.Writer, s wire.AutoTopUp) {
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
		fmt.Fprintf(w, "  Last attempt:             %s, %s, %s\n", strings.ReplaceAll(a.Status, "_", " "), money.Format(a.AmountCents), a.At.Format("2 Jan 2006 15:04 UTC"))
	}
}
