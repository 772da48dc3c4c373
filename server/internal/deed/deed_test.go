package deed_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"xianfeng/server/internal/testenv"
)

type auditJSON struct {
	Items []struct {
		OrgID        int64          `json:"org_id"`
		ActorID      int64          `json:"actor_id"`
		Action       string         `json:"action"`
		TargetUserID *int64         `json:"target_user_id"`
		Detail       map[string]any `json:"detail"`
	} `json:"items"`
}

// trail renders the deed entries of an org's audit trail, oldest first, as
// "action@org by actor".
func (w *world) trail(org int64, as person, deedID int64) []string {
	w.t.Helper()
	var a auditJSON
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/audit?limit=200", org), as, nil), 200).JSON(w.t, &a)
	orgs := map[int64]string{w.Root: "root", w.gb: "gb", w.A: "A", w.B: "B", w.other: "other", w.c: "C"}
	people := map[int64]string{w.RootSec.ID: w.RootSec.Name, w.gbSec.ID: w.gbSec.Name, w.SecA.ID: w.SecA.Name, w.otherSec.ID: w.otherSec.Name, w.secC.ID: w.secC.Name}
	for _, p := range *w.extra {
		people[p.ID] = p.Name
	}
	var out []string
	for _, e := range slices.Backward(a.Items) {
		if !strings.HasPrefix(e.Action, "deed.") || e.Detail["deed_id"] != float64(deedID) {
			continue
		}
		out = append(out, fmt.Sprintf("%s@%s by %s", e.Action, orgs[e.OrgID], people[e.ActorID]))
	}
	return out
}

