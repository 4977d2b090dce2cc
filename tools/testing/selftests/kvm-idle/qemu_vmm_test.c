// SPDX-License-Identifier: GPL-2.0-only
/*
 * qemu_vmm_test: /proc/PID/idle_bitmap of a real VMM.
 *
 * Starts qemu-system-x86_64 -enable-kvm as the VMM of a tiny guest with a
 * known hot set, reads /proc/<QEMU pid>/idle_bitmap and checks that what it
 * reports as accessed matches what the guest touched.
 *
 * The guest is a flat multiboot image that this test writes: 32-bit code
 * that QEMU's multiboot loader starts with paging and interrupts off.  It
 * writes one byte in every 4K page of ALL_MIB MiB starting at 4 MiB, prints
 * 'R' on the serial port, then loops forever incrementing one byte in every
 * page of the first H MiB (the hot set), printing '.' every 16 passes.  With
 * no interrupts, no paging and no stack, the only guest memory it touches in
 * the loop is the hot set and the one page that holds its code and
 * parameters, so the truth is exact: after a clearing read, once the guest
 * has completed a full pass, the accessed memory is H MiB + 4 KiB.  The test
 * waits for two '.' after the clearing read, so at least 16 full passes fall
 * between it and the measuring read.
 *
 * What is checked, for two hot set sizes:
 * - QEMU boots the guest to its loop;
 * - the accessed bytes of each measuring read are within 10% of the truth.
 *   The tolerance covers pages the guest's firmware or QEMU might still
 *   touch through the guest's mappings; none are expected (the reads here
 *   have been exact), but a VMM is free to do so.  When the host backs guest
 *   RAM with 2M pages the hot set, 2M aligned, is still counted exactly;
 * - the pages written once and left alone are reported idle (at least 90% of
 *   them: the host may zap or collapse a few meanwhile, which makes them
 *   holes, never accessed).
 *
 * Skips (exit 4) when qemu-system-x86_64 ($QEMU overrides it), /dev/kvm or
 * the idle_bitmap file is missing.  Under TCG with nested virtualization the
 * whole test takes 30 to 60 s, most of it SeaBIOS; the limits above allow
 * for a much slower machine, so give it a kselftest timeout of 600 s.
 *
 * Booting is not what this test is about, and under nested TCG an L2 guest
 * has been seen, once in many runs, not to reach its loop at all (CI:
 * "guest reaches its loop within 300 s").  So a boot that does not get
 * there within BOOT_TIMEOUT is reported with what QEMU and the guest were
 * doing, and tried once more with a new QEMU; the subtest says which try
 * got there.  No idle_bitmap read happens before the guest is in its loop.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "kselftest.h"
#include "idle_bitmap_decode.h"

#define MIB		(1024ULL * 1024)
#define GUEST_LOAD	0x100000U	/* where the multiboot image is loaded */
#define GUEST_BASE	(4 * MIB)	/* first page the guest writes */
#define ALL_MIB		64		/* pages written once */
#define GUEST_MEM_MIB	(ALL_MIB + 16)
#define ROUNDS		3
#define BOOT_TRIES	2
#define BOOT_TIMEOUT	150		/* seconds per try; a boot takes 8 to 15 s */
#define PASS_TIMEOUT	120

static const unsigned int hot_mib[] = { 8, 32 };

/*
 * The guest's code, at offset 0x40 of the image (entry point 0x100040):
 *
 *	cli
 *	mov	$0x3f8, %dx
 *	mov	$'B', %al
 *	out	%al, %dx		# booted
 *	mov	0x100028, %eax		# all_start
 *	mov	0x10002c, %ecx		# all_end
 * 1:	movb	$1, (%eax)		# write each page once
 *	add	$4096, %eax
 *	cmp	%ecx, %eax
 *	jb	1b
 *	mov	$'R', %al
 *	out	%al, %dx		# ready: looping over the hot set
 *	xor	%ebx, %ebx
 * 2:	mov	0x100020, %eax		# hot_start
 *	mov	0x100024, %ecx		# hot_end
 * 3:	incb	(%eax)
 *	add	$4096, %eax
 *	cmp	%ecx, %eax
 *	jb	3b
 *	inc	%ebx
 *	test	$15, %bl
 *	jnz	2b
 *	mov	$'.', %al
 *	out	%al, %dx		# 16 more passes done
 *	jmp	2b
 */
