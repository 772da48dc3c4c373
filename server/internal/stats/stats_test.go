package stats_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"xianfeng/server/internal/org"
	"xianfeng/server/internal/report"
	"xianfeng/server/internal/service"
	"xianfeng/server/internal/stats"
)

// diffOrg reports every figure of got that differs from want.
func diffOrg(t *testing.T, what string, want, got orgStatsJSON) {
	t.Helper()
	if want.OrgID != got.OrgID || want.ApprovedMembers != got.ApprovedMembers || want.Tasks != got.Tasks ||
		want.Checkins.Days != got.Checkins.Days || !near(want.Checkins.Rate, got.Checkins.Rate, 1e-4) ||
		want.Reports.Filed != got.Reports.Filed || want.Reports.Acknowledged != got.Reports.Acknowledged ||
		want.Reports.Escalations != got.Reports.Escalations || want.Deeds != got.Deeds || want.Forms != got.Forms ||
		!sameSeconds(want.Reports.MedianAckSeconds, got.Reports.MedianAckSeconds) {
		t.Errorf("%s: figures differ from the recount (-want +got)\n-%s\n+%s", what, show(want), show(got))
	}
}

func diffMember(t *testing.T, what string, want, got memberStatsJSON) {
	t.Helper()
	if want.UserID != got.UserID || want.Tasks != got.Tasks || want.Checkins.Days != got.Checkins.Days ||
		!near(want.Checkins.Rate, got.Checkins.Rate, 1e-4) || want.Reports != got.Reports || want.Deeds != got.Deeds || want.Forms != got.Forms {
		t.Errorf("%s: figures differ from the recount (-want +got)\n-%+v\n+%+v", what, want, got)
	}
}

func sameSeconds(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return near(*a, *b, 2e-3)
}

func show(o orgStatsJSON) string {
	m := "null"
	if o.Reports.MedianAckSeconds != nil {
		m = strconv.FormatFloat(*o.Reports.MedianAckSeconds, 'f', 3, 64)
	}
	return fmt.Sprintf("org=%d members=%d tasks=%+v checkins=%+v reports={filed:%d acked:%d median:%s escalations:%d} deeds=%+v forms=%+v",
		o.OrgID, o.ApprovedMembers, o.Tasks, o.Checkins, o.Reports.Filed, o.Reports.Acknowledged, m, o.Reports.Escalations, o.Deeds, o.Forms)
}

func TestStatsEqualARecount(t *testing.T) {
	w := newWorld(t)
	t.Logf("backends: %s", w.env)
	p := w.period(w.loc, from, to)
	root := w.recountOrg(p, w.seed.RootID)
	// The data set must exercise every figure, or the comparison proves little.
	if root.Tasks.Assigned == 0 || root.Tasks.Accepted == 0 || root.Tasks.DoneOnTime == 0 || root.Tasks.Overdue == 0 ||
		root.Tasks.Declined == 0 || root.Checkins.Days == 0 || root.Reports.Filed == 0 || root.Reports.MedianAckSeconds == nil ||
		root.Reports.Escalations == 0 || root.Deeds.Approved == 0 || root.Deeds.Commended == 0 || root.Forms.Entries == 0 || root.Forms.Missed == 0 {
		t.Fatalf("the seeded activity leaves a figure at zero: %s", show(root))
	}
	for _, tt := range []struct {
		name string
		org  int64
	}{
		{"the root sees its committees", w.seed.RootID},
		{"a committee sees its general branches", w.committees[1]},
		{"a general branch sees its branches", w.generals[0]},
		{"a branch sees its members", w.seed.LeafID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := w.in(t)
			r := w.stats(w.rootSec, tt.org, url.Values{"from": {from}, "to": {to}, "limit": {"4"}})
			if r.Status != http.StatusOK {
				t.Fatalf("GET stats: %d %s", r.Status, r.Body)
			}
			var got statsJSON
			r.JSON(t, &got)
			if zone := w.loc.String(); got.From != from || got.To != to || got.Days != p.days || got.Timezone != zone {
				t.Errorf("period = %s..%s (%d days, %s), want %s..%s (%d days, %s)", got.From, got.To, got.Days, got.Timezone, from, to, p.days, zone)
			}
			diffOrg(t, "org", w.recountOrg(p, tt.org), got.Org)

			var wantChildren []int64
			for child, parent := range w.parent {
				if parent == tt.org {
					wantChildren = append(wantChildren, child)
				}
			}
			slices.Sort(wantChildren)
			var gotChildren []int64
			for _, c := range got.Children {
				gotChildren = append(gotChildren, c.OrgID)
				diffOrg(t, "child "+c.Name, w.recountOrg(p, c.OrgID), c)
			}
			if !slices.Equal(wantChildren, gotChildren) {
				t.Errorf("children = %v, want %v", gotChildren, wantChildren)
			}

			// Every approved direct member, four to a page.
			var want []int64
			for _, m := range w.memberships {
				if m.OrgID == tt.org && m.Status == org.StatusApproved {
					want = append(want, m.UserID)
				}
			}
			var seen []int64
			for page := 0; ; page++ {
				for _, m := range got.Members.Items {
					seen = append(seen, m.UserID)
					diffMember(t, "member "+m.Name, w.recountMember(p, tt.org, m.UserID), m)
				}
				if got.Members.NextCursor == "" || page > 20 {
					break
				}
				r := w.stats(w.rootSec, tt.org, url.Values{"from": {from}, "to": {to}, "limit": {"4"}, "cursor": {got.Members.NextCursor}})
				if r.Status != http.StatusOK {
					t.Fatalf("GET stats page %d: %d %s", page+2, r.Status, r.Body)
				}
				got = statsJSON{}
				r.JSON(t, &got)
			}
			if !slices.Equal(want, seen) {
				t.Errorf("members listed = %v, want the approved direct members %v", seen, want)
			}
		})
	}
	if len(w.memberships) == 0 {
		t.Fatal("no memberships seeded")
	}
}

