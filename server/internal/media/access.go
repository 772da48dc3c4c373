package media

import (
	"context"
	"errors"
	"io"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
)

// Access serves media to the people who may see them: the uploader
// always; anyone else only when the item is attached to something they
// may see (by that owner's Viewer) and not found risky. Everyone else gets
// ErrNotFound, whether the item exists or not.
type Access struct {
	svc      *Service
	viewers  map[string]Viewer
	handlers map[string]Viewer
}

// Object is what a GET of a media item answers: a redirect to a presigned
// URL (S3) or the bytes (disk), cacheable privately for MaxAge.
type Object struct {
	Redirect    string
	Body        io.ReadCloser
	Size        int64
	ContentType string
	MaxAge      time.Duration
}

// Open returns the image (or its thumbnail) for userID, a signed-in user.
func (a *Access) Open(ctx context.Context, userID, id int64, thumb bool) (_ Object, err error) {
	defer apperr.Annotate(&err, "media.Open(%d)", id)
	m, err := a.svc.load(ctx, id)
	if err != nil {
		return Object{}, err
	}
	if m.UserID != userID {
		ok, err := a.mayView(ctx, m, userID)
		if err != nil {
			return Object{}, err
		}
		if !ok {
			return Object{}, ErrNotFound
		}
	}
	return a.object(ctx, m, thumb, a.svc.opts.URLTTL)
}

// OpenSigned returns the image (or its thumbnail) that a signed URL's
// token names, until the token expires; the token was made for someone
// who could see the item then, and an item found risky since shows only
// to its uploader.
func (a *Access) OpenSigned(ctx context.Context, id int64, thumb bool, token string) (_ Object, err error) {
	defer apperr.Annotate(&err, "media.OpenSigned(%d)", id)
	now := a.svc.Now()
	c, ok := a.svc.opts.Signer.parse(token, now)
	want := variantFull
	if thumb {
		want = variantThumb
	}
	if !ok || c.MediaID != id || c.Variant != want {
		return Object{}, ErrNotFound
	}
	m, err := a.svc.load(ctx, id)
	if err != nil {
		return Object{}, err
	}
	if !Visible(m, c.Viewer) {
		return Object{}, ErrNotFound
	}
	return a.object(ctx, m, thumb, c.ExpiresAt.Sub(now))
}

// mayView applies the owner's rule to a viewer who is not the uploader.
func (a *Access) mayView(ctx context.Context, m Media, userID int64) (bool, error) {
	if !Visible(m, userID) {
		return false, nil
	}
	var l Link
	err := a.svc.DB().WithContext(ctx).Take(&l, "media_id = ?", m.ID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	view := a.viewers[l.OwnerKind]
	if view == nil {
		return false, nil
	}
	handles := false
	if handler := a.handlers[l.OwnerKind]; handler != nil && m.CheckState == CheckPending {
		if handles, err = handler(ctx, userID, l.OwnerID); err != nil {
			return false, err
		}
	}
	if !VisibleAt(m, l.OwnerKind, userID, handles) {
		return false, nil
	}
	return view(ctx, userID, l.OwnerID)
}

func (a *Access) object(ctx context.Context, m Media, thumb bool, ttl time.Duration) (Object, error) {
	key, ct := m.Key, m.ContentType
	if thumb {
		key, ct = m.ThumbKey, "image/jpeg"
	}
	ttl = min(ttl, a.svc.opts.URLTTL).Truncate(time.Second)
	store := a.svc.opts.Store
	u, err := store.Presign(ctx, key, max(ttl, time.Second))
	if err != nil {
		return Object{}, err
	}
	if u != "" {
		return Object{Redirect: u, MaxAge: ttl}, nil
	}
	body, size, err := store.Open(ctx, key)
	if err != nil {
		return Object{}, err
	}
	return Object{Body: body, Size: size, ContentType: ct, MaxAge: ttl}, nil
}
