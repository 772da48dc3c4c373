package report_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"xianfeng/config"
)

type errorJSON struct {
	Error struct {
		Code   string            `json:"code"`
		Fields map[string]string `json:"fields"`
	} `json:"error"`
}

func TestOnlyTheReporterAndTheSecretariesAboveSeeAReport(t *testing.T) {
	w := newWorld(t)
	r := w.file(w.memberA, "urgent", "菜市场有人聚集未戴口罩")
	other := w.file(w.memberB, "normal", "第二支部的上报")

	t.Run("the reporter sees their report and finds it under /me/reports", func(t *testing.T) {
		got, evs := w.timeline(w.memberA, r.ID)
		if got.ID != r.ID || got.Content != "菜市场有人聚集未戴口罩" || len(evs) == 0 {
			t.Errorf("reporter's view = %+v, %d events", got, len(evs))
		}
		if ids := w.list(w.memberA, "/api/v1/me/reports"); !slices.Equal(ids, []int64{r.ID}) {
			t.Errorf("GET /me/reports = %v, want [%d]", ids, r.ID)
		}
	})

	t.Run("the branch secretary and every secretary above see it", func(t *testing.T) {
		for _, p := range []person{w.secA, w.comSec, w.rootSec} {
			if res := w.do("GET", reportPath(r.ID, ""), p, nil); res.Status != 200 {
				t.Errorf("%s: GET = %d %s", p.Name, res.Status, res.Body)
			}
		}
		if ids := w.list(w.secA, fmt.Sprintf("/api/v1/orgs/%d/reports", w.a)); !slices.Equal(ids, []int64{r.ID}) {
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
		{"the secretary of a sibling branch", w.secB},
		{"the secretary of another committee", w.otherSec},
		{"the secretary of a branch in another subtree", w.secC},
		{"a member of another branch", w.memberB},
	}
	for _, o := range outsiders {
		t.Run(o.who+" can neither see, act on nor list it", func(t *testing.T) {
			for _, req := range []struct{ method, path string }{
				{"GET", reportPath(r.ID, "")},
				{"POST", reportPath(r.ID, "ack")},
				{"POST", reportPath(r.ID, "resolve")},
				{"POST", reportPath(r.ID, "escalate")},
			} {
				if res := w.do(req.method, req.path, o.p, nil); res.Status != 404 || res.ErrorCode() != "report_not_found" {
					t.Errorf("%s %s = %d %s, want 404 report_not_found", req.method, req.path, res.Status, res.Body)
				}
			}
			if res := w.do("GET", fmt.Sprintf("/api/v1/orgs/%d/reports", w.a), o.p, nil); res.Status != 404 {
				t.Errorf("listing branch A = %d %s, want 404", res.Status, res.Body)
			}
			if ids := w.list(o.p, "/api/v1/me/reports"); slices.Contains(ids, r.ID) {
				t.Errorf("GET /me/reports shows someone else's report: %v", ids)
			}
		})
	}

	t.Run("the sibling secretary's own list leaves it out", func(t *testing.T) {
		if ids := w.list(w.secB, fmt.Sprintf("/api/v1/orgs/%d/reports", w.b)); !slices.Equal(ids, []int64{other.ID}) {
			t.Errorf("branch B's reports = %v, want [%d]", ids, other.ID)
		}
		if ids := w.list(w.otherSec, fmt.Sprintf("/api/v1/orgs/%d/reports", w.other)); len(ids) != 0 {
			t.Errorf("the other committee's reports = %v, want none", ids)
		}
	})

	t.Run("the reporter cannot acknowledge their own report", func(t *testing.T) {
		if res := w.do("POST", reportPath(r.ID, "ack"), w.memberA, nil); res.Status != 404 {
			t.Errorf("reporter's ack = %d %s, want 404", res.Status, res.Body)
		}
	})

	t.Run("a report escalated by hand to the root shows in the root's list where it now waits", func(t *testing.T) {
		var got reportJSON
		w.expect(w.do("POST", reportPath(r.ID, "escalate"), w.secA, map[string]string{"note": "人员较多，请区委协调"}), 200).JSON(t, &got)
		if got.CurrentOrgID != w.com || got.EscalationLevel != 1 {
			t.Fatalf("after the branch escalated it: %+v", got)
		}
		w.expect(w.do("POST", reportPath(r.ID, "escalate"), w.comSec, nil), 200).JSON(t, &got)
		if got.CurrentOrgID != w.root || got.EscalationLevel != 2 {
			t.Fatalf("after the committee escalated it: %+v", got)
		}
		var l listJSON
		w.expect(w.do("GET", fmt.Sprintf("/api/v1/orgs/%d/reports", w.root), w.rootSec, nil), 200).JSON(t, &l)
		found := false
		for _, item := range l.Items {
			found = found || item.ID == r.ID && item.CurrentOrgID == w.root && item.OrgID == w.a
		}
		if !found {
			t.Errorf("the root's list lacks the report escalated from branch A: %+v", l.Items)
		}
		_, evs := w.timeline(w.rootSec, r.ID)
		if e := evs[2]; e.Kind != "escalated" || e.ActorID != w.secA.ID || e.Note != "人员较多，请区委协调" {
			t.Errorf("the manual escalation on the timeline = %+v", e)
		}
	})

	t.Run("escalating by hand at the root is refused", func(t *testing.T) {
		res := w.do("POST", reportPath(r.ID, "escalate"), w.rootSec, nil)
		if res.Status != 422 || res.ErrorCode() != "already_at_root" {
			t.Errorf("escalate at the root = %d %s, want 422 already_at_root", res.Status, res.Body)
		}
	})

	t.Run("resolving twice and acknowledging a resolved report are conflicts", func(t *testing.T) {
		var got reportJSON
		w.expect(w.do("POST", reportPath(r.ID, "resolve"), w.rootSec, map[string]string{"note": "已劝散"}), 200).JSON(t, &got)
		if got.Status != "resolved" || got.ResolveNote != "已劝散" || got.NextEscalateAt != nil {
			t.Errorf("resolved report = %+v", got)
		}
		if res := w.do("POST", reportPath(r.ID, "resolve"), w.rootSec, nil); res.Status != 409 || res.ErrorCode() != "invalid_transition" {
			t.Errorf("second resolve = %d %s, want 409 invalid_transition", res.Status, res.Body)
		}
		if res := w.do("POST", reportPath(r.ID, "ack"), w.secA, nil); res.Status != 409 || res.ErrorCode() != "invalid_transition" {
			t.Errorf("ack after resolve = %d %s, want 409 invalid_transition", res.Status, res.Body)
		}
		if res := w.do("POST", reportPath(r.ID, "escalate"), w.secA, nil); res.Status != 409 {
			t.Errorf("escalate after resolve = %d %s, want 409", res.Status, res.Body)
		}
		_, evs := w.timeline(w.memberA, r.ID)
		if last := evs[len(evs)-1]; last.Kind != "resolved" || last.ActorID != w.rootSec.ID {
			t.Errorf("last event = %+v, want resolved by the root secretary", last)
		}
	})
}

func TestReportListsFilterByStatusAndUrgency(t *testing.T) {
	w := newWorld(t)
	urgentOpen := w.file(w.memberA, "urgent", "紧急：发热人员")
	normalOpen := w.file(w.memberA, "normal", "物资短缺")
	normalAcked := w.file(w.memberB, "normal", "谣言")
	urgentResolved := w.file(w.memberB, "urgent", "求助")
	w.expect(w.do("POST", reportPath(normalAcked.ID, "ack"), w.secB, nil), 200)
	w.expect(w.do("POST", reportPath(urgentResolved.ID, "resolve"), w.comSec, nil), 200)
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
			if got := w.list(w.comSec, base+tc.query); !slices.Equal(got, tc.want) {
				t.Errorf("GET %s = %v, want %v", base+tc.query, got, tc.want)
			}
		})
	}

	t.Run("a page of one gives a cursor to the next", func(t *testing.T) {
		var l listJSON
		w.expect(w.do("GET", base+"?limit=1", w.comSec, nil), 200).JSON(t, &l)
		if len(l.Items) != 1 || l.NextCursor == "" {
			t.Fatalf("first page = %+v", l)
		}
		if got := w.list(w.comSec, base+"?limit=3&cursor="+l.NextCursor); !slices.Equal(got, []int64{normalAcked.ID, normalOpen.ID, urgentOpen.ID}) {
			t.Errorf("second page = %v", got)
		}
	})

	for _, q := range []string{"?status=closed", "?urgency=high"} {
		t.Run("an unknown filter value "+q+" is a bad request", func(t *testing.T) {
			res := w.do("GET", base+q, w.comSec, nil)
			var e errorJSON
			res.JSON(t, &e)
			field := strings.TrimPrefix(strings.SplitN(q, "=", 2)[0], "?")
			if res.Status != 400 || e.Error.Code != "invalid_argument" || e.Error.Fields[field] == "" {
				t.Errorf("GET %s = %d %s, want 400 naming %s", q, res.Status, res.Body, field)
			}
		})
	}
}

