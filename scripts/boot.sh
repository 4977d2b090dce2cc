#!/bin/bash
# Boot the kvm-idle kernel under QEMU and run one command inside it.
USAGE="usage: scripts/boot.sh CMD [ARG...]

Boots build/linux/arch/x86/boot/bzImage in qemu-system-x86_64 (q35, 2 CPUs,
6 GiB in 2 NUMA nodes, the second without CPUs as a CXL or PMEM tier; TCG
with -cpu max,la57=off, or KVM with -cpu host where /dev/kvm works and the
host CPU offers SVM/VMX), with the host root shared read-only over 9p and
tmpfs on /tmp, /run and /var/tmp.  CMD runs in the guest as root, in the
current directory, with stdin from /dev/null and output on the console.
A writable per-run directory is mounted at the same path in the guest and
exported as KVM_IDLE_OUT; KVM_IDLE_* variables are passed into the guest.

Environment:
  KVM_IDLE_CMDLINE   extra kernel arguments, e.g. \"kvm_amd.npt=0\"
  KVM_IDLE_TIMEOUT   seconds until the guest is killed (default 1800)
  KVM_IDLE_RUN_NAME  name of the run (default boot-DATE): console log in
                     build/logs/NAME.log, KVM_IDLE_OUT is build/runs/NAME
  KVM_IDLE_KERNEL    kernel image (default build/linux/arch/x86/boot/bzImage)
  KVM_IDLE_MEM       guest memory (default 6G)
  KVM_IDLE_SMP       guest CPUs (default 2)
  KVM_IDLE_NUMA      NUMA nodes (default 2): node 0 has the CPUs, the memory
                     is shared out evenly
  KVM_IDLE_ACCEL     tcg or kvm (default: see above)
  KVM_IDLE_CPU       TCG's CPU model (default max,la57=off: 4-level paging,
                     as most servers run; with LA57 the 6.12 kernel can take
                     a wild KASAN report at boot: README, Known problems)
  KVM_IDLE_TCG_THREAD  TCG threads: multi (default; one host thread per
                     guest CPU) or single (one for all, for telling QEMU's
                     multi-threading apart from other causes)
  KVM_IDLE_QUIET=1   do not copy the console to stdout

