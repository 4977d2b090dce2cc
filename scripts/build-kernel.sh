#!/bin/bash
# Configure build/linux from the fragment (only when an input changed) and
# build bzImage.  Incremental: .config is rewritten only when its content
# changes, so make rebuilds only what the series' changes need.
USAGE="usage: scripts/build-kernel.sh [--config-only]    (config: tinyconfig + kvm_guest.config + scripts/kvm-idle.config)"
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"
config_only=0
case "${1:-}" in
--config-only) config_only=1 ;;
"") ;;
*) die "$USAGE" ;;
esac
need_tree
need_cmd make gcc flex bison bc

L=$KVM_IDLE_LINUX
STAMP=$L/.kvm-idle-config.sha
NEW=.config.kvm-idle-new

# Inputs of the configuration: the fragment, kvm_guest.config, tiny.config
# and every Kconfig file (the series adds options).
config_inputs_sha() {
	{
		sha256sum "$KVM_IDLE_FRAGMENT" | cut -d' ' -f1
		cd "$L"
		find . -path ./.git -prune -o -type f \( -name 'Kconfig*' -o -path './kernel/configs/*.config' \
			-o -path './arch/x86/configs/*.config' \) -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
	} | sha256sum | cut -d' ' -f1
}

sha=$(config_inputs_sha)
if [ -f "$L/.config" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$sha" ]; then
	info "config up to date"
else
	info "configuring (tinyconfig + kvm_guest.config + ${KVM_IDLE_FRAGMENT##*/})"
	rm -f "$L/$NEW" "$L/$NEW.old"
	if ! KCONFIG_CONFIG=$NEW make -C "$L" -s tinyconfig >/dev/null ||
		! (cd "$L" && KCONFIG_CONFIG=$NEW scripts/kconfig/merge_config.sh -m "$NEW" \
			kernel/configs/kvm_guest.config "$KVM_IDLE_FRAGMENT" >/dev/null) ||
		! KCONFIG_CONFIG=$NEW make -C "$L" -s olddefconfig >/dev/null; then
		die "configuring failed (see above); check scripts/kvm-idle.config"
	fi
	if cmp -s "$L/$NEW" "$L/.config"; then
		info "config unchanged"
		rm -f "$L/$NEW"
	else
		info "config changed"
		mv "$L/$NEW" "$L/.config"
	fi
	rm -f "$L/$NEW.old"
	echo "$sha" >"$STAMP"
fi

"$KVM_IDLE_SCRIPTS/check-config.sh" || warn "the kernel lacks options of the fragment (above); tests may fail or skip"
[ $config_only -eq 0 ] || exit 0

info "make -j$KVM_IDLE_JOBS bzImage"
start=$(date +%s)
make -C "$L" -j"$KVM_IDLE_JOBS" bzImage ||
	die "the kernel does not build (see the errors above); fix the series in $L, then scripts/export-series.sh"
info "built $L/arch/x86/boot/bzImage in $(($(date +%s) - start)) s"
