package contentsec

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/media"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/queue"
)

// Statuses of a content check.
const (
	// StatusQueued waits for a later text check (NextAt).
	StatusQueued = "queued"
	// StatusWaiting is an image check WeChat accepted; its verdict comes
	// through the callback.
	StatusWaiting = "waiting"
	StatusPass    = "pass"
	StatusRisky   = "risky"
	// StatusReplaced is a queued text check whose text its author replaced
	// before it was checked (Replace): never checked.
	StatusReplaced = "replaced"
)

// Check is a content check that could not be done at once, or an image
// check waiting for its verdict: a row of content_checks.
type Check struct {
	ID       int64
	Kind     string
	RefID    int64
	Field    string
	AuthorID int64
	// Text is the text to check (empty for an image).
	Text string
	// TraceID is WeChat's trace id of an image check (nil for texts).
	TraceID   *string
	Status    string
	Attempts  int
	Label     int
	NextAt    time.Time
	CheckedAt *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName is the content_checks table.
func (Check) TableName() string { return "content_checks" }

// Job types.
const (
	// TypeRecheck checks one queued text again.
	TypeRecheck = "content:recheck"
	// TypeSweep queues the checks that are due and whose job was lost, and
	// starts the checks of attached images their job did not start.
	TypeSweep = "content:sweep"
	// TypeImage starts the check of one image just attached.
	TypeImage = "content:image"
)

// maxBackoff caps the wait between two checks of one text.
const maxBackoff = 6 * time.Hour

// Jobs queues the later checks.
type Jobs struct{ q *queue.Queue }

// NewJobs returns the content checks' jobs on q.
func NewJobs(q *queue.Queue) *Jobs { return &Jobs{q: q} }

type recheckPayload struct {
	ID int64 `json:"id"`
}

func (p recheckPayload) Valid() bool { return p.ID > 0 }

// dispatch queues the check id to run at, once.
func (j *Jobs) dispatch(ctx context.Context, id int64, at time.Time) error {
	t := queue.NewTask(TypeRecheck, recheckPayload{ID: id}, asynq.MaxRetry(5), asynq.ProcessAt(at))
	return j.q.EnqueueOnce(ctx, t, queue.Low, queue.ID("content-check", id))
}

// Attached queues the start of the checks of images just attached, one
// job per image (media.Options.Attached): they need not wait for the sweep.
func (j *Jobs) Attached(ctx context.Context, ids []int64) error {
	for _, id := range ids {
		t := queue.NewTask(TypeImage, recheckPayload{ID: id}, asynq.MaxRetry(3))
		if err := j.q.EnqueueOnce(ctx, t, queue.Low, ImageJobID(id)); err != nil {
			return err
		}
	}
	return nil
}

// ImageJobID is the task id of the job that starts the check of image id.
func ImageJobID(id int64) string { return queue.ID("content-image", id) }

// Register adds the handlers of the jobs and the periodic sweep, every
// Options.Recheck.
func (j *Jobs) Register(s *Service) {
	queue.HandleJSON(j.q, TypeRecheck, func(ctx context.Context, p recheckPayload) error { return s.Recheck(ctx, p.ID) })
	queue.HandleJSON(j.q, TypeImage, func(ctx context.Context, p recheckPayload) error { return s.StartImage(ctx, p.ID) })
	j.q.Sweep(TypeSweep, s.opts.Recheck, 0, s.Sweep)
}

// Recheck checks a queued text again: pass, risky (the text is hidden and
// flagged, the author told), or still not checked (it waits longer). A
// check no longer queued is left alone.
func (s *Service) Recheck(ctx context.Context, id int64) (err error) {
	defer apperr.Annotate(&err, "contentsec.Recheck(%d)", id)
	var c Check
	err = s.DB().WithContext(ctx).Take(&c, "id = ?", id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil // its transaction rolled back
	}
	if err != nil {
		return err
	}
	if c.Status != StatusQueued || c.Kind == KindImage {
		return nil
	}
	if s.Mode(c.Kind) == ModeOff {
		return s.settle(ctx, c, StatusPass, 0)
	}
	v, err := s.verdict(ctx, c.AuthorID, c.Kind, c.Text)
	if err != nil {
		now := s.Now()
		wait := min(s.opts.Recheck<<min(c.Attempts, 16), maxBackoff)
		s.Log().InfoContext(ctx, "content check deferred again", "check_id", c.ID, "attempts", c.Attempts+1, "err", err)
		return s.DB().WithContext(ctx).Model(&Check{}).Where("id = ? AND status = ?", c.ID, StatusQueued).
			Updates(map[string]any{"attempts": c.Attempts + 1, "next_at": now.Add(wait), "updated_at": now}).Error
	}
	status := StatusPass
	if v.Risky() {
		status = StatusRisky
	}
	return s.settle(ctx, c, status, v.Label)
}

// settle records the verdict of a check once: the row moves from queued
// or waiting to status and a risky text is flagged and hidden in the same
// transaction; the author of a risky thing is told. A verdict already
// recorded is not recorded again: an image gets the recorded verdict
// (again: media's state is set after the commit, so a repeat repairs a
// failure there) and its author is not told twice.
func (s *Service) settle(ctx context.Context, c Check, status string, label int) error {
	now := s.Now()
	decided := false
	// In database.Transact: a Flagger may have work follow the commit.
	err := database.Transact(ctx, s.DB(), func(tx *gorm.DB) error {
		decided = false // a retried attempt decides afresh
		res := tx.Model(&Check{}).Where("id = ? AND status IN ?", c.ID, []string{StatusQueued, StatusWaiting}).
			Updates(map[string]any{"status": status, "label": label, "checked_at": now, "updated_at": now})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		decided = true
		if status != StatusRisky || c.Kind == KindImage {
			return nil
		}
		// An urgent report is never hidden from its secretaries: flagged only.
		return s.flag(tx, c.Kind, c.RefID, c.Kind != KindUrgentReport)
	})
	if err != nil {
		return err
	}
	if c.Kind == KindImage && s.opts.Images != nil {
		var recorded Check
		if err := s.DB().WithContext(ctx).Take(&recorded, "id = ?", c.ID).Error; err != nil {
			return err
		}
		state := media.CheckPass
		if recorded.Status == StatusRisky {
			state = media.CheckRisky
		}
		if err := s.opts.Images.SetCheckState(ctx, c.RefID, state); err != nil {
			return err
		}
	}
	if decided && status == StatusRisky {
		s.tellAuthor(ctx, c)
	}
	return nil
}

// labels names what a risky thing was, for its author.
var labels = map[string]string{
	KindReport: "上报内容", KindUrgentReport: "紧急上报内容", KindDeed: "事迹", KindAnnouncement: "通知", KindTask: "任务",
	KindOrg: "组织名称", KindForm: "表单", KindFormEntry: "表单填报", KindMember: "姓名", KindImage: "图片",
}

// tellAuthor tells the author in the inbox that what they wrote or
// uploaded was found risky and is shown to nobody else.
func (s *Service) tellAuthor(ctx context.Context, c Check) {
	what := labels[c.Kind]
	body := "经内容安全检测，您提交的" + what + "可能含有违规信息，已对他人隐藏，仅您本人可见。"
	if c.Kind == KindUrgentReport {
		body = "经内容安全检测，您提交的紧急上报可能含有违规信息，已标记供书记核查。"
	}
	ref := c.Kind
	if c.Kind == KindUrgentReport {
		ref = KindReport
	}
	n := notify.Notification{UserID: c.AuthorID, Kind: notify.KindContentHidden, Title: "您的" + what + "未通过内容安全检测",
		Body: body, RefType: ref, RefID: c.RefID, DedupeKey: "content:" + strconv.FormatInt(c.ID, 10)}
	if err := s.opts.Notifier.Notify(context.WithoutCancel(ctx), []notify.Notification{n}); err != nil {
		s.Log().WarnContext(ctx, "could not tell an author their content was hidden", "check_id", c.ID, "err", err)
	}
}

// Sweep queues the text checks that are due (their job lost, or deferred
// again) and starts the checks of attached images not yet sent to WeChat.
func (s *Service) Sweep(ctx context.Context) (err error) {
	defer apperr.Annotate(&err, "contentsec.Sweep")
	const batch = 500
	now := s.Now()
	for after := int64(0); ; {
		var due []Check
		if err := s.DB().WithContext(ctx).Where("id > ? AND status = ? AND next_at <= ?", after, StatusQueued, now).
			Order("id").Limit(batch).Find(&due).Error; err != nil {
			return err
		}
		for _, c := range due {
			if err := s.jobs.dispatch(ctx, c.ID, now); err != nil {
				return err
			}
			after = c.ID
		}
		if len(due) < batch {
			break
		}
	}
	return s.startImages(ctx)
}
