package contentsec

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/media"
	"xianfeng/server/internal/wechat"
)

// Images is media's side of the image checks. *media.Service is one.
type Images interface {
	// Unchecked returns up to limit attached media whose verdict is
	// pending, with ids above after, in id order (among ids, if given).
	Unchecked(ctx context.Context, after int64, limit int, ids ...int64) ([]media.Media, error)
	// SignedURL is the URL WeChat fetches the image from, valid for ttl.
	SignedURL(m media.Media, thumb bool, ttl time.Duration) string
	// SetCheckState records a verdict: media.CheckPass or media.CheckRisky.
	SetCheckState(ctx context.Context, id int64, state string) error
}

var _ Images = (*media.Service)(nil)

// startImages sends the attached images whose verdict is pending and which
// WeChat has not been asked about to mediaCheckAsync. An image WeChat will
// not take now is asked about at the next sweep; until then it shows to
// its uploader and the secretaries handling what it is attached to.
func (s *Service) startImages(ctx context.Context) error {
	if s.opts.Images == nil {
		return nil
	}
	const batch = 200
	for after := int64(0); ; {
		ms, err := s.opts.Images.Unchecked(ctx, after, batch)
		if err != nil {
			return err
		}
		if err := s.startUnasked(ctx, ms); err != nil {
			return err
		}
		if len(ms) < batch {
			return nil
		}
		after = ms[len(ms)-1].ID
	}
}

// StartImage sends the attached image id to mediaCheckAsync unless its
// verdict is in or WeChat was asked already: the job queued when it was
// attached (Jobs.Attached). Should WeChat not take it now, the sweep asks
// again.
func (s *Service) StartImage(ctx context.Context, id int64) (err error) {
	defer apperr.Annotate(&err, "contentsec.StartImage(%d)", id)
	if s.opts.Images == nil {
		return nil
	}
	ms, err := s.opts.Images.Unchecked(ctx, 0, 1, id)
	if err != nil {
		return err
	}
	return s.startUnasked(ctx, ms)
}

// startUnasked starts the checks of the pending images ms that WeChat has
// not been asked about.
func (s *Service) startUnasked(ctx context.Context, ms []media.Media) error {
	ids := make([]int64, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	var started []int64
	if len(ids) > 0 {
		if err := s.DB().WithContext(ctx).Model(&Check{}).Where("kind = ? AND ref_id IN ?", KindImage, ids).
			Pluck("ref_id", &started).Error; err != nil {
			return err
		}
	}
	asked := make(map[int64]bool, len(started))
	for _, id := range started {
		asked[id] = true
	}
	for _, m := range ms {
		if !asked[m.ID] {
			if err := s.startImage(ctx, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// startImage asks WeChat to check one image and records the trace id its
// verdict will come back under.
func (s *Service) startImage(ctx context.Context, m media.Media) error {
	openid, err := s.opts.OpenIDs(ctx, m.UserID)
	if err != nil {
		return err
	}
	if openid == "" {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	trace, err := s.opts.Security.MediaCheckAsync(cctx, openid, wechat.SceneForum, s.opts.Images.SignedURL(m, false, s.opts.ImageURLTTL))
	if err != nil {
		s.Log().InfoContext(ctx, "image check not started; the next sweep tries again", "media_id", m.ID, "err", err)
		return nil
	}
	now := s.Now()
	return s.DB().WithContext(ctx).Create(&Check{Kind: KindImage, RefID: m.ID, AuthorID: m.UserID, TraceID: &trace,
		Status: StatusWaiting, NextAt: now, CreatedAt: now, UpdatedAt: now}).Error
}

// ErrUnknownTrace answers a verdict for a trace id no check has (yet):
// WeChat pushes it again later.
var ErrUnknownTrace = &apperr.Error{Kind: apperr.KindUnavailable, Code: "unknown_trace", Message: "未知的检测编号，请稍后重试",
	RetryAfter: 5 * time.Second}

// Verdict records the verdict of an image check that WeChat pushed: the
// image passes, or is hidden from everyone but its uploader, who is told.
// WeChat's repeats of one verdict are recorded once.
func (s *Service) Verdict(ctx context.Context, mc wechat.MediaCheck) (err error) {
	defer apperr.Annotate(&err, "contentsec.Verdict(%s)", mc.TraceID)
	var c Check
	err = s.DB().WithContext(ctx).Take(&c, "trace_id = ?", mc.TraceID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrUnknownTrace
	}
	if err != nil {
		return err
	}
	status := StatusPass
	if mc.Verdict.Risky() {
		status = StatusRisky
	}
	return s.settle(ctx, c, status, mc.Verdict.Label)
}
