#!/usr/bin/env bash
# scripts/bench-checkin.sh — measure the daily check-in at scale beside the
# bare-stack baseline's check-in of the same run, and the fan-out of one task
# to 10,000 members.
#
# Usage: scripts/bench-checkin.sh [extra flags for the load, e.g. -d 20s -c 64 -runs 5 -scenario new]
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust), Redis on
# 127.0.0.1:6379 and the baseline's source in XF_BASELINE_DIR (default
# ../shared/baseline; see scripts/bench-lib.sh). It prints commit, date,
# machine and load average, builds the server, server/cmd/checkinbench and
# the baseline, (re)creates the database xianfeng_bench_checkin, seeds
# XF_BENCH_MEMBERS memberships (default 300,000: enough for 3 runs of new
# check-ins and 3 of the mix at up to 5,000/s) and one session per approved
# member (key prefix bcheck:), starts the server on 127.0.0.1:18082 and the
# baseline on 127.0.0.1:18182 (database xfbase_checkin, Redis database
# XF_BENCH_CHECKIN_BASELINE_REDIS_DB, default 15, which it empties, with
# XF_BENCH_BASELINE_USERS sessions, default 500,000), then drives POST
# /api/v1/checkins with 64 keep-alive clients (2 s warm-up, 10 s measured),
# XF_BENCH_RUNS times (default 3) for new check-ins and then for a mix where
# every second request repeats a check-in already made today, each run
# followed by the same load on the baseline's POST /checkin, while sampling
# the server's RSS every 100 ms. It prints each run, a table of medians,
# spreads and ratios to the baseline with "goal met"/"goal missed" (goal:
# ≥ 0.6 × the baseline's throughput, p99 ≤ 2 × its p99), verifies the
# checkins table, stops both servers, then times the fan-out of one task to
# 10,000 members XF_BENCH_FANOUT_RUNS times (default 7) on a fresh database
# xianfeng_bench_fanout beside the bare write of the same rows (goal: under
# 1 s). It drops the databases and deletes the bcheck: and asynq:{bcheck:...}
# Redis keys and the baseline's Redis database, also on failure. Exits
# non-zero only on an error or a failed verification, not on a missed goal.
#
# Profiles: the server's admin listener is 127.0.0.1:19082 (XF_BENCH_ADMIN_ADDR),
# so during a run, in another terminal:
#   go tool pprof -top http://127.0.0.1:19082/debug/pprof/profile?seconds=10
# (or /debug/pprof/mutex, /block, /heap).
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

DB=xianfeng_bench_checkin
FANOUT_DB=xianfeng_bench_fanout
# A fan-out and its bare write take under a second each, and a single one
# swings by a third on a busy machine: their medians need more runs.
FANOUT_RUNS=${XF_BENCH_FANOUT_RUNS:-7}
ADDR=127.0.0.1:18082
PREFIX=bcheck:
NS=bcheck
RSS_GOAL_KB=$((150 * 1024))
MEMBERS=${XF_BENCH_MEMBERS:-300000}
BASE_DB=xfbase_checkin
BASE_ADDR=127.0.0.1:18182
BASE_REDIS_DB=${XF_BENCH_CHECKIN_BASELINE_REDIS_DB:-15}
BASE_USERS=${XF_BENCH_BASELINE_USERS:-500000}

sampler_pid=""

stop_server() {
	if [[ -n $sampler_pid ]] && kill -0 "$sampler_pid" 2>/dev/null; then
		kill "$sampler_pid" 2>/dev/null
		wait "$sampler_pid" 2>/dev/null || true
	fi
	sampler_pid=""
	bench_stop "$server_pid"
	server_pid=""
	baseline_stop
}

bench_scratch "$PREFIX" "$NS" "$DB" "$FANOUT_DB"
BENCH_ON_EXIT=stop_server

bench_header
bench_build server server/cmd/checkinbench
baseline_build "$tmp/xfbase"

bench_db_fresh "$DB" "$FANOUT_DB"
# Stale keys of an interrupted run would skew the board and the sessions.
bench_redis_clean "$PREFIX" "$NS"

common=(-db "$(bench_db_url "$DB")" -redis redis://127.0.0.1:6379/0 -prefix "$PREFIX" -namespace "$NS")
"$tmp/checkinbench" -mode seed "${common[@]}" -members "$MEMBERS" -tokens "$tmp/tokens"

bench_server_start "$DB" "$ADDR" "${XF_BENCH_ADMIN_ADDR:-127.0.0.1:19082}"
baseline_start "$tmp/xfbase" "$BASE_DB" "$BASE_ADDR" "$BASE_REDIS_DB" "$BASE_USERS" "$tmp/baseline.log"
echo "server ready on $ADDR (pid $server_pid), RSS $(awk '/^VmRSS/ {print $2, $3}' /proc/$server_pid/status)"

# Sample the server's resident memory every 100 ms; the peak goes to a file.
(
	peak=0
	while [[ -r /proc/$server_pid/status ]]; do
		kb=$(awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status" 2>/dev/null || true)
		if [[ -n $kb && $kb -gt $peak ]]; then
			peak=$kb
			echo "$peak" >"$tmp/rss.peak"
		fi
		sleep 0.1
	done
) &
sampler_pid=$!

# CPU ticks (1/100 s) of the server and of the whole machine, before and after the load.
server_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $5 + $6 + $7 + $8, $5 + $6}' /proc/stat; }
s0=$(server_ticks)
read -r m0 idle0 < <(machine_ticks)

rc=0
"$tmp/checkinbench" -mode load -url "http://$ADDR" -baseline "http://$BASE_ADDR" -baseline-users "$BASE_USERS" \
	-tokens "$tmp/tokens" -counts "$tmp/counts" -c 64 -d 10s -warmup 2s -runs "$XF_BENCH_RUNS" "$@" || rc=1

s1=$(server_ticks)
read -r m1 idle1 < <(machine_ticks)
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$server_pid/status")
kill "$sampler_pid" 2>/dev/null
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=""
peak=$(cat "$tmp/rss.peak" 2>/dev/null || echo 0)
total=$((m1 - m0))
printf 'CPU during the load (all runs of both servers, warm-ups included, 2 cores = 200%%): server %d%%, whole machine busy %d%% (the rest: PostgreSQL, Redis, load generator, kernel, anything else running)\n' \
	$(((s1 - s0) * 200 / total)) $(((total - (idle1 - idle0)) * 200 / total))
top=$((hwm > peak ? hwm : peak))
rss_verdict="goal missed"
if ((top < RSS_GOAL_KB)); then
	rss_verdict="goal met"
fi
mb() { awk -v kb="$1" 'BEGIN {printf "%.1f MB", kb / 1024}'; }
echo "server RSS: peak sampled VmRSS $(mb "$peak"), VmHWM $(mb "$hwm")"
echo "goal RSS < 150 MB (peak): $(mb "$top"): $rss_verdict"
bench_summary_row "server RSS peak during the check-in load" "$(mb "$top")" "< 150 MB" "$rss_verdict"

"$tmp/checkinbench" -mode verify "${common[@]}" -counts "$tmp/counts" || rc=1

stop_server
bench_server_warnings

"$tmp/checkinbench" -mode fanout -db "$(bench_db_url "$FANOUT_DB")" -redis redis://127.0.0.1:6379/0 -prefix "$PREFIX" -namespace "$NS" -targets 10000 -runs "$FANOUT_RUNS" || rc=1
exit "$rc"
