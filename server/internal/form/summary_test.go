package form_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// TestTheSummaryCountsAnswersAndNamesWhoHasNotSubmitted sums up a day of a
// daily health form for the branch secretary and the root's.
func TestTheSummaryCountsAnswersAndNamesWhoHasNotSubmitted(t *testing.T) {
	w := newWorld(t)
	f := w.createForm(w.SecA, w.A, "daily", healthFields, nil)
	late := w.Member(w.A, "刘迟报", "publicity")
	w.Expect(w.submit(w.MemberA, f.ID, "s-1", map[string]any{"temp": 36.4, "travel": "否"}), http.StatusCreated)
	w.Expect(w.submit(w.SecA, f.ID, "s-2", map[string]any{"temp": 37.6, "travel": "是"}), http.StatusCreated)
	type summary struct {
		Day       string `json:"day"`
		Entries   int    `json:"entries"`
		Alerts    int    `json:"alerts"`
		Audience  int    `json:"audience"`
		Submitted int    `json:"submitted"`
		Fields    []struct {
			Key    string         `json:"key"`
			Counts map[string]int `json:"counts"`
			Min    *float64       `json:"min"`
			Max    *float64       `json:"max"`
			Mean   *float64       `json:"mean"`
		} `json:"fields"`
		Missing []struct {
			UserID int64  `json:"user_id"`
			Name   string `json:"name"`
		} `json:"missing"`
	}
	var s summary
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d/summary", f.ID), w.SecA, nil), http.StatusOK).JSON(t, &s)
	if s.Day != "2020-02-03" || s.Entries != 2 || s.Alerts != 1 || s.Audience != 3 || s.Submitted != 2 {
		t.Errorf("summary = %+v, want 2020-02-03: 2 entries, 1 alert, 2 of 3 submitted", s)
	}
	temp, travel := s.Fields[0], s.Fields[1]
	if temp.Min == nil || *temp.Min != 36.4 || *temp.Max != 37.6 || *temp.Mean != 37 {
		t.Errorf("temperature figures %+v, want 36.4..37.6, mean 37", temp)
	}
	if travel.Counts["是"] != 1 || travel.Counts["否"] != 1 {
		t.Errorf("travel counts %v, want one each", travel.Counts)
	}
	if len(s.Missing) != 1 || s.Missing[0].UserID != late.ID || s.Missing[0].Name != "刘迟报" {
		t.Errorf("missing %+v, want 刘迟报 alone", s.Missing)
	}
	t.Run("the root's secretary gets the figures without the names", func(t *testing.T) {
		w := w.In(t)
		var root summary
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d/summary", f.ID), w.RootSec, nil), http.StatusOK).JSON(t, &root)
		if root.Submitted != 2 || root.Missing != nil {
			t.Errorf("root summary %+v, want 2 submitted and no names", root)
		}
	})
	t.Run("another day has nothing yet", func(t *testing.T) {
		w := w.In(t)
		var other summary
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d/summary?day=2020-02-04", f.ID), w.SecA, nil), http.StatusOK).JSON(t, &other)
		if other.Entries != 0 || len(other.Missing) != 3 {
			t.Errorf("2020-02-04: %+v, want no entries and all 3 missing", other)
		}
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d/summary", f.ID), w.SecB, nil), http.StatusNotFound)
	})
}

// TestTheSummaryPagesItsOrgsAndKeepsItsFiguresWhole reads the root's
// summary of a form for the whole tree an org at a time: the pages list
// every org that submitted once, in org id order, and every page carries
// the whole form's figures.
func TestTheSummaryPagesItsOrgsAndKeepsItsFiguresWhole(t *testing.T) {
	w := newWorld(t)
	f := w.createForm(w.RootSec, w.Root, "daily", healthFields, map[string]any{"target": map[string]any{"include_suborgs": true}})
	w.Expect(w.submit(w.MemberA, f.ID, "p-1", map[string]any{"temp": 37.9, "travel": "否"}), http.StatusCreated)
	w.Expect(w.submit(w.MemberB, f.ID, "p-2", healthy), http.StatusCreated)
	w.Expect(w.submit(w.SecB, f.ID, "p-3", healthy), http.StatusCreated)
	w.Expect(w.submit(w.RootSec, f.ID, "p-4", healthy), http.StatusCreated)
	type page struct {
		Entries   int `json:"entries"`
		Alerts    int `json:"alerts"`
		Submitted int `json:"submitted"`
		Orgs      []struct {
			OrgID     int64 `json:"org_id"`
			Submitted int   `json:"submitted"`
		} `json:"orgs"`
		Next string `json:"orgs_next_cursor"`
	}
	got := map[int64]int{}
	var order []int64
	cursor, pages := "", 0
	for {
		var p page
		path := fmt.Sprintf("/api/v1/forms/%d/summary?limit=1&cursor=%s", f.ID, url.QueryEscape(cursor))
		w.Expect(w.DoAs("GET", path, w.RootSec, nil), http.StatusOK).JSON(t, &p)
		pages++
		if p.Entries != 4 || p.Alerts != 1 || p.Submitted != 4 || len(p.Orgs) > 1 {
			t.Errorf("page %d: %+v, want the whole form's 4 entries and 1 alert, and at most one org", pages, p)
		}
		for _, o := range p.Orgs {
			got[o.OrgID] += o.Submitted
			order = append(order, o.OrgID)
		}
		if p.Next == "" || pages > 5 {
			break
		}
		cursor = p.Next
	}
	want := map[int64]int{w.Root: 1, w.A: 1, w.B: 2}
	if fmt.Sprint(got) != fmt.Sprint(want) || !slices.IsSorted(order) || len(order) != 3 {
		t.Errorf("orgs over %d pages: %v in the order %v, want %v in org id order", pages, got, order, want)
	}
	var all page
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d/summary", f.ID), w.RootSec, nil), http.StatusOK).JSON(t, &all)
	if len(all.Orgs) != 3 || all.Next != "" {
		t.Errorf("the default page: %+v, want all three orgs and no next page", all)
	}
}
