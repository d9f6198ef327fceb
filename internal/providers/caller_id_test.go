package providers

import (
	"context"
	"strings"
	"testing"

	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/testenv"
)

func prismCallerIDs(t *testing.T) (TwilioCallerIDs, *recorder) {
	t.Helper()
	rec := newRecorder()
	return newTwilioCallerIDs(loadConfig(t, map[string]string{
		"TWILIO_ACCOUNT_SID":        testenv.PrismProbeAccountSID,
		"TWILIO_AUTH_TOKEN":         "authtoken0123",
		"TWILIO_API_BASE_URL":       testenv.TwilioPrism(t),
		"TWILIO_VERIFY_BASE_URL":    testenv.TwilioVerifyPrism(t),
		"TWILIO_VERIFY_SERVICE_SID": "VA0123456789abcdef0123456789abcdef",
	}), rec), rec
}

// Verify v2's Verification create and VerificationCheck, and v2010's
// ValidationRequests, as Prism serves them from Twilio's own specs: each
// request passes the spec's validation and the answers' fields are read.
func TestTwilioCallerIDs_VerifyAndValidationRequestsAgainstTwilioSpecs(t *testing.T) {
	p, rec := prismCallerIDs(t)
	ctx := context.Background()
	sid, err := p.SendVerificationCode(ctx, "+447700900123")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sid, "VE") {
		t.Errorf("verification SID %q", sid)
	}
	if _, err := p.CheckVerificationCode(ctx, sid, "+447700900123", "123456"); err != nil {
		t.Fatal(err)
	}
	v, err := p.RequestValidation(ctx, "+447700900123", "Mobayilo account 7", "https://mobayilo.example/api/webhooks/twilio/caller-id?account=7")
	if err != nil {
		t.Fatal(err)
	}
	if v.ValidationCode == "" {
		t.Errorf("no validation code in %+v", v)
	}
	reqs := rec.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	want := []struct{ path, field, value string }{
		{"/v2/Services/VA0123456789abcdef0123456789abcdef/Verifications", "Channel", "sms"},
		{"/v2/Services/VA0123456789abcdef0123456789abcdef/VerificationCheck", "VerificationSid", sid},
		{"/2010-04-01/Accounts/" + testenv.PrismProbeAccountSID + "/OutgoingCallerIds.json", "PhoneNumber", "+447700900123"},
	}
	for i, w := range want {
		if !strings.HasSuffix(reqs[i].URL.Path, w.path) || reqs[i].Form.Get(w.field) != w.value {
			t.Errorf("request %d: %s %v; want %s with %s=%s", i, reqs[i].URL.Path, reqs[i].Form, w.path, w.field, w.value)
		}
	}
}

func TestTwilioCallerIDs_RefusesWithoutAVerifyService(t *testing.T) {
	p := newTwilioCallerIDs(loadConfig(t, map[string]string{"TWILIO_ACCOUNT_SID": testenv.PrismProbeAccountSID, "TWILIO_AUTH_TOKEN": "x"}), newRecorder())
	if _, err := p.SendVerificationCode(context.Background(), "+447700900123"); err != ErrNoVerifyService {
		t.Fatalf("err = %v, want ErrNoVerifyService", err)
	}
}

// The sandbox's SMS code lands in the dev mailbox and only that code is
// approved.
func TestSandboxCallerIDs_CodeLandsInTheMailbox(t *testing.T) {
	box := mail.NewMailbox(nil)
	s := NewSandboxCallerIDs(box, nil)
	ctx := context.Background()
	sid, err := s.SendVerificationCode(ctx, "+447700900123")
	if err != nil {
		t.Fatal(err)
	}
	msgs := box.Messages()
	if len(msgs) != 1 || msgs[0].To != SandboxSMSAddress("+447700900123") {
		t.Fatalf("mailbox %+v", msgs)
	}
	code := msgs[0].Text[strings.Index(msgs[0].Text, "is ")+3:][:6]
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if ok, _ := s.CheckVerificationCode(ctx, sid, "", wrong); ok {
		t.Error("a wrong code was approved")
	}
	if ok, _ := s.CheckVerificationCode(ctx, sid, "", code); !ok {
		t.Errorf("the mailed code %q was refused", code)
	}
}
