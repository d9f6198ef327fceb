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
	NameSendLoginLink   = "SendLoginLink"
	NameDeviceLogin     = "DeviceLogin"
	NameTopUp           = "TopUp"
	NameAutoTopUp       = "AutoTopUp"
)

// Query names.
const (
	// QueryState returns a workflow's current state struct.
	QueryState = "state"
)

// DeviceLogin's messages: the /device page signals the user's decision; the
// token endpoint polls with an update, so it gets the answer synchronously.
const (
	SignalDeviceDecision = "device-decision"
	UpdateDevicePoll     = "device-poll"
)

// NameCall is the workflow of one call.
const NameCall = "Call"

// Call's messages: POST /api/calls starts the workflow with the authorize
// update, which answers once the hold is placed (update-with-start); the
// voice webhook and the status callbacks signal the states the workflow
// acts on (dialing, in progress, final). Ringing is the database's and the
// dialer's only: each signal is a billed Temporal action.
//
// A bridge call's owner leg (`moby call`) also takes hangup, which hangs
// its Twilio call up (and with it the destination leg).
const (
	UpdateCallAuthorize = "authorize"
	SignalCallStatus    = "status"
	SignalCallHangup    = "hangup"
)

// CallWorkflowID is the ID of a call's one Call workflow.
func CallWorkflowID(callID string) string { return "call/" + callID }

// Custom search attributes. Payment workflows set them so that ops can find
// a stuck payment in the Temporal UI; `mobayilo worker` and `mobayilo dev`
// register them at start (see worker.EnsureSearchAttributes).
var (
	AttrAccountID    = temporal.NewSearchAttributeKeyKeyword("MobayiloAccountID")
	AttrPaymentState = temporal.NewSearchAttributeKeyKeyword("MobayiloPaymentState")
	AttrAmountCents  = temporal.NewSearchAttributeKeyInt64("MobayiloAmountCents")
	// AttrCallState is a call's state: authorized while it is open, its
	// final state once it ended.
	AttrCallState = temporal.NewSearchAttributeKeyKeyword("MobayiloCallState")
)

