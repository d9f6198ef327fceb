package providers

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/internal/testenv"
)

// The SaveCard workflow's calls: a setup-mode checkout for the customer,
// then (after the webhook) the card the SetupIntent saved. Both pass
// stripe-mock's validation of Stripe's spec, and the checkout carries a key
// derived from the setup, the same on a retry.
func TestStripePayments_SetupCheckoutThenSetupCardAgainstStripeMock(t *testing.T) {
	base := testenv.StripeMock(t)
	rec := newRecorder()
	p := newStripePayments("sk_test_123", base, &http.Client{Transport: rec})
	ctx := context.Background()
	in := SetupCheckoutParams{SetupID: "cset_1", AccountID: 7, CustomerID: "cus_1",
		SuccessURL: "http://localhost:8080/autotopup?done=card-saved", CancelURL: "http://localhost:8080/autotopup",
		ExpiresAt: time.Now().Add(time.Hour).Truncate(time.Second)}
	for range 2 {
		s, err := p.CreateSetupCheckout(ctx, in)
		if err != nil || s.ID == "" || s.URL == "" {
			t.Fatalf("setup checkout %+v, %v", s, err)
		}
	}
	card, err := p.SetupCard(ctx, "seti_123")
	if err != nil || card.PaymentMethodID == "" {
		t.Fatalf("setup card %+v, %v", card, err)
	}
	reqs := rec.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for _, co := range reqs[:2] {
		f := co.Form
		if co.Header.Get("Idempotency-Key") != SetupCheckoutIdempotencyKey("cset_1") || f.Get("mode") != "setup" ||
			f.Get("customer") != "cus_1" || f.Get("currency") != "usd" || f.Get("payment_method_types[0]") != "card" ||
			f.Get("metadata[setup_id]") != "cset_1" || f.Get("metadata[account_id]") != "7" ||
			f.Get("setup_intent_data[metadata][setup_id]") != "cset_1" || f.Get("setup_intent_data[metadata][account_id]") != "7" ||
			f.Get("expires_at") == "" || f.Get("line_items[0][quantity]") != "" {
			t.Fatalf("setup checkout request: key %q form %v", co.Header.Get("Idempotency-Key"), f)
		}
	}
	if sc := reqs[2]; sc.Method != http.MethodGet || !strings.HasSuffix(sc.URL.Path, "/v1/setup_intents/seti_123") || sc.URL.Query().Get("expand[0]") != "payment_method" {
		t.Fatalf("setup card request: %s %s", sc.Method, sc.URL)
	}
}

func TestSandboxSetupCheckout_PointsAtOurPageAndEachTestCardSaves(t *testing.T) {
	p := sandboxPayments{deliver: NewSandboxWebhooks("http://localhost:8080/", "tok", "whsec", nil)}
	exp := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	in := SetupCheckoutParams{SetupID: "cset_1", AccountID: 1, ExpiresAt: exp}
	a, err := p.CreateSetupCheckout(context.Background(), in)
	b, _ := p.CreateSetupCheckout(context.Background(), in)
	if err != nil || a != b || a.URL != "http://localhost:8080/sandbox/checkout/cs_sandbox_setup_cset_1" || !a.ExpiresAt.Equal(exp) {
		t.Fatalf("sandbox setup checkout %+v then %+v, %v", a, b, err)
	}
	if _, err := p.CreateSetupCheckout(context.Background(), SetupCheckoutParams{}); err == nil {
		t.Fatal("a setup checkout without a setup id was accepted")
	}
	want := map[string]string{SandboxCardVisa: "4242", SandboxCardDeclined: "0002", SandboxCardInsufficientFunds: "9995", SandboxCardAuthenticationRequire: "3184"}
	for pm, last4 := range want {
		c, err := p.SetupCard(context.Background(), SandboxSetupIntentID("cset_1", pm))
		if err != nil || c != (Card{Brand: "visa", Last4: last4, PaymentMethodID: pm}) {
			t.Errorf("%s: card %+v, %v", pm, c, err)
		}
	}
	for _, bad := range []string{"seti_123", SandboxSetupIntentID("cset_1", "pm_card_bogus"), "seti_sandbox_"} {
		if c, err := p.SetupCard(context.Background(), bad); err == nil {
			t.Errorf("setup intent %q gave card %+v", bad, c)
		}
	}
}
