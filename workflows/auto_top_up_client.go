package workflows

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/mobayilo/mobayilo/activities"
)

// autoTopUpInput is what a signal-with-start gives a new AutoTopUp run.
func (w *Client) autoTopUpInput(accountID int64) AutoTopUpInput {
	return AutoTopUpInput{AccountID: accountID, BaseURL: w.o.BaseURL, Cooldown: w.o.AutoTopUpCooldown, FailureWait: w.o.AutoTopUpFailureWait,
		RetryBackoff: w.o.AutoTopUpRetryBackoff}
}

// signalWithStartAutoTopUp signals the account's AutoTopUp workflow,
// starting it first if none runs.
func (w *Client) signalWithStartAutoTopUp(ctx context.Context, accountID int64, signal string, arg any) error {
	if err := w.ready(); err != nil {
		return err
	}
	id := AutoTopUpWorkflowID(accountID)
	_, err := w.c.SignalWithStartWorkflow(ctx, id, signal, arg, client.StartWorkflowOptions{TaskQueue: w.o.TaskQueue},
		NameAutoTopUp, w.autoTopUpInput(accountID))
	return translate(err, "signal-with-start "+signal+" to "+id)
}

// SignalAutoTopUpDebit tells the account's AutoTopUp workflow that a debit
// left the balance below the threshold, starting the workflow if it is not
// running (signal-with-start). Errors: ErrUnavailable.
func (w *Client) SignalAutoTopUpDebit(ctx context.Context, accountID int64) error {
	return w.signalWithStartAutoTopUp(ctx, accountID, SignalAutoTopUpDebit, nil)
}

// RetryAutoTopUp sends an operator's retry to a failed auto top-up.
// Errors: ErrUnavailable, ErrNotRunning (nothing waits for a retry).
func (w *Client) RetryAutoTopUp(ctx context.Context, accountID int64) error {
	return w.signal(ctx, AutoTopUpWorkflowID(accountID), SignalAutoTopUpRetry, nil)
}

// SignalAutoTopUpCardUpdated tells a running AutoTopUp workflow that the
// owner saved a new card, so a failed top-up tries again. None running is
// not an error: the card is simply used next time. Errors: ErrUnavailable.
func (w *Client) SignalAutoTopUpCardUpdated(ctx context.Context, accountID int64) error {
	err := w.signal(ctx, AutoTopUpWorkflowID(accountID), SignalAutoTopUpCardUpdated, nil)
	if errors.Is(err, ErrNotRunning) {
		return nil
	}
	return err
}

// SignalAutoTopUpPayment hands a verified payment_intent event about one of
// the account's attempts to its AutoTopUp workflow. A success starts the
// workflow if it is not running (signal-with-start): the money was taken
// and must be credited even after the workflow closed. A failure only
// matters to a workflow still waiting for approval: with none running there
// is nothing to do, and running reports false. Errors: ErrUnavailable.
func (w *Client) SignalAutoTopUpPayment(ctx context.Context, accountID int64, ev PaymentIntentEvent) (running bool, err error) {
	if ev.Type == EventPaymentIntentSucceeded {
		err = w.signalWithStartAutoTopUp(ctx, accountID, SignalAutoTopUpPaymentEvent, ev)
	} else {
		err = w.signal(ctx, AutoTopUpWorkflowID(accountID), SignalAutoTopUpPaymentEvent, ev)
	}
	if errors.Is(err, ErrNotRunning) {
		return false, nil
	}
	return err == nil, err
}

// ApproveAutoTopUp runs the owner's on-session approval of the charge
// waiting for authentication and returns where the owner authenticates.
// Errors: ErrUnavailable, ErrNothingToApprove (no workflow, nothing
// waiting, or the waiting charge changed meanwhile).
func (w *Client) ApproveAutoTopUp(ctx context.Context, accountID int64) (AutoTopUpApproval, error) {
	var out AutoTopUpApproval
	err := w.update(ctx, AutoTopUpWorkflowID(accountID), UpdateAutoTopUpApprove, &out)
	if errors.Is(err, ErrNotRunning) || isApplicationError(err, activities.ErrTypeAttemptNotWaiting, activities.ErrTypePaymentMismatch) {
		return out, fmt.Errorf("%w (%w)", ErrNothingToApprove, err)
	}
	return out, err
}

// AutoTopUpState queries the account's AutoTopUp workflow. Errors:
// ErrUnavailable, ErrNotRunning.
func (w *Client) AutoTopUpState(ctx context.Context, accountID int64) (AutoTopUpState, error) {
	var st AutoTopUpState
	return st, w.query(ctx, AutoTopUpWorkflowID(accountID), &st)
}

// AutoTopUpListing is one auto top-up waiting for a person, as the
// visibility store has it.
type AutoTopUpListing struct {
	WorkflowID  string
	AccountID   int64
	State       string
	AmountCents int64
	StartedAt   time.Time
}

// AutoTopUpsNeedingAttention runs AutoTopUpNeedsAttentionQuery: every auto
// top-up that failed or waits for the owner's approval (up to 100).
// Errors: ErrUnavailable.
func (w *Client) AutoTopUpsNeedingAttention(ctx context.Context) ([]AutoTopUpListing, error) {
	if err := w.ready(); err != nil {
		return nil, err
	}
	resp, err := w.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: AutoTopUpNeedsAttentionQuery, PageSize: 100})
	if err != nil {
		return nil, translate(err, "list auto top-ups needing attention")
	}
	dc := converter.GetDefaultDataConverter()
	var out []AutoTopUpListing
	for _, e := range resp.GetExecutions() {
		f := e.GetSearchAttributes().GetIndexedFields()
		var acct string
		l := AutoTopUpListing{WorkflowID: e.GetExecution().GetWorkflowId(), StartedAt: e.GetStartTime().AsTime()}
		_ = dc.FromPayload(f[AttrAccountID.GetName()], &acct)
		_ = dc.FromPayload(f[AttrPaymentState.GetName()], &l.State)
		_ = dc.FromPayload(f[AttrAmountCents.GetName()], &l.AmountCents)
		l.AccountID, _ = strconv.ParseInt(acct, 10, 64)
		out = append(out, l)
	}
	return out, nil
}

// OpenAutoTopUpState queries the account's AutoTopUp workflow only while it
// runs: a closed workflow still answers queries, but only a running one
// can take an approval. open is false when none runs. Errors:
// ErrUnavailable.
func (w *Client) OpenAutoTopUpState(ctx context.Context, accountID int64) (st AutoTopUpState, open bool, err error) {
	if err := w.ready(); err != nil {
		return st, false, err
	}
	id := AutoTopUpWorkflowID(accountID)
	resp, err := w.c.QueryWorkflowWithOptions(ctx, &client.QueryWorkflowWithOptionsRequest{
		WorkflowID: id, QueryType: QueryState, QueryRejectCondition: enumspb.QUERY_REJECT_CONDITION_NOT_OPEN})
	if err = translate(err, "query "+id); errors.Is(err, ErrNotRunning) || (err == nil && resp.QueryRejected != nil) {
		return st, false, nil
	}
	if err == nil {
		err = resp.QueryResult.Get(&st)
	}
	return st, err == nil, err
}
