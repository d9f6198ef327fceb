package wire

import (
	"encoding/json"
	"testing"
	"time"
)

// The field names are what the API answered and the CLI read before the
// two shared these types; scripts read them through --json. A rename
// fails here.
func TestBodies_KeepTheirJSONFieldNames(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	on, cents, count := true, int64(2000), 3
	for _, c := range []struct {
		name string
		body any
		want string
	}{
		{"error", ErrorBody{Error: ErrorDetail{Code: CodeTokenExpired, Message: "m"}},
			`{"error":{"code":"token_expired","message":"m"}}`},
		{"me", Me{User: User{ID: 1, Email: "a@b.c", Role: "owner", IsAdmin: true},
			Account: MeAccount{Account: Account{ID: 2, Kind: "individual", Name: "A", Status: "active", BalanceCents: 250}, Balance: "$2.50"},
			Token:   Token{ID: 3, Name: "laptop", Source: "device", CreatedAt: at, ExpiresAt: &at, Scopes: []string{"cli"}}},
			`{"user":{"id":1,"email":"a@b.c","role":"owner","is_admin":true},` +
				`"account":{"id":2,"kind":"individual","name":"A","status":"active","balance_cents":250,"balance":"$2.50"},` +
				`"token":{"id":3,"name":"laptop","source":"device","created_at":"2030-01-02T03:04:05Z","expires_at":"2030-01-02T03:04:05Z","scopes":["cli"]}}`},
		{"account for --json", Account{ID: 2, Kind: "company", Name: "A", Status: "active", BalanceCents: 250},
			`{"id":2,"kind":"company","name":"A","status":"active","balance_cents":250}`},
		{"token revoked", TokenRevoked{Revoked: TokenRef{ID: 3, Name: "laptop"}}, `{"revoked":{"id":3,"name":"laptop"}}`},
		{"balance", Balance{BalanceCents: 250, Balance: "$2.50", AvailableCents: 200, Available: "$2.00", MinimumTopUpCents: 500},
			`{"balance_cents":250,"balance":"$2.50","available_cents":200,"available":"$2.00","minimum_topup_cents":500}`},
		{"transactions", Transactions{Transactions: []Transaction{{ID: 9, Kind: "topup", AmountCents: 500, Amount: "$5.00",
			BalanceAfterCents: 750, Description: "d", CreatedAt: "2030-01-02T03:04:05Z"}}, NextBefore: 9},
			`{"transactions":[{"id":9,"kind":"topup","amount_cents":500,"amount":"$5.00","balance_after_cents":750,"description":"d","created_at":"2030-01-02T03:04:05Z"}],"next_before":9}`},
		{"last page", Transactions{Transactions: []Transaction{}}, `{"transactions":[]}`},
		{"new top-up", NewTopUp{AmountCents: 500, SaveCard: true}, `{"amount_cents":500,"save_card":true}`},
		{"top-up", TopUp{ID: "tu_1", Status: TopUpAwaitingPayment, AmountCents: 500, Amount: "$5.00", CheckoutURL: "https://pay.test/cs",
			CardBrand: "visa", CardLast4: "4242", BalanceCents: 0, Balance: "$0.00"},
			`{"id":"tu_1","status":"awaiting_payment","amount_cents":500,"amount":"$5.00","checkout_url":"https://pay.test/cs","card_brand":"visa","card_last4":"4242","balance_cents":0,"balance":"$0.00"}`},
		{"paid top-up", TopUp{ID: "tu_1", Status: TopUpSucceeded, AmountCents: 500, Amount: "$5.00", BalanceCents: 500, Balance: "$5.00"},
			`{"id":"tu_1","status":"succeeded","amount_cents":500,"amount":"$5.00","balance_cents":500,"balance":"$5.00"}`},
		{"auto top-up", AutoTopUp{Enabled: true, ThresholdCents: 200, Threshold: "$2.00", AmountCents: 2000, Amount: "$20.00",
			DailyMaxCount: 3, DailyMaxCents: 6000, DailyMax: "$60.00", Card: &AutoTopUpCard{Brand: "visa", Last4: "4242"},
			LastAttempt: &AutoTopUpAttempt{Status: "hard_decline", AmountCents: 2000, DeclineCode: "generic_decline", At: at}},
			`{"enabled":true,"threshold_cents":200,"threshold":"$2.00","amount_cents":2000,"amount":"$20.00","daily_max_count":3,` +
				`"daily_max_cents":6000,"daily_max":"$60.00","card":{"brand":"visa","last4":"4242"},` +
				`"last_attempt":{"status":"hard_decline","amount_cents":2000,"decline_code":"generic_decline","at":"2030-01-02T03:04:05Z"}}`},
		{"auto top-up without card", AutoTopUp{}, `{"enabled":false,"threshold_cents":0,"threshold":"","amount_cents":0,"amount":"",` +
			`"daily_max_count":0,"daily_max_cents":0,"daily_max":"","card":null,"last_attempt":null}`},
		{"auto top-up update", AutoTopUpUpdate{Enabled: &on, ThresholdCents: &cents, AmountCents: &cents, DailyMaxCount: &count, DailyMaxCents: &cents},
			`{"enabled":true,"threshold_cents":2000,"amount_cents":2000,"daily_max_count":3,"daily_max_cents":2000}`},
		{"empty update", AutoTopUpUpdate{}, `{}`},
	} {
		got, err := json.Marshal(c.body)
		if err != nil || string(got) != c.want {
			t.Errorf("%s:\n got %s (%v)\nwant %s", c.name, got, err, c.want)
		}
	}
}

// The server reads what the CLI sends: a partial update leaves the other
// fields nil, whether they were left out or sent as null.
func TestAutoTopUpUpdate_OmittedAndNullFieldsStayUnset(t *testing.T) {
	for _, body := range []string{`{"amount_cents":3000}`, `{"amount_cents":3000,"enabled":null,"threshold_cents":null}`} {
		var u AutoTopUpUpdate
		if err := json.Unmarshal([]byte(body), &u); err != nil || u.AmountCents == nil || *u.AmountCents != 3000 ||
			u.Enabled != nil || u.ThresholdCents != nil || u.DailyMaxCount != nil || u.DailyMaxCents != nil {
			t.Errorf("%s decoded as %+v (%v)", body, u, err)
		}
	}
}
