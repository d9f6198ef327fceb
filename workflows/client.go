package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/mobayilo/mobayilo/internal/config"
)

// Client is the one way in to Mobayilo's workflows. The API, operator
// commands and the worker's activities start, signal, update and query
// workflows only through its methods (one file per workflow family:
// top_up_client.go, auto_top_up_client.go, …), and a test holds that no
// other code calls the Temporal client's start, signal or update methods.
// Temporal's errors become the domain errors below here, so callers sort
// outcomes with errors.Is and never import Temporal's error types.
type Client struct {
	c client.Client
	o ClientOptions
}

// ClientOptions say where workflows run and what every start needs.
type ClientOptions struct {
	// TaskQueue is the queue the worker polls (TEMPORAL_TASK_QUEUE).
	TaskQueue string
	// BaseURL is PUBLIC_BASE_URL, for links workflows put in mails and
	// checkout return addresses.
	BaseURL string
	// AutoTopUpFailureWait is AUTO_TOPUP_FAILURE_WAIT.
	AutoTopUpFailureWait time.Duration
	// AutoTopUpRetryBackoff is AUTO_TOPUP_RETRY_BACKOFF.
	AutoTopUpRetryBackoff time.Duration
	// AutoTopUpCooldown, when set, overrides the workflow's default for a
	// newly started AutoTopUp (tests shorten it).
	AutoTopUpCooldown time.Duration
}

// OptionsFrom is the ClientOptions of a deployment's configuration.
func OptionsFrom(cfg config.Config) ClientOptions {
	return ClientOptions{TaskQueue: cfg.TemporalTaskQueue, BaseURL: cfg.PublicBaseURL, AutoTopUpFailureWait: cfg.AutoTopUpFailureWait,
		AutoTopUpRetryBackoff: cfg.AutoTopUpRetryBackoff}
}

// NewClient wraps a Temporal client. c may be nil (a process or test with
// no Temporal): every method then answers ErrUnavailable.
func NewClient(c client.Client, o ClientOptions) *Client {
	if o.TaskQueue == "" {
		o.TaskQueue = DefaultTaskQueue
	}
	return &Client{c: c, o: o}
}

// The domain errors of the workflow clients.
var (
	// ErrUnavailable: Temporal is not configured or could not be reached.
	ErrUnavailable = errors.New("workflows: Temporal is unavailable")
	// ErrNotRunning: no open workflow has that ID (it closed, or never ran).
	ErrNotRunning = errors.New("workflows: no such workflow is running")
	// ErrAlreadyStarted: the ID belongs to a workflow that ran before and
	// may not run again (its reuse policy).
	ErrAlreadyStarted = errors.New("workflows: the workflow already ran")
	// ErrCheckoutFailed: the workflow could not open its checkout session.
	ErrCheckoutFailed = errors.New("workflows: the checkout could not be opened")
	// ErrNothingToApprove: no auto top-up charge is waiting for approval.
	ErrNothingToApprove = errors.New("workflows: no auto top-up is waiting for approval")
	// ErrInvalidGrant: a device poll named a code of another client.
	ErrInvalidGrant = errors.New("workflows: the device code belongs to another client")
	// ErrBadEvent: a delivered provider event lacks what the workflow needs.
	ErrBadEvent = errors.New("workflows: the event cannot be applied")
)

// errTypeCheckoutFailed is the application-error type the checkout-link
// updates fail with; translate turns it into ErrCheckoutFailed.
const errTypeCheckoutFailed = "CheckoutFailed"

// rejectedTypes maps application-error types that mean "refused, nothing
// happened" to their domain error.
var rejectedTypes = map[string]error{
	errTypeCheckoutFailed:   ErrCheckoutFailed,
	ErrTypeNothingToApprove: ErrNothingToApprove,
	ErrTypeInvalidGrant:     ErrInvalidGrant,
	ErrTypeBadEvent:         ErrBadEvent,
	ErrTypeCodeRejected:     ErrCodeRejected,
}

// translate turns a Temporal error into a domain error wrapping it, with
// what was being done for the message.
func translate(err error, doing string) error {
	if err == nil {
		return nil
	}
	var nf *serviceerror.NotFound
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	var app *temporal.ApplicationError
	switch {
	case errors.As(err, &nf):
		return fmt.Errorf("%s: %w (%w)", doing, ErrNotRunning, err)
	case errors.As(err, &started):
		return fmt.Errorf("%s: %w (%w)", doing, ErrAlreadyStarted, err)
	case errors.As(err, &app):
		if domain, ok := rejectedTypes[app.Type()]; ok {
			return fmt.Errorf("%s: %w: %s", doing, domain, app.Message())
		}
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// isApplicationError reports whether err carries an application error of
// one of types.
func isApplicationError(err error, types ...string) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && slices.Contains(types, app.Type())
}

// ready reports ErrUnavailable when there is no Temporal client.
func (w *Client) ready() error {
	if w == nil || w.c == nil {
		return ErrUnavailable
	}
	return nil
}

// CheckHealth asks the Temporal frontend whether it serves.
func (w *Client) CheckHealth(ctx context.Context) error {
	if err := w.ready(); err != nil {
		return err
	}
	if _, err := w.c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// query runs the state query of a workflow into out.
func (w *Client) query(ctx context.Context, workflowID string, out any) error {
	if err := w.ready(); err != nil {
		return err
	}
	v, err := w.c.QueryWorkflow(ctx, workflowID, "", QueryState)
	if err != nil {
		return translate(err, "query "+workflowID)
	}
	return v.Get(out)
}

// wait blocks until a workflow closes (or ctx ends) and reads its result
// into out, which may be nil.
func (w *Client) wait(ctx context.Context, workflowID string, out any) error {
	if err := w.ready(); err != nil {
		return err
	}
	return translate(w.c.GetWorkflow(ctx, workflowID, "").Get(ctx, out), "wait for "+workflowID)
}

// signal sends a signal to an open workflow.
func (w *Client) signal(ctx context.Context, workflowID, name string, arg any) error {
	if err := w.ready(); err != nil {
		return err
	}
	return translate(w.c.SignalWorkflow(ctx, workflowID, "", name, arg), "signal "+name+" to "+workflowID)
}

// updateWithStart starts a workflow (or joins the running one) and runs an
// update on it, waiting for the update's answer in out: how the API gets a
// checkout link from a workflow it starts in one round trip.
func (w *Client) updateWithStart(ctx context.Context, start client.StartWorkflowOptions, workflow any, input any, update string, out any) error {
	if err := w.ready(); err != nil {
		return err
	}
	start.TaskQueue = w.o.TaskQueue
	op := w.c.NewWithStartWorkflowOperation(start, workflow, input)
	handle, err := w.c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions:          client.UpdateWorkflowOptions{UpdateName: update, WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	if err != nil {
		return translate(err, "start "+start.ID)
	}
	return translate(handle.Get(ctx, out), update+" of "+start.ID)
}

// update runs an update on an open workflow and waits for its answer.
func (w *Client) update(ctx context.Context, workflowID, name string, out any, args ...any) error {
	if err := w.ready(); err != nil {
		return err
	}
	handle, err := w.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: workflowID, UpdateName: name,
		Args: args, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		return translate(err, name+" of "+workflowID)
	}
	return translate(handle.Get(ctx, out), name+" of "+workflowID)
}
