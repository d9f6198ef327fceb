package main

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

// mobayilo dev seeds the demo login (a published password with free credit)
// only into the embedded database it owns, never into a DATABASE_URL.
func TestSeed_DemoUserOnlyInTheEmbeddedDatabase(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	pg := testenv.Postgres(t)
	withURL, err := config.Load(map[string]string{"DATABASE_URL": "postgres://someone@db.example/staging"})
	if err != nil {
		t.Fatal(err)
	}
	if err := seed(ctx, withURL.ForDev(), pg, quiet); err != nil {
		t.Fatal(err)
	}
	var n int64
	pg.Model(&models.User{}).Where("email = ?", demoEmail).Count(&n)
	if n != 0 {
		t.Fatal("mobayilo dev seeded the demo user into a DATABASE_URL database")
	}
	embedded := testenv.SQLite(t)
	own, _ := config.Load(map[string]string{})
	if err := seed(ctx, own.ForDev(), embedded, quiet); err != nil {
		t.Fatal(err)
	}
	embedded.Model(&models.User{}).Where("email = ?", demoEmail).Count(&n)
	if n != 1 {
		t.Fatalf("%d demo users in the embedded database, want 1", n)
	}
}
