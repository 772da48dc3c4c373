package checkin

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/org"
)

// oneTrip is the dialect-specific hot path of a check-in: in one statement
// it finds the member's live membership, inserts the day's check-in and, if
// the day already has one, returns that instead. found is false when the
// statement could not tell (not a member, or a concurrent first check-in
// that committed after the statement's snapshot): the general path then
// sorts it out. A nil oneTrip means the dialect has none.
type oneTrip func(ctx context.Context, db *gorm.DB, userID int64, in Input, day string, now time.Time) (c Checkin, created, found bool, err error)

// oneTripFor returns the hot path of db's dialect: PostgreSQL's data-
// modifying CTE does it in one round trip. MariaDB cannot tell an insert
// from a conflict in RETURNING and SQLite allows no INSERT in a CTE, so they
// take the general path (SQLite is in-process: its round trips are cheap).
func oneTripFor(db *gorm.DB) oneTrip {
	if db.Dialector.Name() == "postgres" {
		return postgresCheckin
	}
	return nil
}

// oneTripRow is a row of postgresCheckin's statement: the check-in and
// whether the statement created it.
type oneTripRow struct {
	Checkin
	Created bool
}

const postgresCheckinCols = "id, org_id, badge, seconded, lat, lng, accuracy_m, request_id, client_time, created_at"

// postgresCheckinSQL is postgresCheckin's statement; its parameters are
// org.LiveArgs, then the user, the org (0: the home membership), whether
// the org is 0, then the row's values, then the user and the day again.
const postgresCheckinSQL = `WITH m AS (
		SELECT m.org_id, m.badge, m.seconded_from IS NOT NULL AS seconded
		FROM memberships AS m JOIN orgs o ON o.id = m.org_id
		WHERE ` + org.LiveSQL + ` AND m.user_id = ? AND (m.org_id = ? OR (? AND m.seconded_from IS NULL))
		ORDER BY m.id LIMIT 1),
	ins AS (
		INSERT INTO checkins (user_id, org_id, day, badge, seconded, lat, lng, accuracy_m, request_id, client_time, created_at)
		SELECT ?, m.org_id, ?, m.badge, m.seconded, ?, ?, ?, ?, ?, ? FROM m
		ON CONFLICT (user_id, org_id, day) DO NOTHING
		RETURNING ` + postgresCheckinCols + `, true AS created)
	SELECT * FROM ins
	UNION ALL
	SELECT ` + postgresCheckinCols + `, false FROM checkins c
	WHERE c.user_id = ? AND c.day = ? AND c.org_id = (SELECT org_id FROM m) AND NOT EXISTS (SELECT 1 FROM ins)`

// postgresCheckin: the membership comes from org's live-membership rule
// (org.LiveSQL); the insert claims the (user, org, day) row or does
// nothing, and the last branch reads the day's check-in only when the
// insert did nothing. A conflict with a row committed after the statement
// began is invisible to that read, so the statement answers no row and the
// caller falls back. The statement is a constant, so gorm builds no query
// per check-in.
func postgresCheckin(ctx context.Context, db *gorm.DB, userID int64, in Input, day string, now time.Time) (Checkin, bool, bool, error) {
	var rows []oneTripRow
	args := append(org.LiveArgs(now), userID, in.OrgID, in.OrgID == 0,
		userID, day, in.Lat, in.Lng, in.AccuracyM, in.RequestID, in.ClientTime, now, userID, day)
	err := db.WithContext(ctx).Raw(postgresCheckinSQL, args...).Scan(&rows).Error
	if err != nil {
		return Checkin{}, false, false, fmt.Errorf("checkin: insert: %w", err)
	}
	if len(rows) == 0 {
		return Checkin{}, false, false, nil
	}
	c := rows[0].Checkin
	c.UserID, c.Day = userID, day
	if rows[0].Created {
		// What was written, as the general path answers it (the database
		// keeps times to the microsecond).
		c.ClientTime, c.CreatedAt = in.ClientTime, now
	}
	return c, rows[0].Created, true, nil
}
