package wire

// TopUpStatus is where a top-up is in its life. The values are those the
// server stores (models.TopUpStatus); a test in internal/credits holds them
// equal.
type TopUpStatus string

// The top-up statuses.
const (
	TopUpAwaitingPayment TopUpStatus = "awaiting_payment"
	TopUpSucceeded       TopUpStatus = "succeeded"
	TopUpExpired         TopUpStatus = "expired"
	TopUpFailed          TopUpStatus = "failed"
)

// NewTopUp is the body of POST /api/cli/topups. The request's
// Idempotency-Key header makes a retry return the same top-up.
type NewTopUp struct {
	AmountCents int64 `json:"amount_cents"`
	SaveCard    bool  `json:"save_card"`
}

// TopUp is a top-up as POST /api/cli/topups and GET /api/cli/topups/:id
// answer it.
type TopUp struct {
	ID          string      `json:"id"`
	Status      TopUpStatus `json:"status"`
	AmountCents int64       `json:"amount_cents"`
	Amount      string      `json:"amount"`
	// CheckoutURL is set while the top-up awaits payment.
	CheckoutURL string `json:"checkout_url,omitempty"`
	CardBrand   string `json:"card_brand,omitempty"`
	CardLast4   string `json:"card_last4,omitempty"`
	// BalanceCents is the wallet now, so `moby topup --wait` can print it.
	BalanceCents int64  `json:"balance_cents"`
	Balance      string `json:"balance"`
}
