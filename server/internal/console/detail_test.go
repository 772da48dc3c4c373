package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"xianfeng/server/internal/testenv"
)

func TestATaskPageShowsThePhotosOfEachCheckin(t *testing.T) {
	w := testenv.NewWorld(t, testenv.Options{})
	var tk struct {
		ID int64 `json:"id"`
	}
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/tasks", w.A), w.SecA, map[string]any{"title": "卡口值守", "kind": "duty",
		"target": map[string]any{"badges": []string{"frontline"}}}), http.StatusCreated).JSON(t, &tk)
	if err := w.App.Task.FanOut(context.Background(), tk.ID); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, w)
	b.loginAs(w, w.SecA)
	taskPath := fmt.Sprintf("/console/tasks/%d", tk.ID)
	if p := b.get(taskPath); p.Status != http.StatusOK || thumbnail.MatchString(p.Body) {
		t.Fatalf("before the check-in the task page = %d, with a photo", p.Status)
	}

	photo := uploadPhoto(t, w, w.MemberA)
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/tasks/%d/checkin", tk.ID), w.MemberA, map[string]any{
		"request_id": "tc-photo", "media_ids": []int64{photo}}), http.StatusOK)

	p := b.get(taskPath)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "张小明") {
		t.Fatalf("the task page = %d: %.600s", p.Status, p.Body)
	}
	thumbnailLoads(t, b, "the task page", p)

	other := newBrowser(t, w)
	other.loginAs(w, w.SecB)
	if r := other.get(taskPath); r.Status != http.StatusNotFound || thumbnail.MatchString(r.Body) {
		t.Errorf("the task page for 第二党支部's secretary = %d, want 404 without the photo", r.Status)
	}
}

