package form_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"xianfeng/server/internal/form"
	"xianfeng/server/internal/testenv"
)

// summedFields have every kind of field the totals sum up.
var summedFields = []map[string]any{
	{"key": "temp", "label": "体温", "type": "temperature", "required": true, "alert": map[string]any{"op": "gte", "value": 37.3}},
	{"key": "sym", "label": "症状", "type": "multi", "options": []string{"咳嗽", "发热", "乏力"}},
	{"key": "where", "label": "去向", "type": "choice", "options": []string{"在家", "外出"}},
	{"key": "visits", "label": "走访户数", "type": "number", "min": 0, "max": 1000},
	{"key": "note", "label": "备注", "type": "text"},
}

// TestTheSummaryFromTotalsIsTheSummaryOfTheEntries fills a daily form and
// an entries form at the root (both branches, two days, every kind of
// field summed, corrections that move the least and greatest temperature
// and drop an option) and holds the summary read from the running totals
// to the one summed from every entry, for the root's secretary, a branch's
// secretary, each day and all days.
func TestTheSummaryFromTotalsIsTheSummaryOfTheEntries(t *testing.T) {
	w := newWorld(t)
	fields := summedFields
	inc := map[string]any{"target": map[string]any{"include_suborgs": true}, "due_at": "23:00"}
	daily := w.createForm(w.RootSec, w.Root, "daily", fields, inc)
	many := w.createForm(w.RootSec, w.Root, "entries", fields, map[string]any{"target": map[string]any{"include_suborgs": true}})
	people := []testenv.Person{w.MemberA, w.SecA, w.MemberB, w.SecB,
		w.Member(w.A, "张三", "frontline"), w.Member(w.B, "李四", "publicity"), w.Member(w.A, "王五", "information")}
	temps := []float64{36.5, 37.8, 36.1, 36.9, 38.4, 35.9, 36.6}
	var corrections []struct {
		p  testenv.Person
		id int64
	}
	for day := 0; day < 2; day++ {
		for i, p := range people {
			if (i+day)%3 == 2 {
				continue // some do not submit
			}
			answers := map[string]any{"temp": temps[(i+day)%len(temps)], "visits": i * 3}
			if i%2 == 0 {
				answers["sym"] = []string{"咳嗽", "乏力"}[:1+(i+day)%2]
			}
			if i%3 != 1 {
				answers["where"] = []string{"在家", "外出"}[(i+day)%2]
			}
			for _, f := range []int64{daily.ID, many.ID} {
				var e entryJSON
				w.Expect(w.submit(p, f, fmt.Sprintf("%d-%d-%d", f, day, i), answers), http.StatusCreated).JSON(t, &e)
				if f == daily.ID && day == 1 && i < 3 {
					corrections = append(corrections, struct {
						p  testenv.Person
						id int64
					}{p, e.ID})
				}
			}
			if day == 0 && i%2 == 1 {
				// A second entry of the entries form.
				w.Expect(w.submit(p, many.ID, fmt.Sprintf("extra-%d", i), map[string]any{"temp": 36.2, "where": "外出"}), http.StatusCreated)
			}
		}
		w.clock.Add(24 * time.Hour)
	}
	// Today is 2020-02-05: corrections are of yesterday's entries, past
	// their due; go back to 2020-02-04 before its due time.
	w.clock.Set(time.Date(2020, 2, 4, 5, 0, 0, 0, time.UTC))
	for i, c := range corrections {
		// The hottest and the coldest are corrected, an option dropped.
		answers := map[string]any{"temp": 36.7 + float64(i)/10}
		w.Expect(w.DoAs("PUT", fmt.Sprintf("/api/v1/forms/%d/entries/%d", daily.ID, c.id), c.p, map[string]any{"answers": answers}), http.StatusOK)
	}
	ctx := context.Background()
	for _, c := range []struct {
		who  testenv.Person
		form int64
		day  string
	}{
		{w.RootSec, daily.ID, "2020-02-03"}, {w.RootSec, daily.ID, "2020-02-04"}, {w.RootSec, daily.ID, "2020-02-05"},
		{w.SecA, daily.ID, "2020-02-04"}, {w.SecB, daily.ID, "2020-02-03"},
		{w.RootSec, many.ID, ""}, {w.RootSec, many.ID, "2020-02-03"}, {w.SecA, many.ID, ""}, {w.SecB, many.ID, "2020-02-04"},
	} {
		t.Run(fmt.Sprintf("%s on form %d day %q", c.who.Name, c.form, c.day), func(t *testing.T) {
			want, err := w.App.Form.SummarizeEntries(ctx, c.who.ID, c.form, c.day)
			if err != nil {
				t.Fatal(err)
			}
			got, err := w.App.Form.Summarize(ctx, c.who.ID, c.form, c.day)
			if err != nil {
				t.Fatal(err)
			}
			if want.Entries == 0 && c.day != "2020-02-05" {
				t.Fatalf("the data set has no entries here: %+v", want)
			}
			wj, _ := json.Marshal(want)
			gj, _ := json.Marshal(got)
			if string(wj) != string(gj) {
				t.Errorf("from the totals:\n%s\nfrom the entries:\n%s", gj, wj)
			}
		})
	}
}

