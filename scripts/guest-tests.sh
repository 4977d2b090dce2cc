#!/bin/bash
# Run inside the kvm-idle guest (scripts/test.sh boots it with scripts/boot.sh):
# check that KVM runs in the requested MMU mode, run the kvm-idle kselftests
# with the kselftest runner and upstream's access_tracking_perf_test as a
# regression test (KVM_IDLE_KSFT_TESTS="TEST..." runs only those kvm-idle
# tests, and not the regression test).  Results are TAP files in
# $KVM_IDLE_OUT: guest.tap (checks and regression test), kselftest.tap
# (the runner's output) and kselftest-rerun.tap (the reruns of tests whose
# guest stopped with KVM_EXIT_SHUTDOWN).
USAGE="usage: scripts/boot.sh scripts/guest-tests.sh tdp|shadow"
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"
case "${1:-}" in
tdp) want=Y ;;
shadow) want=N ;;
*) die "$USAGE" ;;
esac
if [ "$(cat /proc/sys/kernel/hostname)" != kvm-idle-guest ] || [ -z "${KVM_IDLE_OUT:-}" ]; then
	die "run me in the guest: $USAGE"
fi
OUT=$KVM_IDLE_OUT
TAP=$OUT/guest.tap
KSFT=$KVM_IDLE_BUILD/kselftest
ATPT=$KVM_IDLE_BUILD/regress/access_tracking_perf_test

n=0
result() { # ok|"not ok" DESCRIPTION [DIRECTIVE]
	n=$((n + 1))
	echo "$1 $n $2${3:+ # $3}" | tee -a "$TAP"
}
check() { # DESCRIPTION COMMAND...
	local d=$1
	shift
	if "$@"; then result ok "$d"; else result "not ok" "$d"; fi
}
param() { cat "/sys/module/$1/parameters/$2" 2>/dev/null; }

echo "TAP version 13" >"$TAP"
check "/dev/kvm exists" test -c /dev/kvm
# The race tests need vCPUs and scanners on real parallel CPUs (-smp 2 and
# CONFIG_ACPI: without the MADT the guest sees one CPU).
ncpus=$(nproc)
check "the test guest has at least 2 CPUs (online: $ncpus)" test "$ncpus" -ge 2
if [ -d /sys/module/kvm_amd ]; then vendor=kvm_amd tdp=npt; else vendor=kvm_intel tdp=ept; fi
check "$vendor.$tdp is $want (cmdline: $(grep -o "$vendor\.$tdp=[^ ]*" /proc/cmdline))" \
	test "$(param "$vendor" "$tdp")" = "$want"
check "kvm.tdp_mmu is $want (TDP MMU $(if [ "$want" = Y ]; then echo on; else echo off; fi))" \
	test "$(param kvm tdp_mmu)" = "$want"

# 2M hugetlb pages for the tests' hugetlb backing.
echo "${KVM_IDLE_HUGEPAGES:-512}" >/proc/sys/vm/nr_hugepages ||
	echo "guest-tests: cannot reserve hugetlb pages" >&2

# Two NUMA nodes for the THP migration test (scripts/boot.sh makes them).
nodes=$(find /sys/devices/system/node -maxdepth 1 -name 'node[0-9]*' 2>/dev/null | wc -l)
check "the test guest has at least 2 NUMA nodes (nodes: $nodes)" test "$nodes" -ge 2

# A DAX filesystem on the legacy pmem region that scripts/test.sh reserves
# (memmap=SIZE!START): 2M stripes, so that files get 2M-aligned extents
# and the host maps them with DAX PMDs.
if [ -b /dev/pmem0 ]; then
	dax=/tmp/kvm-idle-dax
	mkdir -p "$dax"
	if mkfs.ext4 -q -F -b 4096 -E stride=512,stripe_width=512 /dev/pmem0 &&
		mount -t ext4 -o dax /dev/pmem0 "$dax"; then
		export KVM_IDLE_DAX_DIR=$dax
	fi
fi
pmem=$(find /dev -maxdepth 1 -name 'pmem*' -printf '%f ')
check "a DAX filesystem is mounted (pmem: ${pmem:-none}; dir: ${KVM_IDLE_DAX_DIR:-none})" \
	test -n "${KVM_IDLE_DAX_DIR:-}"

# The KUnit suite of the record encoder ran at boot: its KTAP lines are in
# the kernel log.  Each case counts once, in the TDP MMU boot; other boots
# count the suite as one test.
kunit=idle_bitmap_encoder
kunit_ktap() {
	dmesg | sed 's/^\[[^]]*\] //' | awk -v s="$kunit" '
		$0 ~ "# Subtest: " s "$" { on = 1; next }
		on && /^[ \t]+(not )?ok [0-9]+ / { print "case " $0; next }
		on && /^[ \t]+# / { print "diag " $0; next }
		on && /^(not )?ok [0-9]+ / { print "suite " $0; exit }'
}
ktap=$(kunit_ktap)
cases=$(grep -c '^case ' <<<"$ktap")
failed=$(grep -c '^case *not ok' <<<"$ktap")
if [ "$cases" -eq 0 ]; then
	result "not ok" "KUnit $kunit ran at boot (no results in dmesg; CONFIG_KVM_PROC_IDLE_BITMAP_KUNIT_TEST=y?)"
