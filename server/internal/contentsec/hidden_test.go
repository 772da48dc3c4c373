package contentsec_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"xianfeng/config"

	"xianfeng/server/internal/contentsec"
	formpkg "xianfeng/server/internal/form"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/testenv"
	"xianfeng/server/internal/wechat/wechattest"
)

// inactiveSecretary is a secretary of A whose openid WeChat will not check
// (61010) until the test activates "o-inactive": what they write is stored
// and queued for a later check.
func inactiveSecretary(w *testenv.World) testenv.Person {
	p := w.Join(w.User("inactive", "孙晓"), w.A, w.RootSec, "孙晓", "information", w.SecA)
	w.Expect(w.DoAs("PATCH", w.MemberPath(w.A, p), w.RootSec, map[string]string{"role": "secretary"}), http.StatusOK)
	return p
}

// recheckAll activates the inactive openid and runs the job of every
// queued check of kind, as the queue worker would.
func recheckAll(w *testenv.World, kind string) {
	w.WeChat.Activate("o-inactive")
	var checks []contentsec.Check
	w.Must(w.App.DB.Where("kind = ? AND status = ?", kind, contentsec.StatusQueued).Find(&checks).Error)
	if len(checks) == 0 {
		w.T().Fatalf("no queued %s check: the outage did not queue the text", kind)
	}
	for _, c := range checks {
		w.Must(w.App.Content.Recheck(context.Background(), c.ID))
	}
}

func TestATaskFoundRiskyLaterIsHiddenFromItsAssignees(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	author := inactiveSecretary(w)
	var tk struct {
		ID int64 `json:"id"`
	}
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/tasks", w.A), author, map[string]any{"title": "卡口值守" + wechattest.RiskyText,
		"kind": "duty", "description": "请按时到岗", "target": map[string]any{"user_ids": []int64{w.MemberA.ID}}}), http.StatusCreated).JSON(t, &tk)
	w.Must(w.App.Task.FanOut(ctx, tk.ID))
	path := fmt.Sprintf("/api/v1/tasks/%d", tk.ID)
	mine := func() int {
		var page struct {
			Items []struct {
				Task struct {
					ID int64 `json:"id"`
				} `json:"task"`
			} `json:"items"`
		}
		w.Expect(w.DoAs("GET", "/api/v1/me/tasks", w.MemberA, nil), http.StatusOK).JSON(t, &page)
		n := 0
		for _, it := range page.Items {
			if it.Task.ID == tk.ID {
				n++
			}
		}
		return n
	}
	w.Expect(w.DoAs("GET", path, w.MemberA, nil), http.StatusOK)
	if mine() != 1 {
		t.Fatalf("the assignee does not list the task before its check")
	}

	recheckAll(w, contentsec.KindTask)
	t.Run("its assignee neither sees nor lists nor acts on it", func(t *testing.T) {
		w := w.In(t)
		w.Expect(w.DoAs("GET", path, w.MemberA, nil), http.StatusNotFound)
		if n := mine(); n != 0 {
			t.Errorf("GET /me/tasks lists the hidden task %d times", n)
		}
		w.Expect(w.DoAs("POST", path+"/accept", w.MemberA, nil), http.StatusNotFound)
	})
	t.Run("another secretary of its org does not see it", func(t *testing.T) {
		w := w.In(t)
		w.Expect(w.DoAs("GET", path, w.SecA, nil), http.StatusNotFound)
	})
	t.Run("its author still sees it and is told", func(t *testing.T) {
		w := w.In(t)
		w.Expect(w.DoAs("GET", path, author, nil), http.StatusOK)
		if n := inbox(w, author, notify.KindContentHidden); n != 1 {
			t.Errorf("the author has %d content_hidden notifications, want 1", n)
		}
	})
	t.Run("cancelled by its author, its assignee is not told its title", func(t *testing.T) {
		w := w.In(t)
		w.Expect(w.DoAs("POST", path+"/cancel", author, nil), http.StatusOK)
		if n := inbox(w, w.MemberA, notify.KindTaskCancelled); n != 0 {
			t.Errorf("the assignee got %d task_cancelled notifications naming the hidden task, want 0", n)
		}
	})
}

