package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

// An auto top-up, like a top-up, leaves a receipt: stored, mailed to the
// owner once, listed on /credits beside the top-up receipts, each on its own
// page that only the account sees (another account gets the plain 404).
// Runs the real AutoTopUp workflow and activities on a real Temporal server.
func TestAutoTopUpReceipt_IsMailedOnceListedOnCreditsAndHasAPageOnlyItsAccountSees(t *testing.T) {
	ctx := context.Background()
	s := newApproveServer(t, testenv.SQLite(t))
	ana, cookie := s.ownerWithCard("ana-receipt@example.com", providers.SandboxCardVisa)
	wfID := workflows.AutoTopUpWorkflowID(ana.AccountID)

	s.debitBelowThreshold(ana.AccountID)
	st := s.state(ana.AccountID, "succeeded", func(st workflows.AutoTopUpState) bool { return st.State == workflows.AutoTopUpSucceeded })
	pi := st.LastPaymentID
	receiptMail := func() []mail.Captured {
		var out []mail.Captured
		for _, m := range s.mailbox.Messages() {
			if m.To == ana.Email && strings.Contains(m.Subject, "auto top-up receipt") {
				out = append(out, m)
			}
		}
		return out
	}
	for deadline := time.Now().Add(60 * time.Second); len(receiptMail()) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
	}
	id := credits.AutoTopUpReceiptID(pi)
	msgs := receiptMail()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Subject, "$20.00") || !strings.Contains(msgs[0].Text, "visa ending in 4242") ||
		!strings.Contains(msgs[0].Text, s.URL+"/credits/receipts/"+id) {
		t.Fatalf("receipt emails %+v, want one for the $20.00 auto top-up linking %s", msgs, id)
	}
	r, err := credits.New(s.db).AutoTopUpReceipt(ctx, pi)
	if err != nil || r.ID != id || r.AccountID != ana.AccountID || r.AmountCents != 2000 || r.EmailedAt == nil || r.CardLast4 != "4242" {
		t.Fatalf("stored receipt %+v, %v", r, err)
	}
	// The receipt activity ran once for the one credit.
	hist := testenv.WorkflowHistory(t, s.temporal, wfID, "")
	it := s.temporal.GetWorkflowHistory(ctx, wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	receipts := 0
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == "EmailAutoTopUpReceipt" {
			receipts++
		}
	}
	if receipts != 1 {
		t.Fatalf("EmailAutoTopUpReceipt scheduled %d times, want once", receipts)
	}
	testenv.RecordHistory(t, hist, "auto-top-up-credited-with-receipt")

	// A top-up's receipt sits beside it.
	checkout := s.webTopUp(cookie, "5")
	_, topUpID := sessionFromURL(t, checkout)
	pay := url.Values{"card": {providers.SandboxCardVisa}}
	if code, _, _ := s.do(http.MethodPost, strings.TrimPrefix(checkout, s.URL), strings.NewReader(pay.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, nil); code != http.StatusSeeOther {
		t.Fatalf("paying the top-up = %d", code)
	}
	if res := s.waitTopUp(topUpID); res.State != workflows.PaymentSucceeded {
		t.Fatalf("top-up = %+v", res)
	}
	code, _, body := s.do(http.MethodGet, "/credits", nil, nil, cookie)
	page := string(body)
	if code != http.StatusOK || !strings.Contains(page, `data-receipt="`+id+`" data-receipt-kind="auto_topup"`) ||
		!strings.Contains(page, `data-receipt="`+topUpID+`" data-receipt-kind="topup"`) ||
		!strings.Contains(page, `href="/credits/receipts/`+id+`"`) || !strings.Contains(page, `href="/credits/receipts/`+topUpID+`"`) {
		t.Fatalf("/credits = %d, want both receipts listed with their pages:\n%s", code, page)
	}
	if strings.Index(page, `data-receipt="`+topUpID+`"`) > strings.Index(page, `data-receipt="`+id+`"`) {
		t.Fatal("receipts are not newest first")
	}

	for rid, want := range map[string][]string{
		id:      {"$20.00 added", "Auto top-up", "Visa •••• 4242", pi, `data-receipt-kind="auto_topup"`},
		topUpID: {"$5.00 added", "Top-up", "Visa •••• 4242", providers.SandboxPaymentIntentID(topUpID, providers.SandboxCardVisa), `data-receipt-kind="topup"`},
	} {
		code, _, body := s.do(http.MethodGet, "/credits/receipts/"+rid, nil, nil, cookie)
		for _, w := range want {
			if code != http.StatusOK || !strings.Contains(string(body), w) {
				t.Fatalf("receipt page %s = %d, want it to say %q:\n%s", rid, code, w, body)
			}
		}
	}

	// Another account, and ids that are no receipt, get the same 404 page.
	_, other, _ := s.user("someone-else@example.com", models.AccountIndividual)
	for _, path := range []string{id, topUpID, credits.AutoTopUpReceiptID("pi_unknown"), "tu_unknown", "1"} {
		code, _, body := s.do(http.MethodGet, "/credits/receipts/"+path, nil, map[string]string{"Accept": "text/html"}, other)
		if code != http.StatusNotFound || strings.Contains(string(body), "$20.00") || strings.Contains(string(body), "$5.00") {
			t.Fatalf("another account reading receipt %s = %d, want 404 showing nothing", path, code)
		}
	}
	unpaid := s.webTopUp(cookie, "7")
	_, unpaidID := sessionFromURL(t, unpaid)
	if code, _, _ := s.do(http.MethodGet, "/credits/receipts/"+unpaidID, nil, nil, cookie); code != http.StatusNotFound {
		t.Fatalf("the receipt of an unpaid top-up = %d, want 404", code)
	}
}
