package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

// model is the ledger as the specification says it must behave; the
// conservation checker runs the real service beside it and compares.
type model struct {
	accounts []int64 // db ids
	balance  map[int64]int64
	held     map[int64]int64
	entries  map[string]modelEntry // by idempotency key
	holdKeys map[string]modelHold
	holds    []int64 // db ids, in creation order
	holdByID map[int64]*modelHold
}

type modelEntry struct {
	account int64
	kind    models.EntryKind
	amount  int64
	holdID  int64
}

type modelHold struct {
	id      int64
	account int64
	amount  int64
	status  models.HoldStatus
}

// byteStream feeds operations from fuzz input; past its end it reads zeros.
type byteStream struct {
	b []byte
	i int
}

func (s *byteStream) next() byte {
	if s.i >= len(s.b) {
		return 0
	}
	s.i++
	return s.b[s.i-1]
}
func (s *byteStream) more() bool { return s.i < len(s.b) }

var creditKinds = []models.EntryKind{models.EntryTopUp, models.EntryAutoTopUp, models.EntryRefund, models.EntryBonus}
var debitKinds = []models.EntryKind{models.EntryCallCharge, models.EntryNumberFee}

// runConservation applies the operations encoded in data to svc and to the
// model, failing at the first divergence or broken invariant.
func runConservation(t testing.TB, db *gorm.DB, data []byte, verifyEvery int) {
	ctx := context.Background()
	svc := ledger.New(db)
	m := &model{balance: map[int64]int64{}, held: map[int64]int64{}, entries: map[string]modelEntry{},
		holdKeys: map[string]modelHold{}, holdByID: map[int64]*modelHold{}}
	for range 3 {
		a, err := svc.OpenAccount(ctx, models.AccountIndividual, "fuzz")
		if err != nil {
			t.Fatal(err)
		}
		m.accounts = append(m.accounts, a.ID)
	}
	s := &byteStream{b: data}
	for op := 0; s.more(); op++ {
		code := s.next()
		acct := m.accounts[int(s.next())%len(m.accounts)]
		amount := int64(s.next())%200 + 1
		key := fmt.Sprintf("k%d", s.next()%48)
		desc := ""
		switch code % 6 {
		case 0, 1: // credit or debit posting
			kind := creditKinds[int(code/6)%len(creditKinds)]
			if code%6 == 1 {
				kind = debitKinds[int(code/6)%len(debitKinds)]
				amount = -amount
			}
			overdraft := kind == models.EntryCallCharge && code >= 240
			desc = fmt.Sprintf("post %s %d on %d key %s overdraft=%v", kind, amount, acct, key, overdraft)
			_, err := svc.Post(ctx, ledger.Posting{AccountID: acct, Kind: kind, AmountCents: amount, IdempotencyKey: key, Actor: "fuzz", AllowOverdraft: overdraft})
			want := m.post(acct, kind, amount, key, overdraft)
			expectErr(t, op, desc, err, want)
		case 2: // adjustment in either direction
			if code%12 >= 6 {
				amount = -amount
			}
			desc = fmt.Sprintf("adjust %d on %d key %s", amount, acct, key)
			_, err := svc.Post(ctx, ledger.Posting{AccountID: acct, Kind: models.EntryAdjustment, AmountCents: amount, IdempotencyKey: key, Actor: "fuzz"})
			expectErr(t, op, desc, err, m.post(acct, models.EntryAdjustment, amount, key, false))
		case 3: // place a hold
			hkey := "hold-" + key
			desc = fmt.Sprintf("hold %d on %d key %s", amount, acct, hkey)
			h, err := svc.PlaceHold(ctx, ledger.HoldRequest{AccountID: acct, AmountCents: amount, IdempotencyKey: hkey})
			want := m.placeHold(acct, amount, hkey)
			expectErr(t, op, desc, err, want)
			if err == nil {
				m.recordHold(h.ID, acct, amount, hkey)
			}
		case 4: // capture a hold
			hid := m.pickHold(s.next())
			desc = fmt.Sprintf("capture hold %d for %d key %s", hid, amount, key)
			_, err := svc.CaptureHold(ctx, ledger.CaptureRequest{HoldID: hid, AmountCents: amount, IdempotencyKey: key, Actor: "fuzz"})
			expectErr(t, op, desc, err, m.capture(hid, amount, key))
		case 5: // release a hold
			hid := m.pickHold(s.next())
			desc = fmt.Sprintf("release hold %d", hid)
			_, err := svc.ReleaseHold(ctx, hid)
			expectErr(t, op, desc, err, m.release(hid))
		}
		m.check(t, op, desc, svc)
		if verifyEvery > 0 && op%verifyEvery == 0 {
			mustVerifyClean(t, svc)
		}
	}
	mustVerifyClean(t, svc)
}

