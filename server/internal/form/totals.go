package form

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Totals are running sums of a form's entries, kept in form_totals, so
// that a summary reads a few rows per org instead of every entry. Entries
// are added by folds, a batch at a time, shortly after they are written
// (see fold.go); a correction takes the old answers out and puts the new
// ones in. Each day and org of the entries has a row for the entries and
// alerts (field ""), one per answered field (how many answered; for a
// number or temperature the sum, least and greatest), and one per option
// chosen of a choice or multi field; org 0 has the same rows for the whole
// form. Migration 11 filled them from the entries written before, and
// migration 13 the whole form's rows.

// totalKeys are form_totals' primary key, totalSums the columns added up.
var (
	totalKeys = []string{"form_id", "day", "org_id", "field_key", "choice"}
	totalSums = []string{"n", "alerts", "total"}
)

// tally is the part of one day and org's totals an entry makes, keyed by
// field and option.
type tally map[[2]string]*part

// part is what a tally adds to one row of totals.
type part struct {
	N, Alerts int64
	Total     float64
	Lo, Hi    *float64
}

// add puts into t (sign 1) or takes out of it (sign -1) the stored answers
// of an entry and its alert.
func (t tally) add(fields []Field, answers string, alert bool, sign int64) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(answers), &raw); err != nil {
		return fmt.Errorf("form: stored answers: %w", err)
	}
	row := func(field, choice string) *part {
		p := t[[2]string{field, choice}]
		if p == nil {
			p = &part{}
			t[[2]string{field, choice}] = p
		}
		p.N += sign
		return p
	}
	if e := row("", ""); alert {
		e.Alerts += sign
	}
	for _, fd := range fields {
		v, ok := raw[fd.Key]
		if !ok {
			continue
		}
		p := row(fd.Key, "")
		switch fd.Type {
		case TypeNumber, TypeTemperature:
			var x float64
			if json.Unmarshal(v, &x) != nil {
				continue
			}
			p.Total += float64(sign) * x
			if sign > 0 {
				p.Lo, p.Hi = lesser(p.Lo, x), greater(p.Hi, x)
			}
		case TypeChoice:
			var c string
			if json.Unmarshal(v, &c) == nil {
				row(fd.Key, c)
			}
		case TypeMulti:
			var cs []string
			_ = json.Unmarshal(v, &cs) // stored by Check as a list of options
			for _, c := range cs {
				row(fd.Key, c)
			}
		}
	}
	return nil
}

func lesser(a *float64, x float64) *float64 {
	if a != nil && *a <= x {
		return a
	}
	return &x
}

func greater(a *float64, x float64) *float64 {
	if a != nil && *a >= x {
		return a
	}
	return &x
}

// keys returns the tally's rows' keys in order.
func (t tally) keys() [][2]string {
	keys := make([][2]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	return keys
}

// TotalRow is what an entry adds to one row of form_totals (of its form,
// day and org): the row of the entries (FieldKey ""), of a field, or of
// one option of a field (Choice).
type TotalRow struct {
	FieldKey, Choice string
	N, Alerts        int64
	Total            float64
	Lo, Hi           *float64
}

// EntryTotals returns the rows an entry with the stored answers and alert
// adds to the totals of its day and org, in key order, exactly as a fold
// adds them (and the same again to the whole form's, org 0): for a bulk
// load that fills form_totals itself (server/cmd/formbench).
func EntryTotals(fields []Field, answers string, alert bool) ([]TotalRow, error) {
	t := tally{}
	if err := t.add(fields, answers, alert, 1); err != nil {
		return nil, err
	}
	keys := t.keys()
	rows := make([]TotalRow, len(keys))
	for i, k := range keys {
		p := t[k]
		rows[i] = TotalRow{FieldKey: k[0], Choice: k[1], N: p.N, Alerts: p.Alerts, Total: p.Total, Lo: p.Lo, Hi: p.Hi}
	}
	return rows, nil
}

// recount sets again the least and greatest answer to the number fields
// keys in the totals of an entry's day and org from the entries, after a
// correction took out an answer that may have been either, and then those
// of the whole form's day from its orgs'. Entries not folded yet count too:
// a fold only ever lowers the least and raises the greatest, and the
// correction already holds the whole form's rows, which a fold writes before
// any org's, so no fold of the day can slip in between.
func (s *Service) recount(tx *gorm.DB, f Form, e Entry, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	var all []string
	if err := tx.Model(&Entry{}).Where("form_id = ? AND day = ? AND org_id = ?", f.ID, e.Day, e.OrgID).Pluck("answers", &all).Error; err != nil {
		return err
	}
	row := func(orgID int64, k string) *gorm.DB {
		return tx.Table("form_totals").Where("form_id = ? AND day = ? AND org_id = ? AND field_key = ? AND choice = ''", f.ID, e.Day, orgID, k)
	}
	for _, k := range keys {
		var lo, hi *float64
		for _, a := range all {
			var raw map[string]json.RawMessage
			var x float64
			if json.Unmarshal([]byte(a), &raw) == nil && json.Unmarshal(raw[k], &x) == nil {
				lo, hi = lesser(lo, x), greater(hi, x)
			}
		}
		if err := row(e.OrgID, k).Updates(map[string]any{"lo": lo, "hi": hi}).Error; err != nil {
			return err
		}
		// MySQL reads the latest rows only in a locking read (its plain
		// reads see the transaction's first snapshot).
		var whole struct{ Lo, Hi *float64 }
		q := tx.Table("form_totals").Select("MIN(lo) AS lo, MAX(hi) AS hi").
			Where("form_id = ? AND day = ? AND org_id <> 0 AND field_key = ? AND choice = ''", f.ID, e.Day, k)
		if tx.Dialector.Name() == "mysql" {
			q = q.Clauses(clause.Locking{Strength: "SHARE"})
		}
		if err := q.Scan(&whole).Error; err != nil {
			return err
		}
		if err := row(0, k).Updates(map[string]any{"lo": whole.Lo, "hi": whole.Hi}).Error; err != nil {
			return err
		}
	}
	return nil
}
