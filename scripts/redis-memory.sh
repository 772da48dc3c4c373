#!/usr/bin/env bash
# scripts/redis-memory.sh — measure the Redis memory of 100,000 active
# sessions (or XF_SESSIONS), made by the server's own session store, on a
# redis-server of its own (port 7201, nothing saved, stopped afterwards),
# since INFO memory counts everything a server holds.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${XF_REDISMEM_PORT:-7201}
dir=$(mktemp -d)
cleanup() {
	redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --daemonize yes --logfile "$dir/redis.log"
for _ in $(seq 1 40); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.25; done
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown); date: $(date -u +%Y-%m-%dT%H:%M:%SZ); $(redis-server --version | cut -d' ' -f1-3)"
go run ./server/cmd/redismem -redis "redis://127.0.0.1:$PORT/0" -n "${XF_SESSIONS:-100000}"
