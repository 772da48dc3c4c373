// Package audit keeps the trail of secretary actions: who did what, when, on
// whom. Entries are written in the same transaction as the action, so the
// trail never misses a committed change nor records one that rolled back.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/database"
	"xianfeng/server/internal/paging"
)

// Actions recorded in the trail.
const (
	ActionClaim        = "org.claim"
	ActionCreateChild  = "org.create_child"
	ActionRotateInvite = "org.rotate_invite"
	ActionDissolve     = "org.dissolve"
	ActionApprove      = "member.approve"
	ActionReject       = "member.reject"
	ActionChange       = "member.change"
	ActionRemove       = "member.remove"
	ActionSecond       = "member.second"
	// ActionUnmask is a secretary reading a form entry's ID or phone
	// numbers whole.
	ActionUnmask = "form.unmask"
	// ActionFormExport is a secretary exporting a form's entries.
	ActionFormExport = "form.export"
)

// Entry is one action in the trail.
type Entry struct {
	ID           int64
	OrgID        int64
	ActorID      int64
	Action       string
	TargetUserID *int64
	Detail       string
	CreatedAt    time.Time
}

// TableName is the audit_logs table.
func (Entry) TableName() string { return "audit_logs" }

// Write records an action using tx, the handle of the action's transaction.
// detail is stored as JSON (at most 1000 bytes); it must hold no secrets.
// The entry's time is tx's clock (gorm's NowFunc, the app's clock).
func Write(tx *gorm.DB, orgID, actorID int64, action string, target *int64, detail map[string]any) (err error) {
	defer apperr.Annotate(&err, "audit.Write(%s)", action)
	raw := ""
	if len(detail) > 0 {
		b, err := json.Marshal(detail)
		if err != nil {
			return err
		}
		if len(b) > 1000 {
			b = []byte(`{"truncated":true}`)
		}
		raw = string(b)
	}
	e := Entry{OrgID: orgID, ActorID: actorID, Action: action, TargetUserID: target, Detail: raw, CreatedAt: tx.NowFunc()}
	if err := tx.Create(&e).Error; err != nil {
		return fmt.Errorf("audit: write %s: %w", action, err)
	}
	return nil
}

// List returns a page of the entries of the orgs that orgIDs selects (a
// list of ids or a subquery) older than the entry id before (0 = newest),
// newest first, at most limit.
func List(ctx context.Context, db *gorm.DB, orgIDs any, before int64, limit int) (_ paging.Page[Entry], err error) {
	defer apperr.Annotate(&err, "audit.List")
	q := db.WithContext(ctx).Where("org_id IN (?)", orgIDs)
	items, err := database.Newest[Entry](q, before, limit+1)
	if err != nil {
		return paging.Page[Entry]{}, err
	}
	return paging.Trim(items, limit, func(e Entry) int64 { return e.ID }), nil
}
