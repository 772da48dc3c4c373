package notify

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
)

// Subscription is a user's banked consents for one template: each accepted
// wx.requestSubscribeMessage allows one message of that template, with no
// time limit, so consent is a count that sending uses up.
type Subscription struct {
	UserID     int64  `gorm:"primaryKey;autoIncrement:false"`
	TemplateID string `gorm:"primaryKey"`
	Count      int
	UpdatedAt  time.Time
}

// TableName is the subscriptions table.
func (Subscription) TableName() string { return "subscriptions" }

// Consents is the consent ledger.
type Consents struct {
	db  *gorm.DB
	max int
}

// NewConsents returns the ledger; a user banks at most max consents per template.
func NewConsents(db *gorm.DB, max int) *Consents { return &Consents{db: db, max: max} }

// Add records one accepted consent for each template, up to the bound. A
// template named twice in one answer counts once: one request to the user
// accepts each template at most once.
func (c *Consents) Add(ctx context.Context, userID int64, templateIDs []string) (err error) {
	defer apperr.Annotate(&err, "notify.AddConsents(%d)", userID)
	db := c.db.WithContext(ctx)
	now := db.NowFunc()
	seen := make(map[string]bool, len(templateIDs))
	for _, tid := range templateIDs {
		if seen[tid] {
			continue
		}
		seen[tid] = true
		for attempt := 0; ; attempt++ {
			res := db.Model(&Subscription{}).Where("user_id = ? AND template_id = ?", userID, tid).
				Updates(map[string]any{"count": gorm.Expr("CASE WHEN count < ? THEN count + 1 ELSE count END", c.max), "updated_at": now})
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 1 {
				break
			}
			err := db.Create(&Subscription{UserID: userID, TemplateID: tid, Count: 1, UpdatedAt: now}).Error
			if err == nil {
				break
			}
			if attempt > 0 {
				if errors.Is(err, gorm.ErrDuplicatedKey) {
					// The row exists and the update changed nothing: it is at
					// the bound (MySQL counts changed rows, not matched ones).
					break
				}
				return err
			}
			// Another request created the row first: count on it.
		}
	}
	return nil
}

// Counts returns the user's banked consents by template id.
func (c *Consents) Counts(ctx context.Context, userID int64) (_ map[string]int, err error) {
	defer apperr.Annotate(&err, "notify.Consents(%d)", userID)
	var rows []Subscription
	if err := c.db.WithContext(ctx).Where("user_id = ?", userID).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.TemplateID] = r.Count
	}
	return out, nil
}

// hasConsent reports whether the user has a consent left for the template.
func hasConsent(db *gorm.DB, userID int64, templateID string) (bool, error) {
	var n int64
	err := db.Model(&Subscription{}).Where("user_id = ? AND template_id = ? AND count > 0", userID, templateID).Count(&n).Error
	return n > 0, err
}

// take uses one consent in tx; ok is false when there is none.
func take(tx *gorm.DB, userID int64, templateID string) (bool, error) {
	res := tx.Model(&Subscription{}).Where("user_id = ? AND template_id = ? AND count > 0", userID, templateID).
		Updates(map[string]any{"count": gorm.Expr("count - 1"), "updated_at": tx.NowFunc()})
	return res.RowsAffected == 1, res.Error
}

// refund gives back a consent that a send did not use.
func refund(tx *gorm.DB, userID int64, templateID string) error {
	return tx.Model(&Subscription{}).Where("user_id = ? AND template_id = ?", userID, templateID).
		Updates(map[string]any{"count": gorm.Expr("count + 1"), "updated_at": tx.NowFunc()}).Error
}

// revoke zeroes a consent the user withdrew in WeChat (errcode 43101).
func revoke(tx *gorm.DB, userID int64, templateID string) error {
	return tx.Model(&Subscription{}).Where("user_id = ? AND template_id = ?", userID, templateID).
		Updates(map[string]any{"count": 0, "updated_at": tx.NowFunc()}).Error
}
