package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/app"
	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/models"
	"github.com/mobayilo/mobayilo/workflows"
)

// openForAdmin opens the configured database for an operator command. On the
// embedded database it migrates, as dev does; on Postgres the schema is
// `mobayilo migrate`'s job.
func openForAdmin(ctx context.Context) (*gorm.DB, error) {
	cfg, err := loadConfig()
	if err != nil {
		return nil, err
	}
	return app.OpenDB(ctx, cfg, cfg.UsesEmbeddedDB())
}

// operator names who ran an admin command, for the audit log.
func operator(flag string) string {
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	if host, err := os.Hostname(); err == nil && host != "" {
		who += "@" + host
	}
	// --actor only adds who the person says they are: the OS account and
	// host that ran the command are always in the record.
	if flag = strings.TrimSpace(flag); flag != "" {
		return fmt.Sprintf("operator:%s (as %s)", who, flag)
	}
	return "operator:" + who
}

func audit(ctx context.Context, db *gorm.DB, actor, action, target, details string) error {
	return db.WithContext(ctx).Create(&models.AuditLog{Actor: actor, Action: action, Target: target, Details: details, CreatedAt: time.Now().UTC()}).Error
}

func newMigrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			if _, err := app.OpenDB(cmd.Context(), cfg, true); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "migrations applied")
			return nil
		},
	}
}

func newUsersCmd() *cobra.Command {
	users := &cobra.Command{Use: "users", Short: "Manage users"}
	var email, password, actor string
	var admin, company, passwordStdin bool
	create := &cobra.Command{
		Use:   "create --email E [--password P | --password-stdin] [--admin] [--company]",
		Short: "Create a user with their own wallet (the first admin of a fresh deployment, say)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if email == "" {
				return &exitError{code: 2, msg: "--email is required"}
			}
			if passwordStdin {
				if password != "" {
					return &exitError{code: 2, msg: "use --password or --password-stdin, not both"}
				}
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && !errors.Is(err, io.EOF) {
					return err
				}
				password = strings.TrimRight(line, "\r\n")
			}
			ctx := cmd.Context()
			db, err := openForAdmin(ctx)
			if err != nil {
				return err
			}
			kind := models.AccountIndividual
			if company {
				kind = models.AccountCompany
			}
			u, acct, err := identity.New(db, ledger.New(db)).CreateUser(ctx, identity.NewUser{Email: email, Password: password, Admin: admin, AccountKind: kind})
			if err != nil {
				return &exitError{code: 1, msg: "users create: " + err.Error()}
			}
			if err := audit(ctx, db, operator(actor), "users.create", fmt.Sprintf("user:%d", u.ID), fmt.Sprintf("email=%s admin=%v kind=%s", u.Email, u.IsAdmin, acct.Kind)); err != nil {
				return err
			}
			role := "user"
			if u.IsAdmin {
				role = "admin"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created %s %d <%s> with %s account %d\n", role, u.ID, u.Email, acct.Kind, acct.ID)
			return nil
		},
	}
	create.Flags().StringVar(&email, "email", "", "email address (required)")
	create.Flags().StringVar(&password, "password", "", "password (optional; prefer --password-stdin, which keeps it out of shell history)")
	create.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	create.Flags().BoolVar(&admin, "admin", false, "make the user an administrator")
	create.Flags().BoolVar(&company, "company", false, "give the user a company wallet instead of an individual one")
	create.Flags().StringVar(&actor, "actor", "", "who is running this, for the audit log (default: your OS user)")
	users.AddCommand(create, newUserStatusCmd(models.StatusDisabled), newUserStatusCmd(models.StatusActive))
	return users
}

