package task_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/service"
	"xianfeng/server/internal/task"
)

// assignees returns the users assigned a task, sorted, failing the test if
// anyone is assigned twice.
func (w *world) assignees(taskID int64) []int64 {
	w.t.Helper()
	var users []int64
	if err := w.App.DB.Table("assignments").Where("task_id = ?", taskID).Order("user_id").Pluck("user_id", &users).Error; err != nil {
		w.t.Fatal(err)
	}
	if c := slices.Compact(slices.Clone(users)); len(c) != len(users) {
		w.t.Errorf("task %d assigns someone twice: %d assignments for %d users", taskID, len(users), len(c))
	}
	return users
}

// approvedIn lists the distinct users with an approved membership in org
// (and its subtree when deep) whose badge is one of badges (any when none).
func (w *world) approvedIn(orgID int64, deep bool, badges ...string) []int64 {
	w.t.Helper()
	q := w.App.DB.Table("memberships AS m").Distinct("m.user_id").Where("m.status = 'approved'")
	if deep {
		q = q.Joins("JOIN org_closure c ON c.descendant_id = m.org_id").Where("c.ancestor_id = ?", orgID)
	} else {
		q = q.Where("m.org_id = ?", orgID)
	}
	if len(badges) > 0 {
		q = q.Where("m.badge IN ?", badges)
	}
	var users []int64
	if err := q.Order("m.user_id").Pluck("m.user_id", &users).Error; err != nil {
		w.t.Fatal(err)
	}
	return users
}

// checkFanOut asserts that a task is open with exactly the users want
// assigned, and that each of them was told once.
func (w *world) checkFanOut(taskID int64, want []int64) {
	w.t.Helper()
	got := w.assignees(taskID)
	if !slices.Equal(got, want) {
		missing, extra := diff(want, got), diff(got, want)
		w.t.Errorf("task %d assigns %d users, want %d (missing %v, extra %v)", taskID, len(got), len(want), head(missing), head(extra))
	}
	var notified []int64
	w.Must(w.App.DB.Table("notifications").Where("kind = ? AND ref_type = 'task' AND ref_id = ?", notify.KindTaskAssigned, taskID).
		Order("user_id").Pluck("user_id", &notified).Error)
	if !slices.Equal(notified, want) {
		w.t.Errorf("task %d sent %d assignment notices, want one to each of %d assignees", taskID, len(notified), len(want))
	}
	var tk struct {
		Status        string
		AssignedCount int
	}
	w.Must(w.App.DB.Table("tasks").Select("status, assigned_count").Where("id = ?", taskID).Take(&tk).Error)
	if tk.Status != "open" || tk.AssignedCount != len(want) {
		w.t.Errorf("task %d is %s with assigned_count %d, want open with %d", taskID, tk.Status, tk.AssignedCount, len(want))
	}
}

