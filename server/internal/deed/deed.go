// Package deed records outstanding deeds (典型事迹): nominated by a member
// about themselves or by a secretary about a member, reviewed by the branch,
// recommended up the tree, and commended by a committee, every step on a
// timeline and told to the people concerned.
package deed

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/audit"
	"xianfeng/server/internal/contentsec"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/media"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/service"
	"xianfeng/server/internal/text"
)

// Statuses of a deed.
const (
	StatusPending     = "pending"     // waiting for the branch's review
	StatusApproved    = "approved"    // approved by the branch
	StatusRecommended = "recommended" // recommended to a higher org, waiting there
	StatusCommended   = "commended"   // commended by a committee
	StatusRejected    = "rejected"
)

var statusLabels = map[string]string{StatusPending: "待审核", StatusApproved: "已审核", StatusRecommended: "已推荐", StatusCommended: "已表彰", StatusRejected: "未通过"}

// Deed is one nominated deed.
type Deed struct {
	ID           int64
	OrgID        int64
	UserID       int64
	NominatedBy  int64
	Title        string
	Content      string
	Links        string // "t:12,r:7": tasks and reports that back it
	Status       string
	CurrentOrgID int64
	Reason       string
	// ContentRisky and ContentHidden: a later content check found it
	// risky; it is shown to its nominator only.
	ContentRisky  bool
	ContentHidden bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// TableName is the deeds table.
func (Deed) TableName() string { return "deeds" }

// Concerns reports whether the deed is about userID or was nominated by
// them: they see it, and may take none of its steps.
func (d Deed) Concerns(userID int64) bool { return d.UserID == userID || d.NominatedBy == userID }

// Event is one step of a deed's path.
type Event struct {
	ID        int64
	DeedID    int64
	Kind      string
	OrgID     int64
	ActorID   int64
	Note      string
	CreatedAt time.Time
}

// TableName is the deed_events table.
func (Event) TableName() string { return "deed_events" }

// Orgs is what deeds need from the org tree: its scope rules and the
// secretaries to tell.
type Orgs = org.Secretariat

// Members finds a user's membership rows.
type Members interface {
	org.Badger
	ForUser(ctx context.Context, userID int64) ([]org.MembershipView, error)
}

// Media attaches uploaded photos in the service's transaction and shows
// them in its answers (media.Service).
type Media = media.Photos

// Options configure the service.
type Options struct {
	service.Deps
	// Notifier and Media are required.
	Notifier notify.Notifier
	Media    Media
	// Content checks title and content (contentsec); nil checks nothing.
	Content contentsec.Checker
}

// Service holds the rules of deeds.
type Service struct {
	service.Base
	orgs     Orgs
	members  Members
	notifier notify.Notifier
	media    Media
	sec      contentsec.Checker
}

// NewService returns the deed service.
func NewService(db *gorm.DB, orgs Orgs, members Members, opts Options) *Service {
	if opts.Notifier == nil || opts.Media == nil {
		panic("deed.NewService: Options.Notifier and Media are required")
	}
	return &Service{Base: service.New("deed.NewService", db, opts.Deps), orgs: orgs, members: members, notifier: opts.Notifier, media: opts.Media,
		sec: contentsec.Or(opts.Content)}
}

// Errors of the service.
var (
	ErrNotFound       = apperr.New(apperr.KindNotFound, "deed_not_found", "事迹不存在或无权查看")
	ErrMemberNotFound = apperr.New(apperr.KindNotFound, "member_not_found", "该党员不在您管理的组织中")
	ErrTransition     = apperr.New(apperr.KindConflict, "invalid_transition", "该事迹当前状态不允许此操作")
	ErrAtRoot         = apperr.New(apperr.KindRule, "already_at_root", "已是最高一级组织，无法继续推荐")
	ErrNotCommittee   = apperr.New(apperr.KindRule, "commend_needs_committee", "只有党委可以表彰，请继续向上推荐")
	ErrSelf           = apperr.New(apperr.KindForbidden, "cannot_act_on_self", "不能审核、推荐或表彰本人的事迹或本人提名的事迹，请由其他书记处理")
)

// MaxLinks caps the tasks and reports one deed links, together; openapi.yaml
// gives the same limit. 40 links of the longest ids fit the links column
// (1000 characters).
const MaxLinks = 40

// Input is a new deed.
type Input struct {
	Title     string
	Content   string
	UserID    int64 // 0 = the caller, about themselves
	TaskIDs   []int64
	ReportIDs []int64
	// MediaIDs are photos the nominator uploaded (media.MaxPerOwner at most).
	MediaIDs []int64
}

// Create nominates a deed: a member about themselves, or a secretary about
// a member of an org they manage. Linked tasks must be ones the member was
// assigned, linked reports ones they filed.
func (s *Service) Create(ctx context.Context, actorID int64, in Input) (_ Deed, err error) {
	defer apperr.Annotate(&err, "deed.Create")
	f := map[string]string{}
	if msg := text.Problem(in.Title, 1, 100); msg != "" {
		f["title"] = msg
	}
	if msg := text.Problem(in.Content, 1, 10000); msg != "" {
		f["content"] = msg
	}
	if len(in.TaskIDs)+len(in.ReportIDs) > MaxLinks {
		f["task_ids"] = fmt.Sprintf("任务与上报合计最多关联 %d 项", MaxLinks)
	}
	if len(f) > 0 {
		return Deed{}, apperr.Invalid("参数错误", f)
	}
	if err := media.CheckIDs(in.MediaIDs); err != nil {
		return Deed{}, err
	}
	checks, err := contentsec.Fields(ctx, s.sec, actorID, contentsec.KindDeed, "title", in.Title, "content", in.Content)
	if err != nil {
		return Deed{}, err
	}
	subject := in.UserID
	if subject == 0 {
		subject = actorID
	}
	var orgID int64
	if subject == actorID {
		m, err := s.members.Badge(ctx, actorID, 0)
		if errors.Is(err, org.ErrMembershipAbsent) {
			return Deed{}, ErrMemberNotFound
		}
		if err != nil {
			return Deed{}, err
		}
		orgID = m.OrgID
	} else {
		ms, err := s.members.ForUser(ctx, subject)
		if err != nil {
			return Deed{}, err
		}
		now := s.Now()
		for _, m := range ms {
			if !m.Live(now) || m.SecondedFrom != nil {
				continue
			}
			ok, err := s.orgs.Manages(ctx, actorID, m.OrgID)
			if err != nil {
				return Deed{}, err
			}
			if ok {
				orgID = m.OrgID
				break
			}
		}
		if orgID == 0 {
			return Deed{}, ErrMemberNotFound
		}
	}
	db := s.DB().WithContext(ctx)
	tasks, err := links(db.Table("assignments").Where("user_id = ?", subject), "task_id", in.TaskIDs, "t:", "task_ids", "只能关联该党员承担的任务")
	if err != nil {
		return Deed{}, err
	}
	reports, err := links(db.Table("reports").Where("reporter_id = ?", subject), "id", in.ReportIDs, "r:", "report_ids", "只能关联该党员的上报")
	if err != nil {
		return Deed{}, err
	}
	linked := append(tasks, reports...)
	now := s.Now()
	d := Deed{OrgID: orgID, UserID: subject, NominatedBy: actorID, Title: strings.TrimSpace(in.Title), Content: strings.TrimSpace(in.Content),
		Links: strings.Join(linked, ","), Status: StatusPending, CurrentOrgID: orgID, CreatedAt: now, UpdatedAt: now}
	err = database.Transact(ctx, s.DB(), func(tx *gorm.DB) error {
		d.ID = 0 // a retried transaction inserts afresh
		if err := tx.Create(&d).Error; err != nil {
			return err
		}
		if err := s.media.Attach(tx, actorID, in.MediaIDs, media.OwnerDeed, d.ID); err != nil {
			return err
		}
		if err := contentsec.Record(tx, d.ID, checks...); err != nil {
			return err
		}
		return tx.Create(&Event{DeedID: d.ID, Kind: "nominated", OrgID: orgID, ActorID: actorID, CreatedAt: now}).Error
	})
	if err != nil {
		return Deed{}, err
	}
	s.tell(ctx, d, "新的典型事迹待审核", true)
	return d, nil
}

// links checks that every one of ids is a row of mine (the subject's own
// assignments or reports), by its column col, and returns them as links
// with prefix; any other id is answered as a problem of field.
func links(mine *gorm.DB, col string, ids []int64, prefix, field, problem string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	ids = dedupe(ids)
	var n int64
	if err := mine.Where(col+" IN ?", ids).Count(&n).Error; err != nil {
		return nil, err
	}
	if int(n) != len(ids) {
		return nil, apperr.Invalid("参数错误", map[string]string{field: problem})
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = prefix + strconv.FormatInt(id, 10)
	}
	return out, nil
}

func dedupe(ids []int64) []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// tell notifies the people concerned: the member, the nominator and, when
// the deed waits for a decision, the secretaries where it waits.
func (s *Service) tell(ctx context.Context, d Deed, title string, secretaries bool) {
	ctx = context.WithoutCancel(ctx)
	users := []int64{d.UserID}
	if d.NominatedBy != d.UserID {
		users = append(users, d.NominatedBy)
	}
	if secretaries {
		secs, err := s.orgs.Secretaries(ctx, d.CurrentOrgID)
		if err == nil {
			users = append(users, secs...)
		}
	}
	o, _ := s.orgs.Get(ctx, d.CurrentOrgID)
	key := "deed:" + strconv.FormatInt(d.ID, 10) + ":" + d.Status + ":" + strconv.FormatInt(d.CurrentOrgID, 10)
	seen := map[int64]bool{}
	var ns []notify.Notification
	for _, u := range users {
		if seen[u] {
			continue
		}
		seen[u] = true
		ns = append(ns, notify.Notification{UserID: u, Kind: notify.KindDeedUpdate, Title: title + "：" + d.Title,
			Body: "状态：" + statusLabels[d.Status], RefType: "deed", RefID: d.ID, DedupeKey: key,
			Data: map[string]string{"org": o.Name, "status": statusLabels[d.Status]}})
	}
	if err := s.notifier.Notify(ctx, ns); err != nil {
		s.Log().WarnContext(ctx, "could not notify about a deed", "deed_id", d.ID, "err", err)
	}
}

func (s *Service) load(ctx context.Context, id int64) (_ Deed, err error) {
	defer apperr.Annotate(&err, "deed.load(%d)", id)
	return database.Take[Deed](s.DB().WithContext(ctx), id, ErrNotFound)
}

// Act is one review step by a secretary who manages the org where the deed
// waits: approve, reject, recommend (to the parent org) or commend (a
// committee only). Nobody acts on a deed they are the member of or
// nominated, at any level (ErrSelf): another secretary who manages the org
// where it waits does, and where there is none the deed waits.
func (s *Service) Act(ctx context.Context, actorID, id int64, action, reason string) (_ Deed, err error) {
	defer apperr.Annotate(&err, "deed.Act(%d, %s)", id, action)
	if reason, err = text.Note("reason", reason, 200); err != nil {
		return Deed{}, err
	}
	d, err := s.load(ctx, id)
	if err != nil {
		return Deed{}, err
	}
	if d.Concerns(actorID) {
		return Deed{}, ErrSelf // they see the deed anyway: the refusal reveals nothing
	}
	ok, err := s.orgs.Manages(ctx, actorID, d.CurrentOrgID)
	if err != nil {
		return Deed{}, err
	}
	if !ok {
		if seen, _ := s.orgs.Manages(ctx, actorID, d.OrgID); seen {
			return Deed{}, apperr.ErrForbidden
		}
		return Deed{}, ErrNotFound
	}
	cur, err := s.orgs.Get(ctx, d.CurrentOrgID)
	if err != nil {
		return Deed{}, err
	}
	to, toOrg := "", d.CurrentOrgID
	var from []string
	switch action {
	case "approve":
		from, to = []string{StatusPending}, StatusApproved
	case "reject":
		from, to = []string{StatusPending, StatusApproved, StatusRecommended}, StatusRejected
	case "recommend":
		from, to = []string{StatusApproved, StatusRecommended}, StatusRecommended
	case "commend":
		from, to = []string{StatusApproved, StatusRecommended}, StatusCommended
	default:
		return Deed{}, apperr.Invalid("参数错误", map[string]string{"action": "未知操作"})
	}
	okFrom := false
	for _, f := range from {
		okFrom = okFrom || d.Status == f
	}
	if !okFrom {
		return Deed{}, ErrTransition
	}
	switch {
	case action == "recommend" && cur.ParentID == nil:
		return Deed{}, ErrAtRoot
	case action == "recommend":
		toOrg = *cur.ParentID
	case action == "commend" && cur.Kind != org.KindCommittee:
		return Deed{}, ErrNotCommittee
	}
	now := s.Now()
	err = database.Transact(ctx, s.DB(), func(tx *gorm.DB) error {
		updates := map[string]any{"status": to, "current_org_id": toOrg, "updated_at": now}
		if action == "reject" {
			updates["reason"] = reason
		}
		res := tx.Model(&Deed{}).Where("id = ? AND status = ? AND current_org_id = ?", d.ID, d.Status, d.CurrentOrgID).Updates(updates)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrTransition
		}
		if err := tx.Create(&Event{DeedID: d.ID, Kind: to, OrgID: toOrg, ActorID: actorID, Note: reason, CreatedAt: now}).Error; err != nil {
			return err
		}
		return audit.Write(tx, d.CurrentOrgID, actorID, "deed."+action, &d.UserID, map[string]any{"deed_id": d.ID, "to_org_id": toOrg})
	})
	if err != nil {
		if _, ok := apperr.As(err); ok {
			return Deed{}, err
		}
		return Deed{}, err
	}
	d, err = s.load(ctx, id)
	if err != nil {
		return Deed{}, err
	}
	s.tell(ctx, d, "典型事迹"+statusLabels[d.Status], to == StatusRecommended)
	return d, nil
}

