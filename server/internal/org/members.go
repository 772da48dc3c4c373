package org

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/audit"
	"xianfeng/server/internal/contentsec"
	"xianfeng/server/internal/notify"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/text"
)

// Signup applies to join the org behind an invite code with a badge; the
// membership waits for a secretary's approval. Applying again after a
// rejection or removal reopens the application; applying twice is 409.
func (s *Service) Signup(ctx context.Context, userID int64, inviteCode, name string, badge Badge) (_ MembershipView, err error) {
	defer apperr.Annotate(&err, "org.Signup")
	fields := map[string]string{}
	if err := checkName("name", name, 32); err != nil {
		fields["name"] = err.(*apperr.Error).Fields["name"]
	}
	if !badge.Valid() {
		fields["badge"] = badgeInvalid().(*apperr.Error).Fields["badge"]
	}
	code := normalizeCode(inviteCode)
	if inviteCode == "" {
		fields["invite_code"] = "不能为空"
	}
	if len(fields) > 0 {
		return MembershipView{}, apperr.Invalid("参数错误", fields)
	}
	if code == "" {
		return MembershipView{}, ErrInviteInvalid
	}
	now := s.Now()
	var o Org
	err = s.store.db.WithContext(ctx).Take(&o, "invite_code = ? AND invite_expires_at > ?", code, now).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && o.Ended(now)) {
		return MembershipView{}, ErrInviteInvalid
	}
	if err != nil {
		return MembershipView{}, err
	}
	name = strings.TrimSpace(name)
	check, err := s.opts.Content.Check(ctx, userID, contentsec.KindMember, "name", name)
	if err != nil {
		return MembershipView{}, err
	}
	var mid int64
	err = s.store.tx(ctx, func(tx *gorm.DB) error {
		m := Membership{OrgID: o.ID, UserID: userID, Name: name, Badge: badge, Role: RoleMember, Status: StatusPending, BadgeVersion: 1}
		err := tx.Create(&m).Error
		if err == nil {
			mid = m.ID
			if err := contentsec.Record(tx, m.ID, check); err != nil {
				return err
			}
			return bump(tx, o.ID, StatusPending, badge, 1)
		}
		if !errors.Is(err, gorm.ErrDuplicatedKey) {
			return err
		}
		return ErrAlreadyMember
	})
	if errors.Is(err, ErrAlreadyMember) {
		// Reopen a rejected or removed application; anything else is a duplicate.
		err = s.store.tx(ctx, func(tx *gorm.DB) error {
			old, err := getMembership(tx, o.ID, userID)
			if err != nil {
				return err
			}
			if old.Status != StatusRejected && old.Status != StatusRemoved {
				return ErrAlreadyMember
			}
			res := tx.Model(&Membership{}).Where("id = ? AND status = ?", old.ID, old.Status).Updates(map[string]any{
				"name": name, "badge": badge, "status": StatusPending, "role": RoleMember, "reason": "",
				"seconded_from": nil, "badge_version": old.BadgeVersion + 1, "approved_at": nil, "ended_at": nil,
			})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected != 1 {
				return ErrAlreadyMember
			}
			mid = old.ID
			if err := contentsec.Record(tx, old.ID, check); err != nil {
				return err
			}
			return bump(tx, o.ID, StatusPending, badge, 1)
		})
	}
	if err == nil {
		err = s.changed(ctx, userID)
	}
	if err != nil {
		return MembershipView{}, err
	}
	return s.store.MembershipByID(ctx, mid)
}

// Members returns a page of at most f.Limit of an org's memberships, after
// the membership id f.After, for its secretaries.
func (s *Service) Members(ctx context.Context, userID, orgID int64, f MemberFilter) (paging.Page[MemberRow], error) {
	if _, err := s.require(ctx, userID, orgID, levelManager); err != nil {
		return paging.Page[MemberRow]{}, err
	}
	limit := f.Limit
	f.Limit++
	rows, err := s.store.Members(ctx, orgID, f)
	return paging.Trim(rows, limit, func(r MemberRow) int64 { return r.ID }), err
}

