package task

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/database"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/org"
)

// CloseEnded closes the open assignments of each membership that ended: they
// become removed, and the pushes about the membership's tasks still queued
// for their members are withdrawn (the inbox keeps them). Reminders, overdue marking
// and cancellation pass removed assignments by. It is the org.EndHook the
// org service runs inside the transaction that ends the membership.
func CloseEnded(tx *gorm.DB, ended []org.Membership, now time.Time) error {
	byOrg := map[int64][]int64{}
	for _, m := range ended {
		byOrg[m.OrgID] = append(byOrg[m.OrgID], m.UserID)
	}
	for orgID, users := range byOrg {
		for start := 0; start < len(users); start += 500 {
			chunk := users[start:min(start+500, len(users))]
			// Every task of the membership, open or not: a push about a
			// task done before the end is not sent after it either.
			var held []struct{ TaskID, UserID int64 }
			if err := tx.Model(&Assignment{}).Select("task_id, user_id").
				Where("org_id = ? AND user_id IN ?", orgID, chunk).Scan(&held).Error; err != nil {
				return fmt.Errorf("task.CloseEnded(org %d): %w", orgID, err)
			}
			if len(held) == 0 {
				continue
			}
			if err := tx.Model(&Assignment{}).Where("org_id = ? AND user_id IN ? AND status IN ?", orgID, chunk, activeStatuses).
				Updates(map[string]any{"status": ARemoved, "updated_at": now}).Error; err != nil {
				return fmt.Errorf("task.CloseEnded(org %d): %w", orgID, err)
			}
			tasks := map[int64][]int64{}
			for _, a := range held {
				tasks[a.UserID] = append(tasks[a.UserID], a.TaskID)
			}
			for user, ids := range tasks {
				if err := notify.Withdraw(tx, user, "task", ids, "membership ended"); err != nil {
					return fmt.Errorf("task.CloseEnded(org %d): %w", orgID, err)
				}
			}
		}
	}
	return nil
}

var _ org.EndHook = CloseEnded

// racedWindow is how far back the sweep looks for assignments that raced a
// removal (see closeRaced): a fan-out writes its batches within seconds.
const racedWindow = 15 * time.Minute

// closeRaced closes, as CloseEnded would have, the open assignments made in
// the last racedWindow whose membership is not live: a fan-out that read
// its members just before a removal committed writes them after the
// removal closed the rest.
func (s *Service) closeRaced(ctx context.Context, now time.Time) error {
	db := s.db.WithContext(ctx)
	var rows []struct{ OrgID, UserID int64 }
	err := db.Model(&Assignment{}).Distinct("assignments.org_id", "assignments.user_id").
		Where("assignments.status IN ? AND assignments.created_at >= ?", activeStatuses, now.Add(-racedWindow)).
		Where("NOT EXISTS (?)", org.LiveMembershipOf(db, "assignments.org_id", "assignments.user_id", now)).
		Limit(1000).Scan(&rows).Error
	if err != nil || len(rows) == 0 {
		return err
	}
	ended := make([]org.Membership, len(rows))
	for i, r := range rows {
		ended[i] = org.Membership{OrgID: r.OrgID, UserID: r.UserID}
	}
	return database.Transact(ctx, s.db, func(tx *gorm.DB) error { return CloseEnded(tx, ended, now) })
}