// TestEntryTotalsAreTheRowsASubmissionAdds holds what EntryTotals says an
// entry adds to form_totals (for bulk loads that write the totals
// themselves) to the rows the fold of that entry's submission wrote, one
// entry per org and day so that each row is that entry's alone.
func TestEntryTotalsAreTheRowsASubmissionAdds(t *testing.T) {
	w := newWorld(t)
	fields := summedFields
	f := w.createForm(w.RootSec, w.Root, "daily", fields, map[string]any{"target": map[string]any{"include_suborgs": true}})
	for i, c := range []struct {
		p       testenv.Person
		answers map[string]any
	}{
		{w.MemberA, map[string]any{"temp": 37.8, "sym": []string{"咳嗽", "发热"}, "where": "外出", "visits": 3, "note": "无"}},
		{w.MemberB, map[string]any{"temp": 36.4}},
	} {
		var e entryJSON
		w.Expect(w.submit(c.p, f.ID, fmt.Sprintf("r%d", i), c.answers), http.StatusCreated).JSON(t, &e)
		var stored struct {
			Answers string
			Alert   bool
		}
		if err := w.App.DB.Table("form_entries").Select("answers, alert").Where("id = ?", e.ID).Scan(&stored).Error; err != nil {
			t.Fatal(err)
		}
		var fm struct{ Fields string }
		if err := w.App.DB.Table("forms").Select("fields").Where("id = ?", f.ID).Scan(&fm).Error; err != nil {
			t.Fatal(err)
		}
		var fs []form.Field
		if err := json.Unmarshal([]byte(fm.Fields), &fs); err != nil {
			t.Fatal(err)
		}
		want, err := form.EntryTotals(fs, stored.Answers, stored.Alert)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.App.Form.Fold(context.Background(), f.ID); err != nil {
			t.Fatal(err)
		}
		var got []form.TotalRow
		if err := w.App.DB.Table("form_totals").Select("field_key, choice, n, alerts, total, lo, hi").
			Where("form_id = ? AND day = ? AND org_id = ?", f.ID, e.Day, e.OrgID).Scan(&got).Error; err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(got, func(a, b form.TotalRow) int {
			return cmp.Or(strings.Compare(a.FieldKey, b.FieldKey), strings.Compare(a.Choice, b.Choice))
		})
		wj, _ := json.Marshal(want)
		gj, _ := json.Marshal(got)
		if len(want) < 2 || string(wj) != string(gj) {
			t.Errorf("entry %d (%v): EntryTotals says\n%s\nthe submission wrote\n%s", i, c.answers, wj, gj)
		}
	}
}
