#!/bin/bash
# The demo, inside the kernel that scripts/demo.sh boots (two NUMA nodes:
# node 1 has memory and no CPUs, the slow tier).  It starts two real
# qemu-system-x86_64 -enable-kvm guests, guest-a and guest-b (Debian's kernel,
# scripts/demo/hotset.c as /init), and then:
#
# 1. Working set: kvm_idle on guest-a's QEMU, for a hot set of 0 MiB (the
#    background) and each size in KVM_IDLE_DEMO_HOT, next to the truth.
# 2. Placement, one guest: guest-a's hot set is KVM_IDLE_DEMO_PLACE_HOT MiB;
#    kvm_idle --place moves its cold pages to node 1.
# 3. Placement, two guests and a fast-tier budget: guest-a's hot set grows
#    (pages on node 1 are hot again), guest-b has its own;
#    kvm_idle --place --fast-budget on both QEMUs.
#
# After each placement the guests say where (guest-physical) their hot and
# cold pages are, from their /proc/self/pagemap, and scripts/demo/numa-where.c
# measures with move_pages(2) on which node each of those pages is on the
# host (not trusting kvm_idle's own numbers), and the guests checksum their
# memory again.  Writes result.txt, placement.txt, rounds.jsonl, demo.rec,
# demo.svg, heatmap.txt (part 1), placement-2.jsonl, placement-2.svg,
# placement-3.jsonl (parts 2 and 3; kvm_idle draws one VM only), where-*.txt and
# ranges-*.txt (each measurement), serial-guest-a.log and serial-guest-b.log
# (the inner consoles) to $KVM_IDLE_OUT.  Exit status 0 when every check
# passes.
USAGE="usage: scripts/boot.sh scripts/demo/run-in-vm.sh    (scripts/demo.sh does this)"
set -euo pipefail
# shellcheck source=../lib.sh
. "$(dirname "$0")/../lib.sh"
usage_if "$@"
[ $# -eq 0 ] || die "$USAGE"
if [ "$(cat /proc/sys/kernel/hostname)" != kvm-idle-guest ] || [ -z "${KVM_IDLE_OUT:-}" ]; then
	die "run me in the guest: $USAGE"
fi

HOT=${KVM_IDLE_DEMO_HOT:-32 128}
TOTAL=${KVM_IDLE_DEMO_TOTAL:-192}
INTERVAL=${KVM_IDLE_DEMO_INTERVAL:-2}
ROUNDS=${KVM_IDLE_DEMO_ROUNDS:-4}
TOL=${KVM_IDLE_DEMO_TOL:-10}
PLACE_HOT=${KVM_IDLE_DEMO_PLACE_HOT:-32}
HOT_A2=${KVM_IDLE_DEMO_HOT_A2:-96}
HOT_B=${KVM_IDLE_DEMO_HOT_B:-48}
BUDGET=${KVM_IDLE_DEMO_BUDGET:-256}
COLD_AGE=${KVM_IDLE_DEMO_COLD_AGE:-3}
# Part 3 (two guests at once) is off by default: under TCG's nested SVM, two
# inner guests running together lose one of them (a silent reset), and once
# the outer kernel crashed (see README).
TWO=${KVM_IDLE_DEMO_TWO:-0}
MIN_PCT=${KVM_IDLE_DEMO_MIN_PCT:-95}
BOOT_TIMEOUT=${KVM_IDLE_DEMO_BOOT_TIMEOUT:-600}
TOOL=${KVM_IDLE_DEMO_TOOL:-$KVM_IDLE_LINUX/tools/kvm/kvm_idle/kvm_idle}
GKERNEL=${KVM_IDLE_DEMO_GUEST_KERNEL:-$KVM_IDLE_BUILD/demo/vmlinuz}
INITRD=$KVM_IDLE_BUILD/demo/hotset.cpio.gz
WHERE=$KVM_IDLE_BUILD/demo/numa-where
OUT=$KVM_IDLE_OUT
# Guest RAM: what hotset writes, plus room for the guest kernel.
MEM=$((TOTAL + 192))
PAGES_PER_MIB=256

for v in TOTAL INTERVAL ROUNDS TOL PLACE_HOT HOT_A2 HOT_B BUDGET COLD_AGE MIN_PCT; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "KVM_IDLE_DEMO_$v must be a whole number, not '${!v}'"
done
for h in "$PLACE_HOT" "$HOT_A2" "$HOT_B"; do
	[ "$h" -le "$TOTAL" ] ||
		die "the hot sets ($PLACE_HOT, $HOT_A2, $HOT_B MiB) must fit in KVM_IDLE_DEMO_TOTAL ($TOTAL MiB)"
done
[ -c /dev/kvm ] || die "no /dev/kvm in the booted kernel: KVM did not initialize (see the console log)"
[ -e /proc/self/idle_bitmap ] || die "no /proc/PID/idle_bitmap: the booted kernel lacks CONFIG_KVM_PROC_IDLE_BITMAP"
[ -x "$TOOL" ] || die "no kvm_idle at $TOOL; run scripts/build-tool.sh"
"$TOOL" --help 2>&1 | grep -q -e '--place' ||
	die "$TOOL has no --place option (placement mode): build the kvm_idle that has it (scripts/build-tool.sh)"
for f in "$INITRD" "$GKERNEL" "$WHERE"; do
	[ -e "$f" ] || die "no $f; run scripts/demo/build-guest.sh"
done
need_cmd qemu-system-x86_64 mkfifo awk

# This shell polls files while the machine (TCG, debug kernel) is slow to
# start processes: builtins only in the loops.
log() { info "[${SECONDS}s] $*"; }

# The tiers: node 0 (CPUs and memory) is the fast one, node 1 (memory, no
# CPUs: what a CXL or PMEM tier looks like) the slow one.  scripts/boot.sh
# gives the booted kernel that layout (KVM_IDLE_NUMA=2, the default).
nodes=/sys/devices/system/node
[ -d $nodes/node0 ] || die "the booted kernel has no NUMA node 0 ($nodes/node0): is CONFIG_NUMA off?"
[ -d $nodes/node1 ] ||
	die "the booted kernel has no NUMA node 1 ($nodes/node1): boot it with scripts/boot.sh and KVM_IDLE_NUMA=2 (the default), on a kernel with CONFIG_NUMA"
[ ! -d $nodes/node2 ] || die "more than two NUMA nodes; the demo wants exactly two (KVM_IDLE_NUMA=2)"
node_kib() { awk '/MemTotal:/ { print $4 }' "$nodes/node$1/meminfo"; }
node_free_kib() { awk '/MemFree:/ { print $4 }' "$nodes/node$1/meminfo"; }
[ -n "$(cat $nodes/node0/cpulist)" ] || die "NUMA node 0 has no CPUs; the fast tier must be node 0 (scripts/boot.sh puts the CPUs there)"
[ -z "$(cat $nodes/node1/cpulist)" ] || die "NUMA node 1 has CPUs ($(cat $nodes/node1/cpulist)); the slow tier must be memory only (scripts/boot.sh)"
[ "$(node_kib 1)" -gt 0 ] || die "NUMA node 1 has no memory"
need_kib=$((2 * MEM * 1024))
for n in 0 1; do
	[ "$(node_free_kib $n)" -gt "$need_kib" ] ||
		die "each NUMA node needs $((need_kib / 1024)) MiB free for two guests of $MEM MiB (node 0: $(($(node_free_kib 0) / 1024)), node 1: $(($(node_free_kib 1) / 1024)) MiB free): give the booted kernel more memory (KVM_IDLE_MEM)"
done
log "NUMA: node 0 $(($(node_kib 0) / 1024)) MiB, CPUs $(cat $nodes/node0/cpulist) (fast tier); node 1 $(($(node_kib 1) / 1024)) MiB, no CPUs (slow tier)"
# Automatic NUMA balancing would move the pages on its own.
[ ! -w /proc/sys/kernel/numa_balancing ] || echo 0 >/proc/sys/kernel/numa_balancing

# QEMU asks for transparent huge pages for guest RAM.  With them KVM maps the
# guest with 2M pages and every touched 2M page counts in full, so the
# working set would be the hot set rounded up to 2M pages, plus 2M for every
# scattered page the guest kernel touches.  4K pages make the truth exact,
# for the working set and for the placement alike.
thp=/sys/kernel/mm/transparent_hugepage/enabled
[ ! -w $thp ] || echo never >$thp

D=$(mktemp -d)
mkfifo "$D/tick"
# A FIFO nobody writes: `read -t` on it is a sleep without a process.
exec 4<>"$D/tick"
nap() { read -r -t "$1" -u 4 || true; }

# The guests, by index: 0 is guest-a, 1 guest-b.
GNAME=(guest-a guest-b)
GMAGIC=(686f7401 686f7402)
GQPID=() GCPID=() GFD=() GSER=() GSTART=() GBOOT=() GSUM=() GHOT=()
kpid=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	local p
	for p in $kpid "${GQPID[@]}" "${GCPID[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$D"
}
trap cleanup EXIT

