#!/bin/bash
# Init (PID 1) of the kvm-idle guest booted by scripts/boot.sh: mount the
# basics over the read-only host root, run the run's command file, print
# "KVM-IDLE-EXIT: STATUS", write it to the run directory and reboot (QEMU runs
# with -no-reboot, so it exits).  Never run it on a host.
USAGE="usage: init=scripts/guest-init.sh kvm_idle_out=DIR (kernel command line; used by scripts/boot.sh)"
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp LANG=C.UTF-8 TERM=dumb

if [ $$ -ne 1 ]; then
	echo "$USAGE" >&2
	exit 1
fi

mnt() { # TYPE DIR [OPTIONS]
	mountpoint -q "$2" && return 0
	mkdir -p "$2" 2>/dev/null
	mount -t "$1" ${3:+-o "$3"} "$1" "$2" || echo "guest-init: cannot mount $1 on $2" >&2
}

mnt proc /proc
mnt sysfs /sys
mnt devtmpfs /dev
mnt devpts /dev/pts gid=5,mode=620,ptmxmode=666
mnt tmpfs /dev/shm mode=1777
mnt hugetlbfs /dev/hugepages
mnt tmpfs /tmp mode=1777
mnt tmpfs /run mode=755
mnt tmpfs /var/tmp mode=1777
[ -d /sys/kernel/debug ] && mnt debugfs /sys/kernel/debug
[ -d /sys/kernel/tracing ] && mnt tracefs /sys/kernel/tracing
echo kvm-idle-guest >/proc/sys/kernel/hostname
# devtmpfs has no /dev/fd, /dev/stdin, /dev/stdout or /dev/stderr (udev makes
# them on a real system); the kselftest runner writes each test's output to
# /dev/stdout, which it would otherwise create as a plain file in /dev.
ln -sfn /proc/self/fd /dev/fd 2>/dev/null
ln -sfn /proc/self/fd/0 /dev/stdin 2>/dev/null
ln -sfn /proc/self/fd/1 /dev/stdout 2>/dev/null
ln -sfn /proc/self/fd/2 /dev/stderr 2>/dev/null

out=
read -r -a args </proc/cmdline
for arg in "${args[@]}"; do
	case "$arg" in kvm_idle_out=*) out=${arg#kvm_idle_out=} ;; esac
done
rc=125
if [ -z "$out" ]; then
	echo "guest-init: no kvm_idle_out= on the kernel command line" >&2
elif ! mkdir -p "$out" 2>/dev/null && [ ! -d "$out" ]; then
	echo "guest-init: no directory $out in the guest (under a tmpfs?)" >&2
elif ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 kvm-idle-out "$out"; then
	echo "guest-init: cannot mount the run directory on $out" >&2
else
	export KVM_IDLE_OUT=$out
	echo "guest-init: running $out/cmd"
	# With a printk timestamp: kernel reports before this line (and before
	# KVM's or the series' first line) are platform faults (scripts/boot.sh).
	echo "kvm-idle: guest command starts" >/dev/kmsg
	bash "$out/cmd" </dev/null
	rc=$?
	echo "$rc" >"$out/status"
fi
sync
echo "KVM-IDLE-EXIT: $rc"
# busybox's reboot -f calls reboot(2) directly; systemctl's needs -ff.
busybox reboot -f 2>/dev/null || reboot -ff
sleep 10
