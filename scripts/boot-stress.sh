#!/bin/bash
# Boot the test kernel many times and count the kernel reports of each
# boot, for the boot-time failure class of README "Known problems".
USAGE="usage: scripts/boot-stress.sh [-n BOOTS] [--shadow]

Boots build/linux's kernel BOOTS times (default 50) as scripts/test.sh boots
it (8 GiB, 2 CPUs, the 1G hugetlb pages and pmem region, the same CPU model:
KVM_IDLE_CPU, see scripts/boot.sh), runs 'true' in it and counts the boots
whose console has a kernel report (scripts/boot.sh's patterns), with the
first line of each.  About 25 s a boot on 2 idle cores.  Each boot's console
is build/logs/boot-stress-N.log.  Prints a line per boot and a summary;
exits 1 when a boot had a report or did not finish.
--shadow boots with the shadow MMU (kvm_amd.npt=0 kvm_intel.ept=0).
Extra kernel arguments: KVM_IDLE_CMDLINE; see scripts/boot.sh."
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"

boots=50 mode="kvm_amd.npt=1 kvm_intel.ept=1"
while [ $# -gt 0 ]; do
	case $1 in
	-n)
		[[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || die "-n needs a number of boots: $USAGE"
		boots=$2
		shift 2
		;;
	--shadow)
		mode="kvm_amd.npt=0 kvm_intel.ept=0"
		shift
		;;
	*) die "unknown argument $1: $USAGE" ;;
	esac
done

bad=0 n=0
for ((i = 1; i <= boots; i++)); do
	run=boot-stress-$i
	start=$(date +%s)
	rc=0
	KVM_IDLE_MEM=${KVM_IDLE_MEM:-8G} KVM_IDLE_RUN_NAME=$run KVM_IDLE_QUIET=1 \
		KVM_IDLE_TIMEOUT=${KVM_IDLE_TIMEOUT:-600} \
		KVM_IDLE_CMDLINE="$mode $KVM_IDLE_TEST_CMDLINE ${KVM_IDLE_CMDLINE:-}" \
		"$KVM_IDLE_SCRIPTS/boot.sh" true >/dev/null 2>&1 || rc=$?
	dir=$KVM_IDLE_BUILD/runs/$run
	first=$(cat "$dir/platform-splats" "$dir/splats" 2>/dev/null | grep -m1 '^\[' | sed 's/^\[ *[0-9.]*\] //')
	n=$((n + 1))
	if [ $rc -ne 0 ] || [ -n "$first" ]; then
		bad=$((bad + 1))
		how="exit $rc${first:+: $first}"
	else
		how=clean
	fi
	echo "boot-stress: boot $i of $boots, $(($(date +%s) - start)) s: $how"
done
echo "boot-stress: $n boots, $bad with a kernel report or a failed boot (CPU model: ${KVM_IDLE_CPU:-$KVM_IDLE_TCG_CPU})"
[ $bad -eq 0 ]
