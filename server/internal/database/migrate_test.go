package database_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/database"
	"xianfeng/server/internal/logging"
	"xianfeng/server/internal/testenv/testdb"
)

// freshURL returns the URL of an empty database of its own: a SQLite file by
// default, or a new PostgreSQL schema or MySQL database under TEST_DATABASE_URL.
func freshURL(t *testing.T) string {
	t.Helper()
	var b [5]byte
	_, _ = rand.Read(b[:])
	return testdb.Database(t, hex.EncodeToString(b[:]))
}

func open(t *testing.T, url string) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), database.Options{
		URL: url, MaxOpenConns: 4, ConnMaxLife: time.Minute, Log: logging.Discard(),
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// migratedTo opens an empty database with the migrations up to version
// applied, as a database was before the later ones, and returns it with an
// exec that fails the test on any error.
func migratedTo(t *testing.T, version int) (*database.DB, func(sql string, args ...any)) {
	t.Helper()
	db := open(t, freshURL(t))
	var before []database.Migration
	for _, m := range database.Migrations {
		if m.Version <= version {
			before = append(before, m)
		}
	}
	if err := database.Migrate(context.Background(), db, before, logging.Discard()); err != nil {
		t.Fatal(err)
	}
	return db, func(sql string, args ...any) {
		t.Helper()
		if err := db.Exec(sql, args...).Error; err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

// appliedVersions lists schema_migrations, one entry per row, in order.
func appliedVersions(t *testing.T, db *database.DB) []int {
	t.Helper()
	var got []int
	if err := db.Table("schema_migrations").Order("version").Pluck("version", &got).Error; err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return got
}

func versionsOf(list []database.Migration) []int {
	var out []int
	for _, m := range list {
		out = append(out, m.Version)
	}
	return out
}

// createTable is a migration that creates a one-column table and counts its runs.
func createTable(version int, table string, runs *atomic.Int32) database.Migration {
	return database.Migration{Version: version, Name: "create " + table, Up: func(tx *gorm.DB) error {
		if runs != nil {
			runs.Add(1)
		}
		type row struct {
			ID   int64  `gorm:"primaryKey"`
			Note string `gorm:"size:64"`
		}
		return tx.Table(table).AutoMigrate(&row{})
	}}
}

func TestMigrateBuildsTheSchemaOnce(t *testing.T) {
	tests := []struct {
		name string
		runs int
	}{
		{"one run on an empty database creates the tables and records each version", 1},
		{"running it again applies nothing and records nothing twice", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t, freshURL(t))
			var widgetRuns atomic.Int32
			list := append(append([]database.Migration{}, database.Migrations...),
				createTable(database.Migrations[len(database.Migrations)-1].Version+1, "widgets", &widgetRuns))
			for i := range tt.runs {
				if err := database.Migrate(context.Background(), db, list, logging.Discard()); err != nil {
					t.Fatalf("Migrate run %d: %v", i+1, err)
				}
			}
			if want, got := versionsOf(list), appliedVersions(t, db); !reflect.DeepEqual(want, got) {
				t.Errorf("schema_migrations (-want +got)\n-%v\n+%v", want, got)
			}
			if n := widgetRuns.Load(); n != 1 {
				t.Errorf("the widgets migration ran %d times, want once", n)
			}
			for _, table := range []string{"users", "widgets"} {
				if !db.Migrator().HasTable(table) {
					t.Errorf("table %s is missing", table)
				}
			}
			if !db.Migrator().HasColumn("users", "open_id") {
				t.Error("users.open_id is missing")
			}
		})
	}
}

func TestMigrateIsSafeWhenSeveralInstancesStartAtOnce(t *testing.T) {
	tests := []struct {
		name      string
		instances int
	}{
		{"four instances migrating one fresh database all succeed and apply each version once", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := freshURL(t)
			var widgetRuns atomic.Int32
			list := append(append([]database.Migration{}, database.Migrations...),
				createTable(database.Migrations[len(database.Migrations)-1].Version+1, "widgets", &widgetRuns))

			dbs := make([]*database.DB, tt.instances)
			for i := range dbs {
				dbs[i] = open(t, url)
			}
			start := make(chan struct{})
			errs := make([]error, tt.instances)
			var wg sync.WaitGroup
			for i, db := range dbs {
				wg.Go(func() {
					<-start
					ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
					defer cancel()
					errs[i] = database.Migrate(ctx, db, list, logging.Discard())
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("instance %d: Migrate: %v", i, err)
				}
			}
			if want, got := versionsOf(list), appliedVersions(t, dbs[0]); !reflect.DeepEqual(want, got) {
				t.Errorf("schema_migrations (-want +got)\n-%v\n+%v", want, got)
			}
			if n := widgetRuns.Load(); n != 1 {
				t.Errorf("the widgets migration ran %d times across instances, want once", n)
			}
		})
	}
}

func TestAFailingMigrationStopsTheRun(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		failing database.Migration
	}{
		{"a migration that returns an error is named and not recorded",
			database.Migration{Version: 2, Name: "add broken thing", Up: func(*gorm.DB) error { return boom }}},
		{"a migration whose SQL the database rejects is named and not recorded",
			database.Migration{Version: 2, Name: "add broken thing", Up: func(tx *gorm.DB) error {
				return tx.Exec("CREATE TABLE broken_thing (").Error
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t, freshURL(t))
			var gadgetRuns atomic.Int32
			if err := database.Migrate(ctx, db, []database.Migration{createTable(1, "widgets", nil)}, logging.Discard()); err != nil {
				t.Fatalf("first Migrate: %v", err)
			}

			list := []database.Migration{createTable(1, "widgets", nil), tt.failing, createTable(3, "gadgets", &gadgetRuns)}
			err := database.Migrate(ctx, db, list, logging.Discard())
			if err == nil {
				t.Fatal("Migrate succeeded, want the failing migration's error")
			}
			if !strings.Contains(err.Error(), "2") || !strings.Contains(err.Error(), "add broken thing") {
				t.Errorf("error %q does not name migration 2 add broken thing", err)
			}
			if want, got := []int{1}, appliedVersions(t, db); !reflect.DeepEqual(want, got) {
				t.Errorf("schema_migrations after the failure (-want +got)\n-%v\n+%v", want, got)
			}
			if n := gadgetRuns.Load(); n != 0 || db.Migrator().HasTable("gadgets") {
				t.Errorf("the migration after the failing one ran (%d times)", n)
			}

			list[1] = createTable(2, "broken_thing", nil)
			if err := database.Migrate(ctx, db, list, logging.Discard()); err != nil {
				t.Fatalf("Migrate after fixing the migration: %v", err)
			}
			if want, got := []int{1, 2, 3}, appliedVersions(t, db); !reflect.DeepEqual(want, got) {
				t.Errorf("schema_migrations after the fix (-want +got)\n-%v\n+%v", want, got)
			}
		})
	}
}

