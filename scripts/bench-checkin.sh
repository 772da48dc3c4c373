#!/usr/bin/env bash
# scripts/bench-checkin.sh — measure the daily check-in at scale and the
# fan-out of one task to 10,000 members.
#
# Usage: scripts/bench-checkin.sh [extra flags for the load, e.g. -d 20s -c 64]
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and Redis on
# 127.0.0.1:6379. It builds the server and server/cmd/checkinbench,
# (re)creates the database xianfeng_bench_checkin, seeds 100,000 members and
# one session per approved member (key prefix bcheck:), starts the server on
# 127.0.0.1:18082, drives POST /api/v1/checkins with 64 keep-alive clients
# (2 s warm-up, 10 s measured) while sampling the server's RSS every 100 ms,
# verifies the checkins table, stops the server, then times the fan-out of
# one task to 10,000 members on a fresh database xianfeng_bench_fanout. It
# prints "goal met"/"goal missed" per figure, then drops both databases and
# deletes the bcheck: and asynq:{bcheck:...} Redis keys. Exits non-zero only
# on an error or a failed verification, not on a missed goal.
set -euo pipefail
cd "$(dirname "$0")/.."

DB=xianfeng_bench_checkin
FANOUT_DB=xianfeng_bench_fanout
ADDR=127.0.0.1:18082
PREFIX=bcheck:
NS=bcheck
RSS_GOAL_KB=$((150 * 1024))
PSQL=(env PGOPTIONS=--client-min-messages=warning psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d test)
REDIS=(redis-cli -h 127.0.0.1 -p 6379)
dburl() { echo "postgres://postgres@127.0.0.1:5432/$1?sslmode=disable"; }

tmp=$(mktemp -d)
server_pid=""
sampler_pid=""

stop_server() {
	if [[ -n $sampler_pid ]] && kill -0 "$sampler_pid" 2>/dev/null; then
		kill "$sampler_pid" 2>/dev/null
		wait "$sampler_pid" 2>/dev/null || true
	fi
	sampler_pid=""
	if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid"
		wait "$server_pid" 2>/dev/null || true
	fi
	server_pid=""
}

cleanup() {
	local rc=$?
	set +e
	stop_server
	"${REDIS[@]}" --scan --pattern "$PREFIX*" | xargs -r -n 500 "${REDIS[@]}" del >/dev/null
	"${REDIS[@]}" --scan --pattern "asynq:{$NS:*" | xargs -r -n 500 "${REDIS[@]}" del >/dev/null
	for q in critical default low; do
		"${REDIS[@]}" srem asynq:queues "$NS:$q" >/dev/null
	done
	"${PSQL[@]}" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
	"${PSQL[@]}" -c "DROP DATABASE IF EXISTS $FANOUT_DB WITH (FORCE)" >/dev/null
	if [[ $rc -ne 0 && -s $tmp/server.log ]]; then
		echo "--- last lines of the server log:" >&2
		tail -n 20 "$tmp/server.log" >&2
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(go version | awk '{print $3, $4}'), $(date -Is)"
echo "building server and server/cmd/checkinbench..."
go build -o "$tmp/server" ./server
go build -o "$tmp/checkinbench" ./server/cmd/checkinbench

for db in $DB $FANOUT_DB; do
	"${PSQL[@]}" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
	"${PSQL[@]}" -c "CREATE DATABASE $db"
done
# Stale keys of an interrupted run would skew the board and the sessions.
"${REDIS[@]}" --scan --pattern "$PREFIX*" | xargs -r -n 500 "${REDIS[@]}" del >/dev/null

common=(-db "$(dburl $DB)" -redis redis://127.0.0.1:6379/0 -prefix "$PREFIX" -namespace "$NS")
"$tmp/checkinbench" -mode seed "${common[@]}" -members 100000 -tokens "$tmp/tokens"

(
	cd "$tmp"
	exec env APP_ENV=development APP_WECHAT_MOCK=true \
		APP_DATABASE_URL="$(dburl $DB)" \
		APP_REDIS_URL=redis://127.0.0.1:6379/0 APP_REDIS_KEY_PREFIX=$PREFIX \
		APP_QUEUE_NAMESPACE=$NS APP_HTTP_ADDR=$ADDR APP_LOG_LEVEL=warn \
		./server
) >"$tmp/server.log" 2>&1 &
server_pid=$!

ready=""
for _ in $(seq 1 120); do
	if ! kill -0 "$server_pid" 2>/dev/null; then
		echo "server exited during start-up" >&2
		exit 1
	fi
	if curl -sf "http://$ADDR/readyz" >/dev/null 2>&1; then
		ready=1
		break
	fi
	sleep 0.25
done
if [[ -z $ready ]]; then
	echo "server not ready on $ADDR after 30s" >&2
	exit 1
fi
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
"$tmp/checkinbench" -mode load -url "http://$ADDR" -tokens "$tmp/tokens" -counts "$tmp/counts" -c 64 -d 10s -warmup 2s "$@" || rc=1

s1=$(server_ticks)
read -r m1 idle1 < <(machine_ticks)
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$server_pid/status")
kill "$sampler_pid" 2>/dev/null
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=""
peak=$(cat "$tmp/rss.peak" 2>/dev/null || echo 0)
total=$((m1 - m0))
printf 'CPU during the load (warm-up included, 2 cores = 200%%): server %d%%, whole machine busy %d%% (the rest: PostgreSQL, Redis, load generator, kernel, anything else running)\n' \
	$(((s1 - s0) * 200 / total)) $(((total - (idle1 - idle0)) * 200 / total))
top=$((hwm > peak ? hwm : peak))
rss_verdict="goal missed"
if ((top < RSS_GOAL_KB)); then
	rss_verdict="goal met"
fi
mb() { awk -v kb="$1" 'BEGIN {printf "%.1f MB", kb / 1024}'; }
echo "server RSS: peak sampled VmRSS $(mb "$peak"), VmHWM $(mb "$hwm")"
echo "goal RSS < 150 MB (peak): $(mb "$top"): $rss_verdict"

"$tmp/checkinbench" -mode verify "${common[@]}" -counts "$tmp/counts" || rc=1

stop_server
# Warnings and errors of the server, but the two expected start-up warnings.
grep -iE '"level":"(ERROR|WARN)"' "$tmp/server.log" | grep -v 'WeChat MOCK is on\|APP_BADGE_KEY is not set' >"$tmp/server.warn" || true
if [[ -s $tmp/server.warn ]]; then
	echo "server log: $(wc -l <"$tmp/server.warn") warning/error lines, e.g.:"
	head -n 3 "$tmp/server.warn"
fi

"$tmp/checkinbench" -mode fanout -db "$(dburl $FANOUT_DB)" -redis redis://127.0.0.1:6379/0 -prefix "$PREFIX" -namespace "$NS" -targets 10000 || rc=1
exit "$rc"
