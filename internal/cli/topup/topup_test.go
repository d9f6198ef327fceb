package topup

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
	"github.com/mobayilo/mobayilo/internal/money"
)

func TestNewCmdTopUp_RefusesLessThanFiveDollarsAsAUsageError(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := cmdutil.NewFactoryWith(cmdutil.NewBuildInfo("test", "", ""), ios, func(string) string { return "" })
	ran := false
	cmd := NewCmdTopUp(f, func(*TopUpOptions) error { ran = true; return nil })
	cmd.SetArgs([]string{"4.99"})
	err := cmd.Execute()
	if ran || cmdutil.ExitCodeFor(err) != cmdutil.ExitUsage || !strings.Contains(err.Error(), "minimum top-up is $5.00") {
		t.Fatalf("moby topup 4.99: ran %v, err %v", ran, err)
	}
	cmd = NewCmdTopUp(f, func(o *TopUpOptions) error { ran = o.AmountCents == 500 && o.Wait; return nil })
	cmd.SetArgs([]string{"5", "--wait"})
	if err := cmd.Execute(); err != nil || !ran {
		t.Fatalf("moby topup 5 --wait: ran %v, err %v", ran, err)
	}
}

func TestTopUpRun_WaitPrintsTheLinkThenTheNewBalance(t *testing.T) {
	var polls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/cli/topups":
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			if body["amount_cents"] != float64(500) {
				w.WriteHeader(422)
				return
			}
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"id":"tu_1","status":"awaiting_payment","amount_cents":500,"amount":"$5.00","checkout_url":"https://pay.test/cs_1","balance_cents":0}`))
		case r.URL.Path == "/api/cli/topups/tu_1":
			status, bal := "awaiting_payment", 0
			if polls.Add(1) >= 3 {
				status, bal = "succeeded", 500
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"id": "tu_1", "status": status, "amount_cents": 500, "amount": "$5.00", "balance_cents": bal})
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	ios, _, stdout, stderr := iostreams.Test()
	opened := ""
	opts := &TopUpOptions{IO: ios, HTTPClient: func() (*http.Client, error) { return srv.Client(), nil },
		Host: func() (string, error) { return srv.URL, nil }, Token: func() (string, cmdutil.TokenSource, error) { return "t", cmdutil.SourceEnv, nil },
		OpenBrowser: func(u string) error { opened = u; return errors.New("no display") },
		AmountCents: 500, Open: true, Wait: true, PollInterval: time.Millisecond, WaitTimeout: 5 * time.Second}
	if err := topupRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if opened != "https://pay.test/cs_1" || stdout.String() != "https://pay.test/cs_1\nBalance: $5.00\n" || !strings.Contains(stderr.String(), "Could not open a browser") {
		t.Fatalf("opened %q; stdout %q; stderr %q", opened, stdout.String(), stderr.String())
	}
	if polls.Load() < 3 {
		t.Fatalf("polled %d times", polls.Load())
	}
}

func TestNewCmdTopUp_RefusalsAreTheSharedTypedErrors(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := cmdutil.NewFactoryWith(cmdutil.NewBuildInfo("test", "", ""), ios, func(string) string { return "" })
	run := func(arg string) error {
		cmd := NewCmdTopUp(f, func(*TopUpOptions) error { t.Fatalf("moby topup %s ran", arg); return nil })
		cmd.SetArgs([]string{arg})
		return cmd.Execute()
	}
	var pe *money.ParseError
	if err := run("5.123"); cmdutil.ExitCodeFor(err) != cmdutil.ExitUsage || !errors.As(err, &pe) || pe.Reason != money.ReasonDecimals {
		t.Errorf("moby topup 5.123: %v; want a usage error naming the decimals", err)
	}
	var ae *money.TopUpAmountError
	if err := run("4"); cmdutil.ExitCodeFor(err) != cmdutil.ExitUsage || !errors.As(err, &ae) || ae.MinCents != money.MinIndividualTopUpCents {
		t.Errorf("moby topup 4: %v; want a usage error with the shared minimum", err)
	}
}
