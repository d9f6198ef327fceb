package identity

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/net/idna"
	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/models"
)

// Errors of company and operator administration. api/errors.go maps each
// to one HTTP status.
var (
	// ErrNotFound: no such seat, domain, user, account or subscriber within
	// what the actor may manage. A company admin asking for another
	// company's seat gets this too, so ids of other companies leak nothing.
	ErrNotFound = errors.New("not found")
	// ErrNotCompanyAdmin: the acting user does not own a company account.
	ErrNotCompanyAdmin = errors.New("only a company account's owner can manage its seats and domains")
	// ErrDomainTaken: another company already claims the domain.
	ErrDomainTaken = errors.New("domain already claimed by another company")
	// ErrCannotDisableSelf: an admin tried to disable their own user or the
	// account they sign in with, which would lock them out.
	ErrCannotDisableSelf = errors.New("you cannot disable yourself")
	// ErrLockedByOperator: Mobayilo's operators disabled this user; only
	// they can re-enable it, not the company's admin.
	ErrLockedByOperator = errors.New("Mobayilo support disabled this seat; contact support to re-enable it")
)

// Actor is who performs an audited action.
type Actor struct {
	// Name is how the audit log names them: "user:42" (a company admin),
	// "admin:7" (an operator in the web admin), "operator:ana" (a command).
	Name string
	// UserID is the acting user when a signed-in person acts; 0 for
	// operator commands. It guards against disabling oneself.
	UserID int64
}

// CompanyAdminActor names a company admin acting on their company.
func CompanyAdminActor(u models.User) Actor {
	return Actor{Name: fmt.Sprintf("user:%d", u.ID), UserID: u.ID}
}

// OperatorActor names a Mobayilo operator acting in the web admin area.
func OperatorActor(u models.User) Actor {
	return Actor{Name: fmt.Sprintf("admin:%d", u.ID), UserID: u.ID}
}

// UserActor is how ledger entries and the audit log name a user; call
// charges carry it in ledger_entries.actor, which is what seat usage sums.
func UserActor(userID int64) string { return fmt.Sprintf("user:%d", userID) }

func audit(tx *gorm.DB, actor, action, target, details string) error {
	return tx.Create(&models.AuditLog{Actor: actor, Action: action, Target: target, Details: details, CreatedAt: time.Now().UTC()}).Error
}

// ---- Domains ----

// publicEmailDomains are mail providers where anyone can get an address.
// Claiming one would make every stranger with an address there a seat of
// the company, spending its money, so they can never be company domains.
var publicEmailDomains = map[string]bool{
	"gmail.com": true, "googlemail.com": true, "outlook.com": true, "hotmail.com": true, "hotmail.fr": true,
	"hotmail.co.uk": true, "live.com": true, "msn.com": true, "yahoo.com": true, "yahoo.fr": true,
	"yahoo.co.uk": true, "ymail.com": true, "icloud.com": true, "me.com": true, "mac.com": true,
	"aol.com": true, "proton.me": true, "protonmail.com": true, "pm.me": true, "gmx.com": true,
	"gmx.de": true, "gmx.net": true, "mail.com": true, "yandex.com": true, "yandex.ru": true,
	"mail.ru": true, "zoho.com": true, "qq.com": true, "163.com": true, "126.com": true,
	"web.de": true, "orange.fr": true, "free.fr": true, "laposte.net": true, "fastmail.com": true,
	"hey.com": true, "tutanota.com": true, "tuta.io": true,
}

// PublicEmailDomain reports whether d (normalised) belongs to a public mail
// provider, which no company may claim.
func PublicEmailDomain(d string) bool { return publicEmailDomains[d] }

// domainProfile is IDNA2008 lookup processing (UTS #46 mapping, so letter
// case and full-width forms fold), with STD3 rules (letters, digits and
// hyphens only: no "*", "_" or spaces) and DNS length limits.
var domainProfile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.BidiRule(),
	idna.StrictDomainName(true), idna.VerifyDNSLength(true))