func TestNominatingADeed(t *testing.T) {
	w := newWorld(t)

	t.Run("a member nominates their own deed and the branch secretary is told", func(t *testing.T) {
		w := w.in(t)
		d := w.nominate(w.MemberA, nil, "坚守卡口十昼夜")
		if d.Status != "pending" || d.StatusLabel != "待审核" || d.UserID != w.MemberA.ID || d.NominatedBy != w.MemberA.ID || d.OrgID != w.A || d.CurrentOrgID != w.A {
			t.Errorf("self-nominated deed = %+v", d)
		}
		if n := w.notifications(d.ID, w.SecA.ID); n != 1 {
			t.Errorf("branch secretary got %d deed_update notifications, want 1", n)
		}
		for _, p := range []person{w.SecB, w.gbSec, w.RootSec} {
			if n := w.notifications(d.ID, p.ID); n != 0 {
				t.Errorf("%s was told %d times of a deed pending at branch A", p.Name, n)
			}
		}
		_, evs := w.timeline(w.MemberA, d.ID)
		if got := w.steps(evs); got != "nominated@A by 张小明" {
			t.Errorf("timeline = %s", got)
		}
	})

	t.Run("a secretary above nominates a member of a branch in their subtree", func(t *testing.T) {
		w := w.in(t)
		d := w.nominate(w.gbSec, &w.memberA2, "义务配送物资")
		if d.Status != "pending" || d.UserID != w.memberA2.ID || d.NominatedBy != w.gbSec.ID || d.OrgID != w.A {
			t.Errorf("deed nominated by the general branch = %+v", d)
		}
		if n := w.notifications(d.ID, w.memberA2.ID); n != 1 {
			t.Errorf("the member was told %d times, want 1", n)
		}
		if n := w.notifications(d.ID, w.SecA.ID); n != 1 {
			t.Errorf("branch secretary was told %d times, want 1", n)
		}
	})

	for _, o := range []struct {
		who string
		p   person
	}{{"the secretary of a sibling branch", w.SecB}, {"the secretary of another committee", w.otherSec}, {"the member's own branch-mate", w.memberA2}} {
		t.Run(o.who+" cannot nominate the member", func(t *testing.T) {
			w := w.in(t)
			res := w.DoAs("POST", "/api/v1/deeds", o.p, map[string]any{"title": "越权推荐", "content": "内容", "user_id": w.MemberA.ID})
			if res.Status != 404 || res.ErrorCode() != "member_not_found" {
				t.Errorf("got %d %s, want 404 member_not_found", res.Status, res.Body)
			}
		})
	}

	t.Run("a deed may link a task the member was assigned but not someone else's", func(t *testing.T) {
		w := w.in(t)
		var task struct {
			ID int64 `json:"id"`
		}
		newTask := func(title string, to person) int64 {
			w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/tasks", w.A), w.SecA, map[string]any{
				"title": title, "kind": "duty", "description": "按时到岗", "target": map[string]any{"user_ids": []int64{to.ID}},
			}), 201).JSON(t, &task)
			if err := w.App.Task.FanOut(context.Background(), task.ID); err != nil {
				t.Fatalf("fan-out: %v", err)
			}
			return task.ID
		}
		mine, theirs := newTask("卡口值守", w.MemberA), newTask("入户排查", w.memberA2)

		res := w.DoAs("POST", "/api/v1/deeds", w.MemberA, map[string]any{"title": "值守", "content": "内容", "task_ids": []int64{mine, theirs}})
		if !res.Invalid(t, "task_ids") {
			t.Errorf("linking someone else's task = %d %s, want 400 naming task_ids", res.Status, res.Body)
		}
		var d deedJSON
		w.Expect(w.DoAs("POST", "/api/v1/deeds", w.MemberA, map[string]any{"title": "值守", "content": "内容", "task_ids": []int64{mine, mine}}), 201).JSON(t, &d)
		if !slices.Equal(d.TaskIDs, []int64{mine}) {
			t.Errorf("linked tasks = %v, want [%d]", d.TaskIDs, mine)
		}
	})

	t.Run("a deed may link the member's own reports but not someone else's", func(t *testing.T) {
		w := w.in(t)
		var r struct {
			ID int64 `json:"id"`
		}
		file := func(p person) int64 {
			w.Expect(w.DoAs("POST", "/api/v1/reports", p, map[string]any{"category": "help_needed", "urgency": "normal", "content": "求助", "request_id": fmt.Sprintf("deed-%d", p.ID)}), 201).JSON(t, &r)
			return r.ID
		}
		mine, theirs := file(w.MemberA), file(w.MemberB)
		res := w.DoAs("POST", "/api/v1/deeds", w.MemberA, map[string]any{"title": "上报", "content": "内容", "report_ids": []int64{theirs}})
		e := res.APIError(t)
		if res.Status != 400 || e.Fields["report_ids"] == "" {
			t.Errorf("linking someone else's report = %d %s, want 400 naming report_ids", res.Status, res.Body)
		}
		var d deedJSON
		w.Expect(w.DoAs("POST", "/api/v1/deeds", w.MemberA, map[string]any{"title": "上报", "content": "内容", "report_ids": []int64{mine}}), 201).JSON(t, &d)
		if !slices.Equal(d.ReportIDs, []int64{mine}) {
			t.Errorf("linked reports = %v, want [%d]", d.ReportIDs, mine)
		}
	})

	w.ExpectInvalid(t, "POST", "/api/v1/deeds", w.MemberA, []testenv.InvalidBody{
		{Name: "a blank title", Body: map[string]any{"title": " ", "content": "内容"}, Field: "title"},
		{Name: "a title over 100 characters", Body: map[string]any{"title": strings.Repeat("先", 101), "content": "内容"}, Field: "title"},
		{Name: "no content", Body: map[string]any{"title": "标题"}, Field: "content"},
	})

	t.Run("a user with no approved membership cannot nominate themselves", func(t *testing.T) {
		w := w.in(t)
		stranger := w.User("stranger", "stranger")
		res := w.DoAs("POST", "/api/v1/deeds", stranger, map[string]any{"title": "自荐", "content": "内容"})
		if res.Status != 404 || res.ErrorCode() != "member_not_found" {
			t.Errorf("got %d %s, want 404 member_not_found", res.Status, res.Body)
		}
	})
}

