package calls

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mobayilo/mobayilo/models"
)

// Filter selects calls of one account for the history.
type Filter struct {
	// AccountID is the account whose calls are listed; AllAccounts lists
	// every account's (the operators' admin page) and ignores it.
	AccountID   int64
	AllAccounts bool
	// To, when set, keeps calls whose E.164 destination starts with it.
	To string
	// UserID, when set, keeps one user's (or seat's) calls.
	UserID int64
	// Status, when set, keeps calls in that status.
	Status models.CallStatus
	// Since and Until bound the calls' creation time; zero is open.
	Since, Until time.Time
	// Limit (default 50, at most 500) and Offset page through, newest first.
	Limit, Offset int
}

// MaxPage bounds one page of history.
const MaxPage = 500

// HistoryRow is a call as the history shows it.
type HistoryRow struct {
	models.Call
	// UserEmail names who placed it (the seat, in a company).
	UserEmail string
}

// History lists an account's calls, newest first, with the total that
// matches the filter.
func (s *Service) History(ctx context.Context, f Filter) ([]HistoryRow, int64, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, MaxPage)
	q := s.db.WithContext(ctx).Table("calls")
	if !f.AllAccounts {
		q = q.Where("calls.account_id = ?", f.AccountID)
	}
	if f.To != "" {
		q = q.Where("calls.to_e164 LIKE ?", likePrefix(f.To))
	}
	if f.UserID != 0 {
		q = q.Where("calls.user_id = ?", f.UserID)
	}
	if f.Status != "" {
		q = q.Where("calls.status = ?", f.Status)
	}
	if !f.Since.IsZero() {
		q = q.Where("calls.created_at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("calls.created_at < ?", f.Until.UTC())
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("calls: count history: %w", err)
	}
	var rows []HistoryRow
	err := q.Select("calls.*, users.email AS user_email").Joins("JOIN users ON users.id = calls.user_id").
		Order("calls.created_at DESC, calls.id DESC").Limit(f.Limit).Offset(f.Offset).Scan(&rows).Error
	if err != nil {
		return nil, 0, fmt.Errorf("calls: history: %w", err)
	}
	return rows, total, nil
}

// RecentLimit is how many recent destinations the dialer offers.
const RecentLimit = 8

// Recent are the account's last unique destinations, newest first.
func (s *Service) Recent(ctx context.Context, accountID int64) ([]models.Call, error) {
	var ids []string
	err := s.db.WithContext(ctx).Raw(`SELECT id FROM calls c WHERE c.account_id = ? AND c.created_at = (
			SELECT MAX(c2.created_at) FROM calls c2 WHERE c2.account_id = c.account_id AND c2.to_e164 = c.to_e164)
		ORDER BY c.created_at DESC LIMIT ?`, accountID, RecentLimit).Scan(&ids).Error
	if err != nil {
		return nil, fmt.Errorf("calls: recent destinations of account %d: %w", accountID, err)
	}
	var out []models.Call
	if len(ids) == 0 {
		return out, nil
	}
	if err := s.db.WithContext(ctx).Where("id IN ?", ids).Order("created_at DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("calls: recent destinations of account %d: %w", accountID, err)
	}
	return out, nil
}

// likePrefix is a LIKE pattern for "starts with p", p's own wildcards
// escaped away (destinations are digits and '+', so this is belt and
// braces).
func likePrefix(p string) string {
	p = strings.NewReplacer("%", "", "_", "", "\\", "").Replace(p)
	return p + "%"
}
