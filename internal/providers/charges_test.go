package providers

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/internal/testenv"
)

func TestClassifyDecline_HardSoftAndAuthentication(t *testing.T) {
	cases := []struct {
		code, decline string
		want          ChargeOutcome
	}{
		{"authentication_required", "authentication_required", ChargeNeedsAuthentication},
		{"card_declined", "authentication_required", ChargeNeedsAuthentication},
		{"card_declined", "insufficient_funds", ChargeSoftDecline},
		{"card_declined", "try_again_later", ChargeSoftDecline},
		{"card_declined", "processing_error", ChargeSoftDecline},
		{"card_declined", "do_not_honor", ChargeSoftDecline},
		{"card_declined", "generic_decline", ChargeHardDecline},
		{"card_declined", "stolen_card", ChargeHardDecline},
		{"card_declined", "lost_card", ChargeHardDecline},
		{"card_declined", "fraudulent", ChargeHardDecline},
		{"expired_card", "", ChargeHardDecline},
		{"card_declined", "", ChargeSoftDecline},
	}
	for _, c := range cases {
		if got := ClassifyDecline(c.code, c.decline); got != c.want {
			t.Errorf("ClassifyDecline(%q, %q) = %s, want %s", c.code, c.decline, got, c.want)
		}
	}
}

func TestSandboxCharges_FollowStripeTestCards(t *testing.T) {
	p := sandboxPayments{}
	want := map[string]ChargeOutcome{
		SandboxCardVisa:                  ChargeSucceeded,
		SandboxCardDeclined:              ChargeHardDecline,
		SandboxCardInsufficientFunds:     ChargeSoftDecline,
		SandboxCardAuthenticationRequire: ChargeNeedsAuthentication,
	}
	for pm, outcome := range want {
		r, err := p.ChargeSaved(context.Background(), ChargeParams{AttemptID: "a1", PaymentMethodID: pm, AmountCents: 2000})
		if err != nil || r.Outcome != outcome || r.PaymentIntentID == "" {
			t.Errorf("%s: %+v, %v; want %s", pm, r, err, outcome)
		}
	}
	if _, err := p.ChargeSaved(context.Background(), ChargeParams{PaymentMethodID: "pm_nope"}); err == nil || !strings.Contains(err.Error(), SandboxCardVisa) {
		t.Errorf("unknown sandbox card: %v", err)
	}
}

// The charge and checkout requests pass stripe-mock's validation of
// Stripe's OpenAPI spec and carry idempotency keys derived from business ids,
// the same on a retry.
func TestStripePayments_CheckoutAndChargeAgainstStripeMock(t *testing.T) {
	base := testenv.StripeMock(t)
	rec := newRecorder()
	p := newStripePayments("sk_test_123", base, &http.Client{Transport: rec})
	ctx := context.Background()
	in := CheckoutParams{TopUpID: "tu_42", AccountID: 7, CustomerID: "cus_1", AmountCents: 500, SaveCard: true,
		SuccessURL: "http://localhost:8080/credits?topup=tu_42", CancelURL: "http://localhost:8080/credits", ExpiresAt: time.Now().Add(time.Hour)}
	for range 2 {
		s, err := p.CreateCheckout(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if s.ID == "" || s.URL == "" {
			t.Fatalf("session = %+v", s)
		}
	}
	for range 2 {
		r, err := p.ChargeSaved(ctx, ChargeParams{AttemptID: "at_9", AccountID: 7, CustomerID: "cus_1", PaymentMethodID: "pm_card_visa", AmountCents: 2000})
		if err != nil {
			t.Fatal(err)
		}
		if r.PaymentIntentID == "" {
			t.Fatalf("charge = %+v", r)
		}
	}
	reqs := rec.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4", len(reqs))
	}
	for i, r := range reqs[:2] {
		if r.URL.Path != "/v1/checkout/sessions" || r.Header.Get("Idempotency-Key") != "checkout-topup-tu_42" {
			t.Errorf("checkout request %d: %s key %q", i, r.URL.Path, r.Header.Get("Idempotency-Key"))
		}
		for k, want := range map[string]string{"mode": "payment", "metadata[topup_id]": "tu_42", "payment_intent_data[setup_future_usage]": "off_session",
			"line_items[0][price_data][unit_amount]": "500", "payment_intent_data[metadata][topup_id]": "tu_42", "customer": "cus_1"} {
			if got := r.Form.Get(k); got != want {
				t.Errorf("checkout request %d %s = %q, want %q", i, k, got, want)
			}
		}
	}
	for i, r := range reqs[2:] {
		if r.URL.Path != "/v1/payment_intents" || r.Header.Get("Idempotency-Key") != "charge-attempt-at_9" {
			t.Errorf("charge request %d: %s key %q", i, r.URL.Path, r.Header.Get("Idempotency-Key"))
		}
		for k, want := range map[string]string{"confirm": "true", "off_session": "true", "amount": "2000", "payment_method": "pm_card_visa"} {
			if got := r.Form.Get(k); got != want {
				t.Errorf("charge request %d %s = %q, want %q", i, k, got, want)
			}
		}
	}
}

// Reconciling a charge whose answer was lost searches Stripe by the
// attempt's metadata: stripe-mock (Stripe's own spec) accepts the request;
// its fixture PaymentIntent is another attempt's, so nothing is found.
func TestStripePayments_FindChargeSearchesByAttemptMetadataAgainstStripeMock(t *testing.T) {
	base := testenv.StripeMock(t)
	rec := newRecorder()
	p := newStripePayments("sk_test_123", base, &http.Client{Transport: rec})
	res, found, err := p.FindCharge(context.Background(), "auto-top-up-7-abc-3")
	if err != nil || found {
		t.Fatalf("FindCharge = %+v, %v, %v; want not found (the fixture is not this attempt's)", res, found, err)
	}
	reqs := rec.requests()
	if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].URL.Path != "/v1/payment_intents/search" ||
		reqs[0].URL.Query().Get("query") != "metadata['attempt_id']:'auto-top-up-7-abc-3'" {
		t.Fatalf("search request %+v", reqs)
	}
}

// The sandbox finds exactly the charges it made.
func TestSandboxFindCharge_FindsTheChargesItMade(t *testing.T) {
	p := Sandbox(nil).Payments
	ctx := context.Background()
	if _, found, err := p.FindCharge(ctx, "at_1"); found || err != nil {
		t.Fatalf("found a charge never made: %v %v", found, err)
	}
	made, err := p.ChargeSaved(ctx, ChargeParams{AttemptID: "at_1", AccountID: 7, PaymentMethodID: SandboxCardVisa, AmountCents: 2000})
	if err != nil {
		t.Fatal(err)
	}
	got, found, err := p.FindCharge(ctx, "at_1")
	if err != nil || !found || got != made {
		t.Fatalf("FindCharge = %+v, %v, %v; want %+v", got, found, err, made)
	}
}
