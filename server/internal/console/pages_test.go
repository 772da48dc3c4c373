package console_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
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
		fmt.Sprintf("/console/reports/%d", rep.ID),
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
	detail := root.get(fmt.Sprintf("/console/reports/%d", rep.ID))
	if detail.Status != http.StatusOK || !strings.Contains(detail.Body, "提交上报") {
		t.Errorf("the report's page for the root = %d: %.500s", detail.Status, detail.Body)
	}
	if p := root.post(fmt.Sprintf("/console/reports/%d/ack", rep.ID), detail.csrf(t), url.Values{"org": {fmt.Sprint(w.Root)}}); p.Status != http.StatusSeeOther {
		t.Errorf("acknowledging = %d %.300s", p.Status, p.Body)
	}
	if p := root.get(fmt.Sprintf("/console/reports/%d", rep.ID)); !strings.Contains(p.Body, "已确认") {
		t.Errorf("after acknowledging the timeline lacks it: %.800s", p.Body)
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

	absent := b.get(orgPath(w.A, "/absent"))
	if absent.Status != http.StatusOK || !strings.Contains(absent.Body, "李红梅") || strings.Contains(absent.Body, "张小明") {
		t.Errorf("who has not checked in = %d: %.600s", absent.Status, absent.Body)
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
	if !strings.Contains(m.Body, "张小明") || strings.Contains(m.Body, "<td>李红梅 <small") {
		t.Errorf("searching 小明 lists: %.800s", m.Body)
	}
	if p := b.post(orgPath(w.A, fmt.Sprintf("/members/%d/change", w.MemberA.ID)), dash.csrf(t), url.Values{"badge": {"information"}, "role": {"member"}}); p.Status != http.StatusSeeOther {
		t.Errorf("changing a badge = %d %.300s", p.Status, p.Body)
	}
	if p := b.get(orgPath(w.A, "/members?badge=information")); !strings.Contains(p.Body, "张小明") {
		t.Error("张小明 is not listed as 信息员 after the change")
	}
}

func TestAnnouncementsDeedsFiguresAndTheAuditTrailInTheConsole(t *testing.T) {
	w := testenv.NewWorld(t, testenv.Options{})
	var d struct {
		ID int64 `json:"id"`
	}
	w.Expect(w.DoAs("POST", "/api/v1/deeds", w.MemberA, map[string]any{"title": "连续值守七昼夜", "content": "张小明在卡口连续值守。"}), http.StatusCreated).JSON(t, &d)

	b := newBrowser(t, w)
	dash := b.loginAs(w, w.SecA)
	csrf := dash.csrf(t)

	// An announcement sent from the console reaches the branch's members.
	p := b.post(orgPath(w.A, "/announcements"), csrf, url.Values{"title": {"关于加强卡口值守的通知"}, "body": {"各位党员：\n请按时到岗。"}})
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/console/announcements/") {
		t.Fatalf("sending an announcement = %d %.300s", p.Status, p.Body)
	}
	var list struct {
		Items []struct {
			Title string `json:"title"`
		} `json:"items"`
	}
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/announcements", w.A), w.SecA, nil), http.StatusOK).JSON(t, &list)
	if len(list.Items) != 1 || list.Items[0].Title != "关于加强卡口值守的通知" {
		t.Errorf("the API lists %+v", list.Items)
	}
	if r := b.get(p.Location); r.Status != http.StatusOK || !strings.Contains(r.Body, "已读回执") || !strings.Contains(r.Body, "请按时到岗") {
		t.Errorf("the receipts page = %d", r.Status)
	}

	// The deed is reviewed from the console.
	if r := b.get(orgPath(w.A, "/deeds?status=pending")); !strings.Contains(r.Body, "连续值守七昼夜") {
		t.Fatalf("the deeds page does not list the pending deed: %.500s", r.Body)
	}
	if r := b.post(fmt.Sprintf("/console/deeds/%d/approve", d.ID), csrf, url.Values{"org": {fmt.Sprint(w.A)}}); r.Status != http.StatusSeeOther {
		t.Fatalf("approving the deed = %d %.300s", r.Status, r.Body)
	}
	var deedNow struct {
		Deed struct {
			Status string `json:"status"`
		} `json:"deed"`
	}
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/deeds/%d", d.ID), w.SecA, nil), http.StatusOK).JSON(t, &deedNow)
	if deedNow.Deed.Status != "approved" {
		t.Errorf("after approving in the console the deed is %q", deedNow.Deed.Status)
	}

	// Figures over a range, and the export of the same range.
	st := b.get(orgPath(w.A, "/stats?from=2026-01-01&to=2026-01-31"))
	if st.Status != http.StatusOK || !strings.Contains(st.Body, "2026-01-01 至 2026-01-31") || !strings.Contains(st.Body, "export.xlsx?from=2026-01-01&amp;to=2026-01-31") {
		t.Errorf("the stats page = %d: %.400s", st.Status, st.Body)
	}
	if r := b.get(orgPath(w.A, "/stats?from=2026-02-01&to=2026-01-01")); r.Status != http.StatusBadRequest {
		t.Errorf("a range that ends before it starts = %d, want 400", r.Status)
	}
	if r := b.get(orgPath(w.A, "/export.xlsx?from=2026-01-01&to=2026-01-31")); r.Status != http.StatusOK || !strings.HasPrefix(r.Body, "PK") {
		t.Errorf("the export = %d", r.Status)
	}

	// The audit trail shows the approval of 张小明 and of the deed.
	if r := b.get(orgPath(w.A, "/audit")); r.Status != http.StatusOK || !strings.Contains(r.Body, "member.approve") {
		t.Errorf("the audit page = %d: %.500s", r.Status, r.Body)
	}

	// None of it is open to the other branch's secretary.
	other := newBrowser(t, w)
	other.loginAs(w, w.SecB)
	for _, path := range []string{orgPath(w.A, "/announcements"), p.Location, orgPath(w.A, "/deeds"), orgPath(w.A, "/stats"), orgPath(w.A, "/audit")} {
		if r := other.get(path); r.Status != http.StatusNotFound {
			t.Errorf("GET %s as 第二党支部's secretary = %d, want 404", path, r.Status)
		}
	}
}

