package form

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/contentsec"
	"xianfeng/server/internal/database"
)

// Version is an earlier version of a corrected entry, kept for its
// secretaries.
type Version struct {
	ID        int64
	EntryID   int64
	Version   int
	Answers   string
	Alert     bool
	CreatedAt time.Time
}

// TableName is the form_entry_versions table.
func (Version) TableName() string { return "form_entry_versions" }

// Correct replaces the answers of the member's own entry until the form's
// due time (for that entry's day). The answers it replaces are kept as a
// version. A correction that trips an alert files a report if the entry
// had none; one that no longer trips it notes so on the report it filed,
// which stays.
func (s *Service) Correct(ctx context.Context, userID, formID, entryID int64, answers map[string]json.RawMessage) (_ Entry, err error) {
	defer apperr.Annotate(&err, "form.Correct(%d)", entryID)
	f, err := s.get(ctx, formID)
	if err != nil {
		return Entry{}, err
	}
	var e Entry
	err = s.DB().WithContext(ctx).Take(&e, "id = ? AND form_id = ? AND user_id = ?", entryID, formID, userID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Entry{}, ErrEntryNotFound
	}
	if err != nil {
		return Entry{}, err
	}
	if f.Status != StatusOpen {
		return Entry{}, ErrClosed
	}
	now := s.now()
	if due := s.Due(f, e.Day); due != nil && !now.Before(*due) {
		return Entry{}, ErrPastDue
	}
	fields := f.FieldList()
	problems := map[string]string{}
	stored, alert := Check(fields, answers, problems)
	if len(problems) > 0 {
		return Entry{}, apperr.Invalid("填报内容有误", problems)
	}
	checks, err := contentsec.Fields(ctx, contentsec.Or(s.opts.Content), userID, contentsec.KindFormEntry, texts(fields, stored)...)
	if err != nil {
		return Entry{}, err
	}
	if err := s.seal(fields, stored); err != nil {
		return Entry{}, err
	}
	aj, err := json.Marshal(stored)
	if err != nil {
		return Entry{}, err
	}
	err = database.Transact(ctx, s.DB(), func(tx *gorm.DB) error {
		var cur Entry
		if err := tx.Take(&cur, "id = ?", e.ID).Error; err != nil {
			return err
		}
		if err := tx.Create(&Version{EntryID: cur.ID, Version: cur.Version, Answers: cur.Answers, Alert: cur.Alert, CreatedAt: cur.UpdatedAt}).Error; err != nil {
			return err
		}
		e = cur
		e.Answers, e.Alert, e.Version, e.UpdatedAt = string(aj), alert, cur.Version+1, now
		if err := tx.Model(&Entry{}).Where("id = ? AND version = ?", cur.ID, cur.Version).
			Updates(map[string]any{"answers": e.Answers, "alert": alert, "version": e.Version, "updated_at": now}).Error; err != nil {
			return err
		}
		// The totals lose the old answers and gain the new; a number taken
		// out may have been the least or greatest of its day and org. An
		// entry no fold has counted yet is counted here, with its new
		// answers, and is no longer pending.
		pending := tx.Where("form_id = ? AND entry_id = ?", f.ID, e.ID).Delete(&pendingEntry{})
		if pending.Error != nil {
			return pending.Error
		}
		sums := tally{}
		if pending.RowsAffected == 0 {
			if err := sums.add(fields, cur.Answers, cur.Alert, -1); err != nil {
				return err
			}
		}
		if err := sums.add(fields, e.Answers, alert, 1); err != nil {
			return err
		}
		sh := sheet{}
		sh.put(f.ID, e.Day, e.OrgID, sums)
		if err := sh.write(tx); err != nil {
			return err
		}
		if err := contentsec.Replace(tx, contentsec.KindFormEntry, e.ID); err != nil {
			return err
		}
		if err := contentsec.Record(tx, e.ID, checks...); err != nil {
			return err
		}
		return s.recount(tx, f, e, changedNumbers(fields, cur.Answers, e.Answers))
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		// A concurrent correction kept the same version first.
		return Entry{}, apperr.New(apperr.KindConflict, "entry_changed", "填报已被同时修改，请刷新后重试")
	}
	if err != nil {
		return Entry{}, err
	}
	switch {
	case alert && e.ReportID == nil:
		s.alert(ctx, &e, f, fields, stored)
	case !alert && e.ReportID != nil && s.opts.Alerts != nil:
		if err := s.opts.Alerts.Note(context.WithoutCancel(ctx), *e.ReportID, userID, "填报人已更正填报，更正后的内容不再触发预警"); err != nil {
			s.Log().WarnContext(ctx, "could not note a corrected entry on its report", "entry_id", e.ID, "err", err)
		}
	}
	return e, s.show(ctx, userID, f, &e, true)
}

// changedNumbers returns the keys of the number and temperature fields
// whose answer in before is not the same in after.
func changedNumbers(fields []Field, before, after string) []string {
	var b, a map[string]json.RawMessage
	if json.Unmarshal([]byte(before), &b) != nil || json.Unmarshal([]byte(after), &a) != nil {
		return nil
	}
	var keys []string
	for _, fd := range fields {
		if (fd.Type == TypeNumber || fd.Type == TypeTemperature) && b[fd.Key] != nil && string(b[fd.Key]) != string(a[fd.Key]) {
			keys = append(keys, fd.Key)
		}
	}
	return keys
}
