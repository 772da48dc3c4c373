package deed_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"xianfeng/server/internal/testenv"
)

// world is a tree for deed tests:
//
//	root (committee 青岛市委, secretary rootSec)
//	├── gb (general branch 第一党总支, secretary gbSec)
//	│   ├── A (branch, secretary secA; members memberA, memberA2)
//	│   └── B (branch, secretary secB; member memberB)
//	└── other (committee 市北区委, secretary otherSec)
//	    └── C (branch, secretary secC; member memberC)
type world struct {
	t   *testing.T
	env *testenv.Env

	root, gb, a, b, other, c int64

	rootSec, gbSec, secA, secB, otherSec, secC, memberA, memberA2, memberB, memberC person
	// extra are the secretaries a test added (see secretary), named in trails and timelines.
	extra  []person
	logins int
}

// person is a logged-in user.
type person = testenv.Person

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, env: testenv.New(t, testenv.Options{})}
	root, code, _, err := w.env.App.Org.Bootstrap(context.Background(), "青岛市委", "committee")
	if err != nil {
		t.Fatal(err)
	}
	w.root = root.ID
	w.rootSec = w.login("rootsec")
	w.rootSec.Name = "王书记"
	w.expect(w.do("POST", "/api/v1/orgs/claim", w.rootSec, map[string]string{"code": code, "name": "王书记"}), 200)
	w.gb = w.child(w.root, "第一党总支", "general_branch")
	w.other = w.child(w.root, "市北区委", "committee")
	w.a = w.child(w.gb, "第一党支部", "branch")
	w.b = w.child(w.gb, "第二党支部", "branch")
	w.c = w.child(w.other, "第三党支部", "branch")

	w.gbSec = w.secretary(w.gb, "孙总支")
	w.otherSec = w.secretary(w.other, "周区委")
	w.secA = w.secretary(w.a, "李红梅")
	w.secB = w.secretary(w.b, "赵建国")
	w.secC = w.secretary(w.c, "钱书记")
	w.memberA = w.newMember(w.a, "张小明")
	w.memberA2 = w.newMember(w.a, "刘芳")
	w.memberB = w.newMember(w.b, "陈晓东")
	w.memberC = w.newMember(w.c, "吴刚")
	return w
}

func (w *world) do(method, path string, p person, body any) testenv.Response {
	w.t.Helper()
	return w.env.DoAs(method, path, p, body)
}

func (w *world) expect(r testenv.Response, status int) testenv.Response {
	w.t.Helper()
	return w.env.Expect(r, status)
}

func (w *world) login(name string) person {
	w.t.Helper()
	w.logins++
	p := w.env.LoginAs(name, fmt.Sprintf("138%08d", w.logins))
	p.Name = name
	return p
}

func (w *world) child(parent int64, name, kind string) int64 {
	w.t.Helper()
	return w.env.Child(w.rootSec, parent, name, kind)
}

// newMember logs a new user in, signs them up to org and has the root
// secretary approve them.
func (w *world) newMember(org int64, name string) person {
	w.t.Helper()
	return w.env.Join(w.login(fmt.Sprintf("u%d", w.logins+1)), org, w.rootSec, name, "frontline", w.rootSec)
}

// secretary adds a new member to org and makes them its secretary.
func (w *world) secretary(org int64, name string) person {
	w.t.Helper()
	p := w.newMember(org, name)
	w.expect(w.do("PATCH", w.env.MemberPath(org, p), w.rootSec, map[string]string{"role": "secretary"}), 200)
	w.extra = append(w.extra, p)
	return p
}

// deedJSON is a deed as the API answers it.
type deedJSON struct {
	ID           int64   `json:"id"`
	OrgID        int64   `json:"org_id"`
	UserID       int64   `json:"user_id"`
	NominatedBy  int64   `json:"nominated_by"`
	Title        string  `json:"title"`
	TaskIDs      []int64 `json:"task_ids"`
	ReportIDs    []int64 `json:"report_ids"`
	Status       string  `json:"status"`
	StatusLabel  string  `json:"status_label"`
	CurrentOrgID int64   `json:"current_org_id"`
	Reason       string  `json:"reason"`
}

type eventJSON struct {
	Kind    string `json:"kind"`
	OrgID   int64  `json:"org_id"`
	ActorID int64  `json:"actor_id"`
	Note    string `json:"note"`
}

type errorJSON struct {
	Error struct {
		Code   string            `json:"code"`
		Fields map[string]string `json:"fields"`
	} `json:"error"`
}

// nominate has by nominate a deed (about subject, or themselves when
// subject is nil) and returns it.
func (w *world) nominate(by person, subject *person, title string) deedJSON {
	w.t.Helper()
	body := map[string]any{"title": title, "content": title + "：连续十天坚守卡口，劝返外来车辆百余辆。"}
	if subject != nil {
		body["user_id"] = subject.ID
	}
	var d deedJSON
	w.expect(w.do("POST", "/api/v1/deeds", by, body), 201).JSON(w.t, &d)
	return d
}

// act runs a review step and returns the response.
func (w *world) act(by person, id int64, action string, body any) testenv.Response {
	w.t.Helper()
	return w.do("POST", fmt.Sprintf("/api/v1/deeds/%d/%s", id, action), by, body)
}

// timeline returns a deed and its path as p sees them.
func (w *world) timeline(p person, id int64) (deedJSON, []eventJSON) {
	w.t.Helper()
	var out struct {
		Deed     deedJSON    `json:"deed"`
		Timeline []eventJSON `json:"timeline"`
	}
	w.expect(w.do("GET", fmt.Sprintf("/api/v1/deeds/%d", id), p, nil), 200).JSON(w.t, &out)
	return out.Deed, out.Timeline
}

// list returns the ids GET path answers p.
func (w *world) list(p person, path string) []int64 {
	w.t.Helper()
	var l struct {
		Items []deedJSON `json:"items"`
	}
	w.expect(w.do("GET", path, p, nil), 200).JSON(w.t, &l)
	ids := make([]int64, len(l.Items))
	for i, d := range l.Items {
		ids[i] = d.ID
	}
	return ids
}

// notifications counts a user's deed_update notifications about a deed.
func (w *world) notifications(deedID, userID int64) int64 {
	w.t.Helper()
	var n int64
	if err := w.env.App.DB.Table("notifications").Where("kind = 'deed_update' AND ref_type = 'deed' AND ref_id = ? AND user_id = ?", deedID, userID).
		Count(&n).Error; err != nil {
		w.t.Fatal(err)
	}
	return n
}

// steps renders a path as "kind@org by actor" entries, to compare whole.
func (w *world) steps(evs []eventJSON) string {
	orgs := map[int64]string{w.root: "root", w.gb: "gb", w.a: "A", w.b: "B", w.other: "other", w.c: "C"}
	people := map[int64]string{}
	for _, p := range append([]person{w.rootSec, w.gbSec, w.secA, w.secB, w.otherSec, w.secC, w.memberA, w.memberA2, w.memberB, w.memberC}, w.extra...) {
		people[p.ID] = p.Name
	}
	parts := make([]string, len(evs))
	for i, e := range evs {
		parts[i] = fmt.Sprintf("%s@%s by %s", e.Kind, orgs[e.OrgID], people[e.ActorID])
	}
	return strings.Join(parts, ", ")
}
