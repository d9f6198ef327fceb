package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

// The Credits form reads dollars with the one parser (internal/money, whose
// table test holds every case) and tells the payer what is wrong.
func TestTopUp_WebFormRefusesTextThatIsNotDollarsNamingTheProblem(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	_, cookie, _ := s.user("typist@example.com", models.AccountIndividual)
	for in, says := range map[string]string{
		"5.123": "has more than two digits after the decimal point",
		"-5":    "has a sign",
		"":      "no amount was given",
		"1e3":   "has something other than digits and one decimal point",
	} {
		form := url.Values{"amount": {"custom"}, "custom_amount": {in}}
		code, _, page := s.do(http.MethodPost, "/api/topups", strings.NewReader(form.Encode()),
			map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, cookie)
		if code != http.StatusUnprocessableEntity || !strings.Contains(string(page), says) ||
			!strings.Contains(string(page), "enter an amount in dollars, such as 20 or 12.50") {
			t.Errorf("web form with %q = %d; want 422 saying %q", in, code, says)
		}
	}
	var n int64
	s.db.Model(&models.TopUp{}).Count(&n)
	if n != 0 {
		t.Fatalf("%d top-ups stored for text that is not dollars", n)
	}
}
