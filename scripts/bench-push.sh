#!/usr/bin/env bash
# scripts/bench-push.sh — push 10,000 notifications with consent through the
# fake WeChat server (no rate limit) and time them until the last one is
# sent (goal: all 10,000 within 10 s), with WeChat answering at once and
# after 100 ms (as the real one does), then the same with the inbox only.
#
# Usage: scripts/bench-push.sh [flags for server/cmd/pushbench, e.g. -concurrency 20 -n 10000 -diagnose 1000]
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and Redis on
# 127.0.0.1:6379. It prints commit, date, machine and load average, builds
# server/cmd/pushbench and, for each fake-WeChat latency in
# XF_BENCH_PUSH_LATENCIES (default "0 100ms"; a latency above zero gets a
# jitter of XF_BENCH_PUSH_JITTER, default 20ms), (re)creates the database
# xianfeng_bench_push and runs it: the real app with its asynq workers and
# the real WeChat client pointed at an in-process fake WeChat, each
# measurement XF_BENCH_RUNS times (default 3). It prints the time to write
# the notifications, the time until the last is sent, messages/s, the peak
# number of sends in flight at the fake, the messages it received, the
# consents left, the same for 10,000 inbox-only notifications and a table of
# medians and spreads with "goal met"/"goal missed". The per-statement
# diagnosis of pushbench is off unless asked for (-diagnose 1000). Then it
# drops the database and deletes the pushbench: and asynq:{pushbench:...}
# Redis keys, also on failure. Exits non-zero on an error or a failed
# verification, not on a missed goal.
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

DB=xianfeng_bench_push
NS=pushbench
LATENCIES=${XF_BENCH_PUSH_LATENCIES:-0 100ms}
JITTER=${XF_BENCH_PUSH_JITTER:-20ms}
REDIS=(redis-cli -h 127.0.0.1 -p 6379 -n 0)

# The bench's queues are pushbench:<priority> and, for its asynq-alone
# measurement, pushbench:noop:<priority>: bench_redis_clean removes both.
bench_scratch "$NS:" "$NS" "$DB"

bench_header
echo "services: $(psql -X -At -h 127.0.0.1 -U postgres -d test -c 'SHOW server_version' | sed 's/^/PostgreSQL /'), Redis $("${REDIS[@]}" info server | awk -F: '/^redis_version/ {print $2}' | tr -d '\r')"
bench_build server/cmd/pushbench

for latency in $LATENCIES; do
	jitter=0
	if [[ $latency != 0 && $latency != 0s && $latency != 0ms ]]; then
		jitter=$JITTER
	fi
	echo
	echo "==== fake WeChat answering after $latency ± $jitter"
	# Stale keys of an interrupted run would skew the rate limiter and the queue.
	bench_redis_clean "$NS:" "$NS"
	bench_db_fresh "$DB"
	"$tmp/pushbench" -db "$(bench_db_url "$DB")" -redis redis://127.0.0.1:6379/0 \
		-runs "$XF_BENCH_RUNS" -diagnose 0 -wx-latency "$latency" -wx-jitter "$jitter" "$@"
done
