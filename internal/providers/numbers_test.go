package providers

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mobayilo/mobayilo/internal/testenv"
)

// AvailablePhoneNumbers, IncomingPhoneNumbers create, list and delete, as
// Prism serves them from Twilio's own twilio_api_v2010.json: each request
// passes the spec's validation and the answers' fields are read.
func TestTwilioNumbers_SearchBuyFindReleaseAgainstTwilioSpec(t *testing.T) {
	tel, rec := prismTelephony(t, nil)
	// The list endpoints' answers break Twilio's own schema (see
	// TwilioLenientPrism); the purchase and release go to the strict mock.
	lists, listRec := prismTelephony(t, map[string]string{"TWILIO_API_BASE_URL": testenv.TwilioLenientPrism(t)})
	ctx := context.Background()
	found, err := lists.SearchNumbers(ctx, "US", "415")
	if err != nil {
		t.Fatal(err)
	}
	if len(found) == 0 || !strings.HasPrefix(found[0].E164, "+") {
		t.Fatalf("search found %+v", found)
	}
	if _, err := lists.SearchNumbers(ctx, "GB", "20"); err != nil {
		t.Fatal(err)
	}
	bought, err := tel.BuyNumber(ctx, "+14155550150", "https://mobayilo.example/api/webhooks/twilio/incoming")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(bought.SID, "PN") {
		t.Errorf("bought %+v, want a PN SID", bought)
	}
	if _, _, err := lists.FindNumber(ctx, "+14155550150"); err != nil {
		t.Fatal(err)
	}
	if err := tel.ReleaseNumber(ctx, bought.SID); err != nil {
		t.Fatal(err)
	}
	l, r := listRec.requests(), rec.requests()
	if len(l) != 3 || len(r) != 2 {
		t.Fatalf("%d list and %d other requests, want 3 and 2", len(l), len(r))
	}
	reqs := append(append(l[:2:2], r[0], l[2]), r[1])
	acct := "/2010-04-01/Accounts/" + testenv.PrismProbeAccountSID
	want := []struct{ method, path, query, field, value string }{
		{"GET", acct + "/AvailablePhoneNumbers/US/Local.json", "AreaCode=415", "", ""},
		{"GET", acct + "/AvailablePhoneNumbers/GB/Local.json", "Contains=20", "", ""},
		{"POST", acct + "/IncomingPhoneNumbers.json", "", "VoiceUrl", "https://mobayilo.example/api/webhooks/twilio/incoming"},
		{"GET", acct + "/IncomingPhoneNumbers.json", "PhoneNumber=%2B14155550150", "", ""},
		{"DELETE", acct + "/IncomingPhoneNumbers/" + bought.SID + ".json", "", "", ""},
	}
	if len(reqs) != len(want) {
		t.Fatalf("%d requests, want %d", len(reqs), len(want))
	}
	for i, w := range want {
		r := reqs[i]
		if r.Method != w.method || r.URL.Path != w.path || !strings.Contains(r.URL.RawQuery, w.query) || (w.field != "" && r.Form.Get(w.field) != w.value) {
			t.Errorf("request %d: %s %s?%s %v; want %s %s with %q %s=%s", i, r.Method, r.URL.Path, r.URL.RawQuery, r.Form, w.method, w.path, w.query, w.field, w.value)
		}
	}
	if reqs[2].Form.Get("PhoneNumber") != "+14155550150" {
		t.Errorf("bought %q", reqs[2].Form.Get("PhoneNumber"))
	}
}

func TestSandboxNumbers_UnavailableNumberFailsLikeTwilio(t *testing.T) {
	s := NewSandboxNumbers()
	if _, err := s.BuyNumber(context.Background(), SandboxUnavailableNumber, ""); !errors.Is(err, ErrNumberUnavailable) {
		t.Fatalf("buying the unavailable number = %v", err)
	}
	n, err := s.BuyNumber(context.Background(), "+14155550150", "")
	if err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := s.FindNumber(context.Background(), "+14155550150"); !ok || got.SID != n.SID {
		t.Fatalf("find after buy = %+v %v", got, ok)
	}
	_ = s.ReleaseNumber(context.Background(), n.SID)
	if _, ok, _ := s.FindNumber(context.Background(), "+14155550150"); ok {
		t.Fatal("found after release")
	}
}
