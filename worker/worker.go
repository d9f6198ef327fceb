// Package worker registers every workflow and activity in one place and runs
// the Temporal worker. It also prepares a namespace: the custom search
// attributes and the schedules Mobayilo relies on.
package worker

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/workflows"
)

// WorkflowRegistry is what both a worker and a replayer offer.
type WorkflowRegistry interface {
	RegisterWorkflowWithOptions(w interface{}, options workflow.RegisterOptions)
}

// RegisterWorkflows registers every workflow under its stable name. The
// replay tests call it too, so a history in testdata meets the same code.
func RegisterWorkflows(r WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(workflows.ReconcileLedger, workflow.RegisterOptions{Name: workflows.NameReconcileLedger})
	r.RegisterWorkflowWithOptions(workflows.SendLoginLink, workflow.RegisterOptions{Name: workflows.NameSendLoginLink})
	r.RegisterWorkflowWithOptions(workflows.DeviceLogin, workflow.RegisterOptions{Name: workflows.NameDeviceLogin})
	r.RegisterWorkflowWithOptions(workflows.AutoTopUp, workflow.RegisterOptions{Name: workflows.NameAutoTopUp})
	r.RegisterWorkflowWithOptions(workflows.TopUp, workflow.RegisterOptions{Name: workflows.NameTopUp})
	r.RegisterWorkflowWithOptions(workflows.CreditLateTopUp, workflow.RegisterOptions{Name: workflows.NameCreditLateTopUp})
	r.RegisterWorkflowWithOptions(workflows.SaveCard, workflow.RegisterOptions{Name: workflows.NameSaveCard})
	r.RegisterWorkflowWithOptions(workflows.Call, workflow.RegisterOptions{Name: workflows.NameCall})
	r.RegisterWorkflowWithOptions(workflows.CallerIDVerification, workflow.RegisterOptions{Name: workflows.NameCallerIDVerification})
	r.RegisterWorkflowWithOptions(workflows.MonthlyNumberFee, workflow.RegisterOptions{Name: workflows.NameMonthlyNumberFee})
}

// New builds a worker on taskQueue with every workflow and the activities.
func New(c client.Client, taskQueue string, acts *activities.Activities) worker.Worker {
	w := worker.New(c, taskQueue, worker.Options{})
	RegisterWorkflows(w)
	w.RegisterActivity(acts)
	return w
}

// EnsureSearchAttributes registers the custom search attributes the
// workflows set, adding only the missing ones. It is safe to run from every
// worker at start.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	op := c.OperatorService()
	existing, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: map[string]enumspb.IndexedValueType{}}
	for name, typ := range workflows.SearchAttributes {
		if have, ok := existing.GetCustomAttributes()[name]; ok {
			if have != typ {
				return fmt.Errorf("search attribute %s exists with type %s, want %s", name, have, typ)
			}
			continue
		}
		missing.SearchAttributes[name] = typ
	}
	if len(missing.SearchAttributes) == 0 {
		return nil
	}
	_, err = op.AddSearchAttributes(ctx, missing)
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return nil
}

// EnsureSchedules creates the schedules Mobayilo runs, leaving existing ones
// untouched.
func EnsureSchedules(ctx context.Context, c client.Client, taskQueue string) error {
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:   workflows.ReconcileLedgerScheduleID,
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: workflows.ReconcileLedgerInterval}}},
		Action: &client.ScheduleWorkflowAction{
			ID:        workflows.ReconcileLedgerScheduleID,
			Workflow:  workflows.ReconcileLedger,
			Args:      []interface{}{workflows.ReconcileLedgerInput{}},
			TaskQueue: taskQueue,
		},
	})
	if err != nil && !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create schedule %s: %w", workflows.ReconcileLedgerScheduleID, err)
	}
	return nil
}
