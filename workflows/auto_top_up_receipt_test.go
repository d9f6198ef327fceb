package workflows_test

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/mobayilo/mobayilo/workflows"
)

// Every credit is followed by its receipt activity, once: two top-ups make
// two receipts, and Stripe's own event about a charge already credited
// makes none.
func TestAutoTopUp_EachCreditIsFollowedByOneReceipt(t *testing.T) {
	w := newWallet()
	res, err := w.run(t, workflows.AutoTopUpInput{BaseURL: "https://app.example"}, func(env *testsuite.TestWorkflowEnvironment) {
		w.debitAt(env, 0, 0)
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(workflows.SignalAutoTopUpPaymentEvent, workflows.PaymentIntentEvent{EventID: "evt_after_charge",
				Type: workflows.EventPaymentIntentSucceeded, PaymentIntentID: "pi_auto-top-up-42-defaulttestr-1",
				AttemptID: "auto-top-up-42-defaulttestr-1", AmountCents: 2000})
		}, time.Hour)
		w.debitAt(env, 2*time.Hour, 2050)
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.credits) != 2 || res.State.State != workflows.AutoTopUpSucceeded {
		t.Fatalf("credits %v, state %q; want two credits", w.credits, res.State.State)
	}
	if len(w.receipts) != 2 || w.receiptTries != 2 {
		t.Fatalf("%d receipts in %d tries, want one per credit: %+v", len(w.receipts), w.receiptTries, w.receipts)
	}
	for i, r := range w.receipts {
		c := w.charges[i]
		if r.AttemptID != c.AttemptID || r.PaymentIntentID != "pi_"+c.AttemptID || r.AmountCents != w.credits[r.PaymentIntentID] ||
			r.AccountID != testAccount || r.BaseURL != "https://app.example" {
			t.Errorf("receipt %d = %+v, want the credit of charge %+v", i, r, c)
		}
	}
}

// A receipt that cannot be mailed neither undoes the credit nor stops the
// workflow: the next debit tops up again.
func TestAutoTopUp_AReceiptThatCannotBeMailedLeavesTheCreditStanding(t *testing.T) {
	w := newWallet()
	w.receiptErr = errors.New("smtp: connection refused")
	res, err := w.run(t, workflows.AutoTopUpInput{}, func(env *testsuite.TestWorkflowEnvironment) {
		w.debitAt(env, 0, 0)
		w.debitAt(env, 2*time.Hour, 2050)
	})
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(w.credits) != 2 || w.totalCredited() != 4000 || res.State.State != workflows.AutoTopUpSucceeded || res.State.TotalCredited != 4000 {
		t.Fatalf("credits %v, state %+v; want both top-ups credited and succeeded", w.credits, res.State)
	}
	if w.receiptTries < 4 || len(w.receipts) != 0 {
		t.Fatalf("%d receipt tries, %d sent; want the failing mail retried for each credit, then given up", w.receiptTries, len(w.receipts))
	}
}
