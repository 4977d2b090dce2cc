#!/bin/bash
# kernel-doc -none -Wall on every kernel source file the series adds or
# changes (tools/ excluded): fails on a warning that the base version of the
# file does not have.  Warnings are compared without their line numbers.
USAGE="usage: scripts/check-kernel-doc.sh    (after scripts/prepare-tree.sh)"
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"
[ $# -eq 0 ] || die "$USAGE"
need_tree
need_cmd perl git

L=$KVM_IDLE_LINUX
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# warnings DIR FILE: FILE's kernel-doc warnings, run from DIR, sorted.
warnings() {
	(cd "$1" && perl "$L/scripts/kernel-doc" -none -Wall "$2" 2>&1 || true) |
		sed -E 's/:[0-9]+: /: /' | LC_ALL=C sort
}

mapfile -t files < <(git -C "$L" diff --name-only --diff-filter=AM base HEAD -- '*.c' '*.h' | grep -v '^tools/' || true)
[ ${#files[@]} -gt 0 ] || { info "the series changes no kernel source file"; exit 0; }
new=0
for f in "${files[@]}"; do
	mkdir -p "$tmp/base/$(dirname "$f")"
	git -C "$L" show "base:$f" >"$tmp/base/$f" 2>/dev/null || : >"$tmp/base/$f"
	warnings "$tmp/base" "$f" >"$tmp/before"
	warnings "$L" "$f" >"$tmp/after"
	added=$(LC_ALL=C comm -13 "$tmp/before" "$tmp/after")
	if [ -n "$added" ]; then
		echo "$added" >&2
		new=$((new + $(wc -l <<<"$added")))
	fi
done
[ $new -eq 0 ] || die "$new new kernel-doc warning(s) (above) in the series' files; document what they name"
info "no new kernel-doc warnings in ${#files[@]} file(s): ${files[*]}"
