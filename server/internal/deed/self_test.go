package deed_test

import (
	"testing"
)

// TestNobodyActsOnADeedTheyAreOrNominated walks deeds up the tree and
// checks at every level that neither the member the deed is about nor the
// one who nominated it may approve, reject, recommend or commend it, while
// another secretary who manages the org where it waits may.
func TestNobodyActsOnADeedTheyAreOrNominated(t *testing.T) {
	w := newWorld(t)
	type step struct {
		by     func() person
		action string
		status int
		code   string // the error code of a refusal
		want   string // the deed's status after a step that succeeds
	}
	refuse := func(by func() person, action string) step {
		return step{by: by, action: action, status: 403, code: "cannot_act_on_self"}
	}
	ok := func(by func() person, action, want string) step {
		return step{by: by, action: action, status: 200, want: want}
	}
	secA := func() person { return w.SecA }
	gbSec := func() person { return w.gbSec }
	rootSec := func() person { return w.RootSec }
	memberA := func() person { return w.MemberA }
	tests := []struct {
		name     string
		nominate func(t *testing.T) deedJSON
		steps    []step
		final    string
	}{
		{
			name:     "a branch secretary's own deed is reviewed by the general branch and recommended and commended above",
			nominate: func(t *testing.T) deedJSON { return w.in(t).nominate(w.SecA, nil, "书记本人的事迹") },
			steps: []step{
				refuse(secA, "approve"), refuse(secA, "reject"),
				ok(gbSec, "approve", "approved"),
				refuse(secA, "recommend"), refuse(secA, "commend"),
				ok(gbSec, "recommend", "recommended"),
				refuse(secA, "recommend"), refuse(secA, "reject"),
				ok(rootSec, "recommend", "recommended"),
				refuse(secA, "commend"),
				ok(rootSec, "commend", "commended"),
			},
			final: "commended",
		},
		{
			name:     "a secretary who nominated a member cannot approve or reject the nomination",
			nominate: func(t *testing.T) deedJSON { return w.in(t).nominate(w.SecA, &w.MemberA, "书记推荐的事迹") },
			steps: []step{
				refuse(secA, "approve"), refuse(secA, "reject"),
				refuse(memberA, "approve"),
				ok(gbSec, "approve", "approved"),
				refuse(secA, "recommend"),
				ok(gbSec, "recommend", "recommended"),
			},
			final: "recommended",
		},
		{
			name:     "a general branch secretary who nominated a member cannot act on it when it reaches the general branch",
			nominate: func(t *testing.T) deedJSON { return w.in(t).nominate(w.gbSec, &w.memberA2, "总支推荐的事迹") },
			steps: []step{
				refuse(gbSec, "approve"),
				ok(secA, "approve", "approved"),
				ok(secA, "recommend", "recommended"),
				refuse(gbSec, "recommend"), refuse(gbSec, "reject"), refuse(gbSec, "commend"),
				ok(rootSec, "recommend", "recommended"),
				ok(rootSec, "commend", "commended"),
			},
			final: "commended",
		},
		{
			name:     "the lone root secretary's own deed waits, as nobody else manages the root",
			nominate: func(t *testing.T) deedJSON { return w.in(t).nominate(w.RootSec, nil, "市委书记本人的事迹") },
			steps: []step{
				refuse(rootSec, "approve"), refuse(rootSec, "reject"), refuse(rootSec, "commend"),
				{by: gbSec, action: "approve", status: 404, code: "deed_not_found"},
			},
			final: "pending",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			d := tc.nominate(t)
			for i, s := range tc.steps {
				by := s.by()
				res := w.act(by, d.ID, s.action, nil)
				if res.Status != s.status || (s.code != "" && res.ErrorCode() != s.code) {
					t.Fatalf("step %d: %s by %s = %d %s, want %d %s", i+1, s.action, by.Name, res.Status, res.Body, s.status, s.code)
				}
				if s.want != "" {
					var got deedJSON
					res.JSON(t, &got)
					if got.Status != s.want {
						t.Fatalf("step %d: after %s by %s the deed is %s, want %s", i+1, s.action, by.Name, got.Status, s.want)
					}
				}
			}
			if got, _ := w.timeline(w.RootSec, d.ID); got.Status != tc.final {
				t.Errorf("the deed ends %s, want %s", got.Status, tc.final)
			}
		})
	}
}
