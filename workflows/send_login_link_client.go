package workflows

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// StartSendLoginLink starts the SendLoginLink workflow of one link request
// made at at. Requests for the same link within LoginLinkDedupWindow share
// one workflow ID, so a double submit mails once; finding that workflow is
// not an error, and a failed run (never a sent one) may run again within
// the window. Errors: ErrUnavailable.
func (w *Client) StartSendLoginLink(ctx context.Context, in SendLoginLinkInput, at time.Time) error {
	if err := w.ready(); err != nil {
		return err
	}
	if in.BaseURL == "" {
		in.BaseURL = w.o.BaseURL
	}
	id := LoginLinkWorkflowID(string(in.Kind), in.UserID, at)
	_, err := w.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                w.o.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowExecutionTimeout: 2 * LoginLinkDeliveryWindow,
	}, NameSendLoginLink, in)
	if err = translate(err, "start "+id); errors.Is(err, ErrAlreadyStarted) {
		return nil
	}
	return err
}
