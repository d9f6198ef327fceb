package api

import (
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/web"
)

// The dev mailbox: sign-in mails of a machine without SMTP, shown at
// /dev/mail to this machine only.

// devMailVisible reports whether this request may read the dev mailbox.
// It holds every sign-in link, so it exists only without SMTP, and outside
// localhost only Mobayilo operators see it: a sandbox on a public address
// must not hand anyone's link to everyone.
func (h *handlers) devMailVisible(c *gin.Context) bool {
	if h.d.Mailbox == nil {
		return false
	}
	// On a localhost deployment, only this machine may look: the server
	// listens on every interface, and the mailbox holds everyone's links.
	if loopbackURL(h.d.Config.PublicBaseURL) {
		if ip := net.ParseIP(c.RemoteIP()); ip != nil && ip.IsLoopback() {
			return true
		}
	}
	p, ok := principal(c)
	return ok && p.User.IsAdmin
}

func loopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type devMailView struct {
	Messages []devMessage
}

type devMessage struct {
	To, Subject, At string
	Lines           [][]textPart
}

// textPart is a run of a message's text; URL is set when the run is a
// link, which the page makes clickable.
type textPart struct{ Text, URL string }

var linkPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

func linkify(line string) []textPart {
	var out []textPart
	last := 0
	for _, m := range linkPattern.FindAllStringIndex(line, -1) {
		if m[0] > last {
			out = append(out, textPart{Text: line[last:m[0]]})
		}
		out = append(out, textPart{Text: line[m[0]:m[1]], URL: line[m[0]:m[1]]})
		last = m[1]
	}
	if last < len(line) || len(out) == 0 {
		out = append(out, textPart{Text: line[last:]})
	}
	return out
}

func (h *handlers) devMail(c *gin.Context) {
	if !h.devMailVisible(c) {
		web.NotFound(h.d.Pages)(c)
		return
	}
	var v devMailView
	for _, m := range h.d.Mailbox.Messages() {
		dm := devMessage{To: m.To, Subject: m.Subject, At: m.At.UTC().Format("2 Jan 2006, 15:04:05 UTC")}
		for _, line := range strings.Split(strings.TrimRight(m.Text, "\n"), "\n") {
			dm.Lines = append(dm.Lines, linkify(line))
		}
		v.Messages = append(v.Messages, dm)
	}
	h.signinRender(c, http.StatusOK, "dev_mail", "Dev mailbox", v)
}
