#!/bin/bash
# Run one kvm-idle kselftest many times in one boot of the test kernel, each
# time with a new IDLE_SEED, and count how the failures end.  For failures
# that come now and then, such as a guest that stops with KVM_EXIT_SHUTDOWN
# (a triple fault) in one run of idle_bitmap_fuzz_test or
# idle_bitmap_race_test out of 20 to 40 under TCG.
USAGE="usage: scripts/stress.sh [-n RUNS] [--shadow] [--set FILE=VALUE]... TEST [VAR=VALUE...]

Boots build/linux's kernel as scripts/test.sh does (8 GiB, 2 CPUs, the 1G
hugetlb pages and pmem region), then runs build/kselftest/kvm-idle/TEST
RUNS times (default 20) with VAR=VALUE in its environment, e.g.
IDLE_FUZZ_CALLS=3000.  Prints a line per run and a summary; each run's
output is in build/runs/stress-TEST-npt1/TEST.N.log (npt0 with --shadow).
Exits 1 when a run failed.
--shadow boots with the shadow MMU (kvm_amd.npt=0 kvm_intel.ept=0).
--set FILE=VALUE writes VALUE to FILE in the guest (under /proc/sys or
/sys) before the first run, e.g. to put khugepaged to sleep:
--set /sys/kernel/mm/transparent_hugepage/khugepaged/scan_sleep_millisecs=3600000
Needs scripts/build-kernel.sh and scripts/build-selftests.sh first.
Extra kernel arguments: KVM_IDLE_CMDLINE; see scripts/boot.sh."
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"

# In the guest: scripts/stress.sh --guest RUNS SETS TEST [VAR=VALUE...]
if [ "${1:-}" = --guest ]; then
	[ $# -ge 4 ] || die "$USAGE"
	if [ "$(cat /proc/sys/kernel/hostname)" != kvm-idle-guest ] || [ -z "${KVM_IDLE_OUT:-}" ]; then
		die "--guest runs in the guest that scripts/stress.sh boots"
	fi
	runs=$2 sets=$3 t=$4
	shift 4
	dir=$KVM_IDLE_BUILD/kselftest/kvm-idle
	[ -x "$dir/$t" ] || die "no $dir/$t; run scripts/build-selftests.sh"
	echo "${KVM_IDLE_HUGEPAGES:-512}" >/proc/sys/vm/nr_hugepages
	IFS=$'\n'
	for kv in $sets; do
		f=${kv%%=*}
		echo "${kv#*=}" >"$f" || die "cannot write '${kv#*=}' to $f"
		echo "stress: $f = $(cat "$f")"
	done
	unset IFS
	pass=0 fail=0 shutdown=0 hung=0
	for ((i = 1; i <= runs; i++)); do
		seed=$((RANDOM * 32768 + RANDOM))
		log=$KVM_IDLE_OUT/$t.$i.log
		start=$(date +%s)
		: >"$log"
		# Below the selftests' own 240 s per subtest (IDLE_SUBTEST_TIMEOUT
		# in idle_bitmap_util.c), whose SIGALRM ends a hung subtest without
		# saying where it was: the watchdog must speak first.
		run_limited 230 "$log" env -C "$dir" IDLE_SEED=$seed "$@" "./$t" >/dev/null
		rc=$?
		how=passed
		if [ $rc -ne 0 ]; then
			fail=$((fail + 1))
			how="FAILED (exit $rc)"
			if [ $rc -eq 124 ]; then
				how="$how: overran 230 s, where it was: $log"
			elif grep -q 'unexpected exit SHUTDOWN' "$log"; then
				shutdown=$((shutdown + 1))
				how="$how: KVM_EXIT_SHUTDOWN"
			elif grep -q 'killed by signal 14' "$log"; then
				hung=$((hung + 1))
				how="$how: hung, ended by its subtest's 240 s alarm"
			fi
		else
			pass=$((pass + 1))
		fi
		echo "stress: run $i of $runs, IDLE_SEED=$seed, $(($(date +%s) - start)) s: $how"
	done
	echo "stress: $t: $runs runs, $pass passed, $fail failed ($shutdown with KVM_EXIT_SHUTDOWN, $hung hung)" |
		tee "$KVM_IDLE_OUT/summary"
	dmesg | grep -E 'BUG|WARNING|Oops|KASAN|panic' | head -20
	exit 0
fi

runs=20 mode="kvm_amd.npt=1 kvm_intel.ept=1" name=npt1 sets=
while [ $# -gt 0 ]; do
	case $1 in
	-n)
		[[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || die "-n needs a number of runs: $USAGE"
		runs=$2
		shift 2
		;;
	--shadow)
		mode="kvm_amd.npt=0 kvm_intel.ept=0" name=npt0
		shift
		;;
	--set)
		[[ "${2:-}" =~ ^/(proc/sys|sys)/[^=[:space:]]+=[^[:space:]]*$ ]] ||
			die "--set needs FILE=VALUE, FILE under /proc/sys or /sys: $USAGE"
		sets+="$2"$'\n'
		shift 2
		;;
	-*) die "unknown option $1: $USAGE" ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || die "$USAGE"
t=$1
shift
for a in "$@"; do
	[[ "$a" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "not VAR=VALUE: '$a': $USAGE"
done
case $t in
*/* | .* | "") die "TEST is a program name in build/kselftest/kvm-idle, not '$t'" ;;
esac
[ -x "$KVM_IDLE_BUILD/kselftest/kvm-idle/$t" ] ||
	die "no $KVM_IDLE_BUILD/kselftest/kvm-idle/$t; run scripts/build-kernel.sh and scripts/build-selftests.sh"

run=stress-$t-$name
KVM_IDLE_MEM=${KVM_IDLE_MEM:-8G} KVM_IDLE_RUN_NAME=$run \
	KVM_IDLE_TIMEOUT=${KVM_IDLE_TIMEOUT:-$((runs * 240 + 600))} \
	KVM_IDLE_CMDLINE="$mode $KVM_IDLE_TEST_CMDLINE ${KVM_IDLE_CMDLINE:-}" \
	"$KVM_IDLE_SCRIPTS/boot.sh" "$KVM_IDLE_SCRIPTS/stress.sh" --guest "$runs" "$sets" "$t" "$@" |
	grep -a --line-buffered '^stress: '
summary=$KVM_IDLE_BUILD/runs/$run/summary
[ -s "$summary" ] || die "the guest did not finish (console: $KVM_IDLE_BUILD/logs/$run.log)"
grep -q ' 0 failed' "$summary"
