package report

import (
	"context"
	"errors"
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

func (p payload) Valid() bool { return p.ReportID > 0 }

func escalateID(reportID int64, level int) string {
	return queue.ID("report-escalate", reportID, int64(level))
}

// ScheduleEscalation enqueues the step from level at the given time; its id
// is the report's and the level's, so each step happens once.
func (j *Jobs) ScheduleEscalation(ctx context.Context, reportID int64, level int, at time.Time) error {
	return j.q.EnqueueOnce(ctx, queue.NewTask(TypeEscalate, payload{ReportID: reportID, Level: level}, asynq.MaxRetry(10)),
		queue.Critical, escalateID(reportID, level), asynq.ProcessAt(at))
}

// CancelEscalation deletes the pending step from level; a step already gone is fine.
func (j *Jobs) CancelEscalation(_ context.Context, reportID int64, level int) error {
	return j.q.Delete(queue.Critical, escalateID(reportID, level))
}

// Register adds the handlers and the periodic sweep to the queue.
func (j *Jobs) Register(svc *Service) {
	queue.HandleJSON(j.q, TypeEscalate, func(ctx context.Context, p payload) error {
		_, err := svc.Escalate(ctx, p.ReportID, p.Level, 0, "")
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	})
	j.q.Sweep(TypeSweep, time.Minute, 0, svc.Sweep)
}
