package form_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"xianfeng/server/internal/testenv"
)

// world is the small tree on a clock the test moves, standing at 09:00 in
// Shanghai on 2020-02-03.
type world struct {
	*testenv.World
	clock *testenv.Clock
}

var start = time.Date(2020, 2, 3, 1, 0, 0, 0, time.UTC)

func newWorld(t *testing.T) *world {
	t.Helper()
	clock := testenv.NewClock(start)
	return &world{World: testenv.NewWorld(t, testenv.Options{Now: clock.Now}), clock: clock}
}

type formJSON struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
	Mode   string `json:"mode"`
}

type entryJSON struct {
	ID       int64          `json:"id"`
	Day      string         `json:"day"`
	OrgID    int64          `json:"org_id"`
	Answers  map[string]any `json:"answers"`
	Alert    bool           `json:"alert"`
	ReportID *int64         `json:"report_id"`
}

// healthFields is a daily health report: temperature (alert at 37.3),
// whether they travelled (alert on 是), and a note.
var healthFields = []map[string]any{
	{"key": "temp", "label": "体温", "type": "temperature", "required": true, "alert": map[string]any{"op": "gte", "value": 37.3}},
	{"key": "travel", "label": "近14天是否去过中高风险地区", "type": "choice", "required": true, "options": []string{"是", "否"},
		"alert": map[string]any{"op": "in", "value": []string{"是"}}},
	{"key": "note", "label": "备注", "type": "text"},
}

// createForm has by publish a form for org with the mode and fields.
func (w *world) createForm(by testenv.Person, org int64, mode string, fields []map[string]any, extra map[string]any) formJSON {
	w.T().Helper()
	body := map[string]any{"title": "每日健康打卡", "mode": mode, "fields": fields}
	for k, v := range extra {
		body[k] = v
	}
	var f formJSON
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/forms", org), by, body), http.StatusCreated).JSON(w.T(), &f)
	return f
}

// submit sends answers to the form as p.
func (w *world) submit(p testenv.Person, form int64, rid string, answers map[string]any) testenv.Response {
	w.T().Helper()
	return w.DoAs("POST", fmt.Sprintf("/api/v1/forms/%d/entries", form), p, map[string]any{"request_id": rid, "answers": answers})
}

var healthy = map[string]any{"temp": 36.5, "travel": "否"}

// In returns a copy of the world whose helpers fail t, for a subtest.
func (w *world) In(t testing.TB) *world { return &world{World: w.World.In(t), clock: w.clock} }

// notified counts the notifications of kind that userID got about the form.
func (w *world) notified(kind string, userID, formID int64) int64 {
	w.T().Helper()
	var n int64
	w.Must(w.App.DB.Table("notifications").Where("kind = ? AND user_id = ? AND ref_id = ?", kind, userID, formID).Count(&n).Error)
	return n
}
