package api_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

// plantSecrets signs a user in, makes a token on the Settings page and
// issues a magic link and a password reset, the way the product does, and
// returns each plaintext secret with the hash that must be stored instead.
func plantSecrets(t *testing.T, db *gorm.DB) map[string]string {
	t.Helper()
	s := newAuthServer(t, db)
	ctx := context.Background()
	u := s.user(t, "ada@example.com", models.AccountIndividual, false)
	session, err := s.auth.CreateSession(ctx, u.ID, "127.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	r := cliDo(t, s.browser(t, u), "POST", s.URL+"/settings/tokens", url.Values{"name": {"dump test"}}, nil)
	pat := tokenPattern.FindString(r.body)
	if r.status != 201 || pat == "" {
		t.Fatalf("create token = %d", r.status)
	}
	link, err := s.auth.IssueLoginToken(ctx, models.PurposeMagicLink, u)
	if err != nil {
		t.Fatal(err)
	}
	reset, err := s.auth.IssueLoginToken(ctx, models.PurposePasswordReset, u)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"personal access token": pat, "session cookie": session, "magic link": link, "password reset link": reset}
}

func assertNoPlaintext(t *testing.T, dump string, secrets map[string]string) {
	t.Helper()
	for name, secret := range secrets {
		if strings.Contains(dump, secret) {
			t.Errorf("the %s appears in plain text in the database dump", name)
		}
		// The rows are in the dump, by their hash: the check above looked
		// where the secret would be.
		if !strings.Contains(dump, auth.Hash(secret)) {
			t.Errorf("the %s's hash is not in the dump either: the dump is incomplete", name)
		}
	}
}

func TestDatabaseDump_HoldsNoPlaintextSecret(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		dsn := testenv.PostgresDatabase(t)
		db, err := models.OpenPostgres(dsn, 8)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if s, err := db.DB(); err == nil {
				s.Close()
			}
		})
		if err := models.Migrate(context.Background(), db); err != nil {
			t.Fatal(err)
		}
		secrets := plantSecrets(t, db)
		out, err := exec.Command(pgDump(t), "--no-owner", "--dbname", dsn).Output()
		if err != nil {
			t.Fatalf("pg_dump: %v", err)
		}
		assertNoPlaintext(t, string(out), secrets)
	})

	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "dump.db")
		db, err := models.OpenSQLite(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if s, err := db.DB(); err == nil {
				s.Close()
			}
		})
		if err := models.Migrate(context.Background(), db); err != nil {
			t.Fatal(err)
		}
		secrets := plantSecrets(t, db)
		dump := dumpSQLite(t, db)
		// The files too, journal included: a deleted or rewritten row can
		// linger in free pages.
		for _, f := range []string{path, path + "-wal", path + "-journal"} {
			if b, err := os.ReadFile(f); err == nil {
				dump += string(b)
			}
		}
		assertNoPlaintext(t, dump, secrets)
	})
}

// dumpSQLite reads every row of every table as text.
func dumpSQLite(t *testing.T, db *gorm.DB) string {
	t.Helper()
	var tables []string
	if err := db.Raw(`SELECT name FROM sqlite_master WHERE type = 'table'`).Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	if len(tables) < 10 {
		t.Fatalf("only %d tables: %v", len(tables), tables)
	}
	var b strings.Builder
	for _, table := range tables {
		rows, err := db.Raw(`SELECT * FROM "` + table + `"`).Rows()
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s:", table)
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, " %v", v)
			}
			b.WriteString("\n")
		}
		rows.Close()
	}
	return b.String()
}

// pgDump finds pg_dump: the newest /usr/lib/postgresql/*/bin first (the
// test cluster's own), else PATH.
func pgDump(t *testing.T) string {
	t.Helper()
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_dump")
	sort.Slice(matches, func(i, j int) bool { return pgMajor(matches[i]) < pgMajor(matches[j]) })
	if len(matches) > 0 {
		return matches[len(matches)-1]
	}
	p, err := exec.LookPath("pg_dump")
	if err != nil {
		testenv.Unavailable(t, "pg_dump", err)
	}
	return p
}

func pgMajor(path string) int {
	var n int
	fmt.Sscanf(filepath.Base(filepath.Dir(filepath.Dir(path))), "%d", &n)
	return n
}
