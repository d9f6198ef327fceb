package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/internal/app"
	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/money"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/models"
)

// The seeded demo login. It exists only where `mobayilo dev` ran.
const (
	demoEmail       = "demo@mobayilo.local"
	demoPassword    = "mobayilo-demo"
	demoCreditCents = 2000
)

func newDevCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "dev",
		Short: "Run the whole system on this machine: Temporal with its UI, the worker and the API, seeded",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			return runDev(cmd.Context(), cfg.ForDev())
		},
	}
}

func runDev(ctx context.Context, cfg config.Config) error {
	log := app.NewLogger(cfg, false)
	slog.SetDefault(log)
	warnSandbox(log, cfg)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data folder %s (MOBAYILO_DATA_DIR): %w", cfg.DataDir, err)
	}

	// Temporal: our own dev server when TEMPORAL_ADDRESS is on this machine
	// (the default); a remote address means "use that cluster".
	var temporal *devTemporal
	dialCtx := ctx
	if isLoopback(cfg.TemporalAddress) {
		var err error
		if temporal, err = startTemporalDevServer(cfg); err != nil {
			return err
		}
		defer temporal.stop(log)
		// Stop waiting for the server the moment it dies.
		var cancelDial context.CancelFunc
		dialCtx, cancelDial = context.WithCancel(ctx)
		defer cancelDial()
		go func() {
			select {
			case <-temporal.exited:
				cancelDial()
			case <-dialCtx.Done():
			}
		}()
	}
	tc, err := app.DialTemporal(dialCtx, cfg, log, 90*time.Second)
	if err != nil {
		if temporal != nil {
			if why := temporal.exitReport(); why != "" {
				return errors.New(why)
			}
		}
		return err
	}
	defer tc.Close()

	db, err := app.OpenDB(ctx, cfg, true)
	if err != nil {
		return err
	}
	if err := seed(ctx, cfg, db, log); err != nil {
		return err
	}
	mailer, mailbox, err := app.NewMailer(cfg, log)
	if err != nil {
		return err
	}
	s, err := newServices(cfg, log, db, tc, mailer, mailbox)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	ready := make(chan struct{})
	wg.Add(2)
	go func() { defer wg.Done(); errc <- runWorker(ctx, s) }()
	go func() { defer wg.Done(); errc <- serveAPI(ctx, s, ready) }()

	select {
	case <-ready:
		printBanner(cfg, temporal != nil)
	case err := <-errc:
		cancel()
		wg.Wait()
		return err
	}
	var first error
	select {
	case <-ctx.Done():
	case first = <-errc:
	}
	cancel()
	wg.Wait()
	if first != nil && !errors.Is(first, context.Canceled) {
		return first
	}
	fmt.Fprintln(os.Stderr, "\nMobayilo stopped. Data is kept in "+cfg.DataDir+"; `make run` picks it up again.")
	return nil
}

func startTemporalDevServer(cfg config.Config) (*devTemporal, error) {
	if _, err := os.Stat(cfg.TemporalCLI); err != nil {
		return nil, fmt.Errorf("temporal CLI not found at %s (MOBAYILO_TEMPORAL_CLI): run `make run`, which builds it, or `make tools`", cfg.TemporalCLI)
	}
	host, port, err := net.SplitHostPort(cfg.TemporalAddress)
	if err != nil {
		return nil, fmt.Errorf("TEMPORAL_ADDRESS %q: %w", cfg.TemporalAddress, err)
	}
	for _, p := range []string{port, fmt.Sprint(cfg.TemporalUIPort)} {
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", p)); err != nil {
			return nil, fmt.Errorf("port %s is already in use (another `make run`, or a Temporal server?): stop it, or set TEMPORAL_ADDRESS to use that server", p)
		} else {
			l.Close()
		}
	}
	if host == "localhost" || host == "" {
		host = "127.0.0.1"
	}
	logPath := filepath.Join(cfg.DataDir, "temporal.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(cfg.TemporalCLI, "server", "start-dev",
		"--ip", host, "--port", port, "--ui-port", fmt.Sprint(cfg.TemporalUIPort),
		"--namespace", cfg.TemporalNamespace,
		"--db-filename", filepath.Join(cfg.DataDir, "temporal.db"),
		"--log-level", "warn",
		// One task-queue partition (deploy/temporal-dynamic-config.yaml
		// says why): a call's authorisation without two-second stalls.
		"--dynamic-config-value", "matching.numTaskqueueReadPartitions=1",
		"--dynamic-config-value", "matching.numTaskqueueWritePartitions=1")
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so that Ctrl-C reaches it through us, in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start temporal dev server: %w", err)
	}
	slog.Info("temporal dev server starting", "address", cfg.TemporalAddress, "ui", fmt.Sprintf("http://localhost:%d", cfg.TemporalUIPort), "log", logPath)
	t := &devTemporal{cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() { t.err = cmd.Wait(); close(t.exited) }()
	return t, nil
}

