#!/bin/bash
# The demo, inside the kernel that scripts/demo.sh boots: start a real
# qemu-system-x86_64 -enable-kvm whose guest runs scripts/demo/hotset.c, point
# kvm_idle at that QEMU's pid, and compare the working set it reports with the
# truth, for a hot set of 0 MiB (the background) and each size in
# KVM_IDLE_DEMO_HOT.  Writes result.txt, rounds.jsonl (kvm_idle --json),
# demo.rec (kvm_idle --record), demo.svg, heatmap.txt and serial.log (the
# inner guest's console) to $KVM_IDLE_OUT.  Exit status 0 when every hot set
# is within KVM_IDLE_DEMO_TOL percent of the truth.
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
BOOT_TIMEOUT=${KVM_IDLE_DEMO_BOOT_TIMEOUT:-1200}
TOOL=${KVM_IDLE_DEMO_TOOL:-$KVM_IDLE_LINUX/tools/kvm/kvm_idle/kvm_idle}
KERNEL=${KVM_IDLE_KERNEL:-$KVM_IDLE_LINUX/arch/x86/boot/bzImage}
INITRD=$KVM_IDLE_BUILD/demo/hotset.cpio.gz
OUT=$KVM_IDLE_OUT
SER=$OUT/serial.log
# Guest RAM: what hotset writes, plus room for the guest kernel.
MEM=$((TOTAL + 192))

[ -c /dev/kvm ] || die "no /dev/kvm in the booted kernel: KVM did not initialize (see the console log)"
[ -e /proc/self/idle_bitmap ] || die "no /proc/PID/idle_bitmap: the booted kernel lacks CONFIG_KVM_PROC_IDLE_BITMAP"
[ -x "$TOOL" ] || die "no kvm_idle at $TOOL; run scripts/build-tool.sh"
[ -f "$INITRD" ] || die "no $INITRD; run scripts/demo/build-guest.sh"
need_cmd qemu-system-x86_64 mkfifo awk

# This shell polls files while the machine (TCG, debug kernel) is slow to
# start processes: builtins only in the loops.
log() { info "[${SECONDS}s] $*"; }

# QEMU asks for transparent huge pages for guest RAM.  With them KVM maps the
# guest with 2M pages and every touched 2M page counts in full, so the
# working set would be the hot set rounded up to 2M pages, plus 2M for every
# scattered page the guest kernel touches.  4K pages make the truth exact.
thp=/sys/kernel/mm/transparent_hugepage/enabled
[ ! -w $thp ] || echo never >$thp

D=$(mktemp -d)
: >"$SER"
mkfifo "$D/ser.in" "$D/ser.out" "$D/tick"
# A FIFO nobody writes: `read -t` on it is a sleep without a process.
exec 4<>"$D/tick"
nap() { read -r -t "$1" -u 4 || true; }
qpid="" kpid="" cpid=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	local p
	for p in $kpid $qpid $cpid; do kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$D"
}
trap cleanup EXIT

# The inner guest's serial port: output to serial.log, input from fd 3.
cat "$D/ser.out" >"$SER" &
cpid=$!
disown "$cpid"
# shellcheck disable=SC2054 # commas inside QEMU options
qemu=(qemu-system-x86_64 -enable-kvm -cpu host -m "$MEM" -smp 1
	-nodefaults -no-user-config -display none -no-reboot
	-chardev "pipe,id=ser,path=$D/ser" -serial chardev:ser
	-kernel "$KERNEL" -initrd "$INITRD"
	-append "console=ttyS0 quiet tsc_early_khz=2000000 lockdep.prove_locking=0 panic=-1 total=$TOTAL hot=0")
for dir in /usr/share/seabios /usr/share/qemu; do
	[ ! -d $dir ] || qemu+=(-L "$dir")
done
log "starting the inner guest: ${qemu[*]}"
start=$SECONDS
"${qemu[@]}" </dev/null >"$OUT/qemu.log" 2>&1 &
qpid=$!
disown "$qpid"
# Read-write, so that the open does not wait for QEMU to open the other end.
exec 3<>"$D/ser.in"

# wait_serial FROM ERE TIMEOUT: wait for a complete line of serial.log after
# line FROM that matches ERE; the line is left in MATCH.
wait_serial() {
	local from=$1 re=$2 end=$((SECONDS + $3)) line
	local -a l
	while [ $SECONDS -lt $end ]; do
		mapfile -s "$from" l <"$SER"
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
		if ! kill -0 "$qpid" 2>/dev/null; then
			cat "$OUT/qemu.log" >&2
			die "the inner QEMU exited; its guest's console: $SER"
		fi
		nap 0.5
	done
	echo "$PROG: error: no '$re' from the inner guest within $3 s; the end of its console:" >&2
	tail -n 20 "$SER" >&2
	exit 1
}