// entryForm has SecA publish a form of A with a text field "note" and a
// location field "place", and returns its id.
func entryForm(w *testenv.World) int64 {
	var f struct {
		ID int64 `json:"id"`
	}
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/forms", w.A), w.SecA, map[string]any{"title": "卡口巡查记录", "mode": "entries",
		"fields": []map[string]any{{"key": "note", "label": "情况说明", "type": "text", "required": true},
			{"key": "place", "label": "地点", "type": "location"}}}), http.StatusCreated).JSON(w.T(), &f)
	return f.ID
}

var entries int

func submitEntry(w *testenv.World, p testenv.Person, form int64, answers map[string]any, mediaIDs ...int64) testenv.Response {
	entries++
	return w.DoAs("POST", fmt.Sprintf("/api/v1/forms/%d/entries", form), p, map[string]any{"request_id": fmt.Sprintf("e-%d", entries),
		"answers": answers, "media_ids": mediaIDs})
}

// entryIDs lists the ids of the form's entries as p sees them.
func entryIDs(w *testenv.World, p testenv.Person, form int64) []int64 {
	var page struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d/entries", form), p, nil), http.StatusOK).JSON(w.T(), &page)
	var out []int64
	for _, it := range page.Items {
		out = append(out, it.ID)
	}
	return out
}

func TestRiskyFormAnswersAreRefusedNamingTheField(t *testing.T) {
	w := newWorld(t)
	form := entryForm(w)
	risky := "卡口有人" + wechattest.RiskyText
	for _, c := range []struct {
		name, field string
		answers     map[string]any
	}{
		{"a risky text answer", "answers.note", map[string]any{"note": risky}},
		{"a risky location address", "answers.place", map[string]any{"note": "一切正常",
			"place": map[string]any{"lat": 36.07, "lng": 120.38, "address": "八大峡" + risky}}},
	} {
		t.Run(c.name+" is refused naming "+c.field, func(t *testing.T) {
			w := w.In(t)
			r := w.Expect(submitEntry(w, w.MemberA, form, c.answers), http.StatusUnprocessableEntity)
			if r.ErrorCode() != "content_risky" || r.APIError(t).Fields[c.field] == "" {
				t.Fatalf("answer = %s, want content_risky naming %s", r.Body, c.field)
			}
		})
	}
	if ids := entryIDs(w, w.SecA, form); len(ids) != 0 {
		t.Fatalf("refused entries were stored: %v", ids)
	}
	t.Run("a risky correction is refused and the entry keeps its answers", func(t *testing.T) {
		w := w.In(t)
		var e struct {
			ID      int64          `json:"id"`
			Answers map[string]any `json:"answers"`
		}
		w.Expect(submitEntry(w, w.MemberA, form, map[string]any{"note": "一切正常"}), http.StatusCreated).JSON(t, &e)
		path := fmt.Sprintf("/api/v1/forms/%d/entries/%d", form, e.ID)
		r := w.Expect(w.DoAs("PUT", path, w.MemberA, map[string]any{"answers": map[string]any{"note": risky}}), http.StatusUnprocessableEntity)
		if r.ErrorCode() != "content_risky" || r.APIError(t).Fields["answers.note"] == "" {
			t.Fatalf("answer = %s, want content_risky naming answers.note", r.Body)
		}
		w.Expect(w.DoAs("PUT", path, w.MemberA, map[string]any{"answers": map[string]any{"note": "已处理"}}), http.StatusOK).JSON(t, &e)
		if e.Answers["note"] != "已处理" {
			t.Errorf("a harmless correction stored %v", e.Answers)
		}
	})
}

// exportRows counts the rows of the form's export of day as p gets it.
func exportRows(w *testenv.World, p testenv.Person, form int64, day string) int {
	r := w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d/export.xlsx?from=%s&to=%s", form, day, day), p, nil), http.StatusOK)
	f, err := excelize.OpenReader(bytes.NewReader(r.Body))
	w.Must(err)
	defer func() { _ = f.Close() }()
	rows, err := f.GetRows(formpkg.SheetEntries)
	w.Must(err)
	return len(rows) - 1 // the header
}

