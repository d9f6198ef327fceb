// Package app wires Mobayilo's parts from a Config: the database, the ledger,
// the rate table, the providers and the Temporal client. cmd/mobayilo's
// subcommands and the end-to-end tests build the system through it, so there
// is one way to assemble it.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/internal/callerid"
	"github.com/mobayilo/mobayilo/internal/calls"
	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/numbers"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/ratelimit"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/models"
)

// NewLogger returns the process logger at the configured level, as JSON when
// stdout is not a terminal-friendly dev run.
func NewLogger(cfg config.Config, json bool) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(strings.ToUpper(cfg.LogLevel)))
	opts := &slog.HandlerOptions{Level: lvl}
	if json {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// OpenDB opens Postgres when DATABASE_URL is set, else the embedded SQLite
// database in the data folder, and applies pending migrations if migrate.
func OpenDB(ctx context.Context, cfg config.Config, migrate bool) (*gorm.DB, error) {
	var db *gorm.DB
	var err error
	if cfg.UsesEmbeddedDB() {
		db, err = models.OpenSQLite(cfg.SQLitePath())
	} else {
		db, err = models.OpenPostgres(cfg.DatabaseURL, 0)
	}
	if err != nil {
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if sqlDB, err := db.DB(); err != nil {
		return nil, err
	} else if err := sqlDB.PingContext(pingCtx); err != nil {
		return nil, fmt.Errorf("database did not answer (DATABASE_URL): %w", err)
	}
	if migrate {
		if err := models.Migrate(ctx, db); err != nil {
			return nil, err
		}
	}
	return db, nil
}

// DialTemporal connects to TEMPORAL_ADDRESS, retrying for up to wait so that
// processes started together with the server come up cleanly.
func DialTemporal(ctx context.Context, cfg config.Config, log *slog.Logger, wait time.Duration) (client.Client, error) {
	deadline := time.Now().Add(wait)
	for {
		c, err := client.Dial(client.Options{
			HostPort:  cfg.TemporalAddress,
			Namespace: cfg.TemporalNamespace,
			Logger:    tlog.NewStructuredLogger(log.With("component", "temporal-sdk")),
		})
		if err == nil {
			hctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			_, err = c.CheckHealth(hctx, &client.CheckHealthRequest{})
			cancel()
			if err == nil {
				return c, nil
			}
			c.Close()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("temporal at %s (TEMPORAL_ADDRESS) did not answer: %w", cfg.TemporalAddress, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// NewMailer returns the SMTP sender when SMTP_URL is set, else the dev
// mailbox (returned twice: as the sender and for the /dev/mail page).
func NewMailer(cfg config.Config, log *slog.Logger) (mail.Sender, *mail.Mailbox, error) {
	if cfg.SMTPURL != "" {
		s, err := mail.NewSMTP(cfg.SMTPURL, cfg.MailFrom)
		return s, nil, err
	}
	b := mail.NewMailbox(log)
	return b, b, nil
}

// APIDeps builds the API's domain services on db (the rate table cached for
// ratesTTL). Callers add the edges: Temporal, pages, the logger, the dev
// mailbox.
func APIDeps(cfg config.Config, db *gorm.DB, ratesTTL time.Duration) api.Deps {
	led := ledger.New(db)
	rc := rates.NewCache(db, ratesTTL)
	// The rates sync reads Twilio's prices only with real credentials;
	// the sandbox has none to read.
	var prices rates.PriceSource
	if p, err := providers.NewTwilioPricing(cfg); err == nil {
		prices = p
	}
	return api.Deps{Config: cfg, Rates: rc, RatesAdmin: rates.NewAdmin(db, rc, prices), Auth: auth.New(db), Identity: identity.New(db, led), Ledger: led,
		Credits: credits.New(db), AutoTopUps: autotopup.New(db, led), Limits: ratelimit.NewLimits(db), PingDB: models.Ping(db),
		Calls: calls.New(db, led, rc, calls.PolicyFrom(cfg)), CallerIDs: callerid.New(db, led),
		Numbers: numbers.New(db, led, nil, numbers.PolicyFrom(cfg))}
}

// UseProviders hands the API the process's providers: the ones that sign
// voice tokens, search numbers and, in sandbox telephony, simulate the
// network and the phone.
func UseProviders(d *api.Deps, p providers.Providers) {
	d.Telephony, d.Carrier, d.SandboxCallerIDs, d.SandboxNumbers = p.Telephony, p.Carrier, p.SandboxCallerIDs, p.SandboxNumbers
	d.Numbers = d.Numbers.WithShop(p.Numbers)
}