func TestAScreeningFormBuiltInTheConsoleCollectsEntriesAndAlerts(t *testing.T) {
	w := testenv.NewWorld(t, testenv.Options{})
	b := newBrowser(t, w)
	dash := b.loginAs(w, w.SecA)
	csrf := dash.csrf(t)
	p := b.post(orgPath(w.A, "/forms"), csrf, url.Values{"title": {"每日体温"}, "mode": {"daily"}, "due_time": {"18:00"}, "badge": {"frontline"},
		"label0": {"体温"}, "type0": {"temperature"}, "required0": {"1"}, "op0": {"gte"}, "value0": {"37.3"},
		"label1": {"症状"}, "type1": {"multi"}, "options1": {"咳嗽，发热、乏力"},
		"label2": {""}, "type2": {"text"}})
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/console/forms/") {
		t.Fatalf("publishing a form = %d %.400s", p.Status, p.Body)
	}
	formPath, _, _ := strings.Cut(p.Location, "?")
	var formID int64
	fmt.Sscanf(strings.TrimPrefix(formPath, "/console/forms/"), "%d", &formID)
	var f struct {
		Form struct {
			Fields []struct {
				Key     string   `json:"key"`
				Type    string   `json:"type"`
				Options []string `json:"options"`
			} `json:"fields"`
		} `json:"form"`
	}
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d", formID), w.SecA, nil), http.StatusOK).JSON(t, &f)
	if len(f.Form.Fields) != 2 || f.Form.Fields[0].Type != "temperature" || len(f.Form.Fields[1].Options) != 3 {
		t.Fatalf("the API shows the form's fields as %+v", f.Form.Fields)
	}
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/forms/%d/entries", formID), w.MemberA, map[string]any{
		"request_id": "e-1", "answers": map[string]any{"f1": 38.2, "f2": []string{"发热"}}}), http.StatusCreated)

	d := b.get(formPath)
	if d.Status != http.StatusOK || !strings.Contains(d.Body, "张小明") || !strings.Contains(d.Body, "38.2") || !strings.Contains(d.Body, "预警</span>") {
		t.Errorf("the form page = %d: %.600s", d.Status, d.Body)
	}
	if r := b.get(formPath + "/export.xlsx"); r.Status != http.StatusOK || !strings.HasPrefix(r.Body, "PK") {
		t.Errorf("the form's export = %d", r.Status)
	}
	other := newBrowser(t, w)
	other.loginAs(w, w.SecB)
	for _, path := range []string{formPath, formPath + "/export.xlsx", orgPath(w.A, "/forms")} {
		if r := other.get(path); r.Status != http.StatusNotFound {
			t.Errorf("GET %s as 第二党支部's secretary = %d, want 404", path, r.Status)
		}
	}
	if r := b.post(formPath+"/close", csrf, nil); r.Status != http.StatusSeeOther {
		t.Errorf("closing = %d", r.Status)
	}
	if r := w.DoAs("POST", fmt.Sprintf("/api/v1/forms/%d/entries", formID), w.MemberA, map[string]any{
		"request_id": "e-2", "answers": map[string]any{"f1": 36.5}}); r.Status != http.StatusConflict {
		t.Errorf("an entry after closing in the console = %d, want 409", r.Status)
	}
}

