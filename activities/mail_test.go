package activities_test

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/mobayilo/mobayilo/activities"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/models"
)

type fakeUsers map[string]models.User

func (f fakeUsers) UserByEmail(_ context.Context, email string) (models.User, error) {
	if u, ok := f[strings.ToLower(email)]; ok {
		return u, nil
	}
	return models.User{}, identity.ErrUserNotFound
}

// fakeLinks hands out numbered secrets and remembers what it issued.
type fakeLinks struct {
	issued []models.LoginTokenPurpose
}

func (f *fakeLinks) IssueLoginToken(_ context.Context, p models.LoginTokenPurpose, u models.User) (string, error) {
	f.issued = append(f.issued, p)
	return "secret-" + string(rune('0'+len(f.issued))), nil
}

type failingMailer struct{ err error }

func (f failingMailer) Send(context.Context, mail.Message) error { return f.err }

var (
	ana  = models.User{ID: 1, Email: "ana@example.com", Role: models.RoleOwner, Status: models.StatusActive}
	seat = models.User{ID: 2, Email: "bob@acme.test", Role: models.RoleSeat, Status: models.StatusActive}
	off  = models.User{ID: 3, Email: "off@example.com", Role: models.RoleOwner, Status: models.StatusDisabled}
)

func newMailActivities() (*activities.Activities, *mail.Mailbox, *fakeLinks) {
	box := mail.NewMailbox(nil)
	links := &fakeLinks{}
	return &activities.Activities{Mailer: box, LoginLinks: links,
		Users: fakeUsers{ana.Email: ana, seat.Email: seat, off.Email: off}}, box, links
}

var linkRE = regexp.MustCompile(`https?://\S+`)

func TestSendLoginLink_MailsASingleUseLinkBoundToTheAddress(t *testing.T) {
	a, box, links := newMailActivities()
	res, err := a.SendLoginLink(context.Background(), activities.SendLoginLinkInput{Kind: activities.LinkSignIn, UserID: ana.ID,
		Email: "Ana@Example.com", BaseURL: "https://app.example/", Next: "/device?code=BCDF-GHJK"})
	if err != nil || !res.Sent {
		t.Fatalf("result %+v, %v", res, err)
	}
	msgs := box.Messages()
	if len(msgs) != 1 || msgs[0].To != ana.Email || !strings.Contains(msgs[0].Subject, "sign-in link") {
		t.Fatalf("mail %+v", msgs)
	}
	u, err := url.Parse(linkRE.FindString(msgs[0].Text))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Host != "app.example" || u.Path != activities.MagicLinkPath || q.Get("token") != "secret-1" || q.Get("email") != ana.Email || q.Get("next") != "/device?code=BCDF-GHJK" {
		t.Fatalf("link %s", u)
	}
	if len(links.issued) != 1 || links.issued[0] != models.PurposeMagicLink {
		t.Fatalf("issued %v", links.issued)
	}
	if !strings.Contains(msgs[0].Text, "15 minutes") {
		t.Fatalf("the mail should say how long the link works:\n%s", msgs[0].Text)
	}
}

func TestSendLoginLink_PasswordResetLinksOpenTheResetPage(t *testing.T) {
	a, box, links := newMailActivities()
	if _, err := a.SendLoginLink(context.Background(), activities.SendLoginLinkInput{Kind: activities.LinkPasswordReset, UserID: ana.ID,
		Email: ana.Email, BaseURL: "https://app.example", Next: "/ignored"}); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(linkRE.FindString(box.Messages()[0].Text))
	if u.Path != activities.PasswordResetPath || u.Query().Get("next") != "" || links.issued[0] != models.PurposePasswordReset {
		t.Fatalf("reset link %s, issued %v", u, links.issued)
	}
}

func TestSendLoginLink_SkipsUsersWhoMustNotGetALink(t *testing.T) {
	cases := []struct {
		name string
		in   activities.SendLoginLinkInput
		want string
	}{
		{"unknown address", activities.SendLoginLinkInput{Kind: activities.LinkSignIn, UserID: 9, Email: "gone@example.com"}, activities.SkipUserGone},
		{"address now someone else's", activities.SendLoginLinkInput{Kind: activities.LinkSignIn, UserID: 99, Email: ana.Email}, activities.SkipUserGone},
		{"disabled", activities.SendLoginLinkInput{Kind: activities.LinkSignIn, UserID: off.ID, Email: off.Email}, activities.SkipUserDisabled},
		{"seat asking for a password reset", activities.SendLoginLinkInput{Kind: activities.LinkPasswordReset, UserID: seat.ID, Email: seat.Email}, activities.SkipSeatPassword},
	}
	for _, c := range cases {
		a, box, links := newMailActivities()
		c.in.BaseURL = "https://app.example"
		res, err := a.SendLoginLink(context.Background(), c.in)
		if err != nil || res.Sent || res.Skipped != c.want || len(box.Messages()) != 0 || len(links.issued) != 0 {
			t.Errorf("%s: result %+v, err %v, %d mails, %d links issued; want skipped %s with nothing issued or sent",
				c.name, res, err, len(box.Messages()), len(links.issued), c.want)
		}
	}
}

func TestSendLoginLink_ASendFailureIsRetryableAndNeverNamesTheLink(t *testing.T) {
	a, _, _ := newMailActivities()
	a.Mailer = failingMailer{err: errors.New("smtp: 421 service not available")}
	_, err := a.SendLoginLink(context.Background(), activities.SendLoginLinkInput{Kind: activities.LinkSignIn, UserID: ana.ID, Email: ana.Email, BaseURL: "https://app.example"})
	if err == nil || !strings.Contains(err.Error(), "421") {
		t.Fatalf("error %v, want the SMTP failure", err)
	}
	if strings.Contains(err.Error(), "secret-") || strings.Contains(err.Error(), "token=") {
		t.Fatalf("error %q leaks the link's secret into workflow history", err)
	}
}

func TestSendLoginLink_SignUpMailSaysWhatToDoIfItWasNotYou(t *testing.T) {
	a, box, _ := newMailActivities()
	if _, err := a.SendLoginLink(context.Background(), activities.SendLoginLinkInput{Kind: activities.LinkSignUp, UserID: ana.ID, Email: ana.Email, BaseURL: "https://app.example"}); err != nil {
		t.Fatal(err)
	}
	m := box.Messages()[0]
	if !strings.Contains(m.Subject, "Confirm") || !strings.Contains(m.Text, "If it was not you") || !strings.Contains(m.Text, activities.MagicLinkPath) {
		t.Fatalf("sign-up mail %+v", m)
	}
}
