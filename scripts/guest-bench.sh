#!/bin/bash
# Run inside the kvm-idle guest (scripts/bench.sh boots it with scripts/boot.sh):
# run the benchmark program once per configuration and keep each run's
# output in $KVM_IDLE_OUT/NAME.log, the guest's settings in env.txt, the
# booted kernel's configuration in config.txt and each run's exit status and
# wall time in status.txt.  Each run has a time limit (lib.sh's bench_limit):
# one that overruns it is killed with status 124 after the watchdog wrote
# where it was to NAME.log, and the next runs still run.
USAGE="usage: scripts/boot.sh scripts/guest-bench.sh PROGRAM CONFIGS

CONFIGS has one run per line: NAME ARGS...  ('#' starts a comment).  A NAME
ending in @perf runs under perf record, which samples only while the
program's timed passes run (NAME.self, NAME.incl: the reports).

Before any run it writes the booted kernel's configuration (/proc/config.gz)
to config.txt and refuses, with its reasons in refused.txt, a kernel that
has a debug option (\$KVM_IDLE_DEBUG_OPTIONS in scripts/lib.sh) or no
/proc/config.gz, or a guest with fewer than 2 CPUs: such timings are not
those of the kernel users run (build it with scripts/build-bench-kernel.sh).

  KVM_IDLE_BENCH_ALLOW_DEBUG=1  run on such a kernel anyway (2 CPUs are still
                                needed); the reasons go to debug.txt, and
                                scripts/bench.sh's report says so at the top"
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"
[ $# -eq 2 ] || die "$USAGE"
BIN=$1
CONFIGS=$2
if [ "$(cat /proc/sys/kernel/hostname)" != kvm-idle-guest ] || [ -z "${KVM_IDLE_OUT:-}" ]; then
	die "run me in the guest: $USAGE"
fi
[ -x "$BIN" ] || die "no program $BIN; scripts/bench.sh builds it"
[ -r "$CONFIGS" ] || die "no configurations file $CONFIGS"
OUT=$KVM_IDLE_OUT

param() { cat "/sys/module/$1/parameters/$2" 2>/dev/null || echo "-"; }
{
	echo "kernel: $(uname -r) $(uname -v)"
	echo "cpus: $(nproc)"
	echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "kvm.tdp_mmu: $(param kvm tdp_mmu)"
	echo "kvm.nx_huge_pages: $(param kvm nx_huge_pages)"
	echo "kvm_amd.npt: $(param kvm_amd npt)"
	echo "kvm_intel.ept: $(param kvm_intel ept)"
	echo "thp: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"
	echo "thp defrag: $(cat /sys/kernel/mm/transparent_hugepage/defrag 2>/dev/null)"
	echo "clocksource: $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
	# The preemption model in use, with PREEMPT_DYNAMIC (the kernel says it
	# at boot; SCHED_DEBUG's debugfs file says it too).
	echo "preemption: $(dmesg 2>/dev/null | sed -n 's/.*Dynamic Preempt: //p' | tail -n 1 | grep . ||
		cat /sys/kernel/debug/sched/preempt 2>/dev/null || echo -)"
	echo "hugetlb 1G pages: $(cat /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages 2>/dev/null || echo -)"
	echo "cpu: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2-)"
} >"$OUT/env.txt"
cat "$OUT/env.txt"

# The kernel and guest the numbers will be those of, checked before any run.
bench_guest_check "$OUT"

: >"$OUT/status.txt"
while read -r name args; do
	case "$name" in '' | '#'*) continue ;; esac
	echo "guest-bench: $name: $BIN $args"
	start=$(date +%s)
	limit=$(bench_limit "$name")
	: >"$OUT/$name.log"
	case "$name" in
	*@perf)
		# perf samples only while the program's timed passes run.
		rm -f /tmp/perf.ctl /tmp/perf.ack
		mkfifo /tmp/perf.ctl /tmp/perf.ack
		# shellcheck disable=SC2086 # the arguments are words
		IDLE_PERF_CTL=/tmp/perf.ctl IDLE_PERF_ACK=/tmp/perf.ack run_limited "$limit" "$OUT/$name.log" \
			perf record -q -e cpu-clock -a -g -D -1 --control=fifo:/tmp/perf.ctl,/tmp/perf.ack \
			-o /tmp/perf.data -- "$BIN" $args >/dev/null
		rc=$?
		perf report -i /tmp/perf.data --stdio --no-children --sort sym -g none \
			--percent-limit 0.3 >"$OUT/$name.self" 2>/dev/null
		perf report -i /tmp/perf.data --stdio --children --sort sym -g none \
			--percent-limit 1 >"$OUT/$name.incl" 2>/dev/null
		rm -f /tmp/perf.data
		;;
	*)
		# shellcheck disable=SC2086 # the arguments are words
		run_limited "$limit" "$OUT/$name.log" "$BIN" $args >/dev/null
		rc=$?
		;;
	esac
	# A run that overran its limit: where it was, for the console too.
	[ $rc -ne 124 ] || sed -n '/^# watchdog:/,$p' "$OUT/$name.log"
	echo "$name $rc $(($(date +%s) - start))" | tee -a "$OUT/status.txt"
	# Each run's result rows, for the console.
	grep -a '^@' "$OUT/$name.log" || true
done <"$CONFIGS"
# Each run's own exit status is in status.txt.
exit 0