// target loads the membership of targetID in the org after checking that the
// actor manages the org and is not acting on themselves.
func (s *Service) target(ctx context.Context, actorID, orgID, targetID int64, selfOK bool) (Org, Membership, error) {
	o, err := s.require(ctx, actorID, orgID, levelManager)
	if err != nil {
		return Org{}, Membership{}, err
	}
	if actorID == targetID && !selfOK {
		return Org{}, Membership{}, ErrSelf
	}
	m, err := s.store.Membership(ctx, orgID, targetID)
	if err != nil {
		return Org{}, Membership{}, err
	}
	return o, m, nil
}

// transition moves a membership from one status to another, keeping the
// counters in step and writing the audit entry, all in one transaction.
// end, when not nil, ends the membership in that transaction with whatever
// ends with it; nil ends it alone, now, when it moves to rejected or
// removed. It fails with ErrTransition when another request changed the
// status first.
func (s *Service) transition(ctx context.Context, actorID int64, m Membership, to Status, updates map[string]any, action string, detail map[string]any, end func(tx *gorm.DB) error) error {
	updates["status"] = to
	err := s.store.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Membership{}).Where("id = ? AND status = ?", m.ID, m.Status).Updates(updates)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return ErrTransition
		}
		if err := moveCount(tx, m, to, m.Badge); err != nil {
			return err
		}
		if end == nil && (to == StatusRejected || to == StatusRemoved) {
			end = func(tx *gorm.DB) error { return s.ended(tx, []Membership{m}, s.Now()) }
		}
		if end != nil {
			if err := end(tx); err != nil {
				return err
			}
		}
		return audit.Write(tx, m.OrgID, actorID, action, &m.UserID, detail)
	})
	if err != nil {
		return err
	}
	return s.changed(ctx, m.UserID)
}

// Approve accepts a pending application.
func (s *Service) Approve(ctx context.Context, actorID, orgID, targetID int64) (_ MembershipView, err error) {
	defer apperr.Annotate(&err, "org.Approve")
	_, m, err := s.target(ctx, actorID, orgID, targetID, false)
	if err != nil {
		return MembershipView{}, err
	}
	if m.Status != StatusPending {
		return MembershipView{}, ErrTransition
	}
	now := s.Now()
	if err := s.transition(ctx, actorID, m, StatusApproved, map[string]any{"approved_at": now}, audit.ActionApprove, nil, nil); err != nil {
		return MembershipView{}, err
	}
	v, err := s.store.MembershipByID(ctx, m.ID)
	if err == nil {
		n := notify.Notification{UserID: m.UserID, Kind: notify.KindMemberApproved, Title: "入组申请已通过",
			Body: "您已加入" + v.OrgName + "，身份：" + v.Badge.Label(), RefType: "membership", RefID: m.ID,
			DedupeKey: "member_approved:" + strconv.FormatInt(m.ID, 10) + ":" + strconv.FormatInt(now.Unix(), 10),
			Data:      map[string]string{"org": v.OrgName}}
		if nerr := s.opts.Notifier.Notify(context.WithoutCancel(ctx), []notify.Notification{n}); nerr != nil {
			s.Log().WarnContext(ctx, "could not notify an approved member", "membership_id", m.ID, "err", nerr)
		}
	}
	return v, err
}

// Reject turns down a pending application with an optional reason.
func (s *Service) Reject(ctx context.Context, actorID, orgID, targetID int64, reason string) (_ MembershipView, err error) {
	defer apperr.Annotate(&err, "org.Reject")
	if reason, err = text.Note("reason", reason, 200); err != nil {
		return MembershipView{}, err
	}
	_, m, err := s.target(ctx, actorID, orgID, targetID, false)
	if err != nil {
		return MembershipView{}, err
	}
	if m.Status != StatusPending {
		return MembershipView{}, ErrTransition
	}
	if err := s.transition(ctx, actorID, m, StatusRejected, map[string]any{"reason": reason}, audit.ActionReject, map[string]any{"reason": reason}, nil); err != nil {
		return MembershipView{}, err
	}
	return s.store.MembershipByID(ctx, m.ID)
}

