// Package announce passes on instructions from above (学习传达上级指示精神):
// a secretary's announcement reaches every approved member in scope through
// the notification pipeline, and read receipts show who has not read it.
package announce

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/contentsec"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/service"
	"xianfeng/server/internal/text"
)

// Statuses of an announcement.
const (
	StatusSending = "sending" // notifications are being written
	StatusSent    = "sent"
)

// Announcement is a message from a secretary to the members of an org.
type Announcement struct {
	ID             int64
	OrgID          int64
	CreatedBy      int64
	Title          string
	Body           string
	IncludeSuborgs bool
	Status         string
	Recipients     int
	// ContentRisky and ContentHidden: a later content check found it
	// risky; it is shown to its author only.
	ContentRisky  bool
	ContentHidden bool
	CreatedAt     time.Time
}

// TableName is the announcements table.
func (Announcement) TableName() string { return "announcements" }

// Orgs is what announcements need from the org tree: its scope rules.
type Orgs interface {
	org.Scope
	// RequireMember returns the org if the user manages it or is a live
	// member of it, else org.ErrOrgNotFound.
	RequireMember(ctx context.Context, userID, orgID int64, now time.Time) (org.Org, error)
}

var _ Orgs = (*org.Service)(nil)

// Inbox is what announcements need from the notifications.
type Inbox interface {
	notify.Notifier
	ReadRef(ctx context.Context, userID int64, refType string, refID int64) error
	BatchStats(ctx context.Context, refType string, refID int64, kind string) (notify.Stats, error)
}

var _ Inbox = (*notify.Inbox)(nil)

// Dispatcher queues an announcement's fan-out.
type Dispatcher interface {
	Dispatch(ctx context.Context, id int64) error
}

// Options configure the service.
type Options struct {
	service.Deps
	// Dispatcher is required.
	Dispatcher Dispatcher
	// Content checks title and body (contentsec); nil checks nothing.
	Content contentsec.Checker
}

// Service holds the rules of announcements.
type Service struct {
	service.Base
	orgs  Orgs
	inbox Inbox
	disp  Dispatcher
	sec   contentsec.Checker
}

// NewService returns the announcement service.
func NewService(db *gorm.DB, orgs Orgs, inbox Inbox, opts Options) *Service {
	if inbox == nil || opts.Dispatcher == nil {
		panic("announce.NewService: the inbox and Options.Dispatcher are required")
	}
	return &Service{Base: service.New("announce.NewService", db, opts.Deps), orgs: orgs, inbox: inbox, disp: opts.Dispatcher,
		sec: contentsec.Or(opts.Content)}
}

// Errors of the service.
var ErrNotFound = apperr.New(apperr.KindNotFound, "announcement_not_found", "通知不存在或无权查看")

const refType = "announcement"

// Create records an announcement and queues its delivery; it answers at once
// with status "sending".
func (s *Service) Create(ctx context.Context, userID, orgID int64, title, body string, includeSuborgs bool) (_ Announcement, err error) {
	defer apperr.Annotate(&err, "announce.Create(%d)", orgID)
	f := map[string]string{}
	title, body = strings.TrimSpace(title), strings.TrimSpace(body)
	if msg := text.Problem(title, 1, 100); msg != "" {
		f["title"] = msg
	}
	if msg := text.Problem(body, 1, 10000); msg != "" {
		f["body"] = msg
	}
	if len(f) > 0 {
		return Announcement{}, apperr.Invalid("参数错误", f)
	}
	o, err := s.orgs.RequireManager(ctx, userID, orgID)
	if err != nil {
		return Announcement{}, err
	}
	if o.Ended(s.Now()) {
		return Announcement{}, org.ErrOrgEnded
	}
	checks, err := contentsec.Fields(ctx, s.sec, userID, contentsec.KindAnnouncement, "title", title, "body", body)
	if err != nil {
		return Announcement{}, err
	}
	a := Announcement{OrgID: orgID, CreatedBy: userID, Title: title, Body: body, IncludeSuborgs: includeSuborgs, Status: StatusSending, CreatedAt: s.Now()}
	if err := database.Transact(ctx, s.DB(), func(tx *gorm.DB) error {
		a.ID = 0 // a retried transaction inserts afresh
		if err := tx.Create(&a).Error; err != nil {
			return err
		}
		return contentsec.Record(tx, a.ID, checks...)
	}); err != nil {
		return Announcement{}, err
	}
	if err := s.disp.Dispatch(context.WithoutCancel(ctx), a.ID); err != nil {
		s.Log().WarnContext(ctx, "could not enqueue an announcement; the sweeper will", "announcement_id", a.ID, "err", err)
	}
	return a, nil
}

