// Package workflows holds Mobayilo's Temporal workflows: plain exported
// functions, one per file, each taking one input struct and returning one
// result struct. This file defines, once, every name the API and the worker
// share: the task queue, signal/query/update names, search attributes and
// workflow-ID helpers.
package workflows

import (
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
)

// DefaultTaskQueue is the task queue when TEMPORAL_TASK_QUEUE is unset;
// internal/config uses the same value as its default (a test checks it).
const DefaultTaskQueue = "mobayilo"

// Workflow type names, as registered with the worker. Each equals the Go
// function's name, so starting a workflow by function reference agrees.
const (
	NameReconcileLedger = "ReconcileLedger"
)

// Query names.
const (
	// QueryState returns a workflow's current state struct.
	QueryState = "state"
)

// Custom search attributes. Payment workflows set them so that ops can find
// a stuck payment in the Temporal UI; `mobayilo worker` and `mobayilo dev`
// register them at start (see worker.EnsureSearchAttributes).
var (
	AttrAccountID    = temporal.NewSearchAttributeKeyKeyword("MobayiloAccountID")
	AttrPaymentState = temporal.NewSearchAttributeKeyKeyword("MobayiloPaymentState")
	AttrAmountCents  = temporal.NewSearchAttributeKeyInt64("MobayiloAmountCents")
)

// SearchAttributes lists every custom search attribute with its type, for
// registration.
var SearchAttributes = map[string]enumspb.IndexedValueType{
	AttrAccountID.GetName():    enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrPaymentState.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrAmountCents.GetName():  enumspb.INDEXED_VALUE_TYPE_INT,
}

// ReconcileLedgerScheduleID names the schedule that runs ReconcileLedger.
const ReconcileLedgerScheduleID = "reconcile-ledger"

// ReconcileLedgerInterval is how often the schedule reconciles the books.
const ReconcileLedgerInterval = time.Hour

// ReconcileLedgerWorkflowID is the ID of an on-demand reconciliation; the
// schedule derives its own IDs from ReconcileLedgerScheduleID.
func ReconcileLedgerWorkflowID(requestedBy string, at time.Time) string {
	return fmt.Sprintf("reconcile-ledger/%s/%s", requestedBy, at.UTC().Format("20060102T150405Z"))
}
