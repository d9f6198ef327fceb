package rates

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func baseRates() []models.Rate {
	return []models.Rate{
		{Prefix: "1", ISO: "US", Country: "United States", Destination: "Landline or mobile", IndividualCents: 2, CompanyCents: 2},
		{Prefix: "33", ISO: "FR", Country: "France", Destination: "Landline", IndividualCents: 2, CompanyCents: 2},
		{Prefix: "336", ISO: "FR", Country: "France", Destination: "Mobile", IndividualCents: 6, CompanyCents: 6},
		{Prefix: "44", ISO: "GB", Country: "United Kingdom", Destination: "Landline", IndividualCents: 2, CompanyCents: 2},
	}
}

func storedIDs(t *testing.T, db *gorm.DB) map[string]int64 {
	t.Helper()
	var rs []models.Rate
	if err := db.Find(&rs).Error; err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, r := range rs {
		ids[r.Prefix] = r.ID
	}
	return ids
}

func TestReplace_AddsUpdatesRemovesAndCounts(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		res, err := Replace(ctx, db, baseRates())
		if err != nil {
			t.Fatal(err)
		}
		if res != (ReplaceResult{Added: 4}) {
			t.Fatalf("first Replace = %+v, want 4 added", res)
		}
		before := storedIDs(t, db)

		next := baseRates()
		next[2].IndividualCents, next[2].CompanyCents = 7, 6 // 336 changes price
		// 44 goes, 49 comes.
		next = append(next[:3], models.Rate{
			Prefix: "49", ISO: "DE", Country: "Germany", Destination: "Landline", IndividualCents: 2, CompanyCents: 2,
		})
		res, err = Replace(ctx, db, next)
		if err != nil {
			t.Fatal(err)
		}
		if want := (ReplaceResult{Added: 1, Updated: 1, Removed: 1, Unchanged: 2}); res != want {
			t.Fatalf("second Replace = %+v, want %+v", res, want)
		}

		tab, err := Load(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if tab.Len() != 4 {
			t.Errorf("Len = %d, want 4", tab.Len())
		}
		if r, _ := tab.Lookup("+33612345678"); r.IndividualCents != 7 || r.CompanyCents != 6 {
			t.Errorf("336 = %+v, want the new price", r)
		}
		if r, ok := tab.Lookup("+442071234567"); ok {
			t.Errorf("44 still priced: %+v", r)
		}
		if r, ok := tab.Lookup("+4930123456"); !ok || r.ISO != "DE" {
			t.Errorf("49 = %+v, %v", r, ok)
		}
		after := storedIDs(t, db)
		for _, p := range []string{"1", "33", "336"} {
			if after[p] != before[p] {
				t.Errorf("prefix %s changed id %d -> %d: rows must be updated in place", p, before[p], after[p])
			}
		}

		res, err = Replace(ctx, db, next)
		if err != nil {
			t.Fatal(err)
		}
		if res != (ReplaceResult{Unchanged: 4}) {
			t.Fatalf("repeated Replace = %+v, want all 4 unchanged", res)
		}
	})
}

func TestReplace_RefusesBadInputAndWritesNothing(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		if _, err := Replace(ctx, db, baseRates()); err != nil {
			t.Fatal(err)
		}
		if _, err := Replace(ctx, db, nil); !errors.Is(err, ErrNoRates) {
			t.Errorf("empty: %v, want ErrNoRates", err)
		}
		dup := append(baseRates(), baseRates()[0])
		if _, err := Replace(ctx, db, dup); !errors.Is(err, ErrInvalidRates) {
			t.Errorf("duplicate: %v, want ErrInvalidRates", err)
		}
		bad := baseRates()
		bad[1].CompanyCents = 9
		if _, err := Replace(ctx, db, bad); !errors.Is(err, ErrInvalidRates) {
			t.Errorf("company dearer: %v, want ErrInvalidRates", err)
		}
		tab, err := Load(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if tab.Len() != 4 {
			t.Errorf("Len = %d after refused replaces, want 4", tab.Len())
		}
	})
}

func TestSeedIfEmpty_SeedsOnceThenLeavesRatesAlone(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		seeded, err := SeedIfEmpty(ctx, db)
		if err != nil || !seeded {
			t.Fatalf("first SeedIfEmpty = %v, %v; want true", seeded, err)
		}
		def, _ := Default()
		tab, err := Load(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if tab.Len() != len(def) {
			t.Fatalf("Len = %d, want %d", tab.Len(), len(def))
		}
		if r, ok := tab.Lookup("+33612345678"); !ok || r.Prefix != "336" {
			t.Errorf("Lookup after seeding = %+v, %v", r, ok)
		}

		if _, err := Replace(ctx, db, baseRates()); err != nil {
			t.Fatal(err)
		}
		seeded, err = SeedIfEmpty(ctx, db)
		if err != nil || seeded {
			t.Fatalf("SeedIfEmpty on a filled table = %v, %v; want false", seeded, err)
		}
		if tab, _ := Load(ctx, db); tab.Len() != 4 {
			t.Errorf("SeedIfEmpty overwrote reloaded rates: Len = %d", tab.Len())
		}

		res, err := Replace(ctx, db, def)
		if err != nil {
			t.Fatal(err)
		}
		if res.Added+res.Updated+res.Unchanged != len(def) || res.Removed != 0 {
			t.Errorf("Replace back to defaults = %+v, want %d rates kept or added", res, len(def))
		}
	})
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestCache_PicksUpAReplaceAfterTTL(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		if _, err := Replace(ctx, db, baseRates()); err != nil {
			t.Fatal(err)
		}
		clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		cache := NewCache(db, time.Minute)
		cache.now = clock.Now

		price := func() int64 {
			t.Helper()
			tab, err := cache.Table(ctx)
			if err != nil {
				t.Fatal(err)
			}
			r, ok := tab.Lookup("+33612345678")
			if !ok {
				t.Fatal("no rate for +33612345678")
			}
			return r.IndividualCents
		}
		if got := price(); got != 6 {
			t.Fatalf("price = %d, want 6", got)
		}

		// Another process reloads the rates.
		next := baseRates()
		next[2].IndividualCents = 9
		if _, err := Replace(ctx, db, next); err != nil {
			t.Fatal(err)
		}
		clock.Advance(59 * time.Second)
		if got := price(); got != 6 {
			t.Errorf("price within ttl = %d, want the cached 6", got)
		}
		clock.Advance(time.Second)
		if got := price(); got != 9 {
			t.Errorf("price after ttl = %d, want 9", got)
		}

		next[2].IndividualCents = 11
		if _, err := Replace(ctx, db, next); err != nil {
			t.Fatal(err)
		}
		cache.Invalidate()
		if got := price(); got != 11 {
			t.Errorf("price after Invalidate = %d, want 11", got)
		}
	})
}

func TestCache_ServesConcurrentCallers(t *testing.T) {
	db := testenv.SQLite(t)
	ctx := context.Background()
	if _, err := SeedIfEmpty(ctx, db); err != nil {
		t.Fatal(err)
	}
	cache := NewCache(db, 0) // reload on every call: the most contention
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 5 {
				tab, err := cache.Table(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if _, ok := tab.Lookup("+12015550123"); !ok {
					t.Error("no rate for +12015550123")
				}
				if i%2 == 0 {
					cache.Invalidate()
				}
			}
		})
	}
	wg.Wait()
}
