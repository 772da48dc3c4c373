package deed_test

import (
	"fmt"
	"strings"
	"testing"

	"xianfeng/server/internal/deed"
	"xianfeng/server/internal/testenv"
)

// world is a tree for deed tests, a testenv.World grown with GrowWide:
//
//	root (committee 青岛市委, secretary RootSec)
//	├── gb (general branch 第一党总支, secretary gbSec)
//	│   ├── A (branch, secretary SecA; members MemberA, memberA2)
//	│   └── B (branch, secretary SecB; member MemberB)
//	└── other (committee 市北区委, secretary otherSec)
//	    └── c (branch, secretary secC; member memberC)
type world struct {
	*testenv.World
	t *testing.T

	gb, other, c int64

	gbSec, otherSec, secC, memberA2, memberC person
	// extra are the secretaries a test added (see secretary), named in trails and timelines.
	extra *[]person
}

// person is a logged-in user.
type person = testenv.Person

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{World: testenv.NewRoot(t, testenv.Options{}), t: t, extra: new([]person)}
	wide := w.GrowWide("第一党总支", "general_branch", "孙总支", w.secretary)
	w.gb, w.other, w.c, w.gbSec, w.otherSec, w.secC = wide.Mid, wide.Other, wide.C, wide.MidSec, wide.OtherSec, wide.SecC
	w.MemberA = w.Member(w.A, "张小明", "frontline")
	w.memberA2 = w.Member(w.A, "刘芳", "frontline")
	w.MemberB = w.Member(w.B, "陈晓东", "frontline")
	w.memberC = w.Member(w.c, "吴刚", "frontline")
	return w
}

// in returns the world for a subtest, so that its helpers fail the subtest.
func (w *world) in(t *testing.T) *world {
	c := *w
	c.World, c.t = w.World.In(t), t
	return &c
}

// secretary adds a new member to org and makes them its secretary.
func (w *world) secretary(org int64, name string) person {
	w.t.Helper()
	p := w.Secretary(org, name, "frontline")
	*w.extra = append(*w.extra, p)
	return p
}

// deedJSON is a deed as the API answers it: the server's own type, since testenv's
// client checks every response against openapi.yaml.
type deedJSON = deed.JSON

type eventJSON = deed.EventJSON

// nominate has by nominate a deed (about subject, or themselves when
// subject is nil) and returns it.
func (w *world) nominate(by person, subject *person, title string) deedJSON {
	w.t.Helper()
	body := map[string]any{"title": title, "content": title + "：连续十天坚守卡口，劝返外来车辆百余辆。"}
	if subject != nil {
		body["user_id"] = subject.ID
	}
	var d deedJSON
	w.Expect(w.DoAs("POST", "/api/v1/deeds", by, body), 201).JSON(w.t, &d)
	return d
}

// act runs a review step and returns the response.
func (w *world) act(by person, id int64, action string, body any) testenv.Response {
	w.t.Helper()
	return w.DoAs("POST", fmt.Sprintf("/api/v1/deeds/%d/%s", id, action), by, body)
}

// timeline returns a deed and its path as p sees them.
func (w *world) timeline(p person, id int64) (deedJSON, []eventJSON) {
	w.t.Helper()
	var out deed.DetailJSON
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/deeds/%d", id), p, nil), 200).JSON(w.t, &out)
	return out.Deed, out.Timeline
}

// list returns the ids GET path answers p.
func (w *world) list(p person, path string) []int64 {
	w.t.Helper()
	var l struct {
		Items []deedJSON `json:"items"`
	}
	w.Expect(w.DoAs("GET", path, p, nil), 200).JSON(w.t, &l)
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
	if err := w.App.DB.Table("notifications").Where("kind = 'deed_update' AND ref_type = 'deed' AND ref_id = ? AND user_id = ?", deedID, userID).
		Count(&n).Error; err != nil {
		w.t.Fatal(err)
	}
	return n
}

// steps renders a path as "kind@org by actor" entries, to compare whole.
func (w *world) steps(evs []eventJSON) string {
	orgs := map[int64]string{w.Root: "root", w.gb: "gb", w.A: "A", w.B: "B", w.other: "other", w.c: "C"}
	people := map[int64]string{}
	for _, p := range append([]person{w.RootSec, w.gbSec, w.SecA, w.SecB, w.otherSec, w.secC, w.MemberA, w.memberA2, w.MemberB, w.memberC}, *w.extra...) {
		people[p.ID] = p.Name
	}
	parts := make([]string, len(evs))
	for i, e := range evs {
		parts[i] = fmt.Sprintf("%s@%s by %s", e.Kind, orgs[e.OrgID], people[e.ActorID])
	}
	return strings.Join(parts, ", ")
}
