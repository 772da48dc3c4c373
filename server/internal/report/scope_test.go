package report_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"xianfeng/config"
	"xianfeng/server/internal/testenv"
)

func TestOnlyTheReporterAndTheSecretariesAboveSeeAReport(t *testing.T) {
	w := newWorld(t)
	r := w.file(w.MemberA, "urgent", "菜市场有人聚集未戴口罩")
	other := w.file(w.MemberB, "normal", "第二支部的上报")

	t.Run("the reporter sees their report and finds it under /me/reports", func(t *testing.T) {
		w := w.in(t)
		got, evs := w.timeline(w.MemberA, r.ID)
		if got.ID != r.ID || got.Content != "菜市场有人聚集未戴口罩" || len(evs) == 0 {
			t.Errorf("reporter's view = %+v, %d events", got, len(evs))
		}
		if ids := w.list(w.MemberA, "/api/v1/me/reports"); !slices.Equal(ids, []int64{r.ID}) {
			t.Errorf("GET /me/reports = %v, want [%d]", ids, r.ID)
		}
	})

	t.Run("the branch secretary and every secretary above see it", func(t *testing.T) {
		w := w.in(t)
		for _, p := range []person{w.SecA, w.comSec, w.RootSec} {
			if res := w.DoAs("GET", reportPath(r.ID, ""), p, nil); res.Status != 200 {
				t.Errorf("%s: GET = %d %s", p.Name, res.Status, res.Body)
			}
		}
		if ids := w.list(w.SecA, fmt.Sprintf("/api/v1/orgs/%d/reports", w.A)); !slices.Equal(ids, []int64{r.ID}) {
			t.Errorf("branch A's reports = %v, want [%d]", ids, r.ID)
		}
		if ids := w.list(w.comSec, fmt.Sprintf("/api/v1/orgs/%d/reports", w.com)); !slices.Equal(ids, []int64{other.ID, r.ID}) {
			t.Errorf("the committee's reports = %v, want [%d %d]", ids, other.ID, r.ID)
		}
	})

	outsiders := []struct {
		who string
		p   person
	}{
		{"the secretary of a sibling branch", w.SecB},
		{"the secretary of another committee", w.otherSec},
		{"the secretary of a branch in another subtree", w.secC},
		{"a member of another branch", w.MemberB},
	}
	for _, o := range outsiders {
		t.Run(o.who+" can neither see, act on nor list it", func(t *testing.T) {
			w := w.in(t)
			for _, req := range []struct{ method, path string }{
				{"GET", reportPath(r.ID, "")},
				{"POST", reportPath(r.ID, "ack")},
				{"POST", reportPath(r.ID, "resolve")},
				{"POST", reportPath(r.ID, "escalate")},
			} {
				if res := w.DoAs(req.method, req.path, o.p, nil); res.Status != 404 || res.ErrorCode() != "report_not_found" {
					t.Errorf("%s %s = %d %s, want 404 report_not_found", req.method, req.path, res.Status, res.Body)
				}
			}
			if res := w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/reports", w.A), o.p, nil); res.Status != 404 {
				t.Errorf("listing branch A = %d %s, want 404", res.Status, res.Body)
			}
			if ids := w.list(o.p, "/api/v1/me/reports"); slices.Contains(ids, r.ID) {
				t.Errorf("GET /me/reports shows someone else's report: %v", ids)
			}
		})
	}

	t.Run("the sibling secretary's own list leaves it out", func(t *testing.T) {
		w := w.in(t)
		if ids := w.list(w.SecB, fmt.Sprintf("/api/v1/orgs/%d/reports", w.B)); !slices.Equal(ids, []int64{other.ID}) {
			t.Errorf("branch B's reports = %v, want [%d]", ids, other.ID)
		}
		if ids := w.list(w.otherSec, fmt.Sprintf("/api/v1/orgs/%d/reports", w.other)); len(ids) != 0 {
			t.Errorf("the other committee's reports = %v, want none", ids)
		}
	})

	t.Run("the reporter cannot acknowledge their own report", func(t *testing.T) {
		w := w.in(t)
		if res := w.DoAs("POST", reportPath(r.ID, "ack"), w.MemberA, nil); res.Status != 404 {
			t.Errorf("reporter's ack = %d %s, want 404", res.Status, res.Body)
		}
	})

	t.Run("a report escalated by hand to the root shows in the root's list where it now waits", func(t *testing.T) {
		w := w.in(t)
		var got reportJSON
		w.Expect(w.DoAs("POST", reportPath(r.ID, "escalate"), w.SecA, map[string]string{"note": "人员较多，请区委协调"}), 200).JSON(t, &got)
		if got.CurrentOrgID != w.com || got.EscalationLevel != 1 {
			t.Fatalf("after the branch escalated it: %+v", got)
		}
		w.Expect(w.DoAs("POST", reportPath(r.ID, "escalate"), w.comSec, nil), 200).JSON(t, &got)
		if got.CurrentOrgID != w.Root || got.EscalationLevel != 2 {
			t.Fatalf("after the committee escalated it: %+v", got)
		}
		var l listJSON
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/reports", w.Root), w.RootSec, nil), 200).JSON(t, &l)
		found := false
		for _, item := range l.Items {
			found = found || item.ID == r.ID && item.CurrentOrgID == w.Root && item.OrgID == w.A
		}
		if !found {
			t.Errorf("the root's list lacks the report escalated from branch A: %+v", l.Items)
		}
		_, evs := w.timeline(w.RootSec, r.ID)
		if e := evs[2]; e.Kind != "escalated" || e.ActorID != w.SecA.ID || e.Note != "人员较多，请区委协调" {
			t.Errorf("the manual escalation on the timeline = %+v", e)
		}
	})

	t.Run("escalating by hand at the root is refused", func(t *testing.T) {
		w := w.in(t)
		res := w.DoAs("POST", reportPath(r.ID, "escalate"), w.RootSec, nil)
		if res.Status != 422 || res.ErrorCode() != "already_at_root" {
			t.Errorf("escalate at the root = %d %s, want 422 already_at_root", res.Status, res.Body)
		}
	})

	t.Run("resolving twice and acknowledging a resolved report are conflicts", func(t *testing.T) {
		w := w.in(t)
		var got reportJSON
		w.Expect(w.DoAs("POST", reportPath(r.ID, "resolve"), w.RootSec, map[string]string{"note": "已劝散"}), 200).JSON(t, &got)
		if got.Status != "resolved" || got.ResolveNote != "已劝散" || got.NextEscalateAt != nil {
			t.Errorf("resolved report = %+v", got)
		}
		if res := w.DoAs("POST", reportPath(r.ID, "resolve"), w.RootSec, nil); res.Status != 409 || res.ErrorCode() != "invalid_transition" {
			t.Errorf("second resolve = %d %s, want 409 invalid_transition", res.Status, res.Body)
		}
		if res := w.DoAs("POST", reportPath(r.ID, "ack"), w.SecA, nil); res.Status != 409 || res.ErrorCode() != "invalid_transition" {
			t.Errorf("ack after resolve = %d %s, want 409 invalid_transition", res.Status, res.Body)
		}
		if res := w.DoAs("POST", reportPath(r.ID, "escalate"), w.SecA, nil); res.Status != 409 {
			t.Errorf("escalate after resolve = %d %s, want 409", res.Status, res.Body)
		}
		_, evs := w.timeline(w.MemberA, r.ID)
		if last := evs[len(evs)-1]; last.Kind != "resolved" || last.ActorID != w.RootSec.ID {
			t.Errorf("last event = %+v, want resolved by the root secretary", last)
		}
	})
}