func TestStatsScope(t *testing.T) {
	w := newWorld(t)
	var member org.Membership
	for _, m := range w.memberships {
		if m.OrgID == w.seed.LeafID && m.Role == org.RoleMember && m.Status == org.StatusApproved {
			member = m
		}
	}
	memberToken := w.session(member.UserID)
	q := url.Values{"from": {from}, "to": {to}}
	for _, tt := range []struct {
		name   string
		token  string
		org    int64
		status int
	}{
		{"the root secretary sees a leaf below", w.rootSec, w.seed.LeafID, 200},
		{"the leaf secretary sees their own branch", w.leafSec, w.seed.LeafID, 200},
		{"the leaf secretary cannot see the root", w.leafSec, w.seed.RootID, 404},
		{"the leaf secretary cannot see a sibling branch", w.leafSec, w.branches[0], 404},
		{"a member cannot see their own branch", memberToken, w.seed.LeafID, 404},
		{"a stranger cannot see the root", w.stranger, w.seed.RootID, 404},
		{"an org that does not exist is not found", w.rootSec, 999999, 404},
		{"no session is unauthenticated", "", w.seed.RootID, 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := w.in(t)
			if r := w.stats(tt.token, tt.org, q); r.Status != tt.status {
				t.Errorf("GET stats: %d %s, want %d", r.Status, r.Body, tt.status)
			} else if tt.status == 404 && r.ErrorCode() != "not_found" {
				t.Errorf("error code = %q, want not_found", r.ErrorCode())
			}
		})
	}
}

func TestStatsRejectsBadInput(t *testing.T) {
	w := newWorld(t)
	for _, tt := range []struct {
		name  string
		q     url.Values
		field string
	}{
		{"a day that is not a date", url.Values{"from": {"2020-13-01"}, "to": {to}}, "from"},
		{"a day in another format", url.Values{"from": {from}, "to": {"2020/02/05"}}, "to"},
		{"from after to", url.Values{"from": {"2020-02-06"}, "to": {to}}, "from"},
		{"367 days", url.Values{"from": {"2020-01-01"}, "to": {"2021-01-01"}}, "to"},
		{"a limit of 0", url.Values{"limit": {"0"}}, "limit"},
		{"a broken cursor", url.Values{"cursor": {"!!"}}, "cursor"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := w.in(t)
			r := w.stats(w.rootSec, w.seed.RootID, tt.q)
			if !r.Invalid(t, tt.field) {
				t.Errorf("GET stats?%s: %d %s, want 400 invalid_argument naming %s", tt.q.Encode(), r.Status, r.Body, tt.field)
			}
		})
	}
	t.Run("366 days are allowed", func(t *testing.T) {
		w := w.in(t)
		r := w.stats(w.rootSec, w.seed.RootID, url.Values{"from": {"2020-01-01"}, "to": {"2020-12-31"}})
		var got statsJSON
		if r.JSON(t, &got); r.Status != http.StatusOK || got.Days != 366 {
			t.Errorf("GET stats for a leap year: %d, %d days; want 200, 366 days", r.Status, got.Days)
		}
	})
}

// TestStatsFollowTheServices checks the definitions against what the
// report service writes: a report left unacknowledged climbs twice by the
// job, so the branch and then its general branch failed to acknowledge.
func TestStatsFollowTheServices(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	svc := w.env.App.Report
	rep, _, err := svc.Create(ctx, w.seed.LeafSecretaryUserID, report.Input{OrgID: w.seed.LeafID, Category: "supplies",
		Urgency: report.Urgent, Content: "口罩短缺", RequestID: "flow-1"})
	w.must(err)
	_, err = svc.Escalate(ctx, rep.ID, 0, 0, "")
	w.must(err)
	_, err = svc.Escalate(ctx, rep.ID, 1, 0, "")
	w.must(err)
	w.clock.Add(time.Minute)
	_, err = svc.Ack(ctx, w.seed.RootSecretaryUserID, rep.ID)
	w.must(err)

	general := w.parent[w.seed.LeafID]
	committee := w.parent[general]
	for _, tt := range []struct {
		name        string
		org         int64
		escalations int64
	}{
		{"the branch failed once", w.seed.LeafID, 1},
		{"the general branch failed once, and its branch once", general, 2},
		{"the committee did not fail but counts its subtree", committee, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := w.in(t)
			r := w.stats(w.rootSec, tt.org, nil) // the default period: the last 30 days
			var got statsJSON
			if r.JSON(t, &got); r.Status != http.StatusOK {
				t.Fatalf("GET stats: %d %s", r.Status, r.Body)
			}
			loc := w.loc
			today := w.clock.Now().In(loc).Format(time.DateOnly)
			first := w.clock.Now().In(loc).AddDate(0, 0, -29).Format(time.DateOnly)
			if got.Days != 30 || got.To != today || got.From != first {
				t.Errorf("default period = %s..%s (%d days), want %s..%s (30 days)", got.From, got.To, got.Days, first, today)
			}
			if got.Org.Reports.Filed != 1 || got.Org.Reports.Acknowledged != 1 || got.Org.Reports.Escalations != tt.escalations ||
				got.Org.Reports.MedianAckSeconds == nil || *got.Org.Reports.MedianAckSeconds <= 0 {
				t.Errorf("reports = %+v, want 1 filed and acknowledged after a positive time, %d escalations", got.Org.Reports, tt.escalations)
			}
			diffOrg(t, "org", w.recountOrg(w.period(w.loc, got.From, got.To), tt.org), got.Org)
		})
	}
}

// TestStatsCountCalendarDaysInTheConfiguredZone asks a service configured
// for Asia/Shanghai: the period starts at
// midnight there, so the tasks and reports made at 00:00:00 Shanghai time on
// the first day count and those a second earlier do not.
func TestStatsCountCalendarDaysInTheConfiguredZone(t *testing.T) {
	w := newWorld(t)
	svc := stats.NewService(w.db, w.env.App.Org.Store(), stats.Options{Deps: service.Deps{Log: w.env.App.Log}, Location: w.shanghai})
	p, err := svc.Period(from, to)
	w.must(err)
	if want := time.Date(2020, 1, 19, 16, 0, 0, 0, time.UTC); !p.Start.Equal(want) || !p.End.Equal(want.AddDate(0, 0, 17)) || p.Days != 17 {
		t.Errorf("period = [%s, %s) %d days, want [%s, %s) 17 days", p.Start, p.End, p.Days, want, want.AddDate(0, 0, 17))
	}
	r, err := svc.Stats(context.Background(), w.seed.RootSecretaryUserID, w.seed.RootID, p, 0, 50)
	w.must(err)
	recount := w.period(w.shanghai, from, to)
	diffOrg(t, "root", w.recountOrg(recount, w.seed.RootID), asJSON[orgStatsJSON](t, r.Org))
	for _, c := range r.Children {
		diffOrg(t, "child "+c.Name, w.recountOrg(recount, c.OrgID), asJSON[orgStatsJSON](t, c))
	}
	if utc := w.recountOrg(w.period(time.UTC, from, to), w.seed.RootID); utc.Tasks == asJSON[orgStatsJSON](t, r.Org).Tasks {
		t.Errorf("the task figures are the same as for UTC days (%+v): the zone made no difference, so the test proves nothing", utc.Tasks)
	}
}

// asJSON converts v through its JSON form.
func asJSON[T any](t *testing.T, v any) T {
	t.Helper()
	var out T
	b, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(b, &out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}
