package stats_test

import (
	"fmt"
	"net/url"
	"strconv"
	"testing"
	"time"

	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/stats"
)

func TestExportShowsUnconfirmedPushesApartFromSent(t *testing.T) {
	w := newWorld(t)
	p := w.period(w.loc, from, to)
	var taskID int64
	w.must(w.db.Raw(`SELECT t.id FROM tasks t JOIN assignments a ON a.task_id = t.id
		WHERE t.created_at >= ? AND t.created_at < ? GROUP BY t.id HAVING COUNT(*) >= 4 ORDER BY t.id LIMIT 1`, p.start, p.end).Scan(&taskID).Error)
	if taskID == 0 {
		t.Fatal("no task of the period with four assignees")
	}
	var users []int64
	w.must(w.db.Table("assignments").Where("task_id = ?", taskID).Order("user_id").Limit(4).Pluck("user_id", &users).Error)
	// Two pushes WeChat accepted, one whose worker died mid-send, one refused.
	for i, delivery := range []string{notify.DeliverySent, notify.DeliverySent, notify.DeliveryUnconfirmed, notify.DeliveryFailed} {
		w.must(w.db.Create(&notify.Notification{UserID: users[i], Kind: notify.KindTaskAssigned, Title: "新任务", Body: "任务",
			RefType: "task", RefID: taskID, DedupeKey: fmt.Sprintf("task_assigned:%d", taskID), Delivery: delivery,
			CreatedAt: time.Now().UTC()}).Error)
	}
	f := open(t, w.export(w.rootSec, w.seed.RootID, url.Values{"from": {from}, "to": {to}}))
	rows := sheetRows(t, f, stats.SheetTasks)
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, h := range []string{"微信已推送", "推送未确认", "推送失败"} {
		if _, ok := col[h]; !ok {
			t.Fatalf("the task sheet has no column %s: %v", h, rows[0])
		}
	}
	for _, row := range rows[1:] {
		if row[0] != strconv.FormatInt(taskID, 10) {
			continue
		}
		cell := func(h string) string {
			if col[h] < len(row) {
				return row[col[h]]
			}
			return ""
		}
		if cell("微信已推送") != "2" || cell("推送未确认") != "1" || cell("推送失败") != "1" {
			t.Errorf("task %d: pushed %q, unconfirmed %q, failed %q; want 2, 1 and 1",
				taskID, cell("微信已推送"), cell("推送未确认"), cell("推送失败"))
		}
		return
	}
	t.Fatalf("task %d is not in the task sheet", taskID)
}