// NormalizeDomain validates an email domain and returns its canonical form:
// lower case, ASCII (internationalised names in their xn-- form), no
// trailing dot. Sign-in compares email domains in this form. Errors:
// ErrInvalid, with a message saying what is wrong.
func NormalizeDomain(s string) (string, error) {
	d := strings.TrimSuffix(strings.TrimSpace(s), ".")
	switch {
	case d == "":
		return "", fmt.Errorf("%w: enter a domain, such as example.com", ErrInvalid)
	case len(d) > 253:
		return "", fmt.Errorf("%w: a domain is at most 253 characters", ErrInvalid)
	case strings.Contains(d, "*"):
		return "", fmt.Errorf("%w: wildcards are not allowed; add each domain, such as example.com, on its own", ErrInvalid)
	case strings.Contains(d, "@"):
		return "", fmt.Errorf("%w: enter just the domain (the part after @), such as example.com", ErrInvalid)
	case strings.Contains(d, "://") || strings.ContainsAny(d, "/:"):
		return "", fmt.Errorf("%w: enter just the domain, without http:// or a path, such as example.com", ErrInvalid)
	}
	a, err := domainProfile.ToASCII(d)
	if err != nil {
		return "", fmt.Errorf("%w: %q is not a valid domain name", ErrInvalid, s)
	}
	a = strings.ToLower(a)
	labels := strings.Split(a, ".")
	tld := labels[len(labels)-1]
	switch {
	case net.ParseIP(a) != nil || strings.Trim(tld, "0123456789") == "":
		return "", fmt.Errorf("%w: %q is an IP address; enter a domain name", ErrInvalid, s)
	case len(labels) < 2:
		return "", fmt.Errorf("%w: %q is not a full domain; enter one such as example.com", ErrInvalid, s)
	}
	return a, nil
}

// DisplayDomain shows a stored domain as people write it (Unicode for
// internationalised names).
func DisplayDomain(d string) string {
	if u, err := idna.Display.ToUnicode(d); err == nil {
		return u
	}
	return d
}

// companyOf checks that admin owns an active company account and returns it.
// Errors: ErrNotCompanyAdmin.
func (s *Service) companyOf(ctx context.Context, admin models.User) (models.Account, error) {
	var u models.User
	if err := s.db.WithContext(ctx).Take(&u, admin.ID).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return models.Account{}, ErrNotCompanyAdmin
		}
		return models.Account{}, err
	}
	var a models.Account
	if err := s.db.WithContext(ctx).Take(&a, u.AccountID).Error; err != nil {
		return models.Account{}, err
	}
	if u.Role != models.RoleOwner || a.Kind != models.AccountCompany || u.Status != models.StatusActive || a.Status != models.StatusActive {
		return models.Account{}, ErrNotCompanyAdmin
	}
	return a, nil
}

// Domains lists the domains on a company's allowlist, alphabetically.
func (s *Service) Domains(ctx context.Context, accountID int64) ([]models.CompanyDomain, error) {
	var out []models.CompanyDomain
	err := s.db.WithContext(ctx).Where("account_id = ?", accountID).Order("domain").Find(&out).Error
	return out, err
}

// AddDomain puts a domain on the admin's company allowlist. Adding one the
// company already has changes nothing and reports added=false. Errors:
// ErrNotCompanyAdmin, ErrInvalid, ErrDomainTaken.
func (s *Service) AddDomain(ctx context.Context, admin models.User, domain string) (d models.CompanyDomain, added bool, err error) {
	acct, err := s.companyOf(ctx, admin)
	if err != nil {
		return d, false, err
	}
	name, err := NormalizeDomain(domain)
	if err != nil {
		return d, false, err
	}
	if PublicEmailDomain(name) {
		return d, false, fmt.Errorf("%w: %s is a public email provider where anyone can get an address, so it cannot be a company domain", ErrInvalid, name)
	}
	if existing, ok, err := s.domainByName(ctx, name); err != nil {
		return d, false, err
	} else if ok {
		if existing.AccountID == acct.ID {
			return existing, false, nil
		}
		return d, false, domainTaken(name)
	}
	actor := CompanyAdminActor(admin)
	d = models.CompanyDomain{AccountID: acct.ID, Domain: name, CreatedAt: time.Now().UTC()}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&d).Error; err != nil {
			return err
		}
		return audit(tx, actor.Name, "domain.add", "domain:"+name, fmt.Sprintf("account=%d", acct.ID))
	})
	if models.IsUniqueViolation(err) {
		// Claimed between the check and the insert; say by whom.
		if existing, ok, _ := s.domainByName(ctx, name); ok && existing.AccountID == acct.ID {
			return existing, false, nil
		}
		return models.CompanyDomain{}, false, domainTaken(name)
	}
	if err != nil {
		return models.CompanyDomain{}, false, fmt.Errorf("add domain: %w", err)
	}
	return d, true, nil
}

func domainTaken(name string) error {
	return fmt.Errorf("%w: another company already has %s on its allowlist; if the domain is yours, contact support", ErrDomainTaken, name)
}

func (s *Service) domainByName(ctx context.Context, name string) (models.CompanyDomain, bool, error) {
	var d models.CompanyDomain
	err := s.db.WithContext(ctx).Where("lower(domain) = ?", name).Take(&d).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return d, false, nil
	}
	return d, err == nil, err
}

