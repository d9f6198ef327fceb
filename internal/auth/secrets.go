// Package auth holds Mobayilo's credentials: web sessions, magic links and
// password resets, personal access tokens, and device-login user codes. Every
// secret is random, shown once, and stored only as its SHA-256.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"math/big"
	"strings"
)

// Hash is how every secret is stored: hex SHA-256. The secrets carry 256
// random bits, so a plain hash (no salt, no stretching) cannot be reversed
// and allows lookup by value.
func Hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// NewSecret returns 256 random bits, URL-safe, for cookies and email links.
func NewSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("auth: crypto/rand failed: " + err.Error()) // the OS is broken; nothing is safe
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Personal access tokens look like moby_<43 base62 chars><6 base62 chars>:
// a prefix secret scanners can match, 256 random bits, and a CRC32 checksum
// of the random part so a mistyped or made-up token is refused without a
// database lookup.
const (
	TokenPrefix     = "moby_"
	tokenBodyLen    = 43 // ceil(256 / log2(62))
	tokenCheckLen   = 6  // ceil(32 / log2(62))
	TokenLength     = len(TokenPrefix) + tokenBodyLen + tokenCheckLen
	tokenHintPrefix = 4
)

// ErrTokenMalformed: not a Mobayilo token (wrong prefix, length, alphabet or
// checksum). Nothing was looked up.
var ErrTokenMalformed = errors.New("malformed token")

func encodeBase62(n *big.Int, width int) string {
	out := make([]byte, width)
	b := new(big.Int).Set(n)
	sixtyTwo := big.NewInt(62)
	mod := new(big.Int)
	for i := width - 1; i >= 0; i-- {
		b.DivMod(b, sixtyTwo, mod)
		out[i] = base62[mod.Int64()]
	}
	return string(out)
}

func checksum(body string) string {
	return encodeBase62(new(big.Int).SetUint64(uint64(crc32.ChecksumIEEE([]byte(body)))), tokenCheckLen)
}

// NewToken returns a fresh personal access token.
func NewToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("auth: crypto/rand failed: " + err.Error())
	}
	body := encodeBase62(new(big.Int).SetBytes(b), tokenBodyLen)
	return TokenPrefix + body + checksum(body)
}

// CheckToken validates a token's shape and checksum. Errors: ErrTokenMalformed.
func CheckToken(tok string) error {
	if len(tok) != TokenLength || !strings.HasPrefix(tok, TokenPrefix) {
		return ErrTokenMalformed
	}
	rest := tok[len(TokenPrefix):]
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(base62, rest[i]) < 0 {
			return ErrTokenMalformed
		}
	}
	body, sum := rest[:tokenBodyLen], rest[tokenBodyLen:]
	if checksum(body) != sum {
		return ErrTokenMalformed
	}
	return nil
}

// TokenHint is what lists show of a token: enough to recognise, not to use.
func TokenHint(tok string) string {
	if len(tok) < TokenLength {
		return TokenPrefix + "…"
	}
	return tok[:len(TokenPrefix)+tokenHintPrefix] + "…" + tok[len(tok)-4:]
}

// User codes for device login: 8 letters from an alphabet without vowels
// (no words) or look-alikes, shown as XXXX-XXXX (RFC 8628 §6.1).
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// NewUserCode returns 8 random characters from userCodeAlphabet.
func NewUserCode() string {
	out := make([]byte, 8)
	max := big.NewInt(int64(len(userCodeAlphabet)))
	for i := range out {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("auth: crypto/rand failed: " + err.Error())
		}
		out[i] = userCodeAlphabet[n.Int64()]
	}
	return string(out)
}

// FormatUserCode shows a user code as XXXX-XXXX.
func FormatUserCode(code string) string {
	if len(code) != 8 {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// NormalizeUserCode accepts what a person types (any case, dashes, spaces)
// and returns the 8-character code, or false if it cannot be one.
func NormalizeUserCode(in string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(in) {
		switch {
		case r == '-' || r == ' ':
			continue
		case strings.ContainsRune(userCodeAlphabet, r):
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != 8 {
		return "", false
	}
	return b.String(), true
}