// Change sets a member's badge or role. A secretary may change their own
// badge but not their own role.
func (s *Service) Change(ctx context.Context, actorID, orgID, targetID int64, badge *Badge, role *Role) (_ MembershipView, err error) {
	defer apperr.Annotate(&err, "org.Change")
	fields := map[string]string{}
	if badge == nil && role == nil {
		fields["badge"] = "badge 与 role 至少提供一项"
	}
	if badge != nil && !badge.Valid() {
		fields["badge"] = badgeInvalid().(*apperr.Error).Fields["badge"]
	}
	if role != nil && !role.Valid() {
		fields["role"] = "应为 member 或 secretary"
	}
	if len(fields) > 0 {
		return MembershipView{}, apperr.Invalid("参数错误", fields)
	}
	_, m, err := s.target(ctx, actorID, orgID, targetID, role == nil)
	if err != nil {
		return MembershipView{}, err
	}
	if m.Status != StatusPending && m.Status != StatusApproved {
		return MembershipView{}, ErrTransition
	}
	if role != nil && *role != m.Role && m.Status != StatusApproved {
		return MembershipView{}, ErrNotApproved
	}
	updates, detail := map[string]any{}, map[string]any{}
	newBadge := m.Badge
	if badge != nil && *badge != m.Badge {
		newBadge = *badge
		updates["badge"], updates["badge_version"] = newBadge, m.BadgeVersion+1
		detail["badge"] = map[string]any{"from": m.Badge, "to": newBadge}
	}
	if role != nil && *role != m.Role {
		updates["role"] = *role
		detail["role"] = map[string]any{"from": m.Role, "to": *role}
	}
	if len(updates) > 0 {
		err = s.store.tx(ctx, func(tx *gorm.DB) error {
			res := tx.Model(&Membership{}).Where("id = ? AND status = ? AND badge = ? AND role = ?", m.ID, m.Status, m.Badge, m.Role).Updates(updates)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected != 1 {
				return ErrTransition
			}
			if newBadge != m.Badge {
				if err := moveCount(tx, m, m.Status, newBadge); err != nil {
					return err
				}
			}
			return audit.Write(tx, m.OrgID, actorID, audit.ActionChange, &m.UserID, detail)
		})
		if err == nil {
			err = s.changed(ctx, m.UserID)
		}
		if err != nil {
			return MembershipView{}, err
		}
	}
	return s.store.MembershipByID(ctx, m.ID)
}

// Remove ends a membership now, and with it the member's secondments from
// this org: from the next request on they have no standing there.
func (s *Service) Remove(ctx context.Context, actorID, orgID, targetID int64) (err error) {
	defer apperr.Annotate(&err, "org.Remove")
	_, m, err := s.target(ctx, actorID, orgID, targetID, false)
	if err != nil {
		return err
	}
	if m.Status != StatusPending && m.Status != StatusApproved {
		return ErrTransition
	}
	now := s.Now()
	return s.transition(ctx, actorID, m, StatusRemoved, map[string]any{"ended_at": now, "role": RoleMember}, audit.ActionRemove, nil,
		func(tx *gorm.DB) error {
			lent, err := endMemberships(tx, now, "user_id = ? AND seconded_from = ?", m.UserID, m.OrgID)
			if err != nil {
				return err
			}
			return s.ended(tx, append([]Membership{m}, lent...), now)
		})
}

// Skipped says why a user was not seconded.
type Skipped struct {
	UserID int64  `json:"user_id"`
	Reason string `json:"reason"`
}

// maxSecond bounds one secondment request.
const maxSecond = 200

