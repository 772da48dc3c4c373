package org

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/database"
)

// Store reads and writes orgs, the closure of the tree, counters and
// memberships. Methods that change several tables take the transaction
// handle; the service decides where transactions begin.
type Store struct{ db *gorm.DB }

// NewStore returns a store on db.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// tx runs fn in a transaction, again when the database aborted it to break
// a deadlock: the counter updates of concurrent changes are contended rows.
func (s *Store) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return database.Transact(ctx, s.db, fn)
}

// Errors of the store.
var (
	ErrOrgNotFound        = apperr.New(apperr.KindNotFound, "not_found", "组织不存在或无权查看")
	ErrMembershipNotFound = apperr.New(apperr.KindNotFound, "member_not_found", "该成员不在本组织")
)

// insertOrg adds o to the tree under its parent: the row, its closure pairs
// and its zeroed counters.
func insertOrg(tx *gorm.DB, o *Org) error {
	if err := tx.Create(o).Error; err != nil {
		return fmt.Errorf("insert org: %w", err)
	}
	if err := tx.Create(&closure{AncestorID: o.ID, DescendantID: o.ID}).Error; err != nil {
		return fmt.Errorf("insert closure: %w", err)
	}
	if o.ParentID != nil {
		err := tx.Exec(`INSERT INTO org_closure (ancestor_id, descendant_id, depth)
			SELECT ancestor_id, ?, depth + 1 FROM org_closure WHERE descendant_id = ?`, o.ID, *o.ParentID).Error
		if err != nil {
			return fmt.Errorf("insert ancestors: %w", err)
		}
	}
	rows := make([]count, 0, 6)
	for _, st := range []Status{StatusPending, StatusApproved} {
		for _, b := range Badges {
			rows = append(rows, count{OrgID: o.ID, Status: st, Badge: b})
		}
	}
	if err := tx.Create(&rows).Error; err != nil {
		return fmt.Errorf("insert counters: %w", err)
	}
	return nil
}

// bump adds delta to the subtree counters of org and every ancestor.
func bump(tx *gorm.DB, orgID int64, st Status, b Badge, delta int) error {
	if !st.counted() || delta == 0 {
		return nil
	}
	err := tx.Exec(`UPDATE org_counts SET n = n + ? WHERE status = ? AND badge = ?
		AND org_id IN (SELECT ancestor_id FROM org_closure WHERE descendant_id = ?)`, delta, st, b, orgID).Error
	if err != nil {
		return fmt.Errorf("update counters: %w", err)
	}
	return nil
}

// moveCount keeps the counters in step when a membership changes status or badge.
func moveCount(tx *gorm.DB, m Membership, st Status, b Badge) error {
	if m.SecondedFrom != nil {
		return nil // secondments are counted once, at home
	}
	if err := bump(tx, m.OrgID, m.Status, m.Badge, -1); err != nil {
		return err
	}
	return bump(tx, m.OrgID, st, b, 1)
}

// Get returns an org by id.
func (s *Store) Get(ctx context.Context, id int64) (Org, error) {
	return getOrg(s.db.WithContext(ctx), id)
}

func getOrg(db *gorm.DB, id int64) (_ Org, err error) {
	defer apperr.Annotate(&err, "org.Get(%d)", id)
	return database.Take[Org](db, id, ErrOrgNotFound)
}

// Children returns the direct children of an org, oldest first.
func (s *Store) Children(ctx context.Context, id int64) ([]Org, error) {
	var out []Org
	if err := s.db.WithContext(ctx).Where("parent_id = ?", id).Order("id").Limit(1000).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("org.Children(%d): %w", id, err)
	}
	return out, nil
}