// diff returns the elements of a that are not in b.
func diff(a, b []int64) []int64 {
	var out []int64
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func head(s []int64) []int64 { return s[:min(len(s), 5)] }

func TestFanOutOverALargeSubtree(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	seeded, err := org.Seed(ctx, w.App.DB.DB, org.SeedSpec{Orgs: 30, Committees: 2, GeneralBranches: 2, Members: 4440})
	if err != nil {
		t.Fatal(err)
	}
	committee := seeded.RootID + 1 // the first committee: half the tree
	if n := len(w.approvedIn(committee, true)); n < 1900 || n > 2100 {
		t.Fatalf("the committee's subtree has %d approved members, want about 2,000", n)
	}
	// A frontline member of the committee's subtree and one of the other committee.
	var inside, outside int64
	w.App.DB.Raw(`SELECT m.user_id FROM memberships m JOIN org_closure c ON c.descendant_id = m.org_id
		WHERE c.ancestor_id = ? AND m.status = 'approved' AND m.badge = 'frontline' ORDER BY m.id LIMIT 1`, committee).Scan(&inside)
	w.App.DB.Raw(`SELECT m.user_id FROM memberships m JOIN org_closure c ON c.descendant_id = m.org_id
		WHERE c.ancestor_id = ? AND m.status = 'approved' ORDER BY m.id LIMIT 1`, seeded.RootID+2).Scan(&outside)

	tests := []struct {
		name   string
		org    int64
		target task.Target
		want   []int64
	}{
		{"a badge filter assigns exactly the approved members with that badge in the subtree",
			committee, task.Target{Badges: []org.Badge{org.BadgeFrontline}, IncludeSuborgs: true},
			w.approvedIn(committee, true, "frontline")},
		{"badges and named users together assign either, over several batches, and never anyone outside the subtree",
			committee, task.Target{Badges: []org.Badge{org.BadgePublicity, org.BadgeInformation}, UserIDs: []int64{inside, outside}, IncludeSuborgs: true},
			sorted(append(w.approvedIn(committee, true, "publicity", "information"), inside))},
		{"include_suborgs=false assigns only the org's own members",
			seeded.RootID, task.Target{}, []int64{seeded.RootSecretaryUserID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			tk, created, err := w.App.Task.Create(ctx, seeded.RootSecretaryUserID, tc.org, task.Input{
				Title: "全面排查", Kind: task.KindScreening, Target: tc.target,
			})
			if err != nil || !created || tk.Status != task.StatusDispatching {
				t.Fatalf("Create = %+v, %v, %v", tk, created, err)
			}
			start := time.Now()
			if err := w.App.Task.FanOut(ctx, tk.ID); err != nil {
				t.Fatal(err)
			}
			t.Logf("fan-out to %d members took %s (%s)", len(tc.want), time.Since(start), w.Env)
			w.checkFanOut(tk.ID, tc.want)
			if err := w.App.Task.FanOut(ctx, tk.ID); err != nil {
				t.Fatal(err)
			}
			w.checkFanOut(tk.ID, tc.want)
		})
	}
}

func sorted(s []int64) []int64 { slices.Sort(s); return s }

func TestFanOutTargets(t *testing.T) {
	w := newWorld(t)
	outsider := w.LoginAs("outsider", "13400000001")
	c := w.Child(w.RootSec, w.A, "卡口临时党支部", "temporary")
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/members", c), w.RootSec, map[string][]int64{"user_ids": {w.MemberA.ID, w.SecA.ID}}), 200)

	tests := []struct {
		name   string
		org    int64
		target map[string]any
		want   []int64
	}{
		{"named users are assigned when they are approved members of the subtree", w.Root,
			map[string]any{"user_ids": []int64{w.MemberA.ID, w.MemberB.ID, w.PendingA.ID, outsider.ID}, "include_suborgs": true},
			sorted([]int64{w.MemberA.ID, w.MemberB.ID})},
		{"include_suborgs=false keeps to the org itself", w.A, map[string]any{"include_suborgs": false},
			sorted([]int64{w.SecA.ID, w.MemberA.ID})},
		{"include_suborgs=true on the root reaches every branch once per member", w.Root,
			map[string]any{"badges": []string{"frontline"}, "include_suborgs": true},
			w.approvedIn(w.Root, true, "frontline")},
		{"members seconded to a temporary org are assigned there", c, map[string]any{},
			sorted([]int64{w.MemberA.ID, w.SecA.ID})},
	}
	if frontline := w.approvedIn(w.Root, true, "frontline"); !slices.Contains(frontline, w.MemberA.ID) || len(frontline) != 3 {
		t.Fatalf("the frontline members of the tree are %v, want the root secretary, memberA and memberB", frontline)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			tk := w.createTask(w.RootSec, tc.org, newTask("定向任务", map[string]any{"target": tc.target}))
			w.checkFanOut(tk.ID, tc.want)
		})
	}
	t.Run("a seconded member's assignment on the temporary org's task belongs to it", func(t *testing.T) {
		w := w.in(t)
		tk := w.createTask(w.RootSec, c, newTask("卡口值守", nil))
		var orgs []int64
		w.Must(w.App.DB.Table("assignments").Where("task_id = ?", tk.ID).Distinct().Pluck("org_id", &orgs).Error)
		if !slices.Equal(orgs, []int64{c}) {
			t.Errorf("the assignments belong to orgs %v, want only %d", orgs, c)
		}
		var d detailJSON
		w.Expect(w.DoAs("GET", taskPath(tk.ID, ""), w.MemberA, nil), 200).JSON(t, &d)
		if d.MyAssignment == nil || d.MyAssignment.OrgID != c {
			t.Errorf("the seconded member sees %+v", d.MyAssignment)
		}
	})
}

var errCrash = errors.New("the worker died")

