package org

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/audit"
	"xianfeng/server/internal/contentsec"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/service"
	"xianfeng/server/internal/text"
)

// ClaimTTL is how long a bootstrap claim code stays valid.
const ClaimTTL = 24 * time.Hour

// Ender schedules the end of a temporary org at its end date.
type Ender interface {
	ScheduleEnd(ctx context.Context, orgID int64, at time.Time) error
}

// Options configure the service.
type Options struct {
	service.Deps
	// InviteTTL is how long an invite code works after it is made.
	InviteTTL time.Duration
	// Ender, when set, is told about every temporary org with an end date.
	Ender Ender
	// Notifier tells members their membership was approved; it is required.
	Notifier notify.Notifier
	// OnEnd, when set, closes what ended memberships held open, in the
	// transaction that ends them (see EndHook).
	OnEnd EndHook
	// Content checks org and member names (contentsec); nil checks nothing.
	Content contentsec.Checker
	// Changed, when set, is told after each committed change which users'
	// memberships it altered (the cached GET /me answers to drop). Every
	// app that serves /me sets it; a tool that only bootstraps orgs need not.
	Changed Invalidator
}

// Invalidator drops what is cached about users after a change to their
// memberships; an error means the cache may still hold the old answer.
type Invalidator interface {
	Invalidate(ctx context.Context, userIDs ...int64) error
}

// Invalidators tells several caches of what a change altered, each in
// turn; the error joins theirs, and one failing does not skip the others.
type Invalidators []Invalidator

// Invalidate implements Invalidator.
func (is Invalidators) Invalidate(ctx context.Context, userIDs ...int64) error {
	var errs []error
	for _, i := range is {
		errs = append(errs, i.Invalidate(ctx, userIDs...))
	}
	return errors.Join(errs...)
}

// Service holds the rules of orgs and memberships. Every method that takes
// an org id checks the caller's scope against it first.
type Service struct {
	service.Base
	store *Store
	opts  Options
}

// NewService returns the org service.
func NewService(store *Store, opts Options) *Service {
	if opts.Notifier == nil {
		panic("org.NewService: Options.Notifier is required")
	}
	opts.Content = contentsec.Or(opts.Content)
	return &Service{Base: service.New("org.NewService", store.db, opts.Deps), store: store, opts: opts}
}

// Store returns the service's store, for read-only use by other packages.
func (s *Service) Store() *Store { return s.store }

// Errors of the service.
var (
	ErrClaimInvalid     = apperr.New(apperr.KindNotFound, "claim_invalid", "认领码无效、已使用或已过期")
	ErrInviteInvalid    = apperr.New(apperr.KindNotFound, "invite_invalid", "邀请码无效或已过期，请向支部书记索取新的邀请码")
	ErrAlreadyMember    = apperr.New(apperr.KindConflict, "already_member", "您已申请加入该组织，请勿重复提交")
	ErrTransition       = apperr.New(apperr.KindConflict, "invalid_transition", "该成员当前状态不允许此操作")
	ErrNotApproved      = apperr.New(apperr.KindConflict, "not_approved", "该成员尚未通过审核")
	ErrSelf             = apperr.New(apperr.KindForbidden, "cannot_act_on_self", "不能对自己执行此操作")
	ErrOrgEnded         = apperr.New(apperr.KindRule, "org_ended", "该临时党组织已结束")
	ErrNotTemporary     = apperr.New(apperr.KindRule, "not_temporary", "只有临时党组织可以执行此操作")
	ErrChildKind        = apperr.New(apperr.KindRule, "child_kind_not_allowed", "该组织下不能设立此类组织")
	ErrMembershipAbsent = apperr.New(apperr.KindNotFound, "badge_not_found", "您还没有通过审核的党员身份")
)

// level is how much a user may do with an org.
type level int

const (
	levelNone    level = iota // unrelated: the org's existence is private (404)
	levelPending              // applied, not yet approved: knows it exists (403)
	levelMember               // approved member of the org: reads it
	levelManager              // secretary of the org or an ancestor: manages it
)

// require loads the org and checks that the user has at least want on it.
func (s *Service) require(ctx context.Context, userID, orgID int64, want level) (Org, error) {
	o, err := s.store.Get(ctx, orgID)
	if err != nil {
		return Org{}, err
	}
	have := levelNone
	manages, err := s.store.Manages(ctx, userID, orgID)
	if err != nil {
		return Org{}, err
	}
	if manages {
		have = levelManager
	} else {
		m, err := s.store.Membership(ctx, orgID, userID)
		switch {
		case errors.Is(err, ErrMembershipNotFound):
		case err != nil:
			return Org{}, err
		case Live(m, o, s.Now()):
			have = levelMember
		case m.Status == StatusApproved, m.Status == StatusPending:
			have = levelPending
		}
	}
	switch {
	case have >= want:
		return o, nil
	case have == levelNone:
		return Org{}, ErrOrgNotFound
	default:
		return Org{}, apperr.ErrForbidden
	}
}

