#!/bin/bash
# The kvm-idle benchmark: build idle_bitmap_perf_test, boot the kvm-idle
# kernel under QEMU, run the benchmark's configurations in that one boot and
# write the results as markdown, with the command, date, machine and kernel
# configuration.
USAGE="usage: scripts/bench.sh [--quick] [RESULTS.md]
       scripts/bench.sh --report RUNDIR [RESULTS.md]

Builds tools/testing/selftests/kvm-idle/idle_bitmap_perf_test from this
repository (in a private copy inside build/linux: it needs the kernel
tree's UAPI headers and the KVM selftests' library), boots the kernel with
scripts/boot.sh, runs the configurations listed in this script with
scripts/guest-bench.sh in that one boot, and writes RESULTS.md (default:
benchmarks/RESULTS.md) and each run's raw output (benchmarks/raw/).  The
program is described in its header comment; benchmarks/README.md says how
to read the results.

  --quick          a smaller set (a check of the harness, not a report)
  --report RUNDIR  only write RESULTS.md again from a finished run
                   (build/runs/bench-*)

Needs the kernel built (scripts/build-kernel.sh).  Time on 2 cores under
TCG: about 20-25 minutes (the committed run: 20), --quick about 10.

Environment (see also scripts/boot.sh --help):
  KVM_IDLE_MEM            guest memory (default here: 8G, for the 4 GiB run)
  KVM_IDLE_TIMEOUT        seconds until the guest is killed (default 10800)
  KVM_IDLE_KERNEL         another bzImage, e.g. one without the debug options
  KVM_IDLE_BENCH_CONFIGS  a file of configurations to run instead of the
                          built-in ones: one run per line, NAME ARGS...; a
                          NAME ending in @perf runs under perf record"
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"

ARGS=("$@")
QUICK=0 REPORT=
case "${1:-}" in
--quick)
	QUICK=1
	shift
	;;
--report)
	[ $# -ge 2 ] || die "$USAGE"
	REPORT=$2
	shift 2
	;;
esac
[ $# -le 1 ] || die "$USAGE"
RESULTS=${1:-$KVM_IDLE_TOP/benchmarks/RESULTS.md}
RAW=$(dirname "$RESULTS")/raw
need_tree
need_cmd make gcc rsync awk qemu-system-x86_64

L=$KVM_IDLE_LINUX
BENCH=$KVM_IDLE_BUILD/bench
SRC=$KVM_IDLE_TOP/tools/testing/selftests/kvm-idle
COPY=$L/tools/testing/selftests/kvm-idle-bench
BIN=$BENCH/obj/idle_bitmap_perf_test
export KVM_IDLE_MEM=${KVM_IDLE_MEM:-8G}
export KVM_IDLE_TIMEOUT=${KVM_IDLE_TIMEOUT:-10800}

build() {
	info "building $BIN"
	make -C "$L" -s headers_install || die "make headers_install failed in $L (see above)"
	mkdir -p "$COPY" "$BENCH/obj"
	rsync -a --delete "$SRC/" "$COPY/"
	make -C "$COPY" -j"$KVM_IDLE_JOBS" OUTPUT="$BENCH/obj" \
		IDLE_BITMAP_DECODE_DIR="$KVM_IDLE_TOP/tools/kvm/kvm_idle" "$BIN" ||
		die "idle_bitmap_perf_test does not build (see above)"
}

# configs FILE: write the configurations to run, NAME ARGS... per line.
# Each run creates its own VM; within a run every comparison is on the same
# guest memory.
configs() {
	local mhz t=

	# QEMU gives the guest this machine's TSC, and the guest's own clock is
	# not good enough to measure its rate under TCG.
	mhz=$(awk -F: '/^cpu MHz/ { print $2 + 0; exit }' /proc/cpuinfo)
	if grep -qw -m1 constant_tsc /proc/cpuinfo && [ -n "$mhz" ]; then
		t="-T $mhz"
	else
		warn "no constant TSC here; the program measures the TSC rate itself"
	fi
	if [ -n "${KVM_IDLE_BENCH_CONFIGS:-}" ]; then
		cp "$KVM_IDLE_BENCH_CONFIGS" "$1"
	elif [ $QUICK -eq 1 ]; then
		cat >"$1" <<-EOF
			4k-64m $t -s anonymous -b 64M -r 5 -d 1000 -M ioctl,read,peek,batched
			thp-256m $t -s anonymous_thp -b 256M -r 5 -p size,pass
			hugetlb-256m $t -s anonymous_hugetlb_2mb -b 256M -r 5 -p size,pass
		EOF
	else
		# 4K pages at 4 GiB would take 30 minutes more under TCG (a million
		# nested faults to populate, minutes per page_idle pass): 4K stops at 1 GiB.
		cat >"$1" <<-EOF
			4k-256m $t -s anonymous -b 256M -r 7 -p size,pass,flush,guest -M ioctl,read,peek,batched
			4k-256m-nofault $t -s anonymous -b 256M -r 5 -p guest -f 0
			4k-64m-naive $t -s anonymous -b 64M -r 5 -p pass -M ioctl,batched,naive
			4k-1g $t -s anonymous -b 1G -r 7 -p size,pass -M ioctl,read,peek,batched
			thp-256m $t -s anonymous_thp -b 256M -r 5 -p size,pass,flush,guest -M ioctl,read,peek,batched
			thp-1g $t -s anonymous_thp -b 1G -r 5 -p pass -M ioctl,read,peek,batched
			thp-4g $t -s anonymous_thp -b 4G -r 5 -p size,pass -M ioctl,read,batched
			hugetlb-1g $t -s anonymous_hugetlb_2mb -b 1G -r 5 -p size,pass,flush
			4k-256m-ioctl@perf $t -s anonymous -b 256M -r 20 -p pass -M ioctl,peek
			4k-64m-batched@perf $t -s anonymous -b 64M -r 5 -p pass -M batched
			thp-1g-ioctl@perf $t -s anonymous_thp -b 1G -r 40 -p pass -M ioctl,peek
			thp-1g-batched@perf $t -s anonymous_thp -b 1G -r 5 -p pass -M batched
		EOF
	fi
}

# bench: build, boot and run; sets RUN.  What the report needs besides the
# programs' output goes to $RUN/bench.env.
bench() {
	local t0 name rc=0 v command date load program configs=$BENCH/configs

	t0=$(date +%s)
	date=$(date -u '+%Y-%m-%d %H:%M UTC')
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	command="scripts/bench.sh${ARGS[*]:+ ${ARGS[*]}}"
	for v in KVM_IDLE_MEM KVM_IDLE_KERNEL KVM_IDLE_BENCH_CONFIGS KVM_IDLE_CMDLINE KVM_IDLE_ACCEL KVM_IDLE_SMP; do
		[ -z "${!v:-}" ] || command="$v=${!v} $command"
	done
	program="$(git -C "$KVM_IDLE_TOP" log -1 --format=%h -- "$SRC")"
	git -C "$KVM_IDLE_TOP" diff --quiet HEAD -- "$SRC" || program="$program with local changes"
	build
	mkdir -p "$BENCH"
	configs "$configs"

	name=bench-$(date +%Y%m%d-%H%M%S)
	RUN=$KVM_IDLE_BUILD/runs/$name
	info "run $name: configurations in $configs; console log build/logs/$name.log"
	KVM_IDLE_RUN_NAME=$name KVM_IDLE_QUIET=${KVM_IDLE_QUIET:-1} \
		"$KVM_IDLE_SCRIPTS/boot.sh" "$KVM_IDLE_SCRIPTS/guest-bench.sh" "$BIN" "$configs" || rc=$?
	[ -s "$RUN/status.txt" ] ||
		die "no results in $RUN (boot.sh exit status $rc); see build/logs/$name.log"
	cp "$configs" "$RUN/configs"
	{
		printf 'COMMAND=%q\n' "$command"
		printf 'DATE=%q\n' "$date"
		printf 'WALL=%q\n' "$(($(date +%s) - t0))"
		printf 'LOAD=%q\n' "$load"
		printf 'BOOT_RC=%q\n' "$rc"
		printf 'ACCEL=%q\n' "$(grep -o -- '-accel [a-z]*' "$RUN/qemu-cmdline" | head -n1 | cut -d' ' -f2)"
		printf 'GUEST=%q\n' "${KVM_IDLE_SMP:-2} CPUs, $KVM_IDLE_MEM"
		printf 'KERNEL=%q\n' "${KVM_IDLE_KERNEL:-}"
		printf 'PROGRAM=%q\n' "$program"
	} >"$RUN/bench.env"
}

# rows TAG: the rows of table TAG from every run, in the order of the runs,
# each with the run's name in front.  Runs under perf are left out: perf's
# sampling slows what it samples.
rows() {
	local name
	while read -r name _; do
		case "$name" in '' | '#'* | *@perf) continue ;; esac
		[ -f "$RUN/$name.log" ] || continue
		grep -a "^@$1 |" "$RUN/$name.log" | sed "s/^@$1 /| $name /" || true
	done <"$RUN/configs"
	return 0
}

# table TAG HEADER: a markdown table, or a line saying there is none.
table() {
	local out cols
	out=$(rows "$1")
	if [ -z "$out" ]; then
		echo "(no results)"
		return
	fi
	cols=$(awk -F'|' '{ print NF - 2 }' <<<"$2")
	echo "$2"
	printf '|'
	printf -- '---|%.0s' $(seq "$cols")
	echo
	echo "$out"
}

config_summary() {
	local o v
	for o in KVM_PROC_IDLE_BITMAP IDLE_PAGE_TRACKING KVM KVM_AMD KVM_INTEL \
		TRANSPARENT_HUGEPAGE HUGETLBFS LRU_GEN LOCKDEP PROVE_LOCKING PROVE_RCU DEBUG_VM \
		DEBUG_ATOMIC_SLEEP DEBUG_LIST KASAN PREEMPT_NONE PREEMPT_VOLUNTARY PREEMPT HZ NR_CPUS; do
		v=$(grep -E "^CONFIG_$o=" "$L/.config" | cut -d= -f2- || true)
		printf '%s ' "\`CONFIG_$o=${v:-n}\`"
	done
	echo
}

# summary: each target of the issue against what this run measured.
summary() {
	echo "| Target | Measured | Met |"
	echo "|---|---|---|"
	rows ratio | awk -F'|' '
		$5 ~ /batched \/ IDLE_BITMAP_SCAN *$/ {
			size = $3; back = $4; gsub(/^ +| +$/, "", size); gsub(/^ +| +$/, "", back)
			r = $6; m = $7; gsub(/[ x]/, "", r); gsub(/[ x]/, "", m)
			want = (back == "anonymous") ? 100 : 1000
			printf "| full pass >= %dx faster than page_idle (%s, %s) | %sx (min / min: %sx) | %s |\n",
			       want, size, back, r, m, ((r + 0 >= want) ? "yes" : "no")
		}'
	rows guest | awk -F'|' -v cpus="$(awk '/^cpus:/ { print $2 }' "$RUN/env.txt")" '
		$5 ~ /IDLE_BITMAP_SCAN \(clear\) *$/ {
			run = $2; gsub(/^ +| +$/, "", run)
			a = $9; b = $10; gsub(/[ %]/, "", a); gsub(/[ %]/, "", b)
			met = (a + 0 >= 95) ? "yes" : "no"
			if (cpus + 0 < 2)
				met = met ", but not measurable here: the guest had 1 CPU for the vCPU and the scanner"
			printf "| guest throughput >= 95%% of no scan (run %s) | %s%%; %s%% of the CPU-burner control | %s |\n",
			       run, a, b, met
		}'
	rows size | awk -F'|' '
		{ b = $6 + 0; if (b > max) { max = b; pat = $4; back = $3 } }
		END {
			if (max == "")
				exit
			gsub(/^ +| +$/, "", pat); gsub(/^ +| +$/, "", back)
			printf "| <= 2.7 bits per page, worst pattern | %.3f (%s, %s) | %s |\n",
			       max, pat, back, ((max <= 2.7) ? "yes" : "no")
		}'
}

# report: write $RESULTS from $RUN, and copy the raw output next to it.
report() {
	local COMMAND DATE WALL LOAD BOOT_RC ACCEL GUEST KERNEL PROGRAM='' name args st f n

	# shellcheck source=/dev/null
	. "$RUN/bench.env"
	mkdir -p "$RAW"
	rm -f "$RAW"/*.log "$RAW"/*.self "$RAW"/*.incl
	while read -r name _; do
		case "$name" in '' | '#'*) continue ;; esac
		for f in "$RUN/$name".*; do
			[ -e "$f" ] && cp "$f" "$RAW/"
		done
	done <"$RUN/configs"
	cp "$RUN/env.txt" "$RUN/status.txt" "$RUN/configs" "$RAW/"

	{
		echo "# /proc/PID/idle_bitmap benchmark results"
		echo
		echo "Made by \`$COMMAND\` on $DATE in $WALL s of wall time (build, boot and"
		echo "$(grep -vc '^#' "$RUN/configs") runs in one boot).  [README.md](README.md) says what the numbers"
		echo "mean and where the time goes.  QEMU ran with **$(tr '[:lower:]' '[:upper:]' <<<"$ACCEL")**:"
		if [ "$ACCEL" = tcg ]; then
			echo "timings are not native speed; the claims are ratios of times measured in"
			echo "the same run, on the same guest memory."
		else
			echo "the numbers are those of a nested guest's host kernel on this machine."
		fi
		echo
		echo "## Machine"
		echo
		echo "- host: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs, $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r); load average at the start $LOAD (other work shared the machine)"
		echo "- QEMU: $(qemu-system-x86_64 --version | head -n1), accelerator $ACCEL; guest: $GUEST"
		echo "- the patched kernel (the host of the benchmark's VMs), as the guest saw it:"
		sed 's/^/  - /' "$RUN/env.txt"
		echo "- kernel: $(make -s -C "$L" kernelversion 2>/dev/null), build/linux at $(git -C "$L" rev-parse --short HEAD)${KERNEL:+; booted $KERNEL}"
		echo "- config (of build/linux): $(config_summary)"
		echo "- program: tools/testing/selftests/kvm-idle/ of commit ${PROGRAM:-?}"
		echo
		echo "## Summary"
		echo
		summary
		echo
		echo "## Runs"
		echo
		echo "Each run is one process and one VM: \`idle_bitmap_perf_test ARGS\`, in the guest."
		echo
		echo "| Name | Arguments | Exit status | Seconds (guest clock) |"
		echo "|---|---|---|---|"
		while read -r name args; do
			case "$name" in '' | '#'*) continue ;; esac
			st=$(awk -v n="$name" '$1 == n { print $2 " | " $3 }' "$RUN/status.txt")
			echo "| $name | \`$args\` | ${st:-not run | -} |"
		done <"$RUN/configs"
		echo
		echo "## Full test-and-clear pass"
		echo
		echo "Milliseconds per pass over the whole memory after the guest wrote half of its"
		echo "pages (half of the 2M pages with 2M backing).  Calls: system calls per pass."
		echo "Records: idle_bitmap records per pass; SPTEs and cmpxchgs: the walker's work"
		echo "that the records imply (one visit per leaf SPTE, one cmpxchg per accessed one"
		echo "when clearing).  The last two columns check each answer against what the"
		echo "guest wrote."
		echo
		table pass "| Run | Memory | Backing | Method | Median ms | Min ms | Max ms | Calls | Records | SPTEs | cmpxchgs | Written found accessed % | Others found idle % |"
		echo
		echo "Ratios of page_idle's time to idle_bitmap's, of the medians and of the minimums:"
		echo
		table ratio "| Run | Memory | Backing | Ratio | Median / median | Min / min |"
		echo
		echo "## Guest throughput while another process scans continuously"
		echo
		echo "Millions of 4K pages written per second by the guest; unless \`-f 0\`, each"
		echo "vCPU zaps 5% of its memory after each round, so that it also faults pages in."
		echo "Under TCG a second busy CPU alone slows the guest, since QEMU's threads share"
		echo "the machine's cores with each other and with other work: the CPU burner is a"
		echo "process that spins without touching memory, the control for that."
		echo
		table guest "| Run | Memory | Backing | Scanner | Median Mpages/s | Min | Max | vs no scanner | vs CPU burner | Scanner passes/s |"
		echo
		echo "## Output size"
		echo
		echo "Bytes of output per 4K page of guest memory for one clearing pass after the"
		echo "guest wrote the pattern, next to what the 2018 RFC's format (1 byte per run of"
		echo "up to 15 pages of one type and size) and PAGEMAP_SCAN (24 bytes per run of"
		echo "pages with the same state and page size) would need for the same state."
		echo
		table size "| Run | Backing | Pattern | idle_bitmap bytes/page | idle_bitmap bits/page | RFC 2018 bytes/page | PAGEMAP_SCAN bytes/page | Records | Calls | Written found accessed / others idle % |"
		echo
		echo "## TLB flush"
		echo
		echo "Milliseconds per clearing pass with the flush and with"
		echo "IDLE_BITMAP_SCAN_NO_FLUSH, while the guest keeps writing the set:"
		echo
		table flush "| Run | Memory | Backing | Pass | Median ms | Min ms | Max ms |"
		echo
		echo "Share (%) of the set that a peek finds accessed after the guest went over the"
		echo "set twice more, and how often vCPU 0 left the guest meanwhile (under TCG each"
		echo "entry into the nested guest flushes QEMU's emulated TLB):"
		echo
		table accuracy "| Run | Memory | Backing | Pass | Median % | Min % | Max % | vCPU exits |"
		if compgen -G "$RUN/*.self" >/dev/null; then
			echo
			echo "## Profiles"
			echo
			echo "\`perf record -e cpu-clock -a -g\`, sampling only while the timed passes run;"
			echo "the symbols with the most samples (self), then with their callees"
			echo "(children).  The full reports are in raw/."
			for f in "$RUN"/*.self; do
				n=$(basename "$f" .self)
				echo
				echo "### $n"
				echo
				echo '```'
				grep -v '^#' "$f" | grep -v '^$' | head -n 25
				echo '```'
				echo
				echo '```'
				grep -v '^#' "$RUN/$n.incl" 2>/dev/null | grep -v '^$' | head -n 30
				echo '```'
			done
		fi
	} >"$RESULTS"
	info "wrote $RESULTS and $RAW/"
	[ "$BOOT_RC" -eq 0 ] ||
		warn "scripts/boot.sh exited with $BOOT_RC: see the console log (kernel reports are listed there)"
	if awk '$2 != 0 { bad = 1 } END { exit !bad }' "$RUN/status.txt"; then
		warn "some runs failed (exit status in $RESULTS); their output is in $RAW/"
		return 1
	fi
	return "$BOOT_RC"
}

main() {
	if [ -n "$REPORT" ]; then
		RUN=$(cd "$REPORT" && pwd) || die "no run directory $REPORT"
		[ -f "$RUN/bench.env" ] ||
			die "$RUN is not a finished scripts/bench.sh run (no bench.env)"
	else
		bench
	fi
	report
}

# One line, read whole before it runs: editing this file during a run is safe.
main; exit