# start_guest G: start QEMU for guest G; its serial port writes to
# serial-NAME.log and reads from the file descriptor GFD[G].
start_guest() {
	local g=$1 name=${GNAME[$1]} fd
	local -a qemu
	GSER[g]=$OUT/serial-$name.log
	: >"${GSER[g]}"
	mkfifo "$D/$name.in" "$D/$name.out"
	cat "$D/$name.out" >"${GSER[g]}" &
	GCPID[g]=$!
	disown "${GCPID[g]}"
	# shellcheck disable=SC2054 # commas inside QEMU options
	qemu=(qemu-system-x86_64 -enable-kvm -cpu host -m "$MEM" -smp 1 -name "$name"
		-nodefaults -no-user-config -display none -no-reboot
		-chardev "pipe,id=ser,path=$D/$name" -serial chardev:ser
		-kernel "$GKERNEL" -initrd "$INITRD"
		-append "console=ttyS0 quiet panic=-1 mitigations=off total=$TOTAL hot=0 magic=${GMAGIC[g]}")
	for dir in /usr/share/seabios /usr/share/qemu; do
		[ ! -d $dir ] || qemu+=(-L "$dir")
	done
	log "starting $name: ${qemu[*]}"
	GSTART[g]=$SECONDS
	"${qemu[@]}" </dev/null >"$OUT/qemu-$name.log" 2>&1 &
	GQPID[g]=$!
	disown "${GQPID[g]}"
	GHOT[g]=0
	# Read-write, so that the open does not wait for QEMU to open the other end.
	exec {fd}<>"$D/$name.in"
	GFD[g]=$fd
}

