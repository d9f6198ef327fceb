package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/internal/callerid"
	"github.com/mobayilo/mobayilo/internal/calls"
	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/numbers"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/internal/wire"
	"github.com/mobayilo/mobayilo/workflows"
)

// requestError is an input problem found by a handler itself.
type requestError struct {
	status  int
	code    string
	message string
}

func (e *requestError) Error() string { return e.message }

func badRequest(code, message string) error {
	return &requestError{status: http.StatusBadRequest, code: code, message: message}
}

func notFound(code, message string) error {
	return &requestError{status: http.StatusNotFound, code: code, message: message}
}

// statusFor maps every domain error to its HTTP status and code. It is the
// only place that does; handlers just return errors.
func statusFor(err error) (int, string) {
	var re *requestError
	var ne *rates.NumberError
	var ve *ledger.ValidationError
	var ave *autotopup.ValidationError
	switch {
	case errors.As(err, &re):
		return re.status, re.code
	case errors.As(err, &ne):
		return http.StatusBadRequest, string(ne.Reason)
	case errors.As(err, &ve):
		return http.StatusUnprocessableEntity, "invalid_" + ve.Field
	case errors.As(err, &ave):
		return http.StatusUnprocessableEntity, "invalid_" + ave.Field
	case errors.Is(err, autotopup.ErrNoCard):
		return http.StatusConflict, "no_card"
	case errors.Is(err, autotopup.ErrUnknownTestCard):
		return http.StatusUnprocessableEntity, "unknown_test_card"
	case errors.Is(err, workflows.ErrNotRunning):
		return http.StatusNotFound, "not_running"
	case errors.Is(err, callerid.ErrBalanceTooLow):
		return http.StatusPaymentRequired, "balance_too_low"
	case errors.Is(err, callerid.ErrCompanyAccount):
		return http.StatusForbidden, "company_account"
	case errors.Is(err, callerid.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, callerid.ErrNothingToRemove):
		return http.StatusNotFound, "nothing_to_remove"
	case errors.Is(err, workflows.ErrCodeRejected):
		return http.StatusUnprocessableEntity, "code_rejected"
	case errors.Is(err, callerid.ErrNothingPending):
		return http.StatusConflict, "nothing_pending"
	case errors.Is(err, calls.ErrCallerIDRequired):
		return http.StatusConflict, wire.CodeCallerIDRequired
	case errors.Is(err, numbers.ErrNoCompanyNumber):
		return http.StatusForbidden, "no_company_number"
	case errors.Is(err, numbers.ErrSuspended):
		return http.StatusForbidden, "number_suspended"
	case errors.Is(err, numbers.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, numbers.ErrTaken):
		return http.StatusConflict, "number_taken"
	case errors.Is(err, numbers.ErrNotAssignable):
		return http.StatusConflict, "number_not_active"
	case errors.Is(err, numbers.ErrInvalid):
		if ie := (*numbers.InputError)(nil); errors.As(err, &ie) {
			return http.StatusBadRequest, "invalid_" + ie.Field
		}
		return http.StatusBadRequest, "invalid_number"
	case errors.Is(err, calls.ErrDestinationBlocked):
		return http.StatusForbidden, "destination_blocked"
	case errors.Is(err, calls.ErrSeatCapReached):
		return http.StatusForbidden, "seat_cap_reached"
	case errors.Is(err, calls.ErrNoRate):
		return http.StatusBadRequest, "not_dialable"
	case errors.Is(err, calls.ErrCallNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, workflows.ErrCallRefused):
		return http.StatusPaymentRequired, "insufficient_funds"
	case errors.Is(err, workflows.ErrBadEvent):
		return http.StatusBadRequest, "bad_payload"
	case errors.Is(err, workflows.ErrUnavailable):
		return http.StatusServiceUnavailable, "workflows_unavailable"
	case errors.Is(err, ledger.ErrInsufficientFunds):
		return http.StatusPaymentRequired, "insufficient_funds"
	case errors.Is(err, ledger.ErrIdempotencyConflict):
		return http.StatusConflict, "idempotency_conflict"
	case errors.Is(err, ledger.ErrAccountNotFound), errors.Is(err, ledger.ErrHoldNotFound), errors.Is(err, identity.ErrUserNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, ledger.ErrAccountDisabled):
		return http.StatusForbidden, wire.CodeAccountDisabled
	case errors.Is(err, ledger.ErrSelfAdjustment):
		return http.StatusForbidden, "self_adjustment"
	case errors.Is(err, ledger.ErrHoldSettled), errors.Is(err, ledger.ErrCaptureExceedsHold):
		return http.StatusConflict, "hold_settled"
	case errors.Is(err, identity.ErrNotFound), errors.Is(err, identity.ErrNotCompanyAdmin):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, identity.ErrDomainTaken):
		return http.StatusConflict, "domain_taken"
	case errors.Is(err, identity.ErrCannotDisableSelf):
		return http.StatusConflict, "cannot_disable_self"
	case errors.Is(err, identity.ErrLockedByOperator):
		return http.StatusConflict, "locked_by_operator"
	case errors.Is(err, identity.ErrBadCredentials):
		return http.StatusUnauthorized, "bad_credentials"
	case errors.Is(err, identity.ErrUnconfirmed):
		return http.StatusForbidden, "email_unconfirmed"
	case errors.Is(err, identity.ErrSeatPassword):
		return http.StatusForbidden, "seat_has_no_password"
	case errors.Is(err, identity.ErrCompanyDomain):
		return http.StatusConflict, "company_domain"
	case errors.Is(err, identity.ErrEmailTaken):
		return http.StatusConflict, "email_taken"
	case errors.Is(err, identity.ErrInvalid):
		return http.StatusUnprocessableEntity, "invalid"
	case errors.Is(err, auth.ErrTokenMalformed):
		return http.StatusUnauthorized, wire.CodeTokenMalformed
	case errors.Is(err, auth.ErrTokenRevoked):
		return http.StatusUnauthorized, wire.CodeTokenRevoked
	case errors.Is(err, auth.ErrTokenExpired):
		return http.StatusUnauthorized, wire.CodeTokenExpired
	case errors.Is(err, auth.ErrUnauthenticated):
		return http.StatusUnauthorized, "unauthenticated"
	case errors.Is(err, auth.ErrDisabled):
		return http.StatusForbidden, wire.CodeAccountDisabled
	case errors.Is(err, auth.ErrLinkInvalid), errors.Is(err, auth.ErrLinkUsed), errors.Is(err, auth.ErrLinkExpired), errors.Is(err, auth.ErrLinkWrongEmail):
		return http.StatusGone, "link_unusable"
	case errors.Is(err, auth.ErrInvalid):
		return http.StatusUnprocessableEntity, "invalid"
	case errors.Is(err, money.ErrTopUpAmount):
		return http.StatusUnprocessableEntity, "amount_out_of_range"
	case errors.Is(err, credits.ErrFirstTopUpLimit):
		return http.StatusUnprocessableEntity, "first_topup_limit"
	case errors.Is(err, credits.ErrTopUpNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, credits.ErrRequestKeyReused):
		return http.StatusConflict, "idempotency_key_reused"
	case errors.Is(err, credits.ErrRequestKeyInvalid):
		return http.StatusBadRequest, "bad_idempotency_key"
	case errors.Is(err, rates.ErrNoPriceSource), errors.Is(err, providers.ErrNoPricingCredentials):
		return http.StatusConflict, "no_price_source"
	case errors.Is(err, rates.ErrPriceSource):
		return http.StatusBadGateway, "carrier_unavailable"
	case errors.Is(err, rates.ErrInvalidRates), errors.Is(err, rates.ErrNoRates):
		return http.StatusUnprocessableEntity, "invalid_rates"
	case errors.Is(err, providers.ErrBadSignature):
		return http.StatusBadRequest, "bad_signature"
	case errors.Is(err, providers.ErrBadPayload):
		return http.StatusBadRequest, "bad_payload"
	}
	return http.StatusInternalServerError, "internal"
}

// abortWithError writes err as JSON. Internal errors are logged with the
// request id and answered without their details.
func abortWithError(c *gin.Context, err error) {
	status, code := statusFor(err)
	msg := err.Error()
	if status >= 500 {
		slog.ErrorContext(c.Request.Context(), "request failed", "error", err, "path", c.FullPath(), "request_id", c.GetString(requestIDKey))
		msg = "something went wrong on our side; quote request id " + c.GetString(requestIDKey)
	}
	c.AbortWithStatusJSON(status, wire.ErrorBody{Error: wire.ErrorDetail{Code: code, Message: msg}})
}
