# shellcheck shell=bash disable=SC2034
# Common paths and helpers for the kvm-idle harness; sourced by scripts/*.sh.
#
# Environment (all optional):
#   KVM_IDLE_BUILD    build directory (default: <repo>/build); holds linux/,
#                     logs/, runs/, kselftest/
#   KVM_IDLE_PATCHES  the series directory (default: <repo>/patches)
#   KVM_IDLE_MIRROR   where new Documentation/ and tools/ files are mirrored
#                     (default: <repo>)
#   KVM_IDLE_JOBS     make -j (default: number of CPUs)
#   KVM_IDLE_LINUX    the kernel tree (default: $KVM_IDLE_BUILD/linux); the
#                     KCSAN build points it at a worktree of that tree
#   KVM_IDLE_FRAGMENT the config fragment (default: scripts/kvm-idle.config)

KVM_IDLE_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KVM_IDLE_TOP=$(dirname "$KVM_IDLE_SCRIPTS")
KVM_IDLE_BUILD=${KVM_IDLE_BUILD:-$KVM_IDLE_TOP/build}
KVM_IDLE_LINUX=${KVM_IDLE_LINUX:-$KVM_IDLE_BUILD/linux}
KVM_IDLE_PATCHES=${KVM_IDLE_PATCHES:-$KVM_IDLE_TOP/patches}
KVM_IDLE_MIRROR=${KVM_IDLE_MIRROR:-$KVM_IDLE_TOP}
KVM_IDLE_JOBS=${KVM_IDLE_JOBS:-$(nproc)}
KVM_IDLE_FRAGMENT=${KVM_IDLE_FRAGMENT:-$KVM_IDLE_SCRIPTS/kvm-idle.config}
# The Kconfig option of the feature; absent from the base kernel.
KVM_IDLE_FEATURE_OPTION=CONFIG_KVM_PROC_IDLE_BITMAP
# The test guest's kernel arguments besides the MMU mode, for test.sh and
# stress.sh.  Two 1G hugetlb pages for the 1G test (they can only be
# reserved at boot; the selftest library maps one more page than it uses,
# for alignment), one per NUMA node so that both keep free memory for the
# THP migration test.  A legacy pmem region for the DAX test (in RAM above
# 4G, in NUMA node 1 of the 8G guest: 4G per node, so that node 0 has room
# for a 1G page above 4G).
KVM_IDLE_TEST_CMDLINE="hugepagesz=1G hugepages=0:1,1:1 memmap=256M!7G"

# The CPU model of every boot under TCG (tests, benchmarks, demo).  QEMU's
# "max" offers LA57, and the 6.12 kernel then runs with 5-level paging.  Its
# identify_cpu() zeroes boot_cpu_data.x86_capability with interrupts on, and
# until CPUID is read again pgtable_l5_enabled() says 4-level: an interrupt
# in that window makes KASAN treat the whole 5-level direct map as wild
# memory (README, "Known problems").  Most servers run 4-level paging, and
# KVM's NPT with them, so the tests run on that machine.
KVM_IDLE_TCG_CPU=max,la57=off

# shellcheck source=pinned.env
. "$KVM_IDLE_SCRIPTS/pinned.env"
# shellcheck source=identity.env
. "$KVM_IDLE_SCRIPTS/identity.env"

PROG=${0##*/}

die() {
	echo "$PROG: error: $*" >&2
	exit 1
}

warn() {
	echo "$PROG: warning: $*" >&2
}

info() {
	echo "$PROG: $*"
}

# usage TEXT: print TEXT and exit 0 on -h/--help; call as: usage_if "$@"
usage_if() {
	case "${1:-}" in
	-h | --help)
		echo "$USAGE"
		exit 0
		;;
	esac
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			die "'$c' is not installed; run scripts/setup.sh as root first"
	done
}

# The kernel work tree must exist (made by scripts/prepare-tree.sh).
need_tree() {
	git -C "$KVM_IDLE_LINUX" rev-parse -q --verify refs/tags/base >/dev/null 2>&1 ||
		die "no kernel tree at $KVM_IDLE_LINUX (git repo with tag 'base'); run scripts/prepare-tree.sh first"
}

# git in the kernel tree, as the project identity.
ktree_git() {
	GIT_AUTHOR_NAME=$KVM_IDLE_NAME GIT_AUTHOR_EMAIL=$KVM_IDLE_EMAIL \
		GIT_COMMITTER_NAME=$KVM_IDLE_NAME GIT_COMMITTER_EMAIL=$KVM_IDLE_EMAIL \
		git -C "$KVM_IDLE_LINUX" "$@"
}

