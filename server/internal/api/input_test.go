package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"xianfeng/server/internal/testenv"
)

// errorFields reads error.fields of an error answer.
func errorFields(t testing.TB, r testenv.Response) map[string]string {
	t.Helper()
	var e struct {
		Error struct {
			Fields map[string]string `json:"fields"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("answer %d %s is not JSON: %v", r.Status, r.Body, err)
	}
	return e.Error.Fields
}

// textField is one free-text field of one endpoint: body(s) is a valid body
// with s in the field.
type textField struct {
	name   string
	method string
	path   string
	as     func(w *world) testenv.Person
	field  string
	body   func(w *world, s string) any
}

func freeTextFields(w *world) []textField {
	org := func(p string) string { return fmt.Sprintf("/api/v1/orgs/%d%s", w.A, p) }
	task := func(p string) string { return fmt.Sprintf("/api/v1/tasks/%d%s", w.Task, p) }
	report := func(p string) string { return fmt.Sprintf("/api/v1/reports/%d%s", w.Report, p) }
	secA := func(w *world) testenv.Person { return w.SecA }
	memberA := func(w *world) testenv.Person { return w.MemberA }
	newReport := func(content, address, rid string) map[string]any {
		return map[string]any{"org_id": w.A, "category": "other", "urgency": "normal", "content": content, "address": address, "request_id": rid}
	}
	newTask := func(title, desc, address, rid string) map[string]any {
		return map[string]any{"title": title, "kind": "duty", "description": desc, "request_id": rid,
			"location": map[string]any{"lat": 36.06, "lng": 120.38, "radius_m": 200, "address": address}}
	}
	return []textField{
		{"report content", "POST", "/api/v1/reports", memberA, "content", func(w *world, s string) any { return newReport("有情况"+s, "", "r-content") }},
		{"report address", "POST", "/api/v1/reports", memberA, "address", func(w *world, s string) any { return newReport("有情况", "路口"+s, "r-address") }},
		{"report request_id", "POST", "/api/v1/reports", memberA, "request_id", func(w *world, s string) any { return newReport("有情况", "", "r"+s) }},
		{"report resolve note", "POST", report("/resolve"), secA, "note", func(w *world, s string) any { return map[string]any{"note": "已处理" + s} }},
		{"report escalate note", "POST", report("/escalate"), secA, "note", func(w *world, s string) any { return map[string]any{"note": "请上级" + s} }},
		{"deed title", "POST", "/api/v1/deeds", secA, "title", func(w *world, s string) any {
			return map[string]any{"title": "事迹" + s, "content": "内容", "user_id": w.MemberA.ID}
		}},
		{"deed content", "POST", "/api/v1/deeds", secA, "content", func(w *world, s string) any {
			return map[string]any{"title": "事迹", "content": "内容" + s, "user_id": w.MemberA.ID}
		}},
		{"deed reject reason", "POST", fmt.Sprintf("/api/v1/deeds/%d/reject", w.Deed), secA, "reason", func(w *world, s string) any { return map[string]any{"reason": "不符" + s} }},
		{"announcement title", "POST", org("/announcements"), secA, "title", func(w *world, s string) any { return map[string]any{"title": "通知" + s, "body": "正文"} }},
		{"announcement body", "POST", org("/announcements"), secA, "body", func(w *world, s string) any { return map[string]any{"title": "通知", "body": "正文" + s} }},
		{"task title", "POST", org("/tasks"), secA, "title", func(w *world, s string) any { return newTask("值守"+s, "", "", "t-title") }},
		{"task description", "POST", org("/tasks"), secA, "description", func(w *world, s string) any { return newTask("值守", "说明"+s, "", "t-desc") }},
		{"task location address", "POST", org("/tasks"), secA, "location.address", func(w *world, s string) any { return newTask("值守", "", "路口"+s, "t-addr") }},
		{"task request_id", "POST", org("/tasks"), secA, "request_id", func(w *world, s string) any { return newTask("值守", "", "", "t"+s) }},
		{"task check-in request_id", "POST", task("/checkin"), memberA, "request_id", func(w *world, s string) any { return map[string]any{"request_id": "k" + s} }},
		{"task decline reason", "POST", task("/decline"), memberA, "reason", func(w *world, s string) any { return map[string]any{"reason": "发烧" + s} }},
		{"task complete note", "POST", task("/complete"), memberA, "note", func(w *world, s string) any { return map[string]any{"note": "完成" + s, "request_id": "c1"} }},
		{"task complete request_id", "POST", task("/complete"), memberA, "request_id", func(w *world, s string) any { return map[string]any{"request_id": "c" + s} }},
		{"daily check-in request_id", "POST", "/api/v1/checkins", memberA, "request_id", func(w *world, s string) any { return map[string]any{"request_id": "d" + s} }},
		{"member reject reason", "POST", org(fmt.Sprintf("/members/%d/reject", w.PendingA.ID)), secA, "reason", func(w *world, s string) any { return map[string]any{"reason": "信息不符" + s} }},
		{"signup name", "POST", "/api/v1/members/signup", func(w *world) testenv.Person { return w.MemberB }, "name", func(w *world, s string) any {
			return map[string]any{"invite_code": w.Env.Invite(w.SecA, w.A), "name": "陈" + s, "badge": "frontline"}
		}},
		{"child org name", "POST", org("/children"), secA, "name", func(w *world, s string) any { return map[string]any{"name": "支部" + s, "kind": "temporary"} }},
		{"child org post address", "POST", org("/children"), secA, "post.address", func(w *world, s string) any {
			return map[string]any{"name": "卡口临时支部", "kind": "temporary", "post": map[string]any{"lat": 36.06, "lng": 120.38, "radius_m": 200, "address": "路口" + s}}
		}},
		{"subscription template id", "POST", "/api/v1/me/subscriptions", memberA, "accepted", func(w *world, s string) any { return map[string]any{"accepted": []string{"tmpl" + s}} }},
	}
}

func TestControlCharactersInFreeTextAreRefusedNamingTheField(t *testing.T) {
	w := newWorld(t, testenv.Options{Configure: roomy})
	bad := []struct{ name, s string }{
		{"NUL", "\x00"},
		{"a bell", "\a"},
		{"escape", "\x1b"},
		{"a lone carriage return", "\r"},
		{"DEL", "\x7f"},
		{"a C1 control", "\u0085"},
	}
	for _, f := range freeTextFields(w) {
		for _, b := range bad {
			t.Run(fmt.Sprintf("%s with %s is 400 naming %s", f.name, b.name, f.field), func(t *testing.T) {
				w := w.in(t)
				r := w.Env.In(t).DoAs(f.method, f.path, f.as(w), f.body(w, b.s))
				if r.Status != http.StatusBadRequest || r.ErrorCode() != "invalid_argument" {
					t.Fatalf("%s %s answered %d %s, want 400 invalid_argument", f.method, f.path, r.Status, r.Body)
				}
				if errorFields(t, r)[f.field] == "" {
					t.Errorf("the answer names no field %q: %s", f.field, r.Body)
				}
			})
		}
	}
}

// TestRequiredTextsShareOneRule: a title or content a member must fill in
// reads the same words when left blank or too long, whichever service
// takes it (text.Problem), not each service's own wording.
func TestRequiredTextsShareOneRule(t *testing.T) {
	w := newWorld(t, testenv.Options{Configure: roomy})
	limits := map[string]int{"report content": 5000, "deed title": 100, "deed content": 10000,
		"announcement title": 100, "announcement body": 10000, "task title": 100}
	for _, f := range freeTextFields(w) {
		n, ok := limits[f.name]
		if !ok {
			continue
		}
		delete(limits, f.name)
		for _, c := range []struct{ name, s, want string }{
			{"blank", " \n ", "不能为空"},
			{"too long", strings.Repeat("字", n+1), fmt.Sprintf("不能超过 %d 个字", n)},
		} {
			t.Run(f.name+" "+c.name, func(t *testing.T) {
				w := w.in(t)
				body := f.body(w, "")
				body.(map[string]any)[f.field] = c.s
				r := w.DoAs(f.method, f.path, f.as(w), body)
				if r.Status != http.StatusBadRequest || errorFields(t, r)[f.field] != c.want {
					t.Errorf("%s %s answered %d %s, want 400 with %s: %q", f.method, f.path, r.Status, r.Body, f.field, c.want)
				}
			})
		}
	}
	if len(limits) > 0 {
		t.Errorf("freeTextFields has none of %v: their cases did not run", limits)
	}
}

func TestCRLFInFreeTextIsStoredAsLF(t *testing.T) {
	w := newWorld(t, testenv.Options{Configure: roomy})
	var rep struct {
		ID      int64  `json:"id"`
		Content string `json:"content"`
	}
	w.Env.Expect(w.Env.DoAs("POST", "/api/v1/reports", w.MemberA, map[string]any{
		"org_id": w.A, "category": "other", "urgency": "normal", "content": "第一行\r\n第二行\n\t第三行", "request_id": "crlf",
	}), http.StatusCreated).JSON(t, &rep)
	want := "第一行\n第二行\n\t第三行"
	if rep.Content != want {
		t.Errorf("the answer has content %q, want %q", rep.Content, want)
	}
	var stored string
	if err := w.Env.App.DB.Table("reports").Select("content").Where("id = ?", rep.ID).Scan(&stored).Error; err != nil {
		t.Fatal(err)
	}
	if stored != want {
		t.Errorf("the database holds %q, want %q", stored, want)
	}
}

func TestNamesRefuseBidiControlsAndInvisibleNames(t *testing.T) {
	w := newWorld(t, testenv.Options{Configure: roomy})
	bad := []struct{ name, s string }{
		{"a right-to-left override", "张\u202e明"},
		{"a left-to-right embedding", "\u202a张明"},
		{"a first strong isolate", "张\u2068明"},
		{"a pop directional isolate", "张明\u2069"},
		{"zero-width spaces only", "\u200b\u200b"},
		{"a zero-width joiner and a BOM only", "\u200d\ufeff"},
		{"Hangul fillers only", "\u3164"},
		{"a newline", "张\n明"},
	}
	names := []struct {
		name  string
		as    func() testenv.Person
		path  string
		field string
		body  func(s string) any
	}{
		{"a member's name at signup", func() testenv.Person { return w.MemberB }, "/api/v1/members/signup", "name", func(s string) any {
			return map[string]any{"invite_code": w.Env.Invite(w.SecA, w.A), "name": s, "badge": "frontline"}
		}},
		{"an org's name", func() testenv.Person { return w.SecA }, fmt.Sprintf("/api/v1/orgs/%d/children", w.A), "name", func(s string) any {
			return map[string]any{"name": s, "kind": "temporary"}
		}},
	}
	for _, n := range names {
		for _, b := range bad {
			t.Run(fmt.Sprintf("%s with %s is 400 naming %s", n.name, b.name, n.field), func(t *testing.T) {
				w := w.in(t)
				r := w.Env.In(t).DoAs("POST", n.path, n.as(), n.body(b.s))
				if r.Status != http.StatusBadRequest || r.ErrorCode() != "invalid_argument" || errorFields(t, r)[n.field] == "" {
					t.Fatalf("answered %d %s, want 400 invalid_argument naming %s", r.Status, r.Body, n.field)
				}
			})
		}
	}
	t.Run("a bidi control in free text is kept: it is not a name", func(t *testing.T) {
		w := w.in(t)
		w.Env.In(t).Expect(w.Env.DoAs("POST", "/api/v1/reports", w.MemberA, map[string]any{
			"org_id": w.A, "category": "other", "urgency": "normal", "content": "مرحبا \u202bשלום\u202c", "request_id": "bidi",
		}), http.StatusCreated)
	})
}

func TestQueryTextIsRefusedNamingTheParameter(t *testing.T) {
	w := newWorld(t, testenv.Options{Configure: roomy})
	tests := []struct{ name, path, param string }{
		{"a NUL in a report status filter", fmt.Sprintf("/api/v1/orgs/%d/reports?status=open%%00", w.A), "status"},
		{"a NUL in a member badge filter", fmt.Sprintf("/api/v1/orgs/%d/members?badge=a%%00", w.A), "badge"},
		{"a C1 control in stats dates", fmt.Sprintf("/api/v1/orgs/%d/stats?from=2026-01-01%%C2%%85", w.A), "from"},
		{"invalid UTF-8 in a badge token", "/api/v1/badges/verify?token=%FF%FE", "token"},
		{"a control character in a cursor", "/api/v1/me/notifications?cursor=%01", "cursor"},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is 400 naming "+tc.param, func(t *testing.T) {
			w := w.in(t)
			r := w.Env.In(t).DoAs("GET", tc.path, w.SecA, nil)
			if r.Status != http.StatusBadRequest || r.ErrorCode() != "invalid_argument" || errorFields(t, r)[tc.param] == "" {
				t.Fatalf("answered %d %s, want 400 invalid_argument naming %s", r.Status, r.Body, tc.param)
			}
		})
	}
}

func TestIDsOutOfRange(t *testing.T) {
	w := newWorld(t, testenv.Options{Configure: roomy})
	tests := []struct {
		name   string
		method string
		path   string
		as     testenv.Person
		body   any
		status int
		field  string
	}{
		{"a daily check-in in org 2147483648 is not a member's", "POST", "/api/v1/checkins", w.MemberA,
			`{"org_id":2147483648,"request_id":"big"}`, http.StatusNotFound, ""},
		{"a daily check-in in org -2147483649 is refused naming org_id", "POST", "/api/v1/checkins", w.MemberA,
			`{"org_id":-2147483649,"request_id":"neg"}`, http.StatusBadRequest, "org_id"},
		{"a daily check-in in org 2^63-1 is refused naming org_id", "POST", "/api/v1/checkins", w.MemberA,
			`{"org_id":9223372036854775807,"request_id":"max"}`, http.StatusBadRequest, "org_id"},
		{"a report to org 2147483648 is not a member's", "POST", "/api/v1/reports", w.MemberA,
			`{"org_id":2147483648,"category":"other","urgency":"normal","content":"x","request_id":"big"}`, http.StatusNotFound, ""},
		{"a report to org 2^53 is refused naming org_id", "POST", "/api/v1/reports", w.MemberA,
			`{"org_id":9007199254740992,"category":"other","urgency":"normal","content":"x","request_id":"big2"}`, http.StatusBadRequest, "org_id"},
		{"a deed for user 2^63-1 is refused naming user_id", "POST", "/api/v1/deeds", w.SecA,
			`{"title":"t","content":"c","user_id":9223372036854775807}`, http.StatusBadRequest, "user_id"},
		{"a deed backed by task 2^53 is refused naming task_ids", "POST", "/api/v1/deeds", w.SecA,
			fmt.Sprintf(`{"title":"t","content":"c","user_id":%d,"task_ids":[9007199254740992]}`, w.MemberA.ID), http.StatusBadRequest, "task_ids"},
		{"a task for user -1 by name is refused naming target.user_ids", "POST", fmt.Sprintf("/api/v1/orgs/%d/tasks", w.A), w.SecA,
			`{"title":"t","kind":"duty","target":{"user_ids":[-1]}}`, http.StatusBadRequest, "target.user_ids"},
		{"seconding user 2^53 is refused naming user_ids", "POST", fmt.Sprintf("/api/v1/orgs/%d/members", w.A), w.SecA,
			`{"user_ids":[9007199254740992]}`, http.StatusBadRequest, "user_ids"},
		{"a badge for org 2^53 is refused naming org_id", "GET", "/api/v1/me/badge?org_id=9007199254740992", w.MemberA, nil, http.StatusBadRequest, "org_id"},
		{"a badge for org +2 is refused naming org_id", "GET", fmt.Sprintf("/api/v1/me/badge?org_id=%%2B%d", w.A), w.MemberA, nil, http.StatusBadRequest, "org_id"},
		{"a cursor past 2^53 is refused naming cursor", "GET", "/api/v1/me/notifications?cursor=OTAwNzE5OTI1NDc0MDk5Mg", w.MemberA, nil, http.StatusBadRequest, "cursor"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			r := w.Env.In(t).DoAs(tc.method, tc.path, tc.as, tc.body)
			if r.Status != tc.status {
				t.Fatalf("answered %d %s, want %d", r.Status, r.Body, tc.status)
			}
			if tc.field != "" && errorFields(t, r)[tc.field] == "" {
				t.Errorf("the answer names no field %q: %s", tc.field, r.Body)
			}
		})
	}
}

func TestPathIDsHaveOneSpelling(t *testing.T) {
	w := newWorld(t, testenv.Options{Configure: roomy})
	id := fmt.Sprint(w.A)
	tests := []struct {
		name   string
		id     string
		status int
	}{
		{"the plain decimal id is the org", id, http.StatusOK},
		{"a plus sign is refused", "%2B" + id, http.StatusBadRequest},
		{"leading zeros are refused", "000" + id, http.StatusBadRequest},
		{"a leading space is refused", "%20" + id, http.StatusBadRequest},
		{"a trailing space is refused", id + "%20", http.StatusBadRequest},
		{"a negative id is refused", "-1", http.StatusBadRequest},
		{"zero is refused", "0", http.StatusBadRequest},
		{"a decimal point is refused", id + ".0", http.StatusBadRequest},
		{"an exponent is refused", "1e1", http.StatusBadRequest},
		{"a hexadecimal id is refused", "0x" + id, http.StatusBadRequest},
		{"a NUL is refused", id + "%00", http.StatusBadRequest},
		{"2147483648 is a well-formed id of no org", "2147483648", http.StatusNotFound},
		{"2^53 is past every id", "9007199254740992", http.StatusNotFound},
		{"2^63 is past every id", "9223372036854775808", http.StatusNotFound},
		{"a 70-digit number is past every id", strings.Repeat("9", 70), http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			r := w.Env.In(t).DoAs("GET", "/api/v1/orgs/"+tc.id, w.SecA, nil)
			if r.Status != tc.status {
				t.Fatalf("GET /api/v1/orgs/%s answered %d %s, want %d", tc.id, r.Status, r.Body, tc.status)
			}
			if tc.status != http.StatusOK && r.ErrorCode() == "" {
				t.Errorf("answer %s is not the JSON error shape", r.Body)
			}
		})
	}
}
