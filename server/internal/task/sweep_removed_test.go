package task_test

import (
	"context"
	"testing"
	"time"

	"xianfeng/server/internal/task"
)

// TestTheSweepClosesAssignmentsThatRacedARemoval: a fan-out that read the
// member list just before a removal committed can still write the removed
// member an assignment after the removal closed theirs. The minute sweep
// closes such an assignment as removed, so it is counted neither done nor
// missed, while the colleague's stays open.
func TestTheSweepClosesAssignmentsThatRacedARemoval(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	stay := w.NewMember(w.A, "frontline")
	tk := w.createTask(w.SecA, w.A, newTask("卡口值守", map[string]any{
		"target": map[string]any{"user_ids": []int64{stay.ID}}, "due_at": time.Now().UTC().Add(2 * time.Hour),
	}))
	w.Expect(w.DoAs("DELETE", w.MemberPath(w.A, w.MemberA), w.SecA, nil), 204)
	// The late write of the racing fan-out.
	now := time.Now().UTC()
	late := task.Assignment{TaskID: tk.ID, UserID: w.MemberA.ID, OrgID: w.A, Status: task.AAssigned, CreatedAt: now, UpdatedAt: now}
	if err := w.App.DB.Create(&late).Error; err != nil {
		t.Fatal(err)
	}

	if err := w.App.Task.Sweep(ctx); err != nil {
		t.Fatal(err)
	}

	statusOf := func(userID int64) string {
		var status string
		if err := w.App.DB.Model(&task.Assignment{}).Where("task_id = ? AND user_id = ?", tk.ID, userID).Pluck("status", &status).Error; err != nil {
			t.Fatal(err)
		}
		return status
	}
	if got := statusOf(w.MemberA.ID); got != string(task.ARemoved) {
		t.Errorf("the removed member's late assignment is %q after the sweep, want %q", got, task.ARemoved)
	}
	if got := statusOf(stay.ID); got != string(task.AAssigned) {
		t.Errorf("the colleague's assignment is %q after the sweep, want %q", got, task.AAssigned)
	}
}