func TestADeedGoesUpTwoLevelsAndIsCommended(t *testing.T) {
	w := newWorld(t)
	// The branch's other secretary reviews it: the nominator may not.
	secA2 := w.secretary(w.A, "周副书记")
	d := w.nominate(w.SecA, &w.MemberA, "带头组建志愿服务队")
	path := []string{"nominated@A by 李红梅"}
	told := int64(1) // the member and the nominator are told of every step

	// step runs an action that must succeed and checks where the deed went.
	step := func(t *testing.T, by person, action, reason, wantStatus string, wantOrg int64) {
		t.Helper()
		var body any
		if reason != "" {
			body = map[string]string{"reason": reason}
		}
		var got deedJSON
		w.Expect(w.act(by, d.ID, action, body), 200).JSON(t, &got)
		if got.Status != wantStatus || got.CurrentOrgID != wantOrg || got.OrgID != w.A {
			t.Errorf("after %s: status %s at org %d, want %s at org %d", action, got.Status, got.CurrentOrgID, wantStatus, wantOrg)
		}
		told++
		for _, p := range []person{w.MemberA, w.SecA} {
			if n := w.notifications(d.ID, p.ID); n != told {
				t.Errorf("%s was told %d times after %s, want %d", p.Name, n, action, told)
			}
		}
	}
	refused := func(t *testing.T, by person, action string, status int, code string) {
		t.Helper()
		if res := w.act(by, d.ID, action, nil); res.Status != status || res.ErrorCode() != code {
			t.Errorf("%s by %s = %d %s, want %d %s", action, by.Name, res.Status, res.Body, status, code)
		}
	}

	t.Run("a pending deed can be neither recommended nor commended at the branch", func(t *testing.T) {
		refused(t, secA2, "recommend", 409, "invalid_transition")
		refused(t, secA2, "commend", 409, "invalid_transition")
	})

	t.Run("the branch's other secretary approves it", func(t *testing.T) {
		w := w.in(t)
		step(t, secA2, "approve", "", "approved", w.A)
		path = append(path, "approved@A by 周副书记")
		refused(t, secA2, "approve", 409, "invalid_transition")
		refused(t, secA2, "commend", 422, "commend_needs_committee")
	})

	t.Run("the branch recommends it to the general branch, whose secretary is told", func(t *testing.T) {
		w := w.in(t)
		step(t, secA2, "recommend", "", "recommended", w.gb)
		path = append(path, "recommended@gb by 周副书记")
		if n := w.notifications(d.ID, w.gbSec.ID); n != 1 {
			t.Errorf("general branch secretary was told %d times, want 1", n)
		}
		refused(t, secA2, "recommend", 403, "forbidden")
	})

	t.Run("the general branch cannot commend and recommends it on to the committee", func(t *testing.T) {
		w := w.in(t)
		refused(t, w.gbSec, "commend", 422, "commend_needs_committee")
		refused(t, w.gbSec, "approve", 409, "invalid_transition")
		step(t, w.gbSec, "recommend", "", "recommended", w.Root)
		path = append(path, "recommended@root by 孙总支")
		if n := w.notifications(d.ID, w.RootSec.ID); n != 1 {
			t.Errorf("root secretary was told %d times, want 1", n)
		}
	})

	t.Run("at the root it cannot be recommended further and the committee commends it", func(t *testing.T) {
		w := w.in(t)
		refused(t, w.RootSec, "recommend", 422, "already_at_root")
		step(t, w.RootSec, "commend", "", "commended", w.Root)
		path = append(path, "commended@root by 王书记")
	})

	t.Run("a commended deed can no longer change", func(t *testing.T) {
		w := w.in(t)
		for _, action := range []string{"approve", "reject", "commend"} {
			refused(t, w.RootSec, action, 409, "invalid_transition")
		}
	})

	t.Run("every step is on the deed's timeline, as the member sees it", func(t *testing.T) {
		w := w.in(t)
		got, evs := w.timeline(w.MemberA, d.ID)
		if want := strings.Join(path, ", "); w.steps(evs) != want {
			t.Errorf("timeline = %s\nwant       %s", w.steps(evs), want)
		}
		if got.Status != "commended" || got.StatusLabel != "已表彰" {
			t.Errorf("deed = %+v", got)
		}
	})

	t.Run("every review step is in the audit trail of the org where it was taken", func(t *testing.T) {
		w := w.in(t)
		want := []string{"deed.approve@A by 周副书记", "deed.recommend@A by 周副书记", "deed.recommend@gb by 孙总支", "deed.commend@root by 王书记"}
		if got := w.trail(w.Root, w.RootSec, d.ID); !slices.Equal(got, want) {
			t.Errorf("root's audit trail = %v, want %v", got, want)
		}
		if got := w.trail(w.A, w.SecA, d.ID); !slices.Equal(got, want[:2]) {
			t.Errorf("branch A's audit trail = %v, want %v", got, want[:2])
		}
	})

	t.Run("the secretaries above see the deed, others do not", func(t *testing.T) {
		w := w.in(t)
		for _, p := range []person{w.SecA, w.gbSec, w.RootSec, w.MemberA} {
			if res := w.DoAs("GET", fmt.Sprintf("/api/v1/deeds/%d", d.ID), p, nil); res.Status != 200 {
				t.Errorf("%s: GET = %d", p.Name, res.Status)
			}
		}
		for _, p := range []person{w.SecB, w.otherSec, w.memberA2} {
			if res := w.DoAs("GET", fmt.Sprintf("/api/v1/deeds/%d", d.ID), p, nil); res.Status != 404 || res.ErrorCode() != "deed_not_found" {
				t.Errorf("%s: GET = %d %s, want 404 deed_not_found", p.Name, res.Status, res.Body)
			}
		}
	})
}

