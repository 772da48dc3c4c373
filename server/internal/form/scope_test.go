package form_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"xianfeng/server/internal/testenv"
)

// TestASecretaryBelowTheFormsOrgSeesTheirOwnBranch: a daily form made by a
// district (Mid) for everything below it is seen by the secretary of branch
// A below it as by any secretary, but only for A's part — the entries, the
// summary (and who of A has not submitted) and the export hold A's members
// and nobody of B — while the secretary of a branch outside the district
// gets 404 on all of it, and only the district's secretaries may close it.
func TestASecretaryBelowTheFormsOrgSeesTheirOwnBranch(t *testing.T) {
	clock := testenv.NewClock(start)
	w := &world{World: testenv.NewRoot(t, testenv.Options{Now: clock.Now}), clock: clock}
	wide := w.GrowWide("市南区委", "committee", "孙区委", func(org int64, name string) testenv.Person {
		return w.Secretary(org, name, "publicity")
	})
	a1 := w.Member(w.A, "张一", "frontline")
	a2 := w.Member(w.A, "张二", "frontline")
	b1 := w.Member(w.B, "陈一", "frontline")
	f := w.createForm(wide.MidSec, wide.Mid, "daily", healthFields, map[string]any{"target": map[string]any{"include_suborgs": true}})
	w.Expect(w.submit(a1, f.ID, "a1", map[string]any{"temp": 36.4, "travel": "否"}), http.StatusCreated)
	w.Expect(w.submit(b1, f.ID, "b1", map[string]any{"temp": 38.2, "travel": "是"}), http.StatusCreated)
	w.Expect(w.submit(w.SecB, f.ID, "sb", map[string]any{"temp": 36.6, "travel": "否"}), http.StatusCreated)

	t.Run("the branch secretary reads the form but may not close it", func(t *testing.T) {
		w := w.In(t)
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d", f.ID), w.SecA, nil), http.StatusOK)
		w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/forms/%d/close", f.ID), w.SecA, nil), http.StatusNotFound)
	})
	t.Run("the branch secretary lists only their branch's entries", func(t *testing.T) {
		w := w.In(t)
		var page struct {
			Items []entryJSON `json:"items"`
		}
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d/entries", f.ID), w.SecA, nil), http.StatusOK).JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].OrgID != w.A {
			t.Errorf("SecA listed %+v, want a1's entry alone", page.Items)
		}
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d/entries?org_id=%d", f.ID, w.B), w.SecA, nil), http.StatusOK).JSON(t, &page)
		if len(page.Items) != 0 {
			t.Errorf("SecA asking for branch B's entries got %+v", page.Items)
		}
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d/entries", f.ID), wide.MidSec, nil), http.StatusOK).JSON(t, &page)
		if len(page.Items) != 3 {
			t.Errorf("the district's secretary listed %d entries, want 3", len(page.Items))
		}
	})
	t.Run("the branch secretary's summary is their branch's", func(t *testing.T) {
		w := w.In(t)
		var s struct {
			Entries   int `json:"entries"`
			Alerts    int `json:"alerts"`
			Audience  int `json:"audience"`
			Submitted int `json:"submitted"`
			Orgs      []struct {
				OrgID     int64 `json:"org_id"`
				Submitted int   `json:"submitted"`
			} `json:"orgs"`
			Missing []struct {
				UserID int64 `json:"user_id"`
			} `json:"missing"`
		}
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d/summary", f.ID), w.SecA, nil), http.StatusOK).JSON(t, &s)
		// A's audience: SecA, a1, a2; a1 submitted.
		if s.Entries != 1 || s.Alerts != 0 || s.Audience != 3 || s.Submitted != 1 {
			t.Errorf("SecA's summary %+v, want 1 entry, no alert, 1 of 3 submitted", s)
		}
		if len(s.Orgs) != 1 || s.Orgs[0].OrgID != w.A || s.Orgs[0].Submitted != 1 {
			t.Errorf("SecA's orgs %+v, want A with 1", s.Orgs)
		}
		missing := map[int64]bool{}
		for _, m := range s.Missing {
			missing[m.UserID] = true
		}
		if len(s.Missing) != 2 || !missing[a2.ID] || !missing[w.SecA.ID] {
			t.Errorf("SecA's missing %+v, want a2 and SecA", s.Missing)
		}
	})
	t.Run("the branch secretary exports their branch's rows", func(t *testing.T) {
		w := w.In(t)
		_, sheets := workbook(t, w.exportXLSX(w.SecA, f.ID, url.Values{}))
		rows := sheets["填报记录"]
		if len(rows) != 2 || rows[1][1] != "张一" {
			t.Errorf("SecA's export %v, want the header and 张一's row", rows)
		}
	})
	t.Run("a secretary outside the district gets 404 on all of it", func(t *testing.T) {
		w := w.In(t)
		for _, path := range []string{"", "/entries", "/summary", "/export.xlsx"} {
			w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d%s", f.ID, path), wide.SecC, nil), http.StatusNotFound)
		}
	})
}