// devTemporal is the Temporal dev server child process. exited closes
// when it ends (err says how), so a server that dies at start is reported
// at once, with its log, instead of after the dial timeout.
type devTemporal struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	err     error
}

// exitReport is "" while the server runs, else why it ended and the end of
// its log.
func (t *devTemporal) exitReport() string {
	select {
	case <-t.exited:
	default:
		return ""
	}
	b, _ := os.ReadFile(t.logPath)
	tail := strings.TrimSpace(string(b))
	if len(tail) > 2000 {
		tail = "…" + tail[len(tail)-2000:]
	}
	return fmt.Sprintf("the temporal dev server exited at start (%v); the end of %s:\n%s", t.err, t.logPath, tail)
}

func isLoopback(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// stop ends the server's process group: SIGTERM, then SIGKILL after 15 s.
func (t *devTemporal) stop(log *slog.Logger) {
	_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-t.exited:
		log.Info("temporal dev server stopped")
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
		<-t.exited
		log.Warn("temporal dev server killed after 15 s")
	}
}

// seed loads the sample rate table into an empty database and, only in
// the embedded database `mobayilo dev` owns, creates the demo user with
// sandbox credit: a DATABASE_URL may be anyone's database (a staging copy
// of production, say), where a known password and free credit do not
// belong. Every step is idempotent.
func seed(ctx context.Context, cfg config.Config, db *gorm.DB, log *slog.Logger) error {
	if seeded, err := rates.SeedIfEmpty(ctx, db); err != nil {
		return fmt.Errorf("seed rates: %w", err)
	} else if seeded {
		log.Info("rate table seeded from the bundled sample data")
	}
	if !cfg.UsesEmbeddedDB() {
		log.Warn("demo user not seeded: DATABASE_URL is set, and mobayilo dev seeds only its own embedded database")
		return nil
	}
	svc := ledger.New(db)
	ids := identity.New(db, svc)
	u, err := ids.UserByEmail(ctx, demoEmail)
	if errors.Is(err, identity.ErrUserNotFound) {
		u, _, err = ids.CreateUser(ctx, identity.NewUser{Email: demoEmail, Password: demoPassword, AccountName: "Demo"})
	}
	if err != nil {
		return fmt.Errorf("seed demo user: %w", err)
	}
	_, err = svc.Post(ctx, ledger.Posting{AccountID: u.AccountID, Kind: models.EntryBonus, AmountCents: demoCreditCents,
		IdempotencyKey: "seed:demo:sandbox-credit", Actor: "system:dev-seed", Description: "Sandbox starting credit"})
	return err
}

func printBanner(cfg config.Config, ownTemporal bool) {
	mode := func(live bool) string {
		if live {
			return "live"
		}
		return "sandbox"
	}
	db := "embedded SQLite at " + cfg.SQLitePath()
	if !cfg.UsesEmbeddedDB() {
		db = "Postgres (DATABASE_URL)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n  Mobayilo is running\n\n")
	fmt.Fprintf(&b, "  App            %s\n", cfg.PublicBaseURL)
	fmt.Fprintf(&b, "  Health         %s/readyz\n", cfg.PublicBaseURL)
	if ownTemporal {
		fmt.Fprintf(&b, "  Temporal UI    http://localhost:%d\n", cfg.TemporalUIPort)
	}
	fmt.Fprintf(&b, "  Temporal       %s (namespace %s, task queue %s)\n", cfg.TemporalAddress, cfg.TemporalNamespace, cfg.TemporalTaskQueue)
	fmt.Fprintf(&b, "  Database       %s\n", db)
	if cfg.UsesEmbeddedDB() {
		fmt.Fprintf(&b, "  Demo login     %s / %s (%s sandbox credit)\n", demoEmail, demoPassword, money.Format(demoCreditCents))
	} else {
		fmt.Fprintf(&b, "  Demo login     none (DATABASE_URL is not mobayilo dev's own database)\n")
	}
	fmt.Fprintf(&b, "  Twilio         %s\n  Stripe         %s\n", mode(cfg.TwilioLive()), mode(cfg.StripeLive()))
	if cfg.TwilioAuthToken == "" || cfg.StripeWebhookSecret == "" {
		fmt.Fprintf(&b, "\n  Dev webhook secrets (defaults, not secret; set the variables to override):\n")
		if cfg.TwilioAuthToken == "" {
			fmt.Fprintf(&b, "    TWILIO_AUTH_TOKEN=%s\n", config.DevTwilioAuthToken)
		}
		if cfg.StripeWebhookSecret == "" {
			fmt.Fprintf(&b, "    STRIPE_WEBHOOK_SECRET=%s\n", config.DevStripeWebhookSecret)
		}
	}
	fmt.Fprintf(&b, "\n  Ctrl-C stops everything; data stays in %s\n\n", cfg.DataDir)
	fmt.Fprint(os.Stderr, b.String())
}
