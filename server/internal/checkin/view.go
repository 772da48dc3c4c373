package checkin

import (
	"context"
	"fmt"
	"time"

	"xianfeng/server/internal/org"
	"xianfeng/server/internal/paging"
)

// Orgs is what the board needs from the org tree: its scope rule and counters.
type Orgs interface {
	// RequireManager returns the org if the user manages it, else org.ErrOrgNotFound.
	RequireManager(ctx context.Context, userID, orgID int64) (org.Org, error)
	SubtreeCounts(ctx context.Context, ids []int64) (map[int64]org.Counts, error)
	SecondedByBadge(ctx context.Context, orgID int64) (map[org.Badge]int64, error)
}

var _ Orgs = (*org.Service)(nil)

// Line is one badge's (or everyone's) figures on the board.
type Line struct {
	Members   int64 `json:"members"`
	CheckedIn int64 `json:"checked_in"`
	NotYet    int64 `json:"not_yet"`
}

// View is the board of an org's subtree for a day.
type View struct {
	Day     string
	All     Line
	ByBadge map[org.Badge]Line
	// Source says where the checked-in figures came from: "redis", or
	// "database" while another process rebuilds the day's counters.
	Source string
}

// Absent is an approved member who has not checked in that day.
type Absent struct {
	MembershipID int64
	UserID       int64
	OrgID        int64
	OrgName      string
	Name         string
	Badge        org.Badge
	Phone        string
}

// Board returns the check-in board of an org's subtree for a day and a page
// of at most limit of the members who have not checked in (after the
// membership id after), for the secretaries above it.
func (s *Service) Board(ctx context.Context, orgs Orgs, userID, orgID int64, day string, after int64, limit int) (View, paging.Page[Absent], error) {
	v, absent, err := s.board(ctx, orgs, userID, orgID, day, after, limit+1)
	return v, paging.Trim(absent, limit, func(a Absent) int64 { return a.MembershipID }), err
}

// Figures is Board without the list of who has not checked in: the
// figures alone, which a page of many orgs' boards (the web console's
// dashboard, one line per child org) needs; the list costs a query over
// the subtree's memberships.
func (s *Service) Figures(ctx context.Context, orgs Orgs, userID, orgID int64, day string) (View, error) {
	v, _, err := s.figures(ctx, orgs, userID, orgID, day)
	return v, err
}

// board is Board with up to limit absent members.
func (s *Service) board(ctx context.Context, orgs Orgs, userID, orgID int64, day string, after int64, limit int) (View, []Absent, error) {
	v, o, err := s.figures(ctx, orgs, userID, orgID, day)
	if err != nil {
		return View{}, nil, err
	}
	absent, err := s.absent(ctx, o, day, after, limit)
	if err != nil {
		return View{}, nil, err
	}
	return v, absent, nil
}

// figures is the board's figures and the org they are of.
func (s *Service) figures(ctx context.Context, orgs Orgs, userID, orgID int64, day string) (View, org.Org, error) {
	o, err := orgs.RequireManager(ctx, userID, orgID)
	if err != nil {
		return View{}, org.Org{}, err
	}
	counts, err := orgs.SubtreeCounts(ctx, []int64{orgID})
	if err != nil {
		return View{}, org.Org{}, err
	}
	members := counts[orgID].ByBadge
	if o.Kind == org.KindTemporary {
		sec, err := orgs.SecondedByBadge(ctx, orgID)
		if err != nil {
			return View{}, org.Org{}, err
		}
		for b, n := range sec {
			members[b] += n
		}
	}
	v := View{Day: day, ByBadge: map[org.Badge]Line{}, Source: "redis"}
	var tally Tally
	done := false
	if s.opts.Board != nil {
		tally, done, err = s.opts.Board.Read(ctx, orgID, day)
		if err != nil {
			s.Log().WarnContext(ctx, "board counters unavailable; counting in the database", "err", err)
		}
	}
	if !done {
		v.Source = "database"
		if tally, err = s.countInDB(ctx, orgID, day); err != nil {
			return View{}, org.Org{}, err
		}
	}
	for _, b := range org.Badges {
		l := Line{Members: members[b], CheckedIn: tally.ByBadge[b]}
		l.NotYet = max(0, l.Members-l.CheckedIn)
		v.ByBadge[b] = l
		v.All.Members += l.Members
		v.All.CheckedIn += l.CheckedIn
		v.All.NotYet += l.NotYet
	}
	return v, o, nil
}

// countInDB counts a subtree's check-ins of a day in the database.
func (s *Service) countInDB(ctx context.Context, orgID int64, day string) (Tally, error) {
	var rows []struct {
		Badge org.Badge
		N     int64
	}
	err := s.DB().WithContext(ctx).Table("checkins AS c").Select("c.badge, COUNT(*) AS n").
		Scopes(org.InSubtree("c.org_id", orgID)).
		Where("c.day = ? AND (c.seconded = ? OR c.org_id = ?)", day, false, orgID).Group("c.badge").Scan(&rows).Error
	if err != nil {
		return Tally{}, fmt.Errorf("checkin: count %d %s: %w", orgID, day, err)
	}
	t := Tally{ByBadge: map[org.Badge]int64{}}
	for _, r := range rows {
		t.ByBadge[r.Badge] += r.N
		t.Total += r.N
	}
	return t, nil
}

// absent lists live members of the subtree with no check-in that day,
// in membership order. Members lent to a temporary org appear on its board.
func (s *Service) absent(ctx context.Context, o org.Org, day string, after int64, limit int) ([]Absent, error) {
	var out []Absent
	err := s.DB().WithContext(ctx).Scopes(org.LiveMemberships(s.Now().UTC())).
		Select("m.id AS membership_id, m.user_id, m.org_id, "+org.OrgNameSQL("o")+" AS org_name, "+org.MemberName+" AS name, m.badge, u.phone").
		Joins("JOIN users u ON u.id = m.user_id").Scopes(org.InSubtree("m.org_id", o.ID)).
		Where("(m.seconded_from IS NULL OR m.org_id = ?) AND m.id > ?", o.ID, after).
		Where("NOT EXISTS (SELECT 1 FROM checkins c WHERE c.user_id = m.user_id AND c.org_id = m.org_id AND c.day = ?)", day).
		Order("m.id").Limit(limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("checkin: absent %d %s: %w", o.ID, day, err)
	}
	return out, nil
}

// ParseDay checks a YYYY-MM-DD day.
func ParseDay(s string) (string, bool) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return "", false
	}
	return t.Format(time.DateOnly), true
}