func TestMembersAreSecondedToATemporaryOrgFromTheConsole(t *testing.T) {
	w := testenv.NewWorld(t, testenv.Options{})
	temp := w.Child(w.SecA, w.A, "卡口临时党支部", "temporary")
	b := newBrowser(t, w)
	dash := b.loginAs(w, w.SecA)
	if m := b.get(orgPath(w.A, "/members")); strings.Contains(m.Body, `id="second"`) {
		t.Error("a branch's members page offers secondment")
	}
	m := b.get(orgPath(temp, "/members"))
	if m.Status != http.StatusOK || !strings.Contains(m.Body, `id="second"`) {
		t.Fatalf("the temporary org's members page = %d without the secondment form", m.Status)
	}
	p := b.post(orgPath(temp, "/members/second"), dash.csrf(t), url.Values{"user_ids": {fmt.Sprintf("%d，%d", w.MemberA.ID, w.MemberB.ID)}})
	if p.Status != http.StatusSeeOther || !strings.Contains(p.Location, "added=1&skipped=1") {
		t.Fatalf("seconding = %d to %q", p.Status, p.Location)
	}
	if got := memberStatus(t, w, temp, w.MemberA.ID); got != "approved" {
		t.Errorf("张小明 in the temporary org: %s", got)
	}
	if got := memberStatus(t, w, temp, w.MemberB.ID); got != "none" {
		t.Errorf("陈晓东 of the other branch in the temporary org: %s", got)
	}
	if p := b.post(orgPath(temp, "/members/second"), dash.csrf(t), url.Values{"user_ids": {"abc"}}); p.Status != http.StatusBadRequest {
		t.Errorf("seconding abc = %d, want 400", p.Status)
	}
}

// pngBytes is a small PNG photo.
func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := range 64 {
		for y := range 48 {
			img.Set(x, y, color.RGBA{R: uint8(x * 4), G: uint8(y * 5), B: 90, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// uploadPhoto uploads a small PNG as p, as the mini-program does before
// attaching it, and returns its media id.
func uploadPhoto(t *testing.T, w *testenv.World, p testenv.Person) int64 {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "photo.png")
	fw.Write(pngBytes(t))
	mw.Close()
	var m struct {
		ID int64 `json:"id"`
	}
	w.Expect(w.DoWith("POST", "/api/v1/media", p.Token, body.Bytes(), map[string]string{"Content-Type": mw.FormDataContentType()}), http.StatusCreated).JSON(t, &m)
	return m.ID
}

var thumbnail = regexp.MustCompile(`<img src="([^"]+)" alt="附图"`)

// thumbnailLoads checks that a page shows a photo whose thumbnail the
// browser can load.
func thumbnailLoads(t *testing.T, b *browser, what string, p page) {
	t.Helper()
	src := thumbnail.FindStringSubmatch(p.Body)
	if src == nil {
		t.Fatalf("%s shows no photo: %.800s", what, p.Body)
	}
	img := b.get(html.UnescapeString(src[1]))
	if img.Status != http.StatusOK || !strings.HasPrefix(img.Header.Get("Content-Type"), "image/") {
		t.Errorf("the thumbnail on %s = %d %s", what, img.Status, img.Header.Get("Content-Type"))
	}
}

func TestPhotosOfReportsShowInline(t *testing.T) {
	w := testenv.NewWorld(t, testenv.Options{})
	photo := uploadPhoto(t, w, w.MemberA)
	w.Expect(w.DoAs("POST", "/api/v1/reports", w.MemberA, map[string]any{"org_id": w.A, "category": "supplies", "urgency": "normal",
		"content": "口罩短缺，见附图", "request_id": "r-photo", "media_ids": []int64{photo}}), http.StatusCreated)

	b := newBrowser(t, w)
	b.loginAs(w, w.SecA)
	thumbnailLoads(t, b, "the reports page", b.get(orgPath(w.A, "/reports")))
}

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
