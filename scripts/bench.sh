#!/usr/bin/env bash
# scripts/bench.sh — measure the API's hot paths on this machine.
#
# Usage: scripts/bench.sh [extra flags for scripts/bench, e.g. -d 30s -c 128]
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and Redis on
# 127.0.0.1:6379. It builds the server and the load generator, (re)creates
# the database xianfeng_bench, starts the server on 127.0.0.1:18081 with the
# WeChat mock and the key prefix bench:, runs `scripts/bench -scenario all`
# (login, then GET /api/v1/me), prints the figures and the machine, then stops
# the server, deletes the bench: Redis keys and drops the database.
# Exits non-zero if the server does not start or the error rate is above 1%.
set -euo pipefail
cd "$(dirname "$0")/.."

DB=xianfeng_bench
ADDR=127.0.0.1:18081
PSQL=(env PGOPTIONS=--client-min-messages=warning psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d test)

tmp=$(mktemp -d)
server_pid=""

cleanup() {
	local rc=$?
	set +e
	if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid"
		wait "$server_pid" 2>/dev/null
	fi
	redis-cli -h 127.0.0.1 -p 6379 --scan --pattern 'bench:*' | xargs -r -n 500 redis-cli -h 127.0.0.1 -p 6379 del >/dev/null
	redis-cli -h 127.0.0.1 -p 6379 --scan --pattern 'asynq:{bench:*' | xargs -r -n 500 redis-cli -h 127.0.0.1 -p 6379 del >/dev/null
	for q in critical default low; do
		redis-cli -h 127.0.0.1 -p 6379 srem asynq:queues "bench:$q" >/dev/null
	done
	"${PSQL[@]}" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
	if [[ $rc -ne 0 && -s $tmp/server.log ]]; then
		echo "--- last lines of the server log:" >&2
		tail -n 20 "$tmp/server.log" >&2
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT

echo "building server and load generator..."
go build -o "$tmp/server" ./server
go build -o "$tmp/bench" ./scripts/bench

"${PSQL[@]}" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
"${PSQL[@]}" -c "CREATE DATABASE $DB"

(
	cd "$tmp"
	exec env APP_ENV=development APP_WECHAT_MOCK=true \
		APP_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable" \
		APP_REDIS_URL=redis://127.0.0.1:6379/0 APP_REDIS_KEY_PREFIX=bench: \
		APP_QUEUE_NAMESPACE=bench APP_HTTP_ADDR=$ADDR APP_LOG_LEVEL=warn \
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

echo "server ready on $ADDR; running load (scenario all)..."
rc=0
"$tmp/bench" -url "http://$ADDR" -c 64 -d 10s -scenario all "$@" || rc=$?
echo "machine: $(nproc) cores, $(go version | awk '{print $3, $4}'), $(date -Is)"
exit "$rc"
