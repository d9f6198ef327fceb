package workflows_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/mock"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/workflows"
)

func TestCreditLateTopUp_CreditsThePaymentAndMailsTheReceipt(t *testing.T) {
	env := newTestEnv(t)
	var a *activities.Activities
	env.RegisterActivity(&activities.Activities{})
	// A database hiccup first: the credit is retried until it lands.
	env.OnActivity(a.CreditTopUp, mock.Anything, activities.CreditTopUpInput{TopUpID: "tu_1", PaymentIntentID: "pi_late"}).
		Return(activities.CreditTopUpResult{}, errors.New("connection reset")).Once()
	env.OnActivity(a.CreditTopUp, mock.Anything, activities.CreditTopUpInput{TopUpID: "tu_1", PaymentIntentID: "pi_late"}).
		Return(activities.CreditTopUpResult{LedgerEntryID: 9, BalanceAfterCents: 500}, nil).Once()
	env.OnActivity(a.EmailTopUpReceipt, mock.Anything, "tu_1").Return(nil).Once()
	env.ExecuteWorkflow(workflows.CreditLateTopUp, workflows.CreditLateTopUpInput{TopUpID: "tu_1", PaymentIntentID: "pi_late"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res workflows.CreditLateTopUpResult
	if err := env.GetWorkflowResult(&res); err != nil || res.LedgerEntryID != 9 || res.BalanceAfterCents != 500 {
		t.Fatalf("result %+v, %v", res, err)
	}
	env.AssertExpectations(t)
}
