// Package database opens the relational store (SQLite, PostgreSQL or MySQL)
// through gorm and applies the versioned schema migrations.
package database

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"xianfeng/config"
)

// Options are the settings Open needs.
type Options struct {
	URL          string
	MaxOpenConns int
	ConnMaxLife  time.Duration
	// Log is required.
	Log *slog.Logger
	// Now stamps the columns gorm fills (created_at, updated_at) and what
	// code reads through NowFunc; time.Now when nil.
	Now func() time.Time
}

// DB is an open database with its dialect.
type DB struct {
	*gorm.DB
	Dialect string
	// Queue lines up the hot statements for the pool in the order they
	// came (see Gate).
	Queue Gate
}

// Gate lets at most its size of callers through at a time and wakes the
// waiting ones in the order they came. It stands in front of the
// connection pool on hot paths: when every connection is busy,
// database/sql gives a freed connection to a waiting request picked at
// random, so under a load larger than the pool a request could wait for
// many others that came after it — the new check-in's p99 was twice its
// median's share because of it. A goroutine blocked sending on a full
// channel is woken first in, first out, and past the gate a connection
// is free (the gate is no larger than the pool), so the wait is fair.
type Gate chan struct{}

// NewGate returns a gate letting n callers through at a time.
func NewGate(n int) Gate { return make(Gate, max(n, 1)) }

