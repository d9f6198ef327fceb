package identity_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/models"
)

func TestListUsers_SearchesByEmailAndPages(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		led := ledger.New(db)
		svc := identity.New(db, led)
		for i := range identity.PageSize + 5 {
			if _, _, err := svc.CreateUser(ctx, identity.NewUser{Email: fmt.Sprintf("user%02d@example.test", i)}); err != nil {
				t.Fatal(err)
			}
		}
		odd, acct, err := svc.CreateUser(ctx, identity.NewUser{Email: "under_score@odd.test"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := led.Post(ctx, ledger.Posting{AccountID: acct.ID, Kind: models.EntryTopUp, AmountCents: 1234, IdempotencyKey: "t", Actor: "system"}); err != nil {
			t.Fatal(err)
		}

		p1, err := svc.ListUsers(ctx, "", 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(p1.Rows) != identity.PageSize || !p1.HasNext || p1.Total != identity.PageSize+6 || p1.Rows[0].User.ID != odd.ID {
			t.Fatalf("page 1: %d rows, next=%v, total=%d, first=%v", len(p1.Rows), p1.HasNext, p1.Total, p1.Rows[0].User.Email)
		}
		if p1.Rows[0].Account.BalanceCents != 1234 || p1.Rows[0].Account.ID != acct.ID {
			t.Fatalf("row carries account %+v", p1.Rows[0].Account)
		}
		p2, _ := svc.ListUsers(ctx, "", 2)
		if len(p2.Rows) != 6 || p2.HasNext {
			t.Fatalf("page 2: %d rows, next=%v", len(p2.Rows), p2.HasNext)
		}
		cases := map[string]int{
			"USER0":        10,
			"user07@":      1,
			"under_":       1, // "_" is literal, not a wildcard
			"user_":        0,
			"%":            0,
			"@odd.test":    1,
			"  Under_Sc  ": 1,
		}
		for q, want := range cases {
			p, err := svc.ListUsers(ctx, q, 1)
			if err != nil || len(p.Rows) != want || p.Total != int64(want) {
				t.Errorf("search %q: %d rows (total %d), %v; want %d", q, len(p.Rows), p.Total, err, want)
			}
		}
	})
}

func TestSetUserStatus_OperatorDisablesAndEnablesAnyoneButThemselves(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := identity.New(db, ledger.New(db))
		as := auth.New(db)
		op, _, _ := svc.CreateUser(ctx, identity.NewUser{Email: "op@mobayilo.test", Admin: true})
		ana, _, _ := svc.CreateUser(ctx, identity.NewUser{Email: "ana@example.test"})
		cookie, _ := as.CreateSession(ctx, ana.ID, "", "")
		tok, _, _ := as.CreateToken(ctx, auth.NewTokenRequest{UserID: ana.ID, Name: "cli", ExpiryDays: 0})
		actor := identity.OperatorActor(op)

		if _, err := svc.SetUserStatus(ctx, actor, op.ID, models.StatusDisabled); !errors.Is(err, identity.ErrCannotDisableSelf) {
			t.Fatalf("operator disabling themselves: %v", err)
		}
		if _, err := svc.SetUserStatus(ctx, actor, 999999, models.StatusDisabled); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("unknown user: %v", err)
		}
		if _, err := svc.SetUserStatus(ctx, actor, ana.ID, "paused"); !errors.Is(err, identity.ErrInvalid) {
			t.Fatalf("unknown status: %v", err)
		}
		ch, err := svc.SetUserStatus(ctx, actor, ana.ID, models.StatusDisabled)
		if err != nil || ch.SessionsEnded != 1 || ch.TokensRevoked != 1 {
			t.Fatalf("disable = %+v, %v", ch, err)
		}
		if _, err := as.SessionPrincipal(ctx, cookie); err == nil {
			t.Fatal("session survived disable")
		}
		if _, err := as.TokenPrincipal(ctx, tok); err == nil {
			t.Fatal("token survived disable")
		}
		if _, err := svc.SetUserStatus(ctx, actor, ana.ID, models.StatusActive); err != nil {
			t.Fatal(err)
		}
		if _, err := as.CreateSession(ctx, ana.ID, "", ""); err != nil {
			t.Fatalf("sign in after enable: %v", err)
		}
		got := auditActions(t, db)
		want := []string{
			fmt.Sprintf("admin:%d user.disable user:%d", op.ID, ana.ID),
			fmt.Sprintf("admin:%d user.enable user:%d", op.ID, ana.ID),
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("audit = %q, want %q", got, want)
		}
	})
}