func TestAFormAnswerFoundRiskyLaterIsHidden(t *testing.T) {
	// Entries fall on the clock's day, which the export is asked for.
	clock := testenv.NewClock(time.Date(2026, 3, 10, 10, 0, 0, 0, time.FixedZone("CST", 8*3600)))
	w := testenv.NewWorld(t, testenv.Options{Now: clock.Now, Configure: func(c *config.Config) {
		c.WeChat.CallbackToken = callbackToken
		c.Media.PublicURL = "https://xf.example.cn"
	}})
	const day = "2026-03-10"
	form := entryForm(w)
	// o-inactive has not opened the mini-program lately: WeChat answers 61010.
	author := w.Join(w.User("inactive", "孙晓"), w.A, w.RootSec, "孙晓", "frontline", w.SecA)
	var risky, clean struct {
		ID int64 `json:"id"`
	}
	photo, err := w.App.Media.Upload(context.Background(), author.ID, pngImage(t))
	w.Must(err)
	photoPath := fmt.Sprintf("/api/v1/media/%d", photo.ID)
	w.Expect(submitEntry(w, author, form, map[string]any{"note": "卡口" + wechattest.RiskyText}, photo.ID), http.StatusCreated).JSON(t, &risky)
	w.Expect(submitEntry(w, author, form, map[string]any{"note": "卡口物资充足"}), http.StatusCreated).JSON(t, &clean)
	if ids := entryIDs(w, w.SecA, form); len(ids) != 2 || exportRows(w, w.SecA, form, day) != 2 {
		t.Fatalf("the secretary lists %v before the later check, want both entries listed and exported", ids)
	}
	if r := w.DoAs("GET", photoPath, w.SecA, nil); r.Status != http.StatusOK && r.Status != http.StatusFound {
		t.Fatalf("the secretary cannot open the entry's photo before the later check: %d", r.Status)
	}

	recheckAll(w, contentsec.KindFormEntry)
	if ids := entryIDs(w, w.SecA, form); len(ids) != 1 || ids[0] != clean.ID {
		t.Errorf("the secretary lists %v, want only the clean entry %d", ids, clean.ID)
	}
	if n := exportRows(w, w.SecA, form, day); n != 1 {
		t.Errorf("the secretary's export has %d rows, want only the clean entry", n)
	}
	w.Expect(w.DoAs("GET", photoPath, w.SecA, nil), http.StatusNotFound)
	if n := inbox(w, author, notify.KindContentHidden); n != 1 {
		t.Errorf("the author has %d content_hidden notifications, want 1", n)
	}
	var e struct {
		Answers map[string]any `json:"answers"`
	}
	w.Expect(w.DoAs("PUT", fmt.Sprintf("/api/v1/forms/%d/entries/%d", form, risky.ID), author,
		map[string]any{"answers": map[string]any{"note": "已更正"}}), http.StatusOK).JSON(t, &e)
	if e.Answers["note"] != "已更正" {
		t.Errorf("the author cannot correct their hidden entry: %v", e.Answers)
	}
}

func TestACorrectedAnswerIsNotHiddenForTheTextItReplaced(t *testing.T) {
	w := newWorld(t)
	form := entryForm(w)
	author := w.Join(w.User("inactive", "孙晓"), w.A, w.RootSec, "孙晓", "frontline", w.SecA)
	var e struct {
		ID int64 `json:"id"`
	}
	w.Expect(submitEntry(w, author, form, map[string]any{"note": "卡口" + wechattest.RiskyText}), http.StatusCreated).JSON(t, &e)
	// Corrected before WeChat could check the first text.
	w.Expect(w.DoAs("PUT", fmt.Sprintf("/api/v1/forms/%d/entries/%d", form, e.ID), author,
		map[string]any{"answers": map[string]any{"note": "卡口物资充足"}}), http.StatusOK)

	recheckAll(w, contentsec.KindFormEntry)
	if ids := entryIDs(w, w.SecA, form); len(ids) != 1 || ids[0] != e.ID {
		t.Errorf("the secretary lists %v, want the corrected entry %d: the check of the replaced text hid it", ids, e.ID)
	}
	if n := inbox(w, author, notify.KindContentHidden); n != 0 {
		t.Errorf("the author was told %d times that the corrected entry was hidden", n)
	}
}

