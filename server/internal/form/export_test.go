package form_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"xianfeng/server/internal/audit"
	"xianfeng/server/internal/form"
	"xianfeng/server/internal/testenv"
	"xianfeng/server/internal/xlsx"
)

// exportXLSX asks for the form's export as p.
func (w *world) exportXLSX(p testenv.Person, formID int64, q url.Values) testenv.Response {
	w.T().Helper()
	return w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d/export.xlsx?%s", formID, q.Encode()), p, nil)
}

// workbook reads the workbook of a 200 answer and returns each sheet's
// rows, header first, in the workbook's order.
func workbook(t *testing.T, r testenv.Response) (names []string, sheets map[string][][]string) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("GET export.xlsx: %d %.300s", r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != xlsx.ContentType {
		t.Errorf("Content-Type = %q, want %q", ct, xlsx.ContentType)
	}
	f, err := excelize.OpenReader(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("the export is not a workbook excelize can open: %v", err)
	}
	defer func() { _ = f.Close() }()
	sheets = map[string][][]string{}
	for _, name := range f.GetSheetList() {
		rows, err := f.GetRows(name)
		if err != nil {
			t.Fatalf("sheet %s: %v", name, err)
		}
		sheets[name] = rows
	}
	return f.GetSheetList(), sheets
}

