package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/models"
)

// PageSize is how many rows an operator's list shows at once.
const PageSize = 50

// AuditPageSize is how many of the latest audit records the admin area
// shows.
const AuditPageSize = 100

// UserRow is one user in the operators' list, with the account they spend
// from.
type UserRow struct {
	User    models.User
	Account models.Account
}

// UserPage is one page of the operators' user list.
type UserPage struct {
	Rows []UserRow
	// Query is the normalised search text; Page counts from 1.
	Query   string
	Page    int
	HasNext bool
	Total   int64
}

// ListUsers lists users with their accounts and balances, newest first,
// PageSize at a time. query, when not empty, keeps the users whose email
// contains it, regardless of letter case.
func (s *Service) ListUsers(ctx context.Context, query string, page int) (UserPage, error) {
	query = strings.ToLower(strings.TrimSpace(query))
	if len(query) > 254 {
		query = query[:254]
	}
	if page < 1 {
		page = 1
	}
	out := UserPage{Query: query, Page: page}
	matching := func() *gorm.DB {
		q := s.db.WithContext(ctx).Model(&models.User{})
		if query != "" {
			q = q.Where(`lower(email) LIKE ? ESCAPE '\'`, "%"+likeEscaper.Replace(query)+"%")
		}
		return q
	}
	if err := matching().Count(&out.Total).Error; err != nil {
		return out, err
	}
	var users []models.User
	// One row more than a page tells whether there is a next page.
	if err := matching().Order("id DESC").Offset((page - 1) * PageSize).Limit(PageSize + 1).Find(&users).Error; err != nil {
		return out, err
	}
	if len(users) > PageSize {
		out.HasNext, users = true, users[:PageSize]
	}
	ids := make([]int64, 0, len(users))
	for _, u := range users {
		ids = append(ids, u.AccountID)
	}
	var accts []models.Account
	if len(ids) > 0 {
		if err := s.db.WithContext(ctx).Where("id IN ?", ids).Find(&accts).Error; err != nil {
			return out, err
		}
	}
	byID := make(map[int64]models.Account, len(accts))
	for _, a := range accts {
		byID[a.ID] = a
	}
	for _, u := range users {
		out.Rows = append(out.Rows, UserRow{User: u, Account: byID[u.AccountID]})
	}
	return out, nil
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// SetUserStatus disables or re-enables any user, as an operator. Disabling
// ends their sessions and revokes their tokens (see changeUserStatus).
// Errors: ErrNotFound, ErrCannotDisableSelf, ErrInvalid.
func (s *Service) SetUserStatus(ctx context.Context, actor Actor, userID int64, st models.Status) (StatusChange, error) {
	return s.changeUserStatus(ctx, actor, "user", userID, st)
}

// SetAccountStatus disables or re-enables an account (a wallet and every
// user on it), as an operator. A disabled account cannot sign in, use
// tokens, call or top up: sessions, bearer tokens and the ledger check the
// account's status on every use. Sessions and tokens are kept, so
// re-enabling restores access as it was. Errors: ErrNotFound,
// ErrCannotDisableSelf, ErrInvalid.
func (s *Service) SetAccountStatus(ctx context.Context, actor Actor, accountID int64, st models.Status) (models.Account, error) {
	if st != models.StatusActive && st != models.StatusDisabled {
		return models.Account{}, fmt.Errorf("%w: status %q", ErrInvalid, st)
	}
	var a models.Account
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Take(&a, accountID).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("%w: no such account", ErrNotFound)
			}
			return err
		}
		if st == models.StatusDisabled && actor.UserID != 0 {
			var self models.User
			if err := tx.Take(&self, actor.UserID).Error; err != nil {
				return err
			}
			if self.AccountID == accountID {
				return fmt.Errorf("%w: you cannot disable the account you sign in with; ask another admin", ErrCannotDisableSelf)
			}
		}
		was := a.Status
		now := time.Now().UTC()
		if err := tx.Model(&models.Account{}).Where("id = ?", accountID).Updates(map[string]any{"status": st, "updated_at": now}).Error; err != nil {
			return err
		}
		a.Status, a.UpdatedAt = st, now
		return audit(tx, actor.Name, "account."+verb(st), fmt.Sprintf("account:%d", accountID),
			fmt.Sprintf("name=%s kind=%s was=%s", a.Name, a.Kind, was))
	})
	if err != nil {
		return models.Account{}, err
	}
	return a, nil
}

// SubscriberPage is one page of marketing subscribers.
type SubscriberPage struct {
	Rows    []models.Subscriber
	Page    int
	HasNext bool
	Waiting int64
}

// ListSubscribers lists subscribers, newest first, PageSize at a time.
func (s *Service) ListSubscribers(ctx context.Context, page int) (SubscriberPage, error) {
	if page < 1 {
		page = 1
	}
	out := SubscriberPage{Page: page}
	db := s.db.WithContext(ctx)
	if err := db.Model(&models.Subscriber{}).Where("status = ?", models.SubscriberWaiting).Count(&out.Waiting).Error; err != nil {
		return out, err
	}
	if err := db.Order("id DESC").Offset((page - 1) * PageSize).Limit(PageSize + 1).Find(&out.Rows).Error; err != nil {
		return out, err
	}
	if len(out.Rows) > PageSize {
		out.HasNext, out.Rows = true, out.Rows[:PageSize]
	}
	return out, nil
}

// InviteSubscriber moves a waiting subscriber to invited, which lets them
// through the beta gate. Inviting someone already invited changes nothing
// and reports invited=false. Errors: ErrNotFound.
func (s *Service) InviteSubscriber(ctx context.Context, actor Actor, id int64) (sub models.Subscriber, invited bool, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Take(&sub, id).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("%w: no such subscriber", ErrNotFound)
			}
			return err
		}
		now := time.Now().UTC()
		q := tx.Model(&models.Subscriber{}).Where("id = ? AND status = ?", id, models.SubscriberWaiting).
			Updates(map[string]any{"status": models.SubscriberInvited, "invited_at": now})
		if q.Error != nil || q.RowsAffected == 0 {
			return q.Error
		}
		invited = true
		sub.Status, sub.InvitedAt = models.SubscriberInvited, &now
		return audit(tx, actor.Name, "subscriber.invite", fmt.Sprintf("subscriber:%d", id), "email="+sub.Email)
	})
	return sub, invited, err
}

// AuditLog returns the latest audit records, newest first.
func (s *Service) AuditLog(ctx context.Context, limit int) ([]models.AuditLog, error) {
	if limit < 1 || limit > AuditPageSize {
		limit = AuditPageSize
	}
	var out []models.AuditLog
	err := s.db.WithContext(ctx).Order("id DESC").Limit(limit).Find(&out).Error
	return out, err
}
