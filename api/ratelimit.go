package api

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
)

// rateLimit allows limit requests per period per client IP on the group it
// guards, answering 429 with Retry-After beyond that.
//
// Its state is per process, unlike handlers.limit's. For the public rate endpoints that is
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
			tooMany(c, res)
			return
		}
		c.Next()
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
