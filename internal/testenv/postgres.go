package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/models"
)

var (
	pgOnce   sync.Once
	pgURL    string
	pgErr    error
	pgSource string
)

// PostgresServerURL finds a Postgres server for tests, in this order:
// TEST_DATABASE_URL; a server on 127.0.0.1:5432; a throwaway cluster started
// with initdb and pg_ctl from PATH or /usr/lib/postgresql/*/bin.
func PostgresServerURL(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() { pgURL, pgSource, pgErr = findPostgres() })
	if pgErr != nil {
		Unavailable(t, "Postgres", pgErr)
	}
	return pgURL
}

func findPostgres() (string, string, error) {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		if err := ping(u); err != nil {
			return "", "", fmt.Errorf("TEST_DATABASE_URL does not answer: %w", err)
		}
		return u, "TEST_DATABASE_URL", nil
	}
	local := "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	if err := ping(local); err == nil {
		return local, "127.0.0.1:5432", nil
	}
	u, err := startThrowawayCluster()
	if err != nil {
		return "", "", fmt.Errorf("no TEST_DATABASE_URL, nothing on 127.0.0.1:5432, and a throwaway cluster failed: %w", err)
	}
	return u, "throwaway cluster", nil
}

func ping(u string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

func pgBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return "", fmt.Errorf("initdb not found on PATH or in /usr/lib/postgresql/*/bin")
	}
	return filepath.Dir(matches[len(matches)-1]), nil
}

// startThrowawayCluster runs initdb and pg_ctl in a temporary folder. When
// the tests run as root, the cluster runs as the postgres user, since
// Postgres refuses to run as root.
func startThrowawayCluster() (string, error) {
	bin, err := pgBinDir()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "mobayilo-pg-")
	if err != nil {
		return "", err
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	asUser := ""
	if u, err := user.Current(); err == nil && u.Uid == "0" {
		asUser = "postgres"
		if err := exec.Command("chown", "-R", "postgres", dir).Run(); err != nil {
			return "", fmt.Errorf("chown %s to postgres: %w", dir, err)
		}
	}
	run := func(args ...string) error {
		var cmd *exec.Cmd
		if asUser != "" {
			cmd = exec.Command("runuser", append([]string{"-u", asUser, "--"}, args...)...)
		} else {
			cmd = exec.Command(args[0], args[1:]...)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := run(filepath.Join(bin, "initdb"), "-A", "trust", "-U", "postgres", "-D", data); err != nil {
		return "", err
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off", port, dir)
	if err := run(filepath.Join(bin, "pg_ctl"), "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "start"); err != nil {
		return "", err
	}
	atExit(func() {
		_ = run(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop")
		_ = os.RemoveAll(dir)
	})
	u := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return u, ping(u)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// PostgresDatabase creates a fresh, empty database on the test server and
// drops it when t ends. It returns its URL.
func PostgresDatabase(t testing.TB) string {
	t.Helper()
	server := PostgresServerURL(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "mobayilo_test_" + hex.EncodeToString(b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("connect to test Postgres (%s): %v", pgSource, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, server)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Postgres returns a migrated GORM handle on a fresh Postgres database.
func Postgres(t testing.TB) *gorm.DB {
	t.Helper()
	db, err := models.OpenPostgres(PostgresDatabase(t), 64)
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, db)
	if err := models.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

// SQLite returns a migrated GORM handle on a fresh embedded database.
func SQLite(t testing.TB) *gorm.DB {
	t.Helper()
	db, err := models.OpenSQLite(filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	closeOnCleanup(t, db)
	if err := models.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

func closeOnCleanup(t testing.TB, db *gorm.DB) {
	t.Cleanup(func() {
		if s, err := db.DB(); err == nil {
			_ = s.Close()
		}
	})
}

// EachDB runs f as a subtest on the embedded database and on Postgres, so a
// store's behaviour is proved the same on both.
func EachDB(t *testing.T, f func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { f(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, Postgres(t)) })
}
