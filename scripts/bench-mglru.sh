#!/bin/bash
# The MGLRU benchmark: aging passes over a VM's memory with lru_gen bit
# 0x0008 off (one clear_young() per page) and on (one young_range() per leaf
# page table), on the benchmark kernel, for 4K and THP guests.
USAGE="usage: scripts/bench-mglru.sh [RESULTS.md]
       scripts/bench-mglru.sh --section [RESULTS-mglru.md]

Builds the benchmark kernel with scripts/build-bench-kernel.sh (unless
KVM_IDLE_KERNEL names another kernel) and the kselftest
lru_gen_young_range_test in that kernel's tree, boots the kernel once with
scripts/boot.sh (2 CPUs, 8G) and runs the test's aging part
(LRU_GEN_AGING_ONLY=1) on each configuration below.  Each run puts the
test in a memory cgroup of its own with a guest that writes all of its
memory once and reads an eighth of it (the hot set) before each pass, and
measures, with the bit off and then on, KVM's per-page aging calls per
pass (the kvm_age_hva trace event), the CPU time of a pass (median of 3)
and how many pages the last pass found young.

Writes RESULTS.md (default: benchmarks/RESULTS-mglru.md) and each run's
output (benchmarks/raw/mglru-*.log).  Refuses a kernel with debug options
or one guest CPU, as scripts/bench.sh does, unless
KVM_IDLE_BENCH_ALLOW_DEBUG=1.  Then rewrites the MGLRU section at the end
of benchmarks/RESULTS.md (scripts/bench.sh writes the rest of that file,
and this section again from RESULTS-mglru.md).  Time on 2 cores under TCG,
the kernel built: about 3 minutes (158 s measured), plus the benchmark
kernel's build.
--section prints that section, from RESULTS-mglru.md (default:
benchmarks/RESULTS-mglru.md), or nothing when the file is missing."
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"

# The configurations: NAME MiB THP.
CONFIGS="4k-128m 128 0
4k-1g 1024 0
thp-128m 128 1
thp-1g 1024 1"

# The section of RESULTS.md: RESULTS-mglru.md less its title.
MGLRU_HEADING="## MGLRU aging of VM memory (patches 14-17, scripts/bench-mglru.sh)"
if [ "${1:-}" = --section ]; then
	[ $# -le 2 ] || die "$USAGE"
	f=${2:-$KVM_IDLE_TOP/benchmarks/RESULTS-mglru.md}
	[ -f "$f" ] || exit 0
	echo
	echo "$MGLRU_HEADING"
	echo
	echo "Measured in a boot of its own; the same text is in ${f##*/}."
	sed '1{/^# /d}' "$f"
	exit 0
fi

# In the guest: scripts/bench-mglru.sh --guest PROGRAM
if [ "${1:-}" = --guest ]; then
	[ $# -eq 2 ] || die "$USAGE"
	[ -n "${KVM_IDLE_OUT:-}" ] || die "--guest runs in the guest that scripts/bench-mglru.sh boots"
	bin=$2
	out=$KVM_IDLE_OUT
	echo "cpus: $(nproc)" >"$out/env.txt"
	echo "kernel: $(uname -r) $(uname -v)" >>"$out/env.txt"
	echo "kvm.tdp_mmu: $(cat /sys/module/kvm/parameters/tdp_mmu)" >>"$out/env.txt"
	bench_guest_check "$out"
	while read -r name mb thp; do
		start=$(date +%s)
		rc=0
		# A time limit of 300 s, about seven times the longest run (the
		# watchdog writes where it was to the log, status 124).
		: >"$out/$name.log"
		run_limited 300 "$out/$name.log" env -C "$(dirname "$bin")" LRU_GEN_AGING_ONLY=1 \
			LRU_GEN_MB="$mb" LRU_GEN_THP="$thp" "$bin" >/dev/null || rc=$?
		[ $rc -ne 124 ] || sed -n '/^# watchdog:/,$p' "$out/$name.log"
		echo "$name $rc $(($(date +%s) - start))" >>"$out/status.txt"
		echo "bench-mglru: $name: exit $rc"
	done <<<"$CONFIGS"
	exit 0
fi

[ $# -le 1 ] || die "$USAGE"
RESULTS=${1:-$KVM_IDLE_TOP/benchmarks/RESULTS-mglru.md}
RAW=$(dirname "$RESULTS")/raw
need_tree
need_cmd make gcc rsync awk qemu-system-x86_64

if [ -n "${KVM_IDLE_KERNEL:-}" ]; then
	[ -f "$KVM_IDLE_KERNEL" ] || die "no kernel image $KVM_IDLE_KERNEL (KVM_IDLE_KERNEL)"
	TREE=$KVM_IDLE_LINUX
else
	log=$KVM_IDLE_BUILD/logs/build-bench-kernel.log
	mkdir -p "$KVM_IDLE_BUILD/logs"
	info "building the benchmark kernel: scripts/build-bench-kernel.sh (log $log)"
	if ! "$KVM_IDLE_SCRIPTS/build-bench-kernel.sh" >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		die "the benchmark kernel did not build (above; whole log $log); fix it and rerun"
	fi
	KVM_IDLE_KERNEL=$(tail -n 1 "$log")
	TREE=$KVM_IDLE_BUILD/linux-bench
fi
export KVM_IDLE_KERNEL

# The program, built against the booted kernel's tree (its UAPI headers).
BIN=$KVM_IDLE_BUILD/bench/obj-${TREE##*/}/lru_gen_young_range_test
bench_program_build "$TREE" "$BIN"

run=bench-mglru-$(date +%Y%m%d-%H%M%S)
RUN=$KVM_IDLE_BUILD/runs/$run
start=$(date +%s)
rc=0
KVM_IDLE_MEM=${KVM_IDLE_MEM:-8G} KVM_IDLE_SMP=${KVM_IDLE_SMP:-2} KVM_IDLE_RUN_NAME=$run \
	KVM_IDLE_TIMEOUT=${KVM_IDLE_TIMEOUT:-2100} \
	"$KVM_IDLE_SCRIPTS/boot.sh" "$KVM_IDLE_SCRIPTS/bench-mglru.sh" --guest "$BIN" |
	tee "$KVM_IDLE_BUILD/logs/$run.out" || rc=$?
accel=$(sed -n "s/^boot.sh: run $run: \([a-z]*\),.*/\1/p" "$KVM_IDLE_BUILD/logs/$run.out" | head -n 1)
wall=$(($(date +%s) - start))
if [ -s "$RUN/refused.txt" ]; then
	cat "$RUN/refused.txt" >&2
	die "the guest refused to run the benchmark on $KVM_IDLE_KERNEL (above)"
fi
[ -s "$RUN/status.txt" ] || die "the guest ran no configuration (console: $KVM_IDLE_BUILD/logs/$run.log)"

mkdir -p "$RAW"
for f in "$RUN"/*.log; do
	cp "$f" "$RAW/mglru-${f##*/}"
done
{
	echo "# MGLRU aging of a VM's memory: per-page clear_young() against young_range()"
	echo
	echo "Made by \`scripts/bench-mglru.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') in $wall s;"
	echo "kernel \`${KVM_IDLE_KERNEL#"$KVM_IDLE_TOP"/}\`, booted under QEMU (${accel:-accelerator unknown}),"
	echo "$(grep -E '^(cpus|kernel|kvm.tdp_mmu):' "$RUN/env.txt" | tr '\n' ';' | sed 's/;$//; s/;/; /g')."
	if [ -s "$RUN/debug.txt" ]; then
		echo
		echo "**The booted kernel has debug options (KVM_IDLE_BENCH_ALLOW_DEBUG=1): $(tr '\n' ' ' <"$RUN/debug.txt")**"
	else
		echo "Its /proc/config.gz (raw/mglru-config.txt) has none of $KVM_IDLE_DEBUG_OPTIONS."
	fi
	echo
	echo "Each run: \`LRU_GEN_AGING_ONLY=1 LRU_GEN_MB=N LRU_GEN_THP=0|1"
	echo "lru_gen_young_range_test\` (tools/testing/selftests/kvm-idle) in a memory"
	echo "cgroup of its own; the guest writes all of its memory once and reads an"
	echo "eighth of it before each forced aging pass (\`+ memcg node seq 1 1\` to"
	echo "/sys/kernel/debug/lru_gen).  Calls: KVM's per-page aging notifier calls in a"
	echo "pass (kvm_age_hva events, the fewer of 2 passes); CPU: the median of 3"
	echo "passes, the writer's thread CPU time; young: pages the last pass moved to"
	echo "the young generation (the hot set is an eighth of the pages).  Bit off is"
	echo "0x0007 in /sys/kernel/mm/lru_gen/enabled, bit on 0x000f.  Timings under"
	echo "TCG are not native; compare the two columns of one row."
	echo
	echo "| Run | Exit | Calls per pass, off | on | CPU ms per pass, off | on | on/off | Young pages, off | on | Hot set pages |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	while read -r name code _; do
		f=$RUN/$name.log
		awk -v name="$name" -v code="$code" '
			/^# bench / { split($0, a, /calls | -> |, CPU | ns per pass/); c0 = a[2]; c1 = a[3]; t0 = a[4]; t1 = a[5] }
			/^# per-page .*young generation/ { y0 = $6; hot = $11; sub(/,/, "", hot) }
			/^# bulk .*young generation/ { y1 = $6 }
			END {
				if (t0 == "") { printf "| %s | %s | - | - | - | - | - | - | - | - |\n", name, code; exit }
				printf "| %s | %s | %s | %s | %.1f | %.1f | %.2f | %s | %s | %s |\n", name, code,
				       c0, c1, t0 / 1e6, t1 / 1e6, t1 / t0, y0, y1, hot
			}' "$f"
	done <"$RUN/status.txt"
	echo
	echo "With THP the walk still makes one clear_young() per PMD-mapped THP in both"
	echo "settings: walk_pmd_range_locked() is not changed by the series.  Calls with"
	echo "the bit off beyond one per guest page or THP are the test process's other"
	echo "4K pages (memslot 0, its heap): KVM's notifier is called for every PTE of"
	echo "the process it ages."
} >"$RESULTS"
[ ! -f "$RUN/config.txt" ] || cp "$RUN/config.txt" "$RAW/mglru-config.txt"
# RESULTS.md: its MGLRU section, from the heading to the end, again.
MAIN=$(dirname "$RESULTS")/RESULTS.md
if [ "$MAIN" != "$RESULTS" ] && [ -f "$MAIN" ]; then
	awk -v h="$MGLRU_HEADING" '$0 == h { exit } { print }' "$MAIN" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' >"$MAIN.new"
	"$0" --section "$RESULTS" >>"$MAIN.new"
	mv "$MAIN.new" "$MAIN"
fi
info "wrote $RESULTS, its section of $MAIN and $RAW/mglru-*.log"
awk '$2 != 0 { bad = 1 } END { exit !bad }' "$RUN/status.txt" && die "some runs failed (exit status in $RESULTS; output in $RAW/)"
exit "$rc"
