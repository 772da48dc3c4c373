package wechat

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

func newTestRedis(t *testing.T) (*miniredis.Miniredis, *redis.Client) {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	return mr, rdb
}

func TestRedisCache(t *testing.T) {
	log := slog.New(slog.DiscardHandler)

	t.Run("a stored value comes back as a string under the prefixed key", func(t *testing.T) {
		mr, rdb := newTestRedis(t)
		c := newRedisCache(rdb, "xf:wechat:", log)
		if err := c.Set("tok", "abc", time.Hour); err != nil {
			t.Fatal(err)
		}
		v, ok := c.Get("tok").(string)
		if !ok || v != "abc" {
			t.Errorf("Get = %#v, want string \"abc\"", c.Get("tok"))
		}
		if got, _ := mr.Get("xf:wechat:tok"); got != "abc" {
			t.Errorf("redis xf:wechat:tok = %q, want abc", got)
		}
		if ttl := mr.TTL("xf:wechat:tok"); ttl != time.Hour {
			t.Errorf("TTL = %v, want 1h", ttl)
		}
	})

	t.Run("a missing key is nil", func(t *testing.T) {
		_, rdb := newTestRedis(t)
		c := newRedisCache(rdb, "xf:wechat:", log)
		if v := c.Get("nope"); v != nil {
			t.Errorf("Get = %#v, want nil", v)
		}
		if c.IsExist("nope") {
			t.Error("IsExist = true for a missing key")
		}
	})

	for _, ttl := range []time.Duration{0, -1500 * time.Second} {
		t.Run("a non-positive timeout stores the value with the default expiry, "+ttl.String(), func(t *testing.T) {
			mr, rdb := newTestRedis(t)
			c := newRedisCache(rdb, "xf:wechat:", log)
			if err := c.Set("tok", "abc", ttl); err != nil {
				t.Fatalf("Set with timeout %v: %v", ttl, err)
			}
			if got := mr.TTL("xf:wechat:tok"); got != defaultCacheTTL {
				t.Errorf("TTL = %v, want %v", got, defaultCacheTTL)
			}
			mr.FastForward(defaultCacheTTL + time.Second)
			if c.IsExist("tok") {
				t.Error("the value outlived the default expiry")
			}
		})
	}

	t.Run("delete removes the value", func(t *testing.T) {
		_, rdb := newTestRedis(t)
		c := newRedisCache(rdb, "xf:wechat:", log)
		_ = c.Set("tok", "abc", time.Hour)
		if !c.IsExist("tok") {
			t.Fatal("IsExist = false after Set")
		}
		if err := c.Delete("tok"); err != nil {
			t.Fatal(err)
		}
		if c.IsExist("tok") || c.Get("tok") != nil {
			t.Error("value still there after Delete")
		}
	})

	t.Run("a Redis outage reads as missing and fails writes as unavailable", func(t *testing.T) {
		mr := miniredis.RunT(t)
		// One dial per command: the client's default of five, 100 ms apart,
		// would only make the test wait for the same refusal.
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1, DialerRetries: 1})
		t.Cleanup(func() { _ = rdb.Close() })
		c := newRedisCache(rdb, "xf:wechat:", log)
		mr.Close()
		if v := c.Get("tok"); v != nil {
			t.Errorf("Get = %#v, want nil", v)
		}
		err := c.Set("tok", "abc", time.Hour)
		if !errors.Is(err, errCache) {
			t.Fatalf("Set error = %v, want errCache", err)
		}
		if kind, _ := classify(err); kind != ErrUnavailable {
			t.Errorf("classify(Set error) = %v, want ErrUnavailable", kind)
		}
	})
}