// Bootstrap creates a root org and a one-time claim code for its first
// secretary, valid for ClaimTTL.
func (s *Service) Bootstrap(ctx context.Context, name string, kind Kind) (_ Org, _ string, _ time.Time, err error) {
	defer apperr.Annotate(&err, "org.Bootstrap")
	if err := checkName("name", name, 100); err != nil {
		return Org{}, "", time.Time{}, err
	}
	if kind == "" {
		kind = KindCommittee
	}
	if !kind.Valid() || kind == KindTemporary {
		return Org{}, "", time.Time{}, apperr.Invalid("参数错误", map[string]string{"kind": "根组织应为 committee、general_branch 或 branch"})
	}
	o := Org{Name: strings.TrimSpace(name), Kind: kind}
	code := newCode(12)
	exp := s.Now().Add(ClaimTTL)
	err = s.store.tx(ctx, func(tx *gorm.DB) error {
		if err := insertOrg(tx, &o); err != nil {
			return err
		}
		return tx.Create(&claim{OrgID: o.ID, CodeHash: hashCode(code), ExpiresAt: exp, CreatedAt: s.Now()}).Error
	})
	if err != nil {
		return Org{}, "", time.Time{}, err
	}
	return o, groupCode(code), exp, nil
}

// Claim redeems a bootstrap claim code: the user becomes the approved
// secretary of its org, and the code stops working.
func (s *Service) Claim(ctx context.Context, userID int64, code, name string, badge Badge) (_ MembershipView, err error) {
	defer apperr.Annotate(&err, "org.Claim")
	c := normalizeCode(code)
	if c == "" {
		return MembershipView{}, ErrClaimInvalid
	}
	if name == "" {
		name = "书记"
	}
	if badge == "" {
		badge = BadgeFrontline
	}
	if err := checkName("name", name, 32); err != nil {
		return MembershipView{}, err
	}
	if !badge.Valid() {
		return MembershipView{}, badgeInvalid()
	}
	// The name is a member name others read, as a signup's is.
	check, err := s.opts.Content.Check(ctx, userID, contentsec.KindMember, "name", name)
	if err != nil {
		return MembershipView{}, err
	}
	now := s.Now()
	var mid int64
	err = s.store.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&claim{}).Where("code_hash = ? AND used_at IS NULL AND expires_at > ?", hashCode(c), now).
			Updates(map[string]any{"used_at": now, "used_by": userID})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return ErrClaimInvalid
		}
		var cl claim
		if err := tx.Take(&cl, "code_hash = ?", hashCode(c)).Error; err != nil {
			return err
		}
		m, err := getMembership(tx, cl.OrgID, userID)
		switch {
		case errors.Is(err, ErrMembershipNotFound):
			m = Membership{OrgID: cl.OrgID, UserID: userID, Name: strings.TrimSpace(name), Badge: badge,
				Role: RoleSecretary, Status: StatusApproved, BadgeVersion: 1, ApprovedAt: &now}
			if err := tx.Create(&m).Error; err != nil {
				return err
			}
			if err := contentsec.Record(tx, m.ID, check); err != nil {
				return err
			}
			if err := bump(tx, m.OrgID, StatusApproved, badge, 1); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			if err := moveCount(tx, m, StatusApproved, m.Badge); err != nil {
				return err
			}
			if err := tx.Model(&m).Updates(map[string]any{"role": RoleSecretary, "status": StatusApproved, "approved_at": now}).Error; err != nil {
				return err
			}
		}
		mid = m.ID
		return audit.Write(tx, cl.OrgID, userID, audit.ActionClaim, &userID, nil)
	})
	if err == nil {
		err = s.changed(ctx, userID)
	}
	if err != nil {
		return MembershipView{}, err
	}
	return s.store.MembershipByID(ctx, mid)
}

// ChildInput describes a new child org.
type ChildInput struct {
	Name   string
	Kind   Kind
	Post   *Post
	EndsAt *time.Time
}

// allowedChild says which kinds may sit under which.
var allowedChild = map[Kind][]Kind{
	KindCommittee:     {KindCommittee, KindGeneralBranch, KindBranch, KindTemporary},
	KindGeneralBranch: {KindBranch, KindTemporary},
	KindBranch:        {KindTemporary},
}

