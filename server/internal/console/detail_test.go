package console_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"xianfeng/server/internal/testenv"
)

func TestATaskPageShowsThePhotosOfEachCheckin(t *testing.T) {
	w := testenv.NewWorld(t, testenv.Options{})
	var tk struct {
		ID int64 `json:"id"`
	}
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/tasks", w.A), w.SecA, map[string]any{"title": "卡口值守", "kind": "duty",
		"target": map[string]any{"badges": []string{"frontline"}}}), http.StatusCreated).JSON(t, &tk)
	if err := w.App.Task.FanOut(context.Background(), tk.ID); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, w)
	b.loginAs(w, w.SecA)
	taskPath := fmt.Sprintf("/console/tasks/%d", tk.ID)
	if p := b.get(taskPath); p.Status != http.StatusOK || thumbnail.MatchString(p.Body) {
		t.Fatalf("before the check-in the task page = %d, with a photo", p.Status)
	}

	photo := uploadPhoto(t, w, w.MemberA)
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/tasks/%d/checkin", tk.ID), w.MemberA, map[string]any{
		"request_id": "tc-photo", "media_ids": []int64{photo}}), http.StatusOK)

	p := b.get(taskPath)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "张小明") {
		t.Fatalf("the task page = %d: %.600s", p.Status, p.Body)
	}
	thumbnailLoads(t, b, "the task page", p)

	other := newBrowser(t, w)
	other.loginAs(w, w.SecB)
	if r := other.get(taskPath); r.Status != http.StatusNotFound || thumbnail.MatchString(r.Body) {
		t.Errorf("the task page for 第二党支部's secretary = %d, want 404 without the photo", r.Status)
	}
}
