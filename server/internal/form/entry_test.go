package form_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestASecretaryPublishesAFormAndItsMembersSeeIt covers create, list, get
// and the members' list, with scope.
func TestASecretaryPublishesAFormAndItsMembersSeeIt(t *testing.T) {
	w := newWorld(t)
	f := w.createForm(w.SecA, w.A, "daily", healthFields, map[string]any{"due_at": "10:00", "request_id": "form-1"})
	if f.Status != "open" || f.Mode != "daily" {
		t.Fatalf("created %+v, want an open daily form", f)
	}
	t.Run("the same request_id returns the first form", func(t *testing.T) {
		again := w.In(t).createForm(w.SecA, w.A, "daily", healthFields, map[string]any{"due_at": "10:00", "request_id": "form-1"})
		if again.ID != f.ID {
			t.Errorf("got form %d, want %d", again.ID, f.ID)
		}
	})
	t.Run("a bad definition names each bad item", func(t *testing.T) {
		w := w.In(t)
		r := w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/forms", w.A), w.SecA, map[string]any{"title": "x", "mode": "weekly",
			"fields": []map[string]any{{"key": "Temp", "label": "体温", "type": "temperature"}, {"key": "c", "label": "选", "type": "choice"}}})
		for _, k := range []string{"mode", "fields[0].key", "fields[1].options"} {
			if !r.Invalid(t, k) {
				t.Errorf("%s not named: %d %s", k, r.Status, r.Body)
			}
		}
	})
	t.Run("a plain member cannot publish", func(t *testing.T) {
		w := w.In(t)
		w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/forms", w.A), w.MemberA, map[string]any{"title": "x", "mode": "once", "fields": healthFields}), http.StatusNotFound)
	})
	t.Run("the secretary lists and reads it", func(t *testing.T) {
		w := w.In(t)
		var page struct {
			Items []formJSON `json:"items"`
		}
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/forms", w.A), w.SecA, nil), http.StatusOK).JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != f.ID {
			t.Errorf("listed %+v, want the form", page.Items)
		}
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d", f.ID), w.RootSec, nil), http.StatusOK)
	})
	t.Run("a secretary of a sibling branch gets 404 on the form and its entries", func(t *testing.T) {
		w := w.In(t)
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d", f.ID), w.SecB, nil), http.StatusNotFound)
		w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/forms/%d/close", f.ID), w.SecB, nil), http.StatusNotFound)
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/orgs/%d/forms", w.A), w.SecB, nil), http.StatusNotFound)
		w.Expect(w.submit(w.MemberB, f.ID, "b-1", healthy), http.StatusNotFound)
	})
	t.Run("members of the org see it with today's entry not done, then done", func(t *testing.T) {
		w := w.In(t)
		type mine struct {
			Items []struct {
				Form formJSON `json:"form"`
				Day  string   `json:"day"`
				Done bool     `json:"done"`
			} `json:"items"`
		}
		var before, after, other mine
		w.Expect(w.DoAs("GET", "/api/v1/me/forms", w.MemberA, nil), http.StatusOK).JSON(t, &before)
		if len(before.Items) != 1 || before.Items[0].Done || before.Items[0].Day != "2020-02-03" {
			t.Fatalf("before: %+v, want the form not done on 2020-02-03", before.Items)
		}
		w.Expect(w.submit(w.MemberA, f.ID, "a-1", healthy), http.StatusCreated)
		w.Expect(w.DoAs("GET", "/api/v1/me/forms", w.MemberA, nil), http.StatusOK).JSON(t, &after)
		if len(after.Items) != 1 || !after.Items[0].Done {
			t.Errorf("after: %+v, want done", after.Items)
		}
		w.Expect(w.DoAs("GET", "/api/v1/me/forms", w.MemberB, nil), http.StatusOK).JSON(t, &other)
		if len(other.Items) != 0 {
			t.Errorf("a member of branch B sees %+v", other.Items)
		}
	})
	t.Run("a member who joins later gets the form", func(t *testing.T) {
		w := w.In(t)
		late := w.NewMember(w.A, "publicity")
		w.Expect(w.submit(late, f.ID, "late-1", healthy), http.StatusCreated)
	})
	t.Run("a removed member loses the form", func(t *testing.T) {
		w := w.In(t)
		gone := w.NewMember(w.A, "frontline")
		if r := w.DoAs("DELETE", w.MemberPath(w.A, gone), w.SecA, nil); r.Status >= 300 {
			t.Fatalf("remove: %d %s", r.Status, r.Body)
		}
		w.Expect(w.submit(gone, f.ID, "gone-1", healthy), http.StatusNotFound)
		var mine struct {
			Items []any `json:"items"`
		}
		w.Expect(w.DoAs("GET", "/api/v1/me/forms", gone, nil), http.StatusOK).JSON(t, &mine)
		if len(mine.Items) != 0 {
			t.Errorf("a removed member still sees %d forms", len(mine.Items))
		}
	})
	t.Run("a closed form takes no entries", func(t *testing.T) {
		w := w.In(t)
		closed := w.createForm(w.SecA, w.A, "once", healthFields, nil)
		w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/forms/%d/close", closed.ID), w.SecA, nil), http.StatusOK)
		r := w.submit(w.MemberA, closed.ID, "c-1", healthy)
		if r.Status != http.StatusConflict || r.ErrorCode() != "form_closed" {
			t.Errorf("answered %d %s, want 409 form_closed", r.Status, r.Body)
		}
	})
}