// CreateChild adds an org under parentID; the caller must manage the parent.
func (s *Service) CreateChild(ctx context.Context, userID, parentID int64, in ChildInput) (_ Org, err error) {
	defer apperr.Annotate(&err, "org.CreateChild")
	fields := map[string]string{}
	if err := checkName("name", in.Name, 100); err != nil {
		fields["name"] = err.(*apperr.Error).Fields["name"]
	}
	if !in.Kind.Valid() {
		fields["kind"] = "应为 committee、general_branch、branch 或 temporary"
	}
	if p := in.Post; p != nil {
		if field, msg := p.Problem(); msg != "" {
			fields["post"+field] = msg
		}
	}
	if in.EndsAt != nil && !in.EndsAt.After(s.Now()) {
		fields["ends_at"] = "结束时间应晚于现在"
	}
	if (in.Post != nil || in.EndsAt != nil) && in.Kind != KindTemporary && fields["kind"] == "" {
		fields["kind"] = "只有临时党组织可以设置岗位位置和结束时间"
	}
	if len(fields) > 0 {
		return Org{}, apperr.Invalid("参数错误", fields)
	}
	parent, err := s.require(ctx, userID, parentID, levelManager)
	if err != nil {
		return Org{}, err
	}
	if parent.Ended(s.Now()) {
		return Org{}, ErrOrgEnded
	}
	ok := false
	for _, k := range allowedChild[parent.Kind] {
		ok = ok || k == in.Kind
	}
	if !ok {
		return Org{}, ErrChildKind
	}
	check, err := s.opts.Content.Check(ctx, userID, contentsec.KindOrg, "name", in.Name)
	if err != nil {
		return Org{}, err
	}
	o := Org{ParentID: &parent.ID, Name: strings.TrimSpace(in.Name), Kind: in.Kind, Depth: parent.Depth + 1, EndsAt: in.EndsAt, CreatedBy: userID}
	if p := in.Post; p != nil {
		o.PostLat, o.PostLng, o.PostRadiusM, o.PostAddress = &p.Lat, &p.Lng, &p.RadiusM, strings.TrimSpace(p.Address)
	}
	err = s.store.tx(ctx, func(tx *gorm.DB) error {
		if err := insertOrg(tx, &o); err != nil {
			return err
		}
		if err := contentsec.Record(tx, o.ID, check); err != nil {
			return err
		}
		return audit.Write(tx, parent.ID, userID, audit.ActionCreateChild, nil, map[string]any{"org_id": o.ID, "name": o.Name, "kind": o.Kind})
	})
	if err != nil {
		return Org{}, err
	}
	if o.EndsAt != nil && s.opts.Ender != nil {
		if err := s.opts.Ender.ScheduleEnd(ctx, o.ID, *o.EndsAt); err != nil {
			// The sweeper ends it anyway; the exact-time job is a nicety.
			s.Log().WarnContext(ctx, "could not schedule the end of a temporary org", "org_id", o.ID, "err", err)
		}
	}
	return o, nil
}

// Detail is an org as its page shows it.
type Detail struct {
	Org      Org
	Children []Org
	// Members counts the org's own members; Subtree everything below too.
	Members  Counts
	Seconded int64
	Subtree  Counts
	// ChildCounts is each child's subtree counts.
	ChildCounts map[int64]Counts
	Manages     bool
}

// View returns an org with its children and member counts, for its approved
// members and the secretaries above it.
func (s *Service) View(ctx context.Context, userID, orgID int64) (Detail, error) {
	o, err := s.require(ctx, userID, orgID, levelMember)
	if err != nil {
		return Detail{}, err
	}
	d := Detail{Org: o}
	if d.Manages, err = s.store.Manages(ctx, userID, orgID); err != nil {
		return Detail{}, err
	}
	if d.Children, err = s.store.Children(ctx, orgID); err != nil {
		return Detail{}, err
	}
	if d.Members, d.Seconded, err = s.store.DirectCounts(ctx, orgID); err != nil {
		return Detail{}, err
	}
	ids := []int64{orgID}
	for _, c := range d.Children {
		ids = append(ids, c.ID)
	}
	counts, err := s.store.SubtreeCounts(ctx, ids)
	if err != nil {
		return Detail{}, err
	}
	d.Subtree = counts[orgID]
	delete(counts, orgID)
	d.ChildCounts = counts
	return d, nil
}

