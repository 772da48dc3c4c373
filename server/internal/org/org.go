// Package org keeps the organisation tree (党委, 党总支, 党支部, 临时党组织), the
// memberships of Party members in it with their identity badges, and the
// scope rule that a secretary of an org manages it and everything below it.
package org

import (
	"time"
	"unicode/utf8"

	"xianfeng/server/internal/contentsec"
)

// Kind is the kind of an organisation.
type Kind string

// Kinds of organisation.
const (
	KindCommittee     Kind = "committee"      // 党委
	KindGeneralBranch Kind = "general_branch" // 党总支
	KindBranch        Kind = "branch"         // 党支部
	KindTemporary     Kind = "temporary"      // 临时党组织
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	switch k {
	case KindCommittee, KindGeneralBranch, KindBranch, KindTemporary:
		return true
	}
	return false
}

// Badge is a member's identity badge (亮身份).
type Badge string

// The three badges.
const (
	BadgePublicity   Badge = "publicity"   // 宣传员
	BadgeInformation Badge = "information" // 信息员
	BadgeFrontline   Badge = "frontline"   // 战斗员
)

// Badges lists the badges in display order.
var Badges = []Badge{BadgePublicity, BadgeInformation, BadgeFrontline}

// Valid reports whether b is one of the three badges.
func (b Badge) Valid() bool {
	switch b {
	case BadgePublicity, BadgeInformation, BadgeFrontline:
		return true
	}
	return false
}

// Label is the badge's Chinese name.
func (b Badge) Label() string {
	switch b {
	case BadgePublicity:
		return "宣传员"
	case BadgeInformation:
		return "信息员"
	case BadgeFrontline:
		return "战斗员"
	}
	return ""
}

// Role is a member's role in an org.
type Role string

// Roles.
const (
	RoleMember    Role = "member"
	RoleSecretary Role = "secretary"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleMember || r == RoleSecretary }

// Status is where a membership stands.
type Status string

// Membership statuses.
const (
	StatusPending  Status = "pending"
	StatusApproved Status = "approved"
	StatusRejected Status = "rejected"
	StatusRemoved  Status = "removed"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusApproved, StatusRejected, StatusRemoved:
		return true
	}
	return false
}

// counted reports whether memberships in this status are kept in the
// subtree counters.
func (s Status) counted() bool { return s == StatusPending || s == StatusApproved }

// Post is where a temporary organisation stands (a checkpoint, a ward): a
// circle on the map, the same as a task's location.
type Post struct {
	Lat     float64 `json:"lat"`
	Lng     float64 `json:"lng"`
	RadiusM int     `json:"radius_m"`
	Address string  `json:"address"`
}

// Problem returns what is wrong with the circle, or "" twice: the suffix of
// its field ("" for the coordinates, ".radius_m", ".address") and the
// message. An org's post and a task's location share this rule.
func (p Post) Problem() (field, msg string) {
	switch {
	case p.Lat < -90 || p.Lat > 90 || p.Lng < -180 || p.Lng > 180:
		return "", "经纬度超出范围"
	case p.RadiusM < 10 || p.RadiusM > 50000:
		return ".radius_m", "应在 10 到 50000 米之间"
	case utf8.RuneCountInString(p.Address) > 200:
		return ".address", "不能超过 200 字"
	}
	return "", ""
}

// Org is an organisation in the tree.
type Org struct {
	ID              int64
	ParentID        *int64
	Name            string
	Kind            Kind
	Depth           int
	PostLat         *float64
	PostLng         *float64
	PostRadiusM     *int
	PostAddress     string
	EndsAt          *time.Time
	DissolvedAt     *time.Time
	InviteCode      *string
	InviteExpiresAt *time.Time
	CreatedBy       int64
	// ContentRisky and ContentHidden: a later content check found the
	// name risky; it is masked for all but CreatedBy (ShownName).
	ContentRisky  bool
	ContentHidden bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// ShownName is the org's name as viewer sees it: masked when a later
// content check found it risky, for all but who named it.
func (o Org) ShownName(viewer int64) string {
	return contentsec.Mask(o.Name, o.ContentHidden, o.CreatedBy, viewer)
}

// TableName is the orgs table.
func (Org) TableName() string { return "orgs" }

// Post returns the org's post location, or nil.
func (o Org) Post() *Post {
	if o.PostLat == nil || o.PostLng == nil {
		return nil
	}
	p := &Post{Lat: *o.PostLat, Lng: *o.PostLng, Address: o.PostAddress}
	if o.PostRadiusM != nil {
		p.RadiusM = *o.PostRadiusM
	}
	return p
}

// Ended reports whether a temporary org has been dissolved or passed its end.
func (o Org) Ended(now time.Time) bool {
	return o.DissolvedAt != nil || (o.EndsAt != nil && !now.Before(*o.EndsAt))
}

// Membership is a user's membership in an org, with their badge. A secondment
// (SecondedFrom set) is an approved member of a branch lent to a temporary org.
type Membership struct {
	ID           int64
	OrgID        int64
	UserID       int64
	Name         string
	Badge        Badge
	Role         Role
	Status       Status
	Reason       string
	SecondedFrom *int64
	BadgeVersion int
	CreatedAt    time.Time
	UpdatedAt    time.Time
	ApprovedAt   *time.Time
	EndedAt      *time.Time
}

// TableName is the memberships table.
func (Membership) TableName() string { return "memberships" }

// MembershipView is a membership with the org it belongs to, as a member sees it.
type MembershipView struct {
	Membership
	OrgName     string
	OrgKind     Kind
	OrgEndsAt   *time.Time
	OrgDissolve *time.Time
}

// closure is one ancestor/descendant pair of the tree (an org is its own
// ancestor at depth 0): subtree questions are one indexed lookup.
type closure struct {
	AncestorID   int64
	DescendantID int64
	Depth        int
}

func (closure) TableName() string { return "org_closure" }

// count is the number of memberships in an org's subtree with a status and badge.
type count struct {
	OrgID  int64
	Status Status
	Badge  Badge
	N      int64
}

func (count) TableName() string { return "org_counts" }

// claim is a one-time code that makes its redeemer the secretary of a root org.
type claim struct {
	ID        int64
	OrgID     int64
	CodeHash  string
	ExpiresAt time.Time
	UsedAt    *time.Time
	UsedBy    *int64
	CreatedAt time.Time
}

func (claim) TableName() string { return "org_claims" }

// Counts are member counts by status and badge.
type Counts struct {
	Pending  int64           `json:"pending"`
	Approved int64           `json:"approved"`
	ByBadge  map[Badge]int64 `json:"by_badge"` // approved members per badge
}

func newCounts() Counts {
	return Counts{ByBadge: map[Badge]int64{BadgePublicity: 0, BadgeInformation: 0, BadgeFrontline: 0}}
}

func (c *Counts) add(s Status, b Badge, n int64) {
	switch s {
	case StatusPending:
		c.Pending += n
	case StatusApproved:
		c.Approved += n
		c.ByBadge[b] += n
	}
}
