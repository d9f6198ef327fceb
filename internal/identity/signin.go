package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/mobayilo/mobayilo/models"
)

// Errors of sign-in and sign-up. api/errors.go maps each to one status.
var (
	// ErrBadCredentials: unknown email, wrong password, or a user who has
	// no password (seats, link-only users). One error for all, so the answer
	// does not say which emails have accounts.
	ErrBadCredentials = errors.New("wrong email or password")
	// ErrUnconfirmed: the password is right but was chosen at a sign-up whose
	// address has not been confirmed yet.
	ErrUnconfirmed = errors.New("confirm your email address first: open the link we sent when you signed up, or sign in with an email link")
	// ErrCompanyDomain: an individual sign-up with an address on a
	// company's allowlist; such addresses join that company as seats.
	ErrCompanyDomain = errors.New("addresses at this domain belong to a company on Mobayilo")
	// ErrSeatPassword: seats sign in by email link only.
	ErrSeatPassword = errors.New("company seats sign in with an email link and have no password")
)

// SignInOutcome says what an email-first sign-in found or did.
type SignInOutcome string

const (
	// SignInKnownUser: the email belongs to an active user.
	SignInKnownUser SignInOutcome = "known_user"
	// SignInNewSeat: the email's domain is on a company's allowlist and a
	// seat was created for it.
	SignInNewSeat SignInOutcome = "new_seat"
	// SignInNewIndividual: nobody knew the email; an individual account was
	// created.
	SignInNewIndividual SignInOutcome = "new_individual"
	// SignInDisabled: the user, or the account they (would) belong to, is
	// disabled. No link goes out.
	SignInDisabled SignInOutcome = "disabled"
	// SignInWaitlisted: the beta gate is on and the email is neither a user
	// nor an invited subscriber; it is now a waiting subscriber.
	SignInWaitlisted SignInOutcome = "waitlisted"
)

// SignInResult is what ResolveSignIn decided. User is set unless the
// outcome is SignInWaitlisted (or SignInDisabled for a company nobody from
// the address has joined yet).
type SignInResult struct {
	User    models.User
	Outcome SignInOutcome
}

// SendLink reports whether a magic link should go out.
func (r SignInResult) SendLink() bool {
	switch r.Outcome {
	case SignInKnownUser, SignInNewSeat, SignInNewIndividual:
		return true
	}
	return false
}

// ResolveSignIn is the email-first entry: it finds the user an address
// belongs to, or creates one. A known user is found; an address on a
// company's allowed domain becomes a seat of that company; any other
// address becomes an individual. With betaGate, new individuals need an
// invited subscriber record, else they join the waiting list; seats of a
// company already on Mobayilo pass, since the company's admin chose the
// domain. A pending sign-up's unconfirmed password is dropped here: the
// person asking for a link may be the address's real owner, and the
// password was chosen by someone who never proved they read its mail.
// Errors: ErrInvalid.
func (s *Service) ResolveSignIn(ctx context.Context, email string, betaGate bool) (SignInResult, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return SignInResult{}, err
	}
	for range 2 { // a second pass after losing a race to create the same user
		u, err := s.UserByEmail(ctx, email)
		if err == nil {
			return s.knownUser(ctx, u)
		}
		if !errors.Is(err, ErrUserNotFound) {
			return SignInResult{}, err
		}
		res, err := s.newUser(ctx, email, betaGate)
		if errors.Is(err, ErrEmailTaken) {
			continue
		}
		return res, err
	}
	return SignInResult{}, fmt.Errorf("resolve sign-in: %s appeared and vanished", email)
}

func (s *Service) knownUser(ctx context.Context, u models.User) (SignInResult, error) {
	active, err := s.UserActive(ctx, u)
	if err != nil {
		return SignInResult{}, err
	}
	if !active {
		return SignInResult{User: u, Outcome: SignInDisabled}, nil
	}
	q := s.db.WithContext(ctx).Model(&models.User{}).Where("id = ? AND pending_confirmation AND password_hash <> ''", u.ID).
		Updates(map[string]any{"password_hash": "", "updated_at": time.Now().UTC()})
	if q.Error != nil {
		return SignInResult{}, fmt.Errorf("drop unconfirmed password: %w", q.Error)
	}
	if q.RowsAffected > 0 {
		u.PasswordHash = ""
	}
	return SignInResult{User: u, Outcome: SignInKnownUser}, nil
}