// TestTheExportListsEachEntryAsSecretariesSeeItWithNumbersMasked: a daily
// form at the root with ID and phone numbers, filled on two days by members
// of both branches (one entry corrected): the export holds today's entries
// by default, one row per entry in its latest version with its correction
// counted, the numbers masked even for a secretary who may see them whole;
// a range continues on a second sheet when the first is full; a sibling
// branch's secretary gets 404; each export is audited.
func TestTheExportListsEachEntryAsSecretariesSeeItWithNumbersMasked(t *testing.T) {
	w := newWorld(t) // 09:00 on 2020-02-03 in Shanghai
	f := w.createForm(w.RootSec, w.Root, "daily", []map[string]any{
		{"key": "id_no", "label": "身份证号", "type": "id_card", "required": true},
		{"key": "phone", "label": "联系电话", "type": "phone", "required": true},
		{"key": "temp", "label": "体温", "type": "temperature", "required": true, "alert": map[string]any{"op": "gte", "value": 37.3}},
		{"key": "symptoms", "label": "症状", "type": "multi", "options": []string{"发热", "咳嗽", "乏力"}},
	}, map[string]any{"due_at": "10:00", "target": map[string]any{"include_suborgs": true}})
	const idA, phoneA = "11010519491231002X", "13912345678"
	answers := func(temp float64) map[string]any {
		return map[string]any{"id_no": idA, "phone": phoneA, "temp": temp, "symptoms": []string{"发热", "咳嗽"}}
	}
	// 2020-02-03: MemberA and MemberB.
	w.Expect(w.submit(w.MemberA, f.ID, "d1-a", answers(36.6)), http.StatusCreated)
	w.Expect(w.submit(w.MemberB, f.ID, "d1-b", answers(36.4)), http.StatusCreated)
	// 2020-02-04: MemberA with a fever, corrected once; MemberB; SecA.
	w.clock.Add(24 * time.Hour)
	var fever entryJSON
	w.Expect(w.submit(w.MemberA, f.ID, "d2-a", answers(38.2)), http.StatusCreated).JSON(t, &fever)
	w.Expect(w.DoAs("PUT", fmt.Sprintf("/api/v1/forms/%d/entries/%d", f.ID, fever.ID), w.MemberA,
		map[string]any{"answers": answers(38.4)}), http.StatusOK)
	w.Expect(w.submit(w.MemberB, f.ID, "d2-b", answers(36.5)), http.StatusCreated)
	w.Expect(w.submit(w.SecA, f.ID, "d2-s", answers(36.7)), http.StatusCreated)

	header := append(append(slices.Clone(form.EntryHeaders), "身份证号", "联系电话", "体温（℃）", "症状"), form.TailHeaders...)
	col := func(name string) int { return slices.Index(header, name) }

	t.Run("by default it holds today's entries, masked, the correction counted", func(t *testing.T) {
		w := w.In(t)
		r := w.exportXLSX(w.RootSec, f.ID, nil)
		if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, url.PathEscape("填报_")) || !strings.Contains(cd, "2020-02-04.xlsx") {
			t.Errorf("Content-Disposition = %q, want a file named 填报_…_2020-02-04.xlsx", cd)
		}
		names, sheets := workbook(t, r)
		if !slices.Equal(names, []string{form.SheetEntries}) {
			t.Fatalf("sheets = %v, want only %s", names, form.SheetEntries)
		}
		rows := sheets[form.SheetEntries]
		if len(rows) != 4 || !slices.Equal(rows[0], header) {
			t.Fatalf("rows = %q, want the header %q and today's three entries", rows, header)
		}
		a := rows[1]
		want := map[string]string{"组织": "第一党支部", "姓名": "张小明", "身份": "战斗员", "日期": "2020-02-04", "提交时间": "2020-02-04 09:00:00",
			"身份证号": "1101**********002X", "联系电话": "139****5678", "体温（℃）": "38.4", "症状": "发热、咳嗽", "预警": "是", "更正次数": "1"}
		for k, v := range want {
			if got := a[col(k)]; got != v {
				t.Errorf("MemberA's row: %s = %q, want %q (row %q)", k, got, v, a)
			}
		}
		if b := rows[2]; b[col("姓名")] != "陈晓东" || b[col("组织")] != "第二党支部" || b[col("预警")] != "" || b[col("更正次数")] != "0" {
			t.Errorf("MemberB's row = %q, want 陈晓东 of 第二党支部, no alert, not corrected", b)
		}
		for _, row := range rows[1:] {
			for _, v := range row {
				if strings.Contains(v, idA) || strings.Contains(v, "12345678") {
					t.Errorf("a cell shows a number whole: %q", row)
				}
			}
		}
	})
	t.Run("the branch's own secretary gets the numbers masked too", func(t *testing.T) {
		w := w.In(t)
		fa := w.createForm(w.SecA, w.A, "once", []map[string]any{{"key": "id_no", "label": "身份证号", "type": "id_card"}}, nil)
		w.Expect(w.submit(w.MemberA, fa.ID, "o-1", map[string]any{"id_no": idA}), http.StatusCreated)
		_, sheets := workbook(t, w.exportXLSX(w.SecA, fa.ID, nil))
		if rows := sheets[form.SheetEntries]; len(rows) != 2 || rows[1][len(form.EntryHeaders)] != "1101**********002X" {
			t.Errorf("rows = %q, want MemberA's entry with the ID number masked", rows)
		}
	})
	t.Run("a range passes a full sheet on to the next", func(t *testing.T) {
		w := w.In(t)
		defer form.SetMaxSheetRows(3)()
		names, sheets := workbook(t, w.exportXLSX(w.RootSec, f.ID, url.Values{"from": {"2020-02-01"}, "to": {"2020-02-04"}}))
		second := form.SheetEntries + " (2)"
		if !slices.Equal(names, []string{form.SheetEntries, second, form.SheetEntries + " (3)"}) {
			t.Fatalf("sheets = %v, want five entries on three sheets of two", names)
		}
		var days, people []string
		for _, name := range names {
			rows := sheets[name]
			if len(rows) > 3 || !slices.Equal(rows[0], header) {
				t.Errorf("sheet %s: %d rows starting %q, want at most two under the header", name, len(rows), rows[0])
			}
			for _, row := range rows[1:] {
				days, people = append(days, row[col("日期")]), append(people, row[col("姓名")])
			}
		}
		wantDays := []string{"2020-02-03", "2020-02-03", "2020-02-04", "2020-02-04", "2020-02-04"}
		if !slices.Equal(days, wantDays) || !slices.Equal(people, []string{"张小明", "陈晓东", "张小明", "陈晓东", "李红梅"}) {
			t.Errorf("rows over the sheets: days %v, names %v; want each entry once, day by day", days, people)
		}
	})
	t.Run("a sibling branch's secretary and a member get 404, a bad range 400", func(t *testing.T) {
		w := w.In(t)
		fa := w.createForm(w.SecA, w.A, "once", healthFields, nil)
		for _, p := range []testenv.Person{w.SecB, w.MemberA} {
			if r := w.exportXLSX(p, fa.ID, nil); r.Status != http.StatusNotFound {
				t.Errorf("export of A's form by %s: %d, want 404", p.Name, r.Status)
			}
		}
		for _, q := range []url.Values{{"from": {"2020-02-05"}, "to": {"2020-02-04"}}, {"from": {"2/4/2020"}}, {"from": {"2019-01-01"}, "to": {"2020-02-04"}}} {
			if r := w.exportXLSX(w.RootSec, f.ID, q); r.Status != http.StatusBadRequest {
				t.Errorf("export with %v: %d, want 400", q, r.Status)
			}
		}
	})
	t.Run("each export is written to the audit trail", func(t *testing.T) {
		w := w.In(t)
		var page struct {
			Items []struct {
				Action  string         `json:"action"`
				ActorID int64          `json:"actor_id"`
				Detail  map[string]any `json:"detail"`
			} `json:"items"`
		}
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/audit", w.Root), w.RootSec, nil), http.StatusOK).JSON(t, &page)
		var exports []map[string]any
		for _, it := range page.Items {
			if it.Action == audit.ActionFormExport && it.ActorID == w.RootSec.ID {
				exports = append(exports, it.Detail)
			}
		}
		// Newest first: the range, then today.
		if len(exports) != 2 || exports[0]["from"] != "2020-02-01" || exports[0]["to"] != "2020-02-04" || exports[0]["rows"] != float64(5) ||
			exports[1]["from"] != "2020-02-04" || exports[1]["rows"] != float64(3) || exports[1]["form_id"] != float64(f.ID) {
			t.Errorf("the root's audit trail shows the exports %v, want the two made (today's 3 rows, the range's 5)", exports)
		}
	})
}