// RemoveDomain takes a domain off the admin's company allowlist. Existing
// seats stay; only new sign-ins from the domain stop becoming seats.
// Errors: ErrNotCompanyAdmin, ErrNotFound (including another company's
// domain).
func (s *Service) RemoveDomain(ctx context.Context, admin models.User, domainID int64) (models.CompanyDomain, error) {
	acct, err := s.companyOf(ctx, admin)
	if err != nil {
		return models.CompanyDomain{}, err
	}
	var d models.CompanyDomain
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("id = ? AND account_id = ?", domainID, acct.ID).Take(&d).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("%w: no such domain on your allowlist", ErrNotFound)
			}
			return err
		}
		if err := tx.Delete(&d).Error; err != nil {
			return err
		}
		return audit(tx, CompanyAdminActor(admin).Name, "domain.remove", "domain:"+d.Domain, fmt.Sprintf("account=%d", acct.ID))
	})
	return d, err
}

// ---- Seats ----

// Seat is a user of a company account with what they spent.
type Seat struct {
	User models.User
	// Entries and SpentCents are the seat's usage: the number of ledger
	// entries attributed to it (ledger_entries.actor = "user:<id>") and
	// their net spend in cents (debits positive, credits negative).
	Entries    int64
	SpentCents int64
}

// Company is what a company admin manages.
type Company struct {
	Account models.Account
	Domains []models.CompanyDomain
	// Seats lists every user of the account, the owner included, oldest
	// first.
	Seats []Seat
}

// Company loads the admin's company: account, domains and seats with their
// usage. Errors: ErrNotCompanyAdmin.
func (s *Service) Company(ctx context.Context, admin models.User) (Company, error) {
	acct, err := s.companyOf(ctx, admin)
	if err != nil {
		return Company{}, err
	}
	c := Company{Account: acct}
	if c.Domains, err = s.Domains(ctx, acct.ID); err != nil {
		return Company{}, err
	}
	if c.Seats, err = s.Seats(ctx, acct.ID); err != nil {
		return Company{}, err
	}
	return c, nil
}

// Seats lists an account's users with their usage.
func (s *Service) Seats(ctx context.Context, accountID int64) ([]Seat, error) {
	var users []models.User
	if err := s.db.WithContext(ctx).Where("account_id = ?", accountID).Order("id").Find(&users).Error; err != nil {
		return nil, err
	}
	// One grouped pass over the account's entries; the (account_id, id)
	// index bounds it to this company.
	var usage []struct {
		Actor   string
		Entries int64
		Total   int64
	}
	err := s.db.WithContext(ctx).Model(&models.LedgerEntry{}).
		Select("actor, COUNT(*) AS entries, COALESCE(SUM(amount_cents), 0) AS total").
		Where("account_id = ? AND actor LIKE ?", accountID, "user:%").
		Group("actor").Scan(&usage).Error
	if err != nil {
		return nil, fmt.Errorf("seat usage: %w", err)
	}
	byActor := make(map[string]int, len(usage))
	for i, u := range usage {
		byActor[u.Actor] = i
	}
	out := make([]Seat, len(users))
	for i, u := range users {
		out[i] = Seat{User: u}
		if j, ok := byActor[UserActor(u.ID)]; ok {
			out[i].Entries, out[i].SpentCents = usage[j].Entries, -usage[j].Total
		}
	}
	return out, nil
}

// SetSeatStatus disables or re-enables a user of the admin's company.
// Disabling ends the seat's sessions and revokes its tokens. Errors:
// ErrNotCompanyAdmin, ErrNotFound (including another company's user),
// ErrCannotDisableSelf, ErrInvalid.
func (s *Service) SetSeatStatus(ctx context.Context, admin models.User, seatID int64, st models.Status) (StatusChange, error) {
	acct, err := s.companyOf(ctx, admin)
	if err != nil {
		return StatusChange{}, err
	}
	var seat models.User
	if err := s.db.WithContext(ctx).Where("id = ? AND account_id = ?", seatID, acct.ID).Take(&seat).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return StatusChange{}, fmt.Errorf("%w: no such seat in your company", ErrNotFound)
		}
		return StatusChange{}, err
	}
	return s.changeUserStatus(ctx, CompanyAdminActor(admin), "seat", seat.ID, st)
}

// ---- Status: the one place a user is cut off ----

// StatusChange reports what changing a user's status did.
type StatusChange struct {
	User          models.User
	Previous      models.Status
	SessionsEnded int64
	TokensRevoked int64
}

