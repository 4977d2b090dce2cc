#!/bin/bash
# Build the kvm-idle kselftests of the series and install them with the
# kselftest runner into build/kselftest; build upstream's
# access_tracking_perf_test into build/regress.  Incremental.
USAGE="usage: scripts/build-selftests.sh"
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"
[ $# -eq 0 ] || die "$USAGE"
need_tree
need_cmd make gcc rsync

L=$KVM_IDLE_LINUX
ST=$L/tools/testing/selftests
KSFT=$KVM_IDLE_BUILD/kselftest
REGRESS=$KVM_IDLE_BUILD/regress

info "make headers_install"
make -C "$L" -s headers_install || die "make headers_install failed in $L (see above)"

rm -rf "$KSFT"
if [ -f "$ST/kvm-idle/Makefile" ]; then
	info "building and installing the kvm-idle kselftests into $KSFT"
	make -C "$ST" -j"$KVM_IDLE_JOBS" FORCE_TARGETS=1 TARGETS=kvm-idle INSTALL_PATH="$KSFT" install ||
		die "the kvm-idle kselftests do not build (see above); fix them in $L, then scripts/export-series.sh"
	[ -x "$KSFT/run_kselftest.sh" ] || die "no $KSFT/run_kselftest.sh after make install"
else
	echo "SKIP: $ST/kvm-idle is not in the series yet; no kvm-idle kselftests to build"
fi

info "building access_tracking_perf_test"
make -C "$ST/kvm" -j"$KVM_IDLE_JOBS" "$ST/kvm/access_tracking_perf_test" ||
	die "access_tracking_perf_test does not build (see above)"
mkdir -p "$REGRESS"
install -m 755 "$ST/kvm/access_tracking_perf_test" "$REGRESS/"
info "installed $REGRESS/access_tracking_perf_test"
