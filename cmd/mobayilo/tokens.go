package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/models"
)

// newTokensCmd is `mobayilo tokens`: list and revoke personal access
// tokens, for the helpdesk when a token leaks.
func newTokensCmd() *cobra.Command {
	t := &cobra.Command{Use: "tokens", Short: "List and revoke personal access tokens (a leaked token, a lost laptop)"}
	t.AddCommand(newTokensListCmd(), newTokensRevokeCmd())
	return t
}

func newTokensListCmd() *cobra.Command {
	var email string
	cmd := &cobra.Command{
		Use:   "list --user E",
		Short: "List a user's tokens: id, name, hint, source, created, last used, expiry, revoked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if email == "" {
				return &exitError{code: 2, msg: "--user is required"}
			}
			ctx := cmd.Context()
			db, err := openForAdmin(ctx)
			if err != nil {
				return err
			}
			u, err := identity.New(db, ledger.New(db)).UserByEmail(ctx, email)
			if err != nil {
				return &exitError{code: 1, msg: "tokens list: " + err.Error()}
			}
			toks, err := auth.New(db).Tokens(ctx, u.ID)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%-6s %-24s %-22s %-7s %-17s %-17s %-17s %s\n", "ID", "NAME", "HINT", "SOURCE", "CREATED", "LAST USED", "EXPIRES", "REVOKED")
			for _, tk := range toks {
				fmt.Fprintf(out, "%-6d %-24s %-22s %-7s %-17s %-17s %-17s %s\n", tk.ID, clip(tk.Name, 24), tk.DisplayHint, tk.Source,
					stamp(&tk.CreatedAt), stamp(tk.LastUsedAt), stamp(tk.ExpiresAt), stamp(tk.RevokedAt))
			}
			if len(toks) == 0 {
				fmt.Fprintf(out, "<%s> has no tokens\n", u.Email)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "user", "", "the user's email (required)")
	return cmd
}

func newTokensRevokeCmd() *cobra.Command {
	var id int64
	var email, actor string
	var fromStdin bool
	cmd := &cobra.Command{
		Use:   "revoke (--id N | --user E | --token-stdin)",
		Short: "Revoke one token (by id, or by its value on stdin) or every token of a user; audited",
		Long: `Revoke personal access tokens at once, on every API process.

  --id N          the token with this id (see: mobayilo tokens list --user E)
  --token-stdin   the token whose value is read from standard input, e.g. one
                  a secret scanner found; only its SHA-256 is looked up
  --user E        every active token of this user (the CLI on every machine)

Each revocation is written to the audit log.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			given := 0
			for _, b := range []bool{id != 0, email != "", fromStdin} {
				if b {
					given++
				}
			}
			if given != 1 {
				return &exitError{code: 2, msg: "give exactly one of --id, --user or --token-stdin"}
			}
			ctx := cmd.Context()
			db, err := openForAdmin(ctx)
			if err != nil {
				return err
			}
			var toks []models.PersonalAccessToken
			switch {
			case id != 0:
				err = db.WithContext(ctx).Where("id = ?", id).Find(&toks).Error
			case fromStdin:
				var tok string
				if tok, err = readToken(cmd.InOrStdin()); err == nil {
					err = db.WithContext(ctx).Where("token_hash = ?", auth.Hash(tok)).Find(&toks).Error
				}
			default:
				var u models.User
				if u, err = identity.New(db, ledger.New(db)).UserByEmail(ctx, email); err == nil {
					err = db.WithContext(ctx).Where("user_id = ? AND revoked_at IS NULL", u.ID).Find(&toks).Error
				}
			}
			if err != nil {
				return &exitError{code: 1, msg: "tokens revoke: " + err.Error()}
			}
			if len(toks) == 0 {
				return &exitError{code: 1, msg: "tokens revoke: no such token (nothing revoked)"}
			}
			return revokeTokens(cmd, db, operator(actor), toks)
		},
	}
	cmd.Flags().Int64Var(&id, "id", 0, "the token's id")
	cmd.Flags().StringVar(&email, "user", "", "revoke every active token of the user with this email")
	cmd.Flags().BoolVar(&fromStdin, "token-stdin", false, "read the token's value from standard input")
	cmd.Flags().StringVar(&actor, "actor", "", "who is running this, for the audit log (default: your OS user)")
	return cmd
}

func revokeTokens(cmd *cobra.Command, db *gorm.DB, who string, toks []models.PersonalAccessToken) error {
	ctx := cmd.Context()
	svc := auth.New(db)
	out := cmd.OutOrStdout()
	for _, tk := range toks {
		if tk.RevokedAt != nil {
			fmt.Fprintf(out, "token %d (%s, %s) of user %d was already revoked at %s\n", tk.ID, tk.Name, tk.DisplayHint, tk.UserID, stamp(tk.RevokedAt))
			continue
		}
		if err := svc.RevokeToken(ctx, tk.UserID, tk.ID); err != nil {
			return &exitError{code: 1, msg: "tokens revoke: " + err.Error()}
		}
		if err := audit(ctx, db, who, "tokens.revoke", fmt.Sprintf("token:%d", tk.ID),
			fmt.Sprintf("user=%d name=%q hint=%s source=%s", tk.UserID, tk.Name, tk.DisplayHint, tk.Source)); err != nil {
			return err
		}
		fmt.Fprintf(out, "revoked token %d (%s, %s) of user %d\n", tk.ID, tk.Name, tk.DisplayHint, tk.UserID)
	}
	return nil
}

func readToken(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	tok := strings.TrimSpace(line)
	if err := auth.CheckToken(tok); err != nil {
		return "", fmt.Errorf("standard input does not hold a Mobayilo token (%w)", err)
	}
	return tok, nil
}

func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

func clip(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
