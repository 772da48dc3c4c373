package task_test

import (
	"errors"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"xianfeng/server/internal/notify"
)

// A cancel whose later step fails must not leave a cancelled task with
// open assignments: the client's retry has to complete it. (It used to mark
// the task cancelled first and return early on the retry.)
func TestCancelRetryCompletesAfterAFailure(t *testing.T) {
	w := newWorld(t)
	a1 := w.NewMember(w.A, "frontline")
	tk := w.createTask(w.SecA, w.A, newTask("夜间值守", map[string]any{"target": map[string]any{"badges": []string{"frontline"}}}))

	// The first update of assignments after arming fails, as a dropped
	// connection would; everything else goes through.
	var armed atomic.Bool
	cb := w.App.DB.Callback().Update()
	if err := cb.Before("gorm:update").Register("test:fail-assignments-once", func(db *gorm.DB) {
		if db.Statement.Table == "assignments" && armed.CompareAndSwap(true, false) {
			_ = db.AddError(errors.New("injected failure"))
		}
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cb.Remove("test:fail-assignments-once") })

	armed.Store(true)
	if r := w.DoAs("POST", taskPath(tk.ID, "cancel"), w.SecA, nil); r.Status == 200 {
		t.Fatalf("the cancel succeeded although its update failed: %s", r.Body)
	}
	if armed.Load() {
		t.Fatal("the cancel never updated the assignments")
	}
	var got taskJSON
	w.Expect(w.DoAs("POST", taskPath(tk.ID, "cancel"), w.SecA, nil), 200).JSON(t, &got)
	if got.Status != "cancelled" {
		t.Errorf("after the retry the task is %s", got.Status)
	}
	for _, p := range []person{w.MemberA, a1} {
		if st, _ := w.assignmentStatus(tk.ID, p.ID); st != "cancelled" {
			t.Errorf("after the retry the assignment of user %d is %s, want cancelled", p.ID, st)
		}
		if n := w.notifications(notify.KindTaskCancelled, tk.ID, p.ID); n != 1 {
			t.Errorf("user %d got %d cancellation notices, want 1", p.ID, n)
		}
	}
}