func (s *Service) load(ctx context.Context, id int64) (_ Announcement, err error) {
	defer apperr.Annotate(&err, "announce.load(%d)", id)
	return database.Take[Announcement](s.DB().WithContext(ctx), id, ErrNotFound)
}

// FanOut writes one notification per approved member in scope, in batches,
// and marks the announcement sent. It is safe to run again after a crash:
// notifications are unique per announcement and user.
func (s *Service) FanOut(ctx context.Context, id int64) (err error) {
	defer apperr.Annotate(&err, "announce.FanOut(%d)", id)
	a, err := s.load(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil || a.Status != StatusSending {
		return err
	}
	o, err := s.orgs.Get(ctx, a.OrgID)
	if err != nil {
		return err
	}
	db := s.DB().WithContext(ctx)
	dedupe := refType + ":" + strconv.FormatInt(a.ID, 10)
	body := []rune(a.Body)
	summary := string(body[:min(len(body), 120)])
	after := int64(0)
	for {
		var rows []struct {
			ID     int64
			UserID int64
		}
		q := db.Scopes(org.LiveMemberships(s.Now())).Select("m.id, m.user_id").Where("m.id > ?", after)
		if a.IncludeSuborgs {
			q = q.Scopes(org.InSubtree("m.org_id", a.OrgID))
		} else {
			q = q.Where("m.org_id = ?", a.OrgID)
		}
		if err := q.Order("m.id").Limit(1000).Scan(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			break
		}
		after = rows[len(rows)-1].ID
		ns := make([]notify.Notification, len(rows))
		for i, r := range rows {
			ns[i] = notify.Notification{UserID: r.UserID, Kind: notify.KindAnnouncement, Title: a.Title, Body: summary,
				RefType: refType, RefID: a.ID, DedupeKey: dedupe, Data: map[string]string{"org": o.Name}}
		}
		if err := s.inbox.Notify(ctx, ns); err != nil {
			return err
		}
	}
	var n int64
	if err := db.Model(&notify.Notification{}).Where("ref_type = ? AND ref_id = ? AND kind = ?", refType, a.ID, notify.KindAnnouncement).Count(&n).Error; err != nil {
		return err
	}
	return db.Model(&Announcement{}).Where("id = ? AND status = ?", a.ID, StatusSending).
		Updates(map[string]any{"status": StatusSent, "recipients": n}).Error
}

// List returns a page of an org's announcements, newest first, before the
// announcement id before (0: from the newest), for its secretaries and its
// live members.
func (s *Service) List(ctx context.Context, userID, orgID, before int64, limit int) (paging.Page[Announcement], error) {
	rows, err := s.list(ctx, userID, orgID, before, limit+1)
	return paging.Trim(rows, limit, func(a Announcement) int64 { return a.ID }), err
}

// list returns up to limit of an org's announcements for List.
func (s *Service) list(ctx context.Context, userID, orgID, before int64, limit int) (_ []Announcement, err error) {
	defer apperr.Annotate(&err, "announce.List(%d)", orgID)
	if _, err := s.orgs.RequireMember(ctx, userID, orgID, s.Now()); err != nil {
		return nil, err
	}
	q := s.DB().WithContext(ctx).Where("org_id = ?", orgID).Scopes(contentsec.Shown("created_by", userID))
	return database.Newest[Announcement](q, before, limit)
}

// Read returns an announcement to one of its recipients, marking it read,
// or to a secretary above its org.
func (s *Service) Read(ctx context.Context, userID, id int64) (_ Announcement, _ bool, err error) {
	defer apperr.Annotate(&err, "announce.Read(%d)", id)
	a, err := s.load(ctx, id)
	if err != nil {
		return Announcement{}, false, err
	}
	if contentsec.Hidden(a.ContentHidden, a.CreatedBy, userID) {
		return Announcement{}, false, ErrNotFound
	}
	var n int64
	if err := s.DB().WithContext(ctx).Model(&notify.Notification{}).
		Where("user_id = ? AND ref_type = ? AND ref_id = ?", userID, refType, id).Count(&n).Error; err != nil {
		return Announcement{}, false, err
	}
	if n > 0 {
		return a, false, s.inbox.ReadRef(ctx, userID, refType, id)
	}
	if _, err := org.Managed(ctx, s.orgs, userID, a.OrgID, a, ErrNotFound); err != nil {
		return Announcement{}, false, err
	}
	return a, true, nil
}

// Unread is a recipient who has not read an announcement.
type Unread struct {
	NotificationID int64
	UserID         int64
	Name           string
	Delivery       string
}

// Receipts returns how an announcement was delivered and read, and a page
// of at most limit of the recipients who have not read it (after the
// notification id after), for the secretaries above its org.
func (s *Service) Receipts(ctx context.Context, userID, id, after int64, limit int) (Announcement, notify.Stats, paging.Page[Unread], error) {
	a, st, unread, err := s.receipts(ctx, userID, id, after, limit+1)
	return a, st, paging.Trim(unread, limit, func(u Unread) int64 { return u.NotificationID }), err
}

// receipts is Receipts with up to limit unread recipients.
func (s *Service) receipts(ctx context.Context, userID, id, after int64, limit int) (_ Announcement, _ notify.Stats, _ []Unread, err error) {
	defer apperr.Annotate(&err, "announce.Receipts(%d)", id)
	a, err := s.load(ctx, id)
	if err == nil {
		a, err = org.Managed(ctx, s.orgs, userID, a.OrgID, a, ErrNotFound)
	}
	if err != nil {
		return Announcement{}, notify.Stats{}, nil, err
	}
	st, err := s.inbox.BatchStats(ctx, refType, a.ID, notify.KindAnnouncement)
	if err != nil {
		return Announcement{}, notify.Stats{}, nil, err
	}
	var unread []Unread
	err = s.DB().WithContext(ctx).Table("notifications AS n").
		Select(`n.id AS notification_id, n.user_id, n.delivery,
			`+org.MemberNameSQL("n.user_id")+` AS name`).
		Where("n.ref_type = ? AND n.ref_id = ? AND n.kind = ? AND n.read_at IS NULL AND n.id > ?", refType, a.ID, notify.KindAnnouncement, after).
		Order("n.id").Limit(limit).Scan(&unread).Error
	if err != nil {
		return Announcement{}, notify.Stats{}, nil, err
	}
	return a, st, unread, nil
}

// Sweep re-dispatches announcements left sending (the enqueue failed or the
// job was lost).
func (s *Service) Sweep(ctx context.Context) (err error) {
	defer apperr.Annotate(&err, "announce.Sweep")
	var ids []int64
	if err := s.DB().WithContext(ctx).Model(&Announcement{}).Where("status = ? AND created_at < ?", StatusSending, s.Now().Add(-30*time.Second)).
		Limit(100).Pluck("id", &ids).Error; err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.disp.Dispatch(ctx, id); err != nil {
			return err
		}
	}
	return nil
}
