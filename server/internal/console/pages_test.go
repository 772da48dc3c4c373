package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"xianfeng/server/internal/testenv"
)

func TestASecretaryNeverSeesASiblingBranchThroughTheConsole(t *testing.T) {
	w := testenv.NewWorld(t, testenv.Options{})
	var rep, tk struct {
		ID int64 `json:"id"`
	}
	w.Expect(w.DoAs("POST", "/api/v1/reports", w.MemberB, map[string]any{"org_id": w.B, "category": "help_needed", "urgency": "urgent",
		"content": "第二支部的求助：独居老人缺药", "request_id": "r-b-1"}), http.StatusCreated).JSON(t, &rep)
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/tasks", w.B), w.SecB, map[string]any{"title": "第二支部值守", "kind": "duty",
		"target": map[string]any{"badges": []string{"frontline"}}}), http.StatusCreated).JSON(t, &tk)

	b := newBrowser(t, w)
	dash := b.loginAs(w, w.SecA)
	csrf := dash.csrf(t)
	for _, path := range []string{
		orgPath(w.B, ""), orgPath(w.B, "/members"), orgPath(w.B, "/members?status=pending"), orgPath(w.B, "/tasks"),
		orgPath(w.B, "/reports"), orgPath(w.B, "/export.xlsx"), fmt.Sprintf("/console/tasks/%d", tk.ID), orgPath(w.Root, ""),
	} {
		p := b.get(path)
		if p.Status != http.StatusNotFound || strings.Contains(p.Body, "陈晓东") || strings.Contains(p.Body, "独居老人") {
			t.Errorf("GET %s as 第一党支部's secretary = %d, want 404 showing nothing of 第二党支部", path, p.Status)
		}
	}
	for path, form := range map[string]url.Values{
		orgPath(w.B, "/members/review"):                               {"action": {"approve"}, "user_id": {fmt.Sprint(w.MemberB.ID)}},
		orgPath(w.B, fmt.Sprintf("/members/%d/remove", w.MemberB.ID)): nil,
		orgPath(w.B, fmt.Sprintf("/members/%d/change", w.MemberB.ID)): {"badge": {"publicity"}, "role": {"member"}},
		fmt.Sprintf("/console/tasks/%d/cancel", tk.ID):                nil,
		fmt.Sprintf("/console/reports/%d/ack", rep.ID):                {"org": {fmt.Sprint(w.A)}},
		orgPath(w.B, "/tasks"):                                        {"title": {"越权任务"}, "kind": {"duty"}, "badge": {"frontline"}},
	} {
		if p := b.post(path, csrf, form); p.Status != http.StatusNotFound {
			t.Errorf("POST %s as 第一党支部's secretary = %d, want 404", path, p.Status)
		}
	}
	if got := memberStatus(t, w, w.B, w.MemberB.ID); got != "approved" {
		t.Errorf("陈晓东 is %s after the refused actions", got)
	}

	// The root's secretary sees both branches and the report from below.
	root := newBrowser(t, w)
	root.loginAs(w, w.RootSec)
	if p := root.get(orgPath(w.Root, "/reports")); p.Status != http.StatusOK || !strings.Contains(p.Body, "独居老人") {
		t.Errorf("the root's reports page = %d without the report from 第二党支部", p.Status)
	}
	if p := root.get(orgPath(w.B, "/members")); p.Status != http.StatusOK || !strings.Contains(p.Body, "陈晓东") {
		t.Errorf("the root's view of 第二党支部's members = %d", p.Status)
	}
	if p := root.get(orgPath(w.Root, "/export.xlsx")); p.Status != http.StatusOK || !strings.Contains(p.Header.Get("Content-Type"), "spreadsheet") {
		t.Errorf("the root's export = %d %s", p.Status, p.Header.Get("Content-Type"))
	}
}

func TestASecretaryRunsTheirBranchFromTheConsole(t *testing.T) {
	w := testenv.NewWorld(t, testenv.Options{})
	b := newBrowser(t, w)
	dash := b.loginAs(w, w.SecA)
	if !strings.Contains(dash.Body, `id="checked-in">0<`) {
		t.Fatalf("before any check-in the board does not show 0: %.600s", dash.Body)
	}
	w.Expect(w.DoAs("POST", "/api/v1/checkins", w.MemberA, map[string]any{"org_id": w.A, "request_id": "c-1"}), http.StatusCreated)
	dash = b.get(orgPath(w.A, ""))
	if !strings.Contains(dash.Body, `id="checked-in">1<`) || !strings.Contains(dash.Body, "<svg") {
		t.Errorf("after 张小明 checked in the board does not show 1 with its chart: %.600s", dash.Body)
	}

	// A task for all 战斗员, created with the form.
	p := b.post(orgPath(w.A, "/tasks"), dash.csrf(t), url.Values{"title": {"社区卡口值守"}, "kind": {"duty"}, "badge": {"frontline"},
		"lat": {"36.07"}, "lng": {"120.38"}, "radius_m": {"300"}, "address": {"香港中路 1 号"}, "due_at": {"2030-01-02T18:00"}})
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/console/tasks/") {
		t.Fatalf("creating a task = %d %.400s", p.Status, p.Body)
	}
	var tasks struct {
		Items []struct {
			Title    string `json:"title"`
			Location struct {
				RadiusM int `json:"radius_m"`
			} `json:"location"`
			Target struct {
				Badges []string `json:"badges"`
			} `json:"target"`
		} `json:"items"`
	}
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/tasks", w.A), w.SecA, nil), http.StatusOK).JSON(t, &tasks)
	if len(tasks.Items) != 1 || tasks.Items[0].Title != "社区卡口值守" || tasks.Items[0].Location.RadiusM != 300 ||
		len(tasks.Items[0].Target.Badges) != 1 || tasks.Items[0].Target.Badges[0] != "frontline" {
		t.Errorf("the API lists %+v", tasks.Items)
	}
	if d := b.get(p.Location); d.Status != http.StatusOK || !strings.Contains(d.Body, "社区卡口值守") {
		t.Errorf("the task page = %d", d.Status)
	}
	// A bad form names what is wrong.
	if p := b.post(orgPath(w.A, "/tasks"), dash.csrf(t), url.Values{"title": {""}, "kind": {"duty"}, "lat": {"abc"}}); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "location") {
		t.Errorf("a bad task form = %d", p.Status)
	}

	// Members: search by name, change a badge.
	m := b.get(orgPath(w.A, "/members?q=小明"))
	if !strings.Contains(m.Body, "张小明") || strings.Contains(m.Body, "李红梅</td>") {
		t.Errorf("searching 小明 lists: %.800s", m.Body)
	}
	if p := b.post(orgPath(w.A, fmt.Sprintf("/members/%d/change", w.MemberA.ID)), dash.csrf(t), url.Values{"badge": {"information"}, "role": {"member"}}); p.Status != http.StatusSeeOther {
		t.Errorf("changing a badge = %d %.300s", p.Status, p.Body)
	}
	if p := b.get(orgPath(w.A, "/members?badge=information")); !strings.Contains(p.Body, "张小明") {
		t.Error("张小明 is not listed as 信息员 after the change")
	}
}
