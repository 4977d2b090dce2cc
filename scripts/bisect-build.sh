#!/bin/bash
# Build the kernel after each patch of the series, to show that the series
# is bisectable: a worktree of build/linux is moved from base through every
# commit of the series, and built incrementally in one output directory with
# the project config, with KVM as modules (=m).  Warnings in the files a
# patch touches fail that step.
USAGE="usage: scripts/bisect-build.sh    (after scripts/prepare-tree.sh; takes long: a
full build, then one incremental build per patch)

Environment: KVM_IDLE_BISECT_OUT  output directory (default build/bisect-out)"
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"
[ $# -eq 0 ] || die "$USAGE"
need_tree
need_cmd make gcc

L=$KVM_IDLE_LINUX
WT=$KVM_IDLE_BUILD/bisect-tree
OUT=${KVM_IDLE_BISECT_OUT:-$KVM_IDLE_BUILD/bisect-out}
mapfile -t commits < <(git -C "$L" rev-list --reverse base..HEAD)
[ ${#commits[@]} -gt 0 ] || die "no commits on top of base in $L; run scripts/prepare-tree.sh"

if [ ! -e "$WT/.git" ]; then
	git -C "$L" worktree prune
	git -C "$L" worktree add --detach "$WT" base >/dev/null ||
		die "cannot create a worktree of $L at $WT"
fi
mkdir -p "$OUT"

configure() {
	make -C "$WT" O="$OUT" -s tinyconfig >/dev/null
	"$WT/scripts/kconfig/merge_config.sh" -m -O "$OUT" "$OUT/.config" \
		"$WT/kernel/configs/kvm_guest.config" "$KVM_IDLE_FRAGMENT" >/dev/null
	"$WT/scripts/config" --file "$OUT/.config" --module KVM --module KVM_AMD \
		--module KVM_INTEL --enable MODULES
	make -C "$WT" O="$OUT" -s olddefconfig >/dev/null
}

fail=0
for c in base "${commits[@]}"; do
	git -C "$WT" checkout -q --detach "$c"
	subject=$(git -C "$WT" log -1 --format=%s "$c")
	configure
	log=$OUT/build-$(git -C "$WT" rev-parse --short "$c").log
	start=$(date +%s)
	if ! make -C "$WT" O="$OUT" -j"$KVM_IDLE_JOBS" bzImage modules >"$log" 2>&1; then
		echo "not ok - builds: $subject (see $log)"
		tail -20 "$log" | sed 's/^/   | /'
		fail=1
		continue
	fi
	touched=()
	[ "$c" = base ] || mapfile -t touched < <(git -C "$WT" diff --name-only "$c^" "$c" -- '*.c' '*.h')
	warned=0
	for f in "${touched[@]}"; do
		if grep -q "^$f:[0-9]*:[0-9]*: warning:" "$log" ||
		   grep -q "^\.\./$f:[0-9]*:[0-9]*: warning:" "$log"; then
			grep "$f:[0-9]*:[0-9]*: warning:" "$log" | sed 's/^/   | /'
			warned=1
		fi
	done
	if [ $warned -eq 1 ]; then
		echo "not ok - builds without warnings: $subject"
		fail=1
	else
		echo "ok - builds without warnings ($(($(date +%s) - start)) s): $subject"
	fi
done
exit $fail
