package providers

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/internal/testenv"
)

// The TopUp activity's calls in order: the account's customer, then a
// checkout for that customer, then (after payment) the card for the
// receipt. Each passes stripe-mock's validation of Stripe's spec.
func TestStripePayments_CustomerThenCheckoutThenReceiptCardAgainstStripeMock(t *testing.T) {
	base := testenv.StripeMock(t)
	rec := newRecorder()
	p := newStripePayments("sk_test_123", base, &http.Client{Transport: rec})
	ctx := context.Background()
	cus, err := p.EnsureCustomer(ctx, CustomerParams{AccountID: 7, Email: "payer@example.com"})
	if err != nil || cus == "" {
		t.Fatalf("customer %q, %v", cus, err)
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	s, err := p.CreateCheckout(ctx, CheckoutParams{TopUpID: "tu_7", AccountID: 7, CustomerID: cus, AmountCents: 1000,
		SuccessURL: "http://localhost:8080/dial?topup=tu_7", CancelURL: "http://localhost:8080/credits?topup=tu_7", ExpiresAt: exp})
	if err != nil || s.ID == "" || s.URL == "" {
		t.Fatalf("checkout %+v, %v", s, err)
	}
	if _, err := p.PaymentCard(ctx, "pi_123"); err != nil {
		t.Fatalf("payment card: %v", err)
	}
	reqs := rec.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	co := reqs[1]
	if co.Header.Get("Idempotency-Key") != CheckoutIdempotencyKey("tu_7") || co.Form.Get("customer") != cus ||
		co.Form.Get("payment_intent_data[setup_future_usage]") != "" || co.Form.Get("expires_at") == "" {
		t.Fatalf("checkout request: key %q form %v", co.Header.Get("Idempotency-Key"), co.Form)
	}
	if pc := reqs[2]; pc.Method != http.MethodGet || !strings.HasSuffix(pc.URL.Path, "/v1/payment_intents/pi_123") || pc.URL.Query().Get("expand[0]") != "latest_charge" {
		t.Fatalf("payment card request: %s %s", pc.Method, pc.URL)
	}
}

func TestSandboxCheckout_PointsAtOurPageWithADerivedSession(t *testing.T) {
	p := sandboxPayments{deliver: NewSandboxWebhooks("http://localhost:8080/", "tok", "whsec", nil)}
	exp := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	in := CheckoutParams{TopUpID: "tu_1", AccountID: 1, AmountCents: 500, ExpiresAt: exp}
	a, err := p.CreateCheckout(context.Background(), in)
	b, _ := p.CreateCheckout(context.Background(), in)
	if err != nil || a != b || a.URL != "http://localhost:8080/sandbox/checkout/cs_sandbox_tu_1" || !a.ExpiresAt.Equal(exp) {
		t.Fatalf("sandbox checkout %+v then %+v, %v", a, b, err)
	}
	if c, err := p.PaymentCard(context.Background(), SandboxPaymentIntentID("tu_1", SandboxCardVisa)); err != nil || c.Last4 != "4242" {
		t.Fatalf("sandbox card %+v, %v", c, err)
	}
	if _, err := p.CreateCheckout(context.Background(), CheckoutParams{}); err == nil {
		t.Fatal("a checkout without a top-up was accepted")
	}
}
