package task_test

import (
	"fmt"
	"testing"
	"time"

	"xianfeng/server/internal/testenv"
)

// TestAnOfflineCheckinMadeBeforeTheDueTimeCountsAsOnTime checks in with the
// phone's client_time, as the mini-program's offline queue sends it, on a
// clock the test moves.
func TestAnOfflineCheckinMadeBeforeTheDueTimeCountsAsOnTime(t *testing.T) {
	due := time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)
	clock := testenv.NewClock(due.Add(-2 * time.Hour))
	w := newWorldAt(t, clock)
	tk := w.createTask(w.SecA, w.A, newTask("卡口值守", map[string]any{"due_at": due}))
	path := fmt.Sprintf("/api/v1/tasks/%d/checkin", tk.ID)
	type answer struct {
		Assignment struct {
			Status  string `json:"status"`
			Checkin struct {
				At time.Time `json:"at"`
			} `json:"checkin"`
		} `json:"assignment"`
	}

	// Made ten minutes before the due time, sent half an hour after it.
	made := due.Add(-10 * time.Minute)
	clock.Set(due.Add(30 * time.Minute))
	var got answer
	w.Expect(w.DoAs("POST", path, w.MemberA, map[string]any{"request_id": "offline-1", "client_time": made.Format(time.RFC3339)}), 200).JSON(t, &got)
	if got.Assignment.Status != "checked_in" || !got.Assignment.Checkin.At.Equal(made) {
		t.Errorf("checked in %s at %v, want checked_in at %v (the phone's time)", got.Assignment.Status, got.Assignment.Checkin.At, made)
	}
	if got.Assignment.Checkin.At.After(due) {
		t.Error("a check-in made before the due time shows after it")
	}

	t.Run("the retry answers the first check-in", func(t *testing.T) {
		clock.Add(time.Minute)
		var again answer
		w.Expect(w.DoAs("POST", path, w.MemberA, map[string]any{"request_id": "offline-1", "client_time": made.Format(time.RFC3339)}), 200).JSON(t, &again)
		if !again.Assignment.Checkin.At.Equal(made) {
			t.Errorf("the retry shows %v, want %v", again.Assignment.Checkin.At, made)
		}
	})

	for _, tc := range []struct {
		name string
		at   time.Time
	}{
		{"a client_time older than the offline window is refused", clock.Now().Add(-25 * time.Hour)},
		{"a client_time ahead of the server's clock is refused", clock.Now().Add(5 * time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := w.NewMember(w.A, "frontline")
			r := w.DoAs("POST", path, other, map[string]any{"request_id": "offline-2", "client_time": tc.at.Format(time.RFC3339)})
			if r.Status != 422 || r.ErrorCode() != "client_time_out_of_window" {
				t.Errorf("answered %d %s, want 422 client_time_out_of_window", r.Status, r.Body)
			}
		})
	}

	t.Run("a client_time before the task reached the member is refused", func(t *testing.T) {
		w := w.in(t)
		fresh := w.createTask(w.SecA, w.A, newTask("新下达的值守", map[string]any{"due_at": clock.Now().Add(2 * time.Hour)}))
		before := clock.Now().Add(-time.Hour) // inside the offline window, before the task existed
		r := w.DoAs("POST", fmt.Sprintf("/api/v1/tasks/%d/checkin", fresh.ID), w.MemberA,
			map[string]any{"request_id": "offline-3", "client_time": before.Format(time.RFC3339)})
		if r.Status != 422 || r.ErrorCode() != "client_time_out_of_window" {
			t.Errorf("answered %d %s, want 422 client_time_out_of_window", r.Status, r.Body)
		}
	})
}
