// Package api is Mobayilo's HTTP surface: the JSON API, the webhooks and the
// web pages. Handlers validate input, call a service or start/signal a
// workflow, and map errors in one place (errors.go); they do no long work.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"github.com/mobayilo/mobayilo/internal/auth"
	"github.com/mobayilo/mobayilo/internal/autotopup"
	"github.com/mobayilo/mobayilo/internal/callerid"
	"github.com/mobayilo/mobayilo/internal/calls"
	"github.com/mobayilo/mobayilo/internal/config"
	"github.com/mobayilo/mobayilo/internal/credits"
	"github.com/mobayilo/mobayilo/internal/identity"
	"github.com/mobayilo/mobayilo/internal/ledger"
	"github.com/mobayilo/mobayilo/internal/mail"
	"github.com/mobayilo/mobayilo/internal/numbers"
	"github.com/mobayilo/mobayilo/internal/providers"
	"github.com/mobayilo/mobayilo/internal/ratelimit"
	"github.com/mobayilo/mobayilo/internal/rates"
	"github.com/mobayilo/mobayilo/web"
	"github.com/mobayilo/mobayilo/workflows"
)

// Deps is what the API needs: the domain services it calls (the handlers
// never see the database itself; internal/app builds these on one) and
// the edges. Temporal may be nil in tests that do not touch workflows;
// /readyz then reports it as not configured.
type Deps struct {
	Config config.Config
	Rates  *rates.Cache
	// RatesAdmin reloads the rate table and syncs Twilio's costs (admin).
	RatesAdmin *rates.Admin
	Auth       *auth.Service
	Identity   *identity.Service
	Ledger     *ledger.Service
	Credits    *credits.Service
	AutoTopUps *autotopup.Service
	Calls      *calls.Service
	// Telephony signs voice tokens; Carrier, in sandbox telephony, is the
	// simulated network the sandbox dialer calls through (nil when live).
	Telephony providers.Telephony
	Carrier   *providers.SandboxCarrier
	// CallerIDs holds caller IDs; SandboxCallerIDs, in sandbox telephony,
	// is the simulated phone's side of validation calls.
	CallerIDs        *callerid.Service
	SandboxCallerIDs *providers.SandboxCallerIDs
	// Numbers holds company numbers (searching through the process's
	// number provider); SandboxNumbers is that provider in sandbox
	// telephony, whose request log tests read.
	Numbers        *numbers.Service
	SandboxNumbers *providers.SandboxNumbers
	// Limits counts rate limits in the shared database.
	Limits *ratelimit.Limits
	// PingDB checks the database for /readyz.
	PingDB func(context.Context) error

	Temporal client.Client
	Pages    *web.Renderer
	Log      *slog.Logger
	// Mailbox is the dev mailbox shown at /dev/mail; nil when SMTP_URL is set.
	Mailbox *mail.Mailbox
}

const requestIDKey = web.RequestIDKey

// New builds the router.
func New(d Deps) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// Forwarded headers are believed only from TRUSTED_PROXIES (the load
	// balancer); from anyone else they are ignored, so rate limits key on
	// the real client address either way. Config validated the list.
	_ = r.SetTrustedProxies(d.Config.TrustedProxies)
	r.Use(requestID(), accessLog(d.Log), recoverer(d.Pages), securityHeaders(!d.Config.SandboxTwilio()))

	if d.Config.Sandbox && d.Pages != nil {
		d.Pages = d.Pages.WithSandboxBanner()
	}
	h := &handlers{d: d, wf: workflows.NewClient(d.Temporal, workflows.OptionsFrom(d.Config))}
	r.GET("/healthz", h.healthz)
	r.GET("/readyz", h.readyz)

	apiGroup := r.Group("/api")
	ratesGroup := apiGroup.Group("/rates", rateLimit(d.Config.RatesLimitPerMinute, time.Minute, "rates"))
	ratesGroup.GET("/calculate", h.calculateRate)
	ratesGroup.GET("/:iso", h.ratesForCountry)

	hooks := apiGroup.Group("/webhooks")
	hooks.POST("/stripe", h.stripeWebhook)
	twilio := hooks.Group("/twilio", h.twilioSigned())
	twilio.POST("/voice", h.voiceWebhook)
	twilio.POST("/status", h.callStatusWebhook)
	twilio.POST("/dial-action", h.dialActionWebhook)
	twilio.POST("/bridge", h.bridgeWebhook)
	twilio.POST("/caller-id", h.callerIDWebhook)
	twilio.POST("/incoming", h.incomingWebhook)

	// Everything below is for browsers and the CLI: sessions resolve first,
	// then cross-site form posts are refused.
	site := r.Group("", limitBody(64<<10), h.loadSession(), csrf(d.Config.MarketingOrigin))
	web.Register(site, d.Pages, h.dialer)
	h.registerDialer(site)
	h.registerPages(site)
	h.registerSignIn(site)
	h.registerDevice(site)
	h.registerCLI(site)
	h.registerSettings(site)
	h.registerCredits(site)
	h.registerAdmin(site)
	h.registerAutoTopUp(site)
	h.registerAutoTopUpApprove(site)
	h.registerCalls(site)
	h.registerSandboxCarrier(site)
	h.registerCallerIDRoutes(site.Group("/api", requireUserJSON()))
	if d.Config.Sandbox && d.SandboxCallerIDs != nil {
		site.POST(SandboxPhonePath, requireUserJSON(), h.sandboxKeypad)
		site.GET(SandboxPhonePage, requireUser(), h.sandboxPhonePage)
		site.POST(SandboxPhonePage, requireUser(), h.sandboxPhoneKeys)
	}
	r.NoRoute(h.loadSession(), web.NotFound(d.Pages))
	r.NoMethod(func(c *gin.Context) {
		abortWithError(c, &requestError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
			message: c.Request.Method + " is not allowed on " + c.Request.URL.Path})
	})
	return r
}