func TestSetAccountStatus_DisabledAccountIsRefusedEverywhereUntilReEnabled(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		led := ledger.New(db)
		svc := identity.New(db, led)
		as := auth.New(db)
		op, opAcct, _ := svc.CreateUser(ctx, identity.NewUser{Email: "op@mobayilo.test", Admin: true})
		ana, acme := company(t, svc, "ana@acme.test")
		dee := seat(t, db, acme.ID, "dee@acme.test")
		if _, err := led.Post(ctx, ledger.Posting{AccountID: acme.ID, Kind: models.EntryTopUp, AmountCents: 1000, IdempotencyKey: "t0", Actor: "system"}); err != nil {
			t.Fatal(err)
		}
		cookie, _ := as.CreateSession(ctx, dee.ID, "", "")
		tok, _, _ := as.CreateToken(ctx, auth.NewTokenRequest{UserID: ana.ID, Name: "cli", ExpiryDays: 7})
		actor := identity.OperatorActor(op)

		if _, err := svc.SetAccountStatus(ctx, actor, opAcct.ID, models.StatusDisabled); !errors.Is(err, identity.ErrCannotDisableSelf) {
			t.Fatalf("operator disabling their own account: %v", err)
		}
		if _, err := svc.SetAccountStatus(ctx, actor, acme.ID, models.StatusDisabled); err != nil {
			t.Fatal(err)
		}
		if _, err := as.SessionPrincipal(ctx, cookie); !errors.Is(err, auth.ErrDisabled) {
			t.Fatalf("seat's session on a disabled account: %v", err)
		}
		if _, err := as.TokenPrincipal(ctx, tok); !errors.Is(err, auth.ErrDisabled) {
			t.Fatalf("owner's token on a disabled account: %v", err)
		}
		if _, err := as.CreateSession(ctx, ana.ID, "", ""); !errors.Is(err, auth.ErrDisabled) {
			t.Fatalf("signing in to a disabled account: %v", err)
		}
		for _, p := range []ledger.Posting{
			{AccountID: acme.ID, Kind: models.EntryCallCharge, AmountCents: -10, IdempotencyKey: "c1", Actor: identity.UserActor(dee.ID)},
			{AccountID: acme.ID, Kind: models.EntryTopUp, AmountCents: 500, IdempotencyKey: "t1", Actor: identity.UserActor(ana.ID)},
		} {
			if _, err := led.Post(ctx, p); !errors.Is(err, ledger.ErrAccountDisabled) {
				t.Fatalf("%s on a disabled account: %v", p.Kind, err)
			}
		}
		if _, err := led.PlaceHold(ctx, ledger.HoldRequest{AccountID: acme.ID, AmountCents: 10, IdempotencyKey: "h1"}); !errors.Is(err, ledger.ErrAccountDisabled) {
			t.Fatalf("hold on a disabled account: %v", err)
		}

		if _, err := svc.SetAccountStatus(ctx, actor, acme.ID, models.StatusActive); err != nil {
			t.Fatal(err)
		}
		if _, err := as.SessionPrincipal(ctx, cookie); err != nil {
			t.Fatalf("re-enabling must restore the session: %v", err)
		}
		if _, err := as.TokenPrincipal(ctx, tok); err != nil {
			t.Fatalf("re-enabling must restore the token: %v", err)
		}
		if _, err := led.Post(ctx, ledger.Posting{AccountID: acme.ID, Kind: models.EntryCallCharge, AmountCents: -10, IdempotencyKey: "c2", Actor: identity.UserActor(dee.ID)}); err != nil {
			t.Fatalf("charge after re-enabling: %v", err)
		}
		got := auditActions(t, db)
		if len(got) != 2 || got[0] != fmt.Sprintf("admin:%d account.disable account:%d", op.ID, acme.ID) || !strings.Contains(got[1], "account.enable") {
			t.Fatalf("audit = %q", got)
		}
	})
}

func TestInviteSubscriber_MovesWaitingToInvitedOnce(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		svc := identity.New(db, ledger.New(db))
		op, _, _ := svc.CreateUser(ctx, identity.NewUser{Email: "op@mobayilo.test", Admin: true})
		sub := models.Subscriber{Email: "fan@example.test", Status: models.SubscriberWaiting, CreatedAt: time.Now().UTC()}
		if err := db.Create(&sub).Error; err != nil {
			t.Fatal(err)
		}
		list, err := svc.ListSubscribers(ctx, 1)
		if err != nil || len(list.Rows) != 1 || list.Waiting != 1 {
			t.Fatalf("list = %+v, %v", list, err)
		}
		got, invited, err := svc.InviteSubscriber(ctx, identity.OperatorActor(op), sub.ID)
		if err != nil || !invited || got.Status != models.SubscriberInvited || got.InvitedAt == nil {
			t.Fatalf("invite = %+v %v %v", got, invited, err)
		}
		first := *got.InvitedAt
		got, invited, err = svc.InviteSubscriber(ctx, identity.OperatorActor(op), sub.ID)
		if err != nil || invited || got.InvitedAt.Sub(first).Abs() > time.Millisecond {
			t.Fatalf("second invite must change nothing: %+v %v %v", got, invited, err)
		}
		if _, _, err := svc.InviteSubscriber(ctx, identity.OperatorActor(op), 424242); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("unknown subscriber: %v", err)
		}
		var stored models.Subscriber
		db.Take(&stored, sub.ID)
		if stored.Status != models.SubscriberInvited || stored.InvitedAt == nil {
			t.Fatalf("stored = %+v", stored)
		}
		log, err := svc.AuditLog(ctx, 0)
		if err != nil || len(log) != 1 || log[0].Action != "subscriber.invite" || log[0].Actor != fmt.Sprintf("admin:%d", op.ID) {
			t.Fatalf("audit = %+v, %v", log, err)
		}
	})
}

func TestAuditLog_ShowsTheLatestHundredNewestFirst(t *testing.T) {
	testenv.EachDB(t, func(t *testing.T, db *gorm.DB) {
		svc := identity.New(db, ledger.New(db))
		for i := range 105 {
			if err := db.Create(&models.AuditLog{Actor: "test", Action: fmt.Sprintf("a%03d", i), Target: "x", CreatedAt: time.Now().UTC()}).Error; err != nil {
				t.Fatal(err)
			}
		}
		log, err := svc.AuditLog(context.Background(), identity.AuditPageSize)
		if err != nil || len(log) != 100 || log[0].Action != "a104" || log[99].Action != "a005" {
			t.Fatalf("audit log: %d rows, first %q, %v", len(log), log[0].Action, err)
		}
	})
}