// UserActive reports whether both the user and their account are active.
func (s *Service) UserActive(ctx context.Context, u models.User) (bool, error) {
	var a models.Account
	if err := s.db.WithContext(ctx).Take(&a, u.AccountID).Error; err != nil {
		return false, fmt.Errorf("load account %d: %w", u.AccountID, err)
	}
	return u.Status == models.StatusActive && a.Status == models.StatusActive, nil
}

// newUser creates the seat or individual an unknown address becomes.
// Errors: ErrEmailTaken when someone else created it meanwhile.
func (s *Service) newUser(ctx context.Context, email string, betaGate bool) (SignInResult, error) {
	d, ok, err := s.companyDomainOf(ctx, email)
	if err != nil {
		return SignInResult{}, err
	}
	if ok {
		var acct models.Account
		if err := s.db.WithContext(ctx).Take(&acct, d.AccountID).Error; err != nil {
			return SignInResult{}, fmt.Errorf("load company %d: %w", d.AccountID, err)
		}
		if acct.Status != models.StatusActive {
			return SignInResult{Outcome: SignInDisabled}, nil
		}
		now := time.Now().UTC()
		u := models.User{AccountID: acct.ID, Email: email, Role: models.RoleSeat, Status: models.StatusActive, CreatedAt: now, UpdatedAt: now}
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := tx.Create(&u).Error; err != nil {
				return err
			}
			return audit(tx, "system:signin", "seat.provision", UserActor(u.ID), fmt.Sprintf("account=%d domain=%s", acct.ID, d.Domain))
		})
		if models.IsUniqueViolation(err) {
			return SignInResult{}, ErrEmailTaken
		}
		if err != nil {
			return SignInResult{}, fmt.Errorf("create seat: %w", err)
		}
		return SignInResult{User: u, Outcome: SignInNewSeat}, nil
	}
	if betaGate {
		admitted, err := s.admitted(ctx, email)
		if err != nil || !admitted {
			return SignInResult{Outcome: SignInWaitlisted}, err
		}
	}
	u, _, err := s.CreateUser(ctx, NewUser{Email: email})
	if err != nil {
		return SignInResult{}, err
	}
	return SignInResult{User: u, Outcome: SignInNewIndividual}, nil
}

// emailDomain is an address's domain in the canonical form company_domains
// stores; ok is false when it cannot be a company domain at all.
func emailDomain(email string) (string, bool) {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return "", false
	}
	d, err := NormalizeDomain(email[at+1:])
	return d, err == nil
}

// companyDomainOf finds the allowlist entry an address falls under.
func (s *Service) companyDomainOf(ctx context.Context, email string) (models.CompanyDomain, bool, error) {
	d, ok := emailDomain(email)
	if !ok {
		return models.CompanyDomain{}, false, nil
	}
	return s.domainByName(ctx, d)
}

// admitted reports whether the beta gate lets a new address sign up: it is
// an invited subscriber. Anyone else is put on the waiting list.
func (s *Service) admitted(ctx context.Context, email string) (bool, error) {
	var sub models.Subscriber
	err := s.db.WithContext(ctx).Where("lower(email) = ?", email).Take(&sub).Error
	if err == nil {
		return sub.Status == models.SubscriberInvited, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return false, err
	}
	_, err = s.Subscribe(ctx, email)
	return false, err
}

// Subscribe adds an address to the waiting list. An address already on it,
// in any letter case, changes nothing and reports added=false. Errors:
// ErrInvalid.
func (s *Service) Subscribe(ctx context.Context, email string) (added bool, err error) {
	email, err = NormalizeEmail(email)
	if err != nil {
		return false, err
	}
	// The unique index on lower(email) decides; DO NOTHING keeps a repeat
	// (or two at once) from being an error.
	q := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&models.Subscriber{Email: email, Status: models.SubscriberWaiting, CreatedAt: time.Now().UTC()})
	if q.Error != nil {
		return false, fmt.Errorf("subscribe: %w", q.Error)
	}
	return q.RowsAffected == 1, nil
}

// ---- Passwords ----

