package media

import (
	"time"

	"xianfeng/server/internal/queue"
)

// TypeSweep is the periodic job that deletes uploads nobody attached.
const TypeSweep = "media:sweep"

// RegisterJobs adds the sweep of unattached uploads to the queue: every 10
// minutes, so an upload goes at most that long after its day.
func RegisterJobs(q *queue.Queue, svc *Service) {
	q.Sweep(TypeSweep, 10*time.Minute, 0, svc.Sweep)
}