func TestADeedHasItsOwnPageWithItsPathAndActions(t *testing.T) {
	w := testenv.NewWorld(t, testenv.Options{})
	var d, other struct {
		ID int64 `json:"id"`
	}
	photo := uploadPhoto(t, w, w.MemberA)
	w.Expect(w.DoAs("POST", "/api/v1/deeds", w.MemberA, map[string]any{"title": "连续值守七昼夜", "content": "张小明在卡口连续值守。",
		"media_ids": []int64{photo}}), http.StatusCreated).JSON(t, &d)
	w.Expect(w.DoAs("POST", "/api/v1/deeds", w.MemberA, map[string]any{"title": "义务理发", "content": "为独居老人理发。"}), http.StatusCreated).JSON(t, &other)
	deedPath := fmt.Sprintf("/console/deeds/%d", d.ID)

	b := newBrowser(t, w)
	dash := b.loginAs(w, w.SecA)
	csrf := dash.csrf(t)
	list := b.get(orgPath(w.A, "/deeds"))
	if !strings.Contains(list.Body, `href="`+deedPath+`"`) || !strings.Contains(list.Body, "党员：张小明") {
		t.Errorf("the deeds list does not link the deed's page with its member's name: %.800s", list.Body)
	}
	p := b.get(deedPath)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "连续值守七昼夜") || !strings.Contains(p.Body, "提名 · 张小明") {
		t.Fatalf("the deed's page = %d: %.800s", p.Status, p.Body)
	}
	thumbnailLoads(t, b, "the deed's page", p)

	// Approved and recommended from its page, which it returns to.
	for _, action := range []string{"approve", "recommend"} {
		r := b.post(deedPath+"/"+action, csrf, url.Values{"org": {fmt.Sprint(w.A)}, "back": {"deed"}})
		if r.Status != http.StatusSeeOther || r.Location != deedPath+"?done=deed-"+action {
			t.Fatalf("%s from the deed's page = %d to %q: %.300s", action, r.Status, r.Location, r.Body)
		}
	}
	// Recommended to 青岛市委, the deed is that org's to handle: the branch's
	// secretary sees who has it now, not buttons the service would refuse;
	// 青岛市委's secretary sees them.
	if r := b.get(deedPath); strings.Contains(r.Body, `action="`+deedPath+`/`) || !strings.Contains(r.Body, "待青岛市委书记处理") {
		t.Errorf("the recommended deed's page as 第一党支部's secretary: %.1500s", r.Body)
	}
	root := newBrowser(t, w)
	rootDash := root.loginAs(w, w.RootSec)
	if r := root.get(deedPath); !strings.Contains(r.Body, `action="`+deedPath+`/commend"`) {
		t.Errorf("the recommended deed's page as 青岛市委's secretary offers no commendation: %.1500s", r.Body)
	}
	// 青岛市委's secretary commends it from the same page.
	if r := root.post(deedPath+"/commend", rootDash.csrf(t), url.Values{"org": {fmt.Sprint(w.Root)}, "back": {"deed"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("commending = %d %.300s", r.Status, r.Body)
	}
	p = b.get(deedPath)
	for _, step := range []string{"已通过 · 李红梅", "已推荐 · 李红梅", "（青岛市委）", "已表彰 · 王书记"} {
		if !strings.Contains(p.Body, step) {
			t.Errorf("the deed's path as 第一党支部's secretary sees it lacks %q: %.1500s", step, p.Body)
		}
	}
	if strings.Contains(p.Body, `action="`+deedPath+`/`) {
		t.Error("a commended deed's page still offers actions")
	}

	// Rejected with a reason, from its page.
	otherPath := fmt.Sprintf("/console/deeds/%d", other.ID)
	if r := b.post(otherPath+"/reject", csrf, url.Values{"org": {fmt.Sprint(w.A)}, "back": {"deed"}, "reason": {"材料不全"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("rejecting = %d %.300s", r.Status, r.Body)
	}
	if r := b.get(otherPath); !strings.Contains(r.Body, "理由：材料不全") || !strings.Contains(r.Body, "已拒绝 · 李红梅") {
		t.Errorf("the rejected deed's page: %.1000s", r.Body)
	}

	// The sibling branch's secretary gets the not-found page, and cannot act.
	sib := newBrowser(t, w)
	sibDash := sib.loginAs(w, w.SecB)
	for _, path := range []string{deedPath, otherPath} {
		if r := sib.get(path); r.Status != http.StatusNotFound || strings.Contains(r.Body, "连续值守") || strings.Contains(r.Body, "义务理发") ||
			!strings.Contains(r.Body, "操作未完成") {
			t.Errorf("GET %s as 第二党支部's secretary = %d, want the not-found page: %.300s", path, r.Status, r.Body)
		}
	}
	if r := sib.post(otherPath+"/approve", sibDash.csrf(t), url.Values{"org": {fmt.Sprint(w.B)}, "back": {"deed"}}); r.Status != http.StatusNotFound {
		t.Errorf("approving another branch's deed = %d, want 404", r.Status)
	}
}

func TestTheAuditTrailNamesPeopleAndOrgsInScope(t *testing.T) {
	w := testenv.NewWorld(t, testenv.Options{})
	b := newBrowser(t, w)
	b.loginAs(w, w.SecA)
	// 王书记 of 青岛市委 approved 李红梅 into 第一党支部, and she approved
	// 张小明 (testenv's tree).
	p := b.get(orgPath(w.A, "/audit"))
	for _, who := range [][2]string{{"王书记", "李红梅"}, {"李红梅", "张小明"}} {
		row := regexp.MustCompile(`<tr><td>[^<]*</td><td>` + who[0] + ` <small class="muted">\d+</small></td><td>批准入组 <code class="muted">member.approve</code></td><td>` +
			who[1] + ` <small class="muted">\d+</small></td><td>第一党支部</td>`)
		if p.Status != http.StatusOK || !row.MatchString(p.Body) {
			t.Errorf("the audit page does not name %s approving %s in 第一党支部: %s", who[0], who[1], p.Body[strings.Index(p.Body, "<main>"):])
		}
	}
	if strings.Contains(p.Body, "用户 ") {
		t.Errorf("the audit page leaves a bare user id: %.2000s", p.Body)
	}
	// 李红梅 made secretary reads as a change of role in words, not as JSON.
	if !strings.Contains(p.Body, "变更身份或角色") || !strings.Contains(p.Body, "角色：党员 → 书记") || strings.Contains(p.Body, "map[") {
		t.Errorf("the role change is not in words: %s", p.Body[strings.Index(p.Body, "<main>"):])
	}

	// The look-up names only whom the secretary may know of.
	ctx := context.Background()
	n, err := w.App.Org.NamesAround(ctx, w.SecA.ID, w.A, []int64{w.MemberA.ID, w.RootSec.ID, w.MemberB.ID, w.SecB.ID}, []int64{w.A, w.Root, w.B})
	if err != nil {
		t.Fatal(err)
	}
	if n.User(w.MemberA.ID) != "张小明" || n.User(w.RootSec.ID) != "王书记" || n.Org(w.A) != "第一党支部" || n.Org(w.Root) != "青岛市委" {
		t.Errorf("names in scope: %+v", n)
	}
	if n.User(w.MemberB.ID) != "" || n.User(w.SecB.ID) != "" || n.Org(w.B) != "" {
		t.Errorf("第一党支部's secretary is told names of 第二党支部: %+v", n)
	}
	if _, err := w.App.Org.NamesAround(ctx, w.SecB.ID, w.A, []int64{w.MemberA.ID}, nil); err == nil {
		t.Error("第二党支部's secretary looked up names around 第一党支部")
	}
}

func TestTheFormEditorTakesAsManyFieldsAsTheAPIAllows(t *testing.T) {
	w := testenv.NewWorld(t, testenv.Options{})
	b := newBrowser(t, w)
	dash := b.loginAs(w, w.SecA)
	csrf := dash.csrf(t)
	rowsOf := func(p page) int {
		return strings.Count(p.Body, `<input id="label`) - strings.Count(p.Body, `<input id="label__i__"`)
	}
	first := b.get(orgPath(w.A, "/forms"))
	if rowsOf(first) != 8 || !strings.Contains(first.Body, `id="add-field"`) || !strings.Contains(first.Body, `name="label__i__"`) {
		t.Fatalf("the editor starts with %d rows (want 8), a 添加字段 button and a blank row to copy: %.400s", rowsOf(first), first.Body)
	}

	// 添加字段 without JavaScript: the editor comes back as typed, with 8 more rows.
	typed := url.Values{"title": {"入户排查"}, "mode": {"entries"}, "badge": {"frontline"}, "more": {"1"}}
	for i := range 8 {
		typed.Set(fmt.Sprintf("label%d", i), fmt.Sprintf("问题%d", i+1))
		typed.Set(fmt.Sprintf("type%d", i), "text")
	}
	typed.Set("type3", "number")
	typed.Set("op3", "gte")
	typed.Set("value3", "5")
	typed.Set("required3", "1")
	more := b.post(orgPath(w.A, "/forms"), csrf, typed)
	if more.Status != http.StatusOK || rowsOf(more) != 16 {
		t.Fatalf("添加字段 without JavaScript = %d with %d rows, want 200 with 16", more.Status, rowsOf(more))
	}
	for _, kept := range []string{`value="入户排查"`, `value="entries" selected`, `value="frontline" checked`, `name="label7" maxlength="50" value="问题8"`,
		`name="label8" maxlength="50" value=""`, `<option value="number" selected>`, `<option value="gte" selected>`, `name="value3" maxlength="200" size="8" value="5"`,
		`name="required3" value="1" aria-label="第 4 个字段必填" checked`} {
		if !strings.Contains(more.Body, kept) {
			t.Errorf("the editor sent back lacks %s", kept)
		}
	}

	// Published with twelve fields.
	pub := url.Values{"title": {"入户排查"}, "mode": {"entries"}, "badge": {"frontline"}}
	for i := range 12 {
		pub.Set(fmt.Sprintf("label%d", i), fmt.Sprintf("问题%d", i+1))
		pub.Set(fmt.Sprintf("type%d", i), "text")
	}
	p := b.post(orgPath(w.A, "/forms"), csrf, pub)
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/console/forms/") {
		t.Fatalf("publishing twelve fields = %d %.400s", p.Status, p.Body)
	}
	var formID int64
	fmt.Sscanf(strings.TrimPrefix(p.Location, "/console/forms/"), "%d", &formID)
	var f struct {
		Form struct {
			Fields []struct {
				Key   string `json:"key"`
				Label string `json:"label"`
			} `json:"fields"`
		} `json:"form"`
	}
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d", formID), w.SecA, nil), http.StatusOK).JSON(t, &f)
	if len(f.Form.Fields) != 12 || f.Form.Fields[11].Key != "f12" || f.Form.Fields[11].Label != "问题12" {
		t.Errorf("the API shows the form's fields as %+v", f.Form.Fields)
	}

	// The editor stops at form.MaxFields rows, and the service refuses more.
	full := url.Values{"title": {"大表"}, "more": {"1"}}
	for i := range 48 {
		full.Set(fmt.Sprintf("label%d", i), fmt.Sprintf("问题%d", i+1))
	}
	if r := b.post(orgPath(w.A, "/forms"), csrf, full); rowsOf(r) != 50 || strings.Contains(r.Body, `id="add-field"`) || !strings.Contains(r.Body, `<p class="muted" id="fields-full">`) {
		t.Errorf("48 rows and 添加字段 = %d rows, the button still there or no word of the limit", rowsOf(r))
	}
	over := url.Values{"title": {"大表"}, "mode": {"once"}, "badge": {"frontline"}}
	for i := range 51 {
		over.Set(fmt.Sprintf("label%d", i), fmt.Sprintf("问题%d", i+1))
		over.Set(fmt.Sprintf("type%d", i), "text")
	}
	if r := b.post(orgPath(w.A, "/forms"), csrf, over); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "应有 1 到 50 个字段") {
		t.Errorf("51 fields = %d, want 400 naming the limit: %.300s", r.Status, r.Body)
	}
}
