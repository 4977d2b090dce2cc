#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Usage: $0 [ACCESS_TRACKING_PERF_TEST]
#
# Upstream's access_tracking_perf_test (tools/testing/selftests/kvm), run
# with a small guest, must still pass with /proc/PID/idle_bitmap built in:
# the new mmu_notifier callback and the walker must not change how
# clear_young() and test_young() age guest memory for page_idle.  This
# directory's Makefile builds the test from ../kvm; a ../kvm build is used if
# that one is missing.

ksft_skip=4
dir=$(dirname "$0")

test=${1:-}
if [ -z "$test" ]; then
	for t in "$dir/access_tracking_perf_test" "$dir/../kvm/access_tracking_perf_test"; do
		if [ -x "$t" ]; then
			test=$t
			break
		fi
	done
fi
if [ -z "$test" ] || [ ! -x "$test" ]; then
	echo "SKIP: access_tracking_perf_test not built; run make in this directory"
	exit $ksft_skip
fi
if [ ! -e /sys/kernel/mm/page_idle/bitmap ]; then
	echo "SKIP: /sys/kernel/mm/page_idle/bitmap missing (needs CONFIG_IDLE_PAGE_TRACKING=y)"
	exit $ksft_skip
fi

# Two vCPUs with 16M each: a few seconds even under nested TCG.
exec "$test" -v 2 -b 16M