func TestARiskyClaimNameIsRefusedAndTheCodeStillWorks(t *testing.T) {
	w := newWorld(t)
	_, code, _, err := w.App.Org.Bootstrap(context.Background(), "市北区委", "committee")
	w.Must(err)
	p := w.User("claimer", "")
	r := w.Expect(w.DoAs("POST", "/api/v1/orgs/claim", p, map[string]string{"code": code, "name": "书记" + wechattest.RiskyText}),
		http.StatusUnprocessableEntity)
	if r.ErrorCode() != "content_risky" || r.APIError(t).Fields["name"] == "" {
		t.Fatalf("answer = %s, want content_risky naming name", r.Body)
	}
	w.Expect(w.DoAs("POST", "/api/v1/orgs/claim", p, map[string]string{"code": code, "name": "周书记"}), http.StatusOK)
}

func TestAMemberNameFoundRiskyLaterIsMaskedForOthers(t *testing.T) {
	// Entries fall on the clock's day, which the export is asked for.
	clock := testenv.NewClock(time.Date(2026, 3, 10, 10, 0, 0, 0, time.FixedZone("CST", 8*3600)))
	w := testenv.NewWorld(t, testenv.Options{Now: clock.Now, Configure: func(c *config.Config) {
		c.WeChat.CallbackToken = callbackToken
	}})
	const day = "2026-03-10"
	// WeChat answers 61010 for o-inactive: the name is stored, checked later.
	name := "孙" + wechattest.RiskyText
	member := w.Join(w.User("inactive", name), w.A, w.RootSec, name, "frontline", w.SecA)
	form := entryForm(w)
	w.Expect(submitEntry(w, member, form, map[string]any{"note": "卡口正常"}), http.StatusCreated)
	var tk struct {
		ID int64 `json:"id"`
	}
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/tasks", w.A), w.SecA, map[string]any{"title": "卡口值守", "kind": "duty",
		"target": map[string]any{"user_ids": []int64{member.ID}}}), http.StatusCreated).JSON(t, &tk)
	w.Must(w.App.Task.FanOut(context.Background(), tk.ID))

	type named struct {
		UserID int64  `json:"user_id"`
		Name   string `json:"name"`
	}
	shown := func(path string, key string) []string {
		var answer map[string]json.RawMessage
		w.Expect(w.DoAs("GET", path, w.SecA, nil), http.StatusOK).JSON(t, &answer)
		var rows []named
		w.Must(json.Unmarshal(answer[key], &rows))
		var out []string
		for _, r := range rows {
			if r.UserID == member.ID {
				out = append(out, r.Name)
			}
		}
		return out
	}
	exported := func() string {
		r := w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d/export.xlsx?from=%s&to=%s", form, day, day), w.SecA, nil), http.StatusOK)
		f, err := excelize.OpenReader(bytes.NewReader(r.Body))
		w.Must(err)
		defer func() { _ = f.Close() }()
		rows, err := f.GetRows(formpkg.SheetEntries)
		w.Must(err)
		if len(rows) != 2 || len(rows[1]) < 2 || rows[0][1] != "姓名" {
			t.Fatalf("the export has rows %v, want a header and the entry", rows)
		}
		return rows[1][1]
	}
	lists := func() []string {
		var all []string
		all = append(all, shown(fmt.Sprintf("/api/v1/orgs/%d/members", w.A), "items")...)
		all = append(all, shown(fmt.Sprintf("/api/v1/forms/%d/entries", form), "items")...)
		all = append(all, shown(fmt.Sprintf("/api/v1/tasks/%d", tk.ID), "assignees")...)
		all = append(all, shown(fmt.Sprintf("/api/v1/orgs/%d/checkins", w.A), "not_checked_in")...)
		return append(all, exported())
	}
	if got := lists(); len(got) != 5 || slices.ContainsFunc(got, func(s string) bool { return s != name }) {
		t.Fatalf("before its check the secretary is shown the name as %q, want it 5 times as written", got)
	}

	recheckAll(w, contentsec.KindMember)
	if got := lists(); len(got) != 5 || slices.ContainsFunc(got, func(s string) bool { return s != contentsec.MaskText }) {
		t.Errorf("the secretary is shown the risky name as %q in the member list, entries, task assignees, check-in board and export; want it masked as %q",
			got, contentsec.MaskText)
	}
}

