package org

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// The scope rules other packages ask about. They are methods of the store
// (read-only lookups) and, by the same names, of the service, which other
// packages should hold: tasks, announcements, reports, deeds, statistics
// and check-ins ask these questions and never read the tree or the
// memberships themselves.

// Scope is the scope questions that nearly every other domain asks about
// an org; each embeds it in its own Orgs interface with the few others it
// needs.
type Scope interface {
	// Get returns the org, or ErrOrgNotFound.
	Get(ctx context.Context, id int64) (Org, error)
	// Manages reports whether the user manages the org.
	Manages(ctx context.Context, userID, orgID int64) (bool, error)
	// RequireManager returns the org if the user manages it, else ErrOrgNotFound.
	RequireManager(ctx context.Context, userID, orgID int64) (Org, error)
}

// Secretariat is Scope with the secretaries of an org: what the domains
// that put things before an org's secretaries (reports, deeds, forms) ask
// of the tree.
type Secretariat interface {
	Scope
	// Secretaries returns the user ids of the org's own secretaries.
	Secretaries(ctx context.Context, orgID int64) ([]int64, error)
}

// Badger finds the membership a member acts with: what the domains in which
// members act in an org's name (check-ins, reports, deeds, badges) ask of
// the tree.
type Badger interface {
	// Badge returns the user's active approved membership in orgID, or their
	// home membership when orgID is 0.
	Badge(ctx context.Context, userID, orgID int64) (MembershipView, error)
}

var (
	_ Scope       = (*Store)(nil)
	_ Secretariat = (*Service)(nil)
	_ Badger      = (*Service)(nil)
)

// Managed returns v, a record that lies in the org orgID (the org itself,
// or a report, a form, an announcement of it), when the user manages that
// org; anyone else gets notFound, so that the record's existence stays
// private.
func Managed[T any](ctx context.Context, s Scope, userID, orgID int64, v T, notFound error) (T, error) {
	ok, err := s.Manages(ctx, userID, orgID)
	if err == nil && !ok {
		err = notFound
	}
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// RequireManager returns the org when the user manages it (an approved
// secretary of it or of an ancestor, in an org that has not ended); anyone
// else gets ErrOrgNotFound, so the org's existence stays private.
func (s *Store) RequireManager(ctx context.Context, userID, orgID int64) (Org, error) {
	o, err := s.Get(ctx, orgID)
	if err != nil {
		return Org{}, err
	}
	return Managed(ctx, s, userID, orgID, o, ErrOrgNotFound)
}

// RequireMember returns the org when the user manages it or has a live
// membership in it at now (see Live); anyone else gets ErrOrgNotFound.
func (s *Store) RequireMember(ctx context.Context, userID, orgID int64, now time.Time) (Org, error) {
	o, err := s.Get(ctx, orgID)
	if err != nil {
		return Org{}, err
	}
	ok, err := s.Manages(ctx, userID, orgID)
	if err != nil || ok {
		return o, err
	}
	if ok, err = s.LiveMember(ctx, orgID, userID, now); err != nil {
		return Org{}, err
	}
	if !ok {
		return Org{}, ErrOrgNotFound
	}
	return o, nil
}

// Ancestors returns the ids of the org and every org above it (in no
// particular order); an org's ancestors never change.
func Ancestors(ctx context.Context, db *gorm.DB, orgID int64) ([]int64, error) {
	var ids []int64
	if err := db.WithContext(ctx).Model(&closure{}).Where("descendant_id = ?", orgID).Pluck("ancestor_id", &ids).Error; err != nil {
		return nil, fmt.Errorf("org.Ancestors(%d): %w", orgID, err)
	}
	return ids, nil
}

// IDsAfter returns the ids of up to limit orgs with ids above after, in
// order, for a pass over every org a batch at a time (ended orgs included).
func IDsAfter(ctx context.Context, db *gorm.DB, after int64, limit int) ([]int64, error) {
	var ids []int64
	if err := db.WithContext(ctx).Model(&Org{}).Where("id > ?", after).Order("id").Limit(limit).Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("org.IDsAfter(%d): %w", after, err)
	}
	return ids, nil
}

// Get returns an org by id.
func (s *Service) Get(ctx context.Context, id int64) (Org, error) { return s.store.Get(ctx, id) }

// Manages reports whether the user manages the org (see Store.Manages).
func (s *Service) Manages(ctx context.Context, userID, orgID int64) (bool, error) {
	return s.store.Manages(ctx, userID, orgID)
}

// RequireManager returns the org when the user manages it, else
// ErrOrgNotFound (see Store.RequireManager).
func (s *Service) RequireManager(ctx context.Context, userID, orgID int64) (Org, error) {
	return s.store.RequireManager(ctx, userID, orgID)
}

// RequireMember returns the org when the user manages it or is a live
// member of it, else ErrOrgNotFound (see Store.RequireMember).
func (s *Service) RequireMember(ctx context.Context, userID, orgID int64, now time.Time) (Org, error) {
	return s.store.RequireMember(ctx, userID, orgID, now)
}

// LiveMember reports whether the user has a live membership in the org at now.
func (s *Service) LiveMember(ctx context.Context, orgID, userID int64, now time.Time) (bool, error) {
	return s.store.LiveMember(ctx, orgID, userID, now)
}

// Secretaries returns the user ids of the approved secretaries of an org.
func (s *Service) Secretaries(ctx context.Context, orgID int64) ([]int64, error) {
	return s.store.Secretaries(ctx, orgID)
}

// SubtreeCounts returns the member counters of each org's subtree.
func (s *Service) SubtreeCounts(ctx context.Context, ids []int64) (map[int64]Counts, error) {
	return s.store.SubtreeCounts(ctx, ids)
}

// SecondedByBadge counts the approved members lent to a temporary org, by badge.
func (s *Service) SecondedByBadge(ctx context.Context, orgID int64) (map[Badge]int64, error) {
	return s.store.SecondedByBadge(ctx, orgID)
}

// MembershipsOf lists a user's memberships as the login and /me answers
// show them (auth.MembershipLister).
func (s *Service) MembershipsOf(ctx context.Context, userID int64) (any, error) {
	vs, err := s.store.ForUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	return MembershipsJSON(vs), nil
}

// Secretaryships returns the user's live secretary memberships (see Live):
// the orgs whose subtrees they manage. A user with
// none is no secretary of any org (the web console lets only secretaries
// in).
func (s *Service) Secretaryships(ctx context.Context, userID int64) ([]MembershipView, error) {
	vs, err := s.store.ForUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	var out []MembershipView
	for _, v := range vs {
		if v.Role == RoleSecretary && v.Live(now) {
			out = append(out, v)
		}
	}
	return out, nil
}
