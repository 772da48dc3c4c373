package org

import (
	"context"
	"encoding/json"
	"time"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/audit"
	"xianfeng/server/internal/contentsec"
	"xianfeng/server/internal/paging"
	"xianfeng/server/internal/user"
	"xianfeng/server/internal/web"
)

// OrgJSON is an org in responses.
type OrgJSON struct {
	ID          int64      `json:"id"`
	ParentID    *int64     `json:"parent_id"`
	Name        string     `json:"name"`
	Kind        Kind       `json:"kind"`
	KindLabel   string     `json:"kind_label"`
	Depth       int        `json:"depth"`
	Post        *Post      `json:"post"`
	EndsAt      *time.Time `json:"ends_at"`
	DissolvedAt *time.Time `json:"dissolved_at"`
	Ended       bool       `json:"ended"`
	CreatedAt   time.Time  `json:"created_at"`
}

// KindLabel is the Chinese name of an org kind.
func KindLabel(k Kind) string {
	return map[Kind]string{KindCommittee: "党委", KindGeneralBranch: "党总支", KindBranch: "党支部", KindTemporary: "临时党组织"}[k]
}

// newOrgJSON shows an org to viewer as of now (the service clock), which
// decides "ended".
func newOrgJSON(o Org, now time.Time, viewer int64) OrgJSON {
	return OrgJSON{ID: o.ID, ParentID: o.ParentID, Name: o.ShownName(viewer), Kind: o.Kind, KindLabel: KindLabel(o.Kind), Depth: o.Depth,
		Post: o.Post(), EndsAt: web.UTC(o.EndsAt), DissolvedAt: web.UTC(o.DissolvedAt), Ended: o.Ended(now), CreatedAt: o.CreatedAt.UTC()}
}

// MembershipJSON is a membership as its member sees it (/me, signup).
type MembershipJSON struct {
	ID           int64      `json:"id"`
	OrgID        int64      `json:"org_id"`
	OrgName      string     `json:"org_name"`
	OrgKind      Kind       `json:"org_kind"`
	Role         Role       `json:"role"`
	Badge        Badge      `json:"badge"`
	BadgeLabel   string     `json:"badge_label"`
	Status       Status     `json:"status"`
	Name         string     `json:"name"`
	Reason       string     `json:"reason"`
	SecondedFrom *int64     `json:"seconded_from"`
	CreatedAt    time.Time  `json:"created_at"`
	ApprovedAt   *time.Time `json:"approved_at"`
}

// NewMembershipJSON renders a membership for its member.
func NewMembershipJSON(v MembershipView) MembershipJSON {
	return MembershipJSON{ID: v.ID, OrgID: v.OrgID, OrgName: v.OrgName, OrgKind: v.OrgKind, Role: v.Role, Badge: v.Badge,
		BadgeLabel: v.Badge.Label(), Status: v.Status, Name: v.Name, Reason: v.Reason, SecondedFrom: v.SecondedFrom,
		CreatedAt: v.CreatedAt.UTC(), ApprovedAt: web.UTC(v.ApprovedAt)}
}

// membership is the answer of an endpoint that returns the membership a
// service call made or changed.
func membership(v MembershipView, err error) (MembershipJSON, error) {
	return NewMembershipJSON(v), err
}

// MembershipsJSON renders a user's memberships.
func MembershipsJSON(vs []MembershipView) []MembershipJSON {
	out := make([]MembershipJSON, len(vs))
	for i, v := range vs {
		out[i] = NewMembershipJSON(v)
	}
	return out
}

// memberJSON is a membership as a secretary sees it in the member list.
type memberJSON struct {
	UserID       int64      `json:"user_id"`
	MembershipID int64      `json:"membership_id"`
	Name         string     `json:"name"`
	PhoneMasked  string     `json:"phone_masked"`
	Badge        Badge      `json:"badge"`
	BadgeLabel   string     `json:"badge_label"`
	Role         Role       `json:"role"`
	Status       Status     `json:"status"`
	Reason       string     `json:"reason"`
	SecondedFrom *int64     `json:"seconded_from"`
	CreatedAt    time.Time  `json:"created_at"`
	ApprovedAt   *time.Time `json:"approved_at"`
}

type claimInput struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Badge Badge  `json:"badge"`
}

// Claim is POST /orgs/claim.
func Claim(ctx context.Context, s *Service, userID int64, in claimInput) (MembershipJSON, error) {
	return membership(s.Claim(ctx, userID, in.Code, in.Name, in.Badge))
}