// newUserStatusCmd is `users disable` or `users enable`. Disabling a user
// signs them out everywhere and revokes their tokens; --account switches
// their whole account (wallet) instead, for every user on it.
func newUserStatusCmd(st models.Status) *cobra.Command {
	verb, past := "enable", "enabled"
	if st == models.StatusDisabled {
		verb, past = "disable", "disabled"
	}
	var email, actor string
	var account bool
	cmd := &cobra.Command{
		Use:   verb + " --email E [--account]",
		Short: map[string]string{"disable": "Disable a user: no sign-in, no token use, no calls; signs them out and revokes their tokens", "enable": "Re-enable a disabled user (or, with --account, their account)"}[verb],
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if email == "" {
				return &exitError{code: 2, msg: "--email is required"}
			}
			ctx := cmd.Context()
			db, err := openForAdmin(ctx)
			if err != nil {
				return err
			}
			ids := identity.New(db, ledger.New(db))
			u, err := ids.UserByEmail(ctx, email)
			if err != nil {
				return &exitError{code: 1, msg: "users " + verb + ": " + err.Error()}
			}
			who := identity.Actor{Name: operator(actor)}
			out := cmd.OutOrStdout()
			if account {
				a, err := ids.SetAccountStatus(ctx, who, u.AccountID, st)
				if err != nil {
					return &exitError{code: 1, msg: "users " + verb + ": " + err.Error()}
				}
				fmt.Fprintf(out, "%s %s account %d (%s) of <%s>: every user on it is affected\n", past, a.Kind, a.ID, a.Name, u.Email)
				return nil
			}
			ch, err := ids.SetUserStatus(ctx, who, u.ID, st)
			if err != nil {
				return &exitError{code: 1, msg: "users " + verb + ": " + err.Error()}
			}
			if st == models.StatusDisabled {
				fmt.Fprintf(out, "disabled user %d <%s>: %d sessions ended, %d tokens revoked\n", u.ID, u.Email, ch.SessionsEnded, ch.TokensRevoked)
				return nil
			}
			fmt.Fprintf(out, "enabled user %d <%s> (was %s); they sign in again and make new tokens\n", u.ID, u.Email, ch.Previous)
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the user's email (required)")
	cmd.Flags().BoolVar(&account, "account", false, "switch the user's whole account (wallet and every user on it) instead of the one user")
	cmd.Flags().StringVar(&actor, "actor", "", "who is running this, for the audit log (default: your OS user)")
	return cmd
}

func newLedgerCmd() *cobra.Command {
	l := &cobra.Command{Use: "ledger", Short: "Inspect and correct the ledger"}
	l.AddCommand(newLedgerAdjustCmd(), newLedgerVerifyCmd(), newLedgerReleaseHoldCmd())
	return l
}

func newLedgerAdjustCmd() *cobra.Command {
	var email, reason, key, actor string
	var amount int64
	cmd := &cobra.Command{
		Use:   "adjust --email E --amount-cents N --reason R",
		Short: "Credit (N>0) or debit (N<0) a wallet by hand, through the ledger, with an audit record",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case email == "":
				return &exitError{code: 2, msg: "--email is required"}
			case amount == 0:
				return &exitError{code: 2, msg: "--amount-cents must be a non-zero number of cents, e.g. 500 or -250"}
			case strings.TrimSpace(reason) == "":
				return &exitError{code: 2, msg: "--reason is required: say why, for the audit log"}
			case len(reason) > 500:
				return &exitError{code: 2, msg: "--reason must be at most 500 characters"}
			}
			ctx := cmd.Context()
			db, err := openForAdmin(ctx)
			if err != nil {
				return err
			}
			svc := ledger.New(db)
			u, err := identity.New(db, svc).UserByEmail(ctx, email)
			if err != nil {
				return &exitError{code: 1, msg: "ledger adjust: " + err.Error()}
			}
			res, err := svc.Adjust(ctx, ledger.Adjustment{AccountID: u.AccountID, AmountCents: amount, Reason: reason, Ref: key, Actor: operator(actor)})
			key = res.Entry.IdempotencyKey
			if err != nil {
				return &exitError{code: 1, msg: "ledger adjust: " + err.Error()}
			}
			out := cmd.OutOrStdout()
			if res.Replayed {
				fmt.Fprintf(out, "already applied as entry %d (key %s); nothing changed. Pass --key to make a second, separate adjustment.\n", res.Entry.ID, key)
				return nil
			}
			fmt.Fprintf(out, "adjusted account %d <%s> by %+d cents: balance %d -> %d (entry %d, key %s)\n",
				u.AccountID, u.Email, amount, res.BalanceBefore, res.BalanceAfter(), res.Entry.ID, key)
			triggerAutoTopUp(ctx, cmd.ErrOrStderr(), db, svc, res)
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the wallet owner's email (required)")
	cmd.Flags().Int64Var(&amount, "amount-cents", 0, "signed amount in cents: 500 credits $5.00, -250 debits $2.50 (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit log and the customer's statement (required)")
	cmd.Flags().StringVar(&key, "key", "", "a reference for a deliberate second identical adjustment (default: derived from account, amount and reason)")
	cmd.Flags().StringVar(&actor, "actor", "", "who is running this, for the audit log (default: your OS user)")
	return cmd
}

// newLedgerReleaseHoldCmd frees a stale hold whose call will never settle
// it (RUNBOOK: stale holds). A release is single-use: a repeat changes
// nothing, and a captured hold is refused.
func newLedgerReleaseHoldCmd() *cobra.Command {
	var id int64
	var reason, actor string
	cmd := &cobra.Command{
		Use:   "release-hold --id N --reason R",
		Short: "Release a stale hold without charging, through the ledger, with an audit record",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case id <= 0:
				return &exitError{code: 2, msg: "--id must be the hold's id (ledger verify names it)"}
			case strings.TrimSpace(reason) == "":
				return &exitError{code: 2, msg: "--reason is required: say why, for the audit log"}
			}
			ctx := cmd.Context()
			db, err := openForAdmin(ctx)
			if err != nil {
				return err
			}
			h, err := ledger.New(db).ReleaseHold(ctx, id)
			if err != nil {
				return &exitError{code: 1, msg: "ledger release-hold: " + err.Error()}
			}
			if err := audit(ctx, db, operator(actor), "ledger.release_hold", fmt.Sprintf("hold:%d", h.ID),
				fmt.Sprintf("account=%d amount_cents=%d reference=%s reason=%s", h.AccountID, h.AmountCents, h.Reference, reason)); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "hold %d of %d cents on account %d is released\n", h.ID, h.AmountCents, h.AccountID)
			return nil
		},
	}
	cmd.Flags().Int64Var(&id, "id", 0, "the hold's id (required)")
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit log (required)")
	cmd.Flags().StringVar(&actor, "actor", "", "who is running this, added to your OS user in the audit log")
	return cmd
}

func newLedgerVerifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Check every cached balance against its ledger entries; exits 1 listing each account that differs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			db, err := openForAdmin(ctx)
			if err != nil {
				return err
			}
			var accounts, entries int64
			db.WithContext(ctx).Model(&models.Account{}).Count(&accounts)
			db.WithContext(ctx).Model(&models.LedgerEntry{}).Count(&entries)
			ds, err := ledger.New(db).WithStaleHoldAge(cfg.StaleHoldAge()).Verify(ctx)
			if err != nil {
				return err
			}
			if len(ds) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "ledger verify: %d accounts and %d entries checked; every balance matches its entries\n", accounts, entries)
				return nil
			}
			var b strings.Builder
			fmt.Fprintf(&b, "ledger verify: %d discrepancies in %d accounts:\n", len(ds), accounts)
			for _, d := range ds {
				fmt.Fprintf(&b, "  %s\n", d)
			}
			return &exitError{code: 1, msg: strings.TrimRight(b.String(), "\n")}
		},
	}
}

func newRatesCmd() *cobra.Command {
	r := &cobra.Command{Use: "rates", Short: "Manage the rate table"}
	var file, actor string
	reload := &cobra.Command{
		Use:   "reload [--file rates.csv]",
		Short: "Replace the rate table from a CSV file (default: the bundled sample table)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var rs []models.Rate
			var err error
			source := "bundled sample table"
			if file != "" {
				f, ferr := os.Open(file)
				if ferr != nil {
					return &exitError{code: 1, msg: "rates reload: " + ferr.Error()}
				}
				defer f.Close()
				rs, err = rates.ParseCSV(f)
				source = file
			} else {
				rs, err = rates.Default()
			}
			if err != nil {
				return &exitError{code: 1, msg: "rates reload: " + err.Error() + " (nothing changed)"}
			}
			ctx := cmd.Context()
			db, err := openForAdmin(ctx)
			if err != nil {
				return err
			}
			res, err := rates.NewAdmin(db, nil, nil).Reload(ctx, operator(actor), rs, source)
			if err != nil {
				return &exitError{code: 1, msg: "rates reload: " + err.Error()}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rates reload: %d rates from %s: %d added, %d updated, %d removed, %d unchanged (API processes pick it up within 30 s)\n",
				len(rs), source, res.Added, res.Updated, res.Removed, res.Unchanged)
			return nil
		},
	}
	reload.Flags().StringVar(&file, "file", "", "CSV with columns prefix,iso,country,destination,individual_cents,company_cents")
	reload.Flags().StringVar(&actor, "actor", "", "who is running this, for the audit log (default: your OS user)")
	r.AddCommand(reload, newRatesSyncCmd())
	return r
}

