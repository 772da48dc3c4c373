#!/usr/bin/env bash
# scripts/orgbench.sh — seed a big organisation tree and measure the scope
# check and GET /api/v1/orgs/{id} on it (goal: p99 under 20 ms), and the web
# console's dashboard of the root (goal: under 300 ms of server time) beside
# the bare-stack baseline's GET /r1 of the same run.
#
# Usage: scripts/orgbench.sh [flags for server/cmd/orgbench, e.g. -orgs 50000 -members 500000 -n 3000 -c 8]
#        scripts/orgbench.sh -orgs 200 -members 2000 -n 1000   # a small tree, to check the script
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust), Redis on
# 127.0.0.1:6379 and the baseline's source in XF_BASELINE_DIR (default
# ../shared/baseline; see scripts/bench-lib.sh). It prints commit, date,
# machine, load average and runs, builds server/cmd/orgbench and the
# baseline, (re)creates the database xianfeng_orgbench, starts the baseline
# on 127.0.0.1:18184 (database xfbase_org, Redis database
# XF_BENCH_ORG_BASELINE_REDIS_DB, default 12, which it empties) and runs
# orgbench: it seeds 50,000 orgs and 500,000 memberships by default, prints
# how long that took and the latency figures, then measures the console's
# root dashboard XF_BENCH_RUNS times (default 3), each run followed by the
# baseline's GET /r1 with the same callers, and prints a table of medians,
# spreads and ratios with "goal met"/"goal missed". Then it stops the
# baseline, drops both databases and deletes the orgbench: Redis keys and
# the baseline's Redis database, also on failure. Exits non-zero if the
# bench reports an error; a missed goal is printed, not an error.
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

DB=xianfeng_orgbench
BASE_DB=xfbase_org
BASE_ADDR=127.0.0.1:18184
BASE_REDIS_DB=${XF_BENCH_ORG_BASELINE_REDIS_DB:-12}

bench_scratch orgbench: orgbench "$DB"

bench_header
bench_build server/cmd/orgbench
baseline_build "$tmp/xfbase"

bench_db_fresh "$DB"
# GET /r1 needs no seeded session.
baseline_start "$tmp/xfbase" "$BASE_DB" "$BASE_ADDR" "$BASE_REDIS_DB" 0 "$tmp/baseline.log"

TMPDIR="$tmp" "$tmp/orgbench" -db "$(bench_db_url "$DB")" -redis redis://127.0.0.1:6379/0 \
	-baseline "http://$BASE_ADDR" -runs "$XF_BENCH_RUNS" "$@"
