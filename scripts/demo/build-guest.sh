#!/bin/bash
# Build the demo's inner guest userland: scripts/demo/hotset.c, linked
# statically, as /init of build/demo/hotset.cpio.gz.  The inner guest boots
# the same bzImage as the outer one.  Incremental.
USAGE="usage: scripts/demo/build-guest.sh    (writes build/demo/hotset.cpio.gz)"
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
usage_if "$@"
[ $# -eq 0 ] || die "$USAGE"
need_cmd gcc cpio gzip

D=$KVM_IDLE_BUILD/demo
SRC=$KVM_IDLE_SCRIPTS/demo/hotset.c
OUT=$D/hotset.cpio.gz
mkdir -p "$D"
if [ -f "$OUT" ] && [ "$OUT" -nt "$SRC" ]; then
	info "$OUT is up to date"
	exit 0
fi
gcc -static -O2 -Wall -Wextra -o "$D/hotset" "$SRC" ||
	die "cannot build $SRC statically (static libc is in libc6-dev: run scripts/setup.sh as root)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
install -m 755 "$D/hotset" "$tmp/init"
(cd "$tmp" && echo init | cpio -o -H newc -R 0:0 --quiet) | gzip -9 >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
info "built $OUT (/init = hotset)"
