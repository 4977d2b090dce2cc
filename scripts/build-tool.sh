#!/bin/bash
# Build the user tool of the series, tools/kvm/kvm_idle, in build/linux.
USAGE="usage: scripts/build-tool.sh    (exit 4 when the series has no tools/kvm/kvm_idle/Makefile yet)"
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"
[ $# -eq 0 ] || die "$USAGE"
need_tree
need_cmd make gcc

T=$KVM_IDLE_LINUX/tools/kvm/kvm_idle
if [ ! -f "$T/Makefile" ]; then
	echo "SKIP: $T/Makefile is not in the series yet; no tool to build"
	exit 4
fi
[ -d "$KVM_IDLE_LINUX/usr/include/linux" ] || make -C "$KVM_IDLE_LINUX" -s headers_install
make -C "$T" -j"$KVM_IDLE_JOBS" || die "tools/kvm/kvm_idle does not build (see above); fix it in $KVM_IDLE_LINUX"
info "built $T"
