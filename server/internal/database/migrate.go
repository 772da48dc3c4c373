package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"xianfeng/config"
)

// Migration is one versioned change to the schema. Up receives a handle bound
// to the migration's connection (a transaction where the dialect allows DDL in
// one). A migration, once released, never changes: later changes are new
// migrations.
type Migration struct {
	Version int
	Name    string
	Up      func(tx *gorm.DB) error
}

// schemaMigration records an applied migration.
type schemaMigration struct {
	Version   int    `gorm:"primaryKey;autoIncrement:false"`
	Name      string `gorm:"size:200;not null"`
	AppliedAt time.Time
}

func (schemaMigration) TableName() string { return "schema_migrations" }

// lockKey names the advisory lock that serialises migrators across instances.
const lockKey = 7481_2026

// Migrate applies every migration in list that the database has not applied
// yet, in version order. Several instances may call it at once: on PostgreSQL
// and MySQL an advisory lock lets one migrate while the others wait, and on
// SQLite the whole run is one immediate transaction.
func Migrate(ctx context.Context, db *DB, list []Migration, log *slog.Logger) error {
	for i := 1; i < len(list); i++ {
		if list[i].Version <= list[i-1].Version {
			return fmt.Errorf("migrate: versions out of order at %d", list[i].Version)
		}
	}
	if db.Dialect == config.DialectSQLite {
		return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return apply(tx, list, log, false)
		})
	}
	unlock, err := db.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	return apply(db.WithContext(ctx), list, log, db.Dialect == config.DialectPostgres)
}

func apply(db *gorm.DB, list []Migration, log *slog.Logger, txDDL bool) error {
	if err := db.AutoMigrate(&schemaMigration{}); err != nil {
		return fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	var done []int
	if err := db.Model(&schemaMigration{}).Pluck("version", &done).Error; err != nil {
		return fmt.Errorf("migrate: read applied versions: %w", err)
	}
	applied := make(map[int]bool, len(done))
	for _, v := range done {
		applied[v] = true
	}
	for _, m := range list {
		if applied[m.Version] {
			continue
		}
		run := func(tx *gorm.DB) error {
			if err := m.Up(tx); err != nil {
				return fmt.Errorf("migrate: %d %s: %w", m.Version, m.Name, err)
			}
			return tx.Create(&schemaMigration{Version: m.Version, Name: m.Name, AppliedAt: time.Now().UTC()}).Error
		}
		var err error
		if txDDL {
			err = db.Transaction(run)
		} else {
			err = run(db)
		}
		if err != nil {
			return err
		}
		log.Info("migration applied", "version", m.Version, "name", m.Name)
	}
	return nil
}

// ErrSchemaBehind says the database lacks migrations that this binary has.
var ErrSchemaBehind = errors.New("database schema is behind this binary's migrations")

// Pending returns the versions in list that the database has not applied,
// in order: all of them when it was never migrated.
func Pending(ctx context.Context, db *DB, list []Migration) ([]int, error) {
	tx := db.WithContext(ctx)
	var pending []int
	if !tx.Migrator().HasTable(&schemaMigration{}) {
		for _, m := range list {
			pending = append(pending, m.Version)
		}
		return pending, nil
	}
	var done []int
	if err := tx.Model(&schemaMigration{}).Pluck("version", &done).Error; err != nil {
		return nil, fmt.Errorf("database.Pending: %w", err)
	}
	applied := make(map[int]bool, len(done))
	for _, v := range done {
		applied[v] = true
	}
	for _, m := range list {
		if !applied[m.Version] {
			pending = append(pending, m.Version)
		}
	}
	return pending, nil
}

// SchemaCheck is the readiness check of the schema: a process whose
// database lacks some of its migrations must not take traffic, since
// production does not migrate at start. The migrations an older binary does
// not know are no concern (a rollout runs `server migrate` first).
type SchemaCheck struct {
	db      *DB
	list    []Migration
	log     *slog.Logger
	current atomic.Bool // set once every migration is applied; stays set
	warned  atomic.Bool // the operator was told to migrate
}

// NewSchemaCheck returns the check of db against the migrations in list.
func NewSchemaCheck(db *DB, list []Migration, log *slog.Logger) *SchemaCheck {
	return &SchemaCheck{db: db, list: list, log: log}
}

// Check returns nil when every migration in the list is applied, and
// ErrSchemaBehind when some are not; the first time, it logs which and that
// `server migrate` applies them. Once current it stays current without
// asking the database again.
func (s *SchemaCheck) Check(ctx context.Context) error {
	if s.current.Load() {
		return nil
	}
	pending, err := Pending(ctx, s.db, s.list)
	if err != nil {
		return err
	}
	if len(pending) > 0 {
		if s.warned.CompareAndSwap(false, true) {
			s.log.ErrorContext(ctx, "the database schema is behind this binary: not ready until `server migrate` has run",
				"pending", pending, "dialect", s.db.Dialect)
		}
		return fmt.Errorf("%w: %d pending", ErrSchemaBehind, len(pending))
	}
	if s.current.CompareAndSwap(false, true) && s.warned.Load() {
		s.log.InfoContext(ctx, "the database schema is now current")
	}
	return nil
}

// lock takes the cross-instance migration lock on one dedicated connection
// and returns the function that releases it.
func (db *DB) lock(ctx context.Context) (func(), error) {
	sqlDB, err := db.DB.DB()
	if err != nil {
		return nil, err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: lock connection: %w", err)
	}
	var lockSQL, unlockSQL string
	switch db.Dialect {
	case config.DialectPostgres:
		lockSQL, unlockSQL = fmt.Sprintf("SELECT pg_advisory_lock(%d)", lockKey), fmt.Sprintf("SELECT pg_advisory_unlock(%d)", lockKey)
	case config.DialectMySQL:
		lockSQL, unlockSQL = fmt.Sprintf("SELECT GET_LOCK('xianfeng_migrate_%d', 300)", lockKey), fmt.Sprintf("SELECT RELEASE_LOCK('xianfeng_migrate_%d')", lockKey)
	}
	var got sql.NullInt64
	if db.Dialect == config.DialectPostgres {
		_, err = conn.ExecContext(ctx, lockSQL)
		got.Int64 = 1
	} else {
		err = conn.QueryRowContext(ctx, lockSQL).Scan(&got)
	}
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("migrate: take lock: %w", err)
	}
	if got.Int64 != 1 {
		_ = conn.Close()
		return nil, fmt.Errorf("migrate: another instance held the migration lock for over 300s")
	}
	return func() {
		_, _ = conn.ExecContext(context.Background(), unlockSQL)
		_ = conn.Close()
	}, nil
}
