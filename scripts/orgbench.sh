#!/usr/bin/env bash
# scripts/orgbench.sh — seed a big organisation tree and measure the scope
# check and GET /api/v1/orgs/{id} on it (goal: p99 under 20 ms).
#
# Usage: scripts/orgbench.sh [flags for server/cmd/orgbench, e.g. -orgs 50000 -members 500000 -n 3000 -c 8]
#
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and Redis on
# 127.0.0.1:6379. It (re)creates the database xianfeng_orgbench, builds
# server/cmd/orgbench, runs it — it seeds 50,000 orgs and
# 500,000 memberships by default, prints how long that took and the latency
# figures — and then drops the database and deletes the orgbench: Redis keys.
# Exits non-zero if the bench reports an error.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

bench_command orgbench xianfeng_orgbench "$@"
