package org

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"xianfeng/server/internal/database"
	"xianfeng/server/internal/user"
)

// SeedSpec is the size and shape of a generated organisation tree (see Seed).
// Only Orgs and Members are needed; the other fields override the shape.
type SeedSpec struct {
	// Orgs is the number of orgs, the root included (at least 4: a root, a
	// committee, a general branch and a branch).
	Orgs int
	// Members is the number of ordinary memberships, spread evenly over the
	// branches; the two seeded secretaries come on top.
	Members int
	// Committees is the number of committees (党委) under the root; 0 means
	// one per 100 orgs, at most 10.
	Committees int
	// GeneralBranches is the number of general branches (党总支) under each
	// committee; 0 means about one per 100 remaining orgs, at most 49.
	GeneralBranches int
	// BatchSize is the number of rows per INSERT; 0 means 1000. On SQLite
	// statements are kept to about 500 parameters whatever it says.
	BatchSize int
	// NoAnalyze leaves the planner statistics alone, as they are before
	// autovacuum (or an ANALYZE) has looked at the new rows.
	NoAnalyze bool
}

// SeedResult says what Seed built and how long it took.
type SeedResult struct {
	RootID int64 // the root committee
	// LeafID is the last branch (depth 3): a leaf whose scope check walks
	// the longest path to the root.
	LeafID int64
	// RootSecretaryUserID is the approved secretary of the root: they manage
	// every org of the tree.
	RootSecretaryUserID int64
	// LeafSecretaryUserID is the approved secretary of LeafID and manages
	// nothing else.
	LeafSecretaryUserID int64

	Orgs            int // rows in orgs
	Committees      int // committees below the root
	GeneralBranches int // general branches in all
	Branches        int // branches in all
	Closure         int // rows in org_closure
	Counters        int // rows in org_counts
	Users           int // rows in users
	Memberships     int // rows in memberships, secretaries included
	Approved        int // approved memberships (the root's subtree count)
	Pending         int // pending memberships
	Duration        time.Duration
}

// seedShape is a SeedSpec resolved into level sizes.
type seedShape struct {
	committees, generalPer, generals, branches, members, batch int
}

func (spec SeedSpec) shape() (seedShape, error) {
	s := seedShape{committees: spec.Committees, generalPer: spec.GeneralBranches, members: spec.Members, batch: spec.BatchSize}
	if spec.Orgs < 4 {
		return s, fmt.Errorf("org.Seed: need at least 4 orgs, got %d", spec.Orgs)
	}
	if spec.Members < 0 || spec.Committees < 0 || spec.GeneralBranches < 0 || spec.BatchSize < 0 {
		return s, errors.New("org.Seed: negative size in spec")
	}
	if s.committees == 0 {
		s.committees = min(10, max(1, (spec.Orgs-1)/100))
	}
	if s.generalPer == 0 {
		rest := spec.Orgs - 1 - s.committees
		s.generalPer = min(49, max(1, (rest+100*s.committees-1)/(100*s.committees)))
	}
	if s.batch == 0 {
		s.batch = 1000
	}
	s.generals = s.committees * s.generalPer
	s.branches = spec.Orgs - 1 - s.committees - s.generals
	if s.branches < 1 {
		return s, fmt.Errorf("org.Seed: %d orgs leave no branch under %d committees × %d general branches",
			spec.Orgs, s.committees, s.generalPer)
	}
	return s, nil
}