// changeUserStatus sets a user's status and, when disabling, signs them
// out everywhere and revokes every personal access token, all in one
// transaction with the audit record. Every path that disables a user (a
// company admin, an operator in the web admin, `mobayilo users disable`)
// comes through here. Re-enabling does not bring old tokens back: the
// person signs in again and makes new ones.
func (s *Service) changeUserStatus(ctx context.Context, actor Actor, noun string, userID int64, st models.Status) (StatusChange, error) {
	if st != models.StatusActive && st != models.StatusDisabled {
		return StatusChange{}, fmt.Errorf("%w: status %q", ErrInvalid, st)
	}
	if st == models.StatusDisabled && actor.UserID == userID {
		return StatusChange{}, fmt.Errorf("%w: you cannot disable your own user, which would lock you out; ask another admin", ErrCannotDisableSelf)
	}
	var ch StatusChange
	now := time.Now().UTC()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Take(&ch.User, userID).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("%w: no such user", ErrNotFound)
			}
			return err
		}
		ch.Previous = ch.User.Status
		if st == models.StatusActive && ch.User.Status == models.StatusDisabled && isOperator(ch.User.DisabledBy) && !isOperator(actor.Name) {
			return fmt.Errorf("%w (disabled by %s)", ErrLockedByOperator, ch.User.DisabledBy)
		}
		disabledBy := ""
		if st == models.StatusDisabled {
			disabledBy = actor.Name
		}
		if err := tx.Model(&models.User{}).Where("id = ?", userID).Updates(map[string]any{"status": st, "disabled_by": disabledBy, "updated_at": now}).Error; err != nil {
			return err
		}
		ch.User.Status, ch.User.UpdatedAt = st, now
		details := fmt.Sprintf("email=%s was=%s", ch.User.Email, ch.Previous)
		if st == models.StatusDisabled {
			n, err := auth.New(tx).EndAllSessions(ctx, userID)
			if err != nil {
				return fmt.Errorf("end sessions: %w", err)
			}
			q := tx.Model(&models.PersonalAccessToken{}).Where("user_id = ? AND revoked_at IS NULL", userID).Update("revoked_at", now)
			if q.Error != nil {
				return fmt.Errorf("revoke tokens: %w", q.Error)
			}
			ch.SessionsEnded, ch.TokensRevoked = n, q.RowsAffected
			details += fmt.Sprintf(" sessions_ended=%d tokens_revoked=%d", ch.SessionsEnded, ch.TokensRevoked)
		}
		return audit(tx, actor.Name, noun+"."+verb(st), UserActor(userID), details)
	})
	if err != nil {
		return StatusChange{}, err
	}
	return ch, nil
}

// isOperator reports whether an actor name is one of Mobayilo's operators
// (the web admin area or an operator command), not a customer.
func isOperator(actor string) bool {
	return strings.HasPrefix(actor, "admin:") || strings.HasPrefix(actor, "operator:")
}

func verb(st models.Status) string {
	if st == models.StatusDisabled {
		return "disable"
	}
	return "enable"
}

// MaxSeatCapCents bounds a seat's daily spend cap ($10,000), far above any
// day of calls, so a typo of extra zeros is caught.
const MaxSeatCapCents = 1_000_000

// SetSeatCap sets (capCents non-nil) or removes (nil) the daily spend cap
// of a seat of the admin's company; authorising a call checks it. The
// owner has no cap: they set the caps. Errors: ErrNotCompanyAdmin,
// ErrNotFound (including another company's user), ErrInvalid.
func (s *Service) SetSeatCap(ctx context.Context, admin models.User, seatID int64, capCents *int64) (models.User, error) {
	acct, err := s.companyOf(ctx, admin)
	if err != nil {
		return models.User{}, err
	}
	if capCents != nil && (*capCents < 0 || *capCents > MaxSeatCapCents) {
		return models.User{}, fmt.Errorf("%w: a daily cap is between $0.00 and $10,000.00", ErrInvalid)
	}
	var seat models.User
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("id = ? AND account_id = ?", seatID, acct.ID).Take(&seat).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("%w: no such seat in your company", ErrNotFound)
			}
			return err
		}
		if seat.Role != models.RoleSeat {
			return fmt.Errorf("%w: the company's admin has no daily cap; caps are for seats", ErrInvalid)
		}
		if err := tx.Model(&models.User{}).Where("id = ?", seat.ID).
			Updates(map[string]any{"daily_spend_cap_cents": capCents, "updated_at": time.Now().UTC()}).Error; err != nil {
			return err
		}
		seat.DailySpendCapCents = capCents
		details := fmt.Sprintf("email=%s cap=none", seat.Email)
		if capCents != nil {
			details = fmt.Sprintf("email=%s cap_cents=%d", seat.Email, *capCents)
		}
		return audit(tx, CompanyAdminActor(admin).Name, "seat.cap", UserActor(seat.ID), details)
	})
	if err != nil {
		return models.User{}, err
	}
	return seat, nil
}
