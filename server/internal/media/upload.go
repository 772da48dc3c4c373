package media

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"xianfeng/server/internal/apperr"
)

// View is a media item as an answer shows it: its facts and two signed
// URLs (the image and its thumbnail) that work without the Authorization
// header until expires_at.
type View struct {
	ID          int64     `json:"id"`
	ContentType string    `json:"content_type"`
	Bytes       int64     `json:"bytes"`
	Width       int       `json:"width"`
	Height      int       `json:"height"`
	SHA256      string    `json:"sha256"`
	CheckState  string    `json:"check_state"`
	URL         string    `json:"url"`
	ThumbURL    string    `json:"thumb_url"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// view shows m to viewer with URLs signed for viewer.
func (s *Service) view(m Media, viewer int64) View {
	exp := s.Now().Add(s.opts.URLTTL).Truncate(time.Second)
	return View{ID: m.ID, ContentType: m.ContentType, Bytes: m.Bytes, Width: m.Width, Height: m.Height, SHA256: m.SHA256,
		CheckState: m.CheckState, ExpiresAt: exp,
		URL: s.signed(m.ID, variantFull, viewer, exp), ThumbURL: s.signed(m.ID, variantThumb, viewer, exp)}
}

// SignedURL returns a signed URL of the image of m (thumb: its thumbnail)
// valid for ttl, made for its uploader: for a content-security service
// that fetches the image from outside (WeChat's mediaCheckAsync), put
// behind the public origin. It works while the item is not risky.
func (s *Service) SignedURL(m Media, thumb bool, ttl time.Duration) string {
	v := variantFull
	if thumb {
		v = variantThumb
	}
	return s.signed(m.ID, v, m.UserID, s.Now().Add(ttl).Truncate(time.Second))
}

// signed is the URL of one variant of media id, signed for viewer until exp.
func (s *Service) signed(id int64, v byte, viewer int64, exp time.Time) string {
	path := "/media/" + strconv.FormatInt(id, 10)
	if v == variantThumb {
		path += "/thumb"
	}
	return s.opts.BasePath + path + "?t=" + s.opts.Signer.sign(urlClaims{MediaID: id, Variant: v, Viewer: viewer, ExpiresAt: exp})
}

// Upload stores the image raw for userID: recognised by its content (JPEG,
// PNG or WebP), at most MaxBytes and MaxPixels, re-encoded without
// metadata, upright, with a thumbnail. It stays unattached until Attach,
// and is deleted by Sweep if that does not happen within Unattached.
func (s *Service) Upload(ctx context.Context, userID int64, raw []byte) (_ View, err error) {
	defer apperr.Annotate(&err, "media.Upload")
	if int64(len(raw)) > s.opts.MaxBytes {
		return View{}, ErrTooLarge
	}
	if len(raw) == 0 {
		return View{}, ErrNoFile
	}
	p, err := s.process(ctx, raw)
	if err != nil {
		return View{}, err
	}
	name := randomName()
	ext := ".jpg"
	if p.contentType == "image/png" {
		ext = ".png"
	}
	sum := sha256.Sum256(p.data)
	m := Media{UserID: userID, Key: "m/" + name[:2] + "/" + name + ext, ThumbKey: "m/" + name[:2] + "/" + name + "_t.jpg",
		ContentType: p.contentType, Bytes: int64(len(p.data)), Width: p.width, Height: p.height,
		SHA256: hex.EncodeToString(sum[:]), CheckState: CheckPass, CreatedAt: s.Now()}
	if err := s.opts.Store.Put(ctx, m.Key, p.data, m.ContentType); err != nil {
		return View{}, err
	}
	if err := s.opts.Store.Put(ctx, m.ThumbKey, p.thumb, "image/jpeg"); err != nil {
		s.drop(ctx, m)
		return View{}, err
	}
	if err := s.DB().WithContext(ctx).Create(&m).Error; err != nil {
		s.drop(ctx, m)
		return View{}, err
	}
	return s.view(m, userID), nil
}

// drop deletes the objects of m, logging what it cannot.
func (s *Service) drop(ctx context.Context, m Media) {
	ctx = context.WithoutCancel(ctx)
	for _, key := range []string{m.Key, m.ThumbKey} {
		if err := s.opts.Store.Delete(ctx, key); err != nil {
			s.Log().WarnContext(ctx, "could not delete a media object", "media_id", m.ID, "err", err)
		}
	}
}

// randomName is 128 random bits in hex: object keys say nothing about
// their uploader or their order.
func randomName() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
