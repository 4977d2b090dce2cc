#!/bin/bash
# Make build/linux the pinned Debian kernel source (a git repository, the
# source committed as tag 'base') with patches/series applied by git am.
#
# Once the tree exists it is never recreated.  When HEAD already carries the
# series nothing is touched; otherwise the tree is reset to the longest prefix
# of commits that match the series and the rest is applied.  Files whose
# content ends up unchanged keep their old mtimes, so the next kernel build
# is incremental.  Refuses when the tree holds work that is not in patches/
# (uncommitted changes, commits never exported) unless FORCE=1, which keeps a
# backup ref and a stash.
USAGE="usage: [FORCE=1] scripts/prepare-tree.sh    (exit 1: a patch does not apply; 2: refused, work not in patches/)"
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"
[ $# -eq 0 ] || die "$USAGE"
need_cmd git tar xz

L=$KVM_IDLE_LINUX

extract_base() {
	local tarball=/usr/src/$KVM_IDLE_DEB_PACKAGE.tar.xz ver tmp top
	[ -f "$tarball" ] || die "$tarball is missing; run scripts/setup.sh as root first"
	ver=$(dpkg-query -W -f='${Version}' "$KVM_IDLE_DEB_PACKAGE" 2>/dev/null) || ver=unknown
	if [ "$ver" != "$KVM_IDLE_DEB_VERSION" ]; then
		warn "using $KVM_IDLE_DEB_PACKAGE $ver, not the pinned $KVM_IDLE_DEB_VERSION; the series was made against the pin"
	fi
	info "extracting $tarball ($ver) into $L"
	tmp=$KVM_IDLE_BUILD/linux.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"
	tar -C "$tmp" -xJf "$tarball"
	top=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d)
	[ -f "$top/Makefile" ] || die "unexpected layout in $tarball"
	info "committing the source as tag 'base'"
	git -C "$top" init -q
	git -C "$top" config gc.auto 0 # a repack of the whole tree takes minutes
	# Debian's .gitignore ignores everything at the top: add with -f.
	git -C "$top" add -f -A .
	GIT_AUTHOR_DATE=$KVM_IDLE_BASE_DATE GIT_COMMITTER_DATE=$KVM_IDLE_BASE_DATE \
		GIT_AUTHOR_NAME=$KVM_IDLE_BASE_NAME GIT_AUTHOR_EMAIL=$KVM_IDLE_BASE_EMAIL \
		GIT_COMMITTER_NAME=$KVM_IDLE_BASE_NAME GIT_COMMITTER_EMAIL=$KVM_IDLE_BASE_EMAIL \
		git -C "$top" commit -q -m "Debian $KVM_IDLE_DEB_PACKAGE $ver"
	git -C "$top" tag base
	mv "$top" "$L"
	rmdir "$tmp"
}

if ! git -C "$L" rev-parse -q --verify refs/tags/base >/dev/null 2>&1; then
	[ ! -e "$L" ] || die "$L exists but is not a kernel tree made by this script (a git repository with tag 'base'); move it away and rerun"
	mkdir -p "$KVM_IDLE_BUILD"
	extract_base
fi
info "base: $(git -C "$L" log -1 --format='%h %s' base)"
if [ "$(git -C "$L" rev-parse base)" != "$KVM_IDLE_BASE_COMMIT" ]; then
	warn "base is not the pinned base commit $KVM_IDLE_BASE_COMMIT (scripts/pinned.env): another source version, or a tree made by hand; the cover letter's base-commit: will differ"
fi

mapfile -t patches < <(series_patches)
psigs=()
for p in "${patches[@]}"; do
	[ -f "$KVM_IDLE_PATCHES/$p" ] || die "$KVM_IDLE_PATCHES/series names $p, which does not exist"
	psigs+=("$(patch_sig "$KVM_IDLE_PATCHES/$p")")
