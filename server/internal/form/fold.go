package form

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"gorm.io/gorm"

	"xianfeng/server/internal/apperr"
	"xianfeng/server/internal/database"
)

// An entry's totals are not written with it: every entry of an org and day
// would update the same form_totals rows, and under a morning's load those
// few rows were what the database spent its time on (row locks held across
// the entry's transaction, a dead row version per update). Instead an entry
// is written with a row of form_pending naming it, in the same statement or
// transaction, and a fold adds a batch of pending entries to form_totals and
// deletes their pending rows in one transaction: an entry is counted exactly
// once whatever crashes or retries, and the database alone is the truth.
// The workers fold every few seconds (TypeFold); a summary folds what is
// still pending of its form before it reads the totals, so it always equals
// the entries. A correction of an entry not yet folded takes it out of
// form_pending and counts its corrected answers itself.

// pendingEntry is an entry whose totals are not in form_totals yet.
type pendingEntry struct {
	FormID  int64
	EntryID int64
}

// TableName is the form_pending table.
func (pendingEntry) TableName() string { return "form_pending" }

// foldBatch is how many pending entries one fold transaction counts.
const foldBatch = 500

// errFoldRaced: another fold counted some of the batch first; the batch is
// rolled back and read again.
var errFoldRaced = errors.New("form: another fold counted part of the batch")

// Fold counts the pending entries of the form formID (0: of every form) into
// form_totals, a batch per transaction, until a batch comes up short (the
// entries pending when it began are counted), and returns how many it
// counted. Any number of folds may run at once, on any instance.
func (s *Service) Fold(ctx context.Context, formID int64) (n int, err error) {
	defer apperr.Annotate(&err, "form.Fold(%d)", formID)
	for {
		k, err := s.foldBatch(ctx, formID)
		n += k
		if err != nil || k < foldBatch {
			return n, err
		}
	}
}

// foldBatch counts one batch of pending entries and returns its size.
func (s *Service) foldBatch(ctx context.Context, formID int64) (int, error) {
	for try := 0; ; try++ {
		var ps []pendingEntry
		q := s.DB().WithContext(ctx).Order("form_id, entry_id").Limit(foldBatch)
		if formID > 0 {
			q = q.Where("form_id = ?", formID)
		}
		if err := q.Find(&ps).Error; err != nil || len(ps) == 0 {
			return 0, err
		}
		err := database.Transact(ctx, s.DB(), func(tx *gorm.DB) error { return s.fold(ctx, tx, ps) })
		if errors.Is(err, errFoldRaced) && try < 20 {
			continue
		}
		return len(ps), err
	}
}

// fold deletes the pending rows ps (in form and entry order) and adds their
// entries to the totals, in tx. A pending row another fold deleted first
// fails the whole batch with errFoldRaced.
func (s *Service) fold(ctx context.Context, tx *gorm.DB, ps []pendingEntry) error {
	ids := make([]int64, len(ps))
	for i, p := range ps {
		ids[i] = p.EntryID
	}
	for start := 0; start < len(ps); {
		end := start
		for end < len(ps) && ps[end].FormID == ps[start].FormID {
			end++
		}
		res := tx.Where("form_id = ? AND entry_id IN ?", ps[start].FormID, ids[start:end]).Delete(&pendingEntry{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != int64(end-start) {
			return errFoldRaced
		}
		start = end
	}
	var es []Entry
	if err := tx.Select("id, form_id, org_id, day, answers, alert").Where("id IN ?", ids).Find(&es).Error; err != nil {
		return err
	}
	sh := sheet{}
	for _, e := range es {
		f, err := s.definition(ctx, e.FormID)
		if err != nil {
			return err
		}
		t := tally{}
		if err := t.add(f.FieldList(), e.Answers, e.Alert, 1); err != nil {
			return err
		}
		sh.put(e.FormID, e.Day, e.OrgID, t)
	}
	return sh.write(tx)
}

// FoldAll is the workers' fold of every form's pending entries (TypeFold).
func (s *Service) FoldAll(ctx context.Context) error {
	_, err := s.Fold(ctx, 0)
	return err
}

// totalKey is the key of a row of form_totals; org 0 is the whole form's.
type totalKey struct {
	form          int64
	day           string
	org           int64
	field, choice string
}

// sheet is what a write adds to rows of form_totals.
type sheet map[totalKey]*part

// put adds t, the tally of an org and day of a form, to that org's rows and
// to the whole form's (org 0).
func (sh sheet) put(formID int64, day string, orgID int64, t tally) {
	for _, o := range []int64{0, orgID} {
		for k, p := range t {
			key := totalKey{form: formID, day: day, org: o, field: k[0], choice: k[1]}
			q := sh[key]
			if q == nil {
				q = &part{}
				sh[key] = q
			}
			q.N += p.N
			q.Alerts += p.Alerts
			q.Total += p.Total
			if p.Lo != nil {
				q.Lo = lesser(q.Lo, *p.Lo)
			}
			if p.Hi != nil {
				q.Hi = greater(q.Hi, *p.Hi)
			}
		}
	}
}

// write adds the sheet to form_totals, rows in key order (writers of the
// same rows lock them in the same order), a few hundred a statement.
func (sh sheet) write(tx *gorm.DB) error {
	keys := make([]totalKey, 0, len(sh))
	for k := range sh {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b totalKey) int {
		return cmp.Or(cmp.Compare(a.form, b.form), strings.Compare(a.day, b.day), cmp.Compare(a.org, b.org),
			strings.Compare(a.field, b.field), strings.Compare(a.choice, b.choice))
	})
	for len(keys) > 0 {
		n := min(len(keys), 500)
		rows := make([][]any, n)
		for i, k := range keys[:n] {
			p := sh[k]
			rows[i] = []any{k.form, k.day, k.org, k.field, k.choice, p.N, p.Alerts, p.Total, p.Lo, p.Hi}
		}
		if err := database.AddUp(tx, "form_totals", totalKeys, totalSums, []string{"lo"}, []string{"hi"}, rows); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// definitions caches what of a form never changes once it is made (its org,
// mode, audience, due time and fields) for the hot paths: an entry's
// statement checks that the form is still open itself, so a form closed on
// another instance takes no entry here whatever is cached.
type definitions struct {
	mu sync.RWMutex
	m  map[int64]Form
}

// maxDefinitions bounds the cache; it is emptied when full.
const maxDefinitions = 4096

// definition returns form id as read once: its Status, ClosedAt,
// RemindedOn and MissedOn are those of that read, never to be trusted.
func (s *Service) definition(ctx context.Context, id int64) (Form, error) {
	s.defs.mu.RLock()
	f, ok := s.defs.m[id]
	s.defs.mu.RUnlock()
	if ok {
		return f, nil
	}
	f, err := s.get(ctx, id)
	if err != nil {
		return Form{}, err
	}
	s.defs.mu.Lock()
	if s.defs.m == nil || len(s.defs.m) >= maxDefinitions {
		s.defs.m = map[int64]Form{}
	}
	s.defs.m[id] = f
	s.defs.mu.Unlock()
	return f, nil
}
