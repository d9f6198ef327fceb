package workflows

import (
	"context"
	"errors"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/mobayilo/mobayilo/activities"
)

// ErrCallRefused: the call's hold could not be placed (the balance was
// spent meanwhile, or the account refuses); nothing was held.
var ErrCallRefused = errors.New("workflows: the call could not be authorised")

// StartCall starts a call's Call workflow with its authorize update and
// returns what the hold covers, in one round trip (update-with-start). A
// call id has one workflow, ever. Errors: ErrUnavailable, ErrCallRefused,
// ErrAlreadyStarted.
func (w *Client) StartCall(ctx context.Context, in CallInput) (CallAuthorization, error) {
	var auth CallAuthorization
	err := w.updateWithStart(ctx, client.StartWorkflowOptions{
		ID:                       CallWorkflowID(in.CallID),
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes:    CallSearchAttributes(in.AccountID),
	}, NameCall, in, UpdateCallAuthorize, &auth)
	if isApplicationError(err, activities.ErrTypeCallRefused) {
		return auth, errors.Join(ErrCallRefused, err)
	}
	return auth, err
}

// SignalCallStatus hands a state of the call to its workflow (the voice
// webhook's dialing, a callback's in-progress or final status). Errors:
// ErrUnavailable, ErrNotRunning (the call's workflow has ended: the
// callback is recorded, nothing more is owed).
func (w *Client) SignalCallStatus(ctx context.Context, callID string, ev CallStatusEvent) error {
	return w.signal(ctx, CallWorkflowID(callID), SignalCallStatus, ev)
}

// CallState queries a call's workflow. Errors: ErrUnavailable,
// ErrNotRunning.
func (w *Client) CallState(ctx context.Context, callID string) (CallState, error) {
	var st CallState
	return st, w.query(ctx, CallWorkflowID(callID), &st)
}

// WaitCall blocks until the call's workflow ends (or ctx does) and
// returns its result.
func (w *Client) WaitCall(ctx context.Context, callID string) (CallResult, error) {
	var res CallResult
	return res, w.wait(ctx, CallWorkflowID(callID), &res)
}

// HangUpCall asks a bridge call's owner leg to hang up its Twilio call,
// which ends the destination leg too. Errors: ErrUnavailable,
// ErrNotRunning (the call is over).
func (w *Client) HangUpCall(ctx context.Context, ownerCallID string) error {
	return w.signal(ctx, CallWorkflowID(ownerCallID), SignalCallHangup, nil)
}