// childJSON is a child org with the counts of its subtree.
type childJSON struct {
	OrgJSON
	Subtree Counts `json:"subtree"`
}

// viewJSON is an org as Get answers it: with its children and counts and
// whether the caller manages it.
type viewJSON struct {
	Org       OrgJSON     `json:"org"`
	Children  []childJSON `json:"children"`
	Members   Counts      `json:"members"`
	Seconded  int64       `json:"seconded"`
	Subtree   Counts      `json:"subtree"`
	CanManage bool        `json:"can_manage"`
}

// Get is GET /orgs/{id}.
func Get(ctx context.Context, s *Service, userID int64, in web.ID) (viewJSON, error) {
	d, err := s.View(ctx, userID, in.ID)
	if err != nil {
		return viewJSON{}, err
	}
	now := s.Now()
	children := make([]childJSON, len(d.Children))
	for i, ch := range d.Children {
		children[i] = childJSON{OrgJSON: newOrgJSON(ch, now, userID), Subtree: d.ChildCounts[ch.ID]}
	}
	return viewJSON{Org: newOrgJSON(d.Org, now, userID), Children: children, Members: d.Members, Seconded: d.Seconded,
		Subtree: d.Subtree, CanManage: d.Manages}, nil
}

type childInput struct {
	ID   int64  `path:"id"`
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	Post *struct {
		Lat     *float64 `json:"lat"`
		Lng     *float64 `json:"lng"`
		RadiusM *int     `json:"radius_m"`
		Address string   `json:"address"`
	} `json:"post"`
	EndsAt *time.Time `json:"ends_at"`
}

// CreateChild is POST /orgs/{id}/children.
func CreateChild(ctx context.Context, s *Service, userID int64, req childInput) (OrgJSON, error) {
	in := ChildInput{Name: req.Name, Kind: req.Kind, EndsAt: req.EndsAt}
	if p := req.Post; p != nil {
		if p.Lat == nil || p.Lng == nil || p.RadiusM == nil {
			return OrgJSON{}, apperr.Invalid("参数错误", map[string]string{"post": "需要 lat、lng 和 radius_m"})
		}
		in.Post = &Post{Lat: *p.Lat, Lng: *p.Lng, RadiusM: *p.RadiusM, Address: p.Address}
	}
	o, err := s.CreateChild(ctx, userID, req.ID, in)
	return newOrgJSON(o, s.Now(), userID), err
}

// Invite is GET /orgs/{id}/invite.
func Invite(ctx context.Context, s *Service, userID int64, in web.ID) (inviteJSON, error) {
	return newInviteJSON(s.Invite(ctx, userID, in.ID))
}

// Rotate is POST /orgs/{id}/invite/rotate.
func Rotate(ctx context.Context, s *Service, userID int64, in web.ID) (inviteJSON, error) {
	return newInviteJSON(s.RotateInvite(ctx, userID, in.ID))
}

// inviteJSON is an org's invite code and when it expires.
type inviteJSON struct {
	InviteCode string    `json:"invite_code"`
	ExpiresAt  time.Time `json:"expires_at"`
}

func newInviteJSON(code string, exp time.Time, err error) (inviteJSON, error) {
	return inviteJSON{InviteCode: code, ExpiresAt: exp.UTC()}, err
}

// Dissolve is POST /orgs/{id}/dissolve.
func Dissolve(ctx context.Context, s *Service, userID int64, in web.ID) (OrgJSON, error) {
	o, err := s.Dissolve(ctx, userID, in.ID)
	return newOrgJSON(o, s.Now(), userID), err
}

// entryJSON is an entry of the audit trail.
type entryJSON struct {
	ID           int64          `json:"id"`
	OrgID        int64          `json:"org_id"`
	ActorID      int64          `json:"actor_id"`
	Action       string         `json:"action"`
	TargetUserID *int64         `json:"target_user_id"`
	Detail       map[string]any `json:"detail"`
	CreatedAt    time.Time      `json:"created_at"`
}

func newEntryJSON(e audit.Entry) entryJSON {
	d := map[string]any{}
	if e.Detail != "" {
		_ = json.Unmarshal([]byte(e.Detail), &d)
	}
	return entryJSON{ID: e.ID, OrgID: e.OrgID, ActorID: e.ActorID, Action: e.Action, TargetUserID: e.TargetUserID, Detail: d, CreatedAt: e.CreatedAt.UTC()}
}

// Audit is GET /orgs/{id}/audit.
func Audit(ctx context.Context, s *Service, userID int64, in web.IDPage) (paging.Page[entryJSON], error) {
	p, err := s.AuditPage(ctx, userID, in.ID, in.Page.Cursor, in.Page.Limit)
	return paging.Map(p, newEntryJSON), err
}

