#!/usr/bin/env bash
# scripts/table-growth.sh — measure what a day of a large organisation adds
# to the tables that grow fastest, in bytes per row on PostgreSQL: it migrates
# a scratch database (xf_table_growth) with `server migrate`, writes
# XF_ROWS rows (default 200,000) into each table shaped as the server writes
# them (one day's check-in per member with a position; one task's assignment
# and its inbox notice per member; one daily health-form entry per member with
# three answers), runs ANALYZE, and prints the table + index + TOAST size per
# row and per million rows; then drops the database.
set -euo pipefail
cd "$(dirname "$0")/.."
DB=xf_table_growth
ROWS=${XF_ROWS:-200000}
PSQL=(psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -q)
"${PSQL[@]}" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" postgres
trap '"${PSQL[@]}" -c "DROP DATABASE IF EXISTS $DB" postgres >/dev/null 2>&1 || true' EXIT
APP_ENV=development APP_LOG_LEVEL=warn APP_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable" go run ./server migrate
echo "commit: $(git rev-parse --short HEAD); date: $(date -u +%Y-%m-%dT%H:%M:%SZ); $(psql --version); $ROWS rows a table"
"${PSQL[@]}" "$DB" <<SQL
INSERT INTO checkins (user_id, org_id, day, badge, seconded, lat, lng, accuracy_m, request_id, client_time, created_at)
SELECT g, 1 + g % 20000, '2026-12-02', 'frontline', false, 36.0671 + g * 1e-7, 120.3826 + g * 1e-7, 15.5,
       md5(g::text), NULL, now() FROM generate_series(1, $ROWS) g;
INSERT INTO assignments (task_id, user_id, org_id, status, overdue, reason, note, created_at, updated_at)
SELECT 1, g, 1 + g % 20000, 'pending', false, '', '', now(), now() FROM generate_series(1, $ROWS) g;
INSERT INTO notifications (user_id, kind, title, body, ref_type, ref_id, dedupe_key, created_at, vars, delivery, push_group)
SELECT g, 'task_assigned', '新任务：卡口值守排班', '请于今日 18:00 前到岗，佩戴袖标，做好体温检测登记。', 'task', 1,
       'task_assigned:1', now(), '{"thing1":"卡口值守排班","time2":"2026-12-02 18:00"}', 'sent', 'task:1'
FROM generate_series(1, $ROWS) g;
INSERT INTO form_entries (form_id, user_id, slot, request_id, org_id, day, answers, alert, version, created_at, updated_at)
SELECT 1, g, '2026-12-02', md5(g::text), 1 + g % 20000, '2026-12-02',
       '{"temp":36.6,"symptoms":["无"],"note":"在家，无外出"}', false, 1, now(), now() FROM generate_series(1, $ROWS) g;
ANALYZE;
SELECT relname AS "table",
       pg_size_pretty(pg_total_relation_size(relid)) AS total,
       round(pg_total_relation_size(relid)::numeric / $ROWS) AS bytes_per_row,
       round(pg_total_relation_size(relid)::numeric / $ROWS * 1e6 / 1e9, 2) AS gb_per_million_rows
FROM pg_stat_user_tables WHERE relname IN ('checkins', 'assignments', 'notifications', 'form_entries')
ORDER BY relname;
SQL