// Enter waits for a turn (or for ctx to end); a nil gate lets everyone in.
func (g Gate) Enter(ctx context.Context) error {
	if g == nil {
		return nil
	}
	select {
	case g <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Leave ends a turn that Enter began.
func (g Gate) Leave() {
	if g != nil {
		<-g
	}
}

// Open connects to the database named by opts.URL and sizes its pool. For
// SQLite it creates the file's directory and turns on WAL, foreign keys and a
// busy timeout, so concurrent writers wait instead of failing.
func Open(ctx context.Context, opts Options) (*DB, error) {
	if opts.Log == nil {
		panic("database.Open: Options.Log is required")
	}
	clock := opts.Now
	if clock == nil {
		clock = time.Now
	}
	dialect, dsn, err := config.ParseDatabaseURL(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	var dialector gorm.Dialector
	switch dialect {
	case config.DialectSQLite:
		dsn, err = sqliteDSN(dsn)
		if err != nil {
			return nil, err
		}
		dialector = sqlite.Open(dsn)
	case config.DialectPostgres:
		dialector = postgres.Open(dsn)
	case config.DialectMySQL:
		dialector = mysql.Open(dsn)
	}
	gdb, err := gorm.Open(dialector, &gorm.Config{
		SkipDefaultTransaction: true,
		TranslateError:         true,
		Logger:                 newGormLogger(opts.Log),
		NowFunc:                func() time.Time { return clock().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("database: open %s: %w", dialect, redactErr(err))
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	// Keep as many idle connections as open ones: the database/sql default of
	// two makes every burst open new connections (see DESIGN.md).
	sqlDB.SetMaxOpenConns(opts.MaxOpenConns)
	sqlDB.SetMaxIdleConns(opts.MaxOpenConns)
	sqlDB.SetConnMaxLifetime(opts.ConnMaxLife)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("database: connect %s: %w", dialect, redactErr(err))
	}
	return &DB{DB: gdb, Dialect: dialect, Queue: NewGate(opts.MaxOpenConns)}, nil
}

// Close closes the connection pool.
func (db *DB) Close() error {
	sqlDB, err := db.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Ping checks that the database answers within ctx's deadline.
func (db *DB) Ping(ctx context.Context) error {
	sqlDB, err := db.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

func sqliteDSN(path string) (string, error) {
	if path != ":memory:" && !strings.HasPrefix(path, "file:") {
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return "", fmt.Errorf("database: create directory for %s: %w", path, err)
			}
		}
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + q.Encode(), nil
}

// redactErr keeps driver errors from echoing a password that was part of the DSN.
func redactErr(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "password="); i >= 0 {
		return errors.New(msg[:i] + "password=******")
	}
	return err
}

type gormLogger struct {
	log  *slog.Logger
	slow time.Duration
}

// newGormLogger logs slow queries and database errors through slog. Queries
// are logged without their parameters, so no phone number or token reaches the log.
func newGormLogger(log *slog.Logger) logger.Interface {
	return &gormLogger{log: log, slow: 200 * time.Millisecond}
}

func (l *gormLogger) LogMode(logger.LogLevel) logger.Interface { return l }
func (l *gormLogger) Info(ctx context.Context, msg string, args ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(msg, args...))
}
func (l *gormLogger) Warn(ctx context.Context, msg string, args ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(msg, args...))
}
func (l *gormLogger) Error(ctx context.Context, msg string, args ...any) {
	l.log.ErrorContext(ctx, fmt.Sprintf(msg, args...))
}

// ParamsFilter drops the values of every query from log lines.
func (l *gormLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}

func (l *gormLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	switch {
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound) && !errors.Is(err, gorm.ErrDuplicatedKey) && !errors.Is(err, context.Canceled):
		sql, _ := fc()
		l.log.WarnContext(ctx, "database query failed", "sql", sql, "duration_ms", elapsed.Milliseconds(), "err", err)
	case elapsed > l.slow:
		sql, rows := fc()
		l.log.WarnContext(ctx, "slow database query", "sql", sql, "rows", rows, "duration_ms", elapsed.Milliseconds())
	}
}

// Retryable reports whether err is a deadlock or serialization failure that
// the database resolved by aborting this transaction: running the same
// transaction again is the fix (MySQL/MariaDB 1213 and 1205, PostgreSQL
// 40P01 and 40001).
func Retryable(err error) bool {
	var my *mysqldriver.MySQLError
	if errors.As(err, &my) {
		return my.Number == 1213 || my.Number == 1205
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40P01" || pg.Code == "40001"
	}
	return false
}

// Transact runs fn in a transaction, again (up to three times in all) when
// the database aborted it to break a deadlock between concurrent writers.
// What fn registers with AfterCommit runs once the transaction committed.
func Transact(ctx context.Context, db *gorm.DB, fn func(tx *gorm.DB) error) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var after []func(context.Context)
		tctx := context.WithValue(ctx, afterCommitKey{}, &after)
		if err = db.WithContext(tctx).Transaction(fn); err == nil {
			// What follows a commit is owed whether or not the caller
			// still waits (a client gone at this instant).
			for _, f := range after {
				f(context.WithoutCancel(ctx))
			}
			return nil
		}
		if !Retryable(err) {
			return err
		}
	}
	return err
}

type afterCommitKey struct{}

// AfterCommit has f run, with the transaction's context (its values, not
// its cancellation), right after tx commits, when tx is a transaction of Transact (an attempt rolled back
// runs nothing). It reports false, and f never runs, for any other tx: the
// caller then leaves the work to a sweep.
func AfterCommit(tx *gorm.DB, f func(context.Context)) bool {
	after, ok := tx.Statement.Context.Value(afterCommitKey{}).(*[]func(context.Context))
	if ok {
		*after = append(*after, f)
	}
	return ok
}

// Take reads the row of type T whose id is id. No such row is notFound (the
// domain's own error); any other failure comes back as the database gave it.
func Take[T any](db *gorm.DB, id int64, notFound error) (T, error) {
	var row, zero T
	err := db.Take(&row, "id = ?", id).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return zero, notFound
	case err != nil:
		return zero, err
	}
	return row, nil
}

// Newest reads the rows of q newest first (by id), before the id before (0:
// from the newest), at most limit of them: the page query of every list.
func Newest[T any](q *gorm.DB, before int64, limit int) ([]T, error) {
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	var out []T
	if err := q.Order("id DESC").Limit(limit).Find(&out).Error; err != nil {
		return nil, err
	}
	return out, nil
}