elif [ "$want" = Y ]; then
	while read -r _ line; do
		case $line in
		"not ok "*) result "not ok" "KUnit $kunit: $(cut -d' ' -f4- <<<"$line")" ;;
		*) result ok "KUnit $kunit: $(cut -d' ' -f3- <<<"$line")" ;;
		esac
	done < <(grep '^case ' <<<"$ktap")
else
	check "KUnit $kunit: $((cases - failed)) of $cases cases passed" test "$failed" -eq 0
fi
[ "$failed" -eq 0 ] || grep '^diag ' <<<"$ktap" | cut -c6- >&2

if [ -x "$KSFT/run_kselftest.sh" ]; then
	# Tests may write next to themselves: run a copy on tmpfs.
	rm -rf /tmp/kselftest
	cp -a "$KSFT" /tmp/kselftest
	# One runner call per test, each under its own time limit
	# (scripts/ksft-limits.txt; KVM_IDLE_KSFT_TIMEOUT sets one for all):
	# on expiry the watchdog prints where the test was (lib.sh's
	# where_stuck) and the test fails with TIMEOUT.  The runner's own
	# limit is a minute longer, so that the watchdog speaks first.
	# ksft_run TAP TEST: append TEST's results to TAP; its time to
	# kselftest-times.txt.
	ksft_run() {
		local tap=$1 t=$2 limit start rc
		limit=${KVM_IDLE_KSFT_TIMEOUT:-$(awk -v t="$t" '$1 == t { print $2 }' "$KVM_IDLE_SCRIPTS/ksft-limits.txt")}
		limit=${limit:-600}
		start=$(date +%s)
		run_limited "$limit" "$tap" env -C /tmp/kselftest \
			./run_kselftest.sh -t "kvm-idle:$t" -o $((limit + 60))
		rc=$?
		echo "$t $(($(date +%s) - start)) $limit $rc" >>"$OUT/kselftest-times.txt"
		[ $rc -ne 124 ] ||
			echo "not ok 1 selftests: kvm-idle: $t # TIMEOUT after $limit s (scripts/ksft-limits.txt; where it was: above)" |
			tee -a "$tap"
	}
	if [ -n "${KVM_IDLE_KSFT_TESTS:-}" ]; then
		tests=$KVM_IDLE_KSFT_TESTS
	else
		tests=$(cd /tmp/kselftest && ./run_kselftest.sh -l | sed -n 's/^kvm-idle://p')
	fi
	: >"$OUT/kselftest.tap"
	: >"$OUT/kselftest-times.txt"
	for t in $tests; do ksft_run "$OUT/kselftest.tap" "$t"; done
	# A test whose KVM guest stopped with KVM_EXIT_SHUTDOWN, the known
	# TCG problem (README, "Known problems"), runs once more;
	# scripts/test.sh reports both runs.
	: >"$OUT/kselftest-rerun.tap"
	for t in $(ksft_shutdown_failures "$OUT/kselftest.tap"); do
		echo "guest-tests: $t stopped with KVM_EXIT_SHUTDOWN; running it once more"
		ksft_run "$OUT/kselftest-rerun.tap" "$t"
	done
else
	printf 'TAP version 13\n1..1\nok 1 selftests: kvm-idle # SKIP not built (%s)\n' \
		"no tools/testing/selftests/kvm-idle in the series yet" | tee "$OUT/kselftest.tap"
fi

# Upstream's page_idle-based test: the feature must not break it.  Marking
# 64M idle through page_idle takes about 2 minutes under TCG.
args=${KVM_IDLE_REGRESS_ARGS:--b 64M -v 1}
name="access_tracking_perf_test $args"
if [ -n "${KVM_IDLE_KSFT_TESTS:-}" ]; then
	result ok "$name" "SKIP only KVM_IDLE_KSFT_TESTS ran"
elif [ -x "$ATPT" ]; then
	echo "guest-tests: $ATPT $args"
	: >"$OUT/access_tracking_perf_test.log"
	# shellcheck disable=SC2086 # split the arguments
	run_limited "${KVM_IDLE_REGRESS_TIMEOUT:-900}" "$OUT/access_tracking_perf_test.log" "$ATPT" $args
	rc=$?
	case $rc in
	0) result ok "$name" ;;
	4) result ok "$name" "SKIP $(tail -n1 "$OUT/access_tracking_perf_test.log")" ;;
	124) result "not ok" "$name (overran ${KVM_IDLE_REGRESS_TIMEOUT:-900} s; where it was: $OUT/access_tracking_perf_test.log)" "TIMEOUT" ;;
	*) result "not ok" "$name (exit $rc)" ;;
	esac
else
	result "not ok" "$name (not built: $ATPT)"
fi
echo "1..$n" >>"$TAP"