func TestAnOrgNameFoundRiskyLaterIsMaskedForAllButWhoNamedIt(t *testing.T) {
	w := newWorld(t)
	// A secretary of the root whom WeChat will not check yet (61010).
	author := w.Join(w.User("inactive", "孙晓"), w.Root, w.RootSec, "孙晓", "information", w.RootSec)
	w.Expect(w.DoAs("PATCH", w.MemberPath(w.Root, author), w.RootSec, map[string]string{"role": "secretary"}), http.StatusOK)
	name := "第三" + wechattest.RiskyText + "支部"
	child := w.Child(author, w.Root, name, "branch")
	member := w.Join(w.User("c1", "吴刚"), child, author, "吴刚", "frontline", author)

	type org struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	seen := func(p testenv.Person) (own, listed, mine string) {
		var view struct {
			Org org `json:"org"`
		}
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d", child), p, nil), http.StatusOK).JSON(t, &view)
		var root struct {
			Children []org `json:"children"`
		}
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d", w.Root), w.RootSec, nil), http.StatusOK).JSON(t, &root)
		for _, c := range root.Children {
			if c.ID == child {
				listed = c.Name
			}
		}
		var me struct {
			Memberships []struct {
				OrgID   int64  `json:"org_id"`
				OrgName string `json:"org_name"`
			} `json:"memberships"`
		}
		w.Expect(w.DoAs("GET", "/api/v1/me", member, nil), http.StatusOK).JSON(t, &me)
		for _, m := range me.Memberships {
			if m.OrgID == child {
				mine = m.OrgName
			}
		}
		return view.Org.Name, listed, mine
	}
	if own, listed, mine := seen(w.RootSec); own != name || listed != name || mine != name {
		t.Fatalf("before its check the name shows as %q, %q, %q; want %q", own, listed, mine, name)
	}

	recheckAll(w, contentsec.KindOrg)
	if own, listed, mine := seen(w.RootSec); own != contentsec.MaskText || listed != contentsec.MaskText || mine != contentsec.MaskText {
		t.Errorf("after its check the name shows as %q (the org), %q (its parent's children), %q (a member's /me); want %q",
			own, listed, mine, contentsec.MaskText)
	}
	if own, _, _ := seen(author); own != name {
		t.Errorf("who named the org sees %q, want the name they wrote", own)
	}
}

func TestTheStatsExportMasksAReportFoundRiskyLater(t *testing.T) {
	clock := testenv.NewClock(time.Date(2026, 3, 10, 10, 0, 0, 0, time.FixedZone("CST", 8*3600)))
	w := testenv.NewWorld(t, testenv.Options{Now: clock.Now, Configure: func(c *config.Config) {
		c.WeChat.CallbackToken = callbackToken
	}})
	const day = "2026-03-10"
	author := w.Join(w.User("inactive", "孙晓"), w.A, w.RootSec, "孙晓", "information", w.SecA)
	content := "卡口" + wechattest.RiskyText
	w.Expect(fileReport(w, author, "normal", content), http.StatusCreated)
	exported := func() []string {
		r := w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/export.xlsx?from=%s&to=%s", w.Root, day, day), w.RootSec, nil), http.StatusOK)
		f, err := excelize.OpenReader(bytes.NewReader(r.Body))
		w.Must(err)
		defer func() { _ = f.Close() }()
		rows, err := f.GetRows("上报")
		w.Must(err)
		var out []string
		for _, row := range rows[1:] {
			out = append(out, row[len(row)-1]) // 内容, the last column
		}
		return out
	}
	if got := exported(); len(got) != 1 || got[0] != content {
		t.Fatalf("before its check the export holds %q, want the report as written", got)
	}
	recheckAll(w, contentsec.KindReport)
	if got := exported(); len(got) != 1 || got[0] != contentsec.MaskText {
		t.Errorf("the export holds %q for the hidden report, want its content masked as %q", got, contentsec.MaskText)
	}
}
