package rates

import (
	"context"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/mobayilo/mobayilo/models"
)

// batchSize keeps each statement well under the bind-parameter limits of
// Postgres (65535) and SQLite (32766): 7 columns per rate.
const batchSize = 500

// ReplaceResult counts what Replace did, by prefix.
type ReplaceResult struct {
	Added     int `json:"added"`
	Updated   int `json:"updated"`
	Removed   int `json:"removed"`
	Unchanged int `json:"unchanged"`
}

// Replace makes the rates table hold exactly rs, in one transaction: new
// prefixes are inserted, changed ones updated, missing ones deleted.
// Unchanged rows are left alone, so their updated_at keeps saying when
// their price last changed. Running it twice with the same rates changes
// nothing the second time.
//
// It returns ErrNoRates for an empty rs and an error matching
// ErrInvalidRates when a rate is invalid or a prefix repeats; nothing is
// written then.
func Replace(ctx context.Context, db *gorm.DB, rs []models.Rate) (ReplaceResult, error) {
	want, err := checkRates(rs)
	if err != nil {
		return ReplaceResult{}, err
	}
	var res ReplaceResult
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res, err = replaceTx(tx, want)
		return err
	})
	if err != nil {
		return ReplaceResult{}, fmt.Errorf("replace rates: %w", err)
	}
	return res, nil
}

// checkRates validates rs and returns it with IDs and timestamps cleared,
// so that stored rows are matched by prefix alone.
func checkRates(rs []models.Rate) ([]models.Rate, error) {
	if len(rs) == 0 {
		return nil, ErrNoRates
	}
	seen := make(map[string]bool, len(rs))
	out := make([]models.Rate, 0, len(rs))
	for i, r := range rs {
		if problem := validateRate(r); problem != "" {
			return nil, fmt.Errorf("rate %d: %s: %w", i+1, problem, ErrInvalidRates)
		}
		if seen[r.Prefix] {
			return nil, fmt.Errorf("rate %d: duplicate prefix %s: %w", i+1, r.Prefix, ErrInvalidRates)
		}
		seen[r.Prefix] = true
		r.ID, r.UpdatedAt = 0, time.Time{}
		out = append(out, r)
	}
	return out, nil
}

// replaceTx does Replace's work inside tx. On SQLite the handle has a
// single connection, held by the transaction: everything here goes
// through tx, never through the outer handle.
func replaceTx(tx *gorm.DB, want []models.Rate) (ReplaceResult, error) {
	var have []models.Rate
	if err := tx.Find(&have).Error; err != nil {
		return ReplaceResult{}, err
	}
	stored := make(map[string]models.Rate, len(have))
	for _, h := range have {
		stored[h.Prefix] = h
	}
	wanted := make(map[string]bool, len(want))

	var (
		res    ReplaceResult
		upsert []models.Rate
		remove []int64
	)
	for _, w := range want {
		wanted[w.Prefix] = true
		h, ok := stored[w.Prefix]
		switch {
		case !ok:
			res.Added++
			upsert = append(upsert, w)
		case samePrice(h, w):
			res.Unchanged++
		default:
			res.Updated++
			upsert = append(upsert, w)
		}
	}
	for _, h := range have {
		if !wanted[h.Prefix] {
			res.Removed++
			remove = append(remove, h.ID)
		}
	}

	// ON CONFLICT rather than a plain insert: another process may reload the
	// same rates at the same moment.
	onPrefix := clause.OnConflict{
		Columns:   []clause.Column{{Name: "prefix"}},
		DoUpdates: clause.AssignmentColumns([]string{"iso", "country", "destination", "individual_cents", "company_cents", "updated_at"}),
	}
	for start := 0; start < len(upsert); start += batchSize {
		batch := upsert[start:min(start+batchSize, len(upsert))]
		if err := tx.Clauses(onPrefix).Create(&batch).Error; err != nil {
			return ReplaceResult{}, err
		}
	}
	for start := 0; start < len(remove); start += batchSize {
		batch := remove[start:min(start+batchSize, len(remove))]
		if err := tx.Where("id IN ?", batch).Delete(&models.Rate{}).Error; err != nil {
			return ReplaceResult{}, err
		}
	}
	return res, nil
}

func samePrice(a, b models.Rate) bool {
	return a.ISO == b.ISO && a.Country == b.Country && a.Destination == b.Destination &&
		a.IndividualCents == b.IndividualCents && a.CompanyCents == b.CompanyCents
}

// Load reads the rates table into a Table. An empty rates table gives an
// empty Table, on which every Lookup fails.
func Load(ctx context.Context, db *gorm.DB) (*Table, error) {
	var rs []models.Rate
	if err := db.WithContext(ctx).Order("prefix").Find(&rs).Error; err != nil {
		return nil, fmt.Errorf("load rates: %w", err)
	}
	return NewTable(rs), nil
}

// SeedIfEmpty fills an empty rates table with Default() and reports whether
// it did. A table that holds any rate is left as it is, so rates loaded by
// `mobayilo rates reload` survive restarts.
func SeedIfEmpty(ctx context.Context, db *gorm.DB) (seeded bool, err error) {
	rs, err := Default()
	if err != nil {
		return false, err
	}
	want, err := checkRates(rs)
	if err != nil {
		return false, err
	}
	// Count and insert in one transaction, so a reload that lands between
	// them is not overwritten by the defaults.
	err = db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&models.Rate{}).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		seeded = true
		_, err := replaceTx(tx, want)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("seed rates: %w", err)
	}
	return seeded, nil
}

// Cache hands out the rate table, reloading it from the database once it is
// older than its ttl. That is how `mobayilo rates reload`, run in another
// process, reaches every API process within ttl. It is safe for concurrent
// use.
type Cache struct {
	db  *gorm.DB
	ttl time.Duration
	now func() time.Time // a seam for tests

	mu       sync.Mutex
	table    *Table
	loadedAt time.Time
}

// NewCache returns a cache over db's rates. A ttl of zero or less reloads on
// every call.
func NewCache(db *gorm.DB, ttl time.Duration) *Cache {
	return &Cache{db: db, ttl: ttl, now: time.Now}
}

// Table returns the cached table, first reloading it if it is older than the
// ttl. When that reload fails it returns the error rather than stale prices;
// the next call tries again.
func (c *Cache) Table(ctx context.Context) (*Table, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.table != nil && c.now().Sub(c.loadedAt) < c.ttl {
		return c.table, nil
	}
	// Loading under the lock means concurrent callers wait for one query
	// instead of each running their own.
	t, err := Load(ctx, c.db)
	if err != nil {
		return nil, err
	}
	c.table, c.loadedAt = t, c.now()
	return t, nil
}

// Invalidate makes the next Table call reload, for the process that just
// replaced the rates itself.
func (c *Cache) Invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.table = nil
}