# wait_serial G ERE TIMEOUT: wait for a complete line of guest G's console
# that matches ERE; the line is left in MATCH.
wait_serial() {
	local g=$1 re=$2 end=$((SECONDS + $3)) line ser=${GSER[$1]}
	local -a l
	while [ $SECONDS -lt $end ]; do
		mapfile l <"$ser"
		for line in "${l[@]}"; do
			# The guest may be in the middle of writing the last line.
			[[ $line == *$'\n' ]] || break
			line=${line%$'\n'}
			line=${line%$'\r'}
			if [[ $line =~ $re ]]; then
				MATCH=$line
				return 0
			fi
		done
		if ! kill -0 "${GQPID[g]}" 2>/dev/null; then
			cat "$OUT/qemu-${GNAME[g]}.log" >&2
			die "the inner QEMU of ${GNAME[g]} exited; its guest's console: $ser"
		fi
		nap 0.5
	done
	echo "$PROG: error: no '$re' from ${GNAME[g]} within $3 s; the end of its console:" >&2
	tail -n 20 "$ser" >&2
	exit 1
}

# The tag tells a guest's replies to a command from older ones.
tag=0
# send G CMD: send "CMD tN" to guest G; the tag is left in TAG.
send() {
	tag=$((tag + 1))
	TAG=t$tag
	echo "$2 $TAG" >&"${GFD[$1]}"
}

# set_hot G MIB: make the first MIB the hot set of guest G and wait until the
# guest has made a pass over it; the "hot set now" line is left in NOW.
set_hot() {
	send "$1" "hot $2"
	log "${GNAME[$1]}: hot set $2 MiB: switching"
	wait_serial "$1" "^hotset: hot set now hot=$2 MiB .* tag=$TAG\$" 120
	NOW=$MATCH
	wait_serial "$1" "^hotset: active hot=$2 MiB tag=$TAG\$" 300
	GHOT[$1]=$2
}

