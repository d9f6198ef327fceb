package workflows

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// DevicePollTimeout bounds each round trip of a device poll through
// Temporal; a worker that does not answer in time gets the client
// slow_down rather than an error that would end its login.
const DevicePollTimeout = 10 * time.Second

// StartDeviceLogin starts the DeviceLogin workflow of a new device code,
// named by the code's hash. Errors: ErrUnavailable, ErrAlreadyStarted.
func (w *Client) StartDeviceLogin(ctx context.Context, deviceCodeHash string, in DeviceLoginInput) error {
	if err := w.ready(); err != nil {
		return err
	}
	id := DeviceLoginWorkflowID(deviceCodeHash)
	_, err := w.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: w.o.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE}, NameDeviceLogin, in)
	return translate(err, "start "+id)
}

// PollDeviceLogin asks a device code's workflow for a poll's answer. A
// workflow that has closed (decided, used up or expired) answers from its
// result; one Temporal no longer knows is long expired. Errors:
// ErrUnavailable, ErrInvalidGrant, or the failure of the round trip (the
// workflow did not answer in time).
func (w *Client) PollDeviceLogin(ctx context.Context, deviceCodeHash string, p DevicePoll) (DevicePollResult, error) {
	id := DeviceLoginWorkflowID(deviceCodeHash)
	var res DevicePollResult
	uctx, cancel := context.WithTimeout(ctx, DevicePollTimeout)
	defer cancel()
	err := w.update(uctx, id, UpdateDevicePoll, &res, p)
	if err == nil || errors.Is(err, ErrInvalidGrant) || errors.Is(err, ErrUnavailable) {
		return res, err
	}
	dctx, cancel := context.WithTimeout(ctx, DevicePollTimeout)
	defer cancel()
	if late, ok := w.closedDeviceLogin(dctx, id); ok {
		return DevicePollResult{Answer: late}, nil
	}
	return res, err
}

// closedDeviceLogin answers for a workflow that is no longer running;
// false when it is still running (the poll failed for another reason) or
// Temporal cannot say.
func (w *Client) closedDeviceLogin(ctx context.Context, workflowID string) (DevicePollAnswer, bool) {
	desc, err := w.c.DescribeWorkflowExecution(ctx, workflowID, "")
	switch err = translate(err, "describe "+workflowID); {
	case errors.Is(err, ErrNotRunning):
		return PollExpired, true // past retention: long expired
	case err != nil:
		return "", false
	}
	switch desc.GetWorkflowExecutionInfo().GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return "", false
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		var res DeviceLoginResult
		if err := w.wait(ctx, workflowID, &res); err != nil {
			return "", false
		}
		return res.LateAnswer(), true
	default: // failed, terminated, timed out: nobody gets a token
		return PollExpired, true
	}
}

// SignalDeviceDecision sends the approving person's decision. A workflow
// that has closed meanwhile is not an error: its state says how it ended.
// Errors: ErrUnavailable.
func (w *Client) SignalDeviceDecision(ctx context.Context, deviceCodeHash string, d DeviceDecision) error {
	err := w.signal(ctx, DeviceLoginWorkflowID(deviceCodeHash), SignalDeviceDecision, d)
	if errors.Is(err, ErrNotRunning) {
		return nil
	}
	return err
}

// deviceStateTries bounds the state query's retries: a query can fail
// transiently while the workflow moves between workers' caches, and a
// person should not see an error page for that.
const deviceStateTries = 3

// DeviceLoginState queries a device code's workflow; one gone from Temporal
// (past retention) is long expired. Errors: ErrUnavailable, or the last
// query failure.
func (w *Client) DeviceLoginState(ctx context.Context, deviceCodeHash string) (DeviceLoginState, error) {
	var st DeviceLoginState
	var err error
	for attempt := range deviceStateTries {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return st, errors.Join(err, ctx.Err())
			case <-time.After(250 * time.Millisecond):
			}
		}
		switch err = w.query(ctx, DeviceLoginWorkflowID(deviceCodeHash), &st); {
		case err == nil:
			return st, nil
		case errors.Is(err, ErrNotRunning):
			return DeviceLoginState{Status: DeviceLoginExpired}, nil
		case errors.Is(err, ErrUnavailable):
			return st, err
		}
	}
	return st, err
}
