// Package testdb gives a test its own database and Redis key space, and a
// wait for what runs on its own schedule, without building the server: the
// packages whose tests need only that (the migrations, the queue, the
// commands) link it instead of all of testenv, whose test binaries link the
// whole server (about 3.7 s of linking each on a 2-core machine).
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"xianfeng/config"
	"xianfeng/server/internal/logging"
	"xianfeng/server/internal/redisdb"
)

// Config returns a development configuration on this test's own database
// and Redis key space.
func Config(t testing.TB) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Log.Level = "error"
	suffix := RandomSuffix()
	cfg.Database.URL = Database(t, suffix)
	cfg.Media.URL = "file:" + filepath.Join(t.TempDir(), "media")
	if raw := os.Getenv("TEST_REDIS_URL"); raw != "" {
		cfg.Redis.URL = raw
	} else if addrs := os.Getenv("TEST_REDIS_ADDRS"); addrs != "" {
		// Redis Cluster (several addresses) or Sentinel (with TEST_REDIS_MASTER).
		cfg.Redis.Addrs = strings.Split(addrs, ",")
		cfg.Redis.MasterName = os.Getenv("TEST_REDIS_MASTER")
	}
	if !cfg.EmbeddedRedis() {
		cfg.Redis.KeyPrefix = "test" + suffix + ":"
		cfg.Queue.Namespace = "test" + suffix
		r := cfg.Redis
		t.Cleanup(func() { cleanRedis(r, r.KeyPrefix, cfg.Queue.Namespace) })
	}
	return cfg
}

// Database returns the URL of an empty database for this test: a SQLite
// file, or a fresh PostgreSQL schema or MySQL database on the server that
// TEST_DATABASE_URL names, dropped when the test ends.
func Database(t testing.TB, suffix string) string {
	t.Helper()
	raw := os.Getenv("TEST_DATABASE_URL")
	if raw == "" {
		return "sqlite:" + filepath.Join(t.TempDir(), "test.db")
	}
	dialect, dsn, err := config.ParseDatabaseURL(raw)
	if err != nil {
		t.Fatalf("testdb: TEST_DATABASE_URL: %v", err)
	}
	name := "t_" + suffix
	quiet := &gorm.Config{Logger: logger.Discard}
	switch dialect {
	case config.DialectPostgres:
		admin, err := gorm.Open(postgres.Open(dsn), quiet)
		if err != nil {
			t.Fatalf("testdb: connect postgres: %v", err)
		}
		must(t, admin.Exec("CREATE SCHEMA "+name).Error)
		t.Cleanup(func() {
			_ = admin.Exec("DROP SCHEMA " + name + " CASCADE").Error
			closeGorm(admin)
		})
		u, _ := url.Parse(raw)
		q := u.Query()
		q.Set("search_path", name)
		u.RawQuery = q.Encode()
		return u.String()
	case config.DialectMySQL:
		admin, err := gorm.Open(mysql.Open(dsn), quiet)
		if err != nil {
			t.Fatalf("testdb: connect mysql: %v", err)
		}
		must(t, admin.Exec("CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci").Error)
		t.Cleanup(func() {
			_ = admin.Exec("DROP DATABASE " + name).Error
			closeGorm(admin)
		})
		u, _ := url.Parse(raw)
		u.Path = "/" + name
		return u.String()
	default:
		return raw
	}
}

func closeGorm(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		_ = sqlDB.Close()
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
}

// RandomSuffix names a test's schema, key prefix and queue namespace.
func RandomSuffix() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// cleanRedis deletes this test's keys and its asynq queues.
func cleanRedis(cfg config.Redis, prefix, namespace string) {
	ctx := context.Background()
	rdb, err := redisdb.Open(ctx, cfg, logging.Discard()) // the server's own way from settings to a client
	if err != nil {
		return
	}
	defer rdb.Close()
	for _, pattern := range []string{prefix + "*", "asynq:{" + namespace + ":*"} {
		if keys, err := redisdb.Keys(ctx, rdb, pattern); err == nil {
			_ = redisdb.Del(ctx, rdb, keys...)
		}
	}
	for _, q := range []string{"critical", "default", "low"} {
		rdb.SRem(ctx, "asynq:queues", namespace+":"+q)
	}
}
