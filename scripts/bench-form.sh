#!/usr/bin/env bash
# scripts/bench-form.sh — measure screening forms: members submitting a daily
# form's entries beside the bare-stack baseline's check-in of the same run,
# then the summary and export of one day of a daily form for 500,000 members
# with 30 days of entries.
#
# Usage: scripts/bench-form.sh [extra flags for the load, e.g. -d 20s -c 64 -runs 5]
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust), Redis on
# 127.0.0.1:6379 and the baseline's source in XF_BASELINE_DIR (see
# scripts/bench-lib.sh). It prints commit, date, machine and load average,
# builds the server, server/cmd/formbench and the baseline, then:
#
# 1. Entries under load. (Re)creates the database xianfeng_bench_form, seeds
#    a tree of XF_BENCH_FORM_LOAD_ORGS orgs (default 1,000) with
#    XF_BENCH_FORM_LOAD_MEMBERS approved members (default 150,000), a daily
#    form for the whole tree (temperature with an alert, choice, text,
#    number) whose audience is told, and one session per member (key prefix
#    bform:); starts the server on 127.0.0.1:18083 and the baseline on
#    127.0.0.1:18183 (database xfbase_form, Redis database
#    XF_BENCH_FORM_BASELINE_REDIS_DB, default 13, which it empties, with
#    XF_BENCH_BASELINE_USERS sessions, default 500,000); drives POST
#    /api/v1/forms/{id}/entries with 64 keep-alive clients (2 s warm-up, 10 s
#    measured), XF_BENCH_RUNS times (default 3), every request a member's
#    first entry of the day, the members shuffled so that concurrent entries
#    come from all the branches (-in-order: a branch at a time, the worst case
#    for the branch's running totals), each run followed by the same load on the
#    baseline's POST /checkin; prints each run and a table of medians,
#    spreads and ratios to the baseline with "goal met"/"goal missed" (goal:
#    ≥ 0.4 × the baseline's throughput, p99 ≤ 3 × its p99); then verifies
#    one entry per member and day and the running totals, and stops both.
# 2. A month of a big form. (Re)creates the database xianfeng_bench_formscale,
#    seeds XF_BENCH_FORM_ORGS orgs (default XF_BENCH_FORM_MEMBERS / 10) with
#    XF_BENCH_FORM_MEMBERS approved members (default 500,000), checks on 300
#    members that the bulk load writes what the service writes, bulk-loads
#    XF_BENCH_FORM_DAYS days (default 30) of one entry per member and day and
#    their running totals with COPY (printing how long each step takes),
#    times the root's GET /api/v1/forms/{id}/summary?day= of the last day
#    (5 calls after one unmeasured; goal: median under 1 s) and streams GET
#    /api/v1/forms/{id}/export.xlsx of that day in a child process whose peak
#    RSS is measured (goal: under 300 MB), then reads the workbook back and
#    counts its rows. About 10 minutes with the defaults on 2 cores.
#    XF_BENCH_FORM_SCALE=0 skips this part.
#
# It drops the databases and deletes the bform: and asynq:{bform...} Redis
# keys and the baseline's Redis database, also on failure. Exits non-zero
# only on an error or a failed verification, not on a missed goal.
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

DB=xianfeng_bench_form
SCALE_DB=xianfeng_bench_formscale
ADDR=127.0.0.1:18083
PREFIX=bform:
NS=bform
SEED_NS=bformseed
LOAD_ORGS=${XF_BENCH_FORM_LOAD_ORGS:-1000}
LOAD_MEMBERS=${XF_BENCH_FORM_LOAD_MEMBERS:-150000}
MEMBERS=${XF_BENCH_FORM_MEMBERS:-500000}
ORGS=${XF_BENCH_FORM_ORGS:-$((MEMBERS / 10 > 4 ? MEMBERS / 10 : 4))}
DAYS=${XF_BENCH_FORM_DAYS:-30}
BASE_DB=xfbase_form
BASE_ADDR=127.0.0.1:18183
BASE_REDIS_DB=${XF_BENCH_FORM_BASELINE_REDIS_DB:-13}
BASE_USERS=${XF_BENCH_BASELINE_USERS:-500000}

stop_all() {
	bench_stop "$server_pid"
	server_pid=""
	baseline_stop
	# The seed's queued fan-out, which no server runs.
	bench_redis_clean "$PREFIX" "$SEED_NS"
}

bench_scratch "$PREFIX" "$NS" "$DB" "$SCALE_DB"
BENCH_ON_EXIT=stop_all

bench_header
bench_build server server/cmd/formbench
baseline_build "$tmp/xfbase"

bench_db_fresh "$DB"
# Stale keys of an interrupted run would skew the sessions.
bench_redis_clean "$PREFIX" "$NS"
bench_redis_clean "$PREFIX" "$SEED_NS"

redis=(-redis redis://127.0.0.1:6379/0 -prefix "$PREFIX" -namespace "$NS")
common=(-db "$(bench_db_url "$DB")" "${redis[@]}" -form-file "$tmp/form")
echo
echo "== entries under load"
"$tmp/formbench" -mode seed "${common[@]}" -seed-namespace "$SEED_NS" -orgs "$LOAD_ORGS" -members "$LOAD_MEMBERS" -tokens "$tmp/tokens"

bench_server_start "$DB" "$ADDR" "${XF_BENCH_ADMIN_ADDR:-127.0.0.1:19083}"
baseline_start "$tmp/xfbase" "$BASE_DB" "$BASE_ADDR" "$BASE_REDIS_DB" "$BASE_USERS" "$tmp/baseline.log"
echo "server ready on $ADDR (pid $server_pid)"

rc=0
"$tmp/formbench" -mode load -url "http://$ADDR" -baseline "http://$BASE_ADDR" -baseline-users "$BASE_USERS" \
	-tokens "$tmp/tokens" -form-file "$tmp/form" -counts "$tmp/counts" -c 64 -d 10s -warmup 2s -runs "$XF_BENCH_RUNS" "$@" || rc=1
"$tmp/formbench" -mode verify "${common[@]}" -counts "$tmp/counts" || rc=1
stop_all
bench_server_warnings
bench_db_drop "$DB"

if [[ ${XF_BENCH_FORM_SCALE:-1} == 0 ]]; then
	echo
	echo "== a month of a daily form: skipped (XF_BENCH_FORM_SCALE=0)"
	exit "$rc"
fi
echo
echo "== a month of a daily form for $MEMBERS members"
bench_db_fresh "$SCALE_DB"
start=$SECONDS
TMPDIR="$tmp" "$tmp/formbench" -mode scale -db "$(bench_db_url "$SCALE_DB")" "${redis[@]}" \
	-orgs "$ORGS" -members "$MEMBERS" -days "$DAYS" || rc=1
echo "scale part: $((SECONDS - start)) s"
exit "$rc"
