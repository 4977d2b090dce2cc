#!/bin/bash
# Install the packages the kvm-idle harness needs, with the pinned kernel source.
USAGE="usage: scripts/setup.sh    (as root; does nothing when all is installed)"
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"
[ $# -eq 0 ] || die "$USAGE"

# Build the kernel, selftests and tool; boot under QEMU (TCG); share the host
# root with the guest (which runs QEMU again, for the demo); check patches
# (checkpatch, sparse, shellcheck) and build the documentation (Sphinx; PyYAML
# for the netlink specs that "make htmldocs" generates first).
PACKAGES=(
	build-essential flex bison bc libelf-dev libssl-dev cpio xz-utils kmod
	git rsync python3 python3-ply python3-git perl sparse pkg-config libcap-dev libnuma-dev
	qemu-system-x86 qemu-utils qemu-system-data seabios ipxe-qemu
	busybox-static procps e2fsprogs shellcheck git-email libmailtools-perl python3-sphinx
	python3-yaml
)
PKG=$KVM_IDLE_DEB_PACKAGE
PIN=$KVM_IDLE_DEB_VERSION

installed_version() {
	{ dpkg-query -W -f='${db:Status-Abbrev}${Version}' "$1" 2>/dev/null || true; } |
		sed -n 's/^ii *//p'
}

missing=()
for p in "${PACKAGES[@]}"; do
	[ -n "$(installed_version "$p")" ] || missing+=("$p")
done
have_src=$(installed_version "$PKG")

if [ ${#missing[@]} -eq 0 ] && [ "$have_src" = "$PIN" ]; then
	info "all packages installed; $PKG $have_src (pinned)"
	exit 0
fi

command -v apt-get >/dev/null || die "apt-get not found: this harness needs Debian 12 (bookworm)"
if [ "$(id -u)" -ne 0 ] && [ ${#missing[@]} -eq 0 ] && [ -n "$have_src" ]; then
	warn "$PKG $have_src is installed, not the pinned $PIN; using it (run as root to install the pin)"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	need="${missing[*]:-}"
	[ "$have_src" = "$PIN" ] || need="$need $PKG=$PIN (have: ${have_src:-none})"
	die "packages to install:$need; run as root: sudo scripts/setup.sh"
fi
if ! grep -qs '^VERSION_CODENAME=bookworm' /etc/os-release; then
	warn "not Debian 12 (bookworm); package names or versions may differ"
fi

export DEBIAN_FRONTEND=noninteractive
info "apt-get update"
if ! apt-get update -q >"${TMPDIR:-/tmp}/kvm-idle-apt-update.log" 2>&1 ||
	grep -q '^\(Err\|W: Failed to fetch\)' "${TMPDIR:-/tmp}/kvm-idle-apt-update.log"; then
	cat "${TMPDIR:-/tmp}/kvm-idle-apt-update.log" >&2
	die "the package archive is unreachable (apt-get update failed); check the network, proxy and /etc/apt/sources.list (bookworm and bookworm-security are needed)"
fi

# The pinned source when the archive still serves it, else the newest 6.12.
if apt-cache madison "$PKG" | awk -F'|' '{gsub(/ /, "", $2); print $2}' | grep -qxF "$PIN"; then
	src="$PKG=$PIN"
else
	newest=$(apt-cache policy "$PKG" | sed -n 's/^ *Candidate: *//p')
	if [ -z "$newest" ] || [ "$newest" = "(none)" ]; then
		die "the archive serves no $PKG; enable bookworm-security (or bookworm-updates) in /etc/apt/sources.list"
	fi
	warn "pinned $PKG $PIN is no longer served; using the newest, $newest (the series may not apply: see README)"
	src="$PKG=$newest"
fi

info "apt-get install ${missing[*]:-} $src"
apt-get install -y -q --no-install-recommends --allow-downgrades "${missing[@]}" "$src" ||
	die "apt-get install failed (see above); check the archive and disk space, then rerun scripts/setup.sh"

info "$PKG $(installed_version "$PKG") installed"
