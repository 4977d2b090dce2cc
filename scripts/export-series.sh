#!/bin/bash
# Export build/linux's base..HEAD into patches/ (git format-patch with a
# cover letter, plus a quilt 'series' file) and mirror every file the series
# adds under Documentation/ and tools/ to the same path at the top of the
# repository.
#
# The subject and text of an existing patches/0000-cover-letter.patch are
# kept (edit them there); shortlog, diffstat and base-commit are regenerated.
# Files whose content did not change (ignoring the cover letter's Date:) are
# left alone.  From: and Signed-off-by: use scripts/identity.env.
USAGE="usage: [KVM_IDLE_SUBJECT_PREFIX='RFC PATCH'] [KVM_IDLE_REROLL=N] [FORCE=1] scripts/export-series.sh"
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"
[ $# -eq 0 ] || die "$USAGE"
need_tree
need_cmd python3

L=$KVM_IDLE_LINUX
P=$KVM_IDLE_PATCHES
COVER=0000-cover-letter.patch

if [ -d "$L/.git/rebase-apply" ] || [ -d "$L/.git/rebase-merge" ]; then
	die "a git am or rebase is in progress in $L; finish it first"
fi
dirty=$(git -C "$L" status --porcelain --untracked-files=no)
if [ -n "$dirty" ] && [ "${FORCE:-0}" != 1 ]; then
	echo "$dirty" >&2
	die "$L has uncommitted changes (above), which would not be exported; commit them (git commit --fixup=COMMIT; git rebase -i --autosquash base) or rerun with FORCE=1 to export without them"
fi

ncommits=$(git -C "$L" rev-list --count base..HEAD)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$P"

if [ "$ncommits" -eq 0 ]; then
	info "no commits on top of base: the series is empty"
else
	opts=(--cover-letter --base=base --zero-commit --no-signature --signoff --abbrev=12
		--from="$KVM_IDLE_NAME <$KVM_IDLE_EMAIL>"
		--subject-prefix="${KVM_IDLE_SUBJECT_PREFIX:-PATCH}")
	[ -z "${KVM_IDLE_REROLL:-}" ] || opts+=(--reroll-count="$KVM_IDLE_REROLL")
	ktree_git format-patch -q "${opts[@]}" -o "$tmp/out" base..HEAD
fi
mkdir -p "$tmp/out"
newcover='' oldcover=''
for f in "$tmp"/out/*"$COVER"; do [ -e "$f" ] && newcover=${f##*/}; done
for f in "$P"/*"$COVER"; do [ -e "$f" ] && oldcover=${f##*/}; done

# Keep the hand-written subject and text of the cover letter.
if [ -n "$newcover" ] && [ -n "$oldcover" ]; then
	python3 - "$P/$oldcover" "$tmp/out/$newcover" <<'EOF'
import re
import sys

SUBJ, BLURB = "*** SUBJECT HERE ***", "*** BLURB HERE ***"


def parse(path):
    lines = open(path, encoding="utf-8", errors="surrogateescape").read().split("\n")
    end = lines.index("") if "" in lines else len(lines)
    hdr, body = lines[:end], lines[end + 1:]
    subj = ""
    for i, h in enumerate(hdr):
        if h.startswith("Subject:"):
            subj = h[len("Subject:"):].strip()
            for cont in hdr[i + 1:]:
                if not cont[:1] in (" ", "\t"):
                    break
                subj += " " + cont.strip()
    subj = re.sub(r"^\[[^]]*\]\s*", "", subj)
    # The text ends where git's shortlog starts: "Author (N):" + indented lines.
    stop = len(body)
    for i, line in enumerate(body):
        if re.match(r"^\S.* \(\d+\):$", line) and i + 1 < len(body) and body[i + 1].startswith("  "):
            stop = i
            break
    return subj, "\n".join(body[:stop]).strip("\n"), lines


old_subj, old_text, _ = parse(sys.argv[1])
_, _, new = parse(sys.argv[2])
out = []
for line in new:
    if line.startswith("Subject:") and SUBJ in line and old_subj and old_subj != SUBJ:
        line = line.replace(SUBJ, old_subj)
    elif line == BLURB and old_text and old_text != BLURB:
        line = old_text
    out.append(line)
open(sys.argv[2], "w", encoding="utf-8", errors="surrogateescape").write("\n".join(out))
EOF
fi
if [ -n "$newcover" ] && grep -qF '*** SUBJECT HERE ***' "$tmp/out/$newcover"; then
	warn "the cover letter has no subject or text yet: edit $P/$newcover (kept on re-export)"
fi

# Replace what changed; keep unchanged files (and their mtimes).
changed=0
for f in "$tmp"/out/*.patch; do
	[ -e "$f" ] || continue
	b=${f##*/}
	if [ -f "$P/$b" ] && cmp -s <(grep -v '^Date: ' "$f") <(grep -v '^Date: ' "$P/$b"); then
		continue
	fi
	cp "$f" "$P/$b"
	changed=$((changed + 1))
done
for f in "$P"/[0-9][0-9][0-9][0-9]-*.patch "$P"/v[0-9]*-[0-9][0-9][0-9][0-9]-*.patch; do
	[ -e "$f" ] || continue
	[ -e "$tmp/out/${f##*/}" ] || { rm -f "$f"; info "removed ${f##*/}"; changed=$((changed + 1)); }
done
for f in "$tmp"/out/*.patch; do
	case "$f" in *"$COVER" | *"/*.patch") ;; *) echo "${f##*/}" ;; esac
done >"$tmp/series"
cmp -s "$tmp/series" "$P/series" 2>/dev/null || cp "$tmp/series" "$P/series"
info "$ncommits patches in $P ($changed file(s) changed)"

# Mirror new Documentation/ and tools/ files.
mirrored=0
while IFS= read -r f; do
	[ -n "$f" ] || continue
	git -C "$L" cat-file blob "HEAD:$f" >"$tmp/blob"
	if ! cmp -s "$tmp/blob" "$KVM_IDLE_MIRROR/$f" 2>/dev/null; then
		mkdir -p "$(dirname "$KVM_IDLE_MIRROR/$f")"
		cp "$tmp/blob" "$KVM_IDLE_MIRROR/$f"
		mirrored=$((mirrored + 1))
	fi
	if git -C "$L" ls-tree HEAD -- "$f" | grep -q '^100755'; then
		chmod +x "$KVM_IDLE_MIRROR/$f"
	else
		chmod -x "$KVM_IDLE_MIRROR/$f"
	fi
done < <(git -C "$L" diff --no-renames --diff-filter=A --name-only base HEAD -- Documentation tools)
info "mirrored new Documentation/ and tools/ files into $KVM_IDLE_MIRROR ($mirrored updated)"

# These commits are in patches/ now: prepare-tree.sh may replace them.
for c in $(git -C "$L" rev-list base..HEAD); do
	commit_sig "$c"
done >>"$KVM_IDLE_SYNCED"
