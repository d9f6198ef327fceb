package workflows

import (
	"context"
	"errors"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// ErrCodeRejected: the verification refused a code without checking it
// (malformed, or the verification is not waiting for one).
var ErrCodeRejected = errors.New("workflows: the code was not accepted")

// callerIDCallTimeout bounds a code's round trip (one Twilio check).
const callerIDCallTimeout = 30 * time.Second

// StartCallerIDVerification starts the verification of in.E164 for the
// account, or leaves the one already running as it is (a repeated request
// sends no second SMS). Errors: ErrUnavailable.
func (w *Client) StartCallerIDVerification(ctx context.Context, in CallerIDVerificationInput) error {
	if err := w.ready(); err != nil {
		return err
	}
	id := CallerIDWorkflowID(in.AccountID, in.E164)
	_, err := w.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: w.o.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(AttrAccountID.ValueSet(strconv.FormatInt(in.AccountID, 10)),
			AttrCallerIDState.ValueSet(CallerIDChecking)),
	}, NameCallerIDVerification, in)
	return translate(err, "start "+id)
}

// SubmitCallerIDCode hands an SMS code to the number's verification and
// returns whether it was right. Errors: ErrUnavailable, ErrNotRunning,
// ErrCodeRejected.
func (w *Client) SubmitCallerIDCode(ctx context.Context, accountID int64, e164, code string) (CallerIDCodeAnswer, error) {
	var a CallerIDCodeAnswer
	uctx, cancel := context.WithTimeout(ctx, callerIDCallTimeout)
	defer cancel()
	return a, w.update(uctx, CallerIDWorkflowID(accountID, e164), UpdateCallerIDCode, &a, CallerIDCode{Code: code})
}

// SignalCallerIDValidation hands Twilio's validation result to the
// number's verification. Errors: ErrUnavailable, ErrNotRunning.
func (w *Client) SignalCallerIDValidation(ctx context.Context, accountID int64, e164 string, res CallerIDValidationResult) error {
	return w.signal(ctx, CallerIDWorkflowID(accountID, e164), SignalCallerIDValidationResult, res)
}

// CallerIDVerificationState queries the number's verification. Errors:
// ErrUnavailable, ErrNotRunning.
func (w *Client) CallerIDVerificationState(ctx context.Context, accountID int64, e164 string) (CallerIDState, error) {
	var st CallerIDState
	return st, w.query(ctx, CallerIDWorkflowID(accountID, e164), &st)
}

// RemoveCallerIDVerification ends the number's verification under way as
// removed and returns its final state, which its row then holds (another
// final state when it had already ended). Errors: ErrUnavailable,
// ErrNotRunning (nothing under way: the row is as the workflow left it).
func (w *Client) RemoveCallerIDVerification(ctx context.Context, accountID int64, e164 string) (CallerIDState, error) {
	var st CallerIDState
	uctx, cancel := context.WithTimeout(ctx, callerIDCallTimeout)
	defer cancel()
	return st, w.update(uctx, CallerIDWorkflowID(accountID, e164), UpdateCallerIDRemove, &st)
}
