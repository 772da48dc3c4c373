package database

import (
	"context"

	"gorm.io/gorm"
)

// CustomPlans runs fn with a handle for read-only statements whose best
// plan depends on their parameters (whose subtree, which days). On
// PostgreSQL they run in a transaction that asks for plans made for their
// parameter values (plan_cache_mode = force_custom_plan): pgx prepares and
// caches every statement, and after five runs PostgreSQL may settle on one
// generic plan, made without knowing the values, that suits a branch and
// not the root, or the reverse. Other databases plan each run anyway.
func CustomPlans(ctx context.Context, db *gorm.DB, fn func(db *gorm.DB) error) error {
	if db.Dialector.Name() != "postgres" {
		return fn(db.WithContext(ctx))
	}
	return Transact(ctx, db, func(tx *gorm.DB) error {
		if err := tx.Exec("SET LOCAL plan_cache_mode = force_custom_plan").Error; err != nil {
			return err
		}
		return fn(tx)
	})
}