Exit status: CMD's status; 97 when CMD succeeded but the console log has a
kernel splat (BUG:, WARNING:, lockdep, KASAN, RCU stall, hung task: the lines
are printed) printed after KVM or the series' code first ran (KVM's vendor
module's first line, the KUnit suite, or the command's start); one printed
before is a platform fault, listed in the run's platform-splats only; 124
guest timed out; 125 guest died before CMD finished; 126 QEMU could not
start."
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
usage_if "$@"
[ $# -gt 0 ] || die "$USAGE"
command -v qemu-system-x86_64 >/dev/null ||
	die "qemu-system-x86_64 is not installed; run scripts/setup.sh as root (it installs qemu-system-x86)"

KERNEL=${KVM_IDLE_KERNEL:-$KVM_IDLE_LINUX/arch/x86/boot/bzImage}
TIMEOUT=${KVM_IDLE_TIMEOUT:-1800}
NAME=${KVM_IDLE_RUN_NAME:-boot-$(date +%Y%m%d-%H%M%S)}
MEM=${KVM_IDLE_MEM:-6G}
SMP=${KVM_IDLE_SMP:-2}
NUMA=${KVM_IDLE_NUMA:-2}
[ -f "$KERNEL" ] || die "no kernel at $KERNEL; run scripts/build-kernel.sh first"
case "$NAME" in */* | .* | *[[:space:]]*) die "bad KVM_IDLE_RUN_NAME '$NAME'" ;; esac

LOGDIR=$KVM_IDLE_BUILD/logs
RUN=$KVM_IDLE_BUILD/runs/$NAME
LOG=$LOGDIR/$NAME.log
INIT=$KVM_IDLE_SCRIPTS/guest-init.sh
case "$RUN$INIT" in *[[:space:]]*) die "the guest needs paths without blanks: $RUN, $INIT" ;; esac
mkdir -p "$LOGDIR"
rm -rf "$RUN"
mkdir -p "$RUN"
RUN=$(cd "$RUN" && pwd -P)
: >"$LOG"

# The command file the guest's init runs.
{
	echo "# made by scripts/boot.sh for run $NAME"
	export KVM_IDLE_BUILD KVM_IDLE_PATCHES KVM_IDLE_MIRROR
	for v in ${!KVM_IDLE_@}; do
		printf 'export %s=%q\n' "$v" "${!v}"
	done
	printf 'cd %q || cd /\n' "$PWD"
	printf '%q ' "$@"
	echo
} >"$RUN/cmd"

# NUMA nodes: QEMU needs one memory backend per node, summing to -m.
[[ "$NUMA" =~ ^[1-8]$ ]] || die "KVM_IDLE_NUMA must be 1 to 8, not '$NUMA'"
[[ "$MEM" =~ ^([0-9]+)([MG]?)$ ]] || die "KVM_IDLE_MEM must be a size like 6G or 4096M, not '$MEM'"
mem_mib=${BASH_REMATCH[1]}
[ "${BASH_REMATCH[2]}" != G ] || mem_mib=$((mem_mib * 1024))
numa_args=()
if [ "$NUMA" -gt 1 ]; then
	per=$((mem_mib / NUMA / 2 * 2))
	for ((i = 0; i < NUMA; i++)); do
		size=$per
		[ $i -lt $((NUMA - 1)) ] || size=$((mem_mib - per * (NUMA - 1)))
		node="node,nodeid=$i,memdev=mem$i"
		[ $i -ne 0 ] || node+=",cpus=0-$((SMP - 1))"
		numa_args+=(-object "memory-backend-ram,id=mem$i,size=${size}M" -numa "$node")
	done
fi

accel=${KVM_IDLE_ACCEL:-}
if [ -z "$accel" ]; then
	accel=tcg
	# KVM needs nested virtualization for the guest's own KVM.
	if [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qw -m1 -e svm -e vmx /proc/cpuinfo; then
		accel=kvm
	fi
fi
tcg_thread=${KVM_IDLE_TCG_THREAD:-multi}
KVM_IDLE_TCG_CPU=${KVM_IDLE_CPU:-$KVM_IDLE_TCG_CPU}
case "$tcg_thread" in
multi | single) ;;
*) die "KVM_IDLE_TCG_THREAD must be multi or single, not '$tcg_thread'" ;;
esac
# shellcheck disable=SC2054 # commas inside QEMU options
case "$accel" in
tcg) accel_args=(-accel "tcg,thread=$tcg_thread" -cpu "$KVM_IDLE_TCG_CPU") ;;
kvm) accel_args=(-accel kvm -cpu host) ;;
*) die "KVM_IDLE_ACCEL must be tcg or kvm, not '$accel'" ;;
esac

cmdline="console=ttyS0 printk.time=1 tsc_early_khz=2000000 panic=-1"
cmdline+=" root=/dev/root rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=512000,cache=loose ro"
cmdline+=" init=$INIT kvm_idle_out=$RUN ${KVM_IDLE_CMDLINE:-}"

# shellcheck disable=SC2054
qemu=(qemu-system-x86_64 -machine q35 "${accel_args[@]}" -smp "$SMP" -m "$MEM"
	"${numa_args[@]}"
	-nodefaults -no-user-config -display none -no-reboot
	-kernel "$KERNEL" -append "$cmdline"
	-chardev "file,id=con,path=$LOG" -serial chardev:con
	-fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap
	-device virtio-9p-pci,fsdev=root,mount_tag=/dev/root
	-fsdev "local,id=out,path=$RUN,security_model=none,multidevs=remap"
	-device virtio-9p-pci,fsdev=out,mount_tag=kvm-idle-out)
printf '%q ' "${qemu[@]}" >"$RUN/qemu-cmdline"
echo >>"$RUN/qemu-cmdline"

# One function, read before it runs: editing this file during a boot is safe.
run() {
	info "run $NAME: $accel, ${KVM_IDLE_CMDLINE:-no extra kernel arguments}; console log $LOG"
	start=$(date +%s)
	timeout -k 10 "$TIMEOUT" "${qemu[@]}" </dev/null >"$RUN/qemu.out" 2>&1 &
	qpid=$!
	trap 'kill "$qpid" 2>/dev/null || true' EXIT
	tpid=
	if [ "${KVM_IDLE_QUIET:-0}" != 1 ]; then
		tail -n +1 -f --pid="$qpid" "$LOG" &
		tpid=$!
	fi
	qrc=0
	wait "$qpid" || qrc=$?
	trap - EXIT
	[ -z "$tpid" ] || wait "$tpid" || true
	info "run $NAME: QEMU exited with $qrc after $(($(date +%s) - start)) s"

	if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
		echo "$PROG: error: the guest did not finish within $TIMEOUT s (KVM_IDLE_TIMEOUT); QEMU killed. Console tail ($LOG):" >&2
		tail -n 40 "$LOG" >&2
		exit 124
	fi
	if [ ! -s "$RUN/status" ] && [ -s "$RUN/qemu.out" ] && [ ! -s "$LOG" ]; then
		cat "$RUN/qemu.out" >&2
		echo "$PROG: error: QEMU failed to start (see above): check the qemu-system-x86 install" >&2
		exit 126
	fi
	[ ! -s "$RUN/qemu.out" ] || { echo "QEMU said:"; cat "$RUN/qemu.out"; } >&2

	# Kernel reports anywhere in the log; only lines with a printk timestamp,
	# so that the command's own output cannot match.  Those printed before
	# KVM or the series' code first ran (KVM's vendor module says it is
	# there, the KUnit suite starts, or guest-init.sh starts the command)
	# are faults of the platform, the emulator or the base kernel: they go
	# to platform-splats with the lines that follow each, and are listed
	# but do not fail the run.  All others go to splats.
	ts='\[ *[0-9]+\.[0-9]+\]'
	pat='BUG:|WARNING:|Oops|Kernel panic|kernel BUG|general protection fault|lockdep is turned off|turning off the locking correctness validator|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|KASAN|UBSAN|INFO: task .* blocked|self-detected stall|detected stalls on CPUs|RCU stall|DEBUG_LOCKS_WARN_ON|list_(add|del) corruption'
	start='kvm_amd: |kvm_intel: |# Subtest: idle_bitmap|kvm-idle: guest command starts'
	rm -f "$RUN/platform-splats"
	# ENVIRON, not -v: awk would take the backslashes of -v values as escapes.
	TS=$ts PAT=$pat START=$start PLAT=$RUN/platform-splats awk '
		BEGIN { ts = ENVIRON["TS"]; pat = ENVIRON["PAT"]; start = ENVIRON["START"]; plat = ENVIRON["PLAT"] }
		$0 ~ ts && $0 ~ start { started = 1 }
		more > 0 {
			print "    " $0 > plat
			more--
			if (!started || $0 !~ ts || $0 !~ pat) next
		}
		$0 ~ ts && $0 ~ pat {
			if (started) { print; next }
			print > plat
			more = 8
		}' "$LOG" >"$RUN/splats"

	if [ ! -s "$RUN/status" ]; then
		echo "$PROG: error: the guest stopped before the command finished (crash or panic?). Console tail ($LOG):" >&2
		tail -n 40 "$LOG" >&2
		exit 125
	fi
	rc=$(cat "$RUN/status")
	if [ -s "$RUN/platform-splats" ]; then
		echo "$PROG: warning: kernel reports before KVM or the series' code ran (platform faults, not counted; $RUN/platform-splats):" >&2
		cat "$RUN/platform-splats" >&2
	fi
	if [ -s "$RUN/splats" ]; then
		echo "$PROG: error: kernel reports in the console log $LOG:" >&2
		cat "$RUN/splats" >&2
		[ "$rc" -ne 0 ] || rc=97
	fi
	info "run $NAME: command exited with $(cat "$RUN/status")"
	exit "$rc"
}

run
