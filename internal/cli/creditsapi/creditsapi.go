// Package creditsapi is the moby client of the credits API (/api/cli/
// balance, topups, transactions), shared by the balance, topup and
// transactions verbs. The bodies are package wire's, as the server sends
// them.
package creditsapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mobayilo/mobayilo/internal/cli/auth/shared"
	"github.com/mobayilo/mobayilo/internal/wire"
)

// GetBalance reads the wallet.
func GetBalance(ctx context.Context, c *http.Client, host string) (wire.Balance, error) {
	var b wire.Balance
	return b, Call(ctx, c, http.MethodGet, host+"/api/cli/balance", nil, &b)
}

// createTopUpTries bounds CreateTopUp's attempts; createTopUpBackoff is the
// first pause between them (it doubles).
const createTopUpTries = 3

var createTopUpBackoff = time.Second

// CreateTopUp starts a top-up and returns its checkout URL. One
// Idempotency-Key covers every attempt, so a retry after a lost answer
// (network drop, timeout, 502) gets the same top-up and checkout, never a
// second one.
func CreateTopUp(ctx context.Context, c *http.Client, host string, amountCents int64, saveCard bool) (wire.TopUp, error) {
	key, err := newRequestKey()
	if err != nil {
		return wire.TopUp{}, err
	}
	hdr := http.Header{"Idempotency-Key": {key}}
	body := wire.NewTopUp{AmountCents: amountCents, SaveCard: saveCard}
	wait := createTopUpBackoff
	for try := 1; ; try++ {
		var t wire.TopUp
		err := call(ctx, c, http.MethodPost, host+"/api/cli/topups", hdr, body, &t)
		if err == nil || try == createTopUpTries || !retryable(err) {
			return t, err
		}
		select {
		case <-ctx.Done():
			return t, err
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// retryable: the request may not have arrived, or the server could not
// finish it; anything it did answer about the request itself is final.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var api *shared.APIError
	if errors.As(err, &api) {
		return api.Status == http.StatusBadGateway || api.Status == http.StatusServiceUnavailable || api.Status == http.StatusGatewayTimeout
	}
	return true
}

func newRequestKey() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a request key: %w", err)
	}
	return "moby-" + hex.EncodeToString(b), nil
}

// GetTopUp reads a top-up's status and the wallet's balance.
func GetTopUp(ctx context.Context, c *http.Client, host, id string) (wire.TopUp, error) {
	var t wire.TopUp
	return t, Call(ctx, c, http.MethodGet, host+"/api/cli/topups/"+url.PathEscape(id), nil, &t)
}

// ListTransactions reads one page of transactions before the cursor (0:
// the newest).
func ListTransactions(ctx context.Context, c *http.Client, host string, before int64, limit int) (wire.Transactions, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if before > 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	var t wire.Transactions
	return t, Call(ctx, c, http.MethodGet, host+"/api/cli/transactions?"+q.Encode(), nil, &t)
}

// Call sends in as JSON (when not nil) and decodes the answer into out. An
// error answer is a *shared.APIError; shared.Explain words it.
func Call(ctx context.Context, c *http.Client, method, u string, in, out any) error {
	return call(ctx, c, method, u, nil, in, out)
}

func call(ctx context.Context, c *http.Client, method, u string, hdr http.Header, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return shared.Unreachable(u, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return shared.Unreachable(u, err)
	}
	if resp.StatusCode/100 != 2 {
		return shared.ReadAPIError(resp, raw)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("unexpected answer from %s: %w", u, err)
	}
	return nil
}

// HistoryQuery is `moby history`'s filter; zero fields are not sent.
type HistoryQuery struct {
	Status, Since, Until string
	Limit                int
}

// ListHistory reads the caller's calls, newest first.
func ListHistory(ctx context.Context, c *http.Client, host string, q HistoryQuery) (wire.History, error) {
	v := url.Values{}
	for k, s := range map[string]string{"status": q.Status, "since": q.Since, "until": q.Until} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var h wire.History
	return h, Call(ctx, c, http.MethodGet, host+"/api/cli/history?"+v.Encode(), nil, &h)
}

// GetRate reads the price of a minute to a destination (an ISO country
// code or a number, read with country when national) for the caller.
func GetRate(ctx context.Context, c *http.Client, host, destination, country string) (wire.RateQuote, error) {
	v := url.Values{"q": {destination}}
	if country != "" {
		v.Set("country", country)
	}
	var r wire.RateQuote
	return r, Call(ctx, c, http.MethodGet, host+"/api/cli/rates?"+v.Encode(), nil, &r)
}
