package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/wire"
)

// Limits of the CLI API and of token creation. The counters live in the
// database (handlers.limit), so they hold across API processes.
const (
	cliPerIPPerMinute   = 300
	cliPerUserPerMinute = 120
)

// CLIScope is the scope of tokens made on the Settings page: the whole CLI
// API under /api/cli.
const CLIScope = "cli"

// registerCLI adds the CLI API (/api/cli/*, bearer tokens). The
// device-login endpoints under /api/cli/device are registerDevice's and take
// no token; tokens are made on the Settings page (settings.go).
func (h *handlers) registerCLI(r gin.IRouter) {
	// Order matters: the shape check needs no database, so garbage is
	// refused before the per-IP counter is touched; the per-user limit needs
	// the principal that bearer sets.
	cli := r.Group("/api/cli", cliTokenShape(),
		h.limit("cli-ip", cliPerIPPerMinute, time.Minute, byIP),
		h.bearer(),
		h.limit("cli-user", cliPerUserPerMinute, time.Minute, byUser))
	cli.GET("/me", h.cliMe)
	cli.DELETE("/token", h.cliRevokeOwnToken)
	cli.POST("/token/revoke", h.cliRevokeOwnToken)
	h.registerCLICalls(cli)
	h.registerBridgeCalls(cli)
	h.registerCallerIDRoutes(cli)
}

var (
	errTokenMissing = &requestError{status: http.StatusUnauthorized, code: wire.CodeTokenMissing,
		message: "missing bearer token: send Authorization: Bearer <token> (run `moby auth login`)"}
	errTokenChecksum = &requestError{status: http.StatusUnauthorized, code: wire.CodeTokenBadChecksum,
		message: "this token's checksum is wrong: it was mistyped or cut short; copy it again or run `moby auth login`"}
)

// cliTokenShape refuses a missing, malformed or mis-checksummed bearer
// token with its own error code, without any database work. bearer repeats
// the shape check; this one only makes the answer precise and cheap.
func cliTokenShape() gin.HandlerFunc {
	return func(c *gin.Context) {
		hdr := c.GetHeader("Authorization")
		scheme, tok, _ := strings.Cut(hdr, " ")
		tok = strings.TrimSpace(tok)
		var err error
		switch {
		case hdr == "" || !strings.EqualFold(scheme, "Bearer") || tok == "":
			err = errTokenMissing
		case auth.CheckToken(tok) == nil:
			c.Next()
			return
		case looksLikeToken(tok):
			err = errTokenChecksum
		default:
			err = auth.ErrTokenMalformed
		}
		c.Header("WWW-Authenticate", `Bearer realm="mobayilo", error="invalid_token"`)
		abortWithError(c, err)
	}
}

// looksLikeToken: the prefix, length and alphabet of a token, so a failed
// check can only be the checksum.
func looksLikeToken(tok string) bool {
	if len(tok) != auth.TokenLength || !strings.HasPrefix(tok, auth.TokenPrefix) {
		return false
	}
	for _, r := range tok[len(auth.TokenPrefix):] {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return true
}

// cliMe tells the CLI who its token acts as: `moby auth status`.
func (h *handlers) cliMe(c *gin.Context) {
	p, _ := principal(c)
	c.JSON(http.StatusOK, wire.Me{
		User: wire.User{ID: p.User.ID, Email: p.User.Email, Role: string(p.User.Role), IsAdmin: p.User.IsAdmin},
		Account: wire.MeAccount{Account: wire.Account{ID: p.Account.ID, Kind: string(p.Account.Kind), Name: p.Account.Name,
			Status: string(p.Account.Status), BalanceCents: p.Account.BalanceCents}, Balance: money.Format(p.Account.BalanceCents)},
		Token: wire.Token{ID: p.Token.ID, Name: p.Token.Name, Source: p.Token.Source, CreatedAt: p.Token.CreatedAt.UTC(),
			ExpiresAt: utcOrNil(p.Token.ExpiresAt), Scopes: splitScopes(p.Token.Scopes)},
	})
}

// cliRevokeOwnToken revokes the token the request came with: `moby auth
// logout`. The token stops working at once, for this and every process.
func (h *handlers) cliRevokeOwnToken(c *gin.Context) {
	p, _ := principal(c)
	if err := h.d.Auth.RevokeToken(c.Request.Context(), p.User.ID, p.Token.ID); err != nil {
		abortWithError(c, err)
		return
	}
	c.JSON(http.StatusOK, wire.TokenRevoked{Revoked: wire.TokenRef{ID: p.Token.ID, Name: p.Token.Name}})
}

func splitScopes(s string) []string {
	out := []string{}
	for _, sc := range strings.Split(s, ",") {
		if sc = strings.TrimSpace(sc); sc != "" {
			out = append(out, sc)
		}
	}
	return out
}

func utcOrNil(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
