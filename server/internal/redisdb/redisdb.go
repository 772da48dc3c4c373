// Package redisdb opens the one go-redis client that sessions, queues and
// the WeChat token cache share: single node, Sentinel or Cluster from the
// configuration, or an embedded in-process Redis for a first run on a laptop.
package redisdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"xianfeng/config"
	"xianfeng/server/internal/apperr"
)

// Client is an open Redis client and the embedded server behind it, if any.
type Client struct {
	redis.UniversalClient
	embedded *miniredis.Miniredis
}

// Open connects to the configured Redis, or starts an embedded one when no
// address is configured (refused in production by config validation). Every
// call is bounded by cfg.Timeout, so a Redis that does not answer fails a
// request quickly instead of hanging it; the client reconnects by itself.
func Open(ctx context.Context, cfg config.Redis, log *slog.Logger) (*Client, error) {
	opts := &redis.UniversalOptions{
		Addrs:           cfg.Addrs,
		MasterName:      cfg.MasterName,
		Username:        cfg.Username,
		Password:        cfg.Password,
		DB:              cfg.DB,
		DialTimeout:     cfg.Timeout,
		ReadTimeout:     cfg.Timeout,
		WriteTimeout:    cfg.Timeout,
		PoolTimeout:     cfg.Timeout,
		PoolSize:        cfg.PoolSize,
		MinIdleConns:    4,
		MaxRetries:      1,
		MinRetryBackoff: 8 * time.Millisecond,
		MaxRetryBackoff: 64 * time.Millisecond,
		// The socket deadlines follow the context's, so that the per-call
		// deadline below bounds a call and its retry together.
		ContextTimeoutEnabled: true,
	}
	c := &Client{}
	switch {
	case cfg.URL != "":
		u, err := redis.ParseURL(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("redis: APP_REDIS_URL: %w", err)
		}
		opts.Addrs = []string{u.Addr}
		opts.Username, opts.Password, opts.DB = u.Username, u.Password, u.DB
		opts.TLSConfig = u.TLSConfig
		if cfg.Password != "" {
			opts.Password = cfg.Password
		}
	case len(cfg.Addrs) == 0:
		m := miniredis.NewMiniRedis()
		if err := m.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("redis: start embedded redis: %w", err)
		}
		c.embedded = m
		opts.Addrs = []string{m.Addr()}
		log.Warn("using the EMBEDDED in-process Redis: sessions and queued jobs are lost when the process stops; set APP_REDIS_URL for anything but a trial run", "addr", m.Addr())
	}
	c.UniversalClient = redis.NewUniversalClient(opts)
	c.AddHook(deadlineHook{timeout: cfg.Timeout})
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pingCtx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("redis: ping %v: %w", opts.Addrs, err)
	}
	return c, nil
}

// Embedded returns the in-process Redis, or nil when a real one is used.
func (c *Client) Embedded() *miniredis.Miniredis { return c.embedded }

// IsCluster reports whether rdb (a *Client or a go-redis client) talks to a
// Redis Cluster, where a script may name only keys of one slot.
func IsCluster(rdb redis.UniversalClient) bool {
	if c, ok := rdb.(*Client); ok {
		rdb = c.UniversalClient
	}
	_, ok := rdb.(*redis.ClusterClient)
	return ok
}

// Close closes the client and stops the embedded Redis, if any.
func (c *Client) Close() error {
	err := c.UniversalClient.Close()
	if c.embedded != nil {
		c.embedded.Close()
	}
	return err
}

// IsUnavailable reports whether err means Redis could not be reached or did
// not answer in time, as opposed to a missing key or a script error.
func IsUnavailable(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) {
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, redis.ErrClosed) || errors.Is(err, redis.ErrPoolTimeout) ||
		errors.Is(err, net.ErrClosed) || isConnError(err)
}

// Err is a Redis failure as a service answers it: nil for none (or a
// missing key), the 503 "unavailable" error when Redis did not answer, and
// otherwise the error under the name of the package that met it (what).
func Err(what string, err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		return nil
	}
	if IsUnavailable(err) {
		return apperr.Unavailable(err)
	}
	return fmt.Errorf("%s: redis: %w", what, err)
}

func isConnError(err error) bool {
	msg := err.Error()
	for _, s := range []string{"connection refused", "EOF", "broken pipe", "connection reset", "i/o timeout", "LOADING", "READONLY", "CLUSTERDOWN", "MASTERDOWN"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// deadlineHook bounds each call, its retry included, by the configured
// timeout. Without it a Redis that accepts connections but does not answer
// (frozen, or a network that drops packets) costs a read timeout, then the
// same again for the client's retry: twice the timeout before a 503.
type deadlineHook struct{ timeout time.Duration }

func (h deadlineHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h deadlineHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.timeout <= 0 || blocking[cmd.Name()] {
			return next(ctx, cmd)
		}
		ctx, cancel := h.bound(ctx)
		defer cancel()
		return next(ctx, cmd)
	}
}

func (h deadlineHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if h.timeout <= 0 {
			return next(ctx, cmds)
		}
		for _, cmd := range cmds {
			if blocking[cmd.Name()] {
				return next(ctx, cmds)
			}
		}
		ctx, cancel := h.bound(ctx)
		defer cancel()
		return next(ctx, cmds)
	}
}

// bound returns ctx with the timeout as its deadline, unless it already
// has an earlier one.
func (h deadlineHook) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= h.timeout {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, h.timeout)
}

// blocking names the commands that wait on the server by design; they keep
// their own timeouts.
var blocking = map[string]bool{
	"blpop": true, "brpop": true, "brpoplpush": true, "blmove": true, "blmpop": true,
	"bzpopmin": true, "bzpopmax": true, "bzmpop": true, "xread": true, "xreadgroup": true,
	"wait": true, "waitaof": true, "subscribe": true, "psubscribe": true, "ssubscribe": true,
}

// Keys lists the keys matching pattern, on every master of a Redis Cluster
// (SCAN asks one node only). For tools and tests: it walks the whole key
// space.
func Keys(ctx context.Context, rdb redis.UniversalClient, pattern string) ([]string, error) {
	if c, ok := rdb.(*Client); ok {
		rdb = c.UniversalClient
	}
	var out []string
	var mu sync.Mutex
	scan := func(ctx context.Context, node redis.UniversalClient) error {
		iter := node.Scan(ctx, 0, pattern, 500).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			out = append(out, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error { return scan(ctx, node) })
		return out, err
	}
	return out, scan(ctx, rdb)
}

// Del deletes keys one DEL each, in one pipeline: on a Redis Cluster they
// may sit on many slots, which one DEL may not span.
func Del(ctx context.Context, rdb redis.UniversalClient, keys ...string) error {
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Del(ctx, k)
		}
		return nil
	})
	return err
}
