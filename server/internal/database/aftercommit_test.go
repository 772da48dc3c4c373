package database_test

import (
	"context"
	"errors"
	"testing"

	"gorm.io/gorm"

	"xianfeng/server/internal/database"
)

func TestAfterCommitRunsOnlyOnceTheTransactionCommitted(t *testing.T) {
	db := open(t, freshURL(t))
	ctx := context.Background()
	if err := db.Exec("CREATE TABLE things (id INTEGER PRIMARY KEY, name VARCHAR(20))").Error; err != nil {
		t.Fatal(err)
	}
	t.Run("after a commit it runs once, and sees the committed row", func(t *testing.T) {
		var seen []int64
		err := database.Transact(ctx, db.DB, func(tx *gorm.DB) error {
			if err := tx.Exec("INSERT INTO things (id, name) VALUES (1, 'a')").Error; err != nil {
				return err
			}
			if !database.AfterCommit(tx, func(ctx context.Context) {
				var n int64
				if err := db.WithContext(ctx).Table("things").Where("id = 1").Count(&n).Error; err != nil {
					t.Error(err)
				}
				seen = append(seen, n)
			}) {
				t.Error("AfterCommit refused a transaction of Transact")
			}
			if len(seen) != 0 {
				t.Error("AfterCommit ran before the commit")
			}
			return nil
		})
		if err != nil || len(seen) != 1 || seen[0] != 1 {
			t.Errorf("Transact = %v, runs saw %v, want one run that sees the row", err, seen)
		}
	})
	t.Run("after a rollback it does not run", func(t *testing.T) {
		ran := false
		boom := errors.New("boom")
		err := database.Transact(ctx, db.DB, func(tx *gorm.DB) error {
			database.AfterCommit(tx, func(context.Context) { ran = true })
			return boom
		})
		if !errors.Is(err, boom) || ran {
			t.Errorf("Transact = %v, ran = %v; want boom and no run", err, ran)
		}
	})
	t.Run("its context does not end with the caller's, who may be gone by then", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		type key struct{}
		var hookCtx context.Context
		err := database.Transact(context.WithValue(cctx, key{}, "request"), db.DB, func(tx *gorm.DB) error {
			database.AfterCommit(tx, func(ctx context.Context) { hookCtx = ctx })
			return nil
		})
		if err != nil || hookCtx == nil {
			t.Fatalf("Transact = %v, hook ran: %v", err, hookCtx != nil)
		}
		cancel()
		if hookCtx.Err() != nil || hookCtx.Value(key{}) != "request" {
			t.Errorf("the hook's context ended with the caller's (%v) or lost its values (%v)", hookCtx.Err(), hookCtx.Value(key{}))
		}
	})
	t.Run("outside Transact it is refused and never runs", func(t *testing.T) {
		ran := false
		err := db.Transaction(func(tx *gorm.DB) error {
			if database.AfterCommit(tx, func(context.Context) { ran = true }) {
				t.Error("AfterCommit accepted a transaction Transact did not start")
			}
			return nil
		})
		if err != nil || ran {
			t.Errorf("Transaction = %v, ran = %v", err, ran)
		}
	})
}
