package form

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/audit"
	"xianfeng/server/internal/pii"
)

// sensitive reports whether a field's answers are sealed at rest and masked.
func (fd Field) sensitive() bool { return fd.Type == TypeIDCard || fd.Type == TypePhone }

// seal encrypts the sensitive answers in place.
func (s *Service) seal(fields []Field, answers map[string]any) error {
	for _, fd := range fields {
		if v, ok := answers[fd.Key].(string); ok && fd.sensitive() {
			sealed, err := s.opts.Box.Seal(v)
			if err != nil {
				return err
			}
			answers[fd.Key] = sealed
		}
	}
	return nil
}

// open returns an entry's stored answers with the sensitive ones decrypted
// and, unless whole, masked.
func (s *Service) open(fields []Field, stored string, whole bool) (map[string]json.RawMessage, error) {
	var answers map[string]json.RawMessage
	if err := json.Unmarshal([]byte(stored), &answers); err != nil {
		return nil, fmt.Errorf("form: stored answers: %w", err)
	}
	for _, fd := range fields {
		var v string
		if raw, ok := answers[fd.Key]; !ok || !fd.sensitive() || json.Unmarshal(raw, &v) != nil {
			continue
		}
		plain, err := s.opts.Box.Open(v)
		if err != nil {
			return nil, err
		}
		if !whole {
			plain = pii.Mask(plain, map[FieldType]int{TypeIDCard: 4, TypePhone: 3}[fd.Type])
		}
		answers[fd.Key], _ = json.Marshal(plain)
	}
	return answers, nil
}

// show turns the entry's stored answers into what the reader may see: whole
// for the member themself (self) and for the secretaries of the org the
// entry was made under, masked for everyone else. Each whole read by a
// secretary is written to the audit trail.
func (s *Service) show(ctx context.Context, readerID int64, f Form, e *Entry, self bool) error {
	fields := f.FieldList()
	if !slices.ContainsFunc(fields, Field.sensitive) {
		return nil
	}
	whole := self || readerID == e.UserID
	if !whole {
		secs, err := s.orgs.Secretaries(ctx, e.OrgID)
		if err != nil {
			return err
		}
		if whole = slices.Contains(secs, readerID); whole {
			if err := audit.Write(s.DB().WithContext(ctx), e.OrgID, readerID, audit.ActionUnmask, &e.UserID,
				map[string]any{"form_id": f.ID, "entry_id": e.ID}); err != nil {
				return err
			}
		}
	}
	answers, err := s.open(fields, e.Answers, whole)
	if err != nil {
		return err
	}
	b, err := json.Marshal(answers)
	e.Answers = string(b)
	return err
}

// Rekey re-seals with the box's current key every sealed answer of every
// entry that an older key sealed, in batches, and returns how many entries
// it changed. It is safe to run while the server runs, and again.
func Rekey(ctx context.Context, db *gorm.DB, box *pii.Box) (changed int, err error) {
	defer apperr.Annotate(&err, "form.Rekey")
	for after := int64(0); ; {
		var batch []Entry
		if err := db.WithContext(ctx).Where("id > ?", after).Order("id").Limit(500).Find(&batch).Error; err != nil {
			return changed, err
		}
		if len(batch) == 0 {
			return changed, nil
		}
		after = batch[len(batch)-1].ID
		for _, e := range batch {
			var answers map[string]any
			if err := json.Unmarshal([]byte(e.Answers), &answers); err != nil {
				return changed, fmt.Errorf("entry %d: %w", e.ID, err)
			}
			stale := false
			for k, v := range answers {
				s, ok := v.(string)
				if !ok || !pii.Sealed(s) || box.Current(s) {
					continue
				}
				plain, err := box.Open(s)
				if err != nil {
					return changed, fmt.Errorf("entry %d: %w", e.ID, err)
				}
				if answers[k], err = box.Seal(plain); err != nil {
					return changed, err
				}
				stale = true
			}
			if !stale {
				continue
			}
			b, err := json.Marshal(answers)
			if err != nil {
				return changed, err
			}
			// Only if unchanged since read: a correction made meanwhile is
			// sealed with the current key already.
			res := db.WithContext(ctx).Model(&Entry{}).Where("id = ? AND answers = ?", e.ID, e.Answers).Update("answers", string(b))
			if res.Error != nil {
				return changed, res.Error
			}
			changed += int(res.RowsAffected)
		}
	}
}
