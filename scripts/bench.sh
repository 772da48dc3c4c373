#!/usr/bin/env bash
# scripts/bench.sh — measure login and GET /api/v1/me on this machine, beside
# the bare-stack baseline's GET /r1 (gin and one Redis GET) in the same run.
#
# Usage: scripts/bench.sh [extra flags for scripts/bench, e.g. -d 30s -c 128 -runs 5 -scenario me]
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust), Redis on
# 127.0.0.1:6379 and the baseline's source in XF_BASELINE_DIR (default
# ../shared/baseline; see scripts/bench-lib.sh). It prints commit, date,
# machine and load average, builds the server, the load generator and the
# baseline, (re)creates the databases xianfeng_bench and xfbase_bench, starts
# the server on 127.0.0.1:18081 with the WeChat mock and the key prefix
# bench:, and the baseline on 127.0.0.1:18181 with Redis database
# XF_BENCH_BASELINE_REDIS_DB (default 14; it empties it), then runs
# `scripts/bench -scenario all` (login, GET /me with a busy session, GET /me
# with sessions idle for more than a minute; each XF_BENCH_RUNS times,
# default 3, with 64 clients for 2 s + 10 s, the baseline's /r1 after each
# round) and prints the per-run lines and a table of medians, spreads and
# ratios with "goal met"/"goal missed". Then it stops both servers, deletes
# the bench: Redis keys and the baseline's Redis database, and drops both
# databases, also on failure. Exits non-zero if a server does not start or
# the error rate of a run is above 1%; a missed goal is printed, not an error.
#
# Profiles: the server's admin listener is 127.0.0.1:19081 (XF_BENCH_ADMIN_ADDR),
# so during a run, in another terminal:
#   go tool pprof -top http://127.0.0.1:19081/debug/pprof/profile?seconds=10
# (or /debug/pprof/mutex, /block, /heap).
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

DB=xianfeng_bench
ADDR=127.0.0.1:18081
BASE_DB=xfbase_bench
BASE_ADDR=127.0.0.1:18181
BASE_REDIS_DB=${XF_BENCH_BASELINE_REDIS_DB:-14}

bench_scratch bench: bench "$DB"

bench_header
bench_build server scripts/bench
baseline_build "$tmp/xfbase"

bench_db_fresh "$DB"

bench_server_start "$DB" "$ADDR" "${XF_BENCH_ADMIN_ADDR:-127.0.0.1:19081}"
# GET /r1 needs no seeded session.
baseline_start "$tmp/xfbase" "$BASE_DB" "$BASE_ADDR" "$BASE_REDIS_DB" 0 "$tmp/baseline.log"

echo "server ready on $ADDR; running load (scenario all, baseline GET /r1 on $BASE_ADDR)..."
"$tmp/bench" -url "http://$ADDR" -baseline "http://$BASE_ADDR" -c 64 -d 10s -runs "$XF_BENCH_RUNS" -scenario all "$@"