func TestReportListsFilterByStatusAndUrgency(t *testing.T) {
	w := newWorld(t)
	urgentOpen := w.file(w.MemberA, "urgent", "紧急：发热人员")
	normalOpen := w.file(w.MemberA, "normal", "物资短缺")
	normalAcked := w.file(w.MemberB, "normal", "谣言")
	urgentResolved := w.file(w.MemberB, "urgent", "求助")
	w.Expect(w.DoAs("POST", reportPath(normalAcked.ID, "ack"), w.SecB, nil), 200)
	w.Expect(w.DoAs("POST", reportPath(urgentResolved.ID, "resolve"), w.comSec, nil), 200)
	base := fmt.Sprintf("/api/v1/orgs/%d/reports", w.com)

	for _, tc := range []struct {
		name, query string
		want        []int64
	}{
		{"without a filter every report of the subtree shows, newest first", "", []int64{urgentResolved.ID, normalAcked.ID, normalOpen.ID, urgentOpen.ID}},
		{"status=open shows only open reports", "?status=open", []int64{normalOpen.ID, urgentOpen.ID}},
		{"status=acknowledged shows only acknowledged reports", "?status=acknowledged", []int64{normalAcked.ID}},
		{"status=resolved shows only resolved reports", "?status=resolved", []int64{urgentResolved.ID}},
		{"urgency=urgent shows only urgent reports", "?urgency=urgent", []int64{urgentResolved.ID, urgentOpen.ID}},
		{"both filters combine", "?status=open&urgency=normal", []int64{normalOpen.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			if got := w.list(w.comSec, base+tc.query); !slices.Equal(got, tc.want) {
				t.Errorf("GET %s = %v, want %v", base+tc.query, got, tc.want)
			}
		})
	}

	t.Run("a page of one gives a cursor to the next", func(t *testing.T) {
		w := w.in(t)
		var l listJSON
		w.Expect(w.DoAs("GET", base+"?limit=1", w.comSec, nil), 200).JSON(t, &l)
		if len(l.Items) != 1 || l.NextCursor == "" {
			t.Fatalf("first page = %+v", l)
		}
		if got := w.list(w.comSec, base+"?limit=3&cursor="+l.NextCursor); !slices.Equal(got, []int64{normalAcked.ID, normalOpen.ID, urgentOpen.ID}) {
			t.Errorf("second page = %v", got)
		}
	})

	for _, q := range []string{"?status=closed", "?urgency=high"} {
		t.Run("an unknown filter value "+q+" is a bad request", func(t *testing.T) {
			w := w.in(t)
			res := w.DoAs("GET", base+q, w.comSec, nil)
			e := res.APIError(t)
			field := strings.TrimPrefix(strings.SplitN(q, "=", 2)[0], "?")
			if res.Status != 400 || e.Code != "invalid_argument" || e.Fields[field] == "" {
				t.Errorf("GET %s = %d %s, want 400 naming %s", q, res.Status, res.Body, field)
			}
		})
	}
}