// Invite returns the org's current invite code, making a new one when there
// is none or it has expired.
func (s *Service) Invite(ctx context.Context, userID, orgID int64) (string, time.Time, error) {
	o, err := s.require(ctx, userID, orgID, levelManager)
	if err != nil {
		return "", time.Time{}, err
	}
	if o.Ended(s.Now()) {
		return "", time.Time{}, ErrOrgEnded
	}
	if o.InviteCode != nil && o.InviteExpiresAt != nil && o.InviteExpiresAt.After(s.Now()) {
		return groupCode(*o.InviteCode), *o.InviteExpiresAt, nil
	}
	return s.rotate(ctx, userID, o, false)
}

// RotateInvite replaces the org's invite code; the old one stops working.
func (s *Service) RotateInvite(ctx context.Context, userID, orgID int64) (string, time.Time, error) {
	o, err := s.require(ctx, userID, orgID, levelManager)
	if err != nil {
		return "", time.Time{}, err
	}
	return s.rotate(ctx, userID, o, true)
}

func (s *Service) rotate(ctx context.Context, userID int64, o Org, audited bool) (_ string, _ time.Time, err error) {
	defer apperr.Annotate(&err, "org.RotateInvite")
	if o.Ended(s.Now()) {
		return "", time.Time{}, ErrOrgEnded
	}
	code, exp := newCode(8), s.Now().Add(s.opts.InviteTTL)
	err = s.store.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&Org{}).Where("id = ?", o.ID).Updates(map[string]any{"invite_code": code, "invite_expires_at": exp}).Error; err != nil {
			return err
		}
		if !audited {
			return nil
		}
		return audit.Write(tx, o.ID, userID, audit.ActionRotateInvite, nil, nil)
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return groupCode(code), exp, nil
}

// Dissolve ends a temporary org now: its memberships end and seconded
// members are back to their home branch only. userID 0 is the system
// (the end date passed). Dissolving twice is harmless.
func (s *Service) Dissolve(ctx context.Context, userID, orgID int64) (_ Org, err error) {
	defer apperr.Annotate(&err, "org.Dissolve")
	var o Org
	if userID == 0 {
		o, err = s.store.Get(ctx, orgID)
	} else {
		o, err = s.require(ctx, userID, orgID, levelManager)
	}
	if err != nil {
		return Org{}, err
	}
	if o.Kind != KindTemporary {
		return Org{}, ErrNotTemporary
	}
	if o.DissolvedAt != nil {
		return o, nil
	}
	now := s.Now()
	var users []int64
	err = s.store.tx(ctx, func(tx *gorm.DB) error {
		users = nil // a retried transaction starts afresh
		res := tx.Model(&Org{}).Where("id = ? AND dissolved_at IS NULL", o.ID).Update("dissolved_at", now)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		ended, err := endMemberships(tx, now, "org_id = ?", o.ID)
		if err != nil {
			return err
		}
		for _, m := range ended {
			users = append(users, m.UserID)
		}
		if err := s.ended(tx, ended, now); err != nil {
			return err
		}
		return audit.Write(tx, o.ID, userID, audit.ActionDissolve, nil, map[string]any{"by_end_date": userID == 0})
	})
	if err == nil {
		err = s.changed(ctx, users...)
	}
	if err != nil {
		return Org{}, err
	}
	return s.store.Get(ctx, orgID)
}

// endMemberships marks the active memberships that the condition selects
// removed and takes them off the counters; it returns those it ended.
// changed tells Options.Changed that a committed change altered the
// memberships of users: every change to a membership ends here. It runs even
// if the request was cancelled, as the change was made.
func (s *Service) changed(ctx context.Context, userIDs ...int64) error {
	if s.opts.Changed == nil || len(userIDs) == 0 {
		return nil
	}
	return s.opts.Changed.Invalidate(context.WithoutCancel(ctx), userIDs...)
}

func endMemberships(tx *gorm.DB, now time.Time, cond string, args ...any) ([]Membership, error) {
	var ms []Membership
	if err := tx.Where(cond, args...).Where("status IN ?", []Status{StatusPending, StatusApproved}).Find(&ms).Error; err != nil {
		return nil, err
	}
	ended := ms[:0]
	for _, m := range ms {
		res := tx.Model(&Membership{}).Where("id = ? AND status = ?", m.ID, m.Status).
			Updates(map[string]any{"status": StatusRemoved, "ended_at": now, "role": RoleMember})
		if res.Error != nil {
			return nil, res.Error
		}
		if res.RowsAffected == 1 {
			if err := moveCount(tx, m, StatusRemoved, m.Badge); err != nil {
				return nil, err
			}
			ended = append(ended, m)
		}
	}
	return ended, nil
}

