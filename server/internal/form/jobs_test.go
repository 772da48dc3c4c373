package form_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"xianfeng/server/internal/form"
	"xianfeng/server/internal/queue"
)

// TestANewFormsFanOutIsQueuedOnceOnTheDefaultQueue pins the fan-out job a
// new form queues: its task id is the form's, its payload names the form,
// and publishing it again queues nothing more.
func TestANewFormsFanOutIsQueuedOnceOnTheDefaultQueue(t *testing.T) {
	w := newWorld(t)
	f := w.createForm(w.SecA, w.A, "daily", healthFields, nil)
	w.Must(form.NewJobs(w.App.Queue).Publish(context.Background(), f.ID))

	q := w.App.Queue
	info, err := q.Inspector().GetTaskInfo(q.Name(queue.Default), fmt.Sprintf("form-fanout-%d", f.ID))
	if err != nil {
		t.Fatalf("the fan-out of form %d: %v", f.ID, err)
	}
	if want := fmt.Sprintf(`{"id":%d}`, f.ID); info.Type != form.TypeFanOut || string(info.Payload) != want || info.MaxRetry != 20 || info.Timeout != 10*time.Minute {
		t.Errorf("queued %s %s with %d retries and timeout %s, want %s %s, 20 and 10m", info.Type, info.Payload, info.MaxRetry, info.Timeout, form.TypeFanOut, want)
	}
	pending, err := q.Inspector().ListPendingTasks(q.Name(queue.Default))
	if err != nil {
		t.Fatalf("list the pending jobs: %v", err)
	}
	n := 0
	for _, p := range pending {
		if p.Type == form.TypeFanOut {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d form fan-outs pending, want 1", n)
	}
}
