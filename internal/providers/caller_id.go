package providers

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"

	api "github.com/twilio/twilio-go/rest/api/v2010"
	verify "github.com/twilio/twilio-go/rest/verify/v2"

	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/mail"
)

// Caller-ID verification at Twilio: an SMS code through Verify v2, then the
// Outgoing Caller ID validation call (v2010 ValidationRequests).

// ValidationRequest is Twilio's answer to an Outgoing Caller ID validation
// request: the code the owner keys in during Twilio's call.
type ValidationRequest struct {
	ValidationCode string
	CallSID        string
}

// CallerIDVerifier is Twilio's side of a caller-ID verification.
type CallerIDVerifier interface {
	SendVerificationCode(ctx context.Context, e164 string) (string, error)
	CheckVerificationCode(ctx context.Context, verificationSID, e164, code string) (bool, error)
	RequestValidation(ctx context.Context, e164, friendlyName, callbackURL string) (ValidationRequest, error)
}

// ErrNoVerifyService: live caller-ID verification needs
// TWILIO_VERIFY_SERVICE_SID.
var ErrNoVerifyService = errors.New("twilio verify: set TWILIO_VERIFY_SERVICE_SID to verify caller IDs")

// TwilioCallerIDs verifies caller IDs with Twilio.
type TwilioCallerIDs struct {
	api, verify *twilioTelephony
	serviceSID  string
}

// NewTwilioCallerIDs returns the live verifier (TWILIO_API_BASE_URL and
// TWILIO_VERIFY_BASE_URL point it at mocks).
func NewTwilioCallerIDs(cfg config.Config) TwilioCallerIDs { return newTwilioCallerIDs(cfg, nil) }

func newTwilioCallerIDs(cfg config.Config, transport http.RoundTripper) TwilioCallerIDs {
	v := newTwilioTelephony(cfg, transport)
	v.base = nil
	if cfg.TwilioVerifyBaseURL != "" {
		v.base, _ = url.Parse(strings.TrimRight(cfg.TwilioVerifyBaseURL, "/"))
	}
	return TwilioCallerIDs{api: newTwilioTelephony(cfg, transport), verify: v, serviceSID: cfg.TwilioVerifyServiceSID}
}

// SendVerificationCode texts a code to e164; the Verification's SID is the
// reference the check needs.
func (t TwilioCallerIDs) SendVerificationCode(ctx context.Context, e164 string) (string, error) {
	if t.serviceSID == "" {
		return "", ErrNoVerifyService
	}
	ctx, cancel := context.WithTimeout(ctx, twilioCallTimeout)
	defer cancel()
	v, err := t.verify.rest(ctx).VerifyV2.CreateVerification(t.serviceSID, (&verify.CreateVerificationParams{}).SetTo(e164).SetChannel("sms"))
	if err != nil {
		return "", fmt.Errorf("twilio verify: send code to %s: %w", e164, err)
	}
	return deref(v.Sid), nil
}

// CheckVerificationCode reports whether code approves the verification.
func (t TwilioCallerIDs) CheckVerificationCode(ctx context.Context, verificationSID, _ string, code string) (bool, error) {
	if t.serviceSID == "" {
		return false, ErrNoVerifyService
	}
	ctx, cancel := context.WithTimeout(ctx, twilioCallTimeout)
	defer cancel()
	c, err := t.verify.rest(ctx).VerifyV2.CreateVerificationCheck(t.serviceSID,
		(&verify.CreateVerificationCheckParams{}).SetVerificationSid(verificationSID).SetCode(code))
	if err != nil {
		return false, fmt.Errorf("twilio verify: check code: %w", err)
	}
	return deref(c.Status) == "approved", nil
}

// RequestValidation has Twilio call e164; the result is posted to
// callbackURL.
func (t TwilioCallerIDs) RequestValidation(ctx context.Context, e164, friendlyName, callbackURL string) (ValidationRequest, error) {
	ctx, cancel := context.WithTimeout(ctx, twilioCallTimeout)
	defer cancel()
	v, err := t.api.rest(ctx).Api.CreateValidationRequest((&api.CreateValidationRequestParams{}).SetPhoneNumber(e164).
		SetFriendlyName(friendlyName).SetStatusCallback(callbackURL).SetStatusCallbackMethod("POST"))
	if err != nil {
		return ValidationRequest{}, fmt.Errorf("twilio: validation request for %s: %w", e164, err)
	}
	return ValidationRequest{ValidationCode: deref(v.ValidationCode), CallSID: deref(v.CallSid)}, nil
}

