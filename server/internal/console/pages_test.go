package console_test

import (
	"bytes"
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
