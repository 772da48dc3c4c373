package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"xianfeng/server/internal/queue"
)

// Task types of this package.
const (
	TypeEscalate = "report:escalate"
	TypeSweep    = "report:sweep"
)

// Jobs runs the report jobs and implements Scheduler.
type Jobs struct{ q *queue.Queue }

// NewJobs returns the report jobs on q.
func NewJobs(q *queue.Queue) *Jobs { return &Jobs{q: q} }

var _ Scheduler = (*Jobs)(nil)

type payload struct {
	ReportID int64 `json:"report_id"`
	Level    int   `json:"level"`
}

func escalateID(reportID int64, level int) string {
	return "report-escalate-" + strconv.FormatInt(reportID, 10) + "-" + strconv.Itoa(level)
}

// ScheduleEscalation enqueues the step from level at the given time; its id
// is the report's and the level's, so each step happens once.
func (j *Jobs) ScheduleEscalation(ctx context.Context, reportID int64, level int, at time.Time) error {
	b, _ := json.Marshal(payload{ReportID: reportID, Level: level})
	_, err := j.q.Enqueue(ctx, asynq.NewTask(TypeEscalate, b, asynq.MaxRetry(10)), queue.Critical,
		asynq.ProcessAt(at), asynq.TaskID(escalateID(reportID, level)))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// CancelEscalation deletes the pending step from level; a step already gone is fine.
func (j *Jobs) CancelEscalation(_ context.Context, reportID int64, level int) error {
	err := j.q.Inspector().DeleteTask(j.q.Name(queue.Critical), escalateID(reportID, level))
	if err != nil && !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
		return err
	}
	return nil
}

// Register adds the handlers and the periodic sweep to the queue.
func (j *Jobs) Register(svc *Service) {
	j.q.Handle(TypeEscalate, asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		var p payload
		if err := json.Unmarshal(t.Payload(), &p); err != nil || p.ReportID <= 0 {
			return fmt.Errorf("%s: bad payload: %w", TypeEscalate, asynq.SkipRetry)
		}
		_, err := svc.Escalate(ctx, p.ReportID, p.Level, 0, "")
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}))
	j.q.Handle(TypeSweep, asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error { return svc.Sweep(ctx) }))
	j.q.Every(time.Minute, asynq.NewTask(TypeSweep, nil, asynq.MaxRetry(0)), queue.Low)
}
