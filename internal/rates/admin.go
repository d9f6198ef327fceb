package rates

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/models"
)

// ErrNoPriceSource: no carrier pricing is configured (no Twilio
// credentials), so there is nothing to sync from.
var ErrNoPriceSource = errors.New("no carrier pricing configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to sync from Twilio")

// Admin is the operators' rate management: reload from a data file, sync
// the carrier's costs, read the margins. Every change is audited and
// reaches this process's cache at once (other processes within the
// cache's TTL).
type Admin struct {
	db     *gorm.DB
	cache  *Cache
	source PriceSource
	now    func() time.Time
}

// NewAdmin returns the rate admin; source nil means no carrier pricing
// (sandbox), and Sync refuses with ErrNoPriceSource.
func NewAdmin(db *gorm.DB, cache *Cache, source PriceSource) *Admin {
	return &Admin{db: db, cache: cache, source: source, now: func() time.Time { return time.Now().UTC() }}
}

// CanSync reports whether a carrier's pricing is configured.
func (a *Admin) CanSync() bool { return a.source != nil }

// Reload replaces the rate table with rs (read from `from`, for the audit
// record); costs of prefixes that stay are kept. Errors: ErrNoRates,
// ErrInvalidRates (nothing written).
func (a *Admin) Reload(ctx context.Context, actor string, rs []models.Rate, from string) (ReplaceResult, error) {
	res, err := Replace(ctx, a.db, rs)
	if err != nil {
		return res, err
	}
	a.invalidate()
	summary := fmt.Sprintf("%d rates from %s: %d added, %d updated, %d removed, %d unchanged", len(rs), from, res.Added, res.Updated, res.Removed, res.Unchanged)
	return res, a.audit(ctx, actor, "rates.reload", summary)
}

// ReloadDefault reloads the data file embedded in the binary
// (internal/rates/data/rates.csv).
func (a *Admin) ReloadDefault(ctx context.Context, actor string) (ReplaceResult, error) {
	rs, err := Default()
	if err != nil {
		return ReplaceResult{}, err
	}
	return a.Reload(ctx, actor, rs, "bundled data file")
}

// Sync records the carrier's cost against every prefix (SyncCosts).
// Errors: ErrNoPriceSource, ErrPriceSource.
func (a *Admin) Sync(ctx context.Context, actor string) (SyncResult, error) {
	if a.source == nil {
		return SyncResult{}, ErrNoPriceSource
	}
	res, err := SyncCosts(ctx, a.db, a.source, a.now())
	if err != nil {
		return res, err
	}
	a.invalidate()
	summary := fmt.Sprintf("%d countries read from Twilio: %d prefixes priced (%d changed), %d not covered, %d below cost",
		res.Countries, res.Priced, res.Changed, res.Unpriced, res.Negative)
	return res, a.audit(ctx, actor, "rates.sync", summary)
}

// Margins lists every prefix with its margin (see Margins).
func (a *Admin) Margins(ctx context.Context) ([]Margin, error) { return Margins(ctx, a.db) }

func (a *Admin) invalidate() {
	if a.cache != nil {
		a.cache.Invalidate()
	}
}

func (a *Admin) audit(ctx context.Context, actor, action, details string) error {
	err := a.db.WithContext(ctx).Create(&models.AuditLog{Actor: actor, Action: action, Target: "rates", Details: details, CreatedAt: a.now()}).Error
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}
