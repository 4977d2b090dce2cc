#!/bin/bash
# sparse (make C=2) on every kernel .c file the series adds or changes, as
# configured for the test kernel: fails on a warning or error in the series'
# code that scripts/sparse-allow.txt does not accept.  A finding is the
# series' when it is on a line the series added, or names a function whose
# definition the series added.  Findings in the base kernel's code are
# counted and left alone.
USAGE="usage: scripts/check-sparse.sh    (after scripts/build-kernel.sh)"
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"
[ $# -eq 0 ] || die "$USAGE"
need_tree
need_cmd sparse make python3 git

L=$KVM_IDLE_LINUX
ALLOW=$KVM_IDLE_SCRIPTS/sparse-allow.txt
[ -f "$L/.config" ] || die "no $L/.config; run scripts/build-kernel.sh first"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

objs=()
while IFS= read -r f; do
	# Only what the test kernel builds: make cannot check the others.
	[ -f "$L/${f%.c}.o" ] && objs+=("${f%.c}.o")
done < <(git -C "$L" diff --name-only --diff-filter=AM base HEAD -- '*.c' | grep -v '^tools/' || true)
[ ${#objs[@]} -gt 0 ] || { info "the series changes no built kernel .c file"; exit 0; }

info "make C=2 ${objs[*]}"
make -C "$L" -s -j"$KVM_IDLE_JOBS" C=2 "${objs[@]}" >"$tmp/sparse.out" 2>&1 ||
	{ cat "$tmp/sparse.out" >&2; die "make C=2 failed (above)"; }
git -C "$L" diff -U0 base HEAD >"$tmp/series.diff"

python3 - "$tmp/sparse.out" "$tmp/series.diff" "$ALLOW" <<'PY'
import re, sys
out, diff, allow_file = sys.argv[1:4]
added = {}        # file -> set of added line numbers
defs = set()      # functions whose definition line the series added
cur = None
for line in open(diff, errors='replace'):
    if line.startswith('+++ '):
        cur = line[6:].strip() if line.startswith('+++ b/') else None
        continue
    m = re.match(r'@@ -\S+ \+(\d+)(?:,(\d+))? @@', line)
    if m and cur:
        start, n = int(m.group(1)), int(m.group(2) or 1)
        added.setdefault(cur, set()).update(range(start, start + n))
        continue
    if line.startswith('+') and not line.startswith('+++'):
        d = re.match(r'\+[A-Za-z_][\w \*]*?\b(\w+)\(', line)
        if d and not line.rstrip().endswith(';'):
            defs.add(d.group(1))
allow = []
for line in open(allow_file):
    line = line.rstrip('\n')
    if not line.strip() or line.startswith('#'):
        continue
    parts = re.split(r'\s{2,}', line, maxsplit=1)
    if len(parts) != 2 or not parts[1].strip():
        sys.exit(f'{allow_file}: needs "REGEX  REASON": {line}')
    allow.append(re.compile(parts[0]))
ours, base, allowed = [], 0, 0
for line in open(out, errors='replace'):
    m = re.match(r'(?:\./)?(\S+?):(\d+):\d+: (warning|error): (.*)', line.rstrip('\n'))
    if not m:
        continue
    f, n, kind, msg = m.group(1), int(m.group(2)), m.group(3), m.group(4)
    fn = re.search(r"in '(\w+)'", msg)
    if n in added.get(f, ()) or (fn and fn.group(1) in defs):
        key = f'{f}:N: {msg}'
        if any(a.search(key) for a in allow):
            allowed += 1
            print(f'allowed: {f}:{n}: {kind}: {msg}')
        else:
            ours.append(f'{f}:{n}: {kind}: {msg}')
    else:
        base += 1
for o in ours:
    print(o, file=sys.stderr)
print(f'sparse: {len(ours)} finding(s) in the series\' code, {allowed} allowed, {base} in the base kernel\'s code')
sys.exit(1 if ours else 0)
PY
