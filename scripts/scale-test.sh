#!/usr/bin/env bash
# scripts/scale-test.sh — three `server api` and two `server worker`
# processes behind HAProxy on PostgreSQL and Redis, under check-in load, with
# one API process and one worker killed with SIGKILL in the middle.
#
# Usage: scripts/scale-test.sh    (XF_SCALE_MEMBERS, default 60000; XF_SCALE_SECONDS, default 30)
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and Redis on
# 127.0.0.1:6379; installs HAProxy from Debian's packages if it is missing
# (apt-get, as root). It builds the server, server/cmd/checkinbench (to seed)
# and server/cmd/scaletest (the load and the checks), seeds a fresh database
# xianfeng_scale with XF_SCALE_MEMBERS members in 300 orgs and a session
# each (Redis key prefix scale:), starts the API processes on
# 127.0.0.1:18301-18303 and the workers, with urgent reports escalating after
# 10 s (the least allowed: due around the kill), and HAProxy on 127.0.0.1:18300 (round robin; health check GET /readyz
# every 500 ms, out after two failures). scaletest then checks members in
# through HAProxy with 32 phones for XF_SCALE_SECONDS, each retrying a request
# that got no answer or a 5xx with the same request_id; at 10 s the root
# secretary publishes a task to every member and 300 ms later the second
# worker and the second API process are killed with SIGKILL. It prints the
# check-ins per second before, during (5 s) and after the kill with the failed
# attempts in each, then checks: check-in rows = members answered 200/201,
# none doubled; the task reached every member exactly once (assignments and
# inbox notices); each urgent report escalated exactly once. Everything is
# stopped and dropped afterwards, also on failure. Exits non-zero if a check
# fails.
set -euo pipefail
cd "$(dirname "$0")/.."

MEMBERS=${XF_SCALE_MEMBERS:-60000}
SECONDS_LOAD=${XF_SCALE_SECONDS:-30}
DB=xianfeng_scale
DB_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
REDIS_URL=redis://127.0.0.1:6379/0
PREFIX=scale:
NS=scale
LB=127.0.0.1:18300

tmp=$(mktemp -d)
pids=()
cleanup() {
	local rc=$?
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
	done
	psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" postgres >/dev/null 2>&1 || true
	for pattern in "$PREFIX*" "asynq:{$NS:*"; do
		redis-cli -h 127.0.0.1 -p 6379 --scan --pattern "$pattern" | xargs -r -n 500 redis-cli -h 127.0.0.1 -p 6379 del >/dev/null
	done
	for q in critical default low; do redis-cli -h 127.0.0.1 -p 6379 srem asynq:queues "$NS:$q" >/dev/null; done
	if [[ $rc -ne 0 ]]; then
		echo "scale-test: failed; the processes' logs:" >&2
		tail -n 5 "$tmp"/*.log >&2 2>/dev/null || true
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT

if ! command -v haproxy >/dev/null; then
	echo "installing HAProxy (Debian package)..."
	apt-get install -y haproxy >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y haproxy >/dev/null; }
fi

echo "commit: $(git rev-parse --short HEAD); date: $(date -u +%Y-%m-%dT%H:%M:%SZ); machine: $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg); $(haproxy -v | head -1 | cut -d' ' -f1-3)"
echo "building..."
go build -o "$tmp/server" ./server
go build -o "$tmp/checkinbench" ./server/cmd/checkinbench
go build -o "$tmp/scaletest" ./server/cmd/scaletest

psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB" postgres
"$tmp/checkinbench" -mode seed -db "$DB_URL" -redis "$REDIS_URL" -prefix "$PREFIX" -members "$MEMBERS" -orgs 300 -tokens "$tmp/tokens"

# start NAME COMMAND ADMIN-PORT [HTTP-ADDR]: one server process in the background.
start() {
	local name=$1 cmd=$2 admin=$3 addr=${4:-127.0.0.1:0}
	env APP_ENV=development APP_WECHAT_MOCK=true APP_DATABASE_URL="$DB_URL" APP_DATABASE_AUTO_MIGRATE=false \
		APP_REDIS_URL=$REDIS_URL APP_REDIS_KEY_PREFIX=$PREFIX APP_QUEUE_NAMESPACE=$NS \
		APP_HTTP_ADDR="$addr" APP_ADMIN_ADDR="127.0.0.1:$admin" APP_HTTP_TRUSTED_PROXIES=127.0.0.1 \
		APP_REPORT_SLA_URGENT=10s APP_LOG_LEVEL=warn \
		"$tmp/server" "$cmd" >"$tmp/$name.log" 2>&1 &
	pids+=($!)
	eval "pid_$name=$!"
	disown $! # the SIGKILL below is the test, not news for the shell
}
start api1 api 19301 127.0.0.1:18301
start api2 api 19302 127.0.0.1:18302
start api3 api 19303 127.0.0.1:18303
start worker1 worker 19311
start worker2 worker 19312
for port in 19301 19302 19303 19311 19312; do
	for _ in $(seq 1 100); do
		curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
		sleep 0.2
	done
	curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { echo "process with admin port $port is not ready" >&2; exit 1; }
done

cat >"$tmp/haproxy.cfg" <<EOF
global
	maxconn 4096
defaults
	mode http
	timeout connect 2s
	timeout client 30s
	timeout server 30s
	retries 2
	option redispatch
frontend xianfeng
	bind $LB
	default_backend api
backend api
	balance roundrobin
	option httpchk GET /readyz
	default-server inter 500ms fall 2 rise 2
	server api1 127.0.0.1:18301 check
	server api2 127.0.0.1:18302 check
	server api3 127.0.0.1:18303 check
EOF
haproxy -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do curl -fsS "http://$LB/healthz" >/dev/null 2>&1 && break; sleep 0.2; done

echo "3 API processes (pids $pid_api1 $pid_api2 $pid_api3), 2 workers ($pid_worker1 $pid_worker2), HAProxy on $LB"
"$tmp/scaletest" -url "http://$LB" -db "$DB_URL" -redis "$REDIS_URL" -prefix "$PREFIX" -tokens "$tmp/tokens" \
	-kill-api "$pid_api2" -kill-worker "$pid_worker2" -d "${SECONDS_LOAD}s" -kill-at 10s -c 32 -reports 20
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