// SearchAttributes lists every custom search attribute with its type, for
// registration.
var SearchAttributes = map[string]enumspb.IndexedValueType{
	AttrAccountID.GetName():     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrPaymentState.GetName():  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrAmountCents.GetName():   enumspb.INDEXED_VALUE_TYPE_INT,
	AttrCallState.GetName():     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrCallerIDState.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrNumberState.GetName():   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
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

// DeviceLoginWorkflowID is the ID of the DeviceLogin workflow for a device
// code, keyed on the code's SHA-256 (what device_authorizations stores), so
// the code itself never reaches Temporal.
func DeviceLoginWorkflowID(deviceCodeHash string) string {
	return "device-login/" + deviceCodeHash
}

// LoginLinkDedupWindow is how long repeated requests for the same kind of
// link for the same user collapse into one email: a double-clicked button or
// a resend right after the first request starts no second workflow.
const LoginLinkDedupWindow = 30 * time.Second

// LoginLinkWorkflowID is the ID of the SendLoginLink workflow for a user and
// link kind ("signin", "signup", "password_reset") requested at at. It is
// the same for every request within one LoginLinkDedupWindow, so a duplicate
// start finds the running or finished workflow instead of mailing again. It
// names the user by id, not email, to keep addresses out of Temporal's
// listings.
func LoginLinkWorkflowID(kind string, userID int64, at time.Time) string {
	window := at.UTC().Truncate(LoginLinkDedupWindow)
	return fmt.Sprintf("login-link/%s/user-%d/%s", kind, userID, window.Format("20060102T150405Z"))
}

// AutoTopUp's signals: a debit that left the balance below the threshold
// (sent with signal-with-start), an operator's retry after a failure, and
// the owner saving a new card.
const (
	SignalAutoTopUpDebit       = "debit"
	SignalAutoTopUpRetry       = "retry"
	SignalAutoTopUpCardUpdated = "card-updated"
)

// AutoTopUp's on-session approval: the owner's Approve runs the update,
// which confirms the attempt's PaymentIntent and answers the bank's
// authentication page; the Stripe webhook then signals the PaymentIntent's
// outcome (with signal-with-start: a payment is credited even after the
// workflow closed).
const (
	UpdateAutoTopUpApprove      = "approve"
	SignalAutoTopUpPaymentEvent = "payment-intent"
)

// AutoTopUpWorkflowID is the ID of an account's one AutoTopUp workflow.
func AutoTopUpWorkflowID(accountID int64) string {
	return fmt.Sprintf("auto-top-up-%d", accountID)
}

// TopUp's messages: the Stripe webhook delivers each checkout.session.*
// event (the signal is what runs before handle-late-checkout-events used);
// POST /api/topups starts the workflow with an update that returns once the
// checkout URL exists (update-with-start).
const (
	SignalTopUpCheckoutEvent = "checkout-event"
	UpdateTopUpCheckoutURL   = "checkout-url"
	// UpdateTopUpCheckoutEvent is how the webhook delivers an event since
	// handle-late-checkout-events: an update answers only once the workflow
	// has applied the event, so the webhook records it as handled only then
	// (a signal is acknowledged by the server, not the workflow).
	UpdateTopUpCheckoutEvent = "deliver-checkout-event"
)

// Payment states, the values of the MobayiloPaymentState search attribute.
const (
	PaymentAwaiting            = "awaiting_payment"
	PaymentCharging            = "charging"
	PaymentNeedsAuthentication = "needs_authentication"
	PaymentFailed              = "failed"
	PaymentSucceeded           = "succeeded"
	PaymentExpired             = "expired"
)

// TopUpWorkflowID is the ID of a top-up's one TopUp workflow.
func TopUpWorkflowID(topUpID string) string { return "topup/" + topUpID }

// ErrTypeInvalidGrant is the application-error type a DeviceLogin poll fails
// with when the device code belongs to another client; the API answers it
// as RFC 6749's invalid_grant.
const ErrTypeInvalidGrant = "invalid_grant"

// NameCreditLateTopUp is the workflow that credits a payment reported after
// its top-up had closed.
const NameCreditLateTopUp = "CreditLateTopUp"

// LateTopUpWorkflowID is the one late-credit run of a PaymentIntent.
func LateTopUpWorkflowID(paymentIntentID string) string { return "topup-late/" + paymentIntentID }

// NameSaveCard is the workflow that saves a card through Checkout in setup
// mode, without paying.
const NameSaveCard = "SaveCard"

// SaveCard's messages: POST /autotopup/card/setup starts the workflow with
// an update that returns once the checkout URL exists (update-with-start);
// the Stripe webhook signals each checkout.session.* event of the setup.
const (
	UpdateSaveCardCheckoutURL   = "setup-checkout-url"
	SignalSaveCardCheckoutEvent = "setup-checkout-event"
	// UpdateSaveCardCheckoutEvent delivers an event as
	// UpdateTopUpCheckoutEvent does for top-ups.
	UpdateSaveCardCheckoutEvent = "deliver-setup-checkout-event"
)

// SaveCardWorkflowID is the ID of a card setup's one SaveCard workflow.
func SaveCardWorkflowID(setupID string) string { return "save-card/" + setupID }

// NameCallerIDVerification is the workflow that verifies one number as an
// account's own caller ID.
const NameCallerIDVerification = "CallerIDVerification"

// CallerIDVerification's messages: confirm (web or CLI) delivers the SMS
// code with an update, so the caller learns at once whether it was right;
// the caller-ID webhook signals Twilio's validation result; remove (web
// or CLI) ends a verification under way as removed, an update so the
// caller knows the row says so once it returns.
const (
	UpdateCallerIDCode             = "submit-code"
	SignalCallerIDValidationResult = "validation-result"
	UpdateCallerIDRemove           = "remove"
)

// CallerIDWorkflowID is the ID of the verification of e164 for an account:
// one at a time per account and number.
func CallerIDWorkflowID(accountID int64, e164 string) string {
	return fmt.Sprintf("caller-id/%d/%s", accountID, e164)
}

// AttrCallerIDState is a caller-ID verification's state (CallerID*).
var AttrCallerIDState = temporal.NewSearchAttributeKeyKeyword("MobayiloCallerIDState")

// NameMonthlyNumberFee is the workflow of one company number: its purchase
// and, period after period, its fee.
const NameMonthlyNumberFee = "MonthlyNumberFee"

// MonthlyNumberFee's messages: POST /company/numbers/buy starts the
// workflow with the purchase update (update-with-start), which answers
// once the number is bought or refused; a credit to the company signals
// every suspended number's workflow (signal-free when none is suspended).
const (
	UpdateNumberPurchase = "purchase"
	SignalNumberFunds    = "funds-added"
)

// NumberWorkflowID is the ID of a number's one MonthlyNumberFee workflow
// (every period continues as new under it).
func NumberWorkflowID(numberID int64) string { return fmt.Sprintf("number/%d", numberID) }

// AttrNumberState is a company number's state (Number*).
var AttrNumberState = temporal.NewSearchAttributeKeyKeyword("MobayiloNumberState")
