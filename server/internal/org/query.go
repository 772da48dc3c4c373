package org

import (
	"strings"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/contentsec"
)

// Pieces of SQL for statements of other packages that must name the tree
// or the memberships inside their own query (statistics over the whole
// tree, lists of a subtree's reports): the tables stay org's, and each
// piece keeps the plan a hand-written join would have. Column names passed
// in must be constants of the calling code, never input.

// SubtreeSQL selects the ids of the orgs of a subtree, its root included;
// its one parameter is the root. Use it as "org_id IN (" + SubtreeSQL + ")".
const SubtreeSQL = "SELECT descendant_id FROM org_closure WHERE ancestor_id = ?"

// Subtree is SubtreeSQL as a gorm subquery, for "col IN (?)".
func Subtree(db *gorm.DB, root int64) *gorm.DB {
	return db.Session(&gorm.Session{NewDB: true}).Model(&closure{}).Select("descendant_id").Where("ancestor_id = ?", root)
}

// InSubtree is a gorm scope that keeps the rows whose column col (e.g.
// "org_id", "m.org_id") is an org of root's subtree.
func InSubtree(col string, root int64) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB { return db.Where(col+" IN (?)", Subtree(db, root)) }
}

// RollupSQL sums the columns cols of inner, a query with one row per org
// (column org_id), over the subtree of each org of a list: the list is the
// statement's last parameter, after inner's, and the org is the column id.
// The closure join sees one row per org, not one per counted row.
func RollupSQL(inner string, cols ...string) string {
	var b strings.Builder
	b.WriteString("SELECT c.ancestor_id AS id")
	for _, col := range cols {
		b.WriteString(", SUM(x." + col + ") AS " + col)
	}
	b.WriteString(" FROM (" + inner + ") x JOIN org_closure c ON c.descendant_id = x.org_id WHERE c.ancestor_id IN ? GROUP BY c.ancestor_id")
	return b.String()
}

// SpreadSQL lists the columns cols of each row of inner (a query with a
// column org_id) once for every org of a list whose subtree holds the row's
// org: the list is the statement's last parameter, and the org is the
// first column, id.
func SpreadSQL(inner string, cols ...string) string {
	var b strings.Builder
	b.WriteString("SELECT c.ancestor_id AS id")
	for _, col := range cols {
		b.WriteString(", x." + col)
	}
	b.WriteString(" FROM (" + inner + ") x JOIN org_closure c ON c.descendant_id = x.org_id WHERE c.ancestor_id IN ?")
	return b.String()
}

// MemberName is the name of the membership aliased m as others see it in
// lists: masked where a later content check found it risky.
var MemberName = contentsec.MaskSQL("m.name", "m.content_hidden")

// OrgNameSQL is the name of the org aliased alias as others see it in
// lists: masked where a later content check found it risky (Org.ShownName).
func OrgNameSQL(alias string) string {
	return contentsec.MaskSQL(alias+".name", alias+".content_hidden")
}

// JoinMembershipSQL is a LEFT JOIN of the membership (aliased m) of the
// row's user (column userCol) in the row's org (column orgCol), for a list
// that shows the member's name or badge beside rows of another table.
func JoinMembershipSQL(orgCol, userCol string) string {
	return "LEFT JOIN memberships m ON m.org_id = " + orgCol + " AND m.user_id = " + userCol
}

// MemberNameSQL is a scalar subquery: the name of the user's (column
// userCol) oldest approved membership (masked: MemberName), or NULL.
func MemberNameSQL(userCol string) string {
	return "(SELECT " + MemberName + " FROM memberships m WHERE m.user_id = " + userCol +
		" AND m.status = '" + string(StatusApproved) + "' ORDER BY m.id LIMIT 1)"
}

// SubtreeOrg is an org of a subtree as a listing of the whole subtree
// shows it: with its parent's name and its subtree's approved members.
type SubtreeOrg struct {
	ID         int64
	Name       string
	Kind       Kind
	Depth      int
	ParentName *string
	Members    *int64
}

// SubtreeOrgs returns the orgs of root's subtree after org id after, in id
// order, at most limit. Driven by the closure's primary key, a page costs
// the same whatever the size of the subtree. db may be a transaction.
func SubtreeOrgs(db *gorm.DB, root, after int64, limit int) ([]SubtreeOrg, error) {
	var rows []SubtreeOrg
	err := db.Raw(`SELECT o.id, `+OrgNameSQL("o")+` AS name, o.kind, o.depth, `+OrgNameSQL("p")+` AS parent_name,
			(SELECT SUM(k.n) FROM org_counts k WHERE k.org_id = o.id AND k.status = ?) AS members
		FROM org_closure c JOIN orgs o ON o.id = c.descendant_id LEFT JOIN orgs p ON p.id = o.parent_id
		WHERE c.ancestor_id = ? AND c.descendant_id > ? ORDER BY c.descendant_id LIMIT ?`,
		StatusApproved, root, after, limit).Scan(&rows).Error
	return rows, err
}

// SubtreeMember is a membership of a subtree with its org's name and the
// member's full phone number (the caller masks it).
type SubtreeMember struct {
	ID         int64
	OrgID      int64
	Name       string
	OrgName    string
	Badge      Badge
	Role       Role
	Status     Status
	Phone      string
	CreatedAt  time.Time
	ApprovedAt *time.Time
}

// SubtreeMembers returns the memberships of root's subtree, whatever their
// status, org by org in the closure table's order and by id within an org,
// after membership afterID of org afterOrg, at most limit. Driven by the
// closure's primary key, a page costs the same whether the subtree is the
// whole tree or one branch, and whatever plan the database caches for the
// statement. db may be a transaction.
func SubtreeMembers(db *gorm.DB, root, afterOrg, afterID int64, limit int) ([]SubtreeMember, error) {
	var rows []SubtreeMember
	err := db.Raw(`SELECT m.id, m.org_id, `+MemberName+` AS name, `+OrgNameSQL("o")+` AS org_name, m.badge, m.role, m.status, u.phone, m.created_at, m.approved_at
		FROM org_closure c JOIN memberships m ON m.org_id = c.descendant_id JOIN orgs o ON o.id = m.org_id JOIN users u ON u.id = m.user_id
		WHERE c.ancestor_id = ? AND c.descendant_id >= ? AND (c.descendant_id > ? OR m.id > ?)
		ORDER BY c.descendant_id, m.id LIMIT ?`, root, afterOrg, afterOrg, afterID, limit).Scan(&rows).Error
	return rows, err
}
