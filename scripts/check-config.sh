#!/bin/bash
# Check that every option of the config fragment landed in build/linux/.config.
USAGE="usage: scripts/check-config.sh    (exit 1 when an option of scripts/kvm-idle.config is missing)"
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"
[ $# -eq 0 ] || die "$USAGE"
need_tree
CONFIG=$KVM_IDLE_LINUX/.config
[ -f "$CONFIG" ] || die "no $CONFIG; run scripts/build-kernel.sh first"

# The feature's option is expected to be missing while the series does not
# define it yet (e.g. testing the base kernel).
feature_defined() {
	grep -rqs --include='Kconfig*' -x "config ${KVM_IDLE_FEATURE_OPTION#CONFIG_}" \
		"$KVM_IDLE_LINUX/arch/x86/kvm" "$KVM_IDLE_LINUX/virt" "$KVM_IDLE_LINUX/fs" "$KVM_IDLE_LINUX/mm"
}

missing=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) opt=${line%%=*} ;;
	"# CONFIG_"*" is not set") opt=${line#\# } opt=${opt%% *} ;;
	*) continue ;;
	esac
	have=$(grep -E "^$opt=|^# $opt is not set" "$CONFIG" || true)
	[ "$have" = "$line" ] && continue
	# "is not set" and "=n" in the fragment both mean off.
	if [ "$line" = "$opt=n" ] || [ "$line" = "# $opt is not set" ]; then
		[ -z "$have" ] || [ "$have" = "# $opt is not set" ] && continue
	fi
	if [ "$opt" = "$KVM_IDLE_FEATURE_OPTION" ] && ! feature_defined; then
		info "note: $opt is not defined by this tree (the series does not add it yet)"
		continue
	fi
	echo "$PROG: missing: $line (.config has: ${have:-nothing}); a dependency is not met, see 'make menuconfig' search" >&2
	missing=$((missing + 1))
done <"$KVM_IDLE_FRAGMENT"
[ $missing -eq 0 ] || die "$missing option(s) of $KVM_IDLE_FRAGMENT did not land in $CONFIG"
info "all options of ${KVM_IDLE_FRAGMENT##*/} are in .config"
