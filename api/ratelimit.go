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

// rateLimit allows limit requests per period per client IP on the group it
// guards, answering 429 with Retry-After beyond that.
//
// The state is per process. For the public rate endpoints that is
// acceptable: with N API processes behind a balancer a client gets at most
// N × limit, which still bounds scraping; limits that guard secrets (sign-in,
// tokens) need a shared store.
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
			wait := time.Until(time.Unix(res.Reset, 0))
			secs := int64(wait.Seconds()) + 1
			if secs < 1 {
				secs = 1
			}
			c.Header("Retry-After", strconv.FormatInt(secs, 10))
			abortWithError(c, &requestError{status: http.StatusTooManyRequests, code: "rate_limited",
				message: "too many requests; retry after " + strconv.FormatInt(secs, 10) + " seconds"})
			return
		}
		c.Next()
	}
}
