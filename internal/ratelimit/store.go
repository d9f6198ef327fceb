// Package ratelimit keeps rate-limit counters in the database, so that every
// API process sees the same counts: a limit that guards sign-in or tokens
// must not multiply with the number of processes. It implements the store
// interface of github.com/ulule/limiter, which does the limiting.
package ratelimit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ulule/limiter/v3"
	"gorm.io/gorm"
)

// Store is a fixed-window counter store on Postgres or SQLite.
type Store struct {
	db     *gorm.DB
	prefix string
	now    func() time.Time
}

var _ limiter.Store = (*Store)(nil)

// NewStore returns a store whose keys start with prefix.
func NewStore(db *gorm.DB, prefix string) *Store {
	return &Store{db: db, prefix: prefix, now: time.Now}
}

// WithClock returns a copy of the store reading time from now (tests).
func (s *Store) WithClock(now func() time.Time) *Store {
	c := *s
	c.now = now
	return &c
}

// New returns a limiter of limit requests per period, counted in db.
func New(db *gorm.DB, name string, limit int64, period time.Duration) *limiter.Limiter {
	return limiter.New(NewStore(db, name), limiter.Rate{Limit: limit, Period: period})
}

// Limits makes limiters whose counters share one database: what the API
// holds instead of the database itself.
type Limits struct{ db *gorm.DB }

// NewLimits returns limiters counted in db.
func NewLimits(db *gorm.DB) *Limits { return &Limits{db: db} }

// New returns a limiter of limit requests per period named name.
func (l *Limits) New(name string, limit int64, period time.Duration) *limiter.Limiter {
	return New(l.db, name, limit, period)
}

func (s *Store) key(k string) string { return s.prefix + ":" + k }

func result(rate limiter.Rate, count, expiresMS int64) limiter.Context {
	remaining := rate.Limit - count
	if remaining < 0 {
		remaining = 0
	}
	return limiter.Context{Limit: rate.Limit, Remaining: remaining, Reset: (expiresMS + 999) / 1000, Reached: count > rate.Limit}
}

// Get counts one request and returns the state after it.
func (s *Store) Get(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	return s.Increment(ctx, key, 1, rate)
}

// Increment adds count in one atomic upsert: a window that has expired
// starts again at count.
func (s *Store) Increment(ctx context.Context, key string, count int64, rate limiter.Rate) (limiter.Context, error) {
	now := s.now().UnixMilli()
	expires := now + rate.Period.Milliseconds()
	var row struct {
		Count     int64
		ExpiresAt int64
	}
	err := s.db.WithContext(ctx).Raw(`INSERT INTO rate_limit_counters (key, count, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET
		  count = CASE WHEN rate_limit_counters.expires_at <= ? THEN excluded.count ELSE rate_limit_counters.count + excluded.count END,
		  expires_at = CASE WHEN rate_limit_counters.expires_at <= ? THEN excluded.expires_at ELSE rate_limit_counters.expires_at END
		RETURNING count, expires_at`, s.key(key), count, expires, now, now).Scan(&row).Error
	if err != nil {
		return limiter.Context{}, fmt.Errorf("rate limit: %w", err)
	}
	// Expired windows of keys never seen again would pile up; sweep now and then.
	if rand.IntN(200) == 0 {
		s.db.WithContext(ctx).Exec(`DELETE FROM rate_limit_counters WHERE expires_at < ?`, now)
	}
	return result(rate, row.Count, row.ExpiresAt), nil
}

// Peek returns the state without counting.
func (s *Store) Peek(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	var row struct {
		Count     int64
		ExpiresAt int64
	}
	now := s.now().UnixMilli()
	q := s.db.WithContext(ctx).Raw(`SELECT count, expires_at FROM rate_limit_counters WHERE key = ? AND expires_at > ?`, s.key(key), now).Scan(&row)
	if q.Error != nil {
		return limiter.Context{}, fmt.Errorf("rate limit: %w", q.Error)
	}
	if q.RowsAffected == 0 {
		return result(rate, 0, now+rate.Period.Milliseconds()), nil
	}
	return result(rate, row.Count, row.ExpiresAt), nil
}

// Reset forgets the key's window.
func (s *Store) Reset(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	if err := s.db.WithContext(ctx).Exec(`DELETE FROM rate_limit_counters WHERE key = ?`, s.key(key)).Error; err != nil {
		return limiter.Context{}, fmt.Errorf("rate limit: %w", err)
	}
	return result(rate, 0, s.now().UnixMilli()+rate.Period.Milliseconds()), nil
}
