package call

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
	"github.com/mobayilo/mobayilo/internal/wire"
)

// fakeAPI answers /api/cli/calls as the server would: the bridge moves
// through states, one per GET, and ends billed; hangup is recorded.
type fakeAPI struct {
	mu      sync.Mutex
	states  []string
	gets    int
	hangups int
	posted  wire.NewCall
	// onGet runs at each GET (a test's Ctrl-C).
	onGet func(n int)
}

func int64p(v int64) *int64 { return &v }

func (f *fakeAPI) bridge(status string) wire.BridgeCall {
	guessed := f.posted.Country == "" && !strings.HasPrefix(f.posted.To, "+")
	bc := wire.BridgeCall{CallID: "call_b", To: "+442079460123", ToNational: "020 7946 0123", Country: "GB", CountryGuessed: guessed,
		CallerID: "+447400123456", MaxMinutes: 20, Status: status,
		Owner:       wire.BridgeLeg{CallID: "call_a", To: "+447400123456", Status: "in-progress", PricePerMinuteCents: 3, PricePerMinute: "$0.03"},
		Destination: wire.BridgeLeg{CallID: "call_b", To: "+442079460123", Status: "ringing", PricePerMinuteCents: 2, PricePerMinute: "$0.02"}}
	if status == wire.BridgeInProgress {
		now := time.Now().Add(-3 * time.Second)
		bc.Destination.AnsweredAt = &now
	}
	if status == wire.BridgeEnded {
		bc.Owner.Status, bc.Destination.Status = "completed", "completed"
		bc.Owner.DurationSeconds, bc.Owner.BilledMinutes, bc.Owner.CostCents = int64p(70), int64p(2), int64p(6)
		bc.Destination.DurationSeconds, bc.Destination.BilledMinutes, bc.Destination.CostCents = int64p(61), int64p(2), int64p(4)
		bc.TotalCostCents, bc.BalanceCents = int64p(10), int64p(990)
	}
	return bc
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/cli/calls":
		_ = json.NewDecoder(r.Body).Decode(&f.posted)
		if f.states == nil {
			w.WriteHeader(http.StatusConflict)
			_, _ = w.Write([]byte(`{"error":{"code":"caller_id_required","message":"verify one: run ` + "`moby caller-id request <your number>`" + `"}}`))
			return
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(f.bridge(wire.BridgeRingingOwner))
	case r.Method == http.MethodGet && r.URL.Path == "/api/cli/calls/call_b":
		f.gets++
		if f.onGet != nil {
			f.onGet(f.gets)
		}
		status := f.states[min(f.gets-1, len(f.states)-1)]
		if f.hangups > 0 {
			status = wire.BridgeEnded // hung up: billed
		}
		_ = json.NewEncoder(w).Encode(f.bridge(status))
	case r.Method == http.MethodPost && r.URL.Path == "/api/cli/calls/call_b/hangup":
		f.hangups++
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(f.bridge(wire.BridgeInProgress))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func options(srv *httptest.Server, ios *iostreams.IOStreams) *CallOptions {
	return &CallOptions{IO: ios, HTTPClient: func() (*http.Client, error) { return srv.Client(), nil },
		Host: func() (string, error) { return srv.URL, nil }, Token: func() (string, cmdutil.TokenSource, error) { return "t", cmdutil.SourceEnv, nil },
		Number: "020 7946 0123", PollInterval: time.Millisecond, HangUpWait: 5 * time.Second}
}

// Without a verified caller ID: exit code 3, and the server's message on
// how to verify one.
func TestCallRun_NoVerifiedCallerIDExitsWithPrecondition(t *testing.T) {
	srv := httptest.NewServer(&fakeAPI{})
	defer srv.Close()
	ios, _, stdout, _ := iostreams.Test()
	err := callRun(context.Background(), options(srv, ios))
	if cmdutil.ExitCodeFor(err) != cmdutil.ExitPrecondition || !strings.Contains(err.Error(), "moby caller-id request") || stdout.Len() != 0 {
		t.Fatalf("err %v (exit %d), stdout %q; want exit 3 saying how to verify", err, cmdutil.ExitCodeFor(err), stdout.String())
	}
}

// A call from ringing to billed, on a pipe: how the number was read (the
// country was guessed), one plain line per state, then each leg's cost,
// the total and the balance on stdout.
func TestCallRun_ShowsEachStateThenTheBill(t *testing.T) {
	api := &fakeAPI{states: []string{wire.BridgeRingingOwner, wire.BridgeRingingDestination, wire.BridgeInProgress, wire.BridgeInProgress, wire.BridgeEnded}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	ios, _, stdout, stderr := iostreams.Test()
	if err := callRun(context.Background(), options(srv, ios)); err != nil {
		t.Fatal(err)
	}
	if api.posted.To != "020 7946 0123" || api.posted.Country != "" {
		t.Fatalf("posted %+v", api.posted)
	}
	want := "Read 020 7946 0123 as +442079460123 (GB, the country of your caller ID); pass --country to read it elsewhere.\n" +
		"Ringing your phone +447400123456…\nCalling +442079460123 from +447400123456…\nTalking with +442079460123\n"
	if stderr.String() != want {
		t.Fatalf("stderr %q\nwant   %q", stderr.String(), want)
	}
	out := stdout.String()
	want = "Your phone  +447400123456  completed  70 s  2 min × $0.03  $0.06\n" +
		"Called      +442079460123  completed  61 s  2 min × $0.02  $0.04\n" +
		"Total: $0.10\nBalance: $9.90\n"
	if out != want {
		t.Fatalf("stdout %q\nwant   %q", out, want)
	}
	for _, line := range []string{"Total: $0.10\n", "Balance: $9.90\n"} {
		if !strings.Contains(out, line) {
			t.Fatalf("stdout %q lacks %q", out, line)
		}
	}
}

// Ctrl-C while talking hangs up, waits for the final bill and prints it;
// --json prints the billed call.
func TestCallRun_CtrlCHangsUpAndWaitsForTheBill(t *testing.T) {
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	// The call would talk on (every GET says in progress) until hung up.
	api := &fakeAPI{states: []string{wire.BridgeInProgress}}
	api.onGet = func(n int) {
		if n == 2 {
			interrupt() // Ctrl-C
		}
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	ios, _, stdout, stderr := iostreams.Test()
	opts := options(srv, ios)
	opts.Exporter = cmdutil.JSONExporter{}
	opts.Number = "+44 20 7946 0123"
	if err := callRun(ctx, opts); err != nil {
		t.Fatal(err)
	}
	var bc wire.BridgeCall
	if api.hangups != 1 || !strings.Contains(stderr.String(), "Hanging up") || json.Unmarshal(stdout.Bytes(), &bc) != nil ||
		bc.Status != wire.BridgeEnded || *bc.TotalCostCents != 10 {
		t.Fatalf("%d hang-ups; stderr %q; stdout %q", api.hangups, stderr.String(), stdout.String())
	}
	if strings.Contains(stderr.String(), "Read ") {
		t.Fatalf("a number in full international form needs no explaining: %q", stderr.String())
	}
}