// newRatesSyncCmd is `mobayilo rates sync`: Twilio's voice prices (Pricing
// API v2, every country we sell) recorded as our cost per prefix; our sell
// prices stay as they are.
func newRatesSyncCmd() *cobra.Command {
	var actor string
	sync := &cobra.Command{
		Use:   "sync",
		Short: "Record Twilio's cost per prefix from its Pricing API (our prices stay); needs Twilio credentials",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			src, err := providers.NewTwilioPricing(cfg)
			if err != nil {
				return &exitError{code: 1, msg: "rates sync: " + err.Error()}
			}
			ctx := cmd.Context()
			db, err := app.OpenDB(ctx, cfg, cfg.UsesEmbeddedDB())
			if err != nil {
				return err
			}
			res, err := rates.NewAdmin(db, nil, src).Sync(ctx, operator(actor))
			if err != nil {
				return &exitError{code: 1, msg: "rates sync: " + err.Error() + " (nothing changed)"}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rates sync: %d countries read from Twilio; %d prefixes priced (%d changed), %d not covered by Twilio's prices, %d sold below cost (see /admin/rates)\n",
				res.Countries, res.Priced, res.Changed, res.Unpriced, res.Negative)
			return nil
		},
	}
	sync.Flags().StringVar(&actor, "actor", "", "who is running this, for the audit log (default: your OS user)")
	return sync
}

// triggerAutoTopUp runs the auto top-up hook after a debit, as call charges
// and number fees will. The adjustment is already made, so a Temporal that
// cannot be reached is a warning, not a failure.
func triggerAutoTopUp(ctx context.Context, errOut io.Writer, db *gorm.DB, led *ledger.Service, res ledger.Result) {
	if res.Entry.AmountCents >= 0 || res.Replayed {
		return
	}
	cfg, err := loadConfig()
	if err != nil {
		fmt.Fprintf(errOut, "warning: auto top-up not checked: %v\n", err)
		return
	}
	svc := autotopup.New(db, led)
	st, err := svc.Settings(ctx, res.Entry.AccountID)
	if err != nil || !st.Enabled || !res.LeftBelow(st.ThresholdCents) {
		return
	}
	tc, err := app.DialTemporal(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), 5*time.Second)
	if err != nil {
		fmt.Fprintf(errOut, "warning: balance is below the auto top-up threshold but Temporal is unreachable: %v\n", err)
		return
	}
	defer tc.Close()
	if _, err := svc.AfterDebit(ctx, workflows.NewClient(tc, workflows.OptionsFrom(cfg)), res); err != nil {
		fmt.Fprintf(errOut, "warning: %v\n", err)
		return
	}
	fmt.Fprintf(errOut, "balance is below the auto top-up threshold: auto top-up triggered (workflow %s)\n", workflows.AutoTopUpWorkflowID(res.Entry.AccountID))
}