func TestFilingAReport(t *testing.T) {
	// Member A sends more than the default ten reports a minute here.
	w := newWorld(t, func(c *config.Config) { c.Report.PerMinute = 100 })

	t.Run("a replayed request_id returns the same report and stores one row", func(t *testing.T) {
		body := map[string]any{"category": "supplies", "urgency": "normal", "content": "消毒液不足", "request_id": "phone-retry-1"}
		var first, second reportJSON
		w.expect(w.do("POST", "/api/v1/reports", w.memberA, body), 201).JSON(t, &first)
		w.expect(w.do("POST", "/api/v1/reports", w.memberA, body), 201).JSON(t, &second)
		if first.ID == 0 || second.ID != first.ID {
			t.Errorf("replay answered report %d, first was %d", second.ID, first.ID)
		}
		var n int64
		if err := w.env.App.DB.Table("reports").Where("reporter_id = ?", w.memberA.ID).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%d rows stored, want 1", n)
		}
		if got := w.notifications("report_received", first.ID, w.secA.ID); got != 1 {
			t.Errorf("secretary notified %d times, want 1", got)
		}
		_, evs := w.timeline(w.memberA, first.ID)
		if w.steps(evs) != "created@A/0 notified@A/0" {
			t.Errorf("timeline after a replay = %s", w.steps(evs))
		}
	})

	t.Run("the same request_id from another member is a report of its own", func(t *testing.T) {
		body := map[string]any{"category": "supplies", "urgency": "normal", "content": "消毒液不足", "request_id": "phone-retry-1"}
		var r reportJSON
		w.expect(w.do("POST", "/api/v1/reports", w.memberB, body), 201).JSON(t, &r)
		if r.ReporterID != w.memberB.ID || r.OrgID != w.b {
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
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"an unknown category", with("category", "gossip"), "category"},
		{"an unknown urgency", with("urgency", "asap"), "urgency"},
		{"blank content", with("content", "   "), "content"},
		{"content over 5000 characters", with("content", strings.Repeat("疫", 5001)), "content"},
		{"a latitude without a longitude", with("lat", 36.06), "lat"},
		{"an address over 200 characters", with("address", strings.Repeat("路", 201)), "address"},
		{"no request_id", with("request_id", nil), "request_id"},
	} {
		t.Run(tc.name+" is a bad request naming the field", func(t *testing.T) {
			res := w.do("POST", "/api/v1/reports", w.memberA, tc.body)
			var e errorJSON
			res.JSON(t, &e)
			if res.Status != 400 || e.Error.Code != "invalid_argument" || e.Error.Fields[tc.field] == "" {
				t.Errorf("got %d %s, want 400 invalid_argument with fields.%s", res.Status, res.Body, tc.field)
			}
		})
	}

	t.Run("a user with no approved membership cannot report", func(t *testing.T) {
		stranger := w.login("stranger")
		res := w.do("POST", "/api/v1/reports", stranger, valid)
		if res.Status != 404 || res.ErrorCode() != "not_member" {
			t.Errorf("stranger's report = %d %s, want 404 not_member", res.Status, res.Body)
		}
	})

	t.Run("a member cannot report into an org they do not belong to", func(t *testing.T) {
		res := w.do("POST", "/api/v1/reports", w.memberA, with("org_id", w.b))
		if res.Status != 404 || res.ErrorCode() != "not_member" {
			t.Errorf("report into branch B = %d %s, want 404 not_member", res.Status, res.Body)
		}
	})

	t.Run("a report with a location keeps it", func(t *testing.T) {
		var r struct {
			Lat     *float64 `json:"lat"`
			Lng     *float64 `json:"lng"`
			Address string   `json:"address"`
			OrgID   int64    `json:"org_id"`
		}
		w.expect(w.do("POST", "/api/v1/reports", w.memberA, map[string]any{
			"category": "help_needed", "urgency": "normal", "content": "老人需要送药", "request_id": "loc-1",
			"lat": 36.0671, "lng": 120.3826, "address": "香港中路 1 号", "org_id": w.a,
		}), 201).JSON(t, &r)
		if r.Lat == nil || *r.Lat != 36.0671 || r.Lng == nil || *r.Lng != 120.3826 || r.Address != "香港中路 1 号" || r.OrgID != w.a {
			t.Errorf("report with a location = %+v", r)
		}
	})
}