// ended runs the end hook, if any, on memberships that ended in tx, and
// stops every queued push of a member left with no live membership: from
// the removal on, nothing more reaches them as a member.
func (s *Service) ended(tx *gorm.DB, ms []Membership, now time.Time) error {
	if len(ms) == 0 {
		return nil
	}
	if s.opts.OnEnd != nil {
		if err := s.opts.OnEnd(tx, ms, now); err != nil {
			return err
		}
	}
	users := make([]int64, 0, len(ms))
	for _, m := range ms {
		users = append(users, m.UserID)
	}
	var still []int64
	if err := tx.Scopes(LiveMemberships(now)).Where("m.user_id IN ?", users).Distinct().Pluck("m.user_id", &still).Error; err != nil {
		return fmt.Errorf("org.ended: %w", err)
	}
	live := make(map[int64]bool, len(still))
	for _, id := range still {
		live[id] = true
	}
	gone := users[:0]
	for _, id := range users {
		if !live[id] {
			gone = append(gone, id)
			live[id] = true // once
		}
	}
	return notify.WithdrawAll(tx, gone, "membership ended")
}

// EndDue dissolves every temporary org whose end date has passed: the safety
// net behind the job scheduled at each end date.
func (s *Service) EndDue(ctx context.Context) (int, error) {
	var ids []int64
	err := s.store.db.WithContext(ctx).Model(&Org{}).
		Where("kind = ? AND dissolved_at IS NULL AND ends_at IS NOT NULL AND ends_at <= ?", KindTemporary, s.Now()).
		Limit(500).Pluck("id", &ids).Error
	if err != nil {
		return 0, fmt.Errorf("org.EndDue: %w", err)
	}
	for _, id := range ids {
		if _, err := s.Dissolve(ctx, 0, id); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// EndOne dissolves one temporary org if its end date has passed.
func (s *Service) EndOne(ctx context.Context, orgID int64) error {
	o, err := s.store.Get(ctx, orgID)
	if errors.Is(err, ErrOrgNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if o.Kind != KindTemporary || o.DissolvedAt != nil || o.EndsAt == nil || o.EndsAt.After(s.Now()) {
		return nil
	}
	_, err = s.Dissolve(ctx, 0, orgID)
	return err
}

// AuditPage lists the audit trail of an org and everything below it.
func (s *Service) AuditPage(ctx context.Context, userID, orgID, before int64, limit int) (paging.Page[audit.Entry], error) {
	if _, err := s.require(ctx, userID, orgID, levelManager); err != nil {
		return paging.Page[audit.Entry]{}, err
	}
	return audit.List(ctx, s.store.db, Subtree(s.store.db, orgID), before, limit)
}

// ForUser lists a user's memberships with their orgs.
func (s *Service) ForUser(ctx context.Context, userID int64) ([]MembershipView, error) {
	return s.store.ForUser(ctx, userID)
}

func checkName(field, name string, max int) error {
	name = strings.TrimSpace(name)
	msg := text.Problem(name, 1, max)
	if msg == "" {
		_, msg = text.Name(name)
	}
	if msg != "" {
		return apperr.Invalid("参数错误", map[string]string{field: msg})
	}
	return nil
}

func badgeInvalid() error {
	return apperr.Invalid("参数错误", map[string]string{"badge": "应为 publicity（宣传员）、information（信息员）或 frontline（战斗员）"})
}

// FlagOrg marks the org id's name as found risky by WeChat's content
// check and, when hide, masked for all but who named it (contentsec.Flagger
// of org names), in tx; after the commit the members' cached answers
// (/me) are dropped, as after any change of their memberships.
func (s *Service) FlagOrg(tx *gorm.DB, id int64, hide bool) error {
	updates := map[string]any{"content_risky": true}
	if hide {
		updates["content_hidden"] = true
	}
	if err := tx.Model(&Org{}).Where("id = ?", id).Updates(updates).Error; err != nil {
		return err
	}
	var users []int64
	if err := tx.Model(&Membership{}).Where("org_id = ?", id).Distinct().Pluck("user_id", &users).Error; err != nil {
		return err
	}
	database.AfterCommit(tx, func(ctx context.Context) {
		if err := s.changed(ctx, users...); err != nil {
			s.Log().WarnContext(ctx, "could not drop the cached answers of a flagged org's members", "org_id", id, "err", err)
		}
	})
	return nil
}

// FlagName marks the membership id's name as found risky by WeChat's
// content check and, when hide, hidden from all but the member
// (contentsec.Flagger of member names), in tx.
func FlagName(tx *gorm.DB, id int64, hide bool) error {
	updates := map[string]any{"content_risky": true}
	if hide {
		updates["content_hidden"] = true
	}
	return tx.Model(&Membership{}).Where("id = ?", id).Updates(updates).Error
}
