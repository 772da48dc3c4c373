package form_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/report"
	"xianfeng/server/internal/testenv"
)

// reportJSON is a report as the API answers it: the report package's own
// type, so that the answer's fields are defined in one place.
type reportJSON = report.JSON

// TestAnAlertingEntryFilesOneUrgentReportThatEscalates: a member reports
// 37.8 °C and the branch secretary has an urgent report at once, which
// climbs to the root on the urgent SLA like one filed by hand.
func TestAnAlertingEntryFilesOneUrgentReportThatEscalates(t *testing.T) {
	clock := testenv.NewClock(start)
	w := &world{World: testenv.NewWorld(t, testenv.Options{Now: clock.Now, Configure: func(c *config.Config) {
		testenv.WithTemplates(notify.KindReportReceived)(c)
		c.Report.PerMinute = 1 // the member's hand-filed report below uses it up
		c.Notify.ReportCoalesce = 10 * time.Minute
	}}), clock: clock}
	ctx := context.Background()
	consents := notify.NewConsents(w.App.DB.DB, 20)
	for range 5 {
		w.Must(consents.Add(ctx, w.SecA.ID, []string{"tmpl-" + notify.KindReportReceived}))
	}
	// A report by hand first: it uses the member's rate limit and starts the
	// coalescing interval of their pushes.
	w.Expect(w.DoAs("POST", "/api/v1/reports", w.MemberA, map[string]any{"category": "other", "urgency": "normal", "content": "小区门口值守人员不足", "request_id": "hand-1"}), http.StatusCreated)

	f := w.createForm(w.SecA, w.A, "daily", healthFields, nil)
	var e entryJSON
	w.Expect(w.submit(w.MemberA, f.ID, "hot-1", map[string]any{"temp": 37.8, "travel": "否"}), http.StatusCreated).JSON(t, &e)
	if !e.Alert || e.ReportID == nil {
		t.Fatalf("the entry = %+v, want an alert with its report", e)
	}
	var r reportJSON
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/reports/%d", *e.ReportID), w.SecA, nil), http.StatusOK).JSON(t, &struct {
		Report *reportJSON `json:"report"`
	}{&r})
	if r.Category != "screening_alert" || r.Urgency != "urgent" || r.Status != "open" || r.OrgID != w.A {
		t.Errorf("the report = %+v, want an open urgent screening_alert at branch A", r)
	}
	if r.NextEscalateAt == nil || !r.NextEscalateAt.Equal(r.CreatedAt.Add(w.App.Config.Report.SLAUrgent)) {
		t.Errorf("next_escalate_at = %v, want created_at + the urgent SLA %s", r.NextEscalateAt, w.App.Config.Report.SLAUrgent)
	}

	t.Run("the secretary is pushed at once, not held back behind the member's earlier report", func(t *testing.T) {
		var ids []int64
		w.Must(w.App.DB.Table("notifications").Where("delivery = ?", notify.DeliveryQueued).Order("id").Pluck("id", &ids).Error)
		for _, id := range ids {
			w.Must(w.App.Pusher.Deliver(ctx, id, false))
		}
		pushed := 0
		for _, m := range w.WeChat.Sent() {
			if m.ToOpenID == "o-"+w.SecA.Login {
				pushed++
			}
		}
		if pushed != 2 {
			t.Errorf("the branch secretary got %d pushes, want 2 (the hand-filed report and the alert)", pushed)
		}
	})

	t.Run("a retry of the entry files no second report", func(t *testing.T) {
		w := w.In(t)
		var again entryJSON
		w.Expect(w.submit(w.MemberA, f.ID, "hot-1", map[string]any{"temp": 37.8, "travel": "否"}), http.StatusOK).JSON(t, &again)
		var list struct {
			Items []reportJSON `json:"items"`
		}
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/reports", w.A), w.SecA, nil), http.StatusOK).JSON(t, &list)
		n := 0
		for _, it := range list.Items {
			if it.Category == "screening_alert" {
				n++
			}
		}
		if n != 1 || again.ReportID == nil || *again.ReportID != *e.ReportID {
			t.Errorf("%d screening alerts, the retry links %v; want 1, report %d", n, again.ReportID, *e.ReportID)
		}
	})

	t.Run("unacknowledged, it climbs to the root", func(t *testing.T) {
		got, err := w.App.Report.Escalate(ctx, r.ID, 0, 0, "")
		w.Must(err)
		if got.CurrentOrgID != w.Root {
			t.Errorf("escalated to org %d, want the root %d", got.CurrentOrgID, w.Root)
		}
	})

	t.Run("a second alerting entry is not held back by the report rate limit", func(t *testing.T) {
		w := w.In(t)
		w.clock.Add(24 * time.Hour)
		var next entryJSON
		w.Expect(w.submit(w.MemberA, f.ID, "hot-2", map[string]any{"temp": 36.6, "travel": "是"}), http.StatusCreated).JSON(t, &next)
		if !next.Alert || next.ReportID == nil || *next.ReportID == *e.ReportID {
			t.Errorf("the second alerting entry = %+v, want a report of its own", next)
		}
	})

	t.Run("nobody files a screening alert by hand", func(t *testing.T) {
		w := w.In(t)
		r := w.DoAs("POST", "/api/v1/reports", w.MemberB, map[string]any{"category": "screening_alert", "urgency": "urgent", "content": "伪造预警", "request_id": "fake-1"})
		if !r.Invalid(t, "category") {
			t.Errorf("answered %d %s, want 400 naming category", r.Status, r.Body)
		}
	})

	t.Run("a healthy entry files nothing", func(t *testing.T) {
		w := w.In(t)
		other := w.NewMember(w.A, "frontline")
		var ok entryJSON
		w.Expect(w.submit(other, f.ID, "ok-1", healthy), http.StatusCreated).JSON(t, &ok)
		if ok.Alert || ok.ReportID != nil {
			t.Errorf("a healthy entry = %+v, want no alert", ok)
		}
	})
}
