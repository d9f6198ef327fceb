package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/mobayilo/mobayilo/models"
)

// Device logins (RFC 8628, `moby auth login`): the rows that tie a device
// code and a user code to a DeviceLogin workflow. Only the codes' SHA-256
// are stored.

// ErrDeviceCodeUnknown: no device login has that device code (or it
// belongs to another client).
var ErrDeviceCodeUnknown = errors.New("unknown device code")

// ErrUserCodeUnknown: no device login waits behind that user code.
var ErrUserCodeUnknown = errors.New("that code doesn't match a device waiting to sign in")

// ErrDeviceLoginExpired: the device login is past its lifetime.
var ErrDeviceLoginExpired = errors.New("this code has expired")

// userCodeTries bounds retries when a fresh user code collides with one
// already stored (20^8 codes make that rare).
const userCodeTries = 5

// DeviceRowsKept is how long a finished device login's row stays (for the
// helpdesk) before PurgeDeviceLogins deletes it.
const DeviceRowsKept = 7 * 24 * time.Hour

// NewDeviceLogin describes a device asking to sign in.
type NewDeviceLogin struct {
	ClientID   string
	DeviceName string
	IP         string
	Lifetime   time.Duration
	// WorkflowID names the device code's workflow from its hash.
	WorkflowID func(deviceCodeHash string) string
}

// IssuedDeviceLogin is a stored device login with its two codes, which
// exist only here: the device code for the device, the user code for the
// person approving.
type IssuedDeviceLogin struct {
	models.DeviceAuthorization
	DeviceCode string
	UserCode   string
}

// CreateDeviceLogin mints a device code and a user code and stores the
// login under their hashes. The user code is drawn again when taken (the
// unique index decides, so two API processes cannot hand out the same one).
func (s *Service) CreateDeviceLogin(ctx context.Context, n NewDeviceLogin) (IssuedDeviceLogin, error) {
	deviceCode := NewSecret()
	hash := Hash(deviceCode)
	now := s.now()
	da := models.DeviceAuthorization{DeviceCodeHash: hash, WorkflowID: n.WorkflowID(hash), ClientID: n.ClientID,
		DeviceName: n.DeviceName, IP: n.IP, CreatedAt: now, ExpiresAt: now.Add(n.Lifetime)}
	for range userCodeTries {
		code := NewUserCode()
		da.ID, da.UserCodeHash = 0, Hash(code)
		q := s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "user_code_hash"}}, DoNothing: true}).Create(&da)
		if q.Error != nil {
			return IssuedDeviceLogin{}, fmt.Errorf("auth: store device login: %w", q.Error)
		}
		if q.RowsAffected == 1 {
			return IssuedDeviceLogin{DeviceAuthorization: da, DeviceCode: deviceCode, UserCode: code}, nil
		}
	}
	return IssuedDeviceLogin{}, fmt.Errorf("auth: no free user code after %d tries", userCodeTries)
}

// DeleteDeviceLogin removes a login whose workflow never started.
func (s *Service) DeleteDeviceLogin(ctx context.Context, id int64) error {
	return s.db.WithContext(ctx).Delete(&models.DeviceAuthorization{}, id).Error
}

// PurgeDeviceLogins deletes the rows of logins over for DeviceRowsKept.
func (s *Service) PurgeDeviceLogins(ctx context.Context) error {
	return s.db.WithContext(ctx).Where("expires_at < ?", s.now().Add(-DeviceRowsKept)).Delete(&models.DeviceAuthorization{}).Error
}

// DeviceLoginByCode finds the login of a device code for clientID.
// Errors: ErrDeviceCodeUnknown.
func (s *Service) DeviceLoginByCode(ctx context.Context, clientID, deviceCode string) (models.DeviceAuthorization, error) {
	var da models.DeviceAuthorization
	err := s.db.WithContext(ctx).Where("device_code_hash = ?", Hash(deviceCode)).Take(&da).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && da.ClientID != clientID):
		return da, ErrDeviceCodeUnknown
	case err != nil:
		return da, fmt.Errorf("auth: look up device code: %w", err)
	}
	return da, nil
}

// DeviceLoginByUserCode finds the login behind what a person typed on
// /device. Errors: ErrUserCodeUnknown (malformed or unknown), ErrDeviceLoginExpired
// (known but past its lifetime; the row is returned).
func (s *Service) DeviceLoginByUserCode(ctx context.Context, typed string) (models.DeviceAuthorization, error) {
	var da models.DeviceAuthorization
	code, ok := NormalizeUserCode(typed)
	if !ok {
		return da, ErrUserCodeUnknown
	}
	err := s.db.WithContext(ctx).Where("user_code_hash = ?", Hash(code)).Take(&da).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return da, ErrUserCodeUnknown
	case err != nil:
		return da, fmt.Errorf("auth: look up user code: %w", err)
	case s.now().After(da.ExpiresAt):
		return da, ErrDeviceLoginExpired
	}
	return da, nil
}
