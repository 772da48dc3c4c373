#!/usr/bin/env bash
# scripts/bench-stats.sh — seed a big tree with a month of activity and time
# the assessment: GET /api/v1/orgs/{root}/stats over 30 days (goal: under
# 2 s) and GET /api/v1/orgs/{root}/export.xlsx (time and peak RSS, goal:
# under 300 MB), then check the workbook against the database.
#
# Usage: scripts/bench-stats.sh [flags for server/cmd/statsbench, e.g. -members 500000 -checkin-percent 20 -n 5]
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and Redis on
# 127.0.0.1:6379. It (re)creates the database xianfeng_statsbench, builds
# server/cmd/statsbench, runs it — 50,000 orgs and 500,000 memberships with
# org.Seed, then 30 days of tasks, assignments, check-ins, reports and deeds
# (it prints what it made and how long that took) — and then drops the
# database and deletes the statsbench: Redis keys. The export runs in a
# child process so that its peak RSS is its own. Exits non-zero if the bench
# reports an error or a figure that disagrees with the database; a missed
# goal is printed, not an error.
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

start=$(date +%s)
bench_command statsbench xianfeng_statsbench "$@"
echo "total run: $(($(date +%s) - start)) s"