// CanSee reports whether userID may see deed id, as Get decides
// (media.Viewer of deeds).
func (s *Service) CanSee(ctx context.Context, userID, id int64) (bool, error) {
	_, _, err := s.Get(ctx, userID, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Handles reports whether userID handles deed id: a secretary of the
// member's org or above it, who sees its photos while their verdict is
// pending (media's handler of deeds).
func (s *Service) Handles(ctx context.Context, userID, id int64) (_ bool, err error) {
	defer apperr.Annotate(&err, "deed.Handles(%d)", id)
	d, err := s.load(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && contentsec.Hidden(d.ContentHidden, d.NominatedBy, userID)) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return s.orgs.Manages(ctx, userID, d.OrgID)
}

// Get returns a deed and its path, to the member, the nominator, or a
// secretary above the member's org.
func (s *Service) Get(ctx context.Context, userID, id int64) (_ Deed, _ []Event, err error) {
	defer apperr.Annotate(&err, "deed.Get(%d)", id)
	d, err := s.load(ctx, id)
	if err != nil {
		return Deed{}, nil, err
	}
	if contentsec.Hidden(d.ContentHidden, d.NominatedBy, userID) {
		return Deed{}, nil, ErrNotFound
	}
	if !d.Concerns(userID) {
		if _, err := org.Managed(ctx, s.orgs, userID, d.OrgID, d, ErrNotFound); err != nil {
			return Deed{}, nil, err
		}
	}
	var evs []Event
	if err := s.DB().WithContext(ctx).Where("deed_id = ?", id).Order("id").Find(&evs).Error; err != nil {
		return Deed{}, nil, err
	}
	return d, evs, nil
}

// List returns a page of the deeds of members in an org's subtree, newest
// first, before the deed id before (0: from the newest).
func (s *Service) List(ctx context.Context, userID, orgID int64, status string, before int64, limit int) (paging.Page[Deed], error) {
	rows, err := s.list(ctx, userID, orgID, status, before, limit+1)
	return paging.Trim(rows, limit, func(d Deed) int64 { return d.ID }), err
}

// list returns up to limit deeds for List.
func (s *Service) list(ctx context.Context, userID, orgID int64, status string, before int64, limit int) (_ []Deed, err error) {
	defer apperr.Annotate(&err, "deed.List(%d)", orgID)
	if _, err := s.orgs.RequireManager(ctx, userID, orgID); err != nil {
		return nil, err
	}
	q := s.DB().WithContext(ctx).Scopes(org.InSubtree("org_id", orgID), contentsec.Shown("nominated_by", userID))
	if status != "" {
		q = q.Where("status = ?", status)
	}
	return database.Newest[Deed](q, before, limit)
}