func TestRejectingAndCommendingADeed(t *testing.T) {
	w := newWorld(t)

	t.Run("the branch secretary rejects a deed with a reason the member is told", func(t *testing.T) {
		w := w.in(t)
		d := w.nominate(w.MemberA, nil, "自荐事迹")
		if res := w.act(w.SecA, d.ID, "reject", map[string]string{"reason": strings.Repeat("否", 201)}); res.Status != 400 {
			t.Errorf("a 201-character reason = %d %s, want 400", res.Status, res.Body)
		}
		var got deedJSON
		w.Expect(w.act(w.SecA, d.ID, "reject", map[string]string{"reason": "事迹材料不够具体"}), 200).JSON(t, &got)
		if got.Status != "rejected" || got.Reason != "事迹材料不够具体" {
			t.Errorf("rejected deed = %+v", got)
		}
		_, evs := w.timeline(w.MemberA, d.ID)
		if last := evs[len(evs)-1]; last.Kind != "rejected" || last.Note != "事迹材料不够具体" || last.ActorID != w.SecA.ID {
			t.Errorf("last step = %+v", last)
		}
		if n := w.notifications(d.ID, w.MemberA.ID); n != 2 {
			t.Errorf("member was told %d times, want 2 (nominated, rejected)", n)
		}
		if got := w.trail(w.A, w.SecA, d.ID); !slices.Equal(got, []string{"deed.reject@A by 李红梅"}) {
			t.Errorf("audit trail = %v", got)
		}
		for _, action := range []string{"approve", "reject", "recommend"} {
			if res := w.act(w.SecA, d.ID, action, nil); res.Status != 409 || res.ErrorCode() != "invalid_transition" {
				t.Errorf("%s after reject = %d %s, want 409 invalid_transition", action, res.Status, res.Body)
			}
		}
	})

	t.Run("the general branch rejects a deed recommended to it", func(t *testing.T) {
		w := w.in(t)
		d := w.nominate(w.MemberB, nil, "夜间巡逻")
		w.Expect(w.act(w.SecB, d.ID, "approve", nil), 200)
		w.Expect(w.act(w.SecB, d.ID, "recommend", nil), 200)
		var got deedJSON
		w.Expect(w.act(w.gbSec, d.ID, "reject", map[string]string{"reason": "已有同类表彰"}), 200).JSON(t, &got)
		if got.Status != "rejected" || got.CurrentOrgID != w.gb {
			t.Errorf("deed rejected at the general branch = %+v", got)
		}
	})

	t.Run("a committee directly above a branch commends the deed it was recommended", func(t *testing.T) {
		w := w.in(t)
		d := w.nominate(w.memberC, nil, "协助转运隔离人员")
		w.Expect(w.act(w.secC, d.ID, "approve", nil), 200)
		w.Expect(w.act(w.secC, d.ID, "recommend", nil), 200)
		var got deedJSON
		w.Expect(w.act(w.otherSec, d.ID, "commend", nil), 200).JSON(t, &got)
		if got.Status != "commended" || got.CurrentOrgID != w.other {
			t.Errorf("deed commended by the committee = %+v", got)
		}
		_, evs := w.timeline(w.memberC, d.ID)
		if want := "nominated@C by 吴刚, approved@C by 钱书记, recommended@other by 钱书记, commended@other by 周区委"; w.steps(evs) != want {
			t.Errorf("timeline = %s, want %s", w.steps(evs), want)
		}
	})

	t.Run("secretaries outside the deed's subtree can neither see nor act on it", func(t *testing.T) {
		w := w.in(t)
		d := w.nominate(w.memberC, nil, "另一棵子树的事迹")
		for _, p := range []person{w.SecA, w.gbSec} {
			if res := w.DoAs("GET", fmt.Sprintf("/api/v1/deeds/%d", d.ID), p, nil); res.Status != 404 {
				t.Errorf("%s: GET = %d, want 404", p.Name, res.Status)
			}
			if res := w.act(p, d.ID, "approve", nil); res.Status != 404 || res.ErrorCode() != "deed_not_found" {
				t.Errorf("%s: approve = %d %s, want 404 deed_not_found", p.Name, res.Status, res.Body)
			}
		}
		if res := w.act(w.memberC, d.ID, "approve", nil); res.Status != 403 {
			t.Errorf("the member approving their own deed = %d %s, want 403", res.Status, res.Body)
		}
	})
}

