# shellcheck shell=bash
# scripts/bench-lib.sh — sourced by the scripts/bench*.sh benchmarks, orgbench.sh and testtime.sh: the
# header every benchmark prints, and the bare-stack yardstick ("baseline")
# they run beside Xianfeng in the same run.
#
# The baseline is a gin server, kept outside this repository, that does the
# least a check-in can do: one Redis GET (the session), one Redis SET NX
# (today's claim) and one PostgreSQL INSERT through pgx (pool 16). Its other
# endpoints are GET /r1 (one Redis GET) and GET /hello (gin alone). Its
# directory is XF_BASELINE_DIR, by default ../shared/baseline beside the
# repository. At start it empties its Redis database (REDIS_DB) and seeds
# the sessions sess:1..SEED_SESSIONS that POST /checkin looks up by the
# X-User header.
#
# Settings (environment):
#   XF_BASELINE_DIR       the baseline's source (default ../shared/baseline)
#   XF_BASELINE_BIN       an already built baseline binary (bench-all.sh
#                         builds it once and sets this)
#   XF_BENCH_RUNS         runs of each measurement (default 3)
#   XF_BENCH_SUMMARY      a file the load generators append their summary
#                         rows to (bench-all.sh sets it)
#
# Sourcing it also sets what every benchmark runs under, so that no script
# can forget it: the strict mode (set -euo pipefail; the cleanup trap relies
# on a failure ending the script) and the repository's root as the working
# directory (the go build paths and scripts/ paths are relative to it).

set -euo pipefail
XF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$XF_ROOT"
XF_BENCH_RUNS=${XF_BENCH_RUNS:-3}
export XF_BENCH_RUNS

# bench_commit prints the short commit, with -dirty if the work tree has
# changes (tracked or not).
bench_commit() {
	local c
	c=$(git -C "$XF_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	if [[ -n $(git -C "$XF_ROOT" status --porcelain 2>/dev/null) ]]; then
		c+="-dirty"
	fi
	echo "$c"
}

# bench_header [--no-runs] prints what a figure needs to be read later:
# commit, date, machine, the load average at the start and (unless
# --no-runs, for a benchmark that does not repeat its runs) the runs per
# measurement.
bench_header() {
	local model runs="; runs per measurement: $XF_BENCH_RUNS"
	if [[ ${1:-} == --no-runs ]]; then
		runs=""
	fi
	model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null)
	echo "commit: $(bench_commit); date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "machine: $(nproc) cores (${model:-unknown CPU}), $(awk '/^MemTotal/ {printf "%.1f GB RAM", $2/1048576}' /proc/meminfo), $(go version | awk '{print $3, $4}')"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)$runs"
}

# bench_summary_row FIGURE MEDIAN GOAL RESULT: appends a one-run figure that
# a script measured itself to XF_BENCH_SUMMARY (if set), in the table form of
# scripts/benchfig.
bench_summary_row() {
	if [[ -n ${XF_BENCH_SUMMARY:-} ]]; then
		printf '| %s (1 run) | %s | %s – %s | — | — | %s | %s |\n' "$1" "$2" "$2" "$2" "$3" "$4" >>"$XF_BENCH_SUMMARY"
	fi
}

# bench_show_logs DIR NAME...: after a failure, the last lines of each
# DIR/NAME.log that is not empty, on stderr.
bench_show_logs() {
	local dir=$1 f
	shift
	for f in "$@"; do
		if [[ -s $dir/$f.log ]]; then
			echo "--- last lines of the $f log:" >&2
			tail -n 20 "$dir/$f.log" >&2
		fi
	done
}

# bench_psql runs psql against the maintenance database test.
bench_psql() {
	env PGOPTIONS=--client-min-messages=warning psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d test "$@"
}

# bench_db_url DB prints the URL of the scratch database DB.
bench_db_url() {
	echo "postgres://postgres@127.0.0.1:5432/$1?sslmode=disable"
}

# bench_db_fresh DB...: drops each scratch database if it is there and
# creates it empty.
bench_db_fresh() {
	local db
	for db in "$@"; do
		bench_psql -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
		bench_psql -c "CREATE DATABASE $db"
	done
}

# bench_db_drop DB...: drops each scratch database, quietly.
bench_db_drop() {
	local db
	for db in "$@"; do
		bench_psql -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
	done
}

# bench_redis_clean PREFIX NAMESPACE: deletes what an app with the Redis key
# prefix PREFIX and the asynq namespace NAMESPACE left in Redis database 0:
# its keys, its queues' keys and their names in asynq:queues.
bench_redis_clean() {
	local redis=(redis-cli -h 127.0.0.1 -p 6379 -n 0) prefix=$1 ns=$2
	"${redis[@]}" --scan --pattern "$prefix*" | xargs -r -n 500 "${redis[@]}" del >/dev/null
	"${redis[@]}" --scan --pattern "asynq:{$ns:*" | xargs -r -n 500 "${redis[@]}" del >/dev/null
	"${redis[@]}" smembers asynq:queues | grep "^$ns:" | xargs -r "${redis[@]}" srem asynq:queues >/dev/null || true
}