# rounds_done: rounds kvm_idle reported so far, in NROUNDS.
rounds_done() {
	local -a l
	mapfile -t l <"$OUT/rounds.jsonl"
	NROUNDS=${#l[@]}
}

wait_serial 0 '^hotset: ready' "$BOOT_TIMEOUT"
boot_s=$((SECONDS - start))
log "inner guest ready after $boot_s s: QEMU pid $qpid"

"$TOOL" -i "$INTERVAL" -k 1 --json --record "$OUT/demo.rec" --svg "$OUT/demo.svg" \
	"$qpid" >"$OUT/rounds.jsonl" 2>"$OUT/kvm_idle.err" &
kpid=$!

# One line per hot set: H FIRST LAST PAGES PTE_PAGES PRESENT, rounds FIRST..LAST.
phases=()
tag=0
for h in 0 $HOT; do
	# The tag tells the guest's replies to this command from older ones.
	tag=$((tag + 1))
	echo "hot $h t$tag" >&3
	log "hot set $h MiB: switching"
	wait_serial 0 "^hotset: hot set now hot=$h MiB .* tag=t$tag\$" 120
	now=$MATCH
	wait_serial 0 "^hotset: active hot=$h MiB tag=t$tag\$" 300
	[[ $now =~ \ pages=([0-9]+)\ present=([0-9]+)\ pte_pages=([0-9]+) ]] ||
		die "cannot parse '$now'"
	# Rounds that started before the switch may mix the old hot set in:
	# skip the one in progress and the next, then measure ROUNDS rounds.
	rounds_done
	first=$((NROUNDS + 3))
	last=$((first + ROUNDS - 1))
	phases+=("$h $first $last ${BASH_REMATCH[1]} ${BASH_REMATCH[3]} ${BASH_REMATCH[2]}")
	log "hot set $h MiB: active; measuring rounds $first..$last"
	end=$((SECONDS + (ROUNDS + 3) * INTERVAL + 120))
	while rounds_done && [ "$NROUNDS" -lt $last ]; do
		kill -0 "$kpid" 2>/dev/null || { cat "$OUT/kvm_idle.err" >&2; die "kvm_idle exited"; }
		[ $SECONDS -lt $end ] || die "kvm_idle made no round in time (see $OUT/kvm_idle.err)"
		nap 0.5
	done
done
kill -TERM "$kpid"
wait "$kpid" || warn "kvm_idle exited with $?"
kpid=""
log "measured; kvm_idle stopped"

# The table, from rounds.jsonl (ws_bytes of each round) and serial.log (the
# guest's pass rate for each hot set).
verdict=0
printf '%s\n' "${phases[@]}" >"$D/phases"
awk -v tol="$TOL" -v interval="$INTERVAL" -v rounds="$ROUNDS" -v total="$TOTAL" -v mem="$MEM" \
	-v pid="$qpid" -v boot="$boot_s" -v phases="$D/phases" -v serial="$SER" -v q="'" '
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
		if (h[i] in minrate && minrate[h[i]] * interval < 1)
			warn = warn sprintf("warning: hot set %d MiB: the guest made only %.1f passes/s, fewer than one per interval: the working set may be under-reported\n", h[i], minrate[h[i]])
		if (h[i] == 0)
			bg = med[i]
	}
	printf "kvm_idle on QEMU pid %d (-enable-kvm, guest RAM %d MiB, %s covered by memslots,\n", pid, mem, mib(covered)
	printf "4K host pages); the guest wrote %d MiB once, then loops over a hot set of H MiB.\n", total
	printf "Every %d s kvm_idle reads and clears the Accessed bits: working set = bytes accessed\n", interval
	printf "in one interval; reported = median of %d rounds (min..max).  Truth = the hot set" q "s\n", rounds
	printf "pages plus the page-table pages that map them (one per 2 MiB), as the guest counted\n"
	printf "them; the %d%% tolerance covers the rest: the guest" q "s background, %s measured\n", tol, kib(bg)
	printf "with H = 0 (timer interrupts, hotset" q "s code and stack, upper page-table levels).\n\n"
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
	printf "\n%sdemo: %s\n", warn, fail ? "FAIL" : "PASS"
	printf "inner guest boot to ready: %d s\n", boot
	exit fail
}' "$OUT/rounds.jsonl" >"$OUT/result.txt" || verdict=1
echo "demo in the VM: $SECONDS s" >>"$OUT/result.txt"

"$TOOL" --file "$OUT/demo.rec" -w 64 --color=never >"$OUT/heatmap.txt" 2>&1 || true
echo
echo "== heat map (replayed from demo.rec; one row per round: hot set 0, then ${HOT// /, } MiB)"
cat "$OUT/heatmap.txt"
echo
echo "== result"
cat "$OUT/result.txt"
exit $verdict