// SandboxCallerIDs stands in for Twilio's verification: the SMS code lands
// in the dev mailbox (as a mail to SandboxSMSAddress(number)), and a
// validation call waits for CompleteValidation, which posts the signed
// webhook Twilio would.
type SandboxCallerIDs struct {
	mailer  mail.Sender
	deliver *SandboxWebhooks
	mu      sync.Mutex
	codes   map[string]string // verification SID -> code
	calls   map[string]sandboxValidation
}

type sandboxValidation struct{ code, callbackURL, callSID string }

// UseMailer sets where the sandbox's SMS codes go (the process's dev
// mailbox); the worker sets it before it starts.
func (s *SandboxCallerIDs) UseMailer(m mail.Sender) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mailer = m
}

// NewSandboxCallerIDs returns the sandbox verifier mailing through mailer.
func NewSandboxCallerIDs(mailer mail.Sender, deliver *SandboxWebhooks) *SandboxCallerIDs {
	return &SandboxCallerIDs{mailer: mailer, deliver: deliver, codes: map[string]string{}, calls: map[string]sandboxValidation{}}
}

// SandboxSMSAddress is the dev-mailbox address of a sandbox SMS to e164.
func SandboxSMSAddress(e164 string) string { return "sms" + e164 + "@sandbox.mobayilo.test" }

func sandboxDigits(n int) string {
	var b strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}

func sandboxSID(prefix string) string { return prefix + sandboxDigits(32) }

// SendVerificationCode mails the code to the dev mailbox.
func (s *SandboxCallerIDs) SendVerificationCode(ctx context.Context, e164 string) (string, error) {
	sid, code := sandboxSID("VE"), sandboxDigits(6)
	s.mu.Lock()
	s.codes[sid] = code
	mailer := s.mailer
	s.mu.Unlock()
	if mailer == nil {
		return "", errors.New("sandbox caller IDs: no mailer to deliver the SMS code")
	}
	err := mailer.Send(ctx, mail.Message{To: SandboxSMSAddress(e164), Subject: "SMS to " + e164,
		Text: "Your Mobayilo verification code is " + code + "\n\n(sandbox: this is the SMS Twilio Verify would send)"})
	return sid, err
}

// CheckVerificationCode compares with the code mailed.
func (s *SandboxCallerIDs) CheckVerificationCode(_ context.Context, sid, _ string, code string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codes[sid] != "" && s.codes[sid] == code, nil
}

// RequestValidation "rings" e164: the call waits for CompleteValidation.
func (s *SandboxCallerIDs) RequestValidation(_ context.Context, e164, _, callbackURL string) (ValidationRequest, error) {
	v := sandboxValidation{code: sandboxDigits(6), callbackURL: callbackURL, callSID: sandboxSID("CA")}
	s.mu.Lock()
	s.calls[e164] = v
	s.mu.Unlock()
	return ValidationRequest{ValidationCode: v.code, CallSID: v.callSID}, nil
}

// ErrNoValidationCall: no sandbox validation call is ringing that number.
var ErrNoValidationCall = errors.New("no validation call is ringing this number")

// CompleteValidation keys digits in on the ringing phone e164: the signed
// webhook reports success when they are the validation code, failure
// otherwise, as Twilio's would. Errors: ErrNoValidationCall.
func (s *SandboxCallerIDs) CompleteValidation(ctx context.Context, e164, digits string) error {
	s.mu.Lock()
	v, ok := s.calls[e164]
	delete(s.calls, e164)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoValidationCall, e164)
	}
	status := "failed"
	if digits == v.code {
		status = "success"
	}
	u, err := url.Parse(v.callbackURL)
	if err != nil {
		return fmt.Errorf("sandbox validation callback %q: %w", v.callbackURL, err)
	}
	_, err = s.deliver.DeliverTwilio(ctx, u.RequestURI(), url.Values{"AccountSid": {SandboxAccountSID}, "CallSid": {v.callSID},
		"PhoneNumber": {e164}, "VerificationStatus": {status}})
	return err
}
