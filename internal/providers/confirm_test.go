package providers

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/mobayilo/mobayilo/internal/testenv"
)

// Finishing an auto top-up on-session confirms the ORIGINAL PaymentIntent
// (its id in the path, never a new one), with the payer present (no
// off_session), the saved card and a return_url, under a key derived from
// the attempt and the owner's try; the off-session charge before it puts
// attempt_id and account_id on the PaymentIntent, which the webhook reads.
func TestStripePayments_ConfirmOnSessionConfirmsTheOriginalPaymentIntentAgainstStripeMock(t *testing.T) {
	base := testenv.StripeMock(t)
	rec := newRecorder()
	p := newStripePayments("sk_test_123", base, &http.Client{Transport: rec})
	ctx := context.Background()
	if _, err := p.ChargeSaved(ctx, ChargeParams{AttemptID: "auto-top-up-7-3", AccountID: 7, CustomerID: "cus_1",
		PaymentMethodID: "pm_card_authenticationRequired", AmountCents: 2000}); err != nil {
		t.Fatal(err)
	}
	in := ConfirmParams{PaymentIntentID: "pi_123", PaymentMethodID: "pm_card_authenticationRequired",
		ReturnURL: "http://localhost:8080/autotopup?done=approved", AttemptID: "auto-top-up-7-3", Round: 2}
	for range 2 {
		res, err := p.ConfirmOnSession(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if res.PaymentIntentID == "" || res.Outcome == "" {
			t.Fatalf("confirm = %+v", res)
		}
	}
	_, _ = p.CancelPayment(ctx, "pi_123", "auto-top-up-7-3") // stripe-mock's fixture is not canceled; the request is what counts
	reqs := rec.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4", len(reqs))
	}
	if c := reqs[3]; c.URL.Path != "/v1/payment_intents/pi_123/cancel" || c.Header.Get("Idempotency-Key") != "cancel-attempt-auto-top-up-7-3" ||
		c.Form.Get("cancellation_reason") != "abandoned" {
		t.Errorf("cancel request %s key %q form %v", c.URL.Path, c.Header.Get("Idempotency-Key"), c.Form)
	}
	reqs = reqs[:3]
	charge := reqs[0]
	for k, want := range map[string]string{"metadata[attempt_id]": "auto-top-up-7-3", "metadata[account_id]": "7", "off_session": "true"} {
		if got := charge.Form.Get(k); got != want {
			t.Errorf("off-session charge %s = %q, want %q", k, got, want)
		}
	}
	for i, r := range reqs[1:] {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/payment_intents/pi_123/confirm" {
			t.Errorf("confirm request %d: %s %s, want POST on the original PaymentIntent", i, r.Method, r.URL.Path)
		}
		if got := r.Header.Get("Idempotency-Key"); got != "confirm-attempt-auto-top-up-7-3-2" {
			t.Errorf("confirm request %d Idempotency-Key %q", i, got)
		}
		for k, want := range map[string]string{"payment_method": "pm_card_authenticationRequired",
			"return_url": "http://localhost:8080/autotopup?done=approved", "off_session": "", "amount": "", "confirm": ""} {
			if got := r.Form.Get(k); got != want {
				t.Errorf("confirm request %d %s = %q, want %q", i, k, got, want)
			}
		}
	}
}

func TestSandboxConfirmOnSession_SendsThePayerToTheSandboxAuthenticationPage(t *testing.T) {
	p := sandboxPayments{deliver: NewSandboxWebhooks("http://localhost:8080/", "", "whsec_page", nil)}
	res, err := p.ConfirmOnSession(context.Background(), ConfirmParams{PaymentIntentID: "pi_sandbox_auto-top-up-7-1",
		ReturnURL: "http://localhost:8080/autotopup?done=approved", AttemptID: "auto-top-up-7-1", Round: 1})
	if err != nil || res.Outcome != ChargeNeedsAuthentication {
		t.Fatalf("confirm = %+v, %v", res, err)
	}
	u, err := url.Parse(res.RedirectURL)
	if err != nil || !strings.HasPrefix(res.RedirectURL, "http://localhost:8080/sandbox/authenticate/pi_sandbox_auto-top-up-7-1?") ||
		u.Query().Get("return_url") != "http://localhost:8080/autotopup?done=approved" || u.Query().Get("round") != "1" {
		t.Fatalf("redirect %q, want the sandbox page for the PaymentIntent carrying the return URL and round", res.RedirectURL)
	}
	if tok := u.Query().Get("token"); !ValidSandboxAuthToken("whsec_page", "pi_sandbox_auto-top-up-7-1", 1, tok) {
		t.Fatalf("redirect %q carries no valid token for its PaymentIntent and round", res.RedirectURL)
	}
	if _, err := p.ConfirmOnSession(context.Background(), ConfirmParams{PaymentIntentID: "pi_live_1"}); err == nil {
		t.Fatal("the sandbox confirmed a PaymentIntent it never made")
	}
}