// HashPassword checks a new password against the policy and hashes it.
// Errors: ErrInvalid.
func HashPassword(password string) (string, error) {
	switch {
	case len(password) < MinPasswordLength:
		return "", fmt.Errorf("%w: password must be at least %d characters", ErrInvalid, MinPasswordLength)
	case len(password) > 72: // bcrypt ignores the rest
		return "", fmt.Errorf("%w: password must be at most 72 bytes", ErrInvalid)
	}
	b, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// dummyHash is compared against when no user matches, so an unknown email
// costs the same bcrypt time as a known one.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("mobayilo timing equaliser"), bcrypt.DefaultCost)

// PasswordSignIn checks an email and password. The returned user may still
// be disabled; creating the session refuses that. Errors: ErrBadCredentials,
// ErrUnconfirmed.
func (s *Service) PasswordSignIn(ctx context.Context, email, password string) (models.User, error) {
	u, err := s.UserByEmail(ctx, email)
	if errors.Is(err, ErrUserNotFound) {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return models.User{}, ErrBadCredentials
	}
	if err != nil {
		return models.User{}, err
	}
	if u.PasswordHash == "" || u.Role == models.RoleSeat {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return models.User{}, ErrBadCredentials
	}
	if !CheckPassword(u, password) {
		return models.User{}, ErrBadCredentials
	}
	pending, err := s.pending(ctx, u.ID)
	if err != nil {
		return models.User{}, err
	}
	if pending {
		return models.User{}, ErrUnconfirmed
	}
	return u, nil
}

func (s *Service) pending(ctx context.Context, userID int64) (bool, error) {
	var pending []bool
	if err := s.db.WithContext(ctx).Model(&models.User{}).Where("id = ?", userID).Pluck("pending_confirmation", &pending).Error; err != nil {
		return false, err
	}
	return len(pending) == 1 && pending[0], nil
}

// SetPassword gives an individual or a company admin a new password. It is
// called after they opened a reset link, so it also confirms the address.
// Errors: ErrInvalid, ErrSeatPassword, ErrUserNotFound.
func (s *Service) SetPassword(ctx context.Context, userID int64, password string) error {
	var u models.User
	if err := s.db.WithContext(ctx).Take(&u, userID).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ErrUserNotFound
		}
		return err
	}
	if u.Role == models.RoleSeat {
		return ErrSeatPassword
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	if err := s.db.WithContext(ctx).Model(&models.User{}).Where("id = ?", userID).
		Updates(map[string]any{"password_hash": hash, "updated_at": time.Now().UTC()}).Error; err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	_, err = s.ConfirmEmail(ctx, userID)
	return err
}

// ---- Sign-up ----

// SignUpRequest is the password sign-up form.
type SignUpRequest struct {
	Email    string
	Password string
	Kind     models.AccountKind // individual when empty
	// CompanyName names a company account; required for companies.
	CompanyName string
	BetaGate    bool
}

// SignUpOutcome says what SignUp did.
type SignUpOutcome string

const (
	// SignUpCreated: a new, pending account; send a confirmation link.
	SignUpCreated SignUpOutcome = "created"
	// SignUpExisting: the address already has a user; send them a sign-in
	// link instead, so the answer is the same as for a new address.
	SignUpExisting SignUpOutcome = "existing"
	// SignUpDisabled: the address has a disabled user or account; nothing
	// is sent.
	SignUpDisabled SignUpOutcome = "disabled"
	// SignUpWaitlisted: the beta gate kept the address out; it is on the
	// waiting list.
	SignUpWaitlisted SignUpOutcome = "waitlisted"
)

// SignUpResult is what SignUp decided.
type SignUpResult struct {
	User    models.User
	Outcome SignUpOutcome
}