# bench_stop PID: stops the process PID (if any, and alive) and waits for it.
bench_stop() {
	if [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; then
		kill -TERM "$1"
		wait "$1" 2>/dev/null || true
	fi
}

# bench_scratch PREFIX NAMESPACE DB...: makes the directory $tmp and
# installs the EXIT trap of a benchmark that runs the app with the Redis
# key prefix PREFIX and the asynq namespace NAMESPACE on the scratch
# databases DB... The trap runs BENCH_ON_EXIT (a command the script may
# set), stops the server ($server_pid) and the baseline, deletes the app's
# Redis keys, drops the databases and, after a failure, shows the last lines
# of the server's and the baseline's logs in $tmp; then it removes $tmp and
# exits with the script's status.
bench_scratch() {
	BENCH_PREFIX=$1
	BENCH_NS=$2
	shift 2
	BENCH_DBS=("$@")
	tmp=$(mktemp -d)
	server_pid=""
	trap bench_cleanup EXIT
}

bench_cleanup() {
	local rc=$?
	set +e
	if [[ -n ${BENCH_ON_EXIT:-} ]]; then
		"$BENCH_ON_EXIT"
	fi
	bench_stop "$server_pid"
	baseline_stop
	bench_redis_clean "$BENCH_PREFIX" "$BENCH_NS"
	bench_db_drop "${BENCH_DBS[@]}"
	if [[ $rc -ne 0 ]]; then
		bench_show_logs "$tmp" server baseline
	fi
	rm -rf "$tmp"
	exit "$rc"
}

# bench_build PKG...: builds each Go package PKG of the repository (server,
# server/cmd/NAME, scripts/NAME) into $tmp/NAME, NAME being its last element.
bench_build() {
	local pkg names
	names=$(printf ' and %s' "$@")
	echo "building ${names# and }..."
	for pkg in "$@"; do
		go build -o "$tmp/${pkg##*/}" "./$pkg"
	done
}

# bench_command NAME DB [ARG...]: runs the benchmark command server/cmd/NAME,
# which builds the app itself on the scratch database DB with the Redis key
# prefix NAME: and the asynq namespace NAME, and cleans up after it (see
# bench_scratch): builds it, (re)creates DB, prints the header and runs it
# on DB and the local Redis with ARG..., its temporary files in $tmp.
bench_command() {
	local name=$1 db=$2
	shift 2
	bench_scratch "$name:" "$name" "$db"
	bench_build "server/cmd/$name"
	bench_db_fresh "$db"
	bench_header --no-runs
	TMPDIR="$tmp" "$tmp/$name" -db "$(bench_db_url "$db")" -redis redis://127.0.0.1:6379/0 "$@"
}

# bench_server_start DB ADDR ADMIN: builds nothing; starts $tmp/server (in
# $tmp) on the scratch database DB with the Redis key prefix and asynq
# namespace given to bench_scratch, listening on ADDR and its admin listener
# on ADMIN, its log in $tmp/server.log; sets server_pid and waits until it is
# ready.
bench_server_start() {
	local db=$1 addr=$2 admin=$3
	(
		cd "$tmp"
		exec env APP_ENV=development APP_WECHAT_MOCK=true \
			APP_DATABASE_URL="$(bench_db_url "$db")" \
			APP_REDIS_URL=redis://127.0.0.1:6379/0 APP_REDIS_KEY_PREFIX="$BENCH_PREFIX" \
			APP_QUEUE_NAMESPACE="$BENCH_NS" APP_HTTP_ADDR="$addr" APP_LOG_LEVEL=warn \
			APP_ADMIN_ADDR="$admin" \
			./server
	) >"$tmp/server.log" 2>&1 &
	server_pid=$!
	wait_ready "$server_pid" "http://$addr/readyz" server
}

# bench_server_warnings prints how many warnings and errors the server
# logged to $tmp/server.log, but the two expected start-up warnings, and the
# first three.
bench_server_warnings() {
	grep -iE '"level":"(ERROR|WARN)"' "$tmp/server.log" | grep -v 'WeChat MOCK is on\|APP_BADGE_KEY is not set' >"$tmp/server.warn" || true
	if [[ -s $tmp/server.warn ]]; then
		echo "server log: $(wc -l <"$tmp/server.warn") warning/error lines, e.g.:"
		head -n 3 "$tmp/server.warn" | cut -c1-400
	fi
}

# --------------------------------------------------------------- baseline

BASELINE_PID=""
BASELINE_DB=""
BASELINE_REDIS_DB=""

# baseline_dir prints the baseline's directory: XF_BASELINE_DIR, else
# ../shared/baseline beside the repository (or beside the main work tree,
# when this is a linked git worktree elsewhere).
baseline_dir() {
	local common
	if [[ -n ${XF_BASELINE_DIR:-} ]]; then
		echo "$XF_BASELINE_DIR"
		return
	fi
	if [[ ! -f $XF_ROOT/../shared/baseline/main.go ]]; then
		common=$(git -C "$XF_ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
		if [[ -n $common && -f $common/../../shared/baseline/main.go ]]; then
			(cd "$common/../../shared/baseline" && pwd)
			return
		fi
	fi
	echo "$XF_ROOT/../shared/baseline"
}

# baseline_build DEST: builds the baseline into DEST, or copies
# XF_BASELINE_BIN there.
baseline_build() {
	local dest=$1 dir
	if [[ -n ${XF_BASELINE_BIN:-} ]]; then
		cp "$XF_BASELINE_BIN" "$dest"
		return
	fi
	dir=$(baseline_dir)
	if [[ ! -f $dir/main.go ]]; then
		echo "baseline not found in $dir: set XF_BASELINE_DIR to the bare-stack server's directory" >&2
		return 1
	fi
	echo "building the baseline from $dir..."
	(cd "$dir" && go build -o "$dest" .)
}

# baseline_redis_ok DB: refuses Redis database 0 (the tests' and the app's)
# and a database holding keys that are not the baseline's (sess:*, ci:*),
# since the baseline empties its database at start.
baseline_redis_ok() {
	local db=$1 n key
	if [[ ! $db =~ ^[0-9]+$ || $db -eq 0 ]]; then
		echo "baseline: Redis database '$db' refused: give it one of its own, never 0" >&2
		return 1
	fi
	n=$(redis-cli -h 127.0.0.1 -p 6379 -n "$db" dbsize)
	if [[ $n -gt 0 ]]; then
		for _ in $(seq 1 20); do
			key=$(redis-cli -h 127.0.0.1 -p 6379 -n "$db" randomkey)
			if [[ -n $key && ! $key =~ ^(sess|ci): ]]; then
				echo "baseline: Redis database $db holds $n keys, e.g. '$key', that are not the baseline's; set another database" >&2
				return 1
			fi
		done
	fi
}

# baseline_start BIN PGDB ADDR REDISDB SEED LOG: creates the database PGDB
# with the baseline's table, starts BIN on ADDR with Redis database REDISDB
# and SEED sessions, and waits until it answers.
baseline_start() {
	local bin=$1 pgdb=$2 addr=$3 rdb=$4 seed=$5 log=$6
	baseline_redis_ok "$rdb" || return 1
	BASELINE_DB=$pgdb
	BASELINE_REDIS_DB=$rdb
	bench_db_fresh "$pgdb"
	env PGOPTIONS=--client-min-messages=warning psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d "$pgdb" -c \
		"CREATE TABLE checkins(id bigserial PRIMARY KEY, user_id bigint, day date, at timestamptz,
		 lat double precision, lng double precision, UNIQUE (user_id, day))"
	env PG_DSN="$(bench_db_url "$pgdb")" REDIS_ADDR=127.0.0.1:6379 \
		REDIS_DB="$rdb" PGX_MAX_CONNS=16 GORM_MAX_CONNS=1 LISTEN="$addr" SEED_SESSIONS="$seed" \
		"$bin" >"$log" 2>&1 &
	BASELINE_PID=$!
	for _ in $(seq 1 600); do
		if ! kill -0 "$BASELINE_PID" 2>/dev/null; then
			echo "baseline exited during start-up:" >&2
			tail -n 5 "$log" >&2
			return 1
		fi
		if grep -q listening "$log" && curl -sf "http://$addr/hello" >/dev/null 2>&1; then
			echo "baseline ready on $addr (pid $BASELINE_PID, PostgreSQL database $pgdb, Redis database $rdb, $seed sessions)"
			return 0
		fi
		sleep 0.25
	done
	echo "baseline not ready on $addr after 150s" >&2
	return 1
}

# baseline_stop stops the baseline and drops its database and Redis keys.
# Safe to call twice and from an EXIT trap.
baseline_stop() {
	bench_stop "$BASELINE_PID"
	BASELINE_PID=""
	if [[ -n $BASELINE_DB ]]; then
		bench_db_drop "$BASELINE_DB"
	fi
	BASELINE_DB=""
	if [[ -n $BASELINE_REDIS_DB && $BASELINE_REDIS_DB != 0 ]]; then
		redis-cli -h 127.0.0.1 -p 6379 -n "$BASELINE_REDIS_DB" flushdb >/dev/null
	fi
	BASELINE_REDIS_DB=""
}

# wait_ready PID URL NAME: waits up to 30 s for URL to answer while PID lives.
wait_ready() {
	local pid=$1 url=$2 name=$3
	for _ in $(seq 1 120); do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "$name exited during start-up" >&2
			return 1
		fi
		if curl -sf "$url" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.25
	done
	echo "$name not ready at $url after 30s" >&2
	return 1
}
