package report_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/testenv"
)

// world is a three-level tree for report tests:
//
//	root (committee 青岛市委, secretary rootSec)
//	├── com (committee 市南区委, secretary comSec)
//	│   ├── A (branch, secretary secA; member memberA)
//	│   └── B (branch, secretary secB; member memberB)
//	└── other (committee 市北区委, secretary otherSec)
//	    └── C (branch, secretary secC)
type world struct {
	t   *testing.T
	env *testenv.Env

	root, com, a, b, other, c int64

	rootSec, comSec, secA, secB, otherSec, secC, memberA, memberB person
	logins                                                        int
}

// person is a logged-in user.
type person = testenv.Person

func newWorld(t *testing.T, configure ...func(*config.Config)) *world {
	t.Helper()
	opts := testenv.Options{}
	if len(configure) > 0 {
		opts.Configure = configure[0]
	}
	return newWorldWith(t, opts)
}

// newWorldWith builds the world on a server made with opts.
func newWorldWith(t *testing.T, opts testenv.Options) *world {
	t.Helper()
	w := &world{t: t, env: testenv.New(t, opts)}
	root, code, _, err := w.env.App.Org.Bootstrap(context.Background(), "青岛市委", "committee")
	if err != nil {
		t.Fatal(err)
	}
	w.root = root.ID
	w.rootSec = w.login("rootsec")
	w.expect(w.do("POST", "/api/v1/orgs/claim", w.rootSec, map[string]string{"code": code, "name": "王书记"}), 200)
	w.com = w.child(w.root, "市南区委", "committee")
	w.other = w.child(w.root, "市北区委", "committee")
	w.a = w.child(w.com, "第一党支部", "branch")
	w.b = w.child(w.com, "第二党支部", "branch")
	w.c = w.child(w.other, "第三党支部", "branch")

	w.comSec = w.secretary(w.com, "孙区委")
	w.otherSec = w.secretary(w.other, "周区委")
	w.secA = w.secretary(w.a, "李红梅")
	w.secB = w.secretary(w.b, "赵建国")
	w.secC = w.secretary(w.c, "钱书记")
	w.memberA = w.newMember(w.a, "张小明")
	w.memberB = w.newMember(w.b, "陈晓东")
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
	p := w.env.LoginAs(name, fmt.Sprintf("139%08d", w.logins))
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
	return w.env.Join(w.login(fmt.Sprintf("u%d", w.logins+1)), org, w.rootSec, name, "information", w.rootSec)
}

// secretary adds a new member to org and makes them its secretary.
func (w *world) secretary(org int64, name string) person {
	w.t.Helper()
	p := w.newMember(org, name)
	w.expect(w.do("PATCH", w.env.MemberPath(org, p), w.rootSec, map[string]string{"role": "secretary"}), 200)
	return p
}

// reportJSON is a report as the API answers it.
type reportJSON struct {
	ID              int64      `json:"id"`
	OrgID           int64      `json:"org_id"`
	ReporterID      int64      `json:"reporter_id"`
	Category        string     `json:"category"`
	Urgency         string     `json:"urgency"`
	Content         string     `json:"content"`
	Status          string     `json:"status"`
	CurrentOrgID    int64      `json:"current_org_id"`
	EscalationLevel int        `json:"escalation_level"`
	NextEscalateAt  *time.Time `json:"next_escalate_at"`
	AckedBy         *int64     `json:"acked_by"`
	ResolveNote     string     `json:"resolve_note"`
	CreatedAt       time.Time  `json:"created_at"`
}

type eventJSON struct {
	Kind    string `json:"kind"`
	OrgID   int64  `json:"org_id"`
	ActorID int64  `json:"actor_id"`
	Level   int    `json:"level"`
	Note    string `json:"note"`
}

type listJSON struct {
	Items      []reportJSON `json:"items"`
	NextCursor string       `json:"next_cursor"`
}

// file has p report through the API and returns the report.
func (w *world) file(p person, urgency, content string) reportJSON {
	w.t.Helper()
	var r reportJSON
	w.expect(w.do("POST", "/api/v1/reports", p, map[string]any{
		"category": "epidemic_clue", "urgency": urgency, "content": content, "request_id": fmt.Sprintf("req-%d-%d", p.ID, time.Now().UnixNano()),
	}), 201).JSON(w.t, &r)
	return r
}

// timeline returns a report and its timeline as p sees them.
func (w *world) timeline(p person, id int64) (reportJSON, []eventJSON) {
	w.t.Helper()
	var out struct {
		Report   reportJSON  `json:"report"`
		Timeline []eventJSON `json:"timeline"`
	}
	w.expect(w.do("GET", reportPath(id, ""), p, nil), 200).JSON(w.t, &out)
	return out.Report, out.Timeline
}

// list returns the ids of GET path as p.
func (w *world) list(p person, path string) []int64 {
	w.t.Helper()
	var l listJSON
	w.expect(w.do("GET", path, p, nil), 200).JSON(w.t, &l)
	ids := make([]int64, len(l.Items))
	for i, r := range l.Items {
		ids[i] = r.ID
	}
	return ids
}

// notifications counts a user's notifications of a kind about a report.
func (w *world) notifications(kind string, reportID, userID int64) int64 {
	w.t.Helper()
	var n int64
	if err := w.env.App.DB.Table("notifications").Where("kind = ? AND ref_type = 'report' AND ref_id = ? AND user_id = ?", kind, reportID, userID).
		Count(&n).Error; err != nil {
		w.t.Fatal(err)
	}
	return n
}

func reportPath(id int64, action string) string {
	if action == "" {
		return fmt.Sprintf("/api/v1/reports/%d", id)
	}
	return fmt.Sprintf("/api/v1/reports/%d/%s", id, action)
}

// steps renders a timeline as "kind@org/level" lines, to compare whole.
func (w *world) steps(evs []eventJSON) string {
	names := map[int64]string{w.root: "root", w.com: "com", w.a: "A", w.b: "B", w.other: "other", w.c: "C"}
	parts := make([]string, len(evs))
	for i, e := range evs {
		parts[i] = fmt.Sprintf("%s@%s/%d", e.Kind, names[e.OrgID], e.Level)
	}
	return strings.Join(parts, " ")
}
