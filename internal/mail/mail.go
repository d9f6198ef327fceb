// Package mail sends Mobayilo's transactional email: through SMTP when
// SMTP_URL is set, otherwise into an in-memory dev mailbox shown at
// /dev/mail. Delivery runs inside Temporal activities, which retry it.
package mail

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one email.
type Message struct {
	To      string
	Subject string
	Text    string
}

// Sender delivers a message or returns an error worth retrying.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// SMTP sends through an SMTP server given as smtp://user:pass@host:port
// (STARTTLS required) or smtps://… (implicit TLS).
type SMTP struct {
	from   string
	client *gomail.Client
}

// NewSMTP parses SMTP_URL. The password never appears in errors.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("SMTP_URL is not a URL")
	}
	port := 587
	opts := []gomail.Option{gomail.WithTLSPolicy(gomail.TLSMandatory)}
	if u.Scheme == "smtps" {
		port = 465
		opts = []gomail.Option{gomail.WithSSL()}
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("SMTP_URL has a bad port")
		}
	}
	opts = append(opts, gomail.WithPort(port), gomail.WithTimeout(20*time.Second))
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	c, err := gomail.NewClient(u.Hostname(), opts...)
	if err != nil {
		return nil, fmt.Errorf("SMTP_URL: %w", err)
	}
	return &SMTP{from: from, client: c}, nil
}

// Send delivers m.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("MAIL_FROM: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	return s.client.DialAndSendWithContext(ctx, msg)
}

// Captured is a message held by the dev mailbox.
type Captured struct {
	Message
	At time.Time
}

// Mailbox keeps the last messages in memory for the dev mailbox page. The
// log gets the recipient and subject only: bodies carry sign-in links.
type Mailbox struct {
	mu   sync.Mutex
	msgs []Captured
	log  *slog.Logger
}

// NewMailbox returns an empty dev mailbox.
func NewMailbox(log *slog.Logger) *Mailbox {
	if log == nil {
		log = slog.Default()
	}
	return &Mailbox{log: log}
}

const mailboxSize = 200

// Send captures m.
func (b *Mailbox) Send(_ context.Context, m Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, Captured{Message: m, At: time.Now().UTC()})
	if len(b.msgs) > mailboxSize {
		b.msgs = b.msgs[len(b.msgs)-mailboxSize:]
	}
	b.log.Info("mail captured in the dev mailbox (/dev/mail)", "to", m.To, "subject", m.Subject)
	return nil
}

// Messages returns the captured messages, newest first.
func (b *Mailbox) Messages() []Captured {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Captured, len(b.msgs))
	for i, m := range b.msgs {
		out[len(b.msgs)-1-i] = m
	}
	return out
}