// TestModesLimitEntries checks once, daily and entries, and request_id
// idempotency.
func TestModesLimitEntries(t *testing.T) {
	w := newWorld(t)
	once := w.createForm(w.SecA, w.A, "once", healthFields, nil)
	daily := w.createForm(w.SecA, w.A, "daily", healthFields, nil)
	visits := w.createForm(w.SecA, w.A, "entries", []map[string]any{
		{"key": "household", "label": "户主", "type": "text", "required": true},
		{"key": "people", "label": "人数", "type": "number", "min": 1, "max": 30}}, nil)

	var first, again entryJSON
	w.Expect(w.submit(w.MemberA, once.ID, "o-1", healthy), http.StatusCreated).JSON(t, &first)
	w.Expect(w.submit(w.MemberA, once.ID, "o-1", map[string]any{"temp": 38, "travel": "是"}), http.StatusOK).JSON(t, &again)
	if again.ID != first.ID || again.Answers["temp"] != 36.5 {
		t.Errorf("the retry answered %+v, want the first entry %+v", again, first)
	}
	if r := w.submit(w.MemberA, once.ID, "o-2", healthy); r.Status != http.StatusConflict || r.ErrorCode() != "already_submitted" {
		t.Errorf("a second once entry: %d %s, want 409 already_submitted", r.Status, r.Body)
	}

	w.Expect(w.submit(w.MemberA, daily.ID, "d-1", healthy), http.StatusCreated)
	if r := w.submit(w.MemberA, daily.ID, "d-2", healthy); r.Status != http.StatusConflict || r.ErrorCode() != "already_submitted" {
		t.Errorf("a second daily entry the same day: %d %s, want 409 already_submitted", r.Status, r.Body)
	}
	// 15:59 UTC is 23:59 in Shanghai, still the same day; 16:00 is the next.
	w.clock.Set(time.Date(2020, 2, 3, 15, 59, 0, 0, time.UTC))
	w.Expect(w.submit(w.MemberA, daily.ID, "d-3", healthy), http.StatusConflict)
	w.clock.Set(time.Date(2020, 2, 3, 16, 0, 0, 0, time.UTC))
	var next entryJSON
	w.Expect(w.submit(w.MemberA, daily.ID, "d-4", healthy), http.StatusCreated).JSON(t, &next)
	if next.Day != "2020-02-04" {
		t.Errorf("the next day's entry is on %s, want 2020-02-04", next.Day)
	}

	for i := range 3 {
		w.Expect(w.submit(w.MemberA, visits.ID, fmt.Sprintf("v-%d", i), map[string]any{"household": fmt.Sprintf("%d号楼", i), "people": 3}), http.StatusCreated)
	}
	r := w.submit(w.MemberA, visits.ID, "v-bad", map[string]any{"people": 31, "extra": 1})
	for _, k := range []string{"answers.household", "answers.people", "answers.extra"} {
		if !r.Invalid(t, k) {
			t.Errorf("%s not named: %d %s", k, r.Status, r.Body)
		}
	}
}

// TestCopyLastRepeatsThePreviousEntry is the one-tap "same as yesterday".
func TestCopyLastRepeatsThePreviousEntry(t *testing.T) {
	w := newWorld(t)
	daily := w.createForm(w.SecA, w.A, "daily", healthFields, nil)
	path := fmt.Sprintf("/api/v1/forms/%d/entries", daily.ID)
	r := w.DoAs("POST", path, w.MemberA, map[string]any{"request_id": "c-0", "copy_last": true})
	if r.Status != http.StatusNotFound || r.ErrorCode() != "no_previous_entry" {
		t.Errorf("copy_last with nothing before: %d %s, want 404 no_previous_entry", r.Status, r.Body)
	}
	w.Expect(w.submit(w.MemberA, daily.ID, "c-1", map[string]any{"temp": 36.4, "travel": "否", "note": "在家"}), http.StatusCreated)
	w.clock.Add(24 * time.Hour)
	var copied entryJSON
	w.Expect(w.DoAs("POST", path, w.MemberA, map[string]any{"request_id": "c-2", "copy_last": true}), http.StatusCreated).JSON(t, &copied)
	if copied.Day != "2020-02-04" || copied.Answers["temp"] != 36.4 || copied.Answers["note"] != "在家" {
		t.Errorf("copied %+v, want yesterday's answers today", copied)
	}
	t.Run("a day without an entry before it has nothing to copy", func(t *testing.T) {
		w.clock.Add(48 * time.Hour)
		r := w.In(t).DoAs("POST", path, w.MemberA, map[string]any{"request_id": "c-3", "copy_last": true})
		if r.Status != http.StatusNotFound {
			t.Errorf("answered %d %s, want 404", r.Status, r.Body)
		}
	})
}

// TestAnOfflineEntryCountsOnThePhonesDay accepts client_time within the
// offline window and dates the entry by it.
func TestAnOfflineEntryCountsOnThePhonesDay(t *testing.T) {
	w := newWorld(t)
	daily := w.createForm(w.SecA, w.A, "daily", healthFields, nil)
	path := fmt.Sprintf("/api/v1/forms/%d/entries", daily.ID)
	made := w.clock.Now().Add(-10 * time.Hour) // 23:00 the day before, in Shanghai
	var e entryJSON
	w.Expect(w.DoAs("POST", path, w.MemberA, map[string]any{"request_id": "off-1", "answers": healthy, "client_time": made.Format(time.RFC3339)}),
		http.StatusCreated).JSON(t, &e)
	if e.Day != "2020-02-02" {
		t.Errorf("the offline entry is on %s, want 2020-02-02", e.Day)
	}
	r := w.DoAs("POST", path, w.MemberA, map[string]any{"request_id": "off-2", "answers": healthy, "client_time": w.clock.Now().Add(-25 * time.Hour).Format(time.RFC3339)})
	if r.Status != http.StatusUnprocessableEntity || r.ErrorCode() != "client_time_out_of_window" {
		t.Errorf("an entry older than the window: %d %s, want 422 client_time_out_of_window", r.Status, r.Body)
	}
}
