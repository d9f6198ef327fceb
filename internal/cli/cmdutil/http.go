package cmdutil

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

// apiTransport decorates every request moby sends.
type apiTransport struct {
	base      http.RoundTripper
	apiHost   string // host[:port] the token may be sent to
	token     string
	userAgent string
	verbose   bool
	log       io.Writer
}

func (t *apiTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context()) // a RoundTripper must not modify its input
	req.Header.Set("User-Agent", t.userAgent)
	// The token is only for our API: a redirect or a link to elsewhere (a
	// Stripe checkout page, say) must never receive it.
	if t.token != "" && req.URL.Host == t.apiHost && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	start := time.Now()
	if t.verbose {
		fmt.Fprintf(t.log, "> %s %s\n", req.Method, req.URL.Redacted())
	}
	resp, err := t.base.RoundTrip(req)
	if t.verbose {
		if err != nil {
			fmt.Fprintf(t.log, "< %v (%s)\n", err, time.Since(start).Round(time.Millisecond))
		} else {
			fmt.Fprintf(t.log, "< %s (%s)\n", resp.Status, time.Since(start).Round(time.Millisecond))
		}
	}
	return resp, err
}
