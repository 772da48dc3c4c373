package media

import (
	"context"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/database"
)

// Attach attaches the media ids (at most MaxPerOwner, the user's own
// uploads, none attached before) to the owner of that kind and id, inside
// the owner's transaction tx, so that the owner and its media are written
// together or not at all. An id repeated in ids counts once. Errors:
// ErrTooMany, ErrNotYours (missing, deleted or another user's: the same
// answer), ErrAttached. When tx is a database.Transact transaction, its
// commit tells Options.Attached, which starts the items' checks at once.
func (s *Service) Attach(tx *gorm.DB, userID int64, ids []int64, kind string, ownerID int64) error {
	ids = dedupe(ids)
	if len(ids) == 0 {
		return nil
	}
	if len(ids) > MaxPerOwner {
		return ErrTooMany
	}
	now := s.Now()
	// Claiming the rows by updating them locks them against the sweep,
	// which deletes only rows still unattached.
	claim := map[string]any{"attached_at": now}
	if s.opts.Checked {
		claim["check_state"] = CheckPending
	}
	res := tx.Model(&Media{}).Where("id IN ? AND user_id = ? AND attached_at IS NULL", ids, userID).Updates(claim)
	if res.Error != nil {
		return res.Error
	}
	if int(res.RowsAffected) != len(ids) {
		var own int64
		if err := tx.Model(&Media{}).Where("id IN ? AND user_id = ?", ids, userID).Count(&own).Error; err != nil {
			return err
		}
		if int(own) != len(ids) {
			return ErrNotYours
		}
		return ErrAttached
	}
	links := make([]Link, len(ids))
	for i, id := range ids {
		links[i] = Link{MediaID: id, OwnerKind: kind, OwnerID: ownerID, Position: i, CreatedAt: now}
	}
	if err := tx.Create(&links).Error; err != nil {
		return err
	}
	if s.opts.Checked && s.opts.Attached != nil {
		database.AfterCommit(tx, func(ctx context.Context) {
			if err := s.opts.Attached(ctx, ids); err != nil {
				s.Log().WarnContext(ctx, "could not start the checks of attached media; the sweep will", "media_ids", ids, "err", err)
			}
		})
	}
	return nil
}

// CheckIDs refuses a list of media ids that Attach would refuse for its
// length alone, before the owner's transaction starts.
func CheckIDs(ids []int64) error {
	if len(dedupe(ids)) > MaxPerOwner {
		return ErrTooMany
	}
	return nil
}

func dedupe(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Views returns the media attached to each of the owners (of one kind)
// that viewer has been shown, in the order they were attached, with URLs
// signed for viewer; an item found risky is left out for all but its
// uploader, and one pending in a public place (VisibleAt) for all but its
// uploader. The caller has checked that viewer may see those owners.
func (s *Service) Views(ctx context.Context, viewer int64, kind string, ownerIDs ...int64) (map[int64][]View, error) {
	return s.views(ctx, viewer, kind, false, ownerIDs)
}

// HandlerViews is Views for a viewer who handles the owners (the caller
// checked): items still pending show to them in public places too.
func (s *Service) HandlerViews(ctx context.Context, viewer int64, kind string, ownerIDs ...int64) (map[int64][]View, error) {
	return s.views(ctx, viewer, kind, true, ownerIDs)
}

func (s *Service) views(ctx context.Context, viewer int64, kind string, handles bool, ownerIDs []int64) (_ map[int64][]View, err error) {
	defer apperr.Annotate(&err, "media.Views(%s)", kind)
	out := make(map[int64][]View, len(ownerIDs))
	if len(ownerIDs) == 0 {
		return out, nil
	}
	type row struct {
		Media
		OwnerID int64
	}
	var rows []row
	err = s.DB().WithContext(ctx).Table("media_links AS l").Joins("JOIN media ON media.id = l.media_id").
		Select("media.*, l.owner_id").Where("l.owner_kind = ? AND l.owner_id IN ?", kind, ownerIDs).
		Order("l.owner_id, l.position").Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if VisibleAt(r.Media, kind, viewer, handles) {
			out[r.OwnerID] = append(out[r.OwnerID], s.view(r.Media, viewer))
		}
	}
	return out, nil
}

// ViewsOf is Views of one owner, never nil.
func (s *Service) ViewsOf(ctx context.Context, viewer int64, kind string, ownerID int64) ([]View, error) {
	m, err := s.Views(ctx, viewer, kind, ownerID)
	if err != nil {
		return nil, err
	}
	if v := m[ownerID]; v != nil {
		return v, nil
	}
	return []View{}, nil
}

// Sweep deletes the uploads nobody attached within Unattached, their
// objects with them, in batches until none is left.
func (s *Service) Sweep(ctx context.Context) (err error) {
	defer apperr.Annotate(&err, "media.Sweep")
	const batch = 500
	cutoff := s.Now().Add(-Unattached)
	for after := int64(0); ; {
		var stale []Media
		if err := s.DB().WithContext(ctx).Where("id > ? AND attached_at IS NULL AND created_at < ?", after, cutoff).
			Order("id").Limit(batch).Find(&stale).Error; err != nil {
			return err
		}
		for _, m := range stale {
			// Only a row still unattached goes: an Attach that claimed it
			// meanwhile holds it (see Attach).
			res := s.DB().WithContext(ctx).Where("id = ? AND attached_at IS NULL", m.ID).Delete(&Media{})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 1 {
				s.drop(ctx, m)
			}
			after = m.ID
		}
		if len(stale) < batch {
			return nil
		}
	}
}

// Photos is what a domain service needs of media: attaching photos in its
// own transaction and showing them (Views, HandlerViews). *Service is one.
type Photos interface {
	Attach(tx *gorm.DB, userID int64, ids []int64, kind string, ownerID int64) error
	Views(ctx context.Context, viewer int64, kind string, ownerIDs ...int64) (map[int64][]View, error)
	HandlerViews(ctx context.Context, viewer int64, kind string, ownerIDs ...int64) (map[int64][]View, error)
}

var _ Photos = (*Service)(nil)

// Fill puts into each of items (answers about owners of one kind) the
// media attached to its owner, signed for viewer: owner returns an item's
// owner id and where its media go. One query for the whole list.
func Fill[T any](ctx context.Context, s Photos, viewer int64, kind string, items []T, owner func(*T) (int64, *[]View)) error {
	return fill(ctx, s.Views, viewer, kind, items, owner)
}

// FillHandled is Fill for a viewer who handles every owner of items
// (HandlerViews).
func FillHandled[T any](ctx context.Context, s Photos, viewer int64, kind string, items []T, owner func(*T) (int64, *[]View)) error {
	return fill(ctx, s.HandlerViews, viewer, kind, items, owner)
}

func fill[T any](ctx context.Context, views func(context.Context, int64, string, ...int64) (map[int64][]View, error),
	viewer int64, kind string, items []T, owner func(*T) (int64, *[]View)) error {
	ids := make([]int64, len(items))
	for i := range items {
		ids[i], _ = owner(&items[i])
	}
	shown, err := views(ctx, viewer, kind, ids...)
	if err != nil {
		return err
	}
	for i := range items {
		id, dst := owner(&items[i])
		if v := shown[id]; v != nil {
			*dst = v
		} else {
			*dst = []View{}
		}
	}
	return nil
}