done
[ ${#patches[@]} -gt 0 ] || info "the series is empty: the tree will be the base kernel"

if [ -d "$L/.git/rebase-apply" ] || [ -d "$L/.git/rebase-merge" ]; then
	[ "${FORCE:-0}" = 1 ] || die "a git am or rebase is in progress in $L; finish it (git am --continue / --abort) or rerun with FORCE=1"
	git -C "$L" am --abort 2>/dev/null || git -C "$L" rebase --abort 2>/dev/null || true
fi

mapfile -t commits < <(git -C "$L" rev-list --reverse base..HEAD)
csigs=()
for c in "${commits[@]}"; do
	csigs+=("$(commit_sig "$c")")
done

k=0
while [ $k -lt ${#commits[@]} ] && [ $k -lt ${#patches[@]} ] &&
	[ "${csigs[$k]}" = "${psigs[$k]}" ]; do
	k=$((k + 1))
done

dirty=$(git -C "$L" status --porcelain --untracked-files=no)
if [ -z "$dirty" ] && [ $k -eq ${#commits[@]} ] && [ $k -eq ${#patches[@]} ]; then
	info "up to date: HEAD carries the ${#patches[@]} patches of the series"
	exit 0
fi

# Commits past the matching prefix that are neither in the series nor were
# ever applied from or exported to patches/: somebody's unexported work.
unknown=()
for ((i = k; i < ${#commits[@]}; i++)); do
	s=${csigs[$i]}
	if ! printf '%s\n' "${psigs[@]}" | grep -qxF "$s" &&
		! grep -qsxF "$s" "$KVM_IDLE_SYNCED"; then
		unknown+=("$(git -C "$L" log -1 --format='%h %s' "${commits[$i]}")")
	fi
done
if [ -n "$dirty" ] || [ ${#unknown[@]} -gt 0 ]; then
	if [ "${FORCE:-0}" != 1 ]; then
		{
			echo "$PROG: error: $L holds work that is not in $KVM_IDLE_PATCHES/:"
			[ -z "$dirty" ] || { echo "  uncommitted changes:"; while IFS= read -r l; do echo "    $l"; done <<<"$dirty"; }
			[ ${#unknown[@]} -eq 0 ] || { echo "  commits not in the series:"; printf '    %s\n' "${unknown[@]}"; }
			echo "To keep it: commit it, then run scripts/export-series.sh."
			echo "To drop it and use patches/ as it is: rerun with FORCE=1 (a backup ref and a stash are kept)."
		} >&2
		exit 2
	fi
	backup=refs/kvm-idle/backup/$(date +%Y%m%d-%H%M%S)
	git -C "$L" update-ref "$backup" HEAD
	info "FORCE=1: old HEAD saved as $backup"
	if [ -n "$dirty" ]; then
		ktree_git stash push -q -m "kvm-idle prepare-tree FORCE backup"
		info "FORCE=1: uncommitted changes saved in git stash (stash@{0})"
	fi
fi

if [ $k -gt 0 ]; then keep=${commits[$((k - 1))]}; else keep=base; fi

# Remember content and mtime of every file the reset will rewrite.
stamps=$(mktemp)
trap 'rm -f "$stamps" "$stamps.am"' EXIT
git -C "$L" diff --no-renames --name-only "$keep" -- | while IFS= read -r f; do
	[ -f "$L/$f" ] || continue
	printf '%s %s %s\n' "$(git -C "$L" hash-object -- "$f")" "$(stat -c %.9Y "$L/$f")" "$f"
done >"$stamps"

restore_mtimes() {
	local hash mtime f
	while read -r hash mtime f; do
		if [ -f "$L/$f" ] && [ "$(git -C "$L" hash-object -- "$f")" = "$hash" ]; then
			touch -d "@$mtime" "$L/$f"
		fi
	done <"$stamps"
}

info "resetting to $(git -C "$L" log -1 --format='%h %s' "$keep")"
git -C "$L" reset -q --hard "$keep"
for ((i = k; i < ${#patches[@]}; i++)); do
	p=${patches[$i]}
	info "applying $p"
	if ! ktree_git am -q --committer-date-is-author-date "$KVM_IDLE_PATCHES/$p" >"$stamps.am" 2>&1; then
		git -C "$L" am --abort || true
		restore_mtimes
		{
			grep -v -e '^hint:' -e '^Patch failed at' -e 'git am --' -e '^When you have' -e '^If you prefer' -e '^To restore' "$stamps.am"
			echo "$PROG: error: patch $p (number $((i + 1)) of ${#patches[@]}) does not apply to $(git -C "$L" log -1 --format=%s base)."
			echo "$L now holds the $i patches before it.  To repair the series:"
			echo "  cd $L && git am -3 $KVM_IDLE_PATCHES/$p   # resolve, git add, git am --continue"
			echo "  then scripts/export-series.sh and scripts/test.sh"
		} >&2
		exit 1
	fi
	echo "${psigs[$i]}" >>"$KVM_IDLE_SYNCED"
done
restore_mtimes
info "applied: HEAD carries the ${#patches[@]} patches of the series"