func TestListingDeedsBySubtreeAndStatus(t *testing.T) {
	w := newWorld(t)
	pendingA := w.nominate(w.MemberA, nil, "待审核事迹")
	approvedA := w.nominate(w.memberA2, nil, "已审核事迹")
	w.Expect(w.act(w.SecA, approvedA.ID, "approve", nil), 200)
	recommendedB := w.nominate(w.MemberB, nil, "已推荐事迹")
	w.Expect(w.act(w.SecB, recommendedB.ID, "approve", nil), 200)
	w.Expect(w.act(w.SecB, recommendedB.ID, "recommend", nil), 200)
	pendingC := w.nominate(w.memberC, nil, "另一子树事迹")

	for _, tc := range []struct {
		name string
		as   person
		org  int64
		qs   string
		want []int64
	}{
		{"a branch lists its own members' deeds, newest first", w.SecA, w.A, "", []int64{approvedA.ID, pendingA.ID}},
		{"a branch filters by status", w.SecA, w.A, "?status=approved", []int64{approvedA.ID}},
		{"the general branch lists both its branches", w.gbSec, w.gb, "", []int64{recommendedB.ID, approvedA.ID, pendingA.ID}},
		{"the general branch finds what was recommended to it", w.gbSec, w.gb, "?status=recommended", []int64{recommendedB.ID}},
		{"the root lists the whole tree", w.RootSec, w.Root, "", []int64{pendingC.ID, recommendedB.ID, approvedA.ID, pendingA.ID}},
		{"the root filters the whole tree by status", w.RootSec, w.Root, "?status=pending", []int64{pendingC.ID, pendingA.ID}},
		{"a status nothing has is an empty list", w.RootSec, w.Root, "?status=commended", []int64{}},
		{"the other committee lists only its subtree", w.otherSec, w.other, "", []int64{pendingC.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			if got := w.list(tc.as, fmt.Sprintf("/api/v1/orgs/%d/deeds%s", tc.org, tc.qs)); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	w.ExpectHidden(t, "/api/v1/orgs/%d/deeds", []testenv.Outsider{
		{Name: "a branch secretary cannot list the general branch above", As: w.SecA, Org: w.gb},
		{Name: "a branch secretary cannot list a sibling branch", As: w.SecA, Org: w.B},
		{Name: "another committee's secretary cannot list this subtree", As: w.otherSec, Org: w.gb},
		{Name: "a plain member cannot list their branch", As: w.MemberA, Org: w.A},
	})

	t.Run("an unknown status is a bad request", func(t *testing.T) {
		w := w.in(t)
		res := w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/deeds?status=famous", w.Root), w.RootSec, nil)
		e := res.APIError(t)
		if res.Status != 400 || e.Fields["status"] == "" {
			t.Errorf("got %d %s, want 400 naming status", res.Status, res.Body)
		}
	})
}
