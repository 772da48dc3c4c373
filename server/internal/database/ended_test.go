package database_test

import (
	"context"
	"testing"
	"time"

	"xianfeng/server/internal/database"
	"xianfeng/server/internal/logging"
)

// TestMigrationClosesTheOpenAssignmentsOfEndedMemberships builds a schema
// as it was before assignments could be removed, with open assignments of
// members removed or rejected then, and checks the migration closes those
// (and only those) as removed.
func TestMigrationClosesTheOpenAssignmentsOfEndedMemberships(t *testing.T) {
	ctx := context.Background()
	db, exec := migratedTo(t, 6)
	now := time.Date(2026, 1, 26, 2, 0, 0, 0, time.UTC)
	exec("INSERT INTO orgs (id, name, kind, depth, created_at, updated_at) VALUES (1, '第一党支部', 'branch', 0, ?, ?)", now, now)
	for _, m := range []struct {
		user   int64
		status string
	}{{1, "approved"}, {2, "removed"}, {3, "rejected"}, {4, "pending"}} {
		exec("INSERT INTO memberships (org_id, user_id, name, badge, role, status, created_at, updated_at) VALUES (1, ?, '党员', 'frontline', 'member', ?, ?, ?)",
			m.user, m.status, now, now)
	}
	type row struct {
		task, user int64
		status     string
		want       string
	}
	rows := []row{
		{1, 1, "assigned", "assigned"},   // an approved member keeps their work
		{1, 2, "accepted", "removed"},    // removed: closed
		{2, 2, "checked_in", "removed"},  // removed: closed
		{3, 2, "completed", "completed"}, // done before the removal: kept
		{4, 2, "declined", "declined"},
		{1, 3, "assigned", "removed"}, // removed, re-applied and rejected
		{1, 4, "assigned", "removed"}, // removed and re-applied, pending
		{1, 5, "assigned", "removed"}, // no membership at all
	}
	for _, r := range rows {
		exec("INSERT INTO assignments (task_id, user_id, org_id, status, created_at, updated_at) VALUES (?, ?, 1, ?, ?, ?)", r.task, r.user, r.status, now, now)
	}
	if err := database.Migrate(ctx, db, database.Migrations, logging.Discard()); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		var got string
		if err := db.Table("assignments").Select("status").Where("task_id = ? AND user_id = ?", r.task, r.user).Scan(&got).Error; err != nil {
			t.Fatal(err)
		}
		if got != r.want {
			t.Errorf("user %d's %s assignment in task %d is %s after the migration, want %s", r.user, r.status, r.task, got, r.want)
		}
	}
}
