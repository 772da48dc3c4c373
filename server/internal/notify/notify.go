// Package notify delivers notifications to members. Every notification is
// written to the member's in-app inbox; push delivery through WeChat
// subscribe messages comes behind the same Notifier.
package notify

import (
	"context"
	"log/slog"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"xianfeng/server/internal/apperr"
)

// Kinds of notification; each can map to a subscribe-message template.
const (
	KindTaskAssigned    = "task_assigned"
	KindTaskReminder    = "task_reminder"
	KindTaskOverdue     = "task_overdue"
	KindTaskCancelled   = "task_cancelled"
	KindMemberApproved  = "member_approved"
	KindAnnouncement    = "announcement"
	KindReportReceived  = "report_received"
	KindReportEscalated = "report_escalated"
	KindDeedUpdate      = "deed_update"
	KindFormPublished   = "form_published"
	KindFormReminder    = "form_reminder"
	// KindContentHidden tells an author that what they wrote or uploaded
	// failed WeChat's content security check and is hidden from others.
	KindContentHidden = "content_hidden"
)

// Kinds returns every kind, in the order the subscriptions list shows them.
// The configuration's templates are checked against it at start
// (config.Config.CheckNotifyKinds).
func Kinds() []string {
	return []string{KindTaskAssigned, KindTaskReminder, KindTaskOverdue, KindTaskCancelled, KindMemberApproved,
		KindAnnouncement, KindReportReceived, KindReportEscalated, KindDeedUpdate, KindFormPublished, KindFormReminder, KindContentHidden}
}

// Template is the WeChat subscribe-message template of one kind: its id
// (empty: inbox only), the mini-program page it opens, and how its data
// fields are filled from the notification ({{title}}, {{body}}, {{due}},
// {{org}}, …). It has the fields of config.Template, which converts to it.
type Template struct {
	ID     string
	Page   string
	Fields map[string]string
}

// Notification is one message for one member. DedupeKey makes sending
// idempotent: the same key for the same user is stored once, so a job that
// is retried after a crash does not notify twice.
type Notification struct {
	ID        int64
	UserID    int64
	Kind      string
	Title     string
	Body      string
	RefType   string
	RefID     int64
	DedupeKey string
	// PushGroup, when set, groups notifications whose pushes coalesce (see
	// PushOptions.Coalesce), e.g. the reports of one reporter to one
	// secretary.
	PushGroup string
	// Data fills template fields ({{org}}, {{due}}, …) beside title and body.
	Data          map[string]string `gorm:"-"`
	Vars          string            // Data as stored
	Delivery      string
	DeliveryError string
	AttemptedAt   *time.Time
	SentAt        *time.Time
	ReadAt        *time.Time
	CreatedAt     time.Time
}

// TableName is the notifications table.
func (Notification) TableName() string { return "notifications" }

// Notifier sends notifications. Implementations must be idempotent per
// (UserID, DedupeKey) and safe for concurrent use.
type Notifier interface {
	Notify(ctx context.Context, ns []Notification) error
}

// Enqueuer hands stored notifications to the push workers.
type Enqueuer interface {
	EnqueuePush(ctx context.Context, ids []int64) error
}

// Inbox is the Notifier: it writes every notification to the in-app inbox
// and, when a pusher and enqueuer are set, queues the pushable ones for
// WeChat delivery.
type Inbox struct {
	db     *gorm.DB
	pusher *Pusher
	queue  Enqueuer
	log    *slog.Logger
	now    func() time.Time
}

// InboxOptions configure the inbox.
type InboxOptions struct {
	// Log is required.
	Log *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Pusher and Queue, when both set, make the inbox queue pushable
	// notifications for WeChat delivery; without them it is inbox only.
	Pusher *Pusher
	Queue  Enqueuer
}

// NewInbox returns the in-app inbox on db.
func NewInbox(db *gorm.DB, opts InboxOptions) *Inbox {
	if opts.Log == nil {
		panic("notify.NewInbox: InboxOptions.Log is required")
	}
	clock := opts.Now
	if clock == nil {
		clock = time.Now
	}
	return &Inbox{db: db, pusher: opts.Pusher, queue: opts.Queue, log: opts.Log, now: func() time.Time { return clock().UTC() }}
}

var _ Notifier = (*Inbox)(nil)

// Notify writes the notifications in batches, skipping any the user already
// has under the same dedupe key.
func (in *Inbox) Notify(ctx context.Context, ns []Notification) (err error) {
	defer apperr.Annotate(&err, "notify.Notify")
	if len(ns) == 0 {
		return nil
	}
	now := in.now()
	db := in.db.WithContext(ctx)
	// A thousand at a time, each queued for push once written, so that the
	// first messages go out while the rest are being written.
	for start := 0; start < len(ns); start += 1000 {
		part := ns[start:min(start+1000, len(ns))]
		keys := map[string]bool{}
		var users []int64
		for i := range part {
			if in.prepare(&part[i], now) {
				keys[part[i].DedupeKey] = true
				users = append(users, part[i].UserID)
			}
		}
		if err := db.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(part, 500).Error; err != nil {
			return err
		}
		if in.queue == nil || len(users) == 0 {
			continue
		}
		dedupe := make([]string, 0, len(keys))
		for k := range keys {
			dedupe = append(dedupe, k)
		}
		var ids []int64
		if err := db.Model(&Notification{}).Where("dedupe_key IN ? AND user_id IN ? AND delivery = ?", dedupe, users, DeliveryQueued).
			Pluck("id", &ids).Error; err != nil {
			return err
		}
		in.enqueue(ctx, ids)
	}
	return nil
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