// handlers serve every route. wf is the one way they start, signal,
// update and query workflows.
type handlers struct {
	d  Deps
	wf *workflows.Client
}

func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id := hex.EncodeToString(b)
		c.Set(requestIDKey, id)
		c.Header("X-Request-Id", id)
		c.Next()
	}
}

// accessLog logs method, route and status; never query strings or bodies,
// which can carry tokens and personal data.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	if log == nil {
		log = slog.Default()
	}
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		log.LogAttrs(c.Request.Context(), slog.LevelInfo, "http",
			slog.String("method", c.Request.Method), slog.String("route", route),
			slog.Int("status", c.Writer.Status()), slog.Duration("took", time.Since(start)),
			slog.String("request_id", c.GetString(requestIDKey)))
	}
}

// recoverer turns a panic into the styled error page (or a JSON error) and
// logs it; the process keeps serving.
func recoverer(pages *web.Renderer) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				slog.Error("panic in handler", "panic", v, "path", c.Request.URL.Path, "request_id", c.GetString(requestIDKey))
				if c.Writer.Written() {
					c.Abort()
					return
				}
				if pages != nil && !isAPIPath(c.Request.URL.Path) {
					_ = pages.Render(c.Writer, http.StatusInternalServerError, "error", web.Page{Title: "Something went wrong", RequestID: c.GetString(requestIDKey)})
					c.Abort()
					return
				}
				abortWithError(c, errPanic)
			}
		}()
		c.Next()
	}
}

var errPanic = &panicError{}

type panicError struct{}

func (*panicError) Error() string { return "internal error" }

func isAPIPath(p string) bool { return len(p) >= 5 && p[:5] == "/api/" }

// contentSecurityPolicy is every page's policy: nothing from another host,
// no inline script or style. Live telephony adds what the Twilio Voice SDK
// reaches (TOOLCHAIN.md): its signalling websocket (voice-js.<edge>.twilio.com),
// its call-quality events (eventgw[.<region>].twilio.com) and its ringtones
// (sdk.twilio.com), which it fetches and plays. The sandbox carrier needs
// none of it, so sandbox pages keep the strict policy.
func contentSecurityPolicy(liveVoice bool) string {
	connect, media := "'self'", "'self'"
	if liveVoice {
		connect += " wss://*.twilio.com https://*.twilio.com"
		media += " https://sdk.twilio.com"
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src " + connect +
		"; media-src " + media + "; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
}

func securityHeaders(liveVoice bool) gin.HandlerFunc {
	csp := contentSecurityPolicy(liveVoice)
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", csp)
		c.Next()
	}
}

func (h *handlers) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz checks the database and Temporal, and names what failed.
func (h *handlers) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	checks := gin.H{}
	ok := true
	if err := h.d.PingDB(ctx); err != nil {
		checks["database"], ok = err.Error(), false
	} else {
		checks["database"] = "ok"
	}
	if h.d.Temporal == nil {
		checks["temporal"], ok = "not configured", false
	} else if err := h.wf.CheckHealth(ctx); err != nil {
		checks["temporal"], ok = "unreachable: "+err.Error(), false
	} else {
		checks["temporal"] = "ok"
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, gin.H{"ready": ok, "checks": checks})
}

// limitBody caps request bodies of the site's forms and CLI calls; larger
// ones fail to parse and get a 400, and nothing is spilled to disk.
func limitBody(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		}
		c.Next()
	}
}
