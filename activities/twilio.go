package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	twclient "github.com/twilio/twilio-go/client"
	"go.temporal.io/sdk/temporal"

	"github.com/mobayilo/mobayilo/internal/calls"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/models"
)

// Activities that call Twilio.

// Telephony is what the Call activities need of Twilio (or the sandbox
// carrier).
type Telephony interface {
	FetchCall(ctx context.Context, sid string) (providers.CallInfo, error)
	CreateCall(ctx context.Context, c providers.OutboundCall) (string, error)
	EndCall(ctx context.Context, sid, status string) error
}

// BridgeURLs builds the webhook URLs Twilio is given for a bridge call's
// owner leg.
type BridgeURLs interface {
	// BridgeVoiceURL is what Twilio asks once the owner answers.
	BridgeVoiceURL(bridgeID string) string
	// StatusCallbackURL gets a call's status callbacks.
	StatusCallbackURL(callID string) string
}

// FetchCallResult is Twilio's record of a call, in the call's states.
type FetchCallResult struct {
	// State is the call's state by Twilio's record ("" when Twilio has no
	// final word yet).
	State           string
	DurationSeconds int64
}

// ErrTypeCallNotDialed marks a fetch of a call Twilio never saw.
const ErrTypeCallNotDialed = "CallNotDialed"

// FetchCall asks Twilio how a call's phone leg (or, before that leg
// exists, the browser's) ended, for a call whose final callback never came.
func (a *Activities) FetchCall(ctx context.Context, callID string) (FetchCallResult, error) {
	c, err := a.Calls.Get(ctx, callID)
	if err != nil {
		return FetchCallResult{}, err
	}
	sid := c.TwilioChildSID
	if sid == "" {
		sid = c.TwilioCallSID
	}
	if sid == "" {
		return FetchCallResult{}, temporal.NewNonRetryableApplicationError("call "+callID+" never reached Twilio", ErrTypeCallNotDialed, nil)
	}
	info, err := a.Telephony.FetchCall(ctx, sid)
	if errors.Is(err, providers.ErrCallUnknown) {
		return FetchCallResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeCallNotDialed, err)
	}
	if err != nil {
		return FetchCallResult{}, err
	}
	st, ok := calls.StatusOf(info.Status)
	if !ok || !st.Final() {
		return FetchCallResult{DurationSeconds: info.DurationSeconds}, nil
	}
	if st == models.CallCompleted && info.DurationSeconds < 0 {
		return FetchCallResult{}, fmt.Errorf("twilio: call %s is completed without a duration yet", sid)
	}
	return FetchCallResult{State: string(st), DurationSeconds: max(info.DurationSeconds, 0)}, nil
}

// ErrTypeCallNotPlaced marks an owner leg Twilio refused to place (a bad
// number, an unverified From): retrying would not help.
const ErrTypeCallNotPlaced = "CallNotPlaced"

// PlaceBridgeCall has Twilio ring the owner's phone for a bridge call's
// owner leg (REST Calls create, From the deployment's caller ID) and
// records its SID. Once answered, Twilio asks the bridge webhook, which
// dials the destination. Twilio's create takes no idempotency key, so a
// leg that has its SID is never placed again.
func (a *Activities) PlaceBridgeCall(ctx context.Context, callID string) (string, error) {
	c, err := a.Calls.Get(ctx, callID)
	if err != nil {
		return "", err
	}
	if c.TwilioCallSID != "" {
		return c.TwilioCallSID, nil
	}
	sid, err := a.Telephony.CreateCall(ctx, providers.OutboundCall{To: c.ToE164, From: c.CallerID,
		URL: a.BridgeURLs.BridgeVoiceURL(c.BridgeID), StatusCallback: a.BridgeURLs.StatusCallbackURL(c.ID),
		TimeLimit: time.Duration(c.MaxMinutes) * time.Minute})
	var re *twclient.TwilioRestError
	if errors.As(err, &re) && re.Status >= 400 && re.Status < 500 && re.Status != 429 {
		return "", temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeCallNotPlaced, err)
	}
	if err != nil {
		return "", err
	}
	return sid, a.Calls.RecordPlaced(ctx, callID, sid)
}

// EndCallInput is a hang-up of a call's leg.
type EndCallInput struct {
	CallID string
	// Status is Twilio's: canceled before the answer, completed after.
	Status string
}

// EndCall hangs up a call placed through Twilio's REST API (REST Calls
// update); a call Twilio no longer knows is over already.
func (a *Activities) EndCall(ctx context.Context, in EndCallInput) error {
	c, err := a.Calls.Get(ctx, in.CallID)
	if err != nil {
		return err
	}
	if c.TwilioCallSID == "" {
		return nil // never placed: nothing rings
	}
	err = a.Telephony.EndCall(ctx, c.TwilioCallSID, in.Status)
	if errors.Is(err, providers.ErrCallUnknown) {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeCallNotDialed, err)
	}
	return err
}

// CallerIDVerifier is what the caller-ID verification needs of Twilio:
// Verify's SMS code, and the Outgoing Caller ID validation call.
type CallerIDVerifier interface {
	// SendVerificationCode texts a code to e164 and returns Verify's SID.
	SendVerificationCode(ctx context.Context, e164 string) (string, error)
	// CheckVerificationCode reports whether code is the one sent.
	CheckVerificationCode(ctx context.Context, verificationSID, e164, code string) (bool, error)
	// RequestValidation has Twilio call e164 to validate it as a caller
	// ID; its result goes to callbackURL.
	RequestValidation(ctx context.Context, e164, friendlyName, callbackURL string) (providers.ValidationRequest, error)
}

// CallerIDCallbacks builds the signed webhook URL of an account's
// validation results.
type CallerIDCallbacks interface {
	CallerIDCallbackURL(accountID int64) string
}

// SendCallerIDCode texts the verification code to e164.
func (a *Activities) SendCallerIDCode(ctx context.Context, e164 string) (string, error) {
	return a.CallerIDVerifier.SendVerificationCode(ctx, e164)
}

// CheckCallerIDCodeInput is one code to check.
type CheckCallerIDCodeInput struct {
	VerificationSID, E164, Code string
}

// CheckCallerIDCode asks Twilio Verify whether the code is right.
func (a *Activities) CheckCallerIDCode(ctx context.Context, in CheckCallerIDCodeInput) (bool, error) {
	return a.CallerIDVerifier.CheckVerificationCode(ctx, in.VerificationSID, in.E164, in.Code)
}

// RequestCallerIDValidationInput is one validation call to ask for.
type RequestCallerIDValidationInput struct {
	AccountID int64
	E164      string
}

// CallerIDValidationRequest is Twilio's answer: the code to key in.
type CallerIDValidationRequest struct {
	ValidationCode string
	CallSID        string
}

// RequestCallerIDValidation asks Twilio to call e164 for its validation.
func (a *Activities) RequestCallerIDValidation(ctx context.Context, in RequestCallerIDValidationInput) (CallerIDValidationRequest, error) {
	v, err := a.CallerIDVerifier.RequestValidation(ctx, in.E164, fmt.Sprintf("Mobayilo account %d", in.AccountID),
		a.CallerIDCallbacks.CallerIDCallbackURL(in.AccountID))
	if err != nil {
		return CallerIDValidationRequest{}, err
	}
	return CallerIDValidationRequest{ValidationCode: v.ValidationCode, CallSID: v.CallSID}, nil
}
