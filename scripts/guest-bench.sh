#!/bin/bash
# Run inside the kvm-idle guest (scripts/bench.sh boots it with scripts/boot.sh):
# run the benchmark program once per configuration and keep each run's
# output in $KVM_IDLE_OUT/NAME.log, the guest's settings in env.txt and each
# run's exit status and wall time in status.txt.
USAGE="usage: scripts/boot.sh scripts/guest-bench.sh PROGRAM CONFIGS

CONFIGS has one run per line: NAME ARGS...  ('#' starts a comment).  A NAME
ending in @perf runs under perf record, which samples only while the
program's timed passes run (NAME.self, NAME.incl: the reports)."
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"
[ $# -eq 2 ] || die "$USAGE"
PROG=$1
CONFIGS=$2
if [ "$(cat /proc/sys/kernel/hostname)" != kvm-idle-guest ] || [ -z "${KVM_IDLE_OUT:-}" ]; then
	die "run me in the guest: $USAGE"
fi
[ -x "$PROG" ] || die "no program $PROG; scripts/bench.sh builds it"
[ -r "$CONFIGS" ] || die "no configurations file $CONFIGS"
OUT=$KVM_IDLE_OUT

param() { cat "/sys/module/$1/parameters/$2" 2>/dev/null || echo "-"; }
{
	echo "kernel: $(uname -r)"
	echo "cpus: $(nproc)"
	echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "kvm.tdp_mmu: $(param kvm tdp_mmu)"
	echo "kvm.nx_huge_pages: $(param kvm nx_huge_pages)"
	echo "kvm_amd.npt: $(param kvm_amd npt)"
	echo "kvm_intel.ept: $(param kvm_intel ept)"
	echo "thp: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"
	echo "thp defrag: $(cat /sys/kernel/mm/transparent_hugepage/defrag 2>/dev/null)"
	echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
	echo "cpu: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2-)"
} >"$OUT/env.txt"
cat "$OUT/env.txt"

: >"$OUT/status.txt"
while read -r name args; do
	case "$name" in '' | '#'*) continue ;; esac
	echo "guest-bench: $name: $PROG $args"
	start=$(date +%s)
	case "$name" in
	*@perf)
		# perf samples only while the program's timed passes run.
		rm -f /tmp/perf.ctl /tmp/perf.ack
		mkfifo /tmp/perf.ctl /tmp/perf.ack
		# shellcheck disable=SC2086 # the arguments are words
		IDLE_PERF_CTL=/tmp/perf.ctl IDLE_PERF_ACK=/tmp/perf.ack \
			perf record -q -e cpu-clock -a -g -D -1 --control=fifo:/tmp/perf.ctl,/tmp/perf.ack \
			-o /tmp/perf.data -- "$PROG" $args >"$OUT/$name.log" 2>&1
		rc=$?
		perf report -i /tmp/perf.data --stdio --no-children --sort sym -g none \
			--percent-limit 0.3 >"$OUT/$name.self" 2>/dev/null
		perf report -i /tmp/perf.data --stdio --children --sort sym -g none \
			--percent-limit 1 >"$OUT/$name.incl" 2>/dev/null
		rm -f /tmp/perf.data
		;;
	*)
		# shellcheck disable=SC2086 # the arguments are words
		"$PROG" $args >"$OUT/$name.log" 2>&1
		rc=$?
		;;
	esac
	echo "$name $rc $(($(date +%s) - start))" | tee -a "$OUT/status.txt"
	# Each run's result rows, for the console.
	grep -a '^@' "$OUT/$name.log"
done <"$CONFIGS"
