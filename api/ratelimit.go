package api

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
)

// Rate limits. Every limit that guards an account or a secret counts in the
// database (Deps.Limits), shared by every API process, through one
// middleware (limit); only what it answers differs: JSON for the API, a
// page for the sign-in forms, RFC 6749's error body for the device flow.

// limitAnswer says how a limited route answers: over, once a key is past
// its limit (Retry-After is already set to retry seconds), and failed, when
// the counter store could not be read.
type limitAnswer struct {
	over   func(c *gin.Context, retry int64)
	failed func(c *gin.Context, err error)
}

// jsonLimits answers the API's way: 429 rate_limited, or the error.
var jsonLimits = limitAnswer{
	over: func(c *gin.Context, retry int64) {
		abortWithError(c, &requestError{status: http.StatusTooManyRequests, code: "rate_limited",
			message: "too many requests; retry after " + itoa(retry) + " seconds"})
	},
	failed: abortWithError,
}

// limit applies a rate limit of n requests per period, counted in the
// database; key picks what is counted (IP, user, token…), and an empty key
// skips the limit. Over the limit it answers 429 with Retry-After, in
// answer's shape (jsonLimits when none is given).
func (h *handlers) limit(name string, n int64, per time.Duration, key func(*gin.Context) string, answer ...limitAnswer) gin.HandlerFunc {
	ans := jsonLimits
	if len(answer) > 0 {
		ans = answer[0]
	}
	l := h.d.Limits.New(name, n, per)
	return func(c *gin.Context) {
		k := key(c)
		if k == "" {
			c.Next()
			return
		}
		res, err := l.Get(c.Request.Context(), k)
		if err != nil {
			slog.ErrorContext(c.Request.Context(), "rate limit failed", "limiter", name, "error", err, "request_id", c.GetString(requestIDKey))
			ans.failed(c, err)
			c.Abort()
			return
		}
		if res.Reached {
			tooMany(c, res, ans)
			return
		}
		c.Next()
	}
}

// tooMany sets Retry-After and answers over the limit.
func tooMany(c *gin.Context, res limiter.Context, ans limitAnswer) {
	retry := retryAfter(res.Reset)
	c.Header("Retry-After", itoa(retry))
	ans.over(c, retry)
	c.Abort()
}

// retryAfter is the whole seconds, at least 1, until a window that resets
// at reset (Unix seconds).
func retryAfter(reset int64) int64 {
	secs := time.Until(time.Unix(reset, 0)).Seconds()
	return max(int64(secs+0.999), 1)
}

// rateLimit allows limit requests per period per client IP on the group it
// guards, answering 429 with Retry-After beyond that.
//
// Its state is per process, unlike limit's. For the public rate endpoints
// that is acceptable: with N API processes behind a balancer a client gets
// at most N × limit, which still bounds scraping; limits that guard secrets
// (sign-in, tokens) use limit.
func rateLimit(limit int, period time.Duration, name string) gin.HandlerFunc {
	lim := limiter.New(memory.NewStoreWithOptions(limiter.StoreOptions{Prefix: name, CleanUpInterval: time.Minute}),
		limiter.Rate{Period: period, Limit: int64(limit)})
	return func(c *gin.Context) {
		res, err := lim.Get(c.Request.Context(), c.ClientIP())
		if err != nil {
			// The memory store does not fail; if it ever does, serve rather
			// than lock everyone out of a public read-only endpoint.
			slog.Warn("rate limiter failed", "limiter", name, "error", err)
			c.Next()
			return
		}
		c.Header("X-RateLimit-Limit", strconv.FormatInt(res.Limit, 10))
		c.Header("X-RateLimit-Remaining", strconv.FormatInt(res.Remaining, 10))
		if res.Reached {
			tooMany(c, res, jsonLimits)
			return
		}
		c.Next()
	}
}

// Keys for limit.
func byIP(c *gin.Context) string { return "ip:" + c.ClientIP() }

func byUser(c *gin.Context) string {
	if p, ok := principal(c); ok {
		return "user:" + itoa(p.User.ID)
	}
	return ""
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
