package wechat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/cache"
)

// defaultCacheTTL is used when the library asks to store a value with a
// non-positive timeout. The library computes the access token's lifetime as
// WeChat's expires_in minus 1500 s, so a non-positive timeout means a token
// that lives 25 minutes or less: keep it briefly rather than forever (a zero
// TTL would make Redis keep the key with no expiry, a negative one is
// rejected). A token WeChat rejects earlier is evicted on 40001/42001 anyway.
const defaultCacheTTL = 5 * time.Minute

// redisCache implements the library's cache.ContextCache on our go-redis v9
// client, so every server instance shares one access token. Keys are stored
// under prefix. Get returns the stored string, or nil when the key is
// missing or Redis fails (the library then fetches a fresh token).
type redisCache struct {
	rdb    redis.UniversalClient
	prefix string
	log    *slog.Logger
}

var _ cache.ContextCache = (*redisCache)(nil)

func newRedisCache(rdb redis.UniversalClient, prefix string, log *slog.Logger) *redisCache {
	return &redisCache{rdb: rdb, prefix: prefix, log: log}
}

func (c *redisCache) key(k string) string { return c.prefix + k }

// Get returns the value stored under key as a string, or nil.
func (c *redisCache) Get(key string) interface{} {
	return c.GetContext(context.Background(), key)
}

// GetContext returns the value stored under key as a string, or nil.
func (c *redisCache) GetContext(ctx context.Context, key string) interface{} {
	val, err := c.rdb.Get(ctx, c.key(key)).Result()
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			c.log.WarnContext(ctx, "wechat cache: get failed", "key", key, "error", err)
		}
		return nil
	}
	return val
}

// Set stores val under key for timeout; a non-positive timeout stores it
// for defaultCacheTTL.
func (c *redisCache) Set(key string, val interface{}, timeout time.Duration) error {
	return c.SetContext(context.Background(), key, val, timeout)
}

// SetContext stores val under key for timeout; a non-positive timeout stores
// it for defaultCacheTTL.
func (c *redisCache) SetContext(ctx context.Context, key string, val interface{}, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = defaultCacheTTL
	}
	if err := c.rdb.Set(ctx, c.key(key), val, timeout).Err(); err != nil {
		return fmt.Errorf("%w: set %s: %w", errCache, key, err)
	}
	return nil
}

// IsExist reports whether key is stored.
func (c *redisCache) IsExist(key string) bool {
	return c.IsExistContext(context.Background(), key)
}

// IsExistContext reports whether key is stored.
func (c *redisCache) IsExistContext(ctx context.Context, key string) bool {
	n, err := c.rdb.Exists(ctx, c.key(key)).Result()
	if err != nil {
		c.log.WarnContext(ctx, "wechat cache: exists failed", "key", key, "error", err)
		return false
	}
	return n > 0
}

// Delete removes key.
func (c *redisCache) Delete(key string) error {
	return c.DeleteContext(context.Background(), key)
}

// DeleteContext removes key.
func (c *redisCache) DeleteContext(ctx context.Context, key string) error {
	if err := c.rdb.Del(ctx, c.key(key)).Err(); err != nil {
		return fmt.Errorf("%w: delete %s: %w", errCache, key, err)
	}
	return nil
}
