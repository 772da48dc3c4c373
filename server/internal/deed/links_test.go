package deed_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"

	miniprogramapi "xianfeng/miniprogram-api"
)

// contractMaxLinks returns the maxItems that openapi.yaml gives the links of
// a new deed, failing the test unless task_ids and report_ids agree.
func contractMaxLinks(t *testing.T) int {
	t.Helper()
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					MaxItems int `yaml:"maxItems"`
				} `yaml:"properties"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(miniprogramapi.Spec, &doc); err != nil {
		t.Fatal(err)
	}
	props := doc.Components.Schemas["CreateDeedRequest"].Properties
	tasks, reports := props["task_ids"].MaxItems, props["report_ids"].MaxItems
	if tasks == 0 || tasks != reports {
		t.Fatalf("openapi.yaml: CreateDeedRequest maxItems task_ids=%d report_ids=%d, want one positive limit", tasks, reports)
	}
	return tasks
}

func TestADeedHoldsAsManyLinksAsTheContractSays(t *testing.T) {
	w := newWorld(t)
	limit := contractMaxLinks(t)
	var task struct {
		ID int64 `json:"id"`
	}
	w.Expect(w.DoAs("POST", fmt.Sprintf("/api/v1/orgs/%d/tasks", w.A), w.SecA, map[string]any{
		"title": "卡口值守", "kind": "duty", "description": "按时到岗", "target": map[string]any{"user_ids": []int64{w.MemberA.ID}},
	}), 201).JSON(t, &task)
	if err := w.App.Task.FanOut(context.Background(), task.ID); err != nil {
		t.Fatalf("fan-out: %v", err)
	}
	var report struct {
		ID int64 `json:"id"`
	}
	w.Expect(w.DoAs("POST", "/api/v1/reports", w.MemberA, map[string]any{"category": "help_needed", "urgency": "normal", "content": "求助", "request_id": "links-1"}), 201).JSON(t, &report)

	tests := []struct {
		name      string
		tasks     int
		reports   int
		status    int
		wantField string
	}{
		{"a deed with as many links as the contract allows is accepted", limit, 0, 201, ""},
		{"the limit counts tasks and reports together", limit - 1, 1, 201, ""},
		{"one link over the limit is refused naming task_ids", limit, 1, 400, "task_ids"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := w.in(t)
			body := map[string]any{"title": "值守", "content": "内容",
				"task_ids": slices.Repeat([]int64{task.ID}, tt.tasks), "report_ids": slices.Repeat([]int64{report.ID}, tt.reports)}
			res := w.DoAs("POST", "/api/v1/deeds", w.MemberA, body)
			if res.Status != tt.status {
				t.Fatalf("%d tasks + %d reports = %d %s, want %d", tt.tasks, tt.reports, res.Status, res.Body, tt.status)
			}
			if tt.wantField != "" {
				e := res.APIError(t)
				if e.Fields[tt.wantField] == "" {
					t.Errorf("the error names no %s: %s", tt.wantField, res.Body)
				}
			}
		})
	}
}