func TestMigrateRefusesVersionsOutOfOrder(t *testing.T) {
	tests := []struct {
		name string
		list []database.Migration
	}{
		{"a lower version after a higher one is refused",
			[]database.Migration{createTable(2, "widgets", nil), createTable(1, "gadgets", nil)}},
		{"the same version twice is refused",
			[]database.Migration{createTable(1, "widgets", nil), createTable(1, "gadgets", nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t, freshURL(t))
			err := database.Migrate(context.Background(), db, tt.list, logging.Discard())
			if err == nil || !strings.Contains(err.Error(), "out of order") {
				t.Fatalf("Migrate error = %v, want versions out of order", err)
			}
			for _, table := range []string{"widgets", "gadgets"} {
				if db.Migrator().HasTable(table) {
					t.Errorf("table %s was created although the list was refused", table)
				}
			}
		})
	}
}

func TestOpen(t *testing.T) {
	t.Run("a SQLite file under a missing directory gets its directory created", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "missing", "nested")
		db := open(t, "sqlite:"+filepath.Join(dir, "xianfeng.db"))
		if err := database.Migrate(context.Background(), db, database.Migrations, logging.Discard()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "xianfeng.db")); err != nil {
			t.Errorf("database file was not created: %v", err)
		}
	})

	failures := []struct {
		name, url string
		mention   string
		secret    string
	}{
		{"an unsupported URL is refused", "oracle://x", "database", ""},
		{"a PostgreSQL server that is not there fails at Open without showing the password",
			"postgres://xf:topsecret-pw@127.0.0.1:1/xianfeng?sslmode=disable", "postgres", "topsecret-pw"},
		{"a MySQL server that is not there fails at Open without showing the password",
			"mysql://xf:topsecret-pw@127.0.0.1:1/xianfeng", "mysql", "topsecret-pw"},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			db, err := database.Open(ctx, database.Options{URL: tt.url, MaxOpenConns: 1, ConnMaxLife: time.Minute, Log: logging.Discard()})
			if err == nil {
				_ = db.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}
