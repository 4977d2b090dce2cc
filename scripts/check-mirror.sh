#!/bin/bash
# Check that every file the series (patches/series applied to base) adds
# under Documentation/ and tools/ is byte-identical at the same path at the
# top of the repository.  Applies the series to a temporary index, so the
# kernel tree's working files and HEAD are not used or touched.
USAGE="usage: scripts/check-mirror.sh    (exit 1 on any difference)"
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"
[ $# -eq 0 ] || die "$USAGE"
need_tree

L=$KVM_IDLE_LINUX
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GIT_INDEX_FILE=$tmp/index
git -C "$L" read-tree base
while IFS= read -r p; do
	git -C "$L" apply --cached "$KVM_IDLE_PATCHES/$p" 2>"$tmp/err" ||
		die "patch $p does not apply to base ($(head -n1 "$tmp/err")); run scripts/prepare-tree.sh for details"
done < <(series_patches)

git -C "$L" diff --cached --no-renames --diff-filter=A --name-only base -- Documentation tools >"$tmp/added"
bad=0 n=0
while read -r mode blob _ f; do
	n=$((n + 1))
	top=$KVM_IDLE_MIRROR/$f
	if [ ! -f "$top" ]; then
		echo "missing at the top: $f" >&2
		bad=$((bad + 1))
	elif [ "$(git hash-object -- "$top")" != "$blob" ]; then
		echo "differs: $f" >&2
		git -C "$L" cat-file blob "$blob" | diff -u --label "series:$f" --label "top:$f" - "$top" | head -n 20 >&2 || true
		bad=$((bad + 1))
	elif [ "$mode" = 100755 ] && [ ! -x "$top" ]; then
		echo "not executable at the top: $f" >&2
		bad=$((bad + 1))
	fi
done < <(while IFS= read -r f; do git -C "$L" ls-files -s -- "$f"; done <"$tmp/added")
unset GIT_INDEX_FILE

# Files at the top that the series does not add (yet): not an error.
if [ -d "$KVM_IDLE_MIRROR/Documentation" ] || [ -d "$KVM_IDLE_MIRROR/tools" ]; then
	extra=$(cd "$KVM_IDLE_MIRROR" || exit
		find Documentation tools -type f 2>/dev/null | LC_ALL=C sort | grep -vxF -f "$tmp/added") || true
	[ -z "$extra" ] || warn "not added by the series (work in progress?): $(echo "$extra" | tr '\n' ' ')"
fi
if [ $bad -gt 0 ]; then
	die "$bad of $n mirrored file(s) differ from the series: run scripts/export-series.sh (series -> top), or if the top copy is newer, commit it in build/linux first"
fi
info "$n file(s) the series adds under Documentation/ and tools/ match the top of the repository"