static const uint8_t guest_code[] = {
	0xfa, 0x66, 0xba, 0xf8, 0x03, 0xb0, 0x42, 0xee,
	0xa1, 0x28, 0x00, 0x10, 0x00, 0x8b, 0x0d, 0x2c,
	0x00, 0x10, 0x00, 0xc6, 0x00, 0x01, 0x05, 0x00,
	0x10, 0x00, 0x00, 0x39, 0xc8, 0x72, 0xf4, 0xb0,
	0x52, 0xee, 0x31, 0xdb, 0xa1, 0x20, 0x00, 0x10,
	0x00, 0x8b, 0x0d, 0x24, 0x00, 0x10, 0x00, 0xfe,
	0x00, 0x05, 0x00, 0x10, 0x00, 0x00, 0x39, 0xc8,
	0x72, 0xf5, 0x43, 0xf6, 0xc3, 0x0f, 0x75, 0xe4,
	0xb0, 0x2e, 0xee, 0xeb, 0xdf,
};

static char tmpdir[64], image[128], serial[128], qemu_log[128];
static pid_t qemu_pid;

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

/*
 * One 4K page: a multiboot header with the a.out kludge (load the file flat
 * at 1 MiB, enter at 0x100040), the parameters at 0x20 and the code at 0x40.
 */
static void write_image(uint32_t hot_bytes)
{
	const uint32_t magic = 0x1badb002, flags = 0x00010000;
	uint8_t img[4096] = { 0 };
	int fd;

	put32(img + 0x00, magic);
	put32(img + 0x04, flags);
	put32(img + 0x08, -(magic + flags));
	put32(img + 0x0c, GUEST_LOAD);			/* header_addr */
	put32(img + 0x10, GUEST_LOAD);			/* load_addr */
	put32(img + 0x14, 0);				/* load_end_addr: whole file */
	put32(img + 0x18, 0);				/* bss_end_addr: none */
	put32(img + 0x1c, GUEST_LOAD + 0x40);		/* entry_addr */
	put32(img + 0x20, GUEST_BASE);			/* hot_start */
	put32(img + 0x24, GUEST_BASE + hot_bytes);	/* hot_end */
	put32(img + 0x28, GUEST_BASE);			/* all_start */
	put32(img + 0x2c, GUEST_BASE + ALL_MIB * MIB);	/* all_end */
	memcpy(img + 0x40, guest_code, sizeof(guest_code));

	fd = open(image, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, img, sizeof(img)) != sizeof(img) || close(fd))
		ksft_exit_fail_msg("cannot write %s: %s\n", image, strerror(errno));
}

static const char *find_qemu(void)
{
	static char path[4096];
	const char *env = getenv("QEMU"), *p, *end;

	if (env && *env)
		return access(env, X_OK) ? NULL : env;
	for (p = getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin"; *p; p = end + !!*end) {
		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		snprintf(path, sizeof(path), "%.*s/qemu-system-x86_64", (int)(end - p), p);
		if (!access(path, X_OK))
			return path;
	}
	return NULL;
}

static void kill_qemu(void)
{
	if (qemu_pid > 0) {
		kill(qemu_pid, SIGKILL);
		waitpid(qemu_pid, NULL, 0);
		qemu_pid = 0;
	}
}

static void cleanup(void)
{
	kill_qemu();
	unlink(image);
	unlink(serial);
	unlink(qemu_log);
	rmdir(tmpdir);
}

static void start_qemu(const char *qemu)
{
	char mem[16], serial_arg[160];
	const char *argv[32];
	int n = 0, fd;

	snprintf(mem, sizeof(mem), "%u", GUEST_MEM_MIB);
	snprintf(serial_arg, sizeof(serial_arg), "file:%s", serial);
	argv[n++] = qemu;
	argv[n++] = "-enable-kvm";
	argv[n++] = "-cpu";
	argv[n++] = "host";
	argv[n++] = "-m";
	argv[n++] = mem;
	argv[n++] = "-smp";
	argv[n++] = "1";
	argv[n++] = "-nodefaults";
	argv[n++] = "-no-user-config";
	argv[n++] = "-display";
	argv[n++] = "none";
	argv[n++] = "-monitor";
	argv[n++] = "none";
	argv[n++] = "-serial";
	argv[n++] = serial_arg;
	argv[n++] = "-kernel";
	argv[n++] = image;
	/* Debian keeps the BIOS and the multiboot option ROM apart. */
	if (!access("/usr/share/seabios", R_OK)) {
		argv[n++] = "-L";
		argv[n++] = "/usr/share/seabios";
	}
	if (!access("/usr/share/qemu", R_OK)) {
		argv[n++] = "-L";
		argv[n++] = "/usr/share/qemu";
	}
	argv[n] = NULL;

	unlink(serial);
	fflush(stdout);
	qemu_pid = fork();
	if (qemu_pid < 0)
		ksft_exit_fail_msg("fork: %s\n", strerror(errno));
	if (!qemu_pid) {
		fd = open(qemu_log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, 0);
		execv(qemu, (char **)argv);
		fprintf(stderr, "exec %s: %s\n", qemu, strerror(errno));
		_exit(127);
	}
}

