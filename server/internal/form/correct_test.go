package form_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestAMemberCorrectsTheirEntryUntilItIsDue: a correction is a new version,
// the first stays for the secretaries, and a correction that no longer
// trips the alert notes it on the report, which stays.
func TestAMemberCorrectsTheirEntryUntilItIsDue(t *testing.T) {
	w := newWorld(t) // 09:00 in Shanghai; the form is due at 10:00
	f := w.createForm(w.SecA, w.A, "daily", healthFields, map[string]any{"due_at": "10:00"})
	var e entryJSON
	w.Expect(w.submit(w.MemberA, f.ID, "k-1", map[string]any{"temp": 38.2, "travel": "否"}), http.StatusCreated).JSON(t, &e)
	if e.ReportID == nil {
		t.Fatal("the alerting entry filed no report")
	}
	path := fmt.Sprintf("/api/v1/forms/%d/entries/%d", f.ID, e.ID)

	var fixed struct {
		entryJSON
		Version int `json:"version"`
	}
	w.Expect(w.DoAs("PUT", path, w.MemberA, map[string]any{"answers": map[string]any{"temp": 36.8, "travel": "否"}}), http.StatusOK).JSON(t, &fixed)
	if fixed.Version != 2 || fixed.Alert || fixed.Answers["temp"] != 36.8 || fixed.ReportID == nil || *fixed.ReportID != *e.ReportID {
		t.Errorf("corrected = %+v, want version 2 without alert, still linked to report %d", fixed, *e.ReportID)
	}
	var detail struct {
		Report struct {
			Status string `json:"status"`
		} `json:"report"`
		Timeline []struct {
			Kind string `json:"kind"`
			Note string `json:"note"`
		} `json:"timeline"`
	}
	w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/reports/%d", *e.ReportID), w.SecA, nil), http.StatusOK).JSON(t, &detail)
	noted := false
	for _, ev := range detail.Timeline {
		noted = noted || ev.Kind == "note"
	}
	if detail.Report.Status != "open" || !noted {
		t.Errorf("the report is %s with timeline %+v, want it open with a note", detail.Report.Status, detail.Timeline)
	}
	var kept []struct {
		Version int
		Answers string
	}
	w.Must(w.App.DB.Table("form_entry_versions").Where("entry_id = ?", e.ID).Find(&kept).Error)
	if len(kept) != 1 || kept[0].Version != 1 {
		t.Errorf("kept versions %+v, want version 1", kept)
	}

	t.Run("nobody else corrects it", func(t *testing.T) {
		w := w.In(t)
		w.Expect(w.DoAs("PUT", path, w.SecA, map[string]any{"answers": healthy}), http.StatusNotFound)
	})
	t.Run("a bad answer names its key", func(t *testing.T) {
		w := w.In(t)
		if r := w.DoAs("PUT", path, w.MemberA, map[string]any{"answers": map[string]any{"temp": 50, "travel": "否"}}); !r.Invalid(t, "answers.temp") {
			t.Errorf("answered %d %s", r.Status, r.Body)
		}
	})
	t.Run("after the due time it is too late", func(t *testing.T) {
		w := w.In(t)
		w.clock.Set(time.Date(2020, 2, 3, 2, 0, 0, 0, time.UTC)) // 10:00 in Shanghai
		r := w.DoAs("PUT", path, w.MemberA, map[string]any{"answers": healthy})
		if r.Status != http.StatusConflict || r.ErrorCode() != "past_due" {
			t.Errorf("answered %d %s, want 409 past_due", r.Status, r.Body)
		}
	})
}
