package notify

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/paging"
)

// prepare makes n ready to be stored at now: clipped, its data encoded, its
// delivery queued if it can be pushed (then it reports true), else inbox only.
func (in *Inbox) prepare(n *Notification, now time.Time) bool {
	n.ID = 0
	n.CreatedAt = now
	n.Title = clip(n.Title, 100)
	n.Body = clip(n.Body, 500)
	n.Vars = ""
	if len(n.Data) > 0 {
		b, _ := json.Marshal(n.Data)
		if len(b) <= 1000 {
			n.Vars = string(b)
		}
	}
	n.Delivery = DeliveryNoConsent
	if in.pusher.Pushable(n.Kind) {
		n.Delivery = DeliveryQueued
		return true
	}
	return false
}

// enqueue hands stored notifications to the push workers; when the queue
// is down they stay queued in the database and the sweeper enqueues them.
func (in *Inbox) enqueue(ctx context.Context, ids []int64) {
	if len(ids) == 0 {
		return
	}
	if err := in.queue.EnqueuePush(context.WithoutCancel(ctx), ids); err != nil {
		in.log.WarnContext(ctx, "could not enqueue pushes; the sweeper will", "count", len(ids), "err", err)
	}
}

// SetNotifier is a Notifier that can also write one notification to each
// of a set of users that a query selects, in one statement (see
// Inbox.NotifyEach).
type SetNotifier interface {
	Notifier
	NotifyEach(ctx context.Context, n Notification, users *gorm.DB) error
}

var _ SetNotifier = (*Inbox)(nil)

// notificationCols are the columns NotifyEach writes, in its select's order.
var notificationCols = []string{"user_id", "kind", "title", "body", "ref_type", "ref_id", "dedupe_key", "push_group",
	"vars", "delivery", "delivery_error", "created_at"}

// NotifyEach writes n to every user that users selects (a gorm subquery
// whose one column is user_id, e.g. the assignments of a task), in one
// statement whatever their number, skipping a user who already has n's
// dedupe key: run again after a crash, it writes only what is missing. The
// pushable notifications still queued (those of this run and those a crashed
// run left) are then handed to the push workers, as Notify does.
func (in *Inbox) NotifyEach(ctx context.Context, n Notification, users *gorm.DB) (err error) {
	defer apperr.Annotate(&err, "notify.NotifyEach(%s)", n.DedupeKey)
	pushable := in.prepare(&n, in.now())
	db := in.db.WithContext(ctx)
	_, err = database.InsertSelect(db, "notifications", notificationCols,
		"SELECT u.user_id, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ? FROM (?) AS u WHERE true",
		n.Kind, n.Title, n.Body, n.RefType, n.RefID, n.DedupeKey, n.PushGroup, n.Vars, n.Delivery, n.CreatedAt, users)
	if err != nil || !pushable || in.queue == nil {
		return err
	}
	var ids []int64
	if err := db.Model(&Notification{}).Where("user_id IN (?) AND dedupe_key = ? AND delivery = ?", users, n.DedupeKey, DeliveryQueued).
		Order("id").Pluck("id", &ids).Error; err != nil {
		return err
	}
	in.enqueue(ctx, ids)
	return nil
}

// ErrNotFound is a notification that is not the caller's.
var ErrNotFound = apperr.New(apperr.KindNotFound, "notification_not_found", "消息不存在")

// List returns a page of a user's notifications, newest first, before the
// notification id before (0: from the newest), optionally only unread; and
// how many of them are unread.
func (in *Inbox) List(ctx context.Context, userID int64, unreadOnly bool, before int64, limit int) (_ paging.Page[Notification], _ int64, err error) {
	defer apperr.Annotate(&err, "notify.List(%d)", userID)
	db := in.db.WithContext(ctx)
	q := db.Where("user_id = ?", userID)
	if unreadOnly {
		q = q.Where("read_at IS NULL")
	}
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	var out []Notification
	if err := q.Order("id DESC").Limit(limit + 1).Find(&out).Error; err != nil {
		return paging.Page[Notification]{}, 0, err
	}
	var unread int64
	if err := db.Model(&Notification{}).Where("user_id = ? AND read_at IS NULL", userID).Count(&unread).Error; err != nil {
		return paging.Page[Notification]{}, 0, err
	}
	return paging.Trim(out, limit, func(n Notification) int64 { return n.ID }), unread, nil
}

// Read marks one of the user's notifications read and returns it.
func (in *Inbox) Read(ctx context.Context, userID, id int64) (_ Notification, err error) {
	defer apperr.Annotate(&err, "notify.Read(%d)", id)
	db := in.db.WithContext(ctx)
	if err := db.Model(&Notification{}).Where("id = ? AND user_id = ? AND read_at IS NULL", id, userID).
		Update("read_at", in.now()).Error; err != nil {
		return Notification{}, err
	}
	var n Notification
	err = db.Take(&n, "id = ? AND user_id = ?", id, userID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Notification{}, ErrNotFound
	}
	return n, err
}

// ReadRef marks the user's notifications about one thing read (opening an
// announcement reads its notification).
func (in *Inbox) ReadRef(ctx context.Context, userID int64, refType string, refID int64) error {
	return in.db.WithContext(ctx).Model(&Notification{}).
		Where("user_id = ? AND ref_type = ? AND ref_id = ? AND read_at IS NULL", userID, refType, refID).
		Update("read_at", in.now()).Error
}

// ReadAll marks all the user's notifications read.
func (in *Inbox) ReadAll(ctx context.Context, userID int64) (_ int64, err error) {
	defer apperr.Annotate(&err, "notify.ReadAll(%d)", userID)
	res := in.db.WithContext(ctx).Model(&Notification{}).Where("user_id = ? AND read_at IS NULL", userID).
		Update("read_at", in.now())
	if res.Error != nil {
		return 0, res.Error
	}
	return res.RowsAffected, nil
}

// Stats is how a batch of notifications (a task's assignments, an
// announcement) was delivered: pushed through WeChat, inbox only, failed,
// still on its way, and read.
type Stats struct {
	Total     int64 `json:"total"`
	Pushed    int64 `json:"pushed"`
	InboxOnly int64 `json:"inbox_only"`
	Failed    int64 `json:"failed"`
	Queued    int64 `json:"queued"`
	// Unconfirmed counts messages whose worker stopped after asking WeChat:
	// not sent again, and not known to have arrived.
	Unconfirmed int64 `json:"unconfirmed"`
	Read        int64 `json:"read"`
}

// BatchStats counts the delivery of the notifications of one kind about one thing.
func (in *Inbox) BatchStats(ctx context.Context, refType string, refID int64, kind string) (_ Stats, err error) {
	defer apperr.Annotate(&err, "notify.BatchStats(%s %d)", refType, refID)
	var rows []struct {
		Delivery string
		IsRead   bool
		N        int64
	}
	err = in.db.WithContext(ctx).Model(&Notification{}).
		Select("delivery, read_at IS NOT NULL AS is_read, COUNT(*) AS n").
		Where("ref_type = ? AND ref_id = ? AND kind = ?", refType, refID, kind).
		Group("delivery, read_at IS NOT NULL").Scan(&rows).Error
	if err != nil {
		return Stats{}, err
	}
	var s Stats
	for _, r := range rows {
		s.Total += r.N
		if r.IsRead {
			s.Read += r.N
		}
		switch r.Delivery {
		case DeliverySent:
			s.Pushed += r.N
		case DeliveryNoConsent:
			s.InboxOnly += r.N
		case DeliveryFailed:
			s.Failed += r.N
		case DeliveryUnconfirmed:
			s.Unconfirmed += r.N
		default:
			s.Queued += r.N
		}
	}
	return s, nil
}

// Withdraw stops the pushes still queued for a user about some things (the
// tasks of a membership that ended): they stay in the inbox, inbox only,
// with the reason. It runs in the caller's transaction.
func Withdraw(tx *gorm.DB, userID int64, refType string, refIDs []int64, reason string) (err error) {
	defer apperr.Annotate(&err, "notify.Withdraw(%d)", userID)
	for start := 0; start < len(refIDs); start += 500 {
		chunk := refIDs[start:min(start+500, len(refIDs))]
		err := tx.Model(&Notification{}).Where("user_id = ? AND ref_type = ? AND ref_id IN ? AND delivery = ?", userID, refType, chunk, DeliveryQueued).
			Updates(map[string]any{"delivery": DeliveryNoConsent, "delivery_error": clipReason("withdrawn: " + reason)}).Error
		if err != nil {
			return err
		}
	}
	return nil
}

// WithdrawAll stops every push still queued for the users (members left
// with no live membership anywhere): their notifications stay in the inbox,
// inbox only, with the reason. It runs in the caller's transaction.
func WithdrawAll(tx *gorm.DB, userIDs []int64, reason string) (err error) {
	defer apperr.Annotate(&err, "notify.WithdrawAll")
	for start := 0; start < len(userIDs); start += 500 {
		chunk := userIDs[start:min(start+500, len(userIDs))]
		err := tx.Model(&Notification{}).Where("user_id IN ? AND delivery = ?", chunk, DeliveryQueued).
			Updates(map[string]any{"delivery": DeliveryNoConsent, "delivery_error": clipReason("withdrawn: " + reason)}).Error
		if err != nil {
			return err
		}
	}
	return nil
}

// Unpushed returns notifications still queued after a minute: their push
// job was never enqueued or was lost. The sweeper re-enqueues them.
func (in *Inbox) Unpushed(ctx context.Context, limit int) ([]int64, error) {
	return in.Waiting(ctx, time.Minute, limit)
}

// Waiting returns notifications queued or being sent for at least minAge,
// oldest first.
func (in *Inbox) Waiting(ctx context.Context, minAge time.Duration, limit int) ([]int64, error) {
	var ids []int64
	err := in.db.WithContext(ctx).Model(&Notification{}).
		Where("delivery IN ? AND created_at <= ?", []string{DeliveryQueued, DeliverySending}, in.now().Add(-minAge)).
		Order("id").Limit(limit).Pluck("id", &ids).Error
	return ids, err
}