# Print the patch file names of the series, in order (blank lines and
# comments skipped).  Empty output for an empty or missing series.
series_patches() {
	local f=$KVM_IDLE_PATCHES/series line
	[ -f "$f" ] || return 0
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%%#*}
		line=${line//[[:space:]]/}
		[ -n "$line" ] && echo "$line"
	done <"$f"
}

# Identity ("signature") of a change, to match commits in the kernel tree
# with patch files: the diff's patch-id and the message, less the project's
# own Signed-off-by (export-series.sh adds that one).  Signatures of changes
# ever applied from or exported to patches/ are kept in this file:
KVM_IDLE_SYNCED=$KVM_IDLE_LINUX/.git/kvm-idle-synced

normalize_msg() {
	grep -vxF "Signed-off-by: $KVM_IDLE_NAME <$KVM_IDLE_EMAIL>" | git stripspace | sha1sum | cut -c1-12
}

commit_sig() { # COMMIT
	local pid
	pid=$(git -C "$KVM_IDLE_LINUX" show --format= --no-color "$1" | git patch-id --stable | cut -d' ' -f1)
	echo "${pid:-nodiff}-$(git -C "$KVM_IDLE_LINUX" log -1 --format=%B "$1" | normalize_msg)"
}

patch_sig() { # PATCHFILE
	local pid tmp
	pid=$(git patch-id --stable <"$1" | cut -d' ' -f1)
	tmp=$(mktemp -d)
	git mailinfo -u "$tmp/msg" "$tmp/patch" <"$1" >"$tmp/info"
	echo "${pid:-nodiff}-$({ sed -n 's/^Subject: //p' "$tmp/info"; echo; cat "$tmp/msg"; } | normalize_msg)"
	rm -rf "$tmp"
}

# kernel_worktree DIR LABEL: check out the commit at the HEAD of the kernel
# tree ($KVM_IDLE_LINUX) in a git worktree at DIR, for a second kernel built
# from the same commits (scripts/build-kcsan.sh, scripts/build-bench-kernel.sh).
# Made when missing, made again when it is no usable worktree of that tree
# (build/linux was made anew), moved to HEAD otherwise: only files that
# differ are rewritten, so a build in DIR stays incremental.
kernel_worktree() {
	local dir label=$2 sha top common

	# Absolute: git -C below resolves a relative path in the kernel tree.
	dir=$(realpath -m "$1")
	need_tree
	sha=$(git -C "$KVM_IDLE_LINUX" rev-parse HEAD)
	# A directory inside another repository (this one: build/ is in it)
	# would answer for that repository: check that DIR is the top of a
	# worktree of the kernel tree.
	if [ -e "$dir" ]; then
		top=$(git -C "$dir" rev-parse --show-toplevel 2>/dev/null || true)
		common=$(git -C "$dir" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
		if [ "$top" != "$(cd "$dir" && pwd -P)" ] ||
			[ "$common" != "$(cd "$KVM_IDLE_LINUX" && pwd -P)/.git" ] ||
			! git -C "$dir" rev-parse -q --verify HEAD >/dev/null 2>&1; then
			warn "$dir is not a usable worktree of $KVM_IDLE_LINUX any more; making it again"
			rm -rf "$dir"
		fi
	fi
	git -C "$KVM_IDLE_LINUX" worktree prune
	if [ ! -e "$dir" ]; then
		git -C "$KVM_IDLE_LINUX" worktree add -q --detach "$dir" "$sha" ||
			die "cannot add a worktree at $dir (see above); remove it and rerun"
	elif [ "$(git -C "$dir" rev-parse HEAD)" != "$sha" ]; then
		git -C "$dir" checkout -q --detach --force "$sha" ||
			die "cannot check out $sha in $dir (see above); remove $dir and rerun"
	fi
	info "$label: $dir at $(git -C "$dir" log -1 --format='%h %s')"
}

# update_file FILE: write standard input to FILE, leaving FILE alone (mtime
# included) when its content would not change.
update_file() {
	cat >"$1.tmp" || die "cannot write $1.tmp"
	if cmp -s "$1.tmp" "$1"; then
		rm -f "$1.tmp"
	else
		mv "$1.tmp" "$1"
	fi
}

# Debug options that must be off in a kernel whose timings are reported
# (scripts/build-bench-kernel.sh, scripts/guest-bench.sh): the test kernel's
# checkers and what they select.
KVM_IDLE_DEBUG_OPTIONS="LOCKDEP PROVE_LOCKING PROVE_RCU DEBUG_VM DEBUG_ATOMIC_SLEEP
DEBUG_LIST KASAN KCSAN KVM_PROVE_MMU LOCK_STAT KUNIT KVM_PROC_IDLE_BITMAP_KUNIT_TEST
DEBUG_LOCK_ALLOC DEBUG_SPINLOCK DEBUG_MUTEXES DEBUG_RWSEMS DEBUG_PREEMPT
DEBUG_OBJECTS DEBUG_KMEMLEAK"

# config_debug_options CONFIG: the options of $KVM_IDLE_DEBUG_OPTIONS that the
# kernel configuration file CONFIG has (=y or =m), one "CONFIG_X=V" a line.
config_debug_options() {
	local o
	for o in $KVM_IDLE_DEBUG_OPTIONS; do
		grep -E "^CONFIG_$o=[ym]\$" "$1" || true
	done
}

# ksft_shutdown_failures TAP: the kvm-idle kselftests that the kselftest
# runner's output TAP reports failed after printing "unexpected exit
# SHUTDOWN": a KVM guest's triple fault under TCG that is not the test's
# doing (README, "Known problems").  One name per line.
ksft_shutdown_failures() {
	tr -d '\r' <"$1" | awk '
		/unexpected exit SHUTDOWN/ { sd = 1 }
		/^not ok [0-9]+ selftests: kvm-idle: / && sd { print $6 }
		/^(not )?ok [0-9]+ / { sd = 0 }'
}

# bench_program_build TREE BIN: build the kvm-idle kselftest program BIN
# (OUTPUT directory/program name) against TREE's UAPI headers, from a copy
# of tools/testing/selftests/kvm-idle in TREE (kvm-idle-bench), for the
# benchmarks that boot TREE's kernel.
bench_program_build() {
	local tree=$1 bin=$2 copy=$1/tools/testing/selftests/kvm-idle-bench

	info "building $bin in $tree"
	make -C "$tree" -s headers_install || die "make headers_install failed in $tree (see above)"
	mkdir -p "$copy" "${bin%/*}"
	rsync -a --delete "$KVM_IDLE_TOP/tools/testing/selftests/kvm-idle/" "$copy/"
	make -C "$copy" -j"$KVM_IDLE_JOBS" OUTPUT="${bin%/*}" \
		IDLE_BITMAP_DECODE_DIR="$KVM_IDLE_TOP/tools/kvm/kvm_idle" "$bin" ||
		die "${bin##*/} does not build (see above)"
}

# bench_guest_check OUT: in a benchmark's guest, before any run.  Writes
# the booted kernel's configuration (/proc/config.gz) to OUT/config.txt and
# refuses (the reasons on stderr and in OUT/refused.txt, exit 1) a guest
# with fewer than 2 CPUs, and a kernel with debug options or without
# /proc/config.gz, unless KVM_IDLE_BENCH_ALLOW_DEBUG=1: then OUT/debug.txt
# says what is wrong with it.
bench_guest_check() {
	local out=$1 ncpus p
	local -a found problems=()

	rm -f "$out/config.txt" "$out/debug.txt" "$out/refused.txt"
	ncpus=$(nproc)
	[ "$ncpus" -ge 2 ] ||
		bench_refuse "$out" "the guest has $ncpus CPU; the benchmark needs at least 2, so that the scanner does not share the vCPU's CPU (KVM_IDLE_SMP, and CONFIG_ACPI in the kernel: without the MADT the guest sees one CPU)"
	if [ -r /proc/config.gz ]; then
		zcat /proc/config.gz >"$out/config.txt" || bench_refuse "$out" "cannot read /proc/config.gz"
		mapfile -t found < <(config_debug_options "$out/config.txt")
		[ ${#found[@]} -eq 0 ] ||
			problems+=("the booted kernel has debug options: ${found[*]}")
	else
		problems+=("the booted kernel has no /proc/config.gz (CONFIG_IKCONFIG_PROC), so its configuration cannot be checked or recorded")
	fi
	[ ${#problems[@]} -gt 0 ] || return 0
	if [ "${KVM_IDLE_BENCH_ALLOW_DEBUG:-0}" != 1 ]; then
		bench_refuse "$out" "${problems[@]}" \
			"its timings would not be those of the kernel users run: boot the benchmark kernel (scripts/build-bench-kernel.sh; scripts/bench.sh and scripts/bench-mglru.sh without KVM_IDLE_KERNEL build and boot it), or set KVM_IDLE_BENCH_ALLOW_DEBUG=1 to benchmark this kernel deliberately"
	fi
	printf '%s\n' "${problems[@]}" >"$out/debug.txt"
	for p in "${problems[@]}"; do
		echo "$PROG: WARNING: KVM_IDLE_BENCH_ALLOW_DEBUG=1: running anyway, although $p" >&2
	done
}

# bench_refuse OUT REASON...: bench_guest_check's refusal.
bench_refuse() {
	local out=$1 r

	shift
	for r; do echo "$PROG: error: $r"; done | tee "$out/refused.txt" >&2
	exit 1
}

# descendants PID: PID and every process below it, one a line (the
# kselftest runner's timeout(1) moves tests into process groups of their
# own, so a process group would miss them).
descendants() {
	# One awk over all of /proc: in a guest under TCG a fork per process
	# would take minutes.  cat goes on past processes that just exited.
	# shellcheck disable=SC2002 # cat: awk would stop at a vanished file
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
		{ pid = $1; sub(/^.*\) /, ""); parent[pid] = $2 }
		END {
			for (p in parent) {
				for (q = p; q != "" && q != 0 && q != 1; q = parent[q])
					if (q == root) { print p; break }
			}
		}'
}

# where_stuck PID LOG: say where a run that overran its time limit was, on
# stdout, each line prefixed "# " (a TAP comment): the last lines of its
# output LOG (its phase), every thread of PID and the processes below it
# with its state, wait channel and kernel stack (/proc/PID/task/TID/stack),
# and the last VM exit of each vCPU seen in 2 s of the kvm:kvm_exit
# tracepoint.
where_stuck() {
	local p t tr=/sys/kernel/tracing inst comm stat wchan line

	echo "# watchdog: where it was at $(date +%T):"
	echo "# last lines of its output:"
	tail -n 5 "$2" 2>/dev/null | sed 's/^#* */#   /'
	for p in $(descendants "$1" | sort -n); do
		for t in /proc/"$p"/task/*; do
			# Shell builtins only, for the same reason as above.
			comm='?' stat='?' wchan='?'
			read -r comm <"$t/comm" 2>/dev/null
			read -r stat <"$t/stat" 2>/dev/null
			read -r wchan <"$t/wchan" 2>/dev/null
			stat=${stat##*) }
			echo "# thread ${t##*/} ($comm) of $p: state ${stat%% *}, wchan $wchan"
			while read -r line; do echo "#     $line"; done <"$t/stack" 2>/dev/null
		done
	done
	if [ -d "$tr/events/kvm/kvm_exit" ]; then
		inst=$tr/instances/kvm-idle-watchdog
		rmdir "$inst" 2>/dev/null
		if mkdir "$inst" 2>/dev/null; then
			echo 1 >"$inst/events/kvm/kvm_exit/enable"
			sleep 2
			echo 0 >"$inst/events/kvm/kvm_exit/enable"
			echo "# VM exits in 2 s, the last of each vCPU (thread, vCPU, reason, guest RIP):"
			awk '/kvm_exit: vcpu/ {
					for (i = 1; i <= NF; i++) if ($i == "vcpu") v = $(i + 1)
					n[v]++; last[v] = $0
				}
				END {
					for (v in n) print "#   " n[v] " exits; last: " last[v]
					if (length(n) == 0) print "#   none: no vCPU left the guest"
				}' "$inst/trace" | sed 's/  */ /g'
			rmdir "$inst" 2>/dev/null
		fi
	else
		echo "# (no kvm:kvm_exit tracepoint in this kernel: no VM exit reasons)"
	fi
}

# run_limited LIMIT LOG CMD...: run CMD for at most LIMIT seconds, its
# output appended to LOG and copied to stdout.  When the limit expires: where_stuck (to stdout and LOG), then CMD and the
# processes below it are killed; the status is 124.  Otherwise CMD's status.
run_limited() {
	local limit=$1 log=$2 pid rc t0 where procs

	shift 2
	t0=$SECONDS
	"$@" > >(tee -a "$log") 2>&1 </dev/null &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if [ $((SECONDS - t0)) -ge "$limit" ]; then
			where=$(where_stuck "$pid" "$log")
			printf '# watchdog: %s overran its limit of %s s\n%s\n' "$*" "$limit" "$where" | tee -a "$log"
			procs=$(descendants "$pid")
			# shellcheck disable=SC2086 # one PID a word
			kill -TERM $procs 2>/dev/null
			sleep 5
			# shellcheck disable=SC2086
			kill -KILL $procs 2>/dev/null
			wait "$pid" 2>/dev/null
			return 124
		fi
		sleep 1
	done
	wait "$pid"
	rc=$?
	# Let tee write the last lines.
	sleep 0.2
	return $rc
}

# bench_limit NAME: the time limit of run NAME, in seconds: four times
# its wall time in the committed run (benchmarks/raw/status.txt), at least
# 300 s; 1800 s for a run that is not there; KVM_IDLE_BENCH_LIMIT for all.
bench_limit() {
	local t
	t=$(awk -v n="$1" '$1 == n { print $3 }' "$KVM_IDLE_TOP/benchmarks/raw/status.txt" 2>/dev/null)
	if [ -n "${KVM_IDLE_BENCH_LIMIT:-}" ]; then
		echo "$KVM_IDLE_BENCH_LIMIT"
	elif [ -z "$t" ]; then
		echo 1800
	elif [ $((4 * t)) -lt 300 ]; then
		echo 300
	else
		echo $((4 * t))
	fi
}