type membersInput struct {
	ID     int64 `path:"id"`
	Page   web.PageQuery
	Status Status `query:"status"`
	Badge  Badge  `query:"badge"`
}

// newMemberJSON shows a member to viewer: a name found risky is masked
// for all but the member.
func newMemberJSON(r MemberRow, viewer int64) memberJSON {
	return memberJSON{UserID: r.UserID, MembershipID: r.ID, Name: contentsec.Mask(r.Name, r.ContentHidden, r.UserID, viewer), PhoneMasked: user.MaskPhone(r.Phone),
		Badge: r.Badge, BadgeLabel: r.Badge.Label(), Role: r.Role, Status: r.Status, Reason: r.Reason,
		SecondedFrom: r.SecondedFrom, CreatedAt: r.CreatedAt.UTC(), ApprovedAt: web.UTC(r.ApprovedAt)}
}

// Members is GET /orgs/{id}/members.
func Members(ctx context.Context, s *Service, userID int64, in membersInput) (paging.Page[memberJSON], error) {
	if in.Status != "" && !in.Status.Valid() {
		return paging.Page[memberJSON]{}, apperr.Invalid("参数错误", map[string]string{"status": "应为 pending、approved、rejected 或 removed"})
	}
	if in.Badge != "" && !in.Badge.Valid() {
		return paging.Page[memberJSON]{}, badgeInvalid()
	}
	f := MemberFilter{Status: in.Status, Badge: in.Badge, After: in.Page.Cursor, Limit: in.Page.Limit}
	p, err := s.Members(ctx, userID, in.ID, f)
	return paging.Map(p, func(r MemberRow) memberJSON { return newMemberJSON(r, userID) }), err
}

type secondInput struct {
	ID      int64   `path:"id"`
	UserIDs []int64 `json:"user_ids"`
}

// secondedJSON is who Second lent to the org and whom it skipped.
type secondedJSON struct {
	Added   []MembershipJSON `json:"added"`
	Skipped []Skipped        `json:"skipped"`
}

// Second is POST /orgs/{id}/members.
func Second(ctx context.Context, s *Service, userID int64, in secondInput) (secondedJSON, error) {
	added, skipped, err := s.Second(ctx, userID, in.ID, in.UserIDs)
	if err != nil {
		return secondedJSON{}, err
	}
	if skipped == nil {
		skipped = []Skipped{}
	}
	return secondedJSON{Added: MembershipsJSON(added), Skipped: skipped}, nil
}

// memberInput names a member of an org: /orgs/:id/members/:user_id.
type memberInput struct {
	OrgID  int64 `path:"id"`
	UserID int64 `path:"user_id"`
}

// Approve is POST /orgs/{id}/members/{user_id}/approve.
func Approve(ctx context.Context, s *Service, userID int64, in memberInput) (MembershipJSON, error) {
	return membership(s.Approve(ctx, userID, in.OrgID, in.UserID))
}

type rejectInput struct {
	web.OptionalBody
	OrgID  int64  `path:"id"`
	UserID int64  `path:"user_id"`
	Reason string `json:"reason"`
}

// Reject is POST /orgs/{id}/members/{user_id}/reject.
func Reject(ctx context.Context, s *Service, userID int64, in rejectInput) (MembershipJSON, error) {
	return membership(s.Reject(ctx, userID, in.OrgID, in.UserID, in.Reason))
}

type changeInput struct {
	OrgID  int64  `path:"id"`
	UserID int64  `path:"user_id"`
	Badge  *Badge `json:"badge"`
	Role   *Role  `json:"role"`
}

// Change is PATCH /orgs/{id}/members/{user_id}.
func Change(ctx context.Context, s *Service, userID int64, in changeInput) (MembershipJSON, error) {
	return membership(s.Change(ctx, userID, in.OrgID, in.UserID, in.Badge, in.Role))
}

// Remove is DELETE /orgs/{id}/members/{user_id}.
func Remove(ctx context.Context, s *Service, userID int64, in memberInput) error {
	return s.Remove(ctx, userID, in.OrgID, in.UserID)
}

type signupInput struct {
	InviteCode string `json:"invite_code"`
	Name       string `json:"name"`
	Badge      Badge  `json:"badge"`
}

// Signup is POST /members/signup.
func Signup(ctx context.Context, s *Service, userID int64, in signupInput) (MembershipJSON, error) {
	return membership(s.Signup(ctx, userID, in.InviteCode, in.Name, in.Badge))
}
