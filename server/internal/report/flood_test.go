package report_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/testenv"
)

// reportBody is the body of POST /reports with request id rid.
func reportBody(rid string) map[string]any {
	return map[string]any{"category": "epidemic_clue", "urgency": "normal", "content": "小区门口有人聚集", "request_id": rid}
}

func TestFilingReportsIsRateLimitedPerMember(t *testing.T) {
	// Half-way through a minute: the limit's window has 30 s left.
	clk := testenv.NewClock(time.Date(2026, 1, 26, 2, 0, 30, 0, time.UTC))
	w := newWorldWith(t, testenv.Options{Now: clk.Now})
	filed := func(t *testing.T, p person) int64 {
		t.Helper()
		var n int64
		if err := w.App.DB.Table("reports").Where("reporter_id = ?", p.ID).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("a member files ten reports within a minute and the eleventh is refused with 429 and Retry-After", func(t *testing.T) {
		w := w.in(t)
		for i := range 10 {
			if r := w.DoAs("POST", "/api/v1/reports", w.MemberA, reportBody(fmt.Sprintf("burst-%d", i))); r.Status != 201 {
				t.Fatalf("report %d: %d %s", i+1, r.Status, r.Body)
			}
		}
		r := w.DoAs("POST", "/api/v1/reports", w.MemberA, reportBody("burst-10"))
		if r.Status != 429 || r.ErrorCode() != "rate_limited" || r.Header.Get("Retry-After") != "30" {
			t.Errorf("the eleventh report = %d Retry-After %q %s, want 429 rate_limited with Retry-After 30", r.Status, r.Header.Get("Retry-After"), r.Body)
		}
		if n := filed(t, w.MemberA); n != 10 {
			t.Errorf("%d reports filed, want 10", n)
		}
	})

	t.Run("another member is not held back by the first one's limit", func(t *testing.T) {
		w := w.in(t)
		w.Expect(w.DoAs("POST", "/api/v1/reports", w.MemberB, reportBody("other-0")), 201)
	})

	t.Run("in the next minute the member files again", func(t *testing.T) {
		w := w.in(t)
		clk.Add(30 * time.Second)
		w.Expect(w.DoAs("POST", "/api/v1/reports", w.MemberA, reportBody("burst-11")), 201)
	})
}

func TestAReportFloodDoesNotDrainTheSecretariesConsents(t *testing.T) {
	clk := testenv.NewClock(time.Date(2026, 1, 26, 2, 0, 0, 0, time.UTC))
	w := newWorldWith(t, testenv.Options{Now: clk.Now, Configure: func(c *config.Config) {
		for _, kind := range []string{notify.KindReportReceived, notify.KindReportEscalated} {
			tpl := c.Notify.Templates[kind]
			tpl.ID = "tmpl-" + kind
			c.Notify.Templates[kind] = tpl
		}
		c.Report.PerMinute = 100 // the flood, not the limit, is under test here
		c.Notify.ReportCoalesce = 10 * time.Minute
	}})
	ctx := context.Background()
	memberA2 := w.Member(w.A, "刘芳", "information")
	consents := notify.NewConsents(w.App.DB.DB, 20)
	bank := func(p person, kind string, n int) {
		for range n {
			if err := consents.Add(ctx, p.ID, []string{"tmpl-" + kind}); err != nil {
				t.Fatal(err)
			}
		}
	}
	bank(w.SecA, notify.KindReportReceived, 20)
	bank(w.comSec, notify.KindReportEscalated, 20)
	left := func(t *testing.T, p person, kind string) int {
		t.Helper()
		counts, err := consents.Counts(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		return counts["tmpl-"+kind]
	}
	inbox := func(t *testing.T, p person, kind string) int64 {
		t.Helper()
		var n int64
		if err := w.App.DB.Table("notifications").Where("user_id = ? AND kind = ?", p.ID, kind).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	// secA checks the branch secretary's pushes, report consents left (of
	// 20) and reports in the inbox after the queued pushes went out.
	secA := func(t *testing.T, w *world, pushes, consentsLeft int, inboxed int64) {
		t.Helper()
		w.DeliverQueued(ctx)
		if got := w.Pushed(w.SecA); got != pushes {
			t.Errorf("the branch secretary got %d pushes, want %d", got, pushes)
		}
		if got := left(t, w.SecA, notify.KindReportReceived); got != consentsLeft {
			t.Errorf("%d consents left, want %d of 20", got, consentsLeft)
		}
		if got := inbox(t, w.SecA, notify.KindReportReceived); got != inboxed {
			t.Errorf("the inbox has %d reports, want %d", got, inboxed)
		}
	}
	var flood []reportJSON

	t.Run("25 reports from one member in a burst push once to the branch secretary and all reach the inbox", func(t *testing.T) {
		w := w.in(t)
		for range 25 {
			flood = append(flood, w.file(w.MemberA, "normal", "同一人连续上报"))
		}
		secA(t, w, 1, 19, 25)
	})

	t.Run("a report from another member of the branch is pushed at once", func(t *testing.T) {
		w := w.in(t)
		w.file(memberA2, "urgent", "另一名党员的上报")
		w.DeliverQueued(ctx)
		if got := w.Pushed(w.SecA); got != 2 {
			t.Errorf("the branch secretary got %d pushes, want 2", got)
		}
	})

	t.Run("escalations of the member's reports are never held back", func(t *testing.T) {
		w := w.in(t)
		for _, r := range flood[:3] {
			if _, err := w.App.Report.Escalate(ctx, r.ID, 0, 0, ""); err != nil {
				t.Fatal(err)
			}
		}
		w.DeliverQueued(ctx)
		if got := w.Pushed(w.comSec); got != 3 {
			t.Errorf("the committee secretary got %d pushes of 3 escalations, want 3", got)
		}
	})

	t.Run("once the interval has passed the member's next report is pushed, and the one after it is not", func(t *testing.T) {
		w := w.in(t)
		clk.Add(10*time.Minute + time.Second)
		w.file(w.MemberA, "normal", "十分钟后的上报")
		w.file(w.MemberA, "normal", "紧接着的上报")
		secA(t, w, 3, 17, 28)
	})
}