func expectErr(t testing.TB, op int, desc string, got, want error) {
	t.Helper()
	if (got == nil) != (want == nil) || (want != nil && !errors.Is(got, want)) {
		t.Fatalf("op %d (%s): err = %v, want %v", op, desc, got, want)
	}
}

func (m *model) post(acct int64, kind models.EntryKind, amount int64, key string, overdraft bool) error {
	if prev, ok := m.entries[key]; ok {
		if prev.account != acct || prev.kind != kind || prev.amount != amount {
			return ledger.ErrIdempotencyConflict
		}
		return nil
	}
	if amount < 0 && !overdraft && m.balance[acct]+amount-m.held[acct] < 0 {
		return ledger.ErrInsufficientFunds
	}
	m.balance[acct] += amount
	m.entries[key] = modelEntry{account: acct, kind: kind, amount: amount}
	return nil
}

func (m *model) placeHold(acct, amount int64, key string) error {
	if prev, ok := m.holdKeys[key]; ok {
		if prev.account != acct || prev.amount != amount {
			return ledger.ErrIdempotencyConflict
		}
		return nil
	}
	if m.balance[acct]-m.held[acct]-amount < 0 {
		return ledger.ErrInsufficientFunds
	}
	m.held[acct] += amount
	return nil
}

func (m *model) recordHold(id, acct, amount int64, key string) {
	if _, ok := m.holdByID[id]; ok {
		return // replay
	}
	h := &modelHold{id: id, account: acct, amount: amount, status: models.HoldActive}
	m.holdKeys[key] = *h
	m.holds = append(m.holds, id)
	m.holdByID[id] = h
}

// pickHold chooses a known hold, or an unknown id now and then.
func (m *model) pickHold(b byte) int64 {
	if len(m.holds) == 0 || b == 255 {
		return 1_000_000 + int64(b)
	}
	return m.holds[int(b)%len(m.holds)]
}

func (m *model) capture(hid, amount int64, key string) error {
	if prev, ok := m.entries[key]; ok {
		if prev.holdID != hid || prev.kind != models.EntryCallCharge || prev.amount != -amount {
			return ledger.ErrIdempotencyConflict
		}
		return nil
	}
	h, ok := m.holdByID[hid]
	switch {
	case !ok:
		return ledger.ErrHoldNotFound
	case h.status != models.HoldActive:
		return ledger.ErrHoldSettled
	case amount > h.amount:
		return ledger.ErrCaptureExceedsHold
	}
	h.status = models.HoldCaptured
	m.held[h.account] -= h.amount
	m.balance[h.account] -= amount
	m.entries[key] = modelEntry{account: h.account, kind: models.EntryCallCharge, amount: -amount, holdID: hid}
	return nil
}

func (m *model) release(hid int64) error {
	h, ok := m.holdByID[hid]
	switch {
	case !ok:
		return ledger.ErrHoldNotFound
	case h.status == models.HoldCaptured:
		return ledger.ErrHoldSettled
	case h.status == models.HoldActive:
		h.status = models.HoldReleased
		m.held[h.account] -= h.amount
	}
	return nil
}

// check compares every account with the model and checks the invariants
// that must hold after every operation, accepted or rejected.
func (m *model) check(t testing.TB, op int, desc string, svc *ledger.Service) {
	t.Helper()
	for _, id := range m.accounts {
		a, err := svc.Account(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if a.BalanceCents != m.balance[id] || a.HeldCents != m.held[id] {
			t.Fatalf("op %d (%s): account %d balance %d held %d, model says %d and %d",
				op, desc, id, a.BalanceCents, a.HeldCents, m.balance[id], m.held[id])
		}
		if a.HeldCents < 0 {
			t.Fatalf("op %d (%s): negative held %d", op, desc, a.HeldCents)
		}
	}
}

func randomOps(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n*5)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// TestLedger_ConservationUnderRandomOperations runs 10,000 random operations
// on each database, checking the model and the invariants after every one.
func TestLedger_ConservationUnderRandomOperations(t *testing.T) {
	n := 10_000
	if testing.Short() {
		n = 1_000
	}
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		runConservation(t, db, randomOps(20261122, n), 250)
	})
}

// FuzzLedgerConservation explores operation sequences on the embedded
// database: go test -fuzz=FuzzLedgerConservation ./internal/ledger/
func FuzzLedgerConservation(f *testing.F) {
	f.Add(randomOps(1, 40))
	f.Add(randomOps(2, 200))
	f.Add([]byte{0, 0, 100, 1, 1, 0, 50, 1, 3, 0, 30, 2, 4, 0, 20, 3, 0, 5, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 5*300 {
			data = data[:5*300]
		}
		runConservation(t, testenv.SQLite(t), data, 0)
	})
}
