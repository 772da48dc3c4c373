package org

import (
	"context"
	"slices"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/contentsec"
)

// Names are the people and orgs a page names by id (an audit entry's actor
// and target, a deed's member and the secretaries on its path), as the
// secretary reading the page may see them. An id missing from a map is one
// they may not put a name to: the page shows the bare id.
type Names struct {
	Users map[int64]string
	Orgs  map[int64]string
}

// User is the user's name, or "" when Names has none for them.
func (n Names) User(id int64) string { return n.Users[id] }

// Org is the org's name, or "" when Names has none for it.
func (n Names) Org(id int64) string { return n.Orgs[id] }

// NamesAround returns the names of the users of userIDs and the orgs of
// orgIDs that viewer, who must manage root (else ErrOrgNotFound), may see
// beside a page about root: a user with a membership in root's subtree
// (their oldest there, whatever its status: a removed member is still
// named in the trail) or who is a secretary of an org above root (the
// people who act on it from above); an org of root's subtree or above it.
// Names found risky are masked as in lists (contentsec). Two queries
// whatever the length of the page, none for an empty list.
func (s *Service) NamesAround(ctx context.Context, viewer, root int64, userIDs, orgIDs []int64) (_ Names, err error) {
	defer apperr.Annotate(&err, "org.NamesAround(%d)", root)
	if _, err := s.require(ctx, viewer, root, levelManager); err != nil {
		return Names{}, err
	}
	out := Names{Users: map[int64]string{}, Orgs: map[int64]string{}}
	db := s.store.db.WithContext(ctx)
	if ids := distinct(userIDs); len(ids) > 0 {
		var rows []struct {
			UserID        int64
			Name          string
			ContentHidden bool
		}
		if err := db.Raw(`SELECT m.user_id, m.name, m.content_hidden FROM memberships m
			WHERE m.user_id IN ? AND (m.org_id IN (`+SubtreeSQL+`)
				OR (m.role = ? AND m.org_id IN (SELECT ancestor_id FROM org_closure WHERE descendant_id = ?)))
			ORDER BY m.user_id, m.id`, ids, root, RoleSecretary, root).Scan(&rows).Error; err != nil {
			return Names{}, err
		}
		for _, r := range rows {
			if _, ok := out.Users[r.UserID]; !ok {
				out.Users[r.UserID] = contentsec.Mask(r.Name, r.ContentHidden, r.UserID, viewer)
			}
		}
	}
	if ids := distinct(orgIDs); len(ids) > 0 {
		var orgs []Org
		if err := db.Raw(`SELECT o.id, o.name, o.content_hidden, o.created_by FROM orgs o
			WHERE o.id IN ? AND (o.id IN (`+SubtreeSQL+`) OR o.id IN (SELECT ancestor_id FROM org_closure WHERE descendant_id = ?))`,
			ids, root, root).Scan(&orgs).Error; err != nil {
			return Names{}, err
		}
		for _, o := range orgs {
			out.Orgs[o.ID] = o.ShownName(viewer)
		}
	}
	return out, nil
}

// distinct is ids sorted without repeats or zeros.
func distinct(ids []int64) []int64 {
	out := slices.DeleteFunc(slices.Clone(ids), func(id int64) bool { return id <= 0 })
	slices.Sort(out)
	return slices.Compact(out)
}
