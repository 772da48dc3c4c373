package stats_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"xianfeng/server/internal/stats"
	"xianfeng/server/internal/testenv"
	"xianfeng/server/internal/user"
	"xianfeng/server/internal/xlsx"
)

func (w *world) export(token string, orgID int64, q url.Values) testenv.Response {
	w.t.Helper()
	return w.env.Do(http.MethodGet, fmt.Sprintf("/api/v1/orgs/%d/export.xlsx?%s", orgID, q.Encode()), token, nil)
}

// open reads the workbook of a 200 answer, failing the test otherwise.
func open(t *testing.T, r testenv.Response) *excelize.File {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("GET export.xlsx: %d %.300s", r.Status, r.Body)
	}
	f, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("the export is not a workbook excelize can open: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// sheetRows returns the rows of a sheet, the header row first.
func sheetRows(t *testing.T, f *excelize.File, sheet string) [][]string {
	t.Helper()
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatalf("sheet %s: %v", sheet, err)
	}
	return rows
}

// expectedRows recounts the data rows each sheet should hold for the subtree of root.
func (w *world) expectedRows(p period, root int64) map[string]int {
	w.t.Helper()
	orgs := w.subtree(root)
	count := func(q string, args ...any) int {
		var n int64
		w.must(w.db.Raw(q, args...).Scan(&n).Error)
		return int(n)
	}
	return map[string]int{
		stats.SheetOrgs:    len(orgs),
		stats.SheetMembers: count("SELECT COUNT(*) FROM memberships WHERE org_id IN ?", orgs),
		stats.SheetTasks: count(`SELECT COUNT(DISTINCT tasks.id) FROM tasks JOIN assignments ON assignments.task_id = tasks.id
			WHERE assignments.org_id IN ? AND tasks.created_at >= ? AND tasks.created_at < ?`, orgs, p.start, p.end),
		stats.SheetForms: count(`SELECT COUNT(*) FROM forms WHERE id IN (SELECT form_id FROM form_entries WHERE org_id IN ? AND day >= ? AND day <= ?)
			OR id IN (SELECT form_id FROM form_misses WHERE org_id IN ? AND day >= ? AND day <= ?)`, orgs, p.from, p.to, orgs, p.from, p.to),
		stats.SheetReports: count("SELECT COUNT(*) FROM reports WHERE org_id IN ? AND created_at >= ? AND created_at < ?", orgs, p.start, p.end),
		stats.SheetDeeds: count(`SELECT COUNT(*) FROM deeds WHERE org_id IN ?
			AND ((created_at >= ? AND created_at < ?) OR (updated_at >= ? AND updated_at < ?))`, orgs, p.start, p.end, p.start, p.end),
	}
}

func TestExportWorkbook(t *testing.T) {
	w := newWorld(t)
	p := w.period(w.loc, from, to)
	headers := map[string][]string{
		stats.SheetOrgs: stats.OrgHeaders, stats.SheetMembers: stats.MemberHeaders, stats.SheetTasks: stats.TaskHeaders,
		stats.SheetReports: stats.ReportHeaders, stats.SheetDeeds: stats.DeedHeaders, stats.SheetForms: stats.FormHeaders,
	}
	for _, tt := range []struct {
		name string
		org  int64
	}{
		{"the root's workbook holds the whole tree", w.seed.RootID},
		{"a committee's workbook holds its subtree only", w.committees[0]},
		{"a branch's workbook holds the branch", w.seed.LeafID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := w.in(t)
			r := w.export(w.rootSec, tt.org, url.Values{"from": {from}, "to": {to}})
			if ct := r.Header.Get("Content-Type"); ct != xlsx.ContentType {
				t.Errorf("Content-Type = %q, want %q", ct, xlsx.ContentType)
			}
			if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") ||
				!strings.Contains(cd, "filename*=UTF-8''"+url.PathEscape("考核数据_")) || !strings.Contains(cd, from+"_"+to+".xlsx") {
				t.Errorf("Content-Disposition = %q, want an attachment named 考核数据_…_%s_%s.xlsx", cd, from, to)
			}
			f := open(t, r)
			want := []string{stats.SheetOrgs, stats.SheetMembers, stats.SheetTasks, stats.SheetReports, stats.SheetDeeds, stats.SheetForms}
			if got := f.GetSheetList(); !slices.Equal(got, want) {
				t.Fatalf("sheets = %v, want %v", got, want)
			}
			counts := w.expectedRows(p, tt.org)
			for _, sheet := range want {
				rows := sheetRows(t, f, sheet)
				if len(rows) == 0 || !slices.Equal(rows[0], headers[sheet]) {
					t.Errorf("sheet %s: header = %v, want %v", sheet, rows[0:min(1, len(rows))], headers[sheet])
					continue
				}
				if len(rows)-1 != counts[sheet] {
					t.Errorf("sheet %s: %d rows, want %d", sheet, len(rows)-1, counts[sheet])
				}
			}

			// The task columns add up to the org's statistics.
			var st statsJSON
			w.stats(w.rootSec, tt.org, url.Values{"from": {from}, "to": {to}}).JSON(t, &st)
			var sum tasksJSON
			for _, row := range sheetRows(t, f, stats.SheetTasks)[1:] {
				n := func(i int) int64 { v, _ := strconv.ParseInt(row[i], 10, 64); return v }
				sum.Assigned, sum.Accepted, sum.DoneOnTime, sum.Overdue, sum.Declined =
					sum.Assigned+n(7), sum.Accepted+n(8), sum.DoneOnTime+n(9), sum.Overdue+n(10), sum.Declined+n(11)
			}
			if sum != st.Org.Tasks {
				t.Errorf("task sheet adds up to %+v, the statistics say %+v", sum, st.Org.Tasks)
			}
			// So do the form columns.
			var forms formsJSON
			for _, row := range sheetRows(t, f, stats.SheetForms)[1:] {
				n := func(i int) int64 { v, _ := strconv.ParseInt(row[i], 10, 64); return v }
				forms.Entries, forms.Missed = forms.Entries+n(6), forms.Missed+n(7)
			}
			if forms != st.Org.Forms {
				t.Errorf("form sheet adds up to %+v, the statistics say %+v", forms, st.Org.Forms)
			}

			// Phone numbers are masked: every member's masked number is there, no full one.
			var phones []string
			w.must(w.db.Raw(`SELECT u.phone FROM users u JOIN memberships m ON m.user_id = u.id WHERE m.org_id IN ?`, w.subtree(tt.org)).Scan(&phones).Error)
			var shown []string
			for _, row := range sheetRows(t, f, stats.SheetMembers)[1:] {
				shown = append(shown, row[5])
			}
			for _, ph := range phones {
				if !slices.Contains(shown, user.MaskPhone(ph)) {
					t.Errorf("masked phone %s missing from the member sheet", user.MaskPhone(ph))
				}
				if bytes.Contains(r.Body, []byte(ph)) {
					t.Errorf("the workbook holds the full phone number %s", ph)
				}
			}
		})
	}
}

