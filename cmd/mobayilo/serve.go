package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"gorm.io/gorm"

	"github.com/mobayilo/mobayilo/api"
	"github.com/mobayilo/mobayilo/internal/app"
	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/web"
	"github.com/mobayilo/mobayilo/worker"
	"github.com/mobayilo/mobayilo/workflows"
)

func newAPICmd() *cobra.Command {
	return &cobra.Command{
		Use:   "api",
		Short: "Serve the HTTP API, webhooks and web app",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withServices(cmd.Context(), func(ctx context.Context, s services) error {
				return serveAPI(ctx, s, nil)
			})
		},
	}
}

func newWorkerCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Run the Temporal worker (workflows and activities)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withServices(cmd.Context(), func(ctx context.Context, s services) error {
				return runWorker(ctx, s)
			})
		},
	}
}

// services is what a production process (api or worker) connects to.
type services struct {
	cfg      config.Config
	log      *slog.Logger
	db       *gorm.DB
	temporal client.Client
	mailer   mail.Sender
	// mailbox is the dev mailbox when there is no SMTP; in `mobayilo dev` the
	// worker fills it and the API shows it.
	mailbox *mail.Mailbox
	// prov are the process's one set of providers: the worker and the API
	// share them (the sandbox carrier keeps the calls it carries).
	prov providers.Providers
}

// newServices builds what both halves of a process share once its
// connections are open.
func newServices(cfg config.Config, log *slog.Logger, db *gorm.DB, tc client.Client, mailer mail.Sender, mailbox *mail.Mailbox) (services, error) {
	prov, err := worker.NewProviders(cfg)
	if err != nil {
		return services{}, err
	}
	log.Info("providers", "twilio", prov.TwilioMode, "stripe", prov.StripeMode)
	return services{cfg: cfg, log: log, db: db, temporal: tc, mailer: mailer, mailbox: mailbox, prov: prov}, nil
}

// withServices loads the configuration, logs as JSON, opens the database
// (migrating only the embedded one; Postgres is `mobayilo migrate`'s job) and
// dials Temporal, then runs f.
func withServices(ctx context.Context, f func(context.Context, services) error) error {
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	if err := cfg.CheckDeployment(); err != nil {
		return &exitError{code: 2, msg: err.Error()}
	}
	log := app.NewLogger(cfg, true)
	slog.SetDefault(log)
	warnSandbox(log, cfg)
	db, err := app.OpenDB(ctx, cfg, cfg.UsesEmbeddedDB())
	if err != nil {
		return err
	}
	tc, err := app.DialTemporal(ctx, cfg, log, 30*time.Second)
	if err != nil {
		return err
	}
	defer tc.Close()
	mailer, mailbox, err := app.NewMailer(cfg, log)
	if err != nil {
		return err
	}
	if mailbox != nil {
		// Separate api and worker processes each have their own in-memory
		// mailbox: links the worker "sends" never reach /dev/mail.
		log.Warn("SMTP_URL is not set: sign-in emails go to this process's dev mailbox only; set SMTP_URL in production")
	}
	s, err := newServices(cfg, log, db, tc, mailer, mailbox)
	if err != nil {
		return err
	}
	return f(ctx, s)
}

// warnSandbox says at start-up, loudly, that this process runs on the
// sandbox providers: no real money, no real calls.
func warnSandbox(log *slog.Logger, cfg config.Config) {
	if cfg.SandboxStripe() || cfg.SandboxTwilio() {
		log.Warn("SANDBOX MODE: providers are simulated, no real payments or calls; webhooks are checked against the published dev secrets unless set",
			"stripe_sandbox", cfg.SandboxStripe(), "twilio_sandbox", cfg.SandboxTwilio())
	}
}

// runWorker prepares the namespace and runs the worker until ctx ends.
func runWorker(ctx context.Context, s services) error {
	cfg, tc, log := s.cfg, s.temporal, s.log
	if err := worker.EnsureSearchAttributes(ctx, tc, cfg.TemporalNamespace); err != nil {
		return err
	}
	if err := worker.EnsureSchedules(ctx, tc, cfg.TemporalTaskQueue); err != nil {
		return err
	}
	acts := worker.NewActivities(cfg, s.db, s.mailer, s.prov, workflows.NewClient(tc, workflows.OptionsFrom(cfg)))
	w := worker.New(tc, cfg.TemporalTaskQueue, acts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	log.Info("worker started", "task_queue", cfg.TemporalTaskQueue, "namespace", cfg.TemporalNamespace)
	<-ctx.Done()
	w.Stop()
	log.Info("worker stopped")
	return nil
}

// serveAPI serves until ctx ends, then drains in-flight requests. ready, if
// not nil, is closed once the listener is bound.
func serveAPI(ctx context.Context, s services, ready chan<- struct{}) error {
	cfg, db, log := s.cfg, s.db, s.log
	pages, err := web.New()
	if err != nil {
		return err
	}
	if _, ok := web.AssetURL(web.VoiceSDK); !ok && !cfg.SandboxTwilio() {
		// Live calls go through the Voice SDK bundle, which go build embeds
		// only once `make voice-sdk` has made it.
		return errors.New("live telephony (TWILIO_ACCOUNT_SID is set) needs the Voice SDK bundle: run `make voice-sdk`, then build again")
	}
	d := app.APIDeps(cfg, db, 30*time.Second)
	d.Temporal, d.Pages, d.Log, d.Mailbox = s.temporal, pages, log, s.mailbox
	app.UseProviders(&d, s.prov)
	router := api.New(d)
	srv := &http.Server{
		Addr:              net.JoinHostPort("", strconv.Itoa(cfg.Port)),
		Handler:           router,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return fmt.Errorf("listen on PORT %d: %w", cfg.Port, err)
	}
	if ready != nil {
		close(ready)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("api listening", "addr", ln.Addr().String(), "public_base_url", cfg.PublicBaseURL)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("api stopped")
	return nil
}
