package database_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"xianfeng/server/internal/database"
	"xianfeng/server/internal/logging"
	"xianfeng/server/internal/testenv/testdb"
)

func TestTheSchemaCheckSaysWhenTheSchemaIsBehind(t *testing.T) {
	all := database.Migrations
	tests := []struct {
		name    string
		applied []database.Migration // nil: none, not even schema_migrations
		want    error
	}{
		{"a database that was never migrated is behind", nil, database.ErrSchemaBehind},
		{"a database missing the latest migration is behind", all[:len(all)-1], database.ErrSchemaBehind},
		{"a database with every migration is current", all, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t, freshURL(t))
			if tt.applied != nil {
				if err := database.Migrate(context.Background(), db, tt.applied, logging.Discard()); err != nil {
					t.Fatal(err)
				}
			}
			var log testdb.LogBuffer
			check := database.NewSchemaCheck(db, all, logging.New(&log, "debug", "json"))
			for range 3 {
				if err := check.Check(context.Background()); !errors.Is(err, tt.want) {
					t.Fatalf("Check = %v, want %v", err, tt.want)
				}
			}
			told := strings.Count(log.String(), "server migrate")
			if tt.want != nil && told != 1 {
				t.Errorf("three checks logged `server migrate` %d times, want once:\n%s", told, log.String())
			}
			if tt.want == nil && told != 0 {
				t.Errorf("a current schema logged `server migrate`:\n%s", log.String())
			}
		})
	}

	t.Run("a schema migrated after a failed check is current at the next check", func(t *testing.T) {
		db := open(t, freshURL(t))
		check := database.NewSchemaCheck(db, all, logging.Discard())
		if err := check.Check(context.Background()); !errors.Is(err, database.ErrSchemaBehind) {
			t.Fatalf("Check before migrating = %v, want ErrSchemaBehind", err)
		}
		if err := database.Migrate(context.Background(), db, all, logging.Discard()); err != nil {
			t.Fatal(err)
		}
		if err := check.Check(context.Background()); err != nil {
			t.Fatalf("Check after migrating = %v, want nil", err)
		}
	})
}
