#!/bin/bash
# Build what the demo's inner guests need, in build/demo: their kernel
# (Debian's own, vmlinuz from the linux-image-*-amd64 package, fetched with
# apt-get download), their userland (scripts/demo/hotset.c, linked
# statically, as /init of hotset.cpio.gz) and the host-side checker
# (scripts/demo/numa-where.c).  Incremental.
USAGE="usage: scripts/demo/build-guest.sh    (writes build/demo/: vmlinuz, hotset.cpio.gz, numa-where)

The inner guests boot Debian's kernel rather than the KASAN test kernel:
it boots in seconds, needs no module for a serial console, an initramfs and
/proc/self/pagemap, and the demo measures the host kernel, not the guest's.
KVM_IDLE_DEMO_GUEST_PKG names the package (default: the one that
linux-image-amd64 depends on)."
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
usage_if "$@"
[ $# -eq 0 ] || die "$USAGE"
need_cmd gcc cpio gzip tar dpkg-deb apt-get apt-cache

D=$KVM_IDLE_BUILD/demo
SRC=$KVM_IDLE_SCRIPTS/demo
mkdir -p "$D"

# The guest kernel.  What hotset and the demo need, built in (no modules
# in the initramfs): 8250 serial console, initramfs (gzip), devtmpfs,
# /proc/PID/pagemap.
KOPTS="SERIAL_8250 SERIAL_8250_CONSOLE BLK_DEV_INITRD RD_GZIP DEVTMPFS PROC_FS PROC_PAGE_MONITOR BINFMT_ELF"
if [ ! -s "$D/vmlinuz" ] || [ ! -s "$D/vmlinuz.config" ]; then
	pkg=${KVM_IDLE_DEMO_GUEST_PKG:-}
	if [ -z "$pkg" ]; then
		pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)
		if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
			info "apt-get update (no package list names Debian's kernel yet)"
			apt-get update -q >/dev/null || die "apt-get update failed; check the network and /etc/apt/sources.list"
			pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
				sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)
		fi
		[ -n "$pkg" ] || die "cannot tell which package linux-image-amd64 depends on; run 'apt-get update' as root, or set KVM_IDLE_DEMO_GUEST_PKG=linux-image-VERSION-amd64"
	fi
	tmp=$(mktemp -d "$D/deb.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	info "fetching the inner guests' kernel: apt-get download $pkg"
	# As root, apt's download sandbox user (_apt) could not write here.
	sandbox=()
	[ "$(id -u)" -ne 0 ] || sandbox=(-o APT::Sandbox::User=root)
	(cd "$tmp" && apt-get download -q "${sandbox[@]}" "$pkg") ||
		die "apt-get download $pkg failed (see above); run 'apt-get update' as root and retry"
	deb=$(echo "$tmp"/*.deb)
	[ -f "$deb" ] || die "apt-get download $pkg left no .deb in $tmp"
	# Only the two files: the package's modules are not needed.
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './boot/vmlinuz-*' './boot/config-*' ||
		die "no /boot/vmlinuz-* and /boot/config-* in $deb"
	for o in $KOPTS; do
		grep -qx "CONFIG_$o=y" "$tmp"/boot/config-* ||
			die "$pkg lacks CONFIG_$o=y (built in), which the inner guest needs; set KVM_IDLE_DEMO_GUEST_PKG to another linux-image package"
	done
	mv "$tmp"/boot/config-* "$D/vmlinuz.config"
	mv "$tmp"/boot/vmlinuz-* "$D/vmlinuz"
	dpkg-deb -f "$deb" Package Version | sed 's/^[^:]*: //' | tr '\n' ' ' | sed 's/ $/\n/' >"$D/vmlinuz.version"
	rm -rf "$tmp"
	trap - EXIT
	info "built $D/vmlinuz ($(cat "$D/vmlinuz.version"))"
else
	info "$D/vmlinuz is there ($(cat "$D/vmlinuz.version" 2>/dev/null || echo "version unknown"))"
fi

# The host-side checker: runs in the booted kernel, which shares this root.
if [ ! -x "$D/numa-where" ] || [ "$SRC/numa-where.c" -nt "$D/numa-where" ]; then
	gcc -O2 -Wall -Wextra -o "$D/numa-where" "$SRC/numa-where.c" ||
		die "cannot build $SRC/numa-where.c"
	info "built $D/numa-where"
fi

OUT=$D/hotset.cpio.gz
if [ -f "$OUT" ] && [ "$OUT" -nt "$SRC/hotset.c" ]; then
	info "$OUT is up to date"
	exit 0
fi
gcc -static -O2 -Wall -Wextra -o "$D/hotset" "$SRC/hotset.c" ||
	die "cannot build $SRC/hotset.c statically (static libc is in libc6-dev: run scripts/setup.sh as root)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
install -m 755 "$D/hotset" "$tmp/init"
(cd "$tmp" && echo init | cpio -o -H newc -R 0:0 --quiet) | gzip -9 >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
info "built $OUT (/init = hotset)"
