// Package media keeps the photos members attach to reports, deeds, task
// check-ins and completions and form entries: uploads recognised by their
// content, re-encoded without their metadata (EXIF, GPS position) and
// thumbnailed; stored on local disk or in an S3-compatible store; attached
// by id once to one thing; shown through short-lived signed URLs to whoever
// may see that thing; and deleted when nobody attached them within a day.
package media

import (
	"context"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/service"
)

// Check states of a media item (content security). A risky item is hidden
// from everyone but its uploader.
const (
	CheckPending = "pending"
	CheckPass    = "pass"
	CheckRisky   = "risky"
)

// Owner kinds: what a media item can be attached to. The owner id is the
// report's, the deed's, the assignment's (check-in and completion) or the
// form entry's.
const (
	OwnerReport       = "report"
	OwnerDeed         = "deed"
	OwnerTaskCheckin  = "task_checkin"
	OwnerTaskComplete = "task_complete"
	OwnerFormEntry    = "form_entry"
)

// MaxPerOwner caps the media attached to one thing (a WeChat photo picker's
// nine).
const MaxPerOwner = 9

// Unattached is how long an upload may wait to be attached before the
// sweep deletes it.
const Unattached = 24 * time.Hour

// Media is one stored image and its thumbnail.
type Media struct {
	ID          int64
	UserID      int64
	Key         string `gorm:"column:object_key"`
	ThumbKey    string
	ContentType string
	Bytes       int64
	Width       int
	Height      int
	SHA256      string `gorm:"column:sha256"`
	CheckState  string
	AttachedAt  *time.Time
	CreatedAt   time.Time
}

// TableName is the media table.
func (Media) TableName() string { return "media" }

// Link attaches one media item to its owner; a media item has one link at most.
type Link struct {
	ID        int64
	MediaID   int64
	OwnerKind string
	OwnerID   int64
	Position  int
	CreatedAt time.Time
}

// TableName is the media_links table.
func (Link) TableName() string { return "media_links" }

// Errors of the package, each with its stable code.
var (
	ErrNotFound      = apperr.New(apperr.KindNotFound, "media_not_found", "图片不存在或无权查看")
	ErrUnsupported   = apperr.New(apperr.KindUnsupported, "unsupported_media_type", "仅支持 JPEG、PNG 或 WebP 图片")
	ErrUndecodable   = apperr.New(apperr.KindInvalid, "image_undecodable", "图片已损坏或无法识别")
	ErrTooManyPixels = apperr.New(apperr.KindInvalid, "image_too_many_pixels", "图片像素过多，请压缩后再上传")
	ErrTooLarge      = apperr.New(apperr.KindTooLarge, "payload_too_large", "图片过大")
	ErrNoFile        = apperr.Invalid("参数错误", map[string]string{"file": "请用 multipart/form-data 的 file 字段上传图片"})
	ErrTooMany       = apperr.New(apperr.KindRule, "too_many_media", "最多附 9 张图片")
	ErrNotYours      = apperr.New(apperr.KindRule, "media_not_found", "图片不存在或不是您上传的")
	ErrAttached      = apperr.New(apperr.KindRule, "media_already_attached", "图片已附在其他内容上，请重新上传")
	ErrUnknownState  = apperr.Invalid("参数错误", map[string]string{"check_state": "应为 pending、pass 或 risky"})
)

// Options configure the service.
type Options struct {
	service.Deps
	// Store keeps the bytes; Signer signs the URLs.
	Store  Store
	Signer *Signer
	// MaxBytes bounds an upload's file; MaxPixels its width × height.
	MaxBytes  int64
	MaxPixels int64
	// Decoders is how many images are decoded at once in this process.
	Decoders int
	// URLTTL is how long a signed URL works.
	URLTTL time.Duration
	// BasePath is where the media routes are mounted, e.g. "/api/v1".
	BasePath string
	// Checked makes every attached item wait for its content-security
	// verdict (CheckPending) until SetCheckState records it.
	Checked bool
	// Attached, when set with Checked, is told the items an attaching
	// transaction attached, right after it commits, to start their checks
	// (a failure is logged: the periodic check sweep starts them too).
	Attached func(ctx context.Context, ids []int64) error
}