// SubtreeCounts returns the counters of each org's subtree.
func (s *Store) SubtreeCounts(ctx context.Context, ids []int64) (map[int64]Counts, error) {
	out := make(map[int64]Counts, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []count
	if err := s.db.WithContext(ctx).Where("org_id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("org.SubtreeCounts: %w", err)
	}
	for _, id := range ids {
		out[id] = newCounts()
	}
	for _, r := range rows {
		c := out[r.OrgID]
		c.add(r.Status, r.Badge, r.N)
		out[r.OrgID] = c
	}
	return out, nil
}

// DirectCounts counts the memberships of the org itself; Seconded counts the
// approved members lent to it (temporary orgs).
func (s *Store) DirectCounts(ctx context.Context, id int64) (Counts, int64, error) {
	var rows []struct {
		Status   Status
		Badge    Badge
		Seconded bool
		N        int64
	}
	err := s.db.WithContext(ctx).Model(&Membership{}).
		Select("status, badge, seconded_from IS NOT NULL AS seconded, COUNT(*) AS n").
		Where("org_id = ? AND status IN ?", id, []Status{StatusPending, StatusApproved}).
		Group("status, badge, seconded_from IS NOT NULL").Scan(&rows).Error
	if err != nil {
		return Counts{}, 0, fmt.Errorf("org.DirectCounts(%d): %w", id, err)
	}
	c, seconded := newCounts(), int64(0)
	for _, r := range rows {
		if r.Seconded {
			if r.Status == StatusApproved {
				seconded += r.N
			}
			continue
		}
		c.add(r.Status, r.Badge, r.N)
	}
	return c, seconded, nil
}

// Manages reports whether the user is an approved secretary of the org or
// of one of its ancestors (in an org that has not ended). It is two indexed
// lookups whatever the size or depth of the tree: the org's ancestors from
// the closure table (depth + 1 rows), then the user's secretary membership
// among them by the (org_id, user_id) unique index. Two plain statements
// keep the plan independent of table statistics, which a single join was
// not (a stale or missing ANALYZE turned it into a scan of orgs).
func (s *Store) Manages(ctx context.Context, userID, orgID int64) (bool, error) {
	ancestors, err := Ancestors(ctx, s.db, orgID)
	if err != nil {
		return false, fmt.Errorf("org.Manages(%d, %d): %w", userID, orgID, err)
	}
	if len(ancestors) == 0 {
		return false, nil
	}
	var n int64
	err = s.db.WithContext(ctx).Raw(`SELECT COUNT(*) FROM memberships m JOIN orgs o ON o.id = m.org_id
		WHERE m.org_id IN ? AND m.user_id = ? AND m.role = ? AND `+LiveSQL,
		append([]any{ancestors, userID, RoleSecretary}, LiveArgs(s.db.NowFunc().UTC())...)...).Scan(&n).Error
	if err != nil {
		return false, fmt.Errorf("org.Manages(%d, %d): %w", userID, orgID, err)
	}
	return n > 0, nil
}

// InSubtree reports whether org is root or below it.
func (s *Store) InSubtree(ctx context.Context, root, org int64) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&closure{}).Where("ancestor_id = ? AND descendant_id = ?", root, org).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("org.InSubtree: %w", err)
	}
	return n > 0, nil
}

// Membership returns the user's membership in the org.
func (s *Store) Membership(ctx context.Context, orgID, userID int64) (Membership, error) {
	return getMembership(s.db.WithContext(ctx), orgID, userID)
}

func getMembership(db *gorm.DB, orgID, userID int64) (Membership, error) {
	var m Membership
	err := db.Take(&m, "org_id = ? AND user_id = ?", orgID, userID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Membership{}, ErrMembershipNotFound
	}
	if err != nil {
		return Membership{}, fmt.Errorf("org.Membership(%d, %d): %w", orgID, userID, err)
	}
	return m, nil
}

// MembershipByID returns a membership with its org.
func (s *Store) MembershipByID(ctx context.Context, id int64) (MembershipView, error) {
	var v []MembershipView
	if err := s.views(ctx).Where("m.id = ?", id).Find(&v).Error; err != nil {
		return MembershipView{}, fmt.Errorf("org.MembershipByID(%d): %w", id, err)
	}
	if len(v) == 0 {
		return MembershipView{}, ErrMembershipNotFound
	}
	return v[0], nil
}

