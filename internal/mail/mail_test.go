package mail_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mobayilo/mobayilo/internal/mail"
)

func TestMailbox_KeepsNewestFirstAndBounded(t *testing.T) {
	b := mail.NewMailbox(nil)
	for i := range 205 {
		if err := b.Send(context.Background(), mail.Message{To: fmt.Sprintf("u%d@example.com", i), Subject: "s", Text: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	got := b.Messages()
	if len(got) != 200 || got[0].To != "u204@example.com" || got[199].To != "u5@example.com" {
		t.Fatalf("mailbox holds %d, first %s, last %s", len(got), got[0].To, got[len(got)-1].To)
	}
}

func TestNewSMTP_BadURLsNeverEchoThePassword(t *testing.T) {
	for _, u := range []string{"smtp://user:s3cret@host:notaport", "smtp://user:s3cret@%zz"} {
		_, err := mail.NewSMTP(u, "Mobayilo <no-reply@example.com>")
		if err == nil {
			t.Fatalf("%s accepted", u)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("error %q reveals the password", err)
		}
	}
	if _, err := mail.NewSMTP("smtps://user:pw@mail.example.com", "Mobayilo <no-reply@example.com>"); err != nil {
		t.Fatalf("valid smtps URL: %v", err)
	}
}
