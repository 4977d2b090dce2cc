#!/bin/bash
# The kvm-idle demo: a real QEMU/KVM guest's working set, measured through
# /proc/PID/idle_bitmap by tools/kvm/kvm_idle, next to the truth.
USAGE="usage: scripts/demo.sh    (as root, on a machine set up by scripts/test.sh or scripts/setup.sh)

Builds what is missing, boots the patched kernel under QEMU (scripts/boot.sh)
and runs scripts/demo/run-in-vm.sh in it.  That starts a real
qemu-system-x86_64 -enable-kvm whose guest (the same bzImage, with
scripts/demo/hotset.c as /init) writes 192 MiB once and then loops over a hot
set of H MiB, switching H on command: 0 (the background), then 32 and 128.
kvm_idle reads that QEMU's /proc/PID/idle_bitmap every 2 s.  For each H the
demo prints the reported working set next to the truth (the hot set plus the
page tables that map it, counted by the guest) and the heat map; it passes
when each is within 10%.

Builds, each only when needed: the kernel (scripts/prepare-tree.sh when there
is no tree, then scripts/build-kernel.sh, which is incremental), the tool
(scripts/build-tool.sh) and the inner guest's initramfs
(scripts/demo/build-guest.sh).

Environment:
  KVM_IDLE_DEMO_HOT       hot set sizes in MiB (default \"32 128\")
  KVM_IDLE_DEMO_TOTAL     MiB the guest writes once (default 192)
  KVM_IDLE_DEMO_INTERVAL  seconds between rounds (default 2)
  KVM_IDLE_DEMO_ROUNDS    rounds measured per hot set (default 4)
  KVM_IDLE_DEMO_TOL       tolerance in percent (default 10)
  KVM_IDLE_KERNEL         boot this bzImage (outer and inner), build no kernel
  KVM_IDLE_QUIET=1        do not show the console while it runs
Results: build/runs/demo/ (result.txt, heatmap.txt, demo.svg, rounds.jsonl,
demo.rec, serial.log); console log: build/logs/demo.log.
Time on 2 cores with TCG, once built: about 11 minutes (the inner guest boots
the KASAN test kernel, which takes most of it).
Exit status: 0 when every hot set is within the tolerance."
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

export KVM_IDLE_DEMO_TOOL=$tool
rc=0
KVM_IDLE_RUN_NAME=demo "$S/boot.sh" "$S/demo/run-in-vm.sh" || rc=$?
run=$KVM_IDLE_BUILD/runs/demo
echo
if [ -s "$run/result.txt" ]; then
	cat "$run/heatmap.txt" 2>/dev/null || true
	echo
	cat "$run/result.txt"
	echo "results in $run (demo.svg: the heat map as an image); total time $((SECONDS - T0)) s"
fi
case $rc in
0) ;;
97) echo "$PROG: error: the demo passed, but the kernel logged a splat (see above)" >&2 ;;
*) echo "$PROG: error: the demo failed (exit $rc); console: $KVM_IDLE_BUILD/logs/demo.log" >&2 ;;
esac
exit "$rc"
