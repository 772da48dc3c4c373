// Package benchapp is what the benchmark commands under server/cmd share:
// the flags that name the scratch database and Redis, the way they exit,
// and the real app they build on that database, as the server would build
// it from the same APP_* settings.
package benchapp

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/redis/go-redis/v9"

	"xianfeng/config"
	"xianfeng/server/internal/app"
	"xianfeng/server/internal/logging"
)

// Flags name the scratch database and the Redis a benchmark uses.
type Flags struct {
	DB, Redis string
}

// Register declares -db (the PostgreSQL URL of db, which says what the
// database must be) and -redis.
func (f *Flags) Register(db string) {
	flag.StringVar(&f.DB, "db", "", "PostgreSQL URL of the "+db)
	flag.StringVar(&f.Redis, "redis", "redis://127.0.0.1:6379/0", "Redis URL")
}

// Tree is the size of the org tree a benchmark seeds with org.Seed.
type Tree struct {
	Orgs, Members int
}

// Register declares -orgs and -members with their defaults; use, when not
// empty, says which modes read them, e.g. " (seed)".
func (t *Tree) Register(orgs, members int, use string) {
	flag.IntVar(&t.Orgs, "orgs", orgs, "orgs to seed, root included"+use)
	flag.IntVar(&t.Members, "members", members, "memberships to seed"+use)
}

// Main parses the command line and runs the benchmark. A command line that
// valid refuses, or one with arguments, prints the usage and exits 2; a run
// that fails prints "name: error" and exits 1. name is asked after parsing,
// so that it can name a mode.
func Main(name func() string, valid func() bool, run func() error) {
	flag.Parse()
	if flag.NArg() > 0 || !valid() {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name(), err)
		os.Exit(1)
	}
}

// Settings are the APP_* settings of a benchmark's app: development, with
// the WeChat mock, its keys under Prefix and its jobs under Namespace.
type Settings struct {
	Flags
	Prefix, Namespace string
	LogLevel          string
}

// Config loads the configuration the server would load from s.
func (s Settings) Config() (config.Config, error) {
	env := map[string]string{
		"APP_ENV": config.EnvDevelopment, "APP_DATABASE_URL": s.DB, "APP_REDIS_URL": s.Redis,
		"APP_REDIS_KEY_PREFIX": s.Prefix, "APP_QUEUE_NAMESPACE": s.Namespace, "APP_LOG_LEVEL": s.LogLevel,
		"APP_WECHAT_MOCK": "true",
	}
	return config.Load("", config.Vars(env).Get)
}

// Postgres returns the dialect -db names and whether it is PostgreSQL, the
// database the goals are about.
func Postgres(db string) (string, bool, error) {
	dialect, _, err := config.ParseDatabaseURL(db)
	return dialect, dialect == config.DialectPostgres, err
}

// WarnUnlessPostgres prints a warning, as name, when db is not PostgreSQL:
// the benchmark runs, but its figures are not the ones a goal is about.
func WarnUnlessPostgres(name, db string) error {
	dialect, ok, err := Postgres(db)
	if err == nil && !ok {
		fmt.Fprintf(os.Stderr, "%s: warning: %s, not PostgreSQL: the figures are not the ones the goal is about\n", name, dialect)
	}
	return err
}

// RedisInfo returns field of the INFO section of rdb (redis_version of
// "server", used_memory of "memory").
func RedisInfo(ctx context.Context, rdb redis.UniversalClient, section, field string) (string, error) {
	info, err := rdb.Info(ctx, section).Result()
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("INFO %s has no %s", section, field)
}

// Open builds the real app on cfg, logging to standard error.
func Open(ctx context.Context, cfg config.Config, opts app.Options) (*app.App, error) {
	a, err := app.New(ctx, cfg, logging.New(os.Stderr, cfg.Log.Level, cfg.Log.Format), opts)
	if err != nil {
		return nil, fmt.Errorf("build app: %w", err)
	}
	return a, nil
}

// Machine prints the machine and the database a benchmark measures: CPUs,
// Go, GOMAXPROCS, the database's version and the pool size, then more.
func Machine(ctx context.Context, a *app.App, more string) error {
	var version string
	if err := a.DB.WithContext(ctx).Raw("SELECT version()").Scan(&version).Error; err != nil {
		return fmt.Errorf("database version: %w", err)
	}
	fmt.Printf("machine: %d CPUs, %s %s/%s, GOMAXPROCS=%d\n", runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	fmt.Printf("database: %s (%s), pool %d%s\n", a.DB.Dialect, version, a.Config.Database.MaxOpenConns, more)
	return nil
}
