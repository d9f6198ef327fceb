package ledger_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

// BenchmarkPost measures postings per second on Postgres with 1, 8 and 32
// concurrent writers, spread over many wallets or all on one hot wallet.
// scripts/bench-ledger.sh runs it next to pgbench and prints the ratios.
func BenchmarkPost(b *testing.B) {
	db := testenv.Postgres(b)
	svc := ledger.New(db)
	ctx := context.Background()
	const wallets = 1000
	ids := make([]int64, wallets)
	for i := range ids {
		a := openAccount(b, svc, 1_000_000_000)
		ids[i] = a.ID
	}
	run := 0
	for _, spread := range []string{"many", "hot"} {
		for _, writers := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("wallets=%s/writers=%d", spread, writers), func(b *testing.B) {
				run++
				var next atomic.Int64
				var wg sync.WaitGroup
				errs := make(chan error, writers)
				start := time.Now()
				for w := range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := next.Add(1) - 1
							if i >= int64(b.N) {
								return
							}
							acct := ids[0]
							if spread == "many" {
								acct = ids[(int(i)*7919+w)%wallets]
							}
							_, err := svc.Post(ctx, ledger.Posting{AccountID: acct, Kind: models.EntryCallCharge, AmountCents: -1,
								IdempotencyKey: fmt.Sprintf("bench-%d-%d", run, i), Actor: "bench"})
							if err != nil {
								errs <- err
								return
							}
						}
					}()
				}
				wg.Wait()
				elapsed := time.Since(start)
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "postings/s")
			})
		}
	}
}
