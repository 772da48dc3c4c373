#!/usr/bin/env bash
# scripts/redis-topologies.sh — start (or stop) a local Redis Cluster and a
# Redis Sentinel setup from the installed redis-server, no Docker, for the
# test suites that must prove every script, queue and counter works there.
#
# Usage: scripts/redis-topologies.sh start|stop|env
#
#   start  a three-master Redis Cluster on 127.0.0.1:7001-7003 and a Sentinel
#          setup: master 127.0.0.1:7101, replica 127.0.0.1:7102, one sentinel
#          on 127.0.0.1:26379 watching the master as "xfmaster" (quorum 1).
#          A working setup already answering on those ports is kept (a
#          cluster that is not whole is emptied and made again); data
#          lives in XF_REDIS_TOPO_DIR (default /tmp/xf-redis-topologies),
#          nothing is saved to disk.
#   stop   shuts them all down and removes the directory.
#   env    prints the test settings of each: TEST_REDIS_ADDRS for the
#          Cluster, TEST_REDIS_ADDRS and TEST_REDIS_MASTER for Sentinel.
set -euo pipefail

DIR=${XF_REDIS_TOPO_DIR:-/tmp/xf-redis-topologies}
CLUSTER_PORTS=(7001 7002 7003)
MASTER_PORT=7101
REPLICA_PORT=7102
SENTINEL_PORT=26379
MASTER_NAME=xfmaster

answers() { redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null | grep -q PONG; }

# wait_until DESCRIPTION COMMAND...: up to 30 s.
wait_until() {
	local what=$1
	shift
	for _ in $(seq 1 60); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.5
	done
	echo "redis-topologies: $what within 30 s: no" >&2
	return 1
}

# node PORT [ARGS...]: a redis-server on PORT unless one answers there.
node() {
	local port=$1
	shift
	if answers "$port"; then
		return 0
	fi
	mkdir -p "$DIR/$port"
	redis-server --port "$port" --bind 127.0.0.1 --dir "$DIR/$port" --save '' --appendonly no \
		--daemonize yes --logfile "$DIR/$port/redis.log" "$@" </dev/null >/dev/null
	wait_until "redis-server on $port answers" answers "$port"
}

cluster_ok() { redis-cli -h 127.0.0.1 -p "${CLUSTER_PORTS[0]}" cluster info | grep -q 'cluster_state:ok'; }

start() {
	for p in "${CLUSTER_PORTS[@]}"; do
		node "$p" --cluster-enabled yes --cluster-config-file "$DIR/$p/nodes.conf" --cluster-node-timeout 5000
	done
	if ! cluster_ok; then
		# Nodes left by an earlier run (a slot moved by the fault test, a node
		# that died, keys from a suite) refuse "cluster create": these ports
		# are ours, so empty them and forget what they knew first.
		for p in "${CLUSTER_PORTS[@]}"; do
			redis-cli -h 127.0.0.1 -p "$p" flushall >/dev/null 2>&1 || true
			redis-cli -h 127.0.0.1 -p "$p" cluster reset hard >/dev/null
		done
		local addrs=()
		for p in "${CLUSTER_PORTS[@]}"; do addrs+=("127.0.0.1:$p"); done
		redis-cli --cluster create "${addrs[@]}" --cluster-yes </dev/null >"$DIR/cluster-create.log" 2>&1 || {
			cat "$DIR/cluster-create.log" >&2
			return 1
		}
	fi
	wait_until "the cluster covers every slot" cluster_ok

	node "$MASTER_PORT"
	node "$REPLICA_PORT" --replicaof 127.0.0.1 "$MASTER_PORT"
	if ! answers "$SENTINEL_PORT"; then
		mkdir -p "$DIR/sentinel"
		# Sentinel rewrites its configuration file as it learns the setup.
		cat >"$DIR/sentinel/sentinel.conf" <<EOF
port $SENTINEL_PORT
bind 127.0.0.1
dir $DIR/sentinel
sentinel monitor $MASTER_NAME 127.0.0.1 $MASTER_PORT 1
sentinel down-after-milliseconds $MASTER_NAME 3000
sentinel failover-timeout $MASTER_NAME 10000
EOF
		redis-server "$DIR/sentinel/sentinel.conf" --sentinel --daemonize yes \
			--logfile "$DIR/sentinel/sentinel.log" </dev/null >/dev/null
		wait_until "the sentinel answers" answers "$SENTINEL_PORT"
	fi
	wait_until "the sentinel names the master" bash -c \
		"redis-cli -h 127.0.0.1 -p $SENTINEL_PORT sentinel get-master-addr-by-name $MASTER_NAME | grep -q 127.0.0.1"
	echo "Redis Cluster on 127.0.0.1:${CLUSTER_PORTS[*]}; Sentinel on 127.0.0.1:$SENTINEL_PORT (master $MASTER_NAME)"
}

stop() {
	for p in "${CLUSTER_PORTS[@]}" "$MASTER_PORT" "$REPLICA_PORT" "$SENTINEL_PORT"; do
		redis-cli -h 127.0.0.1 -p "$p" shutdown nosave >/dev/null 2>&1 || true
	done
	rm -rf "$DIR"
}

case ${1:-} in
start) mkdir -p "$DIR" && start ;;
stop) stop ;;
env)
	echo "cluster: TEST_REDIS_ADDRS=127.0.0.1:${CLUSTER_PORTS[0]},127.0.0.1:${CLUSTER_PORTS[1]},127.0.0.1:${CLUSTER_PORTS[2]}"
	echo "sentinel: TEST_REDIS_ADDRS=127.0.0.1:$SENTINEL_PORT TEST_REDIS_MASTER=$MASTER_NAME"
	;;
*)
	echo "usage: scripts/redis-topologies.sh start|stop|env" >&2
	exit 2
	;;
esac