# lines FILE: the number of lines of FILE, in NLINES.
lines() {
	local -a l
	mapfile -t l <"$1"
	NLINES=${#l[@]}
}

# wait_ready G: wait until guest G has written its memory.
wait_ready() {
	local g=$1
	wait_serial "$g" '^hotset: ready .*checksum=[0-9a-f]+' "$BOOT_TIMEOUT"
	[[ $MATCH =~ checksum=([0-9a-f]+) ]]
	GSUM[g]=${BASH_REMATCH[1]}
	GBOOT[g]=$((SECONDS - GSTART[g]))
	wait_serial "$g" '^hotset: started uptime=' 1
	log "${GNAME[g]} ready after ${GBOOT[g]} s (${MATCH#hotset: }), QEMU pid ${GQPID[g]}; wrote $TOTAL MiB, checksum ${GSUM[g]}"
}

# Two inner guests running at once under TCG's nested SVM lose one of them
# now and then (it resets, silently): guest-b starts after part 2.
start_guest 0
wait_ready 0

########################################################################
# Part 1: the working set of guest-a.
: >"$OUT/rounds.jsonl"
"$TOOL" -i "$INTERVAL" -k 1 --json --record "$OUT/demo.rec" --svg "$OUT/demo.svg" \
	"${GQPID[0]}" >"$OUT/rounds.jsonl" 2>"$OUT/kvm_idle.err" &
kpid=$!

# One line per hot set: H FIRST LAST PAGES PTE_PAGES PRESENT, rounds FIRST..LAST.
phases=()
for h in 0 $HOT; do
	set_hot 0 "$h"
	[[ $NOW =~ \ pages=([0-9]+)\ present=([0-9]+)\ pte_pages=([0-9]+) ]] ||
		die "cannot parse '$NOW'"
	# Rounds that started before the switch may mix the old hot set in:
	# skip the one in progress and the next, then measure ROUNDS rounds.
	lines "$OUT/rounds.jsonl"
	first=$((NLINES + 3))
	last=$((first + ROUNDS - 1))
	phases+=("$h $first $last ${BASH_REMATCH[1]} ${BASH_REMATCH[3]} ${BASH_REMATCH[2]}")
	log "hot set $h MiB: active; measuring rounds $first..$last"
	end=$((SECONDS + (ROUNDS + 3) * INTERVAL + 120))
	while lines "$OUT/rounds.jsonl" && [ "$NLINES" -lt $last ]; do
		kill -0 "$kpid" 2>/dev/null || { cat "$OUT/kvm_idle.err" >&2; die "kvm_idle exited"; }
		[ $SECONDS -lt $end ] || die "kvm_idle made no round in time (see $OUT/kvm_idle.err)"
		nap 0.5
	done
done
kill -TERM "$kpid"
wait "$kpid" || warn "kvm_idle exited with $?"
kpid=""
log "working set measured; kvm_idle stopped"

# The table, from rounds.jsonl (ws_bytes of each round) and the console (the
# guest's pass rate for each hot set).
verdict=0
printf '%s\n' "${phases[@]}" >"$D/phases"
awk -v tol="$TOL" -v interval="$INTERVAL" -v rounds="$ROUNDS" -v total="$TOTAL" -v mem="$MEM" \
	-v pid="${GQPID[0]}" -v phases="$D/phases" -v serial="${GSER[0]}" -v q="'" '
function kib(b) { return sprintf("%.1f KiB", b / 1024) }
function mib(b) { return sprintf("%.1f MiB", b / 1048576) }
BEGIN {
	while ((getline l < phases) > 0) {
		split(l, f, " ")
		n++; h[n] = f[1]; first[n] = f[2]; last[n] = f[3]
		pages[n] = f[4]; ptes[n] = f[5]; present[n] = f[6]
	}
	while ((getline l < serial) > 0)
		if (match(l, /hotset: hot=[0-9]+ MiB passes=[0-9]+ rate=[0-9.]+/)) {
			split(substr(l, RSTART, RLENGTH), f, /[= ]/)
			r = f[8] + 0
			if (!(f[3] in minrate) || r < minrate[f[3]])
				minrate[f[3]] = r
		}
}
{
	if (match($0, /"ws_bytes":[0-9]+/))
		ws[NR] = substr($0, RSTART + 11, RLENGTH - 11) + 0
	if (match($0, /"covered_bytes":[0-9]+/))
		covered = substr($0, RSTART + 16, RLENGTH - 16) + 0
}
END {
	fail = 0
	for (i = 1; i <= n; i++) {
		m = 0
		for (r = first[i]; r <= last[i]; r++)
			v[++m] = ws[r]
		for (a = 2; a <= m; a++)
			for (b = a; b > 1 && v[b - 1] > v[b]; b--) {
				x = v[b]; v[b] = v[b - 1]; v[b - 1] = x
			}
		med[i] = v[int((m + 1) / 2)]; lo[i] = v[1]; hi[i] = v[m]
		delete v
		if (h[i] in minrate && h[i] > 0 && minrate[h[i]] * interval < 1)
			warn = warn sprintf("warning: hot set %d MiB: the guest made only %.1f passes/s, fewer than one per interval: the working set may be under-reported\n", h[i], minrate[h[i]])
		if (h[i] == 0)
			bg = med[i]
	}
	printf "== 1. Working set: kvm_idle on guest-a" q "s QEMU (pid %d, -enable-kvm, guest RAM %d MiB,\n", pid, mem
	printf "%s covered by memslots, 4K host pages); the guest wrote %d MiB once, then loops\n", mib(covered), total
	printf "over a hot set of H MiB.  Every %d s kvm_idle reads and clears the Accessed bits:\n", interval
	printf "working set = bytes accessed in one interval; reported = median of %d rounds\n", rounds
	printf "(min..max).  Truth = the hot set" q "s pages plus the page-table pages that map them\n"
	printf "(one per 2 MiB), as the guest counted them; the %d%% tolerance covers the rest: the\n", tol
	printf "guest" q "s background, %s measured with H = 0 (timer interrupts, hotset" q "s code and\n", kib(bg)
	printf "stack, upper page-table levels).\n\n"
	printf "%8s  %-34s  %-30s  %s\n", "hot set", "truth", "reported working set", "difference"
	for (i = 1; i <= n; i++) {
		rep = sprintf("%s (%.1f..%.1f)", mib(med[i]), lo[i] / 1048576, hi[i] / 1048576)
		if (h[i] == 0) {
			printf "%8s  %-34s  %-30s  %s\n", "0 MiB", "-", sprintf("%s (%.0f..%.0f)", kib(med[i]), lo[i] / 1024, hi[i] / 1024), "background"
			continue
		}
		t = (pages[i] + ptes[i]) * 4096
		d = (med[i] - t) * 100 / t
		ok = (d <= tol && d >= -tol) ? "PASS" : "FAIL"
		if (ok == "FAIL")
			fail = 1
		if (present[i] != pages[i])
			warn = warn sprintf("warning: only %d of the %d hot pages were resident in the guest\n", present[i], pages[i])
		printf "%8s  %-34s  %-30s  %+.2f%%  %s\n", h[i] " MiB", sprintf("%s (%d + %d PT pages)", mib(t), pages[i], ptes[i]), rep, d, ok
	}
	printf "\n%sworking set: %s\n", warn, fail ? "FAIL" : "PASS"
	exit fail
}' "$OUT/rounds.jsonl" >"$OUT/result.txt" || verdict=1
"$TOOL" --file "$OUT/demo.rec" -w 64 --color=never >"$OUT/heatmap.txt" 2>&1 || true

########################################################################
# Placement.  measure G LABEL: ask guest G where its hot and cold pages are
# (guest-physical ranges, from its pagemap), measure with numa-where on
# which host node they are, and add a line to placement.raw:
#   LABEL NAME HOT_MIB HOT_TRUTH COLD_TRUTH hot: NODE0 NODE1 ABSENT BAD
#   cold: NODE0 NODE1 ABSENT BAD all: NODE0 NODE1 MAP_ABSENT  (4K pages)
: >"$OUT/placement.raw"
measure() {
	local g=$1 label=$2 name=${GNAME[$1]} hotp coldp ranges where
	local -A w
	hotp=$((GHOT[g] * PAGES_PER_MIB))
	coldp=$((TOTAL * PAGES_PER_MIB - hotp))
	ranges=$OUT/ranges-$label-$name.txt
	where=$OUT/where-$label-$name.txt
	send "$g" map
	wait_serial "$g" "^hotset: map end .* tag=$TAG\$" 120
	[[ $MATCH =~ \ absent=([0-9]+) ]] || die "cannot parse '$MATCH'"
	w[map_absent]=${BASH_REMATCH[1]}
	awk -v tag="$TAG" '{ sub(/\r$/, "") }
	$1 == "hotset:" && $2 == "map" && ($3 == "hot" || $3 == "cold") && $4 == "tag=" tag {
		for (i = 5; i <= NF; i++) { split($i, a, "+"); print $3, a[1], a[2] }
	}' "${GSER[g]}" >"$ranges"
	"$WHERE" "${GQPID[g]}" "$MEM" "${GMAGIC[g]}" "$hotp" "$((TOTAL * PAGES_PER_MIB))" \
		<"$ranges" >"$where" ||
		die "numa-where could not measure $name (see above; its map: $ranges)"
	# "hot pages=N node0=N node1=N other=N absent=N bad=N": keys prefixed.
	local k v kv cls rest
	while read -r cls rest; do
		for kv in $rest; do
			k=${kv%%=*} v=${kv#*=}
			w[$cls.$k]=$v
		done
	done <"$where"
	echo "$label $name ${GHOT[g]} $hotp $coldp" \
		"${w[hot.node0]} ${w[hot.node1]} $((${w[hot.absent]} + ${w[hot.other]})) ${w[hot.bad]}" \
		"${w[cold.node0]} ${w[cold.node1]} $((${w[cold.absent]} + ${w[cold.other]})) ${w[cold.bad]}" \
		"${w[all.node0]} ${w[all.node1]} ${w[map_absent]}" >>"$OUT/placement.raw"
	log "$name ($label): hot set $((${w[hot.node0]} / PAGES_PER_MIB)) MiB on node 0, $((${w[hot.node1]} / PAGES_PER_MIB)) on node 1; cold $((${w[cold.node0]} / PAGES_PER_MIB)) MiB on node 0, $((${w[cold.node1]} / PAGES_PER_MIB)) on node 1"
}

# verify G: the guest checksums its memory again; "same" or "CHANGED" in SUM.
verify() {
	send "$1" verify
	wait_serial "$1" "^hotset: verify checksum=[0-9a-f]+ .* tag=$TAG\$" 300
	SUM=CHANGED
	[[ $MATCH == *" checksum=${GSUM[$1]} expected=${GSUM[$1]} ok "* ]] && SUM=same
	[ $SUM = same ] || warn "${GNAME[$1]}: its memory changed: $MATCH (written: ${GSUM[$1]})"
}

# place PART PID...: run kvm_idle --place (and the options in PLACE_OPTS) on
# the QEMUs until it has moved less than 1 MiB in two rounds (the guest
# kernels' few scattered pages come and go) and deferred nothing, after at
# least COLD_AGE + 2 rounds, at most COLD_AGE + 25; then stop it.  Which pages are
# where is then measured by numa-where, not taken from kvm_idle's numbers.
place() {
	local part=$1 n quiet i min max end moved
	shift
	local -a l svg=()
	# kvm_idle draws the heat map of one VM only.
	[ $# -gt 1 ] || svg=(--svg "$OUT/placement-$part.svg")
	# Made here: the shell that starts kvm_idle may open it later.
	: >"$OUT/placement-$part.jsonl"
	log "placement $part: $TOOL --place=1:0 --cold-age=$COLD_AGE ${PLACE_OPTS[*]} -i $INTERVAL --json $*"
	"$TOOL" --place=1:0 --cold-age="$COLD_AGE" "${PLACE_OPTS[@]}" -i "$INTERVAL" --json \
		"${svg[@]}" "$@" >"$OUT/placement-$part.jsonl" \
		2>"$OUT/placement-$part.err" &
	kpid=$!
	min=$(((COLD_AGE + 2) * $#))
	max=$(((COLD_AGE + 25) * $#))
	end=$((SECONDS + (COLD_AGE + 25) * (INTERVAL + 10) + 60))
	while :; do
		kill -0 "$kpid" 2>/dev/null ||
			{ cat "$OUT/placement-$part.err" >&2; die "kvm_idle --place exited early (see above)"; }
		# kvm_idle's output is block-buffered: a last line may be partial.
		mapfile l <"$OUT/placement-$part.jsonl"
		n=${#l[@]}
		[ "$n" -eq 0 ] || [[ ${l[n - 1]} == *$'\n' ]] || n=$((n - 1))
		if [ "$n" -ge "$min" ]; then
			quiet=1 moved=0
			for ((i = n - 2 * $#; i < n; i++)); do
				if [[ ${l[i]} =~ \"to_slow_bytes\":([0-9]+),\"to_fast_bytes\":([0-9]+), ]]; then
					moved=$((moved + BASH_REMATCH[1] + BASH_REMATCH[2]))
				else
					quiet=0
				fi
				[[ ${l[i]} != *'"deferred_bytes":'[1-9]* ]] || quiet=0
			done
			[ $quiet = 0 ] || [ $moved -ge 1048576 ] || break
		fi
		if [ "$n" -ge "$max" ] || [ $SECONDS -ge $end ]; then
			warn "placement $part: kvm_idle still moved pages after $((n / $#)) rounds; measuring anyway"
			break
		fi
		nap 0.5
	done
	kill -TERM "$kpid"
	wait "$kpid" || warn "kvm_idle --place exited with $?"
	kpid=""
	log "placement $part: kvm_idle stopped after $((n / $#)) rounds"
}
PLACE_OPTS=()

# Part 2: guest-a alone.  Before: everything where QEMU first touched it
# (node 0, the CPUs' node).
set_hot 0 "$PLACE_HOT"
measure 0 2-before
place 2 "${GQPID[0]}"
measure 0 2-after
verify 0
echo "checksum 2 guest-a $SUM" >>"$OUT/placement.raw"

if [ "$TWO" = 1 ]; then
start_guest 1
wait_ready 1

# Part 3: both guests, one budget for the fast tier.  guest-a's hot set
# grows: the pages between PLACE_HOT and HOT_A2 MiB are on node 1 now and
# hot again.  guest-b was never placed: all of it is on node 0.
set_hot 0 "$HOT_A2"
set_hot 1 "$HOT_B"
measure 0 3-before
measure 1 3-before
PLACE_OPTS=(--fast-budget="${BUDGET}M")
place 3 "${GQPID[0]}" "${GQPID[1]}"
for g in 0 1; do
	measure $g 3-after
	verify $g
	echo "checksum 3 ${GNAME[g]} $SUM" >>"$OUT/placement.raw"
done
else
	log "part 3 (two guests, one fast-tier budget) skipped: KVM_IDLE_DEMO_TWO=1 runs it"
fi

# The table.
{
	echo
	awk -v min="$MIN_PCT" -v budget="$BUDGET" -v cold_age="$COLD_AGE" -v interval="$INTERVAL" \
		-v total="$TOTAL" -v boot_a="${GBOOT[0]}" -v boot_b="${GBOOT[1]:-0}" -v two="$TWO" -v q="'" '
function m(p) { return p / 256 }
function pct(a, b) { return b ? 100 * a / b : 0 }
function cell(a, b) { return sprintf("%6.1f %5.1f%%", m(a), pct(a, b)) }
$1 == "checksum" { sum[$2 " " $3] = $4; next }
{ n++; for (i = 1; i <= NF; i++) f[n, i] = $i }
END {
	printf "== 2. and 3. Placement: kvm_idle --place=1:0 --cold-age=%d -i %d (cold pages to node 1, the slow\n", cold_age, interval
	printf "tier; pages accessed again to node 0); part 3 with --fast-budget=%dM for both QEMUs.\n", budget
	printf "Truth: the hot set (the first H MiB the guest accesses in a loop) and the cold memory\n"
	printf "(the other %d MiB it wrote once), as guest-physical pages from the guest" q "s pagemap;\n", total
	printf "measured: the node of each of them in QEMU" q "s memory (move_pages(2), no node list).\n"
	printf "PASS: >= %d%% of the hot set on node 0 and, in part 2, >= %d%% of the cold memory on\n", min, min
	printf "node 1; in part 3, both guests" q "s RAM on node 0 within the budget; the guest" q "s\n"
	printf "checksum of its memory unchanged.  MiB (share of the truth).\n\n"
	printf "%-8s %-7s  %-8s %-13s %-13s  %-9s %-13s %-13s  %-8s %s\n", "part", "guest", "hot set", "on node 0", "on node 1", "cold", "on node 0", "on node 1", "checksum", "result"
	fail = 0
	for (i = 1; i <= n; i++) {
		split(f[i, 1], lab, "-"); part = lab[1]; name = f[i, 2]
		hp = f[i, 4]; cp = f[i, 5]
		h0 = f[i, 6]; h1 = f[i, 7]; hx = f[i, 8]; hbad = f[i, 9]
		c0 = f[i, 10]; c1 = f[i, 11]; cx = f[i, 12]; cbad = f[i, 13]
		a0 = f[i, 14]; a1 = f[i, 15]; mabs = f[i, 16]
		res = "-"; s = "-"
		if (lab[2] == "after") {
			s = sum[part " " name]
			ok = pct(h0, hp) >= min && s == "same"
			if (part == 2)
				ok = ok && pct(c1, cp) >= min
			res = ok ? "PASS" : "FAIL"
			if (!ok)
				fail = 1
			if (part == 3)
				fast3 += a0
		}
		printf "%-8s %-7s  %4.1f MiB %-13s %-13s  %5.1f MiB %-13s %-13s  %-8s %s\n", part " " lab[2], name, m(hp), cell(h0, hp), cell(h1, hp), m(cp), cell(c0, cp), cell(c1, cp), s, res
		if (hbad + cbad)
			printf "       %d pages of the guest" q "s map do not hold its own data at base + GPA: the map or the base is wrong\n", hbad + cbad
		if (hbad + cbad)
			fail = 1
		if (hx + cx + mabs)
			printf "       %d pages of the truth are not resident (guest: %d, host: %d)\n", hx + cx + mabs, mabs, hx + cx
		allm[f[i, 1] " " name] = sprintf("%.1f MiB on node 0, %.1f on node 1", m(a0), m(a1))
	}
	if (two) {
		printf "\nAll guest RAM (kernel and page cache included) after placement: "
		printf "guest-a %s; guest-b %s.\n", allm["3-after guest-a"], allm["3-after guest-b"]
		bok = m(fast3) <= budget
		printf "Fast tier after part 3: %.1f MiB of both guests" q "s RAM on node 0, budget %d MiB: %s\n", m(fast3), budget, bok ? "within it" : "OVER IT"
		if (!bok)
			fail = 1
	} else {
		printf "\nPart 3 (two guests, --fast-budget) not run: KVM_IDLE_DEMO_TWO=1 runs it.\n"
	}
	printf "\nplacement: %s\n", fail ? "FAIL" : "PASS"
	if (two)
		printf "inner guests, start to ready (Debian kernel boot + writing %d MiB): guest-a %d s, guest-b %d s\n", total, boot_a, boot_b
	else
		printf "inner guest, start to ready (Debian kernel boot + writing %d MiB): %d s\n", total, boot_a
	exit fail
}' "$OUT/placement.raw"
} >"$OUT/placement.txt" || verdict=1
cat "$OUT/placement.txt" >>"$OUT/result.txt"
# What kvm_idle itself said last (for comparison only; not used above).
{
	echo
	echo "kvm_idle's own last placement lines (its numbers, not used for the verdict):"
	for part in 2 3; do
		tail -n "$((part - 1))" "$OUT/placement-$part.jsonl" |
			sed -n "s/.*\"name\":\"\([^\"]*\)\".*\"placement\":\({[^}]*}\).*/  part $part, \1: \2/p"
	done
} >>"$OUT/result.txt" 2>/dev/null || true
echo "demo in the VM: $SECONDS s" >>"$OUT/result.txt"

echo
echo "== heat map of part 1 (replayed from demo.rec; one row per round: hot set 0, then ${HOT// /, } MiB)"
cat "$OUT/heatmap.txt"
echo
echo "== result"
cat "$OUT/result.txt"
exit $verdict