// TestFanOutResumesAfterACrash: the fan-out writes the assignments in one
// statement and the notices in another; a fan-out stopped between the two
// (an error, or its context cancelled) leaves every assignment and no
// notice, and a rerun writes the notices without a second assignment.
func TestFanOutResumesAfterACrash(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	seeded, err := org.Seed(ctx, w.App.DB.DB, org.SeedSpec{Orgs: 12, Members: 700})
	if err != nil {
		t.Fatal(err)
	}
	want := w.approvedIn(seeded.RootID, true, "frontline", "publicity")
	tests := []struct {
		name string
		// stop makes the AfterBatch hook of the crashing service; cancel
		// cancels the context the fan-out runs in.
		stop func(cancel context.CancelFunc) func(int64, int) error
	}{
		{"a fan-out that fails after writing the assignments is completed by a rerun", func(context.CancelFunc) func(int64, int) error {
			return func(int64, int) error { return errCrash }
		}},
		{"a fan-out whose context is cancelled after writing the assignments is completed by a rerun", func(cancel context.CancelFunc) func(int64, int) error {
			return func(int64, int) error {
				cancel()
				return nil
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			tk, _, err := w.App.Task.Create(ctx, seeded.RootSecretaryUserID, seeded.RootID, task.Input{
				Title: "物资发放", Kind: task.KindDuty, Target: task.Target{Badges: []org.Badge{"frontline", "publicity"}, IncludeSuborgs: true},
			})
			if err != nil {
				t.Fatal(err)
			}
			runCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			crashing := task.NewService(w.App.DB.DB, w.App.Org.Store(), task.Options{
				Deps: service.Deps{Log: w.App.Log}, Location: w.App.Config.Location(), Notifier: notify.NewInbox(w.App.DB.DB, notify.InboxOptions{Log: w.App.Log}),
				Scheduler: task.NewJobs(w.App.Queue), AfterBatch: tc.stop(cancel), Media: w.App.Media,
			})
			if err := crashing.FanOut(runCtx, tk.ID); err == nil {
				t.Fatal("the crashing fan-out returned no error")
			}
			var n, notices int64
			w.Must(w.App.DB.Table("assignments").Where("task_id = ?", tk.ID).Count(&n).Error)
			w.Must(w.App.DB.Table("notifications").Where("ref_type = 'task' AND ref_id = ?", tk.ID).Count(&notices).Error)
			var status string
			w.Must(w.App.DB.Table("tasks").Where("id = ?", tk.ID).Pluck("status", &status).Error)
			if n != int64(len(want)) || notices != 0 || status != "dispatching" {
				t.Fatalf("after the crash %d assignments, %d notices and the task %s, want %d, 0 and dispatching", n, notices, status, len(want))
			}
			if err := w.App.Task.FanOut(ctx, tk.ID); err != nil {
				t.Fatal(err)
			}
			w.checkFanOut(tk.ID, want)
		})
	}
}

// taskForAll seeds a tree of about members members and creates a task, not
// yet fanned out, for every member of it; want is its approved members.
func (w *world) taskForAll(members int) (_ task.Task, want []int64) {
	w.t.Helper()
	ctx := context.Background()
	seeded, err := org.Seed(ctx, w.App.DB.DB, org.SeedSpec{Orgs: 12, Members: members})
	if err != nil {
		w.t.Fatal(err)
	}
	tk, _, err := w.App.Task.Create(ctx, seeded.RootSecretaryUserID, seeded.RootID, task.Input{
		Title: "物资发放", Kind: task.KindDuty, Target: task.Target{IncludeSuborgs: true},
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return tk, w.approvedIn(seeded.RootID, true)
}

// TestARetriedFanOutWritesNoDuplicates: a fan-out run again over a partial
// write (some assignments and some notices already there, as a crashed run
// or a concurrent one leaves them) writes each member exactly one
// assignment and one notice, and leaves the rows already written as they
// were.
func TestARetriedFanOutWritesNoDuplicates(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tk, want := w.taskForAll(300)
	// The partial write: the first member accepted already, the second
	// has a notice, both before the fan-out is run (again).
	w.Must(w.App.DB.Exec(`INSERT INTO assignments (task_id, user_id, org_id, status, created_at, updated_at)
		SELECT ?, user_id, org_id, 'accepted', ?, ? FROM memberships WHERE user_id = ? ORDER BY id LIMIT 1`,
		tk.ID, time.Now().UTC(), time.Now().UTC(), want[0]).Error)
	w.Must(w.App.DB.Create(&notify.Notification{UserID: want[1], Kind: notify.KindTaskAssigned, Title: "新任务：物资发放",
		RefType: "task", RefID: tk.ID, DedupeKey: "task_assigned:" + strconv.FormatInt(tk.ID, 10), Delivery: notify.DeliveryNoConsent,
		CreatedAt: time.Now().UTC()}).Error)

	for run := 0; run < 2; run++ {
		if run == 1 {
			w.Must(w.App.DB.Table("tasks").Where("id = ?", tk.ID).Update("status", "dispatching").Error)
		}
		if err := w.App.Task.FanOut(ctx, tk.ID); err != nil {
			t.Fatal(err)
		}
		w.checkFanOut(tk.ID, want)
	}
	var status string
	w.Must(w.App.DB.Table("assignments").Where("task_id = ? AND user_id = ?", tk.ID, want[0]).Pluck("status", &status).Error)
	if status != "accepted" {
		t.Errorf("the first member's accepted assignment is %q after the rerun, want accepted", status)
	}
}

// TestFanOutStatementsDoNotGrowWithTheMembers: the fan-out's database work
// is a handful of set-based statements however many members it assigns
// (before, six statements per thousand members).
func TestFanOutStatementsDoNotGrowWithTheMembers(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tk, want := w.taskForAll(2600)
	if len(want) <= 2000 {
		t.Fatalf("only %d members to assign, want more than 2,000", len(want))
	}
	var statements atomic.Int64
	count := func(*gorm.DB) { statements.Add(1) }
	cb := w.App.DB.DB.Callback()
	w.Must(errors.Join(cb.Create().After("gorm:create").Register("test:count", count),
		cb.Query().After("gorm:query").Register("test:count", count),
		cb.Update().After("gorm:update").Register("test:count", count),
		cb.Row().After("gorm:row").Register("test:count", count),
		cb.Raw().After("gorm:raw").Register("test:count", count)))

	if err := w.App.Task.FanOut(ctx, tk.ID); err != nil {
		t.Fatal(err)
	}
	t.Logf("the fan-out to %d members ran %d statements", len(want), statements.Load())
	if got := statements.Load(); got > 12 {
		t.Errorf("the fan-out to %d members ran %d statements, want at most 12", len(want), got)
	}
	w.checkFanOut(tk.ID, want)
}
