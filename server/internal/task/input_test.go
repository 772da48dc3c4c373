package task_test

import (
	"encoding/json"
	"testing"
	"time"
)

// fieldsOf reads the fields an invalid_argument answer names.
func fieldsOf(t *testing.T, body []byte) map[string]string {
	t.Helper()
	var e struct {
		Error struct {
			Fields map[string]string `json:"fields"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %s is not JSON: %v", body, err)
	}
	return e.Error.Fields
}

func TestATaskCheckinNeedsBothCoordinates(t *testing.T) {
	w := newWorld(t)
	p := w.NewMember(w.A, "frontline")
	plain := w.createTask(w.SecA, w.A, newTask("卡口值守", map[string]any{"due_at": time.Now().UTC().Add(24 * time.Hour)}))
	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"a latitude without a longitude is refused naming lat", map[string]any{"request_id": "x", "lat": 31.23}, "lat"},
		{"a longitude without a latitude is refused naming lat", map[string]any{"request_id": "y", "lng": 121.47}, "lat"},
		{"a latitude out of range is refused naming lat", map[string]any{"request_id": "z", "lat": 91.0, "lng": 121.47}, "lat"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := w.in(t)
			r := w.DoAs("POST", taskPath(plain.ID, "checkin"), p, tc.body)
			if r.Status != 400 || r.ErrorCode() != "invalid_argument" {
				t.Fatalf("answered %d %s, want 400 invalid_argument", r.Status, r.Body)
			}
			if fieldsOf(t, r.Body)[tc.field] == "" {
				t.Errorf("the answer names no field %q: %s", tc.field, r.Body)
			}
			if got, _ := w.assignmentStatus(plain.ID, p.ID); got != "assigned" {
				t.Errorf("the assignment is %s after a refused check-in, want assigned", got)
			}
		})
	}
}
