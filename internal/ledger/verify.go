package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/models"
)

// Discrepancy is one way an account's cached figures disagree with the
// entries and holds they cache.
type Discrepancy struct {
	AccountID int64
	// What is "balance" (cached balance ≠ sum of entries), "held" (cached
	// held ≠ sum of active holds) or "chain" (an entry's balance_after ≠ the
	// running sum of the account's entries up to it).
	// "stale_hold" is a hold active for longer than any call it can
	// cover: money reserved that nothing will settle (RUNBOOK: stale holds).
	What     string
	Cached   int64
	Computed int64
	EntryID  int64
	// HoldID and Since name a stale hold and when it was placed.
	HoldID int64
	Since  time.Time
}

func (d Discrepancy) String() string {
	if d.What == "stale_hold" {
		return fmt.Sprintf("account %d: hold %d of %d cents active since %s, longer than any call it can cover; settle it (RUNBOOK: stale holds)",
			d.AccountID, d.HoldID, d.Cached, d.Since.UTC().Format(time.RFC3339))
	}
	if d.What == "chain" {
		return fmt.Sprintf("account %d: entry %d has balance_after %d, running sum is %d", d.AccountID, d.EntryID, d.Cached, d.Computed)
	}
	return fmt.Sprintf("account %d: cached %s %d, computed %d", d.AccountID, d.What, d.Cached, d.Computed)
}

// Verify reconciles every account in one consistent snapshot and returns the
// discrepancies, and every hold older than the stale-hold age; an empty
// result means the books balance and nothing is held for ever.
func (s *Service) Verify(ctx context.Context) ([]Discrepancy, error) {
	var out []Discrepancy
	var opts []*sql.TxOptions
	if models.DialectOf(s.db) == models.Postgres {
		opts = append(opts, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []struct {
			ID       int64
			Cached   int64
			Computed int64
		}
		if err := tx.Raw(`SELECT a.id, a.balance_cents AS cached, COALESCE(SUM(e.amount_cents), 0) AS computed
			FROM accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id
			GROUP BY a.id, a.balance_cents
			HAVING a.balance_cents <> COALESCE(SUM(e.amount_cents), 0)
			ORDER BY a.id`).Scan(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			out = append(out, Discrepancy{AccountID: r.ID, What: "balance", Cached: r.Cached, Computed: r.Computed})
		}
		rows = nil
		if err := tx.Raw(`SELECT a.id, a.held_cents AS cached, COALESCE(SUM(h.amount_cents), 0) AS computed
			FROM accounts a LEFT JOIN holds h ON h.account_id = a.id AND h.status = 'active'
			GROUP BY a.id, a.held_cents
			HAVING a.held_cents <> COALESCE(SUM(h.amount_cents), 0)
			ORDER BY a.id`).Scan(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			out = append(out, Discrepancy{AccountID: r.ID, What: "held", Cached: r.Cached, Computed: r.Computed})
		}
		var chain []struct {
			ID           int64
			AccountID    int64
			BalanceAfter int64
			Running      int64
		}
		// Entry ids grow in posting order within an account, because each
		// posting holds the account's row lock while it inserts.
		if err := tx.Raw(`SELECT id, account_id, balance_after, running FROM (
				SELECT id, account_id, balance_after,
				       SUM(amount_cents) OVER (PARTITION BY account_id ORDER BY id) AS running
				FROM ledger_entries) t
			WHERE balance_after <> running ORDER BY account_id, id`).Scan(&chain).Error; err != nil {
			return err
		}
		for _, c := range chain {
			out = append(out, Discrepancy{AccountID: c.AccountID, What: "chain", Cached: c.BalanceAfter, Computed: c.Running, EntryID: c.ID})
		}
		var stale []models.Hold
		if err := tx.Where("status = ? AND created_at < ?", models.HoldActive, s.now().Add(-s.staleHoldAge)).Order("id").Find(&stale).Error; err != nil {
			return err
		}
		for _, h := range stale {
			out = append(out, Discrepancy{AccountID: h.AccountID, What: "stale_hold", Cached: h.AmountCents, HoldID: h.ID, Since: h.CreatedAt})
		}
		return nil
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("ledger verify: %w", err)
	}
	return out, nil
}