// SignUp registers an individual or a company (with its admin) who chose a
// password. The account is pending until the address is confirmed by a
// link: the password is refused and a company's domain is not allowlisted
// until then. Errors: ErrInvalid, ErrCompanyDomain, ErrDomainTaken (a
// company whose domain another company has).
func (s *Service) SignUp(ctx context.Context, in SignUpRequest) (SignUpResult, error) {
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return SignUpResult{}, err
	}
	kind := in.Kind
	if kind == "" {
		kind = models.AccountIndividual
	}
	if !kind.Valid() {
		return SignUpResult{}, fmt.Errorf("%w: account type must be individual or company", ErrInvalid)
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return SignUpResult{}, err
	}
	if u, err := s.UserByEmail(ctx, email); err == nil {
		// The same sign-up sent twice (a double click, a back button) is
		// still the same sign-up; only a different password means a
		// different person, whose claim must not stand.
		if pending, err := s.pending(ctx, u.ID); err != nil {
			return SignUpResult{}, err
		} else if pending && CheckPassword(u, in.Password) {
			if active, err := s.UserActive(ctx, u); err != nil || active {
				return SignUpResult{User: u, Outcome: SignUpCreated}, err
			}
		}
		res, err := s.knownUser(ctx, u)
		if err != nil {
			return SignUpResult{}, err
		}
		if res.Outcome == SignInDisabled {
			return SignUpResult{User: u, Outcome: SignUpDisabled}, nil
		}
		return SignUpResult{User: res.User, Outcome: SignUpExisting}, nil
	} else if !errors.Is(err, ErrUserNotFound) {
		return SignUpResult{}, err
	}
	if d, ok, err := s.companyDomainOf(ctx, email); err != nil {
		return SignUpResult{}, err
	} else if ok {
		if kind == models.AccountCompany {
			return SignUpResult{}, domainTaken(d.Domain)
		}
		return SignUpResult{}, fmt.Errorf("%w: %s is on a company's allowlist, so %s joins that company as a seat; sign in with just your email to get a link", ErrCompanyDomain, DisplayDomain(d.Domain), email)
	}
	if in.BetaGate {
		admitted, err := s.admitted(ctx, email)
		if err != nil {
			return SignUpResult{}, err
		}
		if !admitted {
			return SignUpResult{Outcome: SignUpWaitlisted}, nil
		}
	}
	var u models.User
	if kind == models.AccountCompany {
		u, _, err = s.createCompany(ctx, NewCompany{Name: in.CompanyName, AdminEmail: email}, hash, true)
	} else {
		u, _, err = s.createOwner(ctx, email, hash, models.Account{Kind: models.AccountIndividual, Name: email}, "", true)
	}
	if errors.Is(err, ErrEmailTaken) {
		// Created meanwhile by a sign-in or a double submit: answer as for
		// any existing address.
		return s.SignUp(ctx, in)
	}
	if err != nil {
		return SignUpResult{}, err
	}
	return SignUpResult{User: u, Outcome: SignUpCreated}, nil
}

// NewCompany describes a company account and its admin.
type NewCompany struct {
	Name       string
	AdminEmail string
	// Password is optional: the admin may sign in by email link only.
	Password string
}

// CreateCompany creates a company account, its admin (the owner) and its
// domain allowlist, set to the admin's email domain, in one transaction.
// It is for operators, who vouch for the address; self-service sign-up goes
// through SignUp, which defers the allowlist until the address is
// confirmed. Errors: ErrInvalid (including a public email provider's
// domain), ErrEmailTaken, ErrDomainTaken.
func (s *Service) CreateCompany(ctx context.Context, in NewCompany) (models.User, models.Account, error) {
	hash := ""
	if in.Password != "" {
		var err error
		if hash, err = HashPassword(in.Password); err != nil {
			return models.User{}, models.Account{}, err
		}
	}
	return s.createCompany(ctx, in, hash, false)
}

func (s *Service) createCompany(ctx context.Context, in NewCompany, hash string, pending bool) (models.User, models.Account, error) {
	email, err := NormalizeEmail(in.AdminEmail)
	if err != nil {
		return models.User{}, models.Account{}, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" || len(name) > 100 || !utf8.ValidString(name) {
		return models.User{}, models.Account{}, fmt.Errorf("%w: company name must be 1 to 100 characters of text", ErrInvalid)
	}
	domain, ok := emailDomain(email)
	if !ok {
		return models.User{}, models.Account{}, fmt.Errorf("%w: %s has no domain a company can use", ErrInvalid, email)
	}
	if PublicEmailDomain(domain) {
		return models.User{}, models.Account{}, fmt.Errorf("%w: %s is a public email provider where anyone can get an address; sign up with your work email, whose domain becomes your company's", ErrInvalid, domain)
	}
	if _, taken, err := s.domainByName(ctx, domain); err != nil {
		return models.User{}, models.Account{}, err
	} else if taken {
		return models.User{}, models.Account{}, domainTaken(domain)
	}
	allow := domain
	if pending {
		allow = "" // ConfirmEmail adds it
	}
	return s.createOwner(ctx, email, hash, models.Account{Kind: models.AccountCompany, Name: name}, allow, pending)
}

