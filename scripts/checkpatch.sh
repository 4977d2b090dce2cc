#!/bin/bash
# Run checkpatch.pl --strict on patches of the series; findings listed in
# scripts/checkpatch-allow.txt (each with a reason) are accepted.
USAGE="usage: scripts/checkpatch.sh [PATCH...]    (default: every patch in patches/series; exit 1 on findings)"
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"
case "${1:-}" in -*) die "$USAGE" ;; esac
need_tree
need_cmd perl
ALLOW=$KVM_IDLE_SCRIPTS/checkpatch-allow.txt
# checkpatch runs scripts/spdxcheck.py with the python3 in PATH: prefer
# Debian's, which has python3-ply and python3-git (not a virtualenv's).
PATH=/usr/bin:$PATH

# Validate the allow-list: three fields at least, the third a reason.
if [ -f "$ALLOW" ]; then
	n=0
	while IFS= read -r line; do
		n=$((n + 1))
		case "$line" in '' | '#'*) continue ;; esac
		read -r _ type reason <<<"$line"
		[[ -n "${reason:-}" && "$type" =~ ^[A-Z0-9_]+$ ]] ||
			die "$ALLOW:$n: want 'PATCH-GLOB TYPE REASON' (a reason is required): $line"
	done <"$ALLOW"
fi

# The checkpatch types allowed for patch file name $1, comma-separated.
allowed_types() {
	local glob type reason out=
	[ -f "$ALLOW" ] || return 0
	while read -r glob type reason; do
		case "$glob" in '' | '#'*) continue ;; esac
		# shellcheck disable=SC2254
		case "$1" in $glob) out+=${out:+,}$type ;; esac
	done <"$ALLOW"
	echo "$out"
}

if [ $# -eq 0 ]; then
	mapfile -t names < <(series_patches)
	set -- "${names[@]/#/$KVM_IDLE_PATCHES/}"
	[ $# -gt 0 ] || { info "the series is empty: nothing to check"; exit 0; }
fi

bad=0
for p in "$@"; do
	[ -f "$p" ] || die "no patch $p"
	name=${p##*/}
	ignore=$(allowed_types "$name")
	# spdxcheck.py needs Debian's python3 (python3-ply, python3-git).
	if out=$(cd "$KVM_IDLE_LINUX" && PATH=/usr/bin:$PATH perl scripts/checkpatch.pl --strict --show-types --no-summary \
		--quiet ${ignore:+--ignore "$ignore"} "$(realpath "$p")" 2>&1); then
		info "clean: $name${ignore:+ (allowed: $ignore)}"
	else
		echo "$out"
		echo "$PROG: $name has checkpatch findings (above): fix them, or add 'GLOB TYPE REASON' to scripts/checkpatch-allow.txt"
		bad=$((bad + 1))
	fi
done
[ $bad -eq 0 ] || exit 1