// Second lends approved members of the parent's subtree to a temporary org;
// they keep their home membership. Users outside the subtree are skipped
// with reason "not_found", so the answer reveals nothing about them.
func (s *Service) Second(ctx context.Context, actorID, tempID int64, userIDs []int64) (_ []MembershipView, _ []Skipped, err error) {
	defer apperr.Annotate(&err, "org.Second")
	if len(userIDs) == 0 || len(userIDs) > maxSecond {
		return nil, nil, apperr.Invalid("参数错误", map[string]string{"user_ids": "应为 1 到 200 个成员"})
	}
	o, err := s.require(ctx, actorID, tempID, levelManager)
	if err != nil {
		return nil, nil, err
	}
	if o.Kind != KindTemporary || o.ParentID == nil {
		return nil, nil, ErrNotTemporary
	}
	if o.Ended(s.Now()) {
		return nil, nil, ErrOrgEnded
	}
	seen := map[int64]bool{}
	var added []int64
	var skipped []Skipped
	now := s.Now()
	for _, uid := range userIDs {
		if seen[uid] {
			continue
		}
		seen[uid] = true
		reason, id := "", int64(0)
		err := s.store.tx(ctx, func(tx *gorm.DB) error {
			reason, id = "", 0 // a retried transaction starts afresh
			var home []Membership
			err := tx.Raw(`SELECT m.* FROM memberships m JOIN org_closure c ON c.descendant_id = m.org_id
				WHERE c.ancestor_id = ? AND m.user_id = ? AND m.status = ? AND m.seconded_from IS NULL AND m.org_id <> ?
				ORDER BY m.id LIMIT 1`, *o.ParentID, uid, StatusApproved, o.ID).Scan(&home).Error
			if err != nil {
				return err
			}
			if len(home) == 0 {
				reason = "not_found"
				return nil
			}
			h := home[0]
			m := Membership{OrgID: o.ID, UserID: uid, Name: h.Name, Badge: h.Badge, Role: RoleMember,
				Status: StatusApproved, SecondedFrom: &h.OrgID, BadgeVersion: 1, ApprovedAt: &now}
			// PostgreSQL aborts the whole transaction when the insert hits an
			// earlier membership: the savepoint lets it go on to read that one.
			if err := tx.SavePoint("second").Error; err != nil {
				return err
			}
			err = tx.Create(&m).Error
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				if err := tx.RollbackTo("second").Error; err != nil {
					return err
				}
				old, err := getMembership(tx, o.ID, uid)
				if err != nil {
					return err
				}
				if old.Status == StatusPending || old.Status == StatusApproved {
					reason = "already_member"
					return nil
				}
				res := tx.Model(&Membership{}).Where("id = ? AND status = ?", old.ID, old.Status).Updates(map[string]any{
					"name": h.Name, "badge": h.Badge, "role": RoleMember, "status": StatusApproved, "reason": "",
					"seconded_from": h.OrgID, "badge_version": old.BadgeVersion + 1, "approved_at": now, "ended_at": nil,
				})
				if res.Error != nil {
					return res.Error
				}
				if res.RowsAffected != 1 {
					reason = "already_member"
					return nil
				}
				m.ID = old.ID
			} else if err != nil {
				return err
			}
			id = m.ID
			return audit.Write(tx, o.ID, actorID, audit.ActionSecond, &uid, map[string]any{"home_org_id": h.OrgID})
		})
		if err != nil {
			return nil, nil, err
		}
		if reason != "" {
			skipped = append(skipped, Skipped{UserID: uid, Reason: reason})
		}
		if id != 0 {
			if err := s.changed(ctx, uid); err != nil {
				return nil, nil, err
			}
			added = append(added, id)
		}
	}
	views := make([]MembershipView, 0, len(added))
	for _, id := range added {
		v, err := s.store.MembershipByID(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		views = append(views, v)
	}
	return views, skipped, nil
}

// Badge returns the user's approved membership to show as a badge: the one
// in orgID when given, else the oldest approved home membership.
func (s *Service) Badge(ctx context.Context, userID, orgID int64) (MembershipView, error) {
	ms, err := s.store.ForUser(ctx, userID)
	if err != nil {
		return MembershipView{}, err
	}
	now := s.Now()
	for _, m := range ms {
		if !m.Live(now) {
			continue
		}
		if orgID != 0 && m.OrgID == orgID || orgID == 0 && m.SecondedFrom == nil {
			return m, nil
		}
	}
	return MembershipView{}, ErrMembershipAbsent
}

// Active reports whether a membership still stands: approved, at the badge
// version given, in an org that has not ended. Badge verification uses it.
func (s *Service) Active(ctx context.Context, membershipID int64, version int) (MembershipView, bool, error) {
	v, err := s.store.MembershipByID(ctx, membershipID)
	if errors.Is(err, ErrMembershipNotFound) {
		return MembershipView{}, false, nil
	}
	if err != nil {
		return MembershipView{}, false, err
	}
	now := s.Now()
	return v, v.Live(now) && v.BadgeVersion == version, nil
}