// Seed bulk-builds an organisation tree in db exactly as the service would
// leave it after creating every org and approving every member one by one,
// but with multi-row INSERTs in one transaction, so that benchmarks and load
// tests can start from a realistic size in seconds:
//
//   - orgs: a root committee (depth 0); Committees committees (党委, depth 1)
//     under it; GeneralBranches general branches (党总支, depth 2) under each
//     committee; and the remaining orgs as branches (党支部, depth 3) spread
//     evenly over the general branches. Names are like "第12党支部". Children
//     are recorded as created by the root secretary, as CreateChild would.
//   - org_closure: every ancestor/descendant pair, each org with itself at
//     depth 0.
//   - users: one per membership, with open_id "seed-<user id>" and a phone
//     number 139xxxxxxxx.
//   - memberships: Members ordinary members (role member) spread evenly over
//     the branches, badges in turn over the three, every tenth one pending
//     and the others approved; plus an approved secretary of the root
//     (RootSecretaryUserID) and one of the last branch (LeafSecretaryUserID),
//     so that a benchmark has callers on both ends of the tree. There are no
//     secondments, rejections or removals, and no audit trail.
//   - org_counts: the six counters of every org (pending/approved × three
//     badges), holding the subtree counts computed while generating.
//
// Ids continue after the largest id already in each table, so Seed can run
// on a database that has data; the new rows do not touch existing ones. On
// PostgreSQL the ids are reserved from the tables' sequences, which are left
// past them; on MySQL and SQLite explicit ids move the auto-increment counter
// on their own. On MySQL and SQLite nobody else should insert into these
// tables while Seed runs (a concurrent insert would make it fail, not
// corrupt anything). After the commit Seed refreshes the planner statistics
// of the five tables (ANALYZE), as autovacuum would shortly afterwards,
// unless spec.NoAnalyze.
func Seed(ctx context.Context, db *gorm.DB, spec SeedSpec) (SeedResult, error) {
	start := time.Now()
	sh, err := spec.shape()
	if err != nil {
		return SeedResult{}, err
	}
	// Bulk statements are large and slow by design: keep them out of the
	// slow-query log.
	db = db.WithContext(ctx).Session(&gorm.Session{Logger: logger.Discard, SkipHooks: true})
	var res SeedResult
	err = database.Transact(ctx, db, func(tx *gorm.DB) error {
		var err error
		res, err = seed(tx, spec.Orgs, sh)
		return err
	})
	if err != nil {
		return SeedResult{}, fmt.Errorf("org.Seed: %w", err)
	}
	if !spec.NoAnalyze {
		if err := analyze(db, "orgs", "org_closure", "org_counts", "users", "memberships"); err != nil {
			return SeedResult{}, fmt.Errorf("org.Seed: analyze: %w", err)
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

func seed(tx *gorm.DB, orgs int, sh seedShape) (SeedResult, error) {
	nUsers := sh.members + 2
	orgBase, err := reserveIDs(tx, "orgs", orgs)
	if err != nil {
		return SeedResult{}, err
	}
	userBase, err := reserveIDs(tx, "users", nUsers)
	if err != nil {
		return SeedResult{}, err
	}
	memberBase, err := reserveIDs(tx, "memberships", nUsers)
	if err != nil {
		return SeedResult{}, err
	}
	now := tx.NowFunc()
	rootSec, leafSec := userBase, userBase+1

	// The tree, by index: 0 the root, then the committees, the general
	// branches and the branches, level by level; org i has id orgBase+i.
	firstGeneral := 1 + sh.committees
	firstBranch := firstGeneral + sh.generals
	parent := make([]int32, orgs)
	parent[0] = -1
	for i := 1; i < orgs; i++ {
		switch {
		case i < firstGeneral:
			parent[i] = 0
		case i < firstBranch:
			parent[i] = int32(1 + (i-firstGeneral)/sh.generalPer)
		default:
			parent[i] = int32(firstGeneral + (i-firstBranch)*sh.generals/sh.branches)
		}
	}
	depth := func(i int) int {
		switch {
		case i == 0:
			return 0
		case i < firstGeneral:
			return 1
		case i < firstBranch:
			return 2
		}
		return 3
	}
	leaf := orgs - 1

	// Member i belongs to branch memberOrg(i); users 0 and 1 are the
	// secretaries, member i is user 2+i.
	memberOrg := func(i int) int { return firstBranch + int(int64(i)*int64(sh.branches)/int64(sh.members)) }
	memberBadge := func(i int) Badge { return Badges[i%len(Badges)] }
	memberStatus := func(i int) Status {
		if i%10 == 9 {
			return StatusPending
		}
		return StatusApproved
	}

	// Counters: the direct counts of every org, then added up the tree.
	type counters [2][3]int64 // [pending, approved][badge]
	statusIdx := map[Status]int{StatusPending: 0, StatusApproved: 1}
	badgeIdx := map[Badge]int{BadgePublicity: 0, BadgeInformation: 1, BadgeFrontline: 2}
	cnt := make([]counters, orgs)
	cnt[0][1][badgeIdx[BadgeFrontline]]++
	cnt[leaf][1][badgeIdx[BadgePublicity]]++
	res := SeedResult{Approved: 2}
	for i := range sh.members {
		st := memberStatus(i)
		cnt[memberOrg(i)][statusIdx[st]][badgeIdx[memberBadge(i)]]++
		if st == StatusApproved {
			res.Approved++
		} else {
			res.Pending++
		}
	}
	for i := orgs - 1; i > 0; i-- { // children come after their parents
		p := parent[i]
		for s := range 2 {
			for b := range 3 {
				cnt[p][s][b] += cnt[i][s][b]
			}
		}
	}

	// orgs
	err = insertRows(tx, sh.batch, orgs, func(i int) Org {
		o := Org{ID: orgBase + int64(i), Depth: depth(i), CreatedAt: now, UpdatedAt: now}
		switch {
		case i == 0:
			o.Name, o.Kind = "压测市委", KindCommittee
		case i < firstGeneral:
			o.Name, o.Kind = "第"+strconv.Itoa(i)+"党委", KindCommittee
		case i < firstBranch:
			o.Name, o.Kind = "第"+strconv.Itoa(i-firstGeneral+1)+"党总支", KindGeneralBranch
		default:
			o.Name, o.Kind = "第"+strconv.Itoa(i-firstBranch+1)+"党支部", KindBranch
		}
		if i > 0 {
			pid := orgBase + int64(parent[i])
			o.ParentID, o.CreatedBy = &pid, rootSec
		}
		return o
	})
	if err != nil {
		return SeedResult{}, fmt.Errorf("insert orgs: %w", err)
	}

	// org_closure: org i with each of its ancestors.
	nClosure := 0
	for i := range orgs {
		nClosure += depth(i) + 1
	}
	desc, anc, up := 0, 0, 0 // the next pair: descendant, ancestor and how far up
	err = insertRows(tx, sh.batch, nClosure, func(int) closure {
		c := closure{AncestorID: orgBase + int64(anc), DescendantID: orgBase + int64(desc), Depth: up}
		if p := parent[anc]; p >= 0 {
			anc, up = int(p), up+1
		} else {
			desc, up = desc+1, 0
			anc = desc
		}
		return c
	})
	if err != nil {
		return SeedResult{}, fmt.Errorf("insert closure: %w", err)
	}

	// org_counts: six per org.
	statuses := [2]Status{StatusPending, StatusApproved}
	err = insertRows(tx, sh.batch, orgs*6, func(k int) count {
		i, s, b := k/6, k%6/3, k%3
		return count{OrgID: orgBase + int64(i), Status: statuses[s], Badge: Badges[b], N: cnt[i][s][b]}
	})
	if err != nil {
		return SeedResult{}, fmt.Errorf("insert counters: %w", err)
	}

	// users
	userName := func(u int) string {
		switch u {
		case 0:
			return "王书记"
		case 1:
			return "李书记"
		}
		return seedName(u - 2)
	}
	err = insertRows(tx, sh.batch, nUsers, func(u int) user.User {
		id := userBase + int64(u)
		return user.User{ID: id, OpenID: "seed-" + strconv.FormatInt(id, 10), Name: userName(u),
			Phone: fmt.Sprintf("139%08d", id%100_000_000), CreatedAt: now, UpdatedAt: now}
	})
	if err != nil {
		return SeedResult{}, fmt.Errorf("insert users: %w", err)
	}

	// memberships: the two secretaries, then the members.
	err = insertRows(tx, sh.batch, nUsers, func(u int) Membership {
		m := Membership{ID: memberBase + int64(u), UserID: userBase + int64(u), Name: userName(u),
			Role: RoleMember, Status: StatusApproved, BadgeVersion: 1, CreatedAt: now, UpdatedAt: now}
		switch u {
		case 0:
			m.OrgID, m.Role, m.Badge = orgBase, RoleSecretary, BadgeFrontline
		case 1:
			m.OrgID, m.Role, m.Badge = orgBase+int64(leaf), RoleSecretary, BadgePublicity
		default:
			i := u - 2
			m.OrgID, m.Badge, m.Status = orgBase+int64(memberOrg(i)), memberBadge(i), memberStatus(i)
		}
		if m.Status == StatusApproved {
			m.ApprovedAt = &now
		}
		return m
	})
	if err != nil {
		return SeedResult{}, fmt.Errorf("insert memberships: %w", err)
	}

	res.RootID, res.LeafID = orgBase, orgBase+int64(leaf)
	res.RootSecretaryUserID, res.LeafSecretaryUserID = rootSec, leafSec
	res.Orgs, res.Committees, res.GeneralBranches, res.Branches = orgs, sh.committees, sh.generals, sh.branches
	res.Closure, res.Counters, res.Users, res.Memberships = nClosure, orgs*6, nUsers, nUsers
	return res, nil
}

// sqliteMaxParams caps the parameters of one INSERT on SQLite: its driver
// (glebarez/go-sqlite) matches each placeholder to its argument by a linear
// search, so binding takes time quadratic in the parameters of a statement.
const sqliteMaxParams = 500

// insertRows inserts n rows made by row(0)…row(n-1), in order, batch rows
// per INSERT statement (fewer on SQLite, see sqliteMaxParams).
func insertRows[T any](tx *gorm.DB, batch, n int, row func(i int) T) error {
	if tx.Name() == "sqlite" {
		batch = max(1, min(batch, sqliteMaxParams/reflect.TypeFor[T]().NumField()))
	}
	buf := make([]T, 0, min(batch, n))
	for i := range n {
		buf = append(buf, row(i))
		if len(buf) == batch || i == n-1 {
			if err := tx.Create(&buf).Error; err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	return nil
}

// reserveIDs returns the first of n consecutive unused ids of table: after
// the largest id in it and, on PostgreSQL, after every id its sequence has
// handed out; the sequence then continues after the n reserved ids.
func reserveIDs(tx *gorm.DB, table string, n int) (int64, error) {
	var last int64
	var err error
	if tx.Name() == "postgres" {
		// setval is not transactional: the reservation holds even for
		// inserts that other sessions make while this transaction runs.
		err = tx.Raw(`SELECT setval(pg_get_serial_sequence(?, 'id'),
			GREATEST(nextval(pg_get_serial_sequence(?, 'id')), (SELECT COALESCE(MAX(id), 0) + 1 FROM `+table+`)) + ? - 1)`,
			table, table, n).Scan(&last).Error
	} else {
		err = tx.Raw(`SELECT COALESCE(MAX(id), 0) + ? FROM `+table, n).Scan(&last).Error
	}
	if err != nil {
		return 0, fmt.Errorf("reserve ids of %s: %w", table, err)
	}
	return last - int64(n) + 1, nil
}

// analyze refreshes the planner statistics of the tables.
func analyze(db *gorm.DB, tables ...string) error {
	list := strings.Join(tables, ", ")
	switch db.Name() {
	case "postgres":
		return db.Exec("ANALYZE " + list).Error
	case "mysql":
		rows, err := db.Raw("ANALYZE TABLE " + list).Rows()
		if err != nil {
			return err
		}
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			_ = rows.Close()
			return err
		}
		return rows.Close()
	default:
		return db.Exec("ANALYZE").Error
	}
}

// seedName returns a plausible Chinese name for member i.
func seedName(i int) string {
	return seedSurnames[i%len(seedSurnames)] + seedGiven[(i/len(seedSurnames))%len(seedGiven)]
}

var (
	seedSurnames = []string{"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马", "罗"}
	seedGiven    = []string{"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平", "刚", "桂英", "建国", "红梅", "晓东"}
)
