#!/bin/bash
# Build the admin-guide (which holds the series' idle_bitmap.rst and, through
# abi-testing.rst, its ABI file) and the userspace-api guide (its ioctl
# number) with Sphinx, as "make htmldocs" does, from scratch (an incremental
# build does not repeat the warnings of documents it does not reread), and
# fail on any warning or error that names a file the series adds or changes
# under Documentation/.  Warnings elsewhere in the base tree are not ours and
# are only counted.
USAGE="usage: scripts/check-sphinx.sh    (after scripts/prepare-tree.sh)"
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"
[ $# -eq 0 ] || die "$USAGE"
need_tree
need_cmd make git sphinx-build

L=$KVM_IDLE_LINUX
out=$KVM_IDLE_BUILD/sphinx
log=$out/build.log
mapfile -t docs < <(git -C "$L" diff --name-only --diff-filter=AM base HEAD -- Documentation/ |
	grep -v '^Documentation/output/' || true)
[ ${#docs[@]} -gt 0 ] || { info "the series changes no documentation"; exit 0; }

rm -rf "$out"
mkdir -p "$out"
info "make htmldocs SPHINXDIRS='admin-guide userspace-api' (log: $log)"
if ! make -C "$L" -s SPHINXDIRS="admin-guide userspace-api" BUILDDIR="$out" htmldocs >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	die "the Sphinx build failed (above; full log $log)"
fi
html=$out/admin-guide/mm/idle_bitmap.html
[ -s "$html" ] || die "no $html after the build: is idle_bitmap.rst in admin-guide/mm/index.rst's toctree?"

# A build of one directory cannot resolve :doc: links to documents outside
# it ("unknown document: '/admin-guide/...'" from the ABI files, whose root
# is Documentation/); such a link is fine when the document exists.
resolvable() {
	local doc
	doc=$(sed -n "s/.*unknown document: '\/\([^']*\)'.*/\1/p" <<<"$1")
	[ -n "$doc" ] && [ -f "$L/Documentation/$doc.rst" ]
}
ours=0
for f in "${docs[@]}"; do
	while IFS= read -r w; do
		if resolvable "$w"; then
			info "resolved in a full build: $w"
		else
			echo "$w" >&2
			ours=$((ours + 1))
		fi
	done < <(grep -E "(WARNING|ERROR|CRITICAL|SEVERE)" "$log" | grep -F "${f#Documentation/}" || true)
done
others=$(grep -cE "(WARNING|ERROR|CRITICAL|SEVERE)" "$log" || true)
[ $ours -eq 0 ] || die "$ours Sphinx warning(s) about the series' documentation (above; full log $log)"
info "no Sphinx warning in ${docs[*]} ($others elsewhere, from the base tree); HTML: $html"
