package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/testenv"
)

// roomy lifts the per-user and per-IP rate limits, for tests that send one
// user's requests by the hundred and are about what comes after the limiter.
func roomy(c *config.Config) {
	c.Report.PerMinute = 1 << 20
	c.Org.SignupPerMinute = 1 << 20
	c.Badge.VerifyPerMinute = 1 << 20
}

// world is the Tree with something of every kind in branch A: a task
// assigned to MemberA, a report MemberA filed, a deed SecA nominated for
// MemberA, an announcement SecA posted, and MemberA's daily check-in.
type world struct {
	*testenv.World
	Task, Report, Deed, Announcement, Notification int64
	// Form is a daily health form of branch A that MemberA filled today
	// (Entry).
	Form, Entry int64
}

// newWorld builds the world over HTTP.
func newWorld(t testing.TB, opts testenv.Options) *world {
	t.Helper()
	w := &world{World: testenv.NewWorld(t, opts)}
	env := w.Env
	var out struct {
		ID int64 `json:"id"`
	}
	due := time.Now().UTC().Add(48 * time.Hour).Format(time.RFC3339)
	env.Expect(env.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/tasks", w.A), w.SecA, map[string]any{
		"title": "卡口值守", "kind": "duty", "description": "请按时到岗", "due_at": due, "request_id": "world-task",
	}), http.StatusCreated).JSON(t, &out)
	w.Task = out.ID
	if err := env.App.Task.FanOut(context.Background(), w.Task); err != nil {
		t.Fatalf("fan-out of task %d: %v", w.Task, err)
	}
	env.Expect(env.DoAs("POST", "/api/v1/reports", w.MemberA, map[string]any{
		"org_id": w.A, "category": "help_needed", "urgency": "normal", "content": "小区有老人需要送药", "address": "青岛市市南区", "request_id": "world-report",
	}), http.StatusCreated).JSON(t, &out)
	w.Report = out.ID
	env.Expect(env.DoAs("POST", "/api/v1/deeds", w.SecA, map[string]any{
		"title": "连续值守七天", "content": "张小明同志在卡口连续值守七天", "user_id": w.MemberA.ID, "report_ids": []int64{w.Report},
	}), http.StatusCreated).JSON(t, &out)
	w.Deed = out.ID
	env.Expect(env.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/announcements", w.A), w.SecA, map[string]any{
		"title": "关于做好防控工作的通知", "body": "请各位党员做好防护",
	}), http.StatusCreated).JSON(t, &out)
	w.Announcement = out.ID
	env.Expect(env.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/forms", w.A), w.SecA, map[string]any{
		"title": "每日健康打卡", "mode": "daily", "fields": []map[string]any{{"key": "temp", "label": "体温", "type": "temperature", "required": true}},
	}), http.StatusCreated).JSON(t, &out)
	w.Form = out.ID
	env.Expect(env.DoAs("POST", fmt.Sprintf("/api/v1/forms/%d/entries", w.Form), w.MemberA, map[string]any{
		"request_id": "world-entry", "answers": map[string]any{"temp": 36.5},
	}), http.StatusCreated).JSON(t, &out)
	w.Entry = out.ID
	env.Expect(env.DoAs("POST", "/api/v1/checkins", w.MemberA, map[string]any{"org_id": w.A, "request_id": "world-checkin"}), http.StatusCreated)
	var inbox struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	env.Expect(env.DoAs("GET", "/api/v1/me/notifications", w.MemberA, nil), http.StatusOK).JSON(t, &inbox)
	if len(inbox.Items) == 0 {
		t.Fatal("MemberA has no notification")
	}
	w.Notification = inbox.Items[0].ID
	return w
}

// in returns the world for a subtest, so that its helpers fail the subtest.
func (w *world) in(t testing.TB) *world {
	c := *w
	c.World = w.World.In(t)
	return &c
}
