package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/internal/wire"
)

// The calling benchmarks of docs/BENCHMARKS.md (scripts/bench-calls.sh
// runs them): whole call lifecycles through the real API, webhooks, Call
// workflow and ledger, next to a bare three-activity workflow on the same
// Temporal server in the same run.

// benchConcurrency is the load: 8 calls at once.
const benchConcurrency = 8

// BenchmarkCallLifecycle runs b.N calls, 8 at a time: authorise (POST
// /api/calls), the voice webhook, in-progress, completed after 61 s of
// talk (2 minutes billed), and the workflow's bill. It reports calls/s and
// the p50/p99 of POST /api/calls and of the voice webhook under that load.
func BenchmarkCallLifecycle(b *testing.B) {
	// Request logs would interleave with the benchmark's result lines.
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer slog.SetDefault(prev)
	for _, db := range []struct {
		name string
		open func(testing.TB) *gorm.DB
	}{{"sqlite", testenv.SQLite}, {"postgres", testenv.Postgres}} {
		b.Run("db="+db.name, func(b *testing.B) {
			s := newCreditsServer(b, db.open(b))
			// One caller per call, so the per-user attempt limit (10 a
			// minute) is not what is measured.
			callers := make([]caller, b.N)
			for i := range callers {
				callers[i] = s.caller(fmt.Sprintf("bench-%d@example.com", i), 10_000)
			}
			hooks := providers.NewSandboxWebhooks(s.URL, s.cfg.EffectiveTwilioAuthToken(), "", nil)
			var authLat, voiceLat latencies
			var next atomic.Int64
			var wg sync.WaitGroup
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			for range benchConcurrency {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := int(next.Add(1)) - 1; i < b.N; i = int(next.Add(1)) - 1 {
						c := callers[i]
						t0 := time.Now()
						code, body := c.post("/api/calls", wire.NewCall{To: "+14155550100"})
						authLat.add(time.Since(t0))
						if code != http.StatusCreated {
							b.Errorf("authorise: %d %s", code, body)
							return
						}
						var call wire.Call
						_ = json.Unmarshal(body, &call)
						voice := url.Values{"CallSid": {"CAp" + call.CallID}, "CallId": {call.CallID}, "From": {"client:" + fmt.Sprintf("user_%d", c.user.ID)}}
						t0 = time.Now()
						st, _, err := hooks.CallTwilio(ctx, providers.VoiceWebhookPath, voice)
						voiceLat.add(time.Since(t0))
						if err != nil || st != http.StatusOK {
							b.Errorf("voice webhook: %d %v", st, err)
							return
						}
						path := "/api/webhooks/twilio/status?call=" + call.CallID
						for _, form := range []url.Values{
							{"CallSid": {"CAc" + call.CallID}, "CallStatus": {"in-progress"}, "SequenceNumber": {"2"}},
							{"CallSid": {"CAc" + call.CallID}, "CallStatus": {"completed"}, "CallDuration": {"61"}, "SequenceNumber": {"3"}},
						} {
							if st, err := hooks.DeliverTwilio(ctx, path, form); err != nil || st >= 300 {
								b.Errorf("status callback: %d %v", st, err)
								return
							}
						}
						if res := s.waitCall(call.CallID); res.BilledMinutes != 2 {
							b.Errorf("call %s billed %+v, want 2 minutes", call.CallID, res)
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
			authLat.report(b, "authorize")
			voiceLat.report(b, "voice")
		})
	}
}

// BenchmarkCallAuthorizeAndVoice measures the two latency budgets alone,
// 8 requests at a time: b.N authorisations (POST /api/calls), then the
// voice webhook for each of those calls. Calls are left dialing (the
// benchmark's server goes away with it).
func BenchmarkCallAuthorizeAndVoice(b *testing.B) {
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer slog.SetDefault(prev)
	s := newCreditsServer(b, testenv.Postgres(b))
	callers := make([]caller, b.N)
	for i := range callers {
		callers[i] = s.caller(fmt.Sprintf("bench-av-%d@example.com", i), 10_000)
	}
	hooks := providers.NewSandboxWebhooks(s.URL, s.cfg.EffectiveTwilioAuthToken(), "", nil)
	ids := make([]string, b.N)
	var authLat, voiceLat latencies
	run := func(each func(i int)) {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range benchConcurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1)) - 1; i < b.N; i = int(next.Add(1)) - 1 {
					each(i)
				}
			}()
		}
		wg.Wait()
	}
	b.ResetTimer()
	run(func(i int) {
		t0 := time.Now()
		code, body := callers[i].post("/api/calls", wire.NewCall{To: "+14155550100"})
		authLat.add(time.Since(t0))
		var call wire.Call
		if code != http.StatusCreated || json.Unmarshal(body, &call) != nil {
			b.Errorf("authorise: %d %s", code, body)
			return
		}
		ids[i] = call.CallID
	})
	run(func(i int) {
		voice := url.Values{"CallSid": {"CAp" + ids[i]}, "CallId": {ids[i]}, "From": {"client:" + fmt.Sprintf("user_%d", callers[i].user.ID)}}
		t0 := time.Now()
		st, _, err := hooks.CallTwilio(context.Background(), providers.VoiceWebhookPath, voice)
		voiceLat.add(time.Since(t0))
		if err != nil || st != http.StatusOK {
			b.Errorf("voice webhook: %d %v", st, err)
		}
	})
	b.StopTimer()
	authLat.report(b, "authorize")
	voiceLat.report(b, "voice")
}

// benchNoop is the reference's activity: it does nothing, so the
// reference measures Temporal alone.
func benchNoop(context.Context, int) (int, error) { return 0, nil }

// benchBareWorkflow is the reference: three activities in sequence.
func benchBareWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}})
	for i := range 3 {
		if err := workflow.ExecuteActivity(ctx, benchNoop, i).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkBareThreeActivityWorkflow is the reference for
// BenchmarkCallLifecycle: the same server, the same concurrency, started
// and awaited the same way, with no API, webhooks or database.
func BenchmarkBareThreeActivityWorkflow(b *testing.B) {
	tc := testenv.Temporal(b).Client(b)
	queue := fmt.Sprintf("bench-bare-%d", time.Now().UnixNano())
	w := worker.New(tc, queue, worker.Options{})
	w.RegisterWorkflow(benchBareWorkflow)
	w.RegisterActivity(benchNoop)
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range benchConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
				run, err := tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: fmt.Sprintf("%s-%d", queue, i), TaskQueue: queue}, benchBareWorkflow)
				if err == nil {
					err = run.Get(context.Background(), nil)
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "workflows/s")
}

// latencies collects request times from several goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	at := func(p float64) float64 {
		return float64(l.d[min(len(l.d)-1, int(p*float64(len(l.d))))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), name+"-p50-ms")
	b.ReportMetric(at(0.99), name+"-p99-ms")
	b.ReportMetric(float64(l.d[len(l.d)-1].Microseconds())/1000, name+"-max-ms")
}
