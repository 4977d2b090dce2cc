#!/bin/bash
# The kvm-idle demo: real QEMU/KVM guests' working sets, measured through
# /proc/PID/idle_bitmap by tools/kvm/kvm_idle, and their memory placed on two
# NUMA tiers by kvm_idle --place, each next to the truth.
USAGE="usage: scripts/demo.sh    (as root, on a Debian 12 machine; installs and builds what it needs)

Builds what is missing, boots the patched kernel under QEMU (scripts/boot.sh:
two NUMA nodes, node 1 with memory and no CPUs, the slow tier) and runs
scripts/demo/run-in-vm.sh in it.  That starts two real
qemu-system-x86_64 -enable-kvm guests (Debian's kernel, scripts/demo/hotset.c
as /init), each of which writes 192 MiB once and then loops over a hot set
of the first H MiB, switching H on command, and reports where its hot and
cold pages are in guest-physical memory (from its /proc/self/pagemap).

1. Working set: kvm_idle reads guest-a's QEMU's /proc/PID/idle_bitmap every
   2 s, for H = 0 (the background), 32 and 128; each reported working set
   must be within 10% of the truth (the hot set plus the page tables that
   map it, counted by the guest).
2. Placement, one guest: guest-a's hot set is 32 MiB; kvm_idle
   --place=1:0 --cold-age=3 moves its cold memory to node 1.
3. Only with KVM_IDLE_DEMO_TWO=1 (two inner guests at once are unstable
   under TCG's nested SVM; see README): placement, two guests: guest-a's hot
   set grows to 96 MiB (64 MiB of it now on node 1), guest-b's is 48 MiB;
   kvm_idle --place --fast-budget=256M on both QEMUs (less than their
   memory, more than the two hot sets).
After each placement the demo measures on which node every hot and cold
page of the guests is, with move_pages(2) on QEMU's memory
(scripts/demo/numa-where.c; guest-physical + the base of QEMU's RAM mapping),
and prints that next to the truth.  It passes when, after each placement,
at least 95% of each hot set is on node 0, in part 2 at least 95% of the
cold memory is on node 1, in part 3 both guests' RAM on node 0 fits the
budget, and each guest's checksum of its memory is unchanged.

Builds, each only when needed: the packages and kernel tree
(scripts/setup.sh and scripts/prepare-tree.sh when there is no tree), the
kernel (scripts/build-kernel.sh, incremental), the tool
(scripts/build-tool.sh) and the inner guests' kernel, initramfs and checker
(scripts/demo/build-guest.sh: Debian's linux-image-*-amd64 via apt-get
download, hotset.c static, numa-where.c).

Environment:
  KVM_IDLE_DEMO_HOT       hot set sizes of part 1 in MiB (default \"32 128\")
  KVM_IDLE_DEMO_TOTAL     MiB each guest writes once (default 192)
  KVM_IDLE_DEMO_INTERVAL  seconds between rounds (default 2)
  KVM_IDLE_DEMO_ROUNDS    rounds measured per hot set in part 1 (default 4)
  KVM_IDLE_DEMO_TOL       part 1 tolerance in percent (default 10)
  KVM_IDLE_DEMO_PLACE_HOT guest-a's hot set in part 2, MiB (default 32)
  KVM_IDLE_DEMO_TWO=1     run part 3 (two guests, one fast-tier budget)
  KVM_IDLE_DEMO_HOT_A2    guest-a's hot set in part 3, MiB (default 96)
  KVM_IDLE_DEMO_HOT_B     guest-b's hot set in part 3, MiB (default 48)
  KVM_IDLE_DEMO_BUDGET    part 3 fast-tier budget, MiB (default 256)
  KVM_IDLE_DEMO_COLD_AGE  kvm_idle --cold-age (default 3)
  KVM_IDLE_DEMO_MIN_PCT   placement threshold in percent (default 95)
  KVM_IDLE_DEMO_TOOL      the kvm_idle to run (default: the one built)
  KVM_IDLE_DEMO_GUEST_KERNEL  the inner guests' kernel (default
                          build/demo/vmlinuz, Debian's)
  KVM_IDLE_KERNEL         boot this bzImage (outer), build no kernel
  KVM_IDLE_TIMEOUT        seconds until the outer guest is killed (default 1200)
  KVM_IDLE_QUIET=1        do not show the console while it runs
Results: build/runs/demo/ (result.txt, placement.txt, heatmap.txt, demo.svg,
placement-2.svg, rounds.jsonl, placement-*.jsonl, demo.rec,
where-*.txt, ranges-*.txt, serial-guest-*.log); console log:
build/logs/demo.log.
Time on 2 cores with TCG, once built: 224 s measured (parts 1 and 2).
Exit status: 0 when every check passes."
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"
[ $# -eq 0 ] || die "$USAGE"

S=$KVM_IDLE_SCRIPTS
L=$KVM_IDLE_LINUX
T0=$SECONDS

if [ -z "${KVM_IDLE_KERNEL:-}" ]; then
	if ! git -C "$L" rev-parse -q --verify refs/tags/base >/dev/null 2>&1; then
		info "no kernel tree yet: setting up and applying the series"
		"$S/setup.sh"
		"$S/prepare-tree.sh"
	fi
	info "building the kernel (incremental)"
	"$S/build-kernel.sh" || die "the kernel does not build; see above"
	grep -qx "$KVM_IDLE_FEATURE_OPTION=y" "$L/.config" ||
		die "$L/.config lacks $KVM_IDLE_FEATURE_OPTION=y: is the series applied? (scripts/prepare-tree.sh)"
fi

rc=0
"$S/build-tool.sh" || rc=$?
case $rc in
0) tool=$L/tools/kvm/kvm_idle/kvm_idle ;;
4)
	# Not in the series yet: build the copy at the top of the repository.
	info "building the top-level copy of tools/kvm/kvm_idle against $L"
	make -C "$KVM_IDLE_TOP/tools/kvm/kvm_idle" srctree="$L" ||
		die "tools/kvm/kvm_idle does not build"
	tool=$KVM_IDLE_TOP/tools/kvm/kvm_idle/kvm_idle
	;;
*) die "scripts/build-tool.sh failed; see above" ;;
esac
"$S/demo/build-guest.sh"

export KVM_IDLE_DEMO_TOOL=${KVM_IDLE_DEMO_TOOL:-$tool}
export KVM_IDLE_TIMEOUT=${KVM_IDLE_TIMEOUT:-1200}
rc=0
KVM_IDLE_RUN_NAME=demo "$S/boot.sh" "$S/demo/run-in-vm.sh" || rc=$?
run=$KVM_IDLE_BUILD/runs/demo
echo
if [ -s "$run/result.txt" ]; then
	cat "$run/heatmap.txt" 2>/dev/null || true
	echo
	cat "$run/result.txt"
	echo "results in $run (demo.svg: the heat map of part 1; placement-2.svg: of part 2); total time $((SECONDS - T0)) s"
fi
case $rc in
0) ;;
97) echo "$PROG: error: the demo passed, but the kernel logged a splat (see above)" >&2 ;;
*) echo "$PROG: error: the demo failed (exit $rc); console: $KVM_IDLE_BUILD/logs/demo.log" >&2 ;;
esac
exit "$rc"
