package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mobayilo/mobayilo/internal/cli/cmdutil"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/internal/wire"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

// bridgeCaller is an individual with money, a CLI token and, when phone is
// set, that number verified as caller ID (the verification itself is
// tested in caller_id_test.go).
type bridgeCaller struct {
	s     *creditsServer
	user  models.User
	token string
}

func (s *creditsServer) bridgeCaller(email string, cents int64, phone string) bridgeCaller {
	s.t.Helper()
	ctx := context.Background()
	u, _, tok := s.user(email, models.AccountIndividual)
	if _, err := s.ledger.Post(ctx, ledger.Posting{AccountID: u.AccountID, Kind: models.EntryBonus, AmountCents: cents,
		IdempotencyKey: "seed-" + email, Actor: "test"}); err != nil {
		s.t.Fatal(err)
	}
	if phone != "" {
		now := time.Now().UTC()
		if err := s.db.Create(&models.CallerID{AccountID: u.AccountID, UserID: u.ID, E164: phone, Country: "US",
			State: workflows.CallerIDVerified, VerifiedAt: &now, CreatedAt: now, UpdatedAt: now}).Error; err != nil {
			s.t.Fatal(err)
		}
	}
	return bridgeCaller{s: s, user: u, token: tok}
}

func (b bridgeCaller) req(method, path string, body any) (int, []byte) {
	b.s.t.Helper()
	var buf bytes.Buffer
	if body != nil {
		_ = json.NewEncoder(&buf).Encode(body)
	}
	code, _, out := b.s.do(method, path, &buf, map[string]string{"Authorization": "Bearer " + b.token, "Content-Type": "application/json"}, nil)
	return code, out
}

func (b bridgeCaller) call(to, country string) wire.BridgeCall {
	b.s.t.Helper()
	code, body := b.req(http.MethodPost, "/api/cli/calls", wire.NewCall{To: to, Country: country})
	var bc wire.BridgeCall
	if code != http.StatusCreated || json.Unmarshal(body, &bc) != nil {
		b.s.t.Fatalf("POST /api/cli/calls %s = %d %s", to, code, body)
	}
	return bc
}

