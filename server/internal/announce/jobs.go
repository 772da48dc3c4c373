package announce

import (
	"time"

	"xianfeng/server/internal/queue"
)

// Task types of this package.
const (
	TypeFanOut = "announcement:fanout"
	TypeSweep  = "announcement:sweep"
)

// NewJobs returns the announcement fan-out on q: the service's Dispatcher,
// which queues an announcement's fan-out once (the id is the announcement's).
func NewJobs(q *queue.Queue) queue.FanOut { return q.FanOut(TypeFanOut, "announcement-fanout") }

// Register adds the fan-out's handler and the periodic sweep to the queue.
func Register(q *queue.Queue, svc *Service) {
	NewJobs(q).Handle(svc.FanOut)
	q.Sweep(TypeSweep, time.Minute, 0, svc.Sweep)
}
