package org

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// The live-membership rule: a membership gives its member standing in its
// org — to see and act on what the org gave them (tasks, daily check-ins,
// reports, deeds) — while it is approved and the org has not ended
// (dissolved, or past its end date). A removed, rejected or pending member,
// or one of an ended org, has none. This file is the rule's one home: Live
// for a membership in hand, LiveSQL and the scopes below for queries.

// Live reports whether membership m of org o gives standing at now.
func Live(m Membership, o Org, now time.Time) bool {
	return m.Status == StatusApproved && !o.Ended(now)
}

// Live reports whether the membership gives standing at now (see Live).
func (v MembershipView) Live(now time.Time) bool {
	return Live(v.Membership, Org{EndsAt: v.OrgEndsAt, DissolvedAt: v.OrgDissolve}, now)
}

// LiveSQL is the rule as an SQL condition on a membership aliased m joined
// to its org aliased o; its parameters are LiveArgs(now). It is for the
// few statements that must be written by hand (a single-statement insert on
// a hot path); queries built with gorm use LiveMemberships.
const LiveSQL = "m.status = ? AND o.dissolved_at IS NULL AND (o.ends_at IS NULL OR o.ends_at > ?)"

// FromSQL is the FROM clause LiveSQL reads: the memberships aliased m,
// joined to their orgs aliased o, for a statement written by hand ("SELECT
// … FROM " + FromSQL + " WHERE " + LiveSQL). With it, no package but org
// names the memberships table.
const FromSQL = "memberships m JOIN orgs o ON o.id = m.org_id"

// LiveFromSQL is FromSQL with the rule as its WHERE: a hand-written
// statement appends "AND ..." conditions of its own; its first parameters
// are LiveArgs(now).
const LiveFromSQL = FromSQL + " WHERE " + LiveSQL

// LiveArgs are the parameters of LiveSQL and LiveFromSQL.
func LiveArgs(now time.Time) []any { return []any{StatusApproved, now} }

// LiveMemberships is a gorm scope that selects from the live memberships at
// now: the table is memberships aliased m, joined to its org aliased o.
func LiveMemberships(now time.Time) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		return db.Table(FromSQL).Where(LiveSQL, LiveArgs(now)...)
	}
}

// LiveMembershipOf is a subquery for "EXISTS (?)" in a query on another
// table: it finds the live membership at now of the row's user (column
// userCol) in the row's org (column orgCol), e.g. "a.user_id", "a.org_id".
// The column names must be constants of the calling code.
func LiveMembershipOf(db *gorm.DB, orgCol, userCol string, now time.Time) *gorm.DB {
	return db.Session(&gorm.Session{NewDB: true}).Scopes(LiveMemberships(now)).Select("1").
		Where("m.org_id = " + orgCol + " AND m.user_id = " + userCol)
}

// LiveMember reports whether the user has a live membership in the org at now.
func (s *Store) LiveMember(ctx context.Context, orgID, userID int64, now time.Time) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Scopes(LiveMemberships(now)).Where("m.org_id = ? AND m.user_id = ?", orgID, userID).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("org.LiveMember(%d, %d): %w", orgID, userID, err)
	}
	return n > 0, nil
}

// EndHook is called inside the transaction that ends memberships (a
// removal or rejection, or the dissolution of a temporary org) with the
// memberships that ended, so that what they held open ends with them: the
// task package closes their open assignments. An error rolls the whole
// change back.
type EndHook func(tx *gorm.DB, ended []Membership, now time.Time) error
