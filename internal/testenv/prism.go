package testenv

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// PrismProbeAccountSID is a well-formed account SID; Prism checks the SID's
// pattern, not its existence, so any such SID works in requests to it.
const PrismProbeAccountSID = "AC0123456789abcdef0123456789abcdef"

var twilioPrism, lenientPrism, pricingPrism, verifyPrism struct {
	once sync.Once
	url  string
	err  error
}

// TwilioPrism returns the base URL (http://127.0.0.1:PORT) of a Prism mock of
// Twilio's 2010 REST API, shared by every test in the package; it stops when
// testenv.Main returns, so the package's TestMain must use Main. Prism
// validates requests against Twilio's OpenAPI spec: a request that breaks
// the spec (a missing required parameter, an empty account SID in the path,
// no basic auth) gets a 4xx, as it would from Twilio. Paths come from
// PRISM_BIN and TWILIO_OAI_SPEC or from `make tools`.
func TwilioPrism(t testing.TB) string {
	t.Helper()
	twilioPrism.once.Do(func() { twilioPrism.url, twilioPrism.err = startTwilioPrism() })
	if twilioPrism.err != nil {
		Unavailable(t, "Prism (Twilio mock)", twilioPrism.err)
	}
	return twilioPrism.url
}

func startTwilioPrism() (string, error) {
	// --errors turns every validation violation into an error response
	// instead of a logged warning.
	return startPrism(prismSpec{name: "prism", specEnv: "TWILIO_OAI_SPEC", specFile: "twilio_api_v2010.json",
		probe: "/2010-04-01/Accounts/" + PrismProbeAccountSID + ".json", errors: true})
}

// TwilioLenientPrism is TwilioPrism's 2010 REST API without --errors, for
// the list endpoints (AvailablePhoneNumbers, IncomingPhoneNumbers list),
// whose examples in Twilio's own spec break its schema (relative page URIs
// where it says format uri, latitudes as strings), so the strict mock
// answers them with a 500. Requests are still validated: a bad parameter
// is a 422.
func TwilioLenientPrism(t testing.TB) string {
	t.Helper()
	lenientPrism.once.Do(func() {
		lenientPrism.url, lenientPrism.err = startPrism(prismSpec{name: "prism-lenient", specEnv: "TWILIO_OAI_SPEC",
			specFile: "twilio_api_v2010.json", probe: "/2010-04-01/Accounts/" + PrismProbeAccountSID + ".json"})
	})
	if lenientPrism.err != nil {
		Unavailable(t, "Prism (lenient Twilio mock)", lenientPrism.err)
	}
	return lenientPrism.url
}

// prismSpec is one of Twilio's OpenAPI specs served by its own Prism.
type prismSpec struct {
	name     string
	specEnv  string // overrides specFile's path
	specFile string // under the npm package's spec/json
	// probe is a real API path: a validated answer on it, not just an open
	// port, shows the spec is loaded.
	probe  string
	errors bool
}

func startPrism(ps prismSpec) (string, error) {
	npm := filepath.Join(RepoRoot(), "tools", "npm", "node_modules")
	bin := os.Getenv("PRISM_BIN")
	if bin == "" {
		bin = filepath.Join(npm, ".bin", "prism")
	}
	spec := os.Getenv(ps.specEnv)
	if spec == "" {
		spec = filepath.Join(npm, "@twilio-alpha", "mcp", "twilio-oai", "spec", "json", ps.specFile)
	}
	for _, f := range []string{bin, spec} {
		if _, err := os.Stat(f); err != nil {
			return "", err
		}
	}
	// -v warn keeps the violations in the log without an info line per
	// request.
	args := func(port int) []string {
		a := []string{bin, "mock", "-p", strconv.Itoa(port), "-h", "127.0.0.1"}
		if ps.errors {
			a = append(a, "--errors")
		}
		return append(a, "-v", "warn", spec)
	}
	ready := func(base string) bool {
		req, err := http.NewRequest(http.MethodGet, base+ps.probe, nil)
		if err != nil {
			return false
		}
		req.SetBasicAuth(PrismProbeAccountSID, "probe")
		resp, err := peerProbeClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	// Node takes a few seconds to load the spec, more on a busy CI machine.
	return launchPeer(ps.name, args, ready, 90*time.Second)
}

// TwilioPricingPrism returns the base URL of a second Prism, serving
// Twilio's Pricing v2 spec (pricing.twilio.com), shared like TwilioPrism.
// It runs without --errors: Twilio's own response examples give prices as
// strings ("0.013") where the spec's schema says number, and --errors would
// turn every answer into a 500. Requests are still validated: a bad query
// parameter is a 422 and missing basic auth a 401.
func TwilioPricingPrism(t testing.TB) string {
	t.Helper()
	pricingPrism.once.Do(func() { pricingPrism.url, pricingPrism.err = startPricingPrism() })
	if pricingPrism.err != nil {
		Unavailable(t, "Prism (Twilio pricing mock)", pricingPrism.err)
	}
	return pricingPrism.url
}

func startPricingPrism() (string, error) {
	return startPrism(prismSpec{name: "prism-pricing", specEnv: "TWILIO_PRICING_OAI_SPEC", specFile: "twilio_pricing_v2.json",
		probe: "/v2/Voice/Countries"})
}

// TwilioVerifyPrism returns the base URL of a Prism serving Twilio's Verify
// v2 spec (verify.twilio.com), shared like TwilioPrism. Like the pricing
// mock it runs without --errors (Twilio's own examples do not all validate
// against their schemas); requests are still validated.
func TwilioVerifyPrism(t testing.TB) string {
	t.Helper()
	verifyPrism.once.Do(func() { verifyPrism.url, verifyPrism.err = startVerifyPrism() })
	if verifyPrism.err != nil {
		Unavailable(t, "Prism (Twilio Verify mock)", verifyPrism.err)
	}
	return verifyPrism.url
}

func startVerifyPrism() (string, error) {
	return startPrism(prismSpec{name: "prism-verify", specEnv: "TWILIO_VERIFY_OAI_SPEC", specFile: "twilio_verify_v2.json",
		probe: "/v2/Services"})
}