// createOwner creates an account with its owner and, for a company, the
// first allowlisted domain, in one transaction. Errors: ErrEmailTaken,
// ErrDomainTaken.
func (s *Service) createOwner(ctx context.Context, email, hash string, acct models.Account, domain string, pending bool) (models.User, models.Account, error) {
	now := time.Now().UTC()
	acct.Status, acct.CreatedAt, acct.UpdatedAt = models.StatusActive, now, now
	u := models.User{Email: email, PasswordHash: hash, Role: models.RoleOwner, Status: models.StatusActive, CreatedAt: now, UpdatedAt: now}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&acct).Error; err != nil {
			return err
		}
		u.AccountID = acct.ID
		if err := tx.Create(&u).Error; err != nil {
			return err
		}
		if pending {
			if err := tx.Model(&models.User{}).Where("id = ?", u.ID).Update("pending_confirmation", true).Error; err != nil {
				return err
			}
		}
		if domain == "" {
			return nil
		}
		if err := tx.Create(&models.CompanyDomain{AccountID: acct.ID, Domain: domain, CreatedAt: now}).Error; err != nil {
			return fmt.Errorf("%w: %w", errDomainInsert, err)
		}
		return nil
	})
	switch {
	case errors.Is(err, errDomainInsert) && models.IsUniqueViolation(err):
		return models.User{}, models.Account{}, domainTaken(domain)
	case models.IsUniqueViolation(err):
		return models.User{}, models.Account{}, fmt.Errorf("%w: %s", ErrEmailTaken, email)
	case err != nil:
		return models.User{}, models.Account{}, fmt.Errorf("create account: %w", err)
	}
	return u, acct, nil
}

var errDomainInsert = errors.New("insert company domain")

// Confirmation is what ConfirmEmail did.
type Confirmation struct {
	// Confirmed is true when the user was pending until now.
	Confirmed bool
	// Domain is the domain just put on the company's allowlist, if any.
	Domain string
	// DomainTaken names a domain that could not be allowlisted because
	// another company claimed it while this sign-up was pending.
	DomainTaken string
}

// ConfirmEmail records that the user opened a link sent to their address.
// A pending company admin's domain joins the allowlist now. Confirming a
// confirmed user changes nothing.
func (s *Service) ConfirmEmail(ctx context.Context, userID int64) (Confirmation, error) {
	var out Confirmation
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Model(&models.User{}).Where("id = ? AND pending_confirmation", userID).Update("pending_confirmation", false)
		if q.Error != nil || q.RowsAffected == 0 {
			return q.Error
		}
		out.Confirmed = true
		var u models.User
		var a models.Account
		if err := tx.Take(&u, userID).Error; err != nil {
			return err
		}
		if err := tx.Take(&a, u.AccountID).Error; err != nil {
			return err
		}
		if a.Kind != models.AccountCompany || u.Role != models.RoleOwner {
			return nil
		}
		var n int64
		if err := tx.Model(&models.CompanyDomain{}).Where("account_id = ?", a.ID).Count(&n).Error; err != nil || n > 0 {
			return err
		}
		domain, ok := emailDomain(u.Email)
		if !ok || PublicEmailDomain(domain) {
			return nil
		}
		var taken int64
		if err := tx.Model(&models.CompanyDomain{}).Where("lower(domain) = ?", domain).Count(&taken).Error; err != nil {
			return err
		}
		if taken > 0 {
			out.DomainTaken = domain
			return nil
		}
		if err := tx.Create(&models.CompanyDomain{AccountID: a.ID, Domain: domain, CreatedAt: time.Now().UTC()}).Error; err != nil {
			return err
		}
		out.Domain = domain
		return audit(tx, UserActor(u.ID), "domain.add", "domain:"+domain, fmt.Sprintf("account=%d via=signup", a.ID))
	})
	if err != nil {
		return Confirmation{}, fmt.Errorf("confirm email: %w", err)
	}
	return out, nil
}
