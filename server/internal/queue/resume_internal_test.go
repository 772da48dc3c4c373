package queue

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

func TestRetryDelay(t *testing.T) {
	task := asynq.NewTask("test", nil)
	t.Run("a job whose worker died runs again at once", func(t *testing.T) {
		if d := retryDelay(0, fmt.Errorf("recovered: %w", asynq.ErrLeaseExpired), task); d != 0 {
			t.Errorf("delay %v, want 0", d)
		}
	})
	t.Run("a job that failed keeps asynq's back-off", func(t *testing.T) {
		if d := retryDelay(0, errors.New("database unavailable"), task); d <= 0 {
			t.Errorf("delay %v, want a back-off", d)
		}
	})
}

func TestOrphanedJobs(t *testing.T) {
	at := time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)
	job := &asynq.TaskInfo{ID: "fanout-7"}
	t.Run("a job a live worker holds is never orphaned", func(t *testing.T) {
		r := newResumer(nil)
		for i := range 5 {
			if r.orphaned(job, map[string]bool{"fanout-7": true}, at.Add(time.Duration(i)*time.Minute)) {
				t.Fatalf("held job counted as orphaned at round %d", i)
			}
		}
	})
	t.Run("a job nobody holds is orphaned only once seen so for the grace period", func(t *testing.T) {
		r := newResumer(nil)
		if r.orphaned(job, nil, at) {
			t.Fatal("orphaned at first sight: a live worker may not have listed it yet")
		}
		if r.orphaned(job, nil, at.Add(holdGrace-time.Second)) {
			t.Fatal("orphaned before the grace period ran out")
		}
		if !r.orphaned(job, nil, at.Add(holdGrace)) {
			t.Fatal("not orphaned after the grace period")
		}
	})
	t.Run("a job held again starts the grace period over", func(t *testing.T) {
		r := newResumer(nil)
		r.orphaned(job, nil, at)
		r.orphaned(job, map[string]bool{"fanout-7": true}, at.Add(time.Second))
		if r.orphaned(job, nil, at.Add(holdGrace)) {
			t.Fatal("orphaned although a worker held it in between")
		}
	})
	t.Run("a job whose lease ran out is orphaned at once", func(t *testing.T) {
		r := newResumer(nil)
		if !r.orphaned(&asynq.TaskInfo{ID: "x", IsOrphaned: true}, map[string]bool{"x": true}, at) {
			t.Fatal("a lease-expired job was not orphaned")
		}
	})
}
