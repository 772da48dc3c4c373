package web

import (
	"log/slog"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"xianfeng/server/internal/apperr"
)

// Limiter counts requests per key in fixed windows kept in Redis, so the
// limit holds across every instance of the server.
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string
	log    *slog.Logger
	now    func() time.Time
}

// NewLimiter returns a limiter whose keys start with prefix, on the clock
// now (time.Now when nil).
func NewLimiter(rdb redis.UniversalClient, prefix string, log *slog.Logger, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{rdb: rdb, prefix: prefix + "rl:", log: log, now: now}
}

// Limit allows limit requests per window for each value of key (the client
// IP, the user id, …) and answers the rest with 429 "rate_limited" and a
// Retry-After header. If Redis does not answer, requests go through: a
// limiter must not take the service down with it.
func (l *Limiter) Limit(name string, limit int, window time.Duration, key func(*gin.Context) string) gin.HandlerFunc {
	return func(c *gin.Context) {
		now := l.now()
		slot := now.UnixNano() / int64(window)
		k := l.prefix + name + ":" + key(c) + ":" + strconv.FormatInt(slot, 10)
		ctx := c.Request.Context()
		var incr *redis.IntCmd
		_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			incr = p.Incr(ctx, k)
			p.Expire(ctx, k, window+time.Second)
			return nil
		})
		if err != nil {
			l.log.WarnContext(ctx, "rate limiter unavailable, letting the request through", "limit", name, "err", err)
			c.Next()
			return
		}
		if incr.Val() > int64(limit) {
			e := apperr.New(apperr.KindRateLimited, "rate_limited", "操作过于频繁，请稍后再试")
			e.RetryAfter = time.Duration((slot+1)*int64(window) - now.UnixNano())
			Fail(c, l.log, e)
			return
		}
		c.Next()
	}
}
