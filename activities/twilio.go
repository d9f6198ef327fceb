package activities

import (
	"context"
	"errors"
	"fmt"

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