func TestFilingAReport(t *testing.T) {
	// Member A sends more than the default ten reports a minute here.
	w := newWorld(t, func(c *config.Config) { c.Report.PerMinute = 100 })

	t.Run("a replayed request_id returns the same report and stores one row", func(t *testing.T) {
		w := w.in(t)
		body := map[string]any{"category": "supplies", "urgency": "normal", "content": "消毒液不足", "request_id": "phone-retry-1"}
		var first, second reportJSON
		w.Expect(w.DoAs("POST", "/api/v1/reports", w.MemberA, body), 201).JSON(t, &first)
		w.Expect(w.DoAs("POST", "/api/v1/reports", w.MemberA, body), 201).JSON(t, &second)
		if first.ID == 0 || second.ID != first.ID {
			t.Errorf("replay answered report %d, first was %d", second.ID, first.ID)
		}
		var n int64
		if err := w.App.DB.Table("reports").Where("reporter_id = ?", w.MemberA.ID).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%d rows stored, want 1", n)
		}
		if got := w.notifications("report_received", first.ID, w.SecA.ID); got != 1 {
			t.Errorf("secretary notified %d times, want 1", got)
		}
		_, evs := w.timeline(w.MemberA, first.ID)
		if w.steps(evs) != "created@A/0 notified@A/0" {
			t.Errorf("timeline after a replay = %s", w.steps(evs))
		}
	})

	t.Run("the same request_id from another member is a report of its own", func(t *testing.T) {
		w := w.in(t)
		body := map[string]any{"category": "supplies", "urgency": "normal", "content": "消毒液不足", "request_id": "phone-retry-1"}
		var r reportJSON
		w.Expect(w.DoAs("POST", "/api/v1/reports", w.MemberB, body), 201).JSON(t, &r)
		if r.ReporterID != w.MemberB.ID || r.OrgID != w.B {
			t.Errorf("member B's report = %+v", r)
		}
	})

	valid := map[string]any{"category": "rumor", "urgency": "urgent", "content": "有人称自来水被污染", "request_id": "v-1"}
	with := func(k string, v any) map[string]any {
		out := map[string]any{}
		for key, val := range valid {
			out[key] = val
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	w.ExpectInvalid(t, "POST", "/api/v1/reports", w.MemberA, []testenv.InvalidBody{
		{Name: "an unknown category", Body: with("category", "gossip"), Field: "category"},
		{Name: "an unknown urgency", Body: with("urgency", "asap"), Field: "urgency"},
		{Name: "blank content", Body: with("content", "   "), Field: "content"},
		{Name: "content over 5000 characters", Body: with("content", strings.Repeat("疫", 5001)), Field: "content"},
		{Name: "a latitude without a longitude", Body: with("lat", 36.06), Field: "lat"},
		{Name: "an address over 200 characters", Body: with("address", strings.Repeat("路", 201)), Field: "address"},
		{Name: "no request_id", Body: with("request_id", nil), Field: "request_id"},
	})

	t.Run("a user with no approved membership cannot report", func(t *testing.T) {
		w := w.in(t)
		stranger := w.User("stranger", "stranger")
		res := w.DoAs("POST", "/api/v1/reports", stranger, valid)
		if res.Status != 404 || res.ErrorCode() != "not_member" {
			t.Errorf("stranger's report = %d %s, want 404 not_member", res.Status, res.Body)
		}
	})

	t.Run("a member cannot report into an org they do not belong to", func(t *testing.T) {
		w := w.in(t)
		res := w.DoAs("POST", "/api/v1/reports", w.MemberA, with("org_id", w.B))
		if res.Status != 404 || res.ErrorCode() != "not_member" {
			t.Errorf("report into branch B = %d %s, want 404 not_member", res.Status, res.Body)
		}
	})

	t.Run("a report with a location keeps it", func(t *testing.T) {
		w := w.in(t)
		var r struct {
			Lat     *float64 `json:"lat"`
			Lng     *float64 `json:"lng"`
			Address string   `json:"address"`
			OrgID   int64    `json:"org_id"`
		}
		w.Expect(w.DoAs("POST", "/api/v1/reports", w.MemberA, map[string]any{
			"category": "help_needed", "urgency": "normal", "content": "老人需要送药", "request_id": "loc-1",
			"lat": 36.0671, "lng": 120.3826, "address": "香港中路 1 号", "org_id": w.A,
		}), 201).JSON(t, &r)
		if r.Lat == nil || *r.Lat != 36.0671 || r.Lng == nil || *r.Lng != 120.3826 || r.Address != "香港中路 1 号" || r.OrgID != w.A {
			t.Errorf("report with a location = %+v", r)
		}
	})
}
