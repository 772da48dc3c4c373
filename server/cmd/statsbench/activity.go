package main

import (
	"context"
	"fmt"
	"time"

	"xianfeng/server/internal/app"
	"xianfeng/server/internal/org"
	"xianfeng/server/internal/stats"
)

// seedActivity adds the period's activity with set-based PostgreSQL
// statements (see the command's documentation), then VACUUM ANALYZEs the
// tables, as autovacuum would, and prints what it made.
func seedActivity(ctx context.Context, a *app.App, o options, res org.SeedResult, p stats.Period) error {
	db := a.DB.WithContext(ctx)
	start := time.Now()
	span := p.End.Sub(p.Start).Seconds()
	from := p.Start.Unix()
	step := func(name string, sql string, args ...any) error {
		t0 := time.Now()
		r := db.Exec(sql, args...)
		if r.Error != nil {
			return fmt.Errorf("seed %s: %w", name, r.Error)
		}
		fmt.Printf("  %-12s %9d rows in %s\n", name, r.RowsAffected, time.Since(t0).Round(time.Millisecond))
		return nil
	}
	steps := []struct {
		name string
		sql  string
		args []any
	}{
		{"members", `CREATE UNLOGGED TABLE bench_members AS
			SELECT (row_number() OVER (ORDER BY id) - 1)::bigint AS rk, id, user_id, org_id, badge
			FROM memberships WHERE status = 'approved' AND role = 'member' ORDER BY id`, nil},
		{"tasks", `INSERT INTO tasks (org_id, created_by, title, description, kind, target_badges, target_user_ids, include_suborgs,
				loc_address, due_at, remind_before_minutes, status, assigned_count, created_at, updated_at)
			SELECT ?::bigint, ?::bigint, '压测任务' || g, '', 'duty', '', '', true, '',
				to_timestamp(?::float8 + (g - 1) * ?::float8 + 172800), 0, 'open', 0,
				to_timestamp(?::float8 + (g - 1) * ?::float8), to_timestamp(?::float8 + (g - 1) * ?::float8)
			FROM generate_series(1, ?::int) g`,
			[]any{res.RootID, res.RootSecretaryUserID, from, span / float64(o.tasks), from, span / float64(o.tasks), from, span / float64(o.tasks), o.tasks}},
		// h in 0..99 decides each assignment's fate; completed ones finish
		// h hours after the task was made, so those after 48 h are late.
		{"assignments", `INSERT INTO assignments (task_id, user_id, org_id, status, overdue, reason, note, accepted_at, completed_at, created_at, updated_at)
			SELECT t.id, m.user_id, m.org_id,
				CASE WHEN x.h < 50 THEN 'completed' WHEN x.h < 65 THEN 'accepted' WHEN x.h < 70 THEN 'declined'
					WHEN x.h < 75 THEN 'checked_in' ELSE 'assigned' END,
				x.h >= 75 AND x.h < 90, '', '',
				CASE WHEN x.h < 65 OR (x.h >= 70 AND x.h < 75) THEN t.created_at + interval '1 hour' END,
				CASE WHEN x.h < 50 THEN t.created_at + x.h * interval '1 hour' END,
				t.created_at, t.created_at
			FROM tasks t JOIN bench_members m ON m.rk % 20 = t.id % 20 AND m.rk < ?::bigint
			CROSS JOIN LATERAL (SELECT (m.rk * 31 + t.id * 17) % 100 AS h) x`, []any{o.taskMembers}},
		{"checkins", `INSERT INTO checkins (user_id, org_id, day, badge, request_id, created_at)
			SELECT m.user_id, m.org_id, to_char(?::date + d, 'YYYY-MM-DD'), m.badge, 'bench-' || m.id || '-' || d,
				((?::date + d)::timestamp + interval '8 hours') AT TIME ZONE ?::text
			FROM memberships m CROSS JOIN generate_series(0, ?::int - 1) d
			WHERE m.status = 'approved' AND (m.id * 7 + d * 13) % 100 < ?::int`, []any{p.From, p.From, a.Config.Location().String(), p.Days, o.checkinPercent}},
		// g mod 10 decides each report's fate: 0-4 acknowledged where filed,
		// 5-6 escalated once and acknowledged there, 7-8 escalated once and
		// open, 9 escalated twice and open.
		{"reports", `INSERT INTO reports (org_id, reporter_id, request_id, category, urgency, content, address, status,
				current_org_id, escalation_level, acked_by, acked_at, resolve_note, created_at, updated_at)
			SELECT m.org_id, m.user_id, 'bench-' || g, 'help_needed', CASE WHEN g % 4 = 0 THEN 'urgent' ELSE 'normal' END,
				'压测上报第' || g || '条：卡口物资短缺，请求支援', '',
				CASE WHEN g % 10 < 7 THEN 'acknowledged' ELSE 'open' END,
				CASE WHEN g % 10 = 9 THEN gb.parent_id WHEN g % 10 >= 5 THEN b.parent_id ELSE m.org_id END,
				CASE WHEN g % 10 = 9 THEN 2 WHEN g % 10 >= 5 THEN 1 ELSE 0 END,
				CASE WHEN g % 10 < 7 THEN ?::bigint END,
				CASE WHEN g % 10 < 7 THEN x.at + ((g * 37) % 7200 + CASE WHEN g % 10 >= 5 THEN 3600 ELSE 0 END) * interval '1 second' END,
				'', x.at, x.at
			FROM generate_series(1, ?::int) g
			JOIN bench_members m ON m.rk = (g::bigint * 7919) % (SELECT COUNT(*) FROM bench_members)
			JOIN orgs b ON b.id = m.org_id JOIN orgs gb ON gb.id = b.parent_id
			CROSS JOIN LATERAL (SELECT to_timestamp(?::float8 + (g - 1) * ?::float8) AS at) x`,
			[]any{res.RootSecretaryUserID, o.reports, from, (span - 3*3600) / float64(o.reports)}},
		{"report events", `INSERT INTO report_events (report_id, kind, org_id, actor_id, level, note, created_at)
			SELECT r.id, 'created', r.org_id, r.reporter_id, 0, '', r.created_at FROM reports r
			UNION ALL
			SELECT r.id, 'escalated', b.parent_id, 0, 1, '', r.created_at + interval '1 hour'
				FROM reports r JOIN orgs b ON b.id = r.org_id WHERE r.escalation_level >= 1
			UNION ALL
			SELECT r.id, 'escalated', r.current_org_id, 0, 2, '', r.created_at + interval '2 hours'
				FROM reports r WHERE r.escalation_level = 2
			UNION ALL
			SELECT r.id, 'acknowledged', r.current_org_id, r.acked_by, r.escalation_level, '', r.acked_at
				FROM reports r WHERE r.acked_at IS NOT NULL`, nil},
		// g mod 5: 0 pending, 1-4 approved, and 4 commended as well.
		{"deeds", `INSERT INTO deeds (org_id, user_id, nominated_by, title, content, links, status, current_org_id, reason, created_at, updated_at)
			SELECT m.org_id, m.user_id, m.user_id, '压测事迹' || g, '坚守卡口', '',
				CASE g % 5 WHEN 0 THEN 'pending' WHEN 4 THEN 'commended' ELSE 'approved' END,
				CASE WHEN g % 5 = 4 THEN ?::bigint ELSE m.org_id END, '', x.at,
				x.at + CASE g % 5 WHEN 0 THEN interval '0' WHEN 4 THEN interval '2 hours' ELSE interval '1 hour' END
			FROM generate_series(1, ?::int) g
			JOIN bench_members m ON m.rk = (g::bigint * 104729) % (SELECT COUNT(*) FROM bench_members)
			CROSS JOIN LATERAL (SELECT to_timestamp(?::float8 + (g - 1) * ?::float8) AS at) x`,
			[]any{res.RootID, o.deeds, from, (span - 3*3600) / float64(o.deeds)}},
		{"deed events", `INSERT INTO deed_events (deed_id, kind, org_id, actor_id, note, created_at)
			SELECT d.id, 'nominated', d.org_id, d.user_id, '', d.created_at FROM deeds d
			UNION ALL
			SELECT d.id, 'approved', d.org_id, ?::bigint, '', d.created_at + interval '1 hour' FROM deeds d WHERE d.status <> 'pending'
			UNION ALL
			SELECT d.id, 'commended', d.current_org_id, ?::bigint, '', d.updated_at FROM deeds d WHERE d.status = 'commended'`,
			[]any{res.RootSecretaryUserID, res.RootSecretaryUserID}},
		{"cleanup", `DROP TABLE bench_members`, nil},
	}
	for _, s := range steps {
		if err := step(s.name, s.sql, s.args...); err != nil {
			return err
		}
	}
	t0 := time.Now()
	for _, table := range []string{"tasks", "assignments", "checkins", "reports", "report_events", "deeds", "deed_events", "audit_logs"} {
		if err := db.Exec("VACUUM ANALYZE " + table).Error; err != nil {
			return fmt.Errorf("vacuum %s: %w", table, err)
		}
	}
	fmt.Printf("  VACUUM ANALYZE in %s; activity seeded in %s\n", time.Since(t0).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	return nil
}