static void print_qemu_log(void)
{
	char buf[2048];
	ssize_t n;
	int fd = open(qemu_log, O_RDONLY);

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		ksft_print_msg("QEMU said: %s\n", buf);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Bytes of the serial log equal to c, from offset *pos on; moves *pos. */
static unsigned int serial_count(char c, off_t *pos)
{
	unsigned int count = 0;
	char buf[4096];
	ssize_t n, i;
	int fd = open(serial, O_RDONLY);

	if (fd < 0)
		return 0;
	while ((n = pread(fd, buf, sizeof(buf), *pos)) > 0) {
		for (i = 0; i < n; i++)
			count += buf[i] == c;
		*pos += n;
	}
	close(fd);
	return count;
}

/* Wait until the guest printed c `want` times after *pos; false on timeout. */
static bool wait_serial(char c, unsigned int want, off_t *pos, double timeout)
{
	double end = now() + timeout;
	unsigned int seen = 0;

	while (now() < end) {
		seen += serial_count(c, pos);
		if (seen >= want)
			return true;
		if (waitpid(qemu_pid, NULL, WNOHANG) == qemu_pid) {
			qemu_pid = 0;
			ksft_print_msg("QEMU exited\n");
			print_qemu_log();
			return false;
		}
		usleep(10000);
	}
	return false;
}

struct totals {
	uint64_t bytes[3];	/* by enum ibd_state */
	size_t records;
};

static int add_extent(const struct ibd_extent *e, void *arg)
{
	struct totals *t = arg;

	t->bytes[e->state] += e->npages << IBD_PAGE_SHIFT;
	return 0;
}

/* One pass over the whole file: read() from 0 until it returns 0. */
static int scan(int fd, struct totals *t)
{
	static uint64_t buf[8192];
	size_t bad;
	ssize_t n;
	int ret;

	memset(t, 0, sizeof(*t));
	if (lseek(fd, 0, SEEK_SET))
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		ret = ibd_decode(buf, n / 8, add_extent, t, NULL, &bad);
		if (ret) {
			ksft_print_msg("malformed record %zu: 0x%016llx\n", bad,
				       (unsigned long long)buf[bad]);
			return ret;
		}
		t->records += n / 8;
	}
	return n < 0 ? -errno : 0;
}

/* Print a file of QEMU's /proc directory, one line per line, for a report. */
static void print_proc_file(const char *what, const char *path)
{
	char buf[2048], *line, *save;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		ksft_print_msg("%s: %s\n", what, line);
}

/* What a boot that did not reach the loop left behind. */
static void report_stuck_boot(void)
{
	char path[320], buf[64];
	unsigned int i, len;
	struct dirent *de;
	struct stat st;
	DIR *dir;
	ssize_t n;
	int fd;

	fd = open(serial, O_RDONLY);
	n = fd < 0 ? 0 : pread(fd, buf, sizeof(buf), 0);
	if (fd >= 0)
		close(fd);
	len = n > 0 ? n : 0;
	for (i = 0; i < len; i++)
		if (buf[i] < ' ' || buf[i] > '~')
			buf[i] = '?';
	ksft_print_msg("serial log: %lld bytes, starts \"%.*s\" ('B': guest code ran)\n",
		       stat(serial, &st) ? -1LL : (long long)st.st_size, (int)len, buf);
	print_qemu_log();
	if (qemu_pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)qemu_pid);
	dir = opendir(path);
	while (dir && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)qemu_pid, de->d_name);
		print_proc_file("QEMU thread", path);
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stack", (int)qemu_pid, de->d_name);
		print_proc_file("  stack", path);
	}
	if (dir)
		closedir(dir);
}

/* Start QEMU until the guest reaches its loop; the try that got there. */
static unsigned int boot_guest(const char *qemu, unsigned int hot, off_t *pos)
{
	unsigned int try;

	for (try = 1; try <= BOOT_TRIES; try++) {
		*pos = 0;
		start_qemu(qemu);
		if (wait_serial('R', 1, pos, BOOT_TIMEOUT))
			return try;
		ksft_print_msg("H=%u MiB: try %u of %u: the guest did not reach its loop in %d s\n",
			       hot, try, BOOT_TRIES, BOOT_TIMEOUT);
		report_stuck_boot();
		kill_qemu();
	}
	return 0;
}

