package form

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"xianfeng/server/internal/database"
	"xianfeng/server/internal/org"
)

// oneTrip is the dialect-specific hot path of a new entry: in one statement
// it finds the member's oldest live membership that puts them in the
// form's audience, checks that the form is still open, inserts the entry
// (e: its form, user, slot, request id, day, answers, alert, times) unless
// its slot or request id is taken, and marks it pending for the fold;
// e.ID and e.OrgID are set from what it wrote. found is false when it wrote
// nothing (not in the audience, the form closed, the slot or request id
// taken): the general path then tells which, in the order it always has. A
// nil oneTrip means the dialect has none.
type oneTrip func(ctx context.Context, db *gorm.DB, f Form, e *Entry) (found bool, err error)

// oneTripFor returns the hot path of db's dialect: PostgreSQL's data-
// modifying CTEs do it in one round trip. MariaDB has no INSERT in a CTE
// and SQLite's RETURNING cannot feed another insert, so they take the
// general path (SQLite is in-process: its round trips are cheap).
func oneTripFor(db *gorm.DB) oneTrip {
	if db.Dialector.Name() == "postgres" {
		return postgresEntry
	}
	return nil
}

// postgresEntry runs the statement straight on the connection pool (pgx
// prepares it once per connection and form audience): gorm's statement
// building is no small part of an entry's CPU. The membership is found
// with org's live-membership rule (org.LiveFromSQL) and the form's reach
// (org.SubtreeSQL), exactly as Service.membership finds it.
func postgresEntry(ctx context.Context, db *gorm.DB, f Form, e *Entry) (bool, error) {
	var b strings.Builder
	args := append(org.LiveArgs(e.CreatedAt), e.UserID, f.OrgID)
	b.WriteString("WITH m AS (SELECT m.org_id FROM " + org.LiveFromSQL + " AND m.user_id = ?")
	if f.IncludeSuborgs {
		b.WriteString(" AND m.org_id IN (" + org.SubtreeSQL + ")")
	} else {
		b.WriteString(" AND m.org_id = ?")
	}
	if t := f.Audience(); len(t.Badges) > 0 || len(t.UserIDs) > 0 {
		var who []string
		if len(t.Badges) > 0 {
			who = append(who, "m.badge IN ("+marks(len(t.Badges))+")")
			for _, bd := range t.Badges {
				args = append(args, string(bd))
			}
		}
		if len(t.UserIDs) > 0 {
			who = append(who, "m.user_id IN ("+marks(len(t.UserIDs))+")")
			for _, id := range t.UserIDs {
				args = append(args, id)
			}
		}
		b.WriteString(" AND (" + strings.Join(who, " OR ") + ")")
	}
	b.WriteString(` ORDER BY m.id LIMIT 1),
	ins AS (
		INSERT INTO form_entries (form_id, user_id, slot, request_id, org_id, day, answers, alert, version, client_time, created_at, updated_at)
		SELECT ?, ?, ?, ?, m.org_id, ?, ?, ?, 1, ?, ?, ? FROM m WHERE EXISTS (SELECT 1 FROM forms WHERE id = ? AND status = ?)
		ON CONFLICT DO NOTHING
		RETURNING id, org_id),
	p AS (INSERT INTO form_pending (form_id, entry_id) SELECT ?, id FROM ins)
	SELECT id, org_id FROM ins`)
	args = append(args, e.FormID, e.UserID, e.Slot, e.RequestID, e.Day, e.Answers, e.Alert, e.ClientTime, e.CreatedAt, e.UpdatedAt,
		f.ID, StatusOpen, e.FormID)
	rows, err := db.ConnPool.QueryContext(ctx, database.Numbered(b.String()), args...)
	if err != nil {
		return false, fmt.Errorf("form: insert: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return false, rows.Err()
	}
	if err := rows.Scan(&e.ID, &e.OrgID); err != nil {
		return false, fmt.Errorf("form: insert: %w", err)
	}
	return true, rows.Close()
}

// marks returns n comma-separated placeholders.
func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }
