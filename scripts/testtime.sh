#!/usr/bin/env bash
# scripts/testtime.sh — how long the README's test command takes, with a
# yardstick of this machine's speed measured in the same run.
#
# Usage: scripts/testtime.sh            # 3 runs (XF_BENCH_RUNS)
#
# The goal (the code-structure issue): `go test -count=1 ./...` under 40 s
# with a warm build cache on a 2-core machine of this kind, and no test in
# it waiting on the wall clock for more than a second. A machine of this
# kind is not equally fast every day (the same commit took 36 s one day and
# 73 s another), so beside each run it times `go test -count=1 -run '^$'
# ./...`, which builds and links every test binary and runs none: the
# machine's speed at compiling and linking, which is most of the suite.
#
# It warms the build cache first (go build, go vet, one run of each), then
# XF_BENCH_RUNS times runs the yardstick and the suite, and prints the
# medians, the spreads, their ratio and "goal met"/"goal missed". Last it
# lists, from one more run with -json, every test that took 0.5 s or more
# (a test over 1 s is printed as a missed goal). Needs only Go; exits
# non-zero if a test fails.
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

bench_header
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# seconds CMD...: runs CMD quietly and prints its wall time in seconds.
seconds() {
	local start end
	start=$(date +%s.%N)
	if ! "$@" >"$tmp/out" 2>&1; then
		cat "$tmp/out" >&2
		echo "failed: $*" >&2
		exit 1
	fi
	end=$(date +%s.%N)
	awk -v s="$start" -v e="$end" 'BEGIN {printf "%.1f\n", e - s}'
}

# median_spread FILE: "median (min–max)" of the numbers in FILE.
median_spread() {
	sort -n "$1" | awk '{v[NR] = $1} END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.1f s (%.1f–%.1f s)\n", m, v[1], v[NR]
	}'
}

echo "warming the build cache..."
go build ./... && go vet ./...
seconds go test -count=1 -run '^$' ./... >/dev/null
seconds go test -count=1 ./... >/dev/null

for i in $(seq "$XF_BENCH_RUNS"); do
	y=$(seconds go test -count=1 -run '^$' ./...)
	s=$(seconds go test -count=1 ./...)
	echo "run $i: go test -count=1 ./... ${s} s; build and link only (-run '^\$') ${y} s"
	echo "$y" >>"$tmp/yard"
	echo "$s" >>"$tmp/suite"
done

suite=$(median_spread "$tmp/suite")
yard=$(median_spread "$tmp/yard")
ms=$(sort -n "$tmp/suite" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
my=$(sort -n "$tmp/yard" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
verdict=$(awk -v s="$ms" 'BEGIN {print (s < 40) ? "goal met" : "goal missed"}')
echo
echo "| figure | median (spread) | goal | result |"
echo "| --- | --- | --- | --- |"
echo "| go test -count=1 ./... | $suite | < 40 s | $verdict |"
echo "| build and link only, the yardstick | $yard | — | — |"
echo "| suite / yardstick | $(awk -v s="$ms" -v y="$my" 'BEGIN {printf "%.2f", s / y}') | — | — |"

echo
echo "tests that took 0.5 s or more (one more run, -json):"
go test -count=1 -json ./... >"$tmp/json" || true
if grep -q '"Action":"fail"' "$tmp/json"; then
	grep '"Action":"fail"' "$tmp/json" >&2
	echo "a test failed" >&2
	exit 1
fi
go run ./scripts/testtime "$tmp/json"
