package form

import (
	"context"
	"slices"

	"gorm.io/gorm"

	"xianfeng/server/internal/org"
)

// view is the part of a form's reach a secretary oversees: all of it when
// they manage the form's org (a secretary of it or above), or, for a form
// that reaches the orgs below its own, the subtrees of the orgs below it
// they manage (a branch's secretary sees their branch, as everywhere).
type view struct {
	All bool
	// Roots are the tops of the subtrees seen: the form's org when All.
	Roots []int64
}

// oversee loads a form for a secretary who oversees some of it, with
// what they see; anyone else gets ErrNotFound.
func (s *Service) oversee(ctx context.Context, userID, id int64) (Form, view, error) {
	f, err := s.get(ctx, id)
	if err != nil {
		return Form{}, view{}, err
	}
	v, err := s.viewOf(ctx, userID, f)
	if err != nil {
		return Form{}, view{}, err
	}
	if len(v.Roots) == 0 {
		return Form{}, view{}, ErrNotFound
	}
	return f, v, nil
}

// viewOf returns what of f the user oversees (no Roots: nothing). The
// candidates below the form's org are the orgs of the user's own
// memberships that the form reaches; org's Manages decides each, and a
// subtree inside another one seen is dropped.
func (s *Service) viewOf(ctx context.Context, userID int64, f Form) (view, error) {
	ok, err := s.orgs.Manages(ctx, userID, f.OrgID)
	if err != nil || ok {
		return view{All: ok, Roots: []int64{f.OrgID}}, err
	}
	if !f.IncludeSuborgs {
		return view{}, nil
	}
	ms, err := s.orgs.ForUser(ctx, userID)
	if err != nil {
		return view{}, err
	}
	above := map[int64][]int64{}
	for _, m := range ms {
		if _, seen := above[m.OrgID]; seen || m.OrgID == f.OrgID {
			continue
		}
		ids, err := org.Ancestors(ctx, s.DB(), m.OrgID)
		if err != nil {
			return view{}, err
		}
		if !slices.Contains(ids, f.OrgID) {
			continue
		}
		if ok, err := s.orgs.Manages(ctx, userID, m.OrgID); err != nil {
			return view{}, err
		} else if ok {
			above[m.OrgID] = ids
		}
	}
	var v view
	for id, ids := range above {
		inner := false
		for other := range above {
			inner = inner || (other != id && slices.Contains(ids, other))
		}
		if !inner {
			v.Roots = append(v.Roots, id)
		}
	}
	slices.Sort(v.Roots)
	return v, nil
}

// within keeps the rows of q whose org column col (a constant of the
// calling code) is in what v sees; q is left whole when v sees all of the
// form, whose rows are all in its reach.
func (v view) within(q *gorm.DB, col string) *gorm.DB {
	if v.All {
		return q
	}
	cond := q.Session(&gorm.Session{NewDB: true})
	for i, root := range v.Roots {
		sub := org.Subtree(q, root)
		if i == 0 {
			cond = cond.Where(col+" IN (?)", sub)
		} else {
			cond = cond.Or(col+" IN (?)", sub)
		}
	}
	return q.Where(cond)
}
