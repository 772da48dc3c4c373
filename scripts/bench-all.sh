#!/usr/bin/env bash
# scripts/bench-all.sh — run every benchmark of the performance goals in one
# go and end with one summary table to paste into the README.
#
# Usage: scripts/bench-all.sh [--quick] [--with-form-scale]
#
# Runs, one after the other: scripts/bench.sh (login, GET /me, GET /me with
# sessions idle > 1 min, beside the baseline's GET /r1), scripts/bench-checkin.sh
# (new check-ins and half repeats beside the baseline's check-in, server
# RSS, fan-out to 10,000 members beside the bare write of its rows),
# scripts/bench-push.sh (10,000 pushes with WeChat answering at once and
# after 100 ms) and scripts/bench-form.sh (form entries beside the baseline's
# check-in; with --with-form-scale also the summary and export of one day of
# a daily form for 500,000 members with 30 days of entries, which bulk-loads
# 15 million entries and alone takes 10-13 minutes, so it is left to
# scripts/bench-form.sh unless asked for). Each seeds its data set once and runs
# every measurement XF_BENCH_RUNS times (default 3). The baseline (bare-stack server, see
# scripts/bench-lib.sh; its source is found in XF_BASELINE_DIR) is built once.
# Under 20 minutes on the 2-core machine with the defaults (see the README for
# the last run's total time).
#
# Extra flags for each benchmark come from XF_BENCH_ARGS (bench.sh),
# XF_BENCH_CHECKIN_ARGS, XF_BENCH_PUSH_ARGS and XF_BENCH_FORM_ARGS (split on
# spaces); the form's sizes from the XF_BENCH_FORM_* variables of
# scripts/bench-form.sh.
# --quick is a smoke run of a minute or two whose figures mean nothing: 2 runs
# of 2 s, small data sets (a form of 20,000 members), idle sessions aged 5 s
# instead of 61 s.
#
# It prints everything the benchmarks print, then the commit, date, machine,
# load average at start and end, total time, and the table (figure, median,
# spread, baseline median, ratio, goal, result). Every benchmark cleans up
# after itself. Exits non-zero if a benchmark failed (an error or a failed
# verification, not a missed goal); the table then lacks its rows.
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

if [[ ${1:-} == --quick ]]; then
	export XF_BENCH_RUNS=${XF_BENCH_RUNS_QUICK:-2}
	export XF_BENCH_MEMBERS=40000 XF_BENCH_BASELINE_USERS=80000
	XF_BENCH_ARGS="-d 2s -warmup 1s -idle-sessions 3000 -idle-age 5s"
	XF_BENCH_CHECKIN_ARGS="-d 2s -warmup 1s"
	XF_BENCH_PUSH_ARGS="-n 1000"
	XF_BENCH_FORM_ARGS="-d 2s -warmup 1s"
	export XF_BENCH_FORM_LOAD_MEMBERS=40000 XF_BENCH_FORM_MEMBERS=20000
	shift
fi
export XF_BENCH_FORM_SCALE=${XF_BENCH_FORM_SCALE:-0}
if [[ ${1:-} == --with-form-scale ]]; then
	XF_BENCH_FORM_SCALE=1
	shift
fi
if [[ $# -gt 0 ]]; then
	echo "usage: scripts/bench-all.sh [--quick] [--with-form-scale]" >&2
	exit 2
fi

tmp=$(mktemp -d)
cleanup() {
	local rc=$?
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT

start=$SECONDS
header=$(bench_header)
echo "$header"
export XF_BENCH_SUMMARY=$tmp/summary.md
: >"$XF_BENCH_SUMMARY"
if [[ -z ${XF_BASELINE_BIN:-} ]]; then
	baseline_build "$tmp/xfbase"
	export XF_BASELINE_BIN=$tmp/xfbase
fi

failed=()
step() {
	local name=$1 t0=$SECONDS
	shift
	echo
	echo "######## $name"
	if "$@"; then
		echo "######## $name: done in $((SECONDS - t0)) s"
	else
		echo "######## $name: FAILED after $((SECONDS - t0)) s" >&2
		failed+=("$name")
	fi
}

read -ra bench_args <<<"${XF_BENCH_ARGS:-}"
read -ra checkin_args <<<"${XF_BENCH_CHECKIN_ARGS:-}"
read -ra push_args <<<"${XF_BENCH_PUSH_ARGS:-}"
read -ra form_args <<<"${XF_BENCH_FORM_ARGS:-}"
step scripts/bench.sh scripts/bench.sh "${bench_args[@]}"
step scripts/bench-checkin.sh scripts/bench-checkin.sh "${checkin_args[@]}"
step scripts/bench-push.sh scripts/bench-push.sh "${push_args[@]}"
step scripts/bench-form.sh scripts/bench-form.sh "${form_args[@]}"

echo
echo "======== summary: scripts/bench-all.sh${XF_BENCH_ARGS:+ (XF_BENCH_ARGS=$XF_BENCH_ARGS)}${XF_BENCH_CHECKIN_ARGS:+ (XF_BENCH_CHECKIN_ARGS=$XF_BENCH_CHECKIN_ARGS)}${XF_BENCH_PUSH_ARGS:+ (XF_BENCH_PUSH_ARGS=$XF_BENCH_PUSH_ARGS)}${XF_BENCH_FORM_ARGS:+ (XF_BENCH_FORM_ARGS=$XF_BENCH_FORM_ARGS)}"
echo "$header"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg); total time $(((SECONDS - start) / 60)) min $(((SECONDS - start) % 60)) s"
echo "Medians of the runs; spread is min–max; baseline: the bare-stack server measured in the same run with the same load generator and clients; ratio = median / baseline median."
echo
printf '| figure | median | spread (min–max) | baseline median | ratio | goal | result |\n| --- | --: | --: | --: | --: | --- | --- |\n'
cat "$XF_BENCH_SUMMARY"
if [[ ${#failed[@]} -gt 0 ]]; then
	echo
	echo "FAILED: ${failed[*]} (their figures are missing above)" >&2
	exit 1
fi
