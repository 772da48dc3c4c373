package form_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"xianfeng/config"
	"xianfeng/server/internal/form"
	"xianfeng/server/internal/pii"
	"xianfeng/server/internal/testenv"
)

// TestIDAndPhoneNumbersAreSealedAtRestAndMaskedAbove: the member and the
// secretaries of the member's own branch see the numbers whole (their reads
// audited), the root's secretary sees them masked, and the stored row does
// not hold them.
func TestIDAndPhoneNumbersAreSealedAtRestAndMaskedAbove(t *testing.T) {
	w := newWorld(t)
	f := w.createForm(w.RootSec, w.Root, "daily", []map[string]any{
		{"key": "id_no", "label": "身份证号", "type": "id_card", "required": true},
		{"key": "phone", "label": "联系电话", "type": "phone", "required": true},
		{"key": "temp", "label": "体温", "type": "temperature", "required": true},
	}, map[string]any{"target": map[string]any{"include_suborgs": true}})
	const id, phone = "11010519491231002X", "13912345678"
	var mine entryJSON
	w.Expect(w.submit(w.MemberA, f.ID, "p-1", map[string]any{"id_no": id, "phone": phone, "temp": 36.5}), http.StatusCreated).JSON(t, &mine)
	if mine.Answers["id_no"] != id || mine.Answers["phone"] != phone {
		t.Errorf("the member sees %v, want their numbers whole", mine.Answers)
	}

	t.Run("the stored row holds neither number", func(t *testing.T) {
		var raw string
		w.Must(w.App.DB.Table("form_entries").Select("answers").Where("id = ?", mine.ID).Row().Scan(&raw))
		if strings.Contains(raw, id) || strings.Contains(raw, phone) || strings.Contains(raw, "5678") || !strings.Contains(raw, "pii1:") {
			t.Errorf("stored answers %s hold a number in the clear", raw)
		}
	})

	path := fmt.Sprintf("/api/v1/forms/%d/entries", f.ID)
	var page struct {
		Items []entryJSON `json:"items"`
	}
	t.Run("the root's secretary sees them masked", func(t *testing.T) {
		w := w.In(t)
		w.Expect(w.DoAs("GET", path, w.RootSec, nil), http.StatusOK).JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].Answers["id_no"] != "1101**********002X" || page.Items[0].Answers["phone"] != "139****5678" {
			t.Errorf("the root's secretary sees %+v, want masked numbers", page.Items)
		}
	})
	t.Run("a secretary of the member's branch sees them whole, and the read is audited", func(t *testing.T) {
		w := w.In(t)
		// The root's secretary manages the form; the branch secretary reads
		// through a form of their own org's subtree: publish one at A.
		fa := w.createForm(w.SecA, w.A, "once", []map[string]any{{"key": "id_no", "label": "身份证号", "type": "id_card"}}, nil)
		var e entryJSON
		w.Expect(w.submit(w.MemberA, fa.ID, "p-2", map[string]any{"id_no": id}), http.StatusCreated).JSON(t, &e)
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d/entries", fa.ID), w.SecA, nil), http.StatusOK).JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].Answers["id_no"] != id {
			t.Errorf("the branch secretary sees %+v, want the number whole", page.Items)
		}
		var n int64
		w.Must(w.App.DB.Table("audit_logs").Where("action = ? AND actor_id = ? AND target_user_id = ?", "form.unmask", w.SecA.ID, w.MemberA.ID).Count(&n).Error)
		if n != 1 {
			t.Errorf("%d unmask entries in the audit trail, want 1", n)
		}
		w.Expect(w.DoAs("GET", fmt.Sprintf("/api/v1/forms/%d/entries", fa.ID), w.RootSec, nil), http.StatusOK).JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].Answers["id_no"] != "1101**********002X" {
			t.Errorf("the root's secretary sees %+v, want the number masked", page.Items)
		}
	})
	t.Run("a secretary of the other branch sees none of branch A's entries", func(t *testing.T) {
		w := w.In(t)
		// The root's form reaches branch B too: its secretary sees B's part.
		w.Expect(w.DoAs("GET", path, w.SecB, nil), http.StatusOK).JSON(t, &page)
		if len(page.Items) != 0 {
			t.Errorf("branch B's secretary sees %+v", page.Items)
		}
	})
	t.Run("copy_last opens the sealed numbers and seals them again", func(t *testing.T) {
		w := w.In(t)
		w.clock.Add(24 * time.Hour)
		var copied entryJSON
		w.Expect(w.DoAs("POST", path, w.MemberA, map[string]any{"request_id": "p-3", "copy_last": true}), http.StatusCreated).JSON(t, &copied)
		if copied.Answers["id_no"] != id || copied.Answers["phone"] != phone {
			t.Errorf("copied %v, want the numbers whole", copied.Answers)
		}
	})
	t.Run("the list filters by alert, org and day", func(t *testing.T) {
		w := w.In(t)
		for q, want := range map[string]int{"?day=2020-02-03": 1, "?day=2020-02-04": 1, "?alert=true": 0, fmt.Sprintf("?org_id=%d", w.B): 0, "": 2} {
			w.Expect(w.DoAs("GET", path+q, w.RootSec, nil), http.StatusOK).JSON(t, &page)
			if len(page.Items) != want {
				t.Errorf("%s listed %d entries, want %d", q, len(page.Items), want)
			}
		}
		if r := w.DoAs("GET", path+"?alert=maybe", w.RootSec, nil); !r.Invalid(t, "alert") {
			t.Errorf("alert=maybe: %d %s", r.Status, r.Body)
		}
	})
}

// TestRekeyReSealsWithTheNewKey rotates the data key: entries sealed with
// the old key are read through the old key and re-sealed by Rekey.
func TestRekeyReSealsWithTheNewKey(t *testing.T) {
	const oldKey, newKey = "old-data-key-old-data-key-old-data-key-0", "new-data-key-new-data-key-new-data-key-0"
	clock := testenv.NewClock(start)
	w := &world{World: testenv.NewWorld(t, testenv.Options{Now: clock.Now, Configure: func(c *config.Config) { c.Data.Key = oldKey }}), clock: clock}
	f := w.createForm(w.SecA, w.A, "entries", []map[string]any{{"key": "phone", "label": "电话", "type": "phone"}}, nil)
	for i := range 3 {
		w.Expect(w.submit(w.MemberA, f.ID, fmt.Sprintf("r-%d", i), map[string]any{"phone": "13912345678"}), http.StatusCreated)
	}
	box, err := pii.New(newKey, []string{oldKey})
	w.Must(err)
	n, err := form.Rekey(context.Background(), w.App.DB.DB, box)
	w.Must(err)
	if n != 3 {
		t.Errorf("re-sealed %d entries, want 3", n)
	}
	var raws []string
	w.Must(w.App.DB.Table("form_entries").Order("id").Pluck("answers", &raws).Error)
	for _, raw := range raws {
		var a map[string]string
		w.Must(json.Unmarshal([]byte(raw), &a))
		if !box.Current(a["phone"]) {
			t.Errorf("%s is not sealed with the new key", raw)
		}
		if got, err := box.Open(a["phone"]); err != nil || got != "13912345678" {
			t.Errorf("opens to %q, %v", got, err)
		}
	}
	if n, err := form.Rekey(context.Background(), w.App.DB.DB, box); err != nil || n != 0 {
		t.Errorf("a second run re-sealed %d (%v), want 0", n, err)
	}
}