// ForUser returns every membership of a user with its org, oldest first.
func (s *Store) ForUser(ctx context.Context, userID int64) ([]MembershipView, error) {
	// A plain statement: this runs on every login and GET /me.
	var v []MembershipView
	if err := s.db.WithContext(ctx).Raw(forUserSQL, userID).Scan(&v).Error; err != nil {
		return nil, fmt.Errorf("org.ForUser(%d): %w", userID, err)
	}
	return v, nil
}

var forUserSQL = `SELECT m.*, ` + OrgNameSQL("o") + ` AS org_name, o.kind AS org_kind, o.ends_at AS org_ends_at, o.dissolved_at AS org_dissolve
	FROM memberships m JOIN orgs o ON o.id = m.org_id WHERE m.user_id = ? ORDER BY m.id LIMIT 200`

func (s *Store) views(ctx context.Context) *gorm.DB {
	return s.db.WithContext(ctx).Table("memberships AS m").
		Select("m.*, " + OrgNameSQL("o") + " AS org_name, o.kind AS org_kind, o.ends_at AS org_ends_at, o.dissolved_at AS org_dissolve").
		Joins("JOIN orgs o ON o.id = m.org_id")
}

// MemberFilter narrows a member list.
type MemberFilter struct {
	Status Status
	Badge  Badge
	// Name, when set, keeps the members whose name contains it (a name
	// hidden by a content check is not searched).
	Name  string
	After int64 // membership id to continue after
	Limit int
}

// MemberRow is a membership with the member's masked phone number.
type MemberRow struct {
	Membership
	Phone string
	// ContentHidden: a later content check found the name risky.
	ContentHidden bool
}

// Members lists an org's memberships in id order.
func (s *Store) Members(ctx context.Context, orgID int64, f MemberFilter) ([]MemberRow, error) {
	q := s.db.WithContext(ctx).Table("memberships AS m").Select("m.*, u.phone AS phone").
		Joins("JOIN users u ON u.id = m.user_id").Where("m.org_id = ? AND m.id > ?", orgID, f.After)
	if f.Status != "" {
		q = q.Where("m.status = ?", f.Status)
	}
	if f.Badge != "" {
		q = q.Where("m.badge = ?", f.Badge)
	}
	if f.Name != "" {
		q = q.Where("m.name LIKE ? ESCAPE '!' AND m.content_hidden = ?", "%"+likeEscaper.Replace(f.Name)+"%", false)
	}
	var rows []MemberRow
	if err := q.Order("m.id").Limit(f.Limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("org.Members(%d): %w", orgID, err)
	}
	return rows, nil
}

// likeEscaper makes a text match itself in a LIKE pattern with ESCAPE '!'
// (the same on SQLite, PostgreSQL and MySQL).
var likeEscaper = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")

// SecondedByBadge counts the approved members lent to a temporary org, by badge.
func (s *Store) SecondedByBadge(ctx context.Context, orgID int64) (map[Badge]int64, error) {
	var rows []struct {
		Badge Badge
		N     int64
	}
	err := s.db.WithContext(ctx).Model(&Membership{}).Select("badge, COUNT(*) AS n").
		Where("org_id = ? AND status = ? AND seconded_from IS NOT NULL", orgID, StatusApproved).Group("badge").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("org.SecondedByBadge(%d): %w", orgID, err)
	}
	out := map[Badge]int64{}
	for _, r := range rows {
		out[r.Badge] = r.N
	}
	return out, nil
}

// Secretaries returns the user ids of the approved secretaries of an org.
func (s *Store) Secretaries(ctx context.Context, orgID int64) ([]int64, error) {
	var ids []int64
	err := s.db.WithContext(ctx).Model(&Membership{}).Where("org_id = ? AND role = ? AND status = ?", orgID, RoleSecretary, StatusApproved).
		Order("id").Pluck("user_id", &ids).Error
	if err != nil {
		return nil, fmt.Errorf("org.Secretaries(%d): %w", orgID, err)
	}
	return ids, nil
}
