package testenv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"xianfeng/config"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/logging"
)

// The migrated SQLite database, built once per test binary: migrating a
// fresh file was a quarter of the CPU that a package's tests spent, since
// every test starts its own server. Each test gets a copy of the bytes, so
// tests stay as independent as with a file migrated for each.
var template struct {
	once  sync.Once
	bytes []byte
	err   error
}

// fromTemplate writes the migrated database to the SQLite file that url
// names, if that file does not exist yet; other databases (TEST_DATABASE_URL)
// are left to the server's own migration. The server still runs Migrate at
// start, and finds nothing pending.
func fromTemplate(url string) error {
	dialect, path, err := config.ParseDatabaseURL(url)
	if err != nil || dialect != config.DialectSQLite || path == ":memory:" {
		return err
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return err // there already, or not to be looked at: leave it to the server
	}
	template.once.Do(func() { template.bytes, template.err = migratedSQLite() })
	if template.err != nil {
		return fmt.Errorf("migrate the template database: %w", template.err)
	}
	return os.WriteFile(path, template.bytes, 0o600)
}

// migratedSQLite migrates a new SQLite file and returns its bytes, with the
// write-ahead log folded in so that the file alone is the whole database.
func migratedSQLite() ([]byte, error) {
	dir, err := os.MkdirTemp("", "xianfeng-template-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "template.db")
	ctx := context.Background()
	db, err := database.Open(ctx, database.Options{URL: "sqlite:" + path, MaxOpenConns: 1, Log: logging.Discard()})
	if err != nil {
		return nil, err
	}
	err = database.Migrate(ctx, db, database.Migrations, logging.Discard())
	if err == nil {
		err = db.Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}
