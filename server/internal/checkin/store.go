package checkin

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"xianfeng/server/internal/database"
	"xianfeng/server/internal/org"
)

// oneTrip is the dialect-specific hot path of a check-in: in one statement
// it finds the member's live membership, inserts the day's check-in and, if
// the day already has one, returns that instead. found is false when the
// statement could not tell (not a member, or a concurrent first check-in
// that committed after the statement's snapshot): the general path then
// sorts it out. endsAt is the end date of the membership's org. A nil
// oneTrip means the dialect has none.
type oneTrip func(ctx context.Context, db *gorm.DB, userID int64, in Input, day string, now time.Time) (c Checkin, endsAt *time.Time, created, found bool, err error)

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

const postgresCheckinCols = "id, org_id, badge, seconded, lat, lng, accuracy_m, request_id, client_time, created_at"

// postgresCheckinSQL is postgresCheckin's statement, with PostgreSQL's
// numbered parameters: org.LiveArgs, then the user, the org (0: the home
// membership), whether the org is 0, then the row's values, then the user
// and the day again.
// The membership comes from org's live memberships (org.LiveFromSQL).
var postgresCheckinSQL = database.Numbered(`WITH m AS (
		SELECT m.org_id, m.badge, m.seconded_from IS NOT NULL AS seconded, o.ends_at
		FROM ` + org.LiveFromSQL + ` AND m.user_id = ? AND (m.org_id = ? OR (? AND m.seconded_from IS NULL))
		ORDER BY m.id LIMIT 1),
	ins AS (
		INSERT INTO checkins (user_id, org_id, day, badge, seconded, lat, lng, accuracy_m, request_id, client_time, created_at)
		SELECT ?, m.org_id, ?, m.badge, m.seconded, ?, ?, ?, ?, ?, ? FROM m
		ON CONFLICT (user_id, org_id, day) DO NOTHING
		RETURNING ` + postgresCheckinCols + `, true AS created)
	SELECT ins.*, (SELECT ends_at FROM m) FROM ins
	UNION ALL
	SELECT ` + postgresCheckinCols + `, false, (SELECT ends_at FROM m) FROM checkins c
	WHERE c.user_id = ? AND c.day = ? AND c.org_id = (SELECT org_id FROM m) AND NOT EXISTS (SELECT 1 FROM ins)`)

// postgresCheckin: the insert claims the (user, org, day) row or does
// nothing, and the last branch reads the day's check-in only when the
// insert did nothing. A conflict with a row committed after the statement
// began is invisible to that read, so the statement answers no row and the
// caller falls back. The statement is a constant that pgx prepares once per
// connection, run through the connection pool itself: gorm's statement
// building and reflection were a good part of a check-in's CPU.
func postgresCheckin(ctx context.Context, db *gorm.DB, userID int64, in Input, day string, now time.Time) (c Checkin, endsAt *time.Time, created, found bool, err error) {
	args := append(org.LiveArgs(now), userID, in.OrgID, in.OrgID == 0,
		userID, day, in.Lat, in.Lng, in.AccuracyM, in.RequestID, in.ClientTime, now, userID, day)
	rows, err := db.ConnPool.QueryContext(ctx, postgresCheckinSQL, args...)
	if err != nil {
		return Checkin{}, nil, false, false, fmt.Errorf("checkin: insert: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Checkin{}, nil, false, false, fmt.Errorf("checkin: insert: %w", err)
		}
		return Checkin{}, nil, false, false, nil
	}
	var badge string
	if err := rows.Scan(&c.ID, &c.OrgID, &badge, &c.Seconded, &c.Lat, &c.Lng, &c.AccuracyM, &c.RequestID,
		&c.ClientTime, &c.CreatedAt, &created, &endsAt); err != nil {
		return Checkin{}, nil, false, false, fmt.Errorf("checkin: insert: %w", err)
	}
	if err := rows.Close(); err != nil {
		return Checkin{}, nil, false, false, fmt.Errorf("checkin: insert: %w", err)
	}
	c.UserID, c.Day, c.Badge = userID, day, org.Badge(badge)
	c.CreatedAt = c.CreatedAt.UTC()
	if c.ClientTime != nil {
		t := c.ClientTime.UTC()
		c.ClientTime = &t
	}
	if created {
		// What was written, as the general path answers it (the database
		// keeps times to the microsecond).
		c.ClientTime, c.CreatedAt = in.ClientTime, now
	}
	return c, endsAt, created, true, nil
}
