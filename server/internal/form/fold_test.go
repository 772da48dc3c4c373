package form_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"xianfeng/server/internal/testenv"
)

// sameSummary holds the summary read from the totals (folding what is
// pending) to the one summed from every entry, for who and day.
func (w *world) sameSummary(who testenv.Person, formID int64, day string) {
	w.T().Helper()
	ctx := context.Background()
	want, err := w.App.Form.SummarizeEntries(ctx, who.ID, formID, day)
	w.Must(err)
	got, err := w.App.Form.Summarize(ctx, who.ID, formID, day)
	w.Must(err)
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if string(wj) != string(gj) {
		w.T().Errorf("from the totals:\n%s\nfrom the entries:\n%s", gj, wj)
	}
}

// countedEntries is how many entries form_totals counts for the form, by
// its orgs' rows and by the whole form's (org 0).
func (w *world) countedEntries(formID int64) (orgs, whole int64) {
	w.T().Helper()
	var r struct{ Orgs, Whole int64 }
	w.Must(w.App.DB.Raw(`SELECT COALESCE(SUM(CASE WHEN org_id <> 0 THEN n ELSE 0 END), 0) AS orgs,
		COALESCE(SUM(CASE WHEN org_id = 0 THEN n ELSE 0 END), 0) AS whole
		FROM form_totals WHERE form_id = ? AND field_key = '' AND choice = ''`, formID).Scan(&r).Error)
	return r.Orgs, r.Whole
}

// TestTotalsCountEveryEntryOnceWhateverFailsBeforeTheFold: entries are
// written without their totals and folded in later. A fold that dies
// half-way (its transaction lost, as in a crash) leaves them to the next
// fold, on another instance too; folds running at once count each entry
// once; and a correction before or after an entry's fold moves the totals
// as it should. The summary equals the entries after each.
func TestTotalsCountEveryEntryOnceWhateverFailsBeforeTheFold(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	f := w.createForm(w.RootSec, w.Root, "daily", summedFields, map[string]any{"target": map[string]any{"include_suborgs": true}, "due_at": "23:00"})
	people := []testenv.Person{w.MemberA, w.SecA, w.MemberB, w.SecB}
	ids := map[int64]int64{}
	for i, p := range people {
		var e entryJSON
		w.Expect(w.submit(p, f.ID, fmt.Sprint("a", i), map[string]any{"temp": 36.1 + float64(i)/2, "where": "在家", "sym": []string{"咳嗽"}}), http.StatusCreated).JSON(t, &e)
		ids[p.ID] = e.ID
	}
	if orgs, whole := w.countedEntries(f.ID); orgs != 0 || whole != 0 {
		t.Fatalf("before any fold the totals count %d entries (%d for the whole form), want none: entries wait for the fold", orgs, whole)
	}

	t.Run("a fold that dies before its commit leaves the entries to the next", func(t *testing.T) {
		w := w.In(t)
		crash := errors.New("the process died")
		var crashed bool
		cb := w.App.DB.Callback().Raw()
		w.Must(cb.Before("gorm:raw").Register("test:crash-fold", func(db *gorm.DB) {
			if !crashed && strings.Contains(db.Statement.SQL.String(), "INSERT INTO form_totals") {
				crashed = true
				_ = db.AddError(crash)
			}
		}))
		_, err := w.App.Form.Fold(ctx, f.ID)
		w.Must(cb.Remove("test:crash-fold"))
		if !errors.Is(err, crash) {
			t.Fatalf("Fold = %v, want the crash", err)
		}
		if orgs, whole := w.countedEntries(f.ID); orgs != 0 || whole != 0 {
			t.Fatalf("after the dead fold the totals count %d (%d), want none", orgs, whole)
		}
		// Another instance, with nothing in memory, folds them.
		other := w.Instance()
		n, err := other.App.Form.Fold(ctx, 0)
		w.Must(err)
		if n != len(people) {
			t.Errorf("the next fold counted %d entries, want %d", n, len(people))
		}
		if n, err := other.App.Form.Fold(ctx, 0); err != nil || n != 0 {
			t.Errorf("a fold with nothing pending counted %d (%v), want 0", n, err)
		}
		if orgs, whole := w.countedEntries(f.ID); orgs != int64(len(people)) || whole != int64(len(people)) {
			t.Errorf("the totals count %d entries (%d for the whole form), want %d", orgs, whole, len(people))
		}
		w.sameSummary(w.RootSec, f.ID, "2020-02-03")
		w.sameSummary(w.SecA, f.ID, "2020-02-03")
	})

	t.Run("folds at once count each entry once", func(t *testing.T) {
		w := w.In(t)
		for i := range 12 {
			p := w.Member([]int64{w.A, w.B}[i%2], fmt.Sprint("新人", i), "frontline")
			w.Expect(w.submit(p, f.ID, fmt.Sprint("b", i), map[string]any{"temp": 35.5 + float64(i)/4, "where": "外出"}), http.StatusCreated)
		}
		var wg sync.WaitGroup
		counted := make([]int, 4)
		errs := make([]error, 4)
		for i := range 4 {
			wg.Go(func() { counted[i], errs[i] = w.App.Form.Fold(ctx, f.ID) })
		}
		wg.Wait()
		sum := 0
		for i := range 4 {
			w.Must(errs[i])
			sum += counted[i]
		}
		if sum != 12 {
			t.Errorf("the folds counted %d entries in all (%v), want 12", sum, counted)
		}
		if orgs, whole := w.countedEntries(f.ID); orgs != 16 || whole != 16 {
			t.Errorf("the totals count %d entries (%d for the whole form), want 16", orgs, whole)
		}
		w.sameSummary(w.RootSec, f.ID, "2020-02-03")
	})

	t.Run("a correction before and after the fold", func(t *testing.T) {
		w := w.In(t)
		// MemberA's entry is folded: the correction takes its old answers
		// out (it was the coldest) and puts the new ones in.
		w.Expect(w.DoAs("PUT", fmt.Sprintf("/api/v1/forms/%d/entries/%d", f.ID, ids[w.MemberA.ID]), w.MemberA,
			map[string]any{"answers": map[string]any{"temp": 38.2, "where": "外出"}}), http.StatusOK)
		w.sameSummary(w.RootSec, f.ID, "2020-02-03")
		// A new entry corrected before any fold counts once, as corrected.
		late := w.Member(w.B, "晚到", "publicity")
		var e entryJSON
		w.Expect(w.submit(late, f.ID, "late", map[string]any{"temp": 34.9, "sym": []string{"发热"}}), http.StatusCreated).JSON(t, &e)
		w.Expect(w.DoAs("PUT", fmt.Sprintf("/api/v1/forms/%d/entries/%d", f.ID, e.ID), late,
			map[string]any{"answers": map[string]any{"temp": 36.3}}), http.StatusOK)
		if n, err := w.App.Form.Fold(ctx, f.ID); err != nil || n != 0 {
			t.Errorf("after the correction, a fold counted %d (%v), want 0: the correction counted it", n, err)
		}
		if orgs, whole := w.countedEntries(f.ID); orgs != 17 || whole != 17 {
			t.Errorf("the totals count %d entries (%d for the whole form), want 17", orgs, whole)
		}
		w.sameSummary(w.RootSec, f.ID, "2020-02-03")
		w.sameSummary(w.SecB, f.ID, "2020-02-03")
	})
}