// await polls GET /api/cli/calls/:id until done holds.
func (b bridgeCaller) await(id string, done func(wire.BridgeCall) bool) wire.BridgeCall {
	b.s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body := b.req(http.MethodGet, "/api/cli/calls/"+id, nil)
		var bc wire.BridgeCall
		if code != http.StatusOK || json.Unmarshal(body, &bc) != nil {
			b.s.t.Fatalf("GET /api/cli/calls/%s = %d %s", id, code, body)
		}
		if done(bc) {
			return bc
		}
		if time.Now().After(deadline) {
			b.s.t.Fatalf("bridge call %s: %+v", id, bc)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ended(bc wire.BridgeCall) bool { return bc.Status == wire.BridgeEnded }

// writes counts what a call writes: calls, holds and ledger entries.
func (s *creditsServer) callWrites() int64 {
	s.t.Helper()
	var n, total int64
	for _, m := range []any{&models.Call{}, &models.Hold{}, &models.LedgerEntry{}, &models.CallEvent{}} {
		s.db.Model(m).Count(&n)
		total += n
	}
	return total
}

// Without a verified caller ID, `moby call` is refused with 409
// caller_id_required, a message that says how to verify one, and nothing
// written: no call, no hold, no entry.
func TestBridgeCall_RefusedWithoutAVerifiedCallerIDWritesNothing(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	b := s.bridgeCaller("bridge-nocid@example.com", 1000, "")
	before := s.callWrites()
	code, body := b.req(http.MethodPost, "/api/cli/calls", wire.NewCall{To: "+14155550100"})
	var eb wire.ErrorBody
	if code != http.StatusConflict || json.Unmarshal(body, &eb) != nil || eb.Error.Code != wire.CodeCallerIDRequired ||
		!strings.Contains(eb.Error.Message, "moby caller-id request") {
		t.Fatalf("POST /api/cli/calls = %d %s", code, body)
	}
	if after := s.callWrites(); after != before {
		t.Fatalf("%d rows written by a refused call", after-before)
	}
	if acct, _ := s.ledger.Account(context.Background(), b.user.AccountID); acct.HeldCents != 0 || acct.BalanceCents != 1000 {
		t.Fatalf("account %+v after a refusal", acct)
	}
}

// The whole bridge in the sandbox on real Temporal: Twilio (the carrier)
// rings the owner's verified phone, which answers; our signed bridge
// webhook dials the destination with the verified number as caller ID; the
// callee hangs up after 5 s, which ends the owner's call too. Each leg is
// billed one started minute at its own rate, exactly once.
func TestBridgeCall_SandboxRingsTheOwnerThenTheDestinationAndBillsBothLegs(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	b := s.bridgeCaller("bridge-ok@example.com", 1000, providers.SandboxNumberTalks)
	bc := b.call("(415) 555-0106", "US")
	pa, pb := bc.Owner.PricePerMinuteCents, bc.Destination.PricePerMinuteCents
	if bc.To != providers.SandboxNumberHangsUpAfter || bc.Country != "US" || bc.CountryGuessed || bc.CallerID != providers.SandboxNumberTalks ||
		bc.Owner.To != providers.SandboxNumberTalks || pa <= 0 || pb <= 0 || bc.MaxMinutes != min(1000/(pa+pb), int64(s.cfg.MaxCallMinutes)) {
		t.Fatalf("answer %+v", bc)
	}
	acct, _ := s.ledger.Account(context.Background(), b.user.AccountID)
	if acct.HeldCents != bc.MaxMinutes*(pa+pb) {
		t.Fatalf("held %d, want both legs' %d minutes: %d", acct.HeldCents, bc.MaxMinutes, bc.MaxMinutes*(pa+pb))
	}
	talking := b.await(bc.CallID, func(bc wire.BridgeCall) bool { return bc.Status == wire.BridgeInProgress || ended(bc) })
	if talking.Status != wire.BridgeInProgress || talking.Owner.AnsweredAt == nil {
		t.Fatalf("while talking %+v", talking)
	}
	done := b.await(bc.CallID, ended)
	if *done.Owner.BilledMinutes != 1 || *done.Owner.CostCents != pa || *done.Destination.BilledMinutes != 1 || *done.Destination.CostCents != pb ||
		*done.TotalCostCents != pa+pb || *done.BalanceCents != 1000-pa-pb || done.Destination.Status != workflows.CallCompleted {
		t.Fatalf("bill %+v", done)
	}
	var dest models.Call
	s.db.Take(&dest, "id = ?", bc.CallID)
	if dest.CallerID != providers.SandboxNumberTalks || dest.Leg != models.LegDestination || dest.TwilioCallSID == "" {
		t.Fatalf("destination leg %+v", dest)
	}
	var charges int64
	s.db.Model(&models.LedgerEntry{}).Where("account_id = ? AND kind = ?", b.user.AccountID, models.EntryCallCharge).Count(&charges)
	if charges != 2 {
		t.Fatalf("%d call charges, want one per leg", charges)
	}
	if ds, err := s.ledger.Verify(context.Background()); err != nil || len(ds) != 0 {
		t.Fatalf("ledger verify: %v %v", ds, err)
	}
	testenv.RecordHistory(t, testenv.WorkflowHistory(t, s.temporal, workflows.CallWorkflowID(done.Owner.CallID), ""), "call-bridge-owner-leg")
	testenv.RecordHistory(t, testenv.WorkflowHistory(t, s.temporal, workflows.CallWorkflowID(bc.CallID), ""), "call-bridge-destination-leg")
}

// The owner's phone is busy: the owner leg costs nothing and the
// destination leg is canceled with its hold released, never dialed.
func TestBridgeCall_OwnerNotAnsweringReleasesTheDestinationFree(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	b := s.bridgeCaller("bridge-busy@example.com", 1000, providers.SandboxNumberBusy)
	bc := b.call("+1 415 555 0100", "")
	done := b.await(bc.CallID, ended)
	if done.Owner.Status != workflows.CallBusy || done.Destination.Status != workflows.CallCanceled || *done.TotalCostCents != 0 || *done.BalanceCents != 1000 {
		t.Fatalf("bill %+v", done)
	}
	if acct, _ := s.ledger.Account(context.Background(), b.user.AccountID); acct.HeldCents != 0 {
		t.Fatalf("%d still held", acct.HeldCents)
	}
	testenv.RecordHistory(t, testenv.WorkflowHistory(t, s.temporal, workflows.CallWorkflowID(done.Owner.CallID), ""), "call-bridge-owner-busy")
}

// Hang up (Ctrl-C) while both talk: the owner leg hangs its Twilio call up,
// which ends the destination leg; both are billed what they talked.
func TestBridgeCall_HangUpEndsBothLegsAndBillsThem(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	b := s.bridgeCaller("bridge-hangup@example.com", 1000, providers.SandboxNumberTalks)
	bc := b.call("415-555-0100", "")
	if !bc.CountryGuessed || bc.Country != "US" {
		t.Fatalf("a national number without --country: %+v; want it read in the caller ID's country, guessed", bc)
	}
	b.await(bc.CallID, func(bc wire.BridgeCall) bool { return bc.Status == wire.BridgeInProgress })
	time.Sleep(1500 * time.Millisecond) // talk a moment: a zero-second leg is free
	if code, body := b.req(http.MethodPost, "/api/cli/calls/"+bc.CallID+"/hangup", nil); code != http.StatusAccepted {
		t.Fatalf("hangup = %d %s", code, body)
	}
	done := b.await(bc.CallID, ended)
	pa, pb := bc.Owner.PricePerMinuteCents, bc.Destination.PricePerMinuteCents
	if done.Owner.Status != workflows.CallCompleted || done.Destination.Status != workflows.CallCompleted || *done.TotalCostCents != pa+pb ||
		*done.BalanceCents != 1000-pa-pb {
		t.Fatalf("bill %+v", done)
	}
	testenv.RecordHistory(t, testenv.WorkflowHistory(t, s.temporal, workflows.CallWorkflowID(done.Owner.CallID), ""), "call-bridge-owner-hung-up")
	// Another account's id is unknown here.
	other := s.bridgeCaller("bridge-other@example.com", 1000, "")
	if code, _ := other.req(http.MethodGet, "/api/cli/calls/"+bc.CallID, nil); code != http.StatusNotFound {
		t.Fatalf("another account's GET = %d, want 404", code)
	}
}

// `moby call` against the real API: refused with exit code 3 without a
// verified caller ID; with one, a national number is read in the caller
// ID's country (and moby says so), the call runs to its end, and moby
// prints each leg's cost, the exact total and the new balance.
func TestMoby_CallPrintsTheBillOrExitsThreeWithoutCallerID(t *testing.T) {
	s := newCreditsServer(t, testenv.SQLite(t))
	none := s.bridgeCaller("moby-call-none@example.com", 1000, "")
	_, errOut, code := runMoby(t, s.URL, none.token, "call", "+1 415 555 0106")
	if code != cmdutil.ExitPrecondition || !strings.Contains(errOut, "moby caller-id request") {
		t.Fatalf("moby call without a caller ID = %d %q; want exit 3 saying how to verify", code, errOut)
	}

	b := s.bridgeCaller("moby-call@example.com", 1000, providers.SandboxNumberTalks)
	out, errOut, code := runMoby(t, s.URL, b.token, "call", "415", "555-0106")
	if code != 0 {
		t.Fatalf("moby call = %d %q %q", code, out, errOut)
	}
	var legs []models.Call
	s.db.Where("account_id = ?", b.user.AccountID).Find(&legs)
	var total int64
	for _, l := range legs {
		if l.CostCents == nil {
			t.Fatalf("leg %s unbilled after moby call returned", l.ID)
		}
		total += *l.CostCents
	}
	if len(legs) != 2 || total == 0 {
		t.Fatalf("%d legs costing %d", len(legs), total)
	}
	if !strings.Contains(errOut, "Read 415 555-0106 as +14155550106 (US, the country of your caller ID)") {
		t.Fatalf("stderr %q; want how the number was read", errOut)
	}
	if !strings.Contains(out, "Total: "+money.Format(total)+"\n") || !strings.Contains(out, "Balance: "+money.Format(1000-total)+"\n") {
		t.Fatalf("stdout %q; want total %s and balance %s", out, money.Format(total), money.Format(1000-total))
	}
}

// The bridge webhook is signed like every Twilio webhook: a bad signature
// is refused with 403 and nothing is claimed.
func TestBridgeWebhook_RefusesABadSignature(t *testing.T) {
	s := newServer(t, testenv.SQLite(t), map[string]string{"TWILIO_AUTH_TOKEN": "twilio_secret"})
	form := url.Values{"CallSid": {"CA0123"}, "CallStatus": {"in-progress"}}
	path := "/api/webhooks/twilio/bridge?bridge=call_x"
	bad := providers.SignTwilio("other", s.cfg.PublicBaseURL+path, form)
	before := countRows(t, s.db)
	if code := postRaw(t, s.URL+path, "application/x-www-form-urlencoded", form.Encode(), map[string]string{"X-Twilio-Signature": bad}); code != http.StatusForbidden {
		t.Fatalf("bad signature = %d, want 403", code)
	}
	if after := countRows(t, s.db); after != before {
		t.Fatalf("%d rows written on a refused webhook", after-before)
	}
}
