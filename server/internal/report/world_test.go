package report_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/report"
	"xianfeng/server/internal/testenv"
)

// world is a three-level tree for report tests, a testenv.World grown with
// GrowWide:
//
//	root (committee 青岛市委, secretary RootSec)
//	├── com (committee 市南区委, secretary comSec)
//	│   ├── A (branch, secretary SecA; member MemberA)
//	│   └── B (branch, secretary SecB; member MemberB)
//	└── other (committee 市北区委, secretary otherSec)
//	    └── c (branch, secretary secC)
type world struct {
	*testenv.World
	t *testing.T

	com, other, c int64

	comSec, otherSec, secC person
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
	w := &world{World: testenv.NewRoot(t, opts), t: t}
	wide := w.GrowWide("市南区委", "committee", "孙区委", func(org int64, name string) person {
		return w.Secretary(org, name, "information")
	})
	w.com, w.other, w.c, w.comSec, w.otherSec, w.secC = wide.Mid, wide.Other, wide.C, wide.MidSec, wide.OtherSec, wide.SecC
	w.MemberA = w.Member(w.A, "张小明", "information")
	w.MemberB = w.Member(w.B, "陈晓东", "information")
	return w
}

// in returns the world for a subtest, so that its helpers fail the subtest.
func (w *world) in(t *testing.T) *world {
	c := *w
	c.World, c.t = w.World.In(t), t
	return &c
}

// reportJSON is a report as the API answers it: the server's own type, since testenv's
// client checks every response against openapi.yaml.
type reportJSON = report.JSON

type eventJSON = report.EventJSON

type listJSON struct {
	Items      []reportJSON `json:"items"`
	NextCursor string       `json:"next_cursor"`
}

// file has p report through the API and returns the report.
func (w *world) file(p person, urgency, content string) reportJSON {
	w.t.Helper()
	var r reportJSON
	w.Expect(w.DoAs("POST", "/api/v1/reports", p, map[string]any{
		"category": "epidemic_clue", "urgency": urgency, "content": content, "request_id": fmt.Sprintf("req-%d-%d", p.ID, time.Now().UnixNano()),
	}), 201).JSON(w.t, &r)
	return r
}

// timeline returns a report and its timeline as p sees them.
func (w *world) timeline(p person, id int64) (reportJSON, []eventJSON) {
	w.t.Helper()
	var out report.DetailJSON
	w.Expect(w.DoAs("GET", reportPath(id, ""), p, nil), 200).JSON(w.t, &out)
	return out.Report, out.Timeline
}

// list returns the ids of GET path as p.
func (w *world) list(p person, path string) []int64 {
	w.t.Helper()
	var l listJSON
	w.Expect(w.DoAs("GET", path, p, nil), 200).JSON(w.t, &l)
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
	if err := w.App.DB.Table("notifications").Where("kind = ? AND ref_type = 'report' AND ref_id = ? AND user_id = ?", kind, reportID, userID).
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
	names := map[int64]string{w.Root: "root", w.com: "com", w.A: "A", w.B: "B", w.other: "other", w.c: "C"}
	parts := make([]string, len(evs))
	for i, e := range evs {
		parts[i] = fmt.Sprintf("%s@%s/%d", e.Kind, names[e.OrgID], e.Level)
	}
	return strings.Join(parts, " ")
}
