// Package wire holds the JSON bodies of the CLI API (/api/cli/...), the
// error body every API answer shares, and the codes and statuses the CLI
// compares against. The handlers in package api encode them and the moby
// CLI decodes them, so both sides read one definition. It imports only the
// standard library: the CLI binary links no server code through it.
//
// Amounts are integer cents; a string beside one is the same amount
// formatted for people (money.Format). The field names are a public
// contract: scripts read them through `moby ... --json`.
package wire

import "time"

// ErrorBody is the JSON shape of every API error:
// {"error":{"code":"…","message":"…"}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail carries a stable machine code and a message for people.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes the CLI acts on. The API answers others too; the CLI shows
// their message.
const (
	CodeTokenMissing     = "token_missing"
	CodeTokenMalformed   = "token_malformed"
	CodeTokenBadChecksum = "token_bad_checksum"
	CodeTokenRevoked     = "token_revoked"
	CodeTokenExpired     = "token_expired"
	CodeAccountDisabled  = "account_disabled"
	CodeOwnersOnly       = "owners_only"
	// CodeCallerIDRequired (409): `moby call` needs a verified caller ID;
	// moby exits with ExitPrecondition.
	CodeCallerIDRequired = "caller_id_required"
)

// Me is GET /api/cli/me: who a token acts as.
type Me struct {
	User    User      `json:"user"`
	Account MeAccount `json:"account"`
	Token   Token     `json:"token"`
}

// User is the person a token acts as.
type User struct {
	ID      int64  `json:"id"`
	Email   string `json:"email"`
	Role    string `json:"role"`
	IsAdmin bool   `json:"is_admin"`
}

// Account is the wallet the user spends from, amounts in cents only: the
// --json shape of `moby auth login` and `moby auth status`.
type Account struct {
	ID           int64  `json:"id"`
	Kind         string `json:"kind"`
	Name         string `json:"name"`
	Status       string `json:"status"`
	BalanceCents int64  `json:"balance_cents"`
}

// MeAccount is the account as /api/cli/me sends it: with its balance
// formatted too.
type MeAccount struct {
	Account
	Balance string `json:"balance"`
}

// Token describes the token itself; never its value.
type Token struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Source    string     `json:"source"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	Scopes    []string   `json:"scopes"`
}

// TokenRevoked answers DELETE /api/cli/token (and POST /api/cli/token/revoke).
type TokenRevoked struct {
	Revoked TokenRef `json:"revoked"`
}

// TokenRef names a token.
type TokenRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Balance is GET /api/cli/balance.
type Balance struct {
	BalanceCents      int64  `json:"balance_cents"`
	Balance           string `json:"balance"`
	AvailableCents    int64  `json:"available_cents"`
	Available         string `json:"available"`
	MinimumTopUpCents int64  `json:"minimum_topup_cents"`
}

// Transaction is one ledger entry.
type Transaction struct {
	ID                int64  `json:"id"`
	Kind              string `json:"kind"`
	AmountCents       int64  `json:"amount_cents"`
	Amount            string `json:"amount"`
	BalanceAfterCents int64  `json:"balance_after_cents"`
	Description       string `json:"description"`
	// CreatedAt is RFC 3339, in UTC.
	CreatedAt string `json:"created_at"`
}

// Transactions is GET /api/cli/transactions: one page, newest first;
// NextBefore, when set, is the cursor of the next page.
type Transactions struct {
	Transactions []Transaction `json:"transactions"`
	NextBefore   int64         `json:"next_before,omitempty"`
}
