package ratelimit_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/ulule/limiter/v3"
	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/ratelimit"
	"github.com/mobayilo/mobayilo/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// Two limiters over one database stand for two API processes: together they
// must allow exactly the limit, not twice it.
func TestStore_LimitHoldsAcrossProcesses(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		a := ratelimit.New(db, "signin", 10, time.Minute)
		b := ratelimit.New(db, "signin", 10, time.Minute)
		var mu sync.Mutex
		allowed := 0
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				l := a
				if i%2 == 1 {
					l = b
				}
				c, err := l.Get(context.Background(), "ip:1.2.3.4")
				if err != nil {
					t.Error(err)
					return
				}
				if !c.Reached {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if allowed != 10 {
			t.Fatalf("%d requests allowed across two processes; want exactly 10", allowed)
		}
		if c, _ := a.Get(context.Background(), "ip:5.6.7.8"); c.Reached || c.Remaining != 9 {
			t.Fatalf("another key must have its own window: %+v", c)
		}
	})
}

func TestStore_WindowExpires(t *testing.T) {
	db := testenv.SQLite(t)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	store := ratelimit.NewStore(db, "poll").WithClock(func() time.Time { return now })
	l := limiter.New(store, limiter.Rate{Limit: 2, Period: time.Minute})
	ctx := context.Background()
	for range 2 {
		if c, _ := l.Get(ctx, "k"); c.Reached {
			t.Fatal("within the limit")
		}
	}
	c, _ := l.Get(ctx, "k")
	if !c.Reached || c.Reset != now.Add(time.Minute).Unix() {
		t.Fatalf("third request: %+v", c)
	}
	if p, _ := l.Peek(ctx, "k"); !p.Reached {
		t.Fatal("peek must see the reached window without counting")
	}
	now = now.Add(59 * time.Second)
	if c, _ := l.Get(ctx, "k"); !c.Reached {
		t.Fatal("the window lasts a full minute")
	}
	now = now.Add(time.Second)
	if c, _ := l.Get(ctx, "k"); c.Reached || c.Remaining != 1 {
		t.Fatalf("after the window: %+v", c)
	}
	if _, err := l.Reset(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if p, _ := l.Peek(ctx, "k"); p.Reached || p.Remaining != 2 {
		t.Fatalf("after reset: %+v", p)
	}
}