// What Stripe answers a confirmation (and a cancellation), mapped: the bank's page to visit, a
// payment already made (never a reason to charge again), a decline, and a
// refusal that is an error worth retrying.
func TestStripePayments_ConfirmOnSessionReadsStripesAnswers(t *testing.T) {
	answers := map[string]struct {
		status int
		body   string
	}{
		"pi_action": {200, `{"id":"pi_action","object":"payment_intent","status":"requires_action",
			"next_action":{"type":"redirect_to_url","redirect_to_url":{"url":"https://hooks.stripe.com/3d_secure_2/pi_action","return_url":"http://x/autotopup"}}}`},
		"pi_paid": {400, `{"error":{"type":"invalid_request_error","code":"payment_intent_unexpected_state","message":"already succeeded",
			"payment_intent":{"id":"pi_paid","object":"payment_intent","status":"succeeded"}}}`},
		"pi_declined": {402, `{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}`},
		"pi_auth_declined": {402, `{"error":{"type":"card_error","code":"authentication_required","decline_code":"authentication_required","message":"Your card was declined. This transaction requires authentication.",
			"payment_intent":{"id":"pi_auth_declined","object":"payment_intent","status":"requires_payment_method"}}}`},
		"pi_canceled": {200, `{"id":"pi_canceled","object":"payment_intent","status":"canceled"}`},
		"pi_paid_before_cancel": {400, `{"error":{"type":"invalid_request_error","code":"payment_intent_unexpected_state","message":"succeeded",
			"payment_intent":{"id":"pi_paid_before_cancel","object":"payment_intent","status":"succeeded"}}}`},
		"pi_processing": {400, `{"error":{"type":"invalid_request_error","code":"payment_intent_unexpected_state","message":"processing",
			"payment_intent":{"id":"pi_processing","object":"payment_intent","status":"processing"}}}`},
		"pi_gone": {404, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such payment_intent"}}`},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, "/v1/payment_intents/")
		id = strings.TrimSuffix(strings.TrimSuffix(id, "/confirm"), "/cancel")
		a, ok := answers[id]
		if !ok {
			a.status, a.body = 404, `{"error":{"type":"invalid_request_error","message":"unexpected"}}`
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte(a.body))
	}))
	defer srv.Close()
	p := newStripePayments("sk_test_123", srv.URL, srv.Client())
	confirm := func(pi string) (ConfirmResult, error) {
		return p.ConfirmOnSession(context.Background(), ConfirmParams{PaymentIntentID: pi, ReturnURL: "http://x/autotopup", AttemptID: "a1", Round: 1})
	}
	if r, err := confirm("pi_action"); err != nil || r.Outcome != ChargeNeedsAuthentication || r.RedirectURL != "https://hooks.stripe.com/3d_secure_2/pi_action" {
		t.Errorf("requires_action: %+v, %v; want the bank's page", r, err)
	}
	if r, err := confirm("pi_paid"); err != nil || r.Outcome != ChargeSucceeded || r.RedirectURL != "" || r.PaymentIntentID != "pi_paid" {
		t.Errorf("already paid: %+v, %v; want succeeded with nothing to do", r, err)
	}
	if r, err := confirm("pi_declined"); err != nil || r.Outcome != ChargeSoftDecline || r.DeclineCode != "insufficient_funds" {
		t.Errorf("declined: %+v, %v; want a soft decline as a result", r, err)
	}
	// On-session, authentication_required as a card error is a decline:
	// there is no bank page to send the payer to.
	if r, err := confirm("pi_auth_declined"); err != nil || r.Outcome != ChargeSoftDecline || r.RedirectURL != "" ||
		r.DeclineCode != "authentication_required" || r.Message != "Your card was declined. This transaction requires authentication." {
		t.Errorf("authentication_required card error: %+v, %v; want a decline with the bank's message", r, err)
	}
	if r, err := confirm("pi_gone"); err == nil {
		t.Errorf("unknown PaymentIntent: %+v, want an error", r)
	}
	if paid, err := p.CancelPayment(context.Background(), "pi_canceled", "a1"); err != nil || paid {
		t.Errorf("cancel: %v, %v; want canceled, not paid", paid, err)
	}
	if paid, err := p.CancelPayment(context.Background(), "pi_paid_before_cancel", "a1"); err != nil || !paid {
		t.Errorf("cancel of a paid PaymentIntent: %v, %v; want paid (credit it, charge nothing new)", paid, err)
	}
	if paid, err := p.CancelPayment(context.Background(), "pi_processing", "a1"); paid || !errors.Is(err, ErrPaymentProcessing) {
		t.Errorf("cancel of a processing PaymentIntent: %v, %v; want not paid and ErrPaymentProcessing (wait for its webhook)", paid, err)
	}
	if _, err := p.CancelPayment(context.Background(), "pi_gone", "a1"); err == nil {
		t.Error("cancel of an unknown PaymentIntent: want an error")
	}
}

// The sandbox page's token binds the PaymentIntent and the round to the
// webhook secret; anything else, or no secret at all, is refused.
func TestSandboxAuthToken_BindsPaymentIntentRoundAndSecret(t *testing.T) {
	tok := SandboxAuthToken("whsec_a", "pi_sandbox_auto-top-up-7-1", 2)
	if len(tok) != 64 || !ValidSandboxAuthToken("whsec_a", "pi_sandbox_auto-top-up-7-1", 2, tok) {
		t.Fatalf("token %q does not verify", tok)
	}
	for name, ok := range map[string]bool{
		"another PaymentIntent": ValidSandboxAuthToken("whsec_a", "pi_sandbox_auto-top-up-8-1", 2, tok),
		"another round":         ValidSandboxAuthToken("whsec_a", "pi_sandbox_auto-top-up-7-1", 3, tok),
		"another secret":        ValidSandboxAuthToken("whsec_b", "pi_sandbox_auto-top-up-7-1", 2, tok),
		"no token":              ValidSandboxAuthToken("whsec_a", "pi_sandbox_auto-top-up-7-1", 2, ""),
		"a truncated token":     ValidSandboxAuthToken("whsec_a", "pi_sandbox_auto-top-up-7-1", 2, tok[:63]),
		"no secret":             ValidSandboxAuthToken("", "pi_sandbox_auto-top-up-7-1", 2, SandboxAuthToken("", "pi_sandbox_auto-top-up-7-1", 2)),
	} {
		if ok {
			t.Errorf("%s verified", name)
		}
	}
}
