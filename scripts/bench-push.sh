#!/usr/bin/env bash
# scripts/bench-push.sh — push 10,000 notifications with consent through the
# fake WeChat server (no rate limit) and time them until the last one is
# sent (goal: all 10,000 within 10 s), then the same with the inbox only.
#
# Usage: scripts/bench-push.sh [flags for server/cmd/pushbench, e.g. -concurrency 20 -n 10000 -diagnose 0]
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and Redis on
# 127.0.0.1:6379. It prints the machine, (re)creates the database
# xianfeng_bench_push, builds server/cmd/pushbench and runs it: the real app
# with its asynq workers and the real WeChat client pointed at an in-process
# fake WeChat. It prints the time to write the notifications, the time
# until the last is sent, messages/s, the messages the fake received, the
# consents left, the same for 10,000 inbox-only notifications, and a
# diagnosis (one Deliver's SQL/Redis/HTTP calls, Deliver without asynq,
# asynq alone). Then it drops the database and deletes the pushbench: and
# asynq:{pushbench:...} Redis keys. Exits non-zero on an error or a failed
# verification, not on a missed goal.
set -euo pipefail
cd "$(dirname "$0")/.."

DB=xianfeng_bench_push
NS=pushbench
PSQL=(env PGOPTIONS=--client-min-messages=warning psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d test)
REDIS=(redis-cli -h 127.0.0.1 -p 6379)

tmp=$(mktemp -d)

clean_redis() {
	"${REDIS[@]}" --scan --pattern "$NS:*" | xargs -r -n 500 "${REDIS[@]}" del >/dev/null
	"${REDIS[@]}" --scan --pattern "asynq:{$NS:*" | xargs -r -n 500 "${REDIS[@]}" del >/dev/null
	# The bench's queues: pushbench:<priority> and, for its asynq-alone
	# measurement, pushbench:noop:<priority>.
	"${REDIS[@]}" smembers asynq:queues | grep "^$NS:" | xargs -r "${REDIS[@]}" srem asynq:queues >/dev/null || true
}

cleanup() {
	local rc=$?
	set +e
	clean_redis
	"${PSQL[@]}" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT

echo "machine: $(nproc) cores ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/^MemTotal/ {printf "%.1f GB RAM", $2/1048576}' /proc/meminfo), $(uname -sr), $(go version | awk '{print $3, $4}'), load average $(cut -d" " -f1-3 /proc/loadavg), $(date -Is)"
echo "services: $(psql -X -At -h 127.0.0.1 -U postgres -d test -c 'SHOW server_version' | sed 's/^/PostgreSQL /'), Redis $("${REDIS[@]}" info server | awk -F: '/^redis_version/ {print $2}' | tr -d '\r')"
echo "building server/cmd/pushbench..."
go build -o "$tmp/pushbench" ./server/cmd/pushbench

# Stale keys of an interrupted run would skew the rate limiter and the queue.
clean_redis
"${PSQL[@]}" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
"${PSQL[@]}" -c "CREATE DATABASE $DB"

"$tmp/pushbench" -db "postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable" -redis redis://127.0.0.1:6379/0 "$@"
