// Command redismem measures the Redis memory that active sessions take: it
// creates -n sessions through the server's own session store
// (auth.Sessions.Create, one per user, as a login does), reads INFO memory
// before and after, and prints the growth per session and per 100,000
// sessions, then deletes them. Run it against a Redis of its own
// (scripts/redis-memory.sh starts one), since INFO counts the whole server.
//
// Usage:
//
//	go run ./server/cmd/redismem -redis redis://127.0.0.1:7201/0 [-n 100000]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"xianfeng/server/cmd/internal/benchapp"
	"xianfeng/server/internal/auth"
	"xianfeng/server/internal/redisdb"
)

func main() {
	url := flag.String("redis", "redis://127.0.0.1:7201/0", "the Redis to measure on (its own server: INFO counts everything)")
	n := flag.Int("n", 100000, "sessions to create")
	flag.Parse()
	if err := run(*url, *n); err != nil {
		fmt.Fprintln(os.Stderr, "redismem:", err)
		os.Exit(1)
	}
}

func usedMemory(ctx context.Context, rdb redis.UniversalClient) (int64, error) {
	v, err := benchapp.RedisInfo(ctx, rdb, "memory", "used_memory")
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(v, 10, 64)
}

func run(url string, n int) error {
	ctx := context.Background()
	opts, err := redis.ParseURL(url)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	const prefix = "redismem:"
	store := auth.NewSessions(rdb, prefix, 30*24*time.Hour)
	before, err := usedMemory(ctx, rdb)
	if err != nil {
		return err
	}
	start := time.Now()
	for i := range n {
		// An openid and a session_key of WeChat's lengths (28 and 24 characters).
		sess := auth.Session{UserID: int64(1_000_000 + i), OpenID: fmt.Sprintf("oXfMem%022d", i), SessionKey: fmt.Sprintf("sk%022d", i)}
		if _, _, err := store.Create(ctx, sess); err != nil {
			return fmt.Errorf("session %d: %w", i, err)
		}
	}
	took := time.Since(start)
	after, err := usedMemory(ctx, rdb)
	if err != nil {
		return err
	}
	per := float64(after-before) / float64(n)
	fmt.Printf("redis-memory: %d sessions made by auth.Sessions.Create in %v: used_memory %s → %s, %.0f bytes a session, %.1f MB per 100,000 sessions\n",
		n, took.Round(time.Millisecond), mb(before), mb(after), per, per*100000/1e6)
	keys, err := redisdb.Keys(ctx, rdb, prefix+"*")
	if err != nil {
		return err
	}
	return redisdb.Del(ctx, rdb, keys...)
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }
