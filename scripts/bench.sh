#!/bin/bash
# The kvm-idle benchmark: build the benchmark kernel and idle_bitmap_perf_test,
# boot that kernel under QEMU, run the benchmark's configurations in that one
# boot and write the results as markdown, with the command, date, machine,
# the booted kernel's configuration and wall time.
USAGE="usage: scripts/bench.sh [--quick] [RESULTS.md]
       scripts/bench.sh --report RUNDIR [RESULTS.md]

Builds the benchmark kernel with scripts/build-bench-kernel.sh (the series
at build/linux's HEAD without the test kernel's debug options, in
build/linux-bench), unless KVM_IDLE_KERNEL names another kernel, and
tools/testing/selftests/kvm-idle/idle_bitmap_perf_test from this repository
(in a private copy inside that kernel's tree: it needs the tree's UAPI
headers and the KVM selftests' library).  Boots the kernel with
scripts/boot.sh (2 CPUs, 8G, two 1G hugetlb pages reserved at boot), runs
the configurations listed in this script with scripts/guest-bench.sh in
that one boot, and writes RESULTS.md (default: benchmarks/RESULTS.md) and
each run's raw output (benchmarks/raw/).  The program is described in its
header comment; benchmarks/README.md says how to read the results.

scripts/guest-bench.sh refuses to run on a kernel with debug options or
without /proc/config.gz, or on a guest with one CPU; RESULTS.md records the
configuration read from the booted kernel and the guest's CPU count.

  --quick          a smaller set (a check of the harness, not a report)
  --report RUNDIR  only write RESULTS.md again from a finished run
                   (build/runs/bench-*)

Needs scripts/prepare-tree.sh done (scripts/test.sh does it).  Time on 2
cores under TCG, the benchmark kernel already built: about 20 minutes (1094 s
measured for this set on a quiet machine; allow up to 30 on a shared one),
--quick about 3 (151 s measured); plus the first build of the benchmark
kernel (1700 s measured cold, sharing the cores with a scripts/test.sh
boot; a minute or two after a change to the series).

Environment (see also scripts/boot.sh --help):
  KVM_IDLE_KERNEL         boot this bzImage instead of the benchmark kernel
                          (which is then not built)
  KVM_IDLE_SMP            guest CPUs (default 2; at least 2)
  KVM_IDLE_MEM            guest memory (default here: 8G, for the 4 GiB runs)
  KVM_IDLE_TIMEOUT        seconds until the guest is killed (default: the
                          runs' time limits, lib.sh's bench_limit, summed,
                          and 15 minutes for the boot; each run that
                          overruns its own limit is killed in the guest,
                          and the others still run)
  KVM_IDLE_BENCH_CONFIGS  a file of configurations to run instead of the
                          built-in ones: one run per line, NAME ARGS...; a
                          NAME ending in @perf runs under perf record
  KVM_IDLE_BENCH_ALLOW_DEBUG=1
                          benchmark a kernel with debug options or without
                          /proc/config.gz deliberately, e.g. the test kernel
                          (KVM_IDLE_KERNEL=build/linux/arch/x86/boot/bzImage);
                          RESULTS.md then says so at the top"
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

BENCH=$KVM_IDLE_BUILD/bench
SRC=$KVM_IDLE_TOP/tools/testing/selftests/kvm-idle
BENCH_TREE=$KVM_IDLE_BUILD/linux-bench
export KVM_IDLE_MEM=${KVM_IDLE_MEM:-8G}
export KVM_IDLE_SMP=${KVM_IDLE_SMP:-2}

# kernel: the kernel to boot (KVM_IDLE_KERNEL, exported for boot.sh): the
# benchmark kernel, built here, unless KVM_IDLE_KERNEL names another.  Sets
# KTREE, the tree the image was built in ("" if not known), and TREE, the
# tree the program is built in: KTREE when it has the KVM selftests (its
# UAPI headers are the booted kernel's), else build/linux; and BIN, the
# program, built in a directory of its own per tree.
kernel() {
	local log=$KVM_IDLE_BUILD/logs/build-bench-kernel.log

	if [ -n "${KVM_IDLE_KERNEL:-}" ]; then
		[ -f "$KVM_IDLE_KERNEL" ] || die "no kernel image $KVM_IDLE_KERNEL (KVM_IDLE_KERNEL)"
		KVM_IDLE_KERNEL=$(realpath "$KVM_IDLE_KERNEL")
		KTREE=
		case "$KVM_IDLE_KERNEL" in
		*/arch/x86/boot/bzImage) KTREE=${KVM_IDLE_KERNEL%/arch/x86/boot/bzImage} ;;
		esac
		[ -z "$KTREE" ] || [ -f "$KTREE/Makefile" ] || KTREE=
		info "booting $KVM_IDLE_KERNEL (KVM_IDLE_KERNEL), not the benchmark kernel"
	else
		mkdir -p "$KVM_IDLE_BUILD/logs"
		info "building the benchmark kernel: scripts/build-bench-kernel.sh (log $log)"
		if ! "$KVM_IDLE_SCRIPTS/build-bench-kernel.sh" >"$log" 2>&1; then
			tail -n 30 "$log" >&2
			die "the benchmark kernel did not build or failed its config check (above; whole log $log); fix it and rerun"
		fi
		grep -h -e 'config checked' -e ': built ' "$log" || true
		KVM_IDLE_KERNEL=$(tail -n 1 "$log")
		[ -f "$KVM_IDLE_KERNEL" ] || die "scripts/build-bench-kernel.sh did not print its bzImage last (see $log)"
		KTREE=$BENCH_TREE
	fi
	export KVM_IDLE_KERNEL
	TREE=$KVM_IDLE_LINUX
	[ -z "$KTREE" ] || [ ! -d "$KTREE/tools/testing/selftests/kvm/lib" ] || TREE=$KTREE
	BIN=$BENCH/obj-${TREE##*/}/idle_bitmap_perf_test
}

build() {
	bench_program_build "$TREE" "$BIN"
}

# configs FILE: write the configurations to run, NAME ARGS... per line.
# Each run creates its own VM; within a run every comparison is on the same
# guest memory.  Every run repeats each measurement at least 5 times (-r).
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
			4k-64m $t -s anonymous -b 64M -r 5 -d 1000 -p pass,size,guest -M ioctl,read,peek,batched
			thp-256m $t -s anonymous_thp -b 256M -r 5 -p size,pass -M ioctl,read,peek,batched
			hugetlb-256m $t -s anonymous_hugetlb_2mb -b 256M -r 5 -p size,pass -M ioctl,read,peek,batched
			damon-4k-64m $t -s anonymous -b 64M -r 5 -t 2 -p damon
		EOF
	else
		# Full passes: idle_bitmap (ioctl, read, peek) against page_idle
		# batched, at 64M, 256M and 1G of 4K pages (naive at 64M only, for
		# reference: about a second per MiB under TCG) and 256M, 1G and 4G of
		# THP and hugetlb 2M (page_idle skips hugetlb: the program says so),
		# and 1G of 1G hugetlb pages.  The pass part also prints the scaling
		# row (ns per 4K page and per leaf SPTE) and, with peek, the
		# physical-limit proxy.  4K pages at 4 GiB would take 30 minutes more
		# under TCG (a million nested faults to populate, minutes per
		# page_idle pass): 4K stops at 1 GiB.  DAMON against idle_bitmap: a
		# hot set of 25% of 1 GiB, in one piece (DAMON's regions fit it
		# best) and scattered 4K pages.
		cat >"$1" <<-EOF
			4k-64m $t -s anonymous -b 64M -r 5 -p pass -M ioctl,read,peek,batched,naive
			4k-256m $t -s anonymous -b 256M -r 7 -p size,pass,flush,guest -M ioctl,read,peek,batched
			4k-256m-nofault $t -s anonymous -b 256M -r 5 -p guest -f 0
			4k-1g $t -s anonymous -b 1G -r 7 -p size,pass -M ioctl,read,peek,batched
			thp-256m $t -s anonymous_thp -b 256M -r 5 -p size,pass,flush,guest -M ioctl,read,peek,batched
			thp-1g $t -s anonymous_thp -b 1G -r 5 -p pass -M ioctl,read,peek,batched
			thp-4g $t -s anonymous_thp -b 4G -r 5 -p size,pass -M ioctl,read,peek,batched
			hugetlb-256m $t -s anonymous_hugetlb_2mb -b 256M -r 5 -p pass -M ioctl,read,peek,batched
			hugetlb-1g $t -s anonymous_hugetlb_2mb -b 1G -r 5 -p size,pass,flush -M ioctl,read,peek,batched
			hugetlb-4g $t -s anonymous_hugetlb_2mb -b 4G -r 5 -p pass -M ioctl,read,peek,batched
			hugetlb1g-1g $t -s anonymous_hugetlb_1gb -b 1G -r 5 -p size,pass -M ioctl,read,peek
			damon-4k-1g $t -s anonymous -b 1G -r 5 -p damon
			damon-4k-1g-scattered $t -s anonymous -b 1G -r 5 -p damon -W
			4k-256m-ioctl@perf $t -s anonymous -b 256M -r 20 -p pass -M ioctl,peek
			4k-64m-batched@perf $t -s anonymous -b 64M -r 5 -p pass -M batched
			thp-1g-ioctl@perf $t -s anonymous_thp -b 1G -r 40 -p pass -M ioctl,peek
			thp-1g-batched@perf $t -s anonymous_thp -b 1G -r 5 -p pass -M batched
		EOF
	fi
}

# check_configs FILE: every part (-p), method (-M) and backing (-s) that
# FILE asks for is one the program lists in its -h, so that a misspelt or
# missing part fails now rather than after a boot of half an hour.
check_configs() {
	local help parts methods name args a x prev bad=()

	help=$("$BIN" -h 2>&1 || true)
	parts=$(sed -n 's/^ *-p: .* of \([a-z_,]*\).*/\1/p' <<<"$help")
	methods=$(sed -n 's/^ *-M: .* of \([a-z_,]*\).*/\1/p' <<<"$help")
	if [ -z "$parts" ] || [ -z "$methods" ]; then
		warn "cannot read the parts and methods from $BIN -h; the configurations are not checked"
		return 0
	fi
	while read -r name args; do
		case "$name" in '' | '#'*) continue ;; esac
		prev=
		for a in $args; do
			case "$prev" in
			-p | -M)
				for x in ${a//,/ }; do
					if [ "$prev" = -p ] && [[ ",$parts," != *",$x,"* ]]; then
						bad+=("$name: no part '$x' (the program has: $parts)")
					elif [ "$prev" = -M ] && [[ ",$methods," != *",$x,"* ]]; then
						bad+=("$name: no method '$x' (the program has: $methods)")
					fi
				done
				;;
			-s)
				grep -qE "^ +$a\$" <<<"$help" || bad+=("$name: no backing '$a' (see $BIN -h)")
				;;
			esac
			prev=$a
		done
	done <"$1"
	[ ${#bad[@]} -eq 0 ] && return 0
	for x in "${bad[@]}"; do
		echo "$PROG: $x" >&2
	done
	die "the configurations ask the program for what it does not have (above): update the program (tools/testing/selftests/kvm-idle/) or run another set with KVM_IDLE_BENCH_CONFIGS=FILE"
}

# bench: build, boot and run; sets RUN.  What the report needs besides the
# programs' output goes to $RUN/bench.env.
bench() {
	local t0 name rc=0 v command date load program bootargs kdesc configs=$BENCH/configs

	t0=$(date +%s)
	date=$(date -u '+%Y-%m-%d %H:%M UTC')
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	command="scripts/bench.sh${ARGS[*]:+ ${ARGS[*]}}"
	for v in KVM_IDLE_MEM KVM_IDLE_SMP KVM_IDLE_KERNEL KVM_IDLE_BENCH_CONFIGS KVM_IDLE_BENCH_ALLOW_DEBUG \
		KVM_IDLE_CMDLINE KVM_IDLE_ACCEL KVM_IDLE_NUMA; do
		[ -z "${!v:-}" ] || command="$v=${!v} $command"
	done
	if ! [[ "$KVM_IDLE_SMP" =~ ^[0-9]+$ ]] || [ "$KVM_IDLE_SMP" -lt 2 ]; then
		die "KVM_IDLE_SMP=$KVM_IDLE_SMP: the benchmark needs at least 2 guest CPUs (the scanner runs on a CPU of its own)"
	fi
	program="$(git -C "$KVM_IDLE_TOP" log -1 --format=%h -- "$SRC")"
	git -C "$KVM_IDLE_TOP" diff --quiet HEAD -- "$SRC" || program="$program with local changes"
	kernel
	build
	mkdir -p "$BENCH"
	configs "$configs"
	check_configs "$configs"
	if [ -z "${KVM_IDLE_TIMEOUT:-}" ]; then
		KVM_IDLE_TIMEOUT=900
		while read -r name _; do
			case "$name" in '' | '#'*) continue ;; esac
			KVM_IDLE_TIMEOUT=$((KVM_IDLE_TIMEOUT + $(bench_limit "$name")))
		done <"$configs"
		export KVM_IDLE_TIMEOUT
		info "the guest is killed after $KVM_IDLE_TIMEOUT s (the runs' limits and 900 s)"
	fi

	# 1G hugetlb pages can only be counted on when reserved at boot.  A
	# 1 GiB run needs two (the selftest library maps one page more than it
	# uses, for alignment): one per NUMA node, as the test guest has them.
	# They take 2 GiB of the 8G guest for the whole boot, which leaves the
	# 4 GiB runs about 5.5 GiB.
	bootargs=
	if grep -q -- '-s anonymous_hugetlb_1gb' "$configs"; then
		bootargs="hugepagesz=1G hugepages=0:1,1:1"
		[ "${KVM_IDLE_NUMA:-2}" -ge 2 ] || bootargs="hugepagesz=1G hugepages=2"
	fi
	kdesc=unknown
	if [ -n "$KTREE" ]; then
		kdesc="$(make -s -C "$KTREE" kernelversion 2>/dev/null), ${KTREE#"$KVM_IDLE_TOP"/} at $(git -C "$KTREE" rev-parse --short HEAD 2>/dev/null || echo '?')"
	fi

	name=bench-$(date +%Y%m%d-%H%M%S)
	RUN=$KVM_IDLE_BUILD/runs/$name
	info "run $name: $KVM_IDLE_KERNEL, configurations in $configs; console log build/logs/$name.log"
	KVM_IDLE_RUN_NAME=$name KVM_IDLE_QUIET=${KVM_IDLE_QUIET:-1} \
		KVM_IDLE_CMDLINE="$bootargs${KVM_IDLE_CMDLINE:+ $KVM_IDLE_CMDLINE}" \
		"$KVM_IDLE_SCRIPTS/boot.sh" "$KVM_IDLE_SCRIPTS/guest-bench.sh" "$BIN" "$configs" || rc=$?
	if [ -s "$RUN/refused.txt" ]; then
		sed "s/^/$PROG: /" "$RUN/refused.txt" >&2
		die "the guest refused to run the benchmark on $KVM_IDLE_KERNEL (above)"
	fi
	[ -s "$RUN/status.txt" ] ||
		die "no results in $RUN (boot.sh exit status $rc); see build/logs/$name.log"
	cp "$configs" "$RUN/configs"
	# The build's own .config, for a kernel that has no /proc/config.gz.
	[ -z "$KTREE" ] || [ ! -f "$KTREE/.config" ] || cp "$KTREE/.config" "$RUN/build-config.txt"
	{
		printf 'COMMAND=%q\n' "$command"
		printf 'DATE=%q\n' "$date"
		printf 'WALL=%q\n' "$(($(date +%s) - t0))"
		printf 'LOAD=%q\n' "$load"
		printf 'BOOT_RC=%q\n' "$rc"
		printf 'ACCEL=%q\n' "$(grep -o -- '-accel [a-z]*' "$RUN/qemu-cmdline" | head -n1 | cut -d' ' -f2)"
		printf 'GUEST=%q\n' "$KVM_IDLE_SMP CPUs, $KVM_IDLE_MEM"
		printf 'BOOTARGS=%q\n' "$bootargs${KVM_IDLE_CMDLINE:+ $KVM_IDLE_CMDLINE}"
		printf 'KERNEL=%q\n' "$KVM_IDLE_KERNEL"
		printf 'KERNEL_TREE=%q\n' "$KTREE"
		printf 'KERNEL_DESC=%q\n' "$kdesc"
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
		echo "(no results in this run)"
		return
	fi
	cols=$(awk -F'|' '{ print NF - 2 }' <<<"$2")
	echo "$2"
	printf '|'
	printf -- '---|%.0s' $(seq "$cols")
	echo
	echo "$out"
}

# config_summary CONFIG: the options that matter here, as CONFIG has them.
config_summary() {
	local o v
	for o in KVM_PROC_IDLE_BITMAP IDLE_PAGE_TRACKING KVM KVM_AMD KVM_INTEL \
		TRANSPARENT_HUGEPAGE HUGETLBFS LRU_GEN DAMON DAMON_VADDR DAMON_SYSFS NUMA \
		PREEMPT_NONE PREEMPT_VOLUNTARY PREEMPT PREEMPT_DYNAMIC HZ NR_CPUS \
		CC_OPTIMIZE_FOR_PERFORMANCE CPU_MITIGATIONS; do
		v=$(grep -E "^CONFIG_$o=" "$1" | cut -d= -f2- || true)
		printf '%s ' "\`CONFIG_$o=${v:-n}\`"
	done
	echo
}

# debug_summary CONFIG: every debug option the benchmark kernel must not
# have, as CONFIG has it, then a verdict.
debug_summary() {
	local o v found
	for o in $KVM_IDLE_DEBUG_OPTIONS; do
		v=$(grep -E "^CONFIG_$o=" "$1" | cut -d= -f2- || true)
		printf '%s ' "\`CONFIG_$o=${v:-n}\`"
	done
	found=$(config_debug_options "$1" | tr '\n' ' ')
	if [ -z "$found" ]; then
		echo "(none set)"
	else
		echo "(**set: ${found% }**)"
	fi
}

# The summary's targets, one function per kind.  Each prints one row per
# size (or run) it finds, or one row saying the target was not measured.
# In awk, t() trims a field; rows' fields are $2 the run, $3... the
# program's columns.
AWK_T='function t(s) { gsub(/^ +| +$/, "", s); return s }
function num(s) { s = t(s); gsub(/[x%]/, "", s); return s + 0 }'

# target_pass WHAT MIB BACKING WANT: a full test-and-clear pass of MIB MiB
# with BACKING, page_idle batched against IDLE_BITMAP_SCAN, >= WANT x.
target_pass() {
	{
		rows ratio | sed 's/^/R/'
		rows pass | sed 's/^/P/'
	} | awk -F'|' -v what="$1 >= $4x" -v mem="$2 MiB" -v back="$3" -v want="$4" "$AWK_T"'
		t($3) != mem || t($4) != back { next }
		/^P/ && t($5) == "idle_bitmap IDLE_BITMAP_SCAN (clear)" { pass = t($6) " ms (run " t($2) ")" }
		/^R/ && t($5) == "page_idle batched / IDLE_BITMAP_SCAN" { n++; run[n] = t($2); r[n] = num($6); m[n] = num($7) }
		/^R/ && t($5) == "page_idle batched / read()" { rd[t($2)] = t($6) }
		END {
			for (i = 1; i <= n; i++) {
				met = r[i] >= want ? "yes" : sprintf("no, %.1fx short", want / r[i])
				printf "| %s | %.1fx (min / min: %.1fx%s; run %s) | %s |\n", what, r[i], m[i],
				       (run[i] in rd) ? "; read(): " rd[run[i]] : "", run[i], met
			}
			if (n)
				exit
			if (back ~ /hugetlb/ && pass != "")
				printf "| %s | IDLE_BITMAP_SCAN %s; not measurable: page_idle skips hugetlb | not measurable |\n", what, pass
			else if (back ~ /hugetlb/)
				printf "| %s | not measured in this run (and not measurable: page_idle skips hugetlb) | - |\n", what
			else
				printf "| %s | not measured in this run | - |\n", what
		}'
}

# target_proxy: a peek over 1 GiB of 4K pages against a user-space read of
# as many u64 as it visits leaf SPTEs, <= 10x.
target_proxy() {
	rows proxy | awk -F'|' -v what="peek pass over 1 GiB of 4K pages vs a user-space read of as many u64 as leaf SPTEs <= 10x" "$AWK_T"'
		t($3) == "1024 MiB" && t($4) == "anonymous" {
			n++
			met = num($8) <= 10 ? "yes" : sprintf("no, %.1fx over", num($8) / 10)
			printf "| %s | %sx (min / min: %s; peek %s ms, %s u64 read in %s ms; run %s) | %s |\n",
			       what, num($8), t($9), t($6), t($5), t($7), t($2), met
		}
		END { if (!n) printf "| %s | not measured in this run | - |\n", what }'
}

# target_guest SCANNER LABEL CPUS: guest throughput with SCANNER running,
# against no scanner, >= 95%.
target_guest() {
	rows guest | awk -F'|' -v scanner="$1" -v what="guest throughput with a scanner running continuously ($2) vs no scanner >= 95%" \
		-v cpus="$3" "$AWK_T"'
		t($5) == scanner {
			n++
			a = num($9)
			met = a >= 95 ? "yes" : sprintf("no, %.1f points short", 95 - a)
			if (cpus + 0 < 2)
				met = met "; not measurable here: the guest had 1 CPU for the vCPU and the scanner"
			printf "| %s | %s (%s of the CPU-burner control; %s passes/s; run %s, %s, %s) | %s |\n",
			       what, t($9), t($10), t($11), t($2), t($3), t($4), met
		}
		END { if (!n) printf "| %s | not measured in this run | - |\n", what }'
}

# target_size: the worst pattern's output, <= 2.7 bits per 4K page.
target_size() {
	rows size | awk -F'|' -v what="output, worst pattern <= 2.7 bits per 4K page" "$AWK_T"'
		{ b = num($6); if (!n++ || b > max) { max = b; pat = t($4); back = t($3) } }
		END {
			if (!n)
				printf "| %s | not measured in this run | - |\n", what
			else
				printf "| %s | %.3f (%s, %s) | %s |\n", what, max, pat, back,
				       max <= 2.7 ? "yes" : sprintf("no, %.3f over", max - 2.7)
		}'
}

# target_damon: the working-set error of idle_bitmap at no more CPU than
# DAMON's default, <= 1/5 of DAMON's default error; per run.
target_damon() {
	rows damon | awk -F'|' -v what="working-set error at no more CPU than DAMON's default <= 1/5 of DAMON's" "$AWK_T"'
		function abs(x) { return x < 0 ? -x : x }
		{
			r = t($2)
			if (!(r in seen)) { seen[r] = 1; order[++nr] = r }
		}
		t($5) == "DAMON" && t($6) ~ /^default/ {
			derr[r] = abs(num($9)); dcpu[r] = num($10); dset[r] = t($6)
		}
		t($5) == "idle_bitmap" {
			e = abs(num($9)); c = num($10)
			if (!(r in cheap) || c < ccpu[r]) { cheap[r] = t($6); ccpu[r] = c; cerr[r] = e }
			ib[r, ++nib[r]] = e SUBSEP c SUBSEP t($6)
		}
		END {
			for (i = 1; i <= nr; i++) {
				r = order[i]
				if (!(r in derr)) {
					printf "| %s | not measured in this run (run %s has no DAMON default row) | - |\n", what, r
					continue
				}
				best = ""
				for (j = 1; j <= nib[r]; j++) {
					split(ib[r, j], f, SUBSEP)
					if (f[2] <= dcpu[r] && (best == "" || f[1] < berr)) { best = f[3]; berr = f[1]; bcpu = f[2] }
				}
				d = sprintf("DAMON %s: %s%% error at %s ms/s", dset[r], derr[r], dcpu[r])
				if (best == "") {
					if (nib[r])
						printf "| %s | no idle_bitmap setting within DAMON'"'"'s CPU (%s; the cheapest, %s, takes %s ms/s, %s%% error; run %s) | no |\n",
						       what, d, cheap[r], ccpu[r], cerr[r], r
					else
						printf "| %s | not measured in this run (run %s has no idle_bitmap rows) | - |\n", what, r
					continue
				}
				if (berr == 0)
					rel = "no error"
				else if (derr[r] == 0)
					rel = "DAMON had no error"
				else
					rel = sprintf("1/%.1f of DAMON'"'"'s", derr[r] / berr)
				printf "| %s | idle_bitmap %s: %s%% error at %s ms/s (%s); %s; run %s | %s |\n",
				       what, best, berr, bcpu, rel, d, r,
				       berr * 5 <= derr[r] ? "yes" : (derr[r] == 0 ? "no" : sprintf("no, %.1fx too large", berr * 5 / derr[r]))
			}
			if (!nr)
				printf "| %s | not measured in this run | - |\n", what
		}'
}

# summary: each target of the issue against what this run measured.
summary() {
	local cpus
	cpus=$(awk '/^cpus:/ { print $2 }' "$RUN/env.txt")
	echo "| Target | Measured | Met |"
	echo "|---|---|---|"
	target_pass "full test-and-clear pass, 1 GiB of 4K pages, vs page_idle batched" 1024 anonymous 100
	target_pass "full test-and-clear pass, 1 GiB of THP, vs page_idle batched" 1024 anonymous_thp 1000
	target_pass "full test-and-clear pass, 4 GiB of THP, vs page_idle batched" 4096 anonymous_thp 1000
	target_pass "full test-and-clear pass, 1 GiB of hugetlb 2M, vs page_idle batched" 1024 anonymous_hugetlb_2mb 1000
	target_pass "full test-and-clear pass, 4 GiB of hugetlb 2M, vs page_idle batched" 4096 anonymous_hugetlb_2mb 1000
	target_proxy
	target_guest "idle_bitmap IDLE_BITMAP_SCAN (clear, 1 pass/s)" "1 pass/s" "$cpus"
	target_guest "idle_bitmap IDLE_BITMAP_SCAN (clear)" "flat out" "$cpus"
	target_size
	target_damon
}

# report: write $RESULTS from $RUN, and copy the raw output next to it.
report() {
	local COMMAND DATE WALL LOAD BOOT_RC ACCEL GUEST KERNEL PROGRAM='' BOOTARGS='' KERNEL_TREE='' KERNEL_DESC=''
	local name args st f n cfg cfg_from cpus

	# shellcheck source=/dev/null
	. "$RUN/bench.env"
	# Runs made before the benchmark kernel recorded no kernel tree: theirs
	# was build/linux.
	[ -n "$KERNEL_DESC" ] || KERNEL_DESC="$(make -s -C "$KVM_IDLE_LINUX" kernelversion 2>/dev/null), build/linux at $(git -C "$KVM_IDLE_LINUX" rev-parse --short HEAD)"
	cpus=$(awk '/^cpus:/ { print $2 }' "$RUN/env.txt")
	cfg=
	if [ -s "$RUN/config.txt" ]; then
		cfg=$RUN/config.txt
		cfg_from="read in the guest from the booted kernel's /proc/config.gz (all of it: raw/config.txt)"
	elif [ -s "$RUN/build-config.txt" ]; then
		cfg=$RUN/build-config.txt
		cfg_from="**not read from the booted kernel**, which has no /proc/config.gz: the .config of ${KERNEL_TREE:-its tree} at the end of the run (raw/build-config.txt)"
	fi
	mkdir -p "$RAW"
	# (raw/mglru-*.log are scripts/bench-mglru.sh's.)
	find "$RAW" -maxdepth 1 -name '*.log' ! -name 'mglru-*' -delete
	rm -f "$RAW"/*.self "$RAW"/*.incl "$RAW"/config.txt "$RAW"/build-config.txt "$RAW"/debug.txt
	while read -r name _; do
		case "$name" in '' | '#'*) continue ;; esac
		for f in "$RUN/$name".*; do
			[ -e "$f" ] && cp "$f" "$RAW/"
		done
	done <"$RUN/configs"
	cp "$RUN/env.txt" "$RUN/status.txt" "$RUN/configs" "$RAW/"
	for f in config.txt build-config.txt debug.txt; do
		[ ! -f "$RUN/$f" ] || cp "$RUN/$f" "$RAW/"
	done

	{
		echo "# /proc/PID/idle_bitmap benchmark results"
		echo
		if [ -s "$RUN/debug.txt" ]; then
			echo "> **WARNING: NOT A BENCHMARK KERNEL.** This run was made with"
			echo "> \`KVM_IDLE_BENCH_ALLOW_DEBUG=1\` although"
			sed 's/^/> - /' "$RUN/debug.txt"
			echo ">"
			echo "> Its numbers are not those of the kernel users run: do not quote them as such."
			echo
		fi
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
		echo "- QEMU: $(qemu-system-x86_64 --version | head -n1), accelerator $ACCEL; guest: $GUEST${BOOTARGS:+, kernel arguments \`$BOOTARGS\`}"
		echo "- L1 CPUs (the guest that runs the benchmark, the host of its VMs): **${cpus:-?}** online"
		echo "- the patched kernel (the host of the benchmark's VMs), as the guest saw it:"
		sed 's/^/  - /' "$RUN/env.txt"
		echo "- kernel: $KERNEL_DESC; booted ${KERNEL:-build/linux/arch/x86/boot/bzImage}"
		if [ -n "$cfg" ]; then
			echo "- config, $cfg_from: $(config_summary "$cfg")"
			echo "- debug options: $(debug_summary "$cfg")"
		else
			echo "- config: **unknown**: the booted kernel has no /proc/config.gz and the run recorded no .config"
		fi
		echo "- program: tools/testing/selftests/kvm-idle/ of commit ${PROGRAM:-?}"
		echo
		echo "## Summary"
		echo
		if [ -s "$RUN/debug.txt" ]; then
			echo "**On a kernel with debug options or an unknown configuration (see the top): not the numbers of a benchmark kernel.**"
			echo
		fi
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
			st=$(awk -v n="$name" '$1 == n {
				print ($2 == 124 ? "124: hung, killed at its time limit (where it was: raw/" n ".log)" : $2) " | " $3
			}' "$RUN/status.txt")
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
		echo "## Scaling"
		echo
		echo "The clearing pass (IDLE_BITMAP_SCAN) per 4K page of guest memory and per leaf"
		echo "SPTE visited, from the smallest memory to the largest: linear in mapped pages"
		echo "means a flat ns per leaf SPTE; with 2M backing the pass should grow with the"
		echo "number of 2M mappings (the SPTEs), not with bytes."
		echo
		table scale "| Run | Memory | Backing | Leaf SPTEs | IDLE_BITMAP_SCAN clear pass median ms | ns per 4K page | ns per leaf SPTE |"
		echo
		echo "## Physical-limit proxy"
		echo
		echo "A peek (IDLE_BITMAP_SCAN without clearing) against a user-space sequential read"
		echo "of as many \`u64\` as the pass visits leaf SPTEs: what the walk costs over just"
		echo "reading the page tables."
		echo
		table proxy "| Run | Memory | Backing | Leaf SPTEs | Peek median ms | u64 read median ms | Median / median | Min / min |"
		echo
		echo "## Guest throughput while another process scans continuously"
		echo
		echo "Millions of 4K pages written per second by the guest; unless \`-f 0\`, each"
		echo "vCPU zaps 5% of its memory after each round, so that it also faults pages in."
		echo "The scanner runs flat out, or at 1 pass/s where the scanner says so.  Under"
		echo "TCG a second busy CPU alone slows the guest, since QEMU's threads share the"
		echo "machine's cores with each other and with other work: the CPU burner is a"
		echo "process that spins without touching memory, the control for that."
		echo
		table guest "| Run | Memory | Backing | Scanner | Median Mpages/s | Min | Max | vs no scanner | vs CPU burner | Scanner passes/s |"
		echo
		echo "## Working-set estimates against DAMON"
		echo
		echo "The guest keeps a known hot set; DAMON monitors the VMM process's virtual"
		echo "addresses through its sysfs interface, idle_bitmap is read at a fixed rate."
		echo "Error: the estimate against the true working set; CPU: milliseconds of CPU"
		echo "per second of monitoring (kdamond's, the scanner's)."
		echo
		table damon "| Run | Memory | Backing | Method | Setting | WSS estimate MiB | True WSS MiB | Error % | CPU ms per s |"
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
		# The MGLRU benchmark boots on its own: its last results.
		"$KVM_IDLE_SCRIPTS/bench-mglru.sh" --section "$(dirname "$RESULTS")/RESULTS-mglru.md"
	} >"$RESULTS"
	info "wrote $RESULTS and $RAW/"
	[ ! -s "$RUN/debug.txt" ] ||
		warn "KVM_IDLE_BENCH_ALLOW_DEBUG=1: $RESULTS is of a kernel with debug options or an unknown configuration ($RUN/debug.txt); it says so at the top"
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
