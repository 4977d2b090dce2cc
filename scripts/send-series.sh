#!/bin/bash
# Prepare the series in patches/ for mailing: replace the project identity
# (scripts/identity.env) in From: and Signed-off-by: with the sender's git
# identity, find To/Cc with the kernel's scripts/get_maintainer.pl, and run
# git send-email.  By default it is a dry run: nothing is sent.
USAGE="usage: scripts/send-series.sh [--send] [--out DIR]

  (default)   write the rewritten patches to DIR (default build/outgoing) and
              run 'git send-email --dry-run' on them: the mails are printed,
              nothing is sent
  --send      really send them with git send-email (asks for confirmation;
              refused when CI is set)
  --out DIR   where to write the rewritten patches

The sender is 'git config user.name' and 'git config user.email' (or
GIT_AUTHOR_NAME and GIT_AUTHOR_EMAIL); both must be set."
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"

send=0
out=$KVM_IDLE_BUILD/outgoing
while [ $# -gt 0 ]; do
	case "$1" in
	--send) send=1 ;;
	--out)
		[ $# -ge 2 ] || die "$USAGE"
		out=$2
		shift
		;;
	*) die "$USAGE" ;;
	esac
	shift
done

need_cmd git perl
# Not "git send-email --help": it needs man(1), which minimal systems lack.
[ -x "$(git --exec-path)/git-send-email" ] ||
	die "git send-email is not installed; run scripts/setup.sh (it installs git-email)"
[ -x "$KVM_IDLE_LINUX/scripts/get_maintainer.pl" ] ||
	die "no kernel tree in $KVM_IDLE_LINUX; run scripts/prepare-tree.sh first"

name=${GIT_AUTHOR_NAME:-$(git config user.name || true)}
email=${GIT_AUTHOR_EMAIL:-$(git config user.email || true)}
[ -n "$name" ] && [ -n "$email" ] ||
	die "no sender identity: run git config --global user.name 'Your Name' and git config --global user.email you@example.com"
[ "$email" != "$KVM_IDLE_EMAIL" ] ||
	die "the sender is the project identity ($KVM_IDLE_EMAIL); set your own with git config user.email"

mapfile -t names < <(series_patches)
[ ${#names[@]} -gt 0 ] || die "patches/series is empty: nothing to send (run scripts/export-series.sh)"
cover=
for f in "$KVM_IDLE_PATCHES"/*0000-cover-letter.patch; do [ -e "$f" ] && cover=$f; done
[ -n "$cover" ] || die "no cover letter in $KVM_IDLE_PATCHES (run scripts/export-series.sh)"

rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
files=()
for p in "$cover" "${names[@]/#/$KVM_IDLE_PATCHES/}"; do
	[ -f "$p" ] || die "patches/series names $p, which does not exist"
	dst=$out/${p##*/}
	# The identity appears in the From: header, the trailers and the
	# MAINTAINERS entry (M:), where the sender becomes the maintainer.
	PROJ="$KVM_IDLE_NAME <$KVM_IDLE_EMAIL>" SENDER="$name <$email>" \
		perl -pe 'BEGIN { $p = quotemeta($ENV{PROJ}); $s = $ENV{SENDER} }
			s/^(From|Signed-off-by): $p$/$1: $s/;
			s/^\+M:\t$p$/+M:\t$s/' "$p" >"$dst"
	! grep -q "$KVM_IDLE_EMAIL" "$dst" ||
		die "$dst still names $KVM_IDLE_EMAIL after the rewrite; check the patch by hand"
	files+=("$dst")
done

# To: the lists, Cc: the people, for the whole series.
to=() cc=()
while IFS= read -r line; do
	addr=${line%% (*}
	case "$line" in
	*"(open list"* | *"(moderated list"* | *"list:"*) to+=("--to=$addr") ;;
	*) [ "$addr" = "$KVM_IDLE_NAME <$KVM_IDLE_EMAIL>" ] || cc+=("--cc=$addr") ;;
	esac
done < <(cd "$KVM_IDLE_LINUX" && perl scripts/get_maintainer.pl --no-git --no-git-fallback \
	--no-rolestats --roles "${files[@]}" 2>/dev/null | sort -u)
[ ${#to[@]} -gt 0 ] || die "get_maintainer.pl found no list for the series"
info "sender: $name <$email>"
info "to: ${to[*]#--to=}"
info "cc: ${cc[*]#--cc=}"

# git send-email also asks git for the committer's identity, which a machine
# with no git configuration cannot guess: use the sender's.
export GIT_COMMITTER_NAME=${GIT_COMMITTER_NAME:-$name}
export GIT_COMMITTER_EMAIL=${GIT_COMMITTER_EMAIL:-$email}
args=(--from="$name <$email>" --confirm=never --suppress-cc=self --no-chain-reply-to
	--thread "${to[@]}" "${cc[@]}")
if [ $send -eq 0 ]; then
	git send-email --dry-run "${args[@]}" "${files[@]}"
	info "dry run: nothing was sent; the patches are in $out"
	exit 0
fi
[ -z "${CI:-}" ] || die "refusing to send mail from CI"
read -r -p "Send ${#files[@]} mails as $name <$email>? [y/N] " ans
[ "$ans" = y ] || die "not sent"
git send-email "${args[@]/--confirm=never/--confirm=always}" "${files[@]}"