func TestExportIsAudited(t *testing.T) {
	w := newWorld(t)
	type entry struct {
		OrgID   int64
		ActorID int64
		Detail  string
	}
	entries := func() []entry {
		var es []entry
		w.must(w.db.Table("audit_logs").Where("action = ?", stats.ActionExport).Order("id").Scan(&es).Error)
		return es
	}
	open(t, w.export(w.rootSec, w.committees[0], url.Values{"from": {from}, "to": {to}}))
	if r := w.export(w.leafSec, w.seed.RootID, url.Values{"from": {from}, "to": {to}}); r.Status != http.StatusNotFound {
		t.Errorf("export of the root by the leaf secretary: %d, want 404", r.Status)
	}
	if r := w.export(w.stranger, w.seed.LeafID, nil); r.Status != http.StatusNotFound {
		t.Errorf("export by a stranger: %d, want 404", r.Status)
	}
	if r := w.export(w.rootSec, w.seed.RootID, url.Values{"from": {"2020-02-06"}, "to": {to}}); r.Status != http.StatusBadRequest {
		t.Errorf("export with from after to: %d, want 400", r.Status)
	}
	es := entries()
	if len(es) != 1 {
		t.Fatalf("audit entries for exports = %+v, want exactly the one export that was made", es)
	}
	var detail map[string]any
	if err := json.Unmarshal([]byte(es[0].Detail), &detail); err != nil {
		t.Fatalf("audit detail %q: %v", es[0].Detail, err)
	}
	if es[0].OrgID != w.committees[0] || es[0].ActorID != w.seed.RootSecretaryUserID || detail["from"] != from || detail["to"] != to {
		t.Errorf("audit entry = %+v (detail %v), want org %d, actor %d, from %s to %s", es[0], detail, w.committees[0], w.seed.RootSecretaryUserID, from, to)
	}
	// The trail shows it to the secretaries, as any other action.
	var page struct {
		Items []struct {
			Action string `json:"action"`
		} `json:"items"`
	}
	w.env.Do(http.MethodGet, fmt.Sprintf("/api/v1/orgs/%d/audit", w.committees[0]), w.rootSec, nil).JSON(t, &page)
	if len(page.Items) == 0 || page.Items[0].Action != stats.ActionExport {
		t.Errorf("the org's audit trail = %+v, want the export first", page.Items)
	}
}

func TestExportContinuesOnANewSheetWhenOneIsFull(t *testing.T) {
	w := newWorld(t)
	defer stats.SetMaxSheetRows(7)()
	f := open(t, w.export(w.rootSec, w.seed.RootID, url.Values{"from": {from}, "to": {to}}))
	want := w.expectedRows(w.period(w.loc, from, to), w.seed.RootID)[stats.SheetMembers]
	got, parts := 0, 0
	for _, sheet := range f.GetSheetList() {
		if sheet != stats.SheetMembers && !strings.HasPrefix(sheet, stats.SheetMembers+" (") {
			continue
		}
		parts++
		rows := sheetRows(t, f, sheet)
		if len(rows) > 7 || !slices.Equal(rows[0], stats.MemberHeaders) {
			t.Errorf("sheet %s: %d rows starting %v, want at most 7 under the header", sheet, len(rows), rows[0])
		}
		got += len(rows) - 1
	}
	if got != want || parts != (want+5)/6 {
		t.Errorf("members over %d sheets: %d rows, want %d rows on %d sheets", parts, got, want, (want+5)/6)
	}
}