// TestAFormClosedOnAnotherInstanceTakesNoEntryThoughItsDefinitionIsCached:
// an instance that took entries keeps the form's definition in memory, and
// the form is closed on another one: the next entry there is refused.
func TestAFormClosedOnAnotherInstanceTakesNoEntryThoughItsDefinitionIsCached(t *testing.T) {
	w := newWorld(t)
	other := w.Instance()
	f := w.createForm(w.SecA, w.A, "once", healthFields, nil)
	late := w.Member(w.A, "后来者", "publicity")
	other.Expect(other.DoAs("POST", fmt.Sprintf("/api/v1/forms/%d/entries", f.ID), w.MemberA,
		map[string]any{"request_id": "c-1", "answers": healthy}), http.StatusCreated)
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/forms/%d/close", f.ID), w.SecA, nil), http.StatusOK)
	for _, p := range []testenv.Person{w.SecA, late} {
		res := other.DoAs("POST", fmt.Sprintf("/api/v1/forms/%d/entries", f.ID), p, map[string]any{"request_id": "c-2", "answers": healthy})
		if res.Status != http.StatusConflict || !strings.Contains(string(res.Body), "form_closed") {
			t.Errorf("%s's entry on the other instance after the close: %d %s, want 409 form_closed", p.Name, res.Status, res.Body)
		}
	}
	// The member's retry of the entry made before the close still gets it.
	other.Expect(other.DoAs("POST", fmt.Sprintf("/api/v1/forms/%d/entries", f.ID), w.MemberA,
		map[string]any{"request_id": "c-1", "answers": healthy}), http.StatusOK)
}
