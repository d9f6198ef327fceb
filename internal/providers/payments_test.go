package providers

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/mobayilo/mobayilo/internal/testenv"
)

func TestStripePayments_EnsureCustomerSendsDerivedIdempotencyKey(t *testing.T) {
	base := testenv.StripeMock(t)
	rec := newRecorder()
	p := newStripePayments("sk_test_123", base, &http.Client{Transport: rec})
	in := CustomerParams{AccountID: 42, Email: "ada@example.com", Name: "Ada Lovelace"}

	first, err := p.EnsureCustomer(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.EnsureCustomer(context.Background(), in); err != nil {
		t.Fatal(err)
	}

	if !strings.HasPrefix(first, "cus_") {
		t.Errorf("customer id = %q, want a cus_ id", first)
	}
	reqs := rec.requests()
	if len(reqs) != 2 {
		t.Fatalf("sent %d requests, want 2", len(reqs))
	}
	for i, r := range reqs {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/customers" {
			t.Errorf("request %d = %s %s, want POST /v1/customers", i, r.Method, r.URL.Path)
		}
		if got := r.Header.Get("Idempotency-Key"); got != "customer-account-42" {
			t.Errorf("request %d Idempotency-Key = %q, want customer-account-42", i, got)
		}
		for k, want := range map[string]string{"email": in.Email, "name": in.Name, "metadata[account_id]": "42"} {
			if got := r.Form.Get(k); got != want {
				t.Errorf("request %d %s = %q, want %q", i, k, got, want)
			}
		}
	}
}

func TestStripePayments_HonoursBaseURLWithoutTouchingGlobalBackend(t *testing.T) {
	base := testenv.StripeMock(t)
	p := newStripePayments("sk_test_123", base, nil)

	if _, err := p.EnsureCustomer(context.Background(), CustomerParams{AccountID: 1}); err != nil {
		t.Fatalf("EnsureCustomer against stripe-mock at %s: %v", base, err)
	}
}

func TestStripePayments_ErrorNamesTheAccount(t *testing.T) {
	base := testenv.StripeMock(t)
	// stripe-mock refuses a key that does not look like a test key.
	p := newStripePayments("not_a_key", base, nil)

	_, err := p.EnsureCustomer(context.Background(), CustomerParams{AccountID: 9})

	if err == nil || !strings.Contains(err.Error(), "account 9") {
		t.Fatalf("err = %v, want an error naming account 9", err)
	}
}