static void test_hot_set(const char *qemu, unsigned int hot)
{
	uint64_t truth = hot * MIB + 4096, cold = (ALL_MIB - hot) * MIB;
	uint64_t low = -1ULL, high = 0, acc;
	char path[64];
	unsigned int r, try;
	bool ws_ok = true;
	struct totals t;
	double t0;
	off_t pos = 0;
	int fd, ret;

	write_image(hot * MIB);
	t0 = now();
	try = boot_guest(qemu, hot, &pos);
	if (!try) {
		ksft_test_result_fail("H=%u MiB: guest reaches its loop within %d s in %d tries\n",
				      hot, BOOT_TIMEOUT, BOOT_TRIES);
		ksft_test_result_skip("H=%u MiB: working set (no guest)\n", hot);
		ksft_test_result_skip("H=%u MiB: idle memory (no guest)\n", hot);
		return;
	}
	ksft_test_result_pass("H=%u MiB: guest reaches its loop (%.1f s, try %u of %u)\n", hot,
			      now() - t0, try, BOOT_TRIES);

	snprintf(path, sizeof(path), "/proc/%d/idle_bitmap", (int)qemu_pid);
	fd = open(path, O_RDWR);
	if (fd < 0)
		ksft_exit_fail_msg("open %s: %s\n", path, strerror(errno));

	/* The first read clears what the boot and the first writes left. */
	ret = scan(fd, &t);
	if (ret || !t.records)
		ksft_exit_fail_msg("first read of %s: %s\n", path,
				   ret ? strerror(-ret) : "no records");
	for (r = 0; r < ROUNDS; r++) {
		/*
		 * Two '.' printed after the clearing read: at least 16 full
		 * passes over the hot set.  Skip what is already printed,
		 * whether it came before or after that read.
		 */
		serial_count('.', &pos);
		if (!wait_serial('.', 2, &pos, PASS_TIMEOUT)) {
			ksft_print_msg("the guest stopped making progress\n");
			ws_ok = false;
			break;
		}
		ret = scan(fd, &t);
		if (ret)
			ksft_exit_fail_msg("read %s: %s\n", path, strerror(-ret));
		acc = t.bytes[IBD_ACCESSED];
		ksft_print_msg("H=%u MiB round %u: accessed %llu KiB (truth %llu KiB), ",
			       hot, r + 1, (unsigned long long)acc >> 10,
			       (unsigned long long)truth >> 10);
		printf("idle %llu KiB, hole %llu KiB, %zu records\n",
		       (unsigned long long)t.bytes[IBD_IDLE] >> 10,
		       (unsigned long long)t.bytes[IBD_HOLE] >> 10, t.records);
		if (acc < low)
			low = acc;
		if (acc > high)
			high = acc;
		if (acc * 10 < truth * 9 || acc * 10 > truth * 11)
			ws_ok = false;
	}
	ksft_test_result(ws_ok, "H=%u MiB: working set %llu..%llu KiB within 10%% of %llu KiB\n",
			 hot, (unsigned long long)(low == -1ULL ? 0 : low) >> 10,
			 (unsigned long long)high >> 10, (unsigned long long)truth >> 10);
	ksft_test_result(t.bytes[IBD_IDLE] * 10 >= cold * 9,
			 "H=%u MiB: the %llu KiB written once are idle (%llu KiB idle)\n", hot,
			 (unsigned long long)cold >> 10,
			 (unsigned long long)t.bytes[IBD_IDLE] >> 10);
	close(fd);
	kill_qemu();
}

int main(void)
{
	const char *qemu;
	unsigned int i;

	ksft_print_header();
	qemu = find_qemu();
	if (!qemu)
		ksft_exit_skip("qemu-system-x86_64 not found (set QEMU=/path/to/it)\n");
	if (access("/dev/kvm", R_OK | W_OK))
		ksft_exit_skip("/dev/kvm: %s\n", strerror(errno));
	if (access("/proc/self/idle_bitmap", F_OK))
		ksft_exit_skip("no /proc/PID/idle_bitmap (CONFIG_KVM_PROC_IDLE_BITMAP=n)\n");

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/qemu_vmm_test.XXXXXX");
	if (!mkdtemp(tmpdir))
		ksft_exit_fail_msg("mkdtemp: %s\n", strerror(errno));
	snprintf(image, sizeof(image), "%s/guest.img", tmpdir);
	snprintf(serial, sizeof(serial), "%s/serial.log", tmpdir);
	snprintf(qemu_log, sizeof(qemu_log), "%s/qemu.log", tmpdir);
	atexit(cleanup);

	ksft_print_msg("VMM: %s; guest writes %u MiB once, then loops over H MiB\n", qemu,
		       ALL_MIB);
	ksft_set_plan(3 * ARRAY_SIZE(hot_mib));
	for (i = 0; i < ARRAY_SIZE(hot_mib); i++)
		test_hot_set(qemu, hot_mib[i]);
	ksft_finished();
}