// Service holds the rules of media.
type Service struct {
	service.Base
	opts   Options
	decode chan struct{}
}

// Viewer reports whether a user may see the owner (of one kind) with that
// id, by the rules of the owner's own package.
type Viewer func(ctx context.Context, userID, ownerID int64) (bool, error)

// NewService returns the media service.
func NewService(db *gorm.DB, opts Options) *Service {
	if opts.Store == nil || opts.Signer == nil {
		panic("media.NewService: Options.Store and Signer are required")
	}
	if opts.Decoders < 1 {
		opts.Decoders = 1
	}
	return &Service{Base: service.New("media.NewService", db, opts.Deps), opts: opts,
		decode: make(chan struct{}, opts.Decoders)}
}

// Access returns the service that serves media to viewers: viewers gives,
// for each owner kind, who may see an owner of that kind. The uploader
// always may. handlers gives, for the kinds shown in public places (a
// deed), who handles an owner: they also see its items still pending.
func (s *Service) Access(viewers, handlers map[string]Viewer) *Access {
	return &Access{svc: s, viewers: viewers, handlers: handlers}
}

func (s *Service) load(ctx context.Context, id int64) (Media, error) {
	return database.Take[Media](s.DB().WithContext(ctx), id, ErrNotFound)
}

// SetCheckState records the content-security verdict of a media item:
// pending, pass or risky. A risky item is shown to its uploader only.
func (s *Service) SetCheckState(ctx context.Context, id int64, state string) (err error) {
	defer apperr.Annotate(&err, "media.SetCheckState(%d)", id)
	switch state {
	case CheckPending, CheckPass, CheckRisky:
	default:
		return ErrUnknownState
	}
	res := s.DB().WithContext(ctx).Model(&Media{}).Where("id = ?", id).Update("check_state", state)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		// MySQL counts changed rows, not matched ones: the same state again
		// affects none.
		_, err := s.load(ctx, id)
		return err
	}
	return nil
}

// Get returns a media item by id, whoever uploaded it: for the content
// security checks, which need its uploader and its bytes.
func (s *Service) Get(ctx context.Context, id int64) (Media, error) {
	return s.load(ctx, id)
}

// Visible reports whether viewer may be shown m where m is attached: a
// risky item only to its uploader.
func Visible(m Media, viewer int64) bool {
	return m.CheckState != CheckRisky || m.UserID == viewer
}

// public are the owner kinds shown in public places (a commended deed):
// there an item waiting for its verdict shows to its uploader and to the
// people handling its owner (the secretaries reviewing a deed) only.
var public = map[string]bool{OwnerDeed: true}

// VisibleAt is Visible where m is attached to an owner of kind: an item
// still pending shows to its uploader and to the people handling its
// owner (handles); elsewhere than in a public place, to everyone who may
// see the owner, since they all handle it.
func VisibleAt(m Media, kind string, viewer int64, handles bool) bool {
	if public[kind] && m.CheckState == CheckPending && m.UserID != viewer && !handles {
		return false
	}
	return Visible(m, viewer)
}

// Unchecked returns up to limit attached items waiting for their
// content-security verdict, with ids above after, in id order; among ids
// only, when ids are given.
func (s *Service) Unchecked(ctx context.Context, after int64, limit int, ids ...int64) (_ []Media, err error) {
	defer apperr.Annotate(&err, "media.Unchecked")
	var ms []Media
	q := s.DB().WithContext(ctx).Where("id > ? AND check_state = ? AND attached_at IS NOT NULL", after, CheckPending)
	if len(ids) > 0 {
		q = q.Where("id IN ?", ids)
	}
	err = q.Order("id").Limit(limit).Find(&ms).Error
	return ms, err
}
