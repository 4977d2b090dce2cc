// SPDX-License-Identifier: GPL-2.0-only
/*
 * idle_bitmap_errno_test: every documented error, one case each, and that
 * a failing call changes nothing.
 *
 * A VM leaves its test memslot with HOLE, IDLE and ACCESSED pages, and the
 * host fills it with a checksummed pattern.  Then, one TAP result per case:
 * read() at an unaligned offset, into a buffer shorter than two records or
 * not a multiple of 8 bytes, into a bad pointer; lseek(SEEK_END);
 * IDLE_BITMAP_SCAN with unknown flags, a command size below VER0 or a size
 * field other than the command's (EINVAL), a larger command size with a
 * nonzero tail or above a page (E2BIG; a zero tail is accepted), an
 * unaligned or reversed range, an end past TASK_SIZE, fewer than two records,
 * bad pointers, and IDLE_BITMAP_SCAN_CLEAR on an O_RDONLY fd (EBADF); an
 * unprivileged user opening another user's process (EACCES, while its own
 * process opens fine); a process that exited (read() gives 0,
 * IDLE_BITMAP_SCAN gives ESRCH, and opening the reaped pid fails).
 * Permissions: the file mode is 0600; O_WRONLY is refused (EINVAL); a zombie
 * and a kernel thread have no memory (ESRCH); a non-dumpable process cannot
 * be opened by another process of its user (EACCES), but can by root; a
 * file opened before its process execs keeps referring to the old memory,
 * as /proc/PID/mem does (read() 0, IDLE_BITMAP_SCAN ESRCH), while a new
 * open sees the new one; and an fd passed to an unprivileged process keeps
 * working, since the check is made at open.  Several failing calls ask to
 * clear.  Afterwards the memslot must read exactly as
 * before (nothing was cleared) and hold the same bytes.
 *
 * EINTR: a fatal signal stops a call between windows of its walk, so a
 * scanner that is killed in the middle of a multi-GiB scan dies at once,
 * not when its call would have ended.  The killed process cannot see the
 * errno; what is checked is how long it takes to die.  The scan is of a
 * large memslot that nothing maps (MAP_NORESERVE, never touched): every
 * 1G window is walked and reported as a HOLE, which takes time without
 * taking memory.  Its size is doubled until one peek takes at least
 * EINTR_MIN_MS, within what the guest's physical address width allows
 * (and 64 GiB with the shadow MMU, whose reverse maps it would need).  A
 * child loops over peeks, or over clearing calls, of the whole memslot and
 * is sent SIGKILL; it must be gone within a quarter of one call's time
 * (the median of three kills).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kvm_util.h"
#include "test_util.h"

#include "idle_bitmap_util.h"

#define NOBODY		65534

static struct idle_vm *v;
static struct idle_seg *seg;
static int ro, rw;
static uint64_t start, end, vec[64];

static bool expect_err(long ret, int err, const char *what)
{
	if (ret == -1 && errno == err)
		return true;
	ksft_print_msg("%s: returned %ld (errno %d, %s), want errno %d (%s)\n", what, ret,
		       ret == -1 ? errno : 0, ret == -1 ? strerror(errno) : "-", err,
		       strerror(err));
	return false;
}

static long scan_arg(int fd, struct idle_bitmap_scan_arg *arg)
{
	return ioctl(fd, IDLE_BITMAP_SCAN, arg);
}

static struct idle_bitmap_scan_arg good_arg(uint64_t flags)
{
	struct idle_bitmap_scan_arg arg = {
		.size = sizeof(arg),
		.flags = flags,
		.start = start,
		.end = end,
		.vec = (uintptr_t)vec,
		.vec_len = ARRAY_SIZE(vec),
	};

	return arg;
}

static bool case_unaligned_offset(void)
{
	bool ok = expect_err(pread(rw, vec, sizeof(vec), start + 8), EINVAL, "pread(start + 8)");

	/* lseek() accepts any offset that is not negative; read() checks it. */
	if (lseek(rw, start + 2048, SEEK_SET) != (off_t)(start + 2048))
		ok &= expect_err(-1, 0, "lseek(start + 2048)");
	ok &= expect_err(read(rw, vec, sizeof(vec)), EINVAL, "read() at start + 2048");
	return ok;
}

static bool case_short_buffer(void)
{
	return expect_err(pread(rw, vec, 8, start), EINVAL, "read() of 8 bytes");
}

static bool case_odd_length(void)
{
	return expect_err(pread(rw, vec, 20, start), EINVAL, "read() of 20 bytes") &
	       expect_err(pread(rw, vec, sizeof(vec) - 1, start), EINVAL, "read() of 511 bytes");
}

static bool case_read_efault(void)
{
	void *bad = (void *)8;

	/* Keep the compiler from warning that 8 is no buffer. */
	OPTIMIZER_HIDE_VAR(bad);
	/* A peek: a clearing read may clear what it walked before the fault. */
	return expect_err(pread(ro, bad, sizeof(vec), start), EFAULT, "read() to 0x8");
}

static bool case_seek_end(void)
{
	return expect_err(lseek(ro, 0, SEEK_END), EINVAL, "lseek(SEEK_END)") &
	       expect_err(lseek(ro, 0, SEEK_DATA), EINVAL, "lseek(SEEK_DATA)") &
	       expect_err(lseek(ro, 0, SEEK_HOLE), EINVAL, "lseek(SEEK_HOLE)") &
	       expect_err(lseek(ro, -4096, SEEK_SET), EINVAL, "lseek(-4096)");
}

/*
 * The answers the documentation gives for calls it could have left open: a
 * read of 0 bytes, write(), an empty ioctl range, and which error wins when
 * a call has several faults.
 */
static bool case_defined(void)
{
	struct idle_bitmap_scan_arg arg = good_arg(0);
	void *bad = (void *)8;
	bool ok;
	long n;

	OPTIMIZER_HIDE_VAR(bad);
	ok = expect_err(pread(ro, vec, 0, start), EINVAL, "read() of 0 bytes");
	ok &= expect_err(pwrite(rw, vec, sizeof(vec), start), EINVAL, "write()");
	arg.end = arg.start;
	arg.walk_end = 0;
	n = scan_arg(ro, &arg);
	if (n || arg.walk_end != arg.end) {
		ksft_print_msg("empty range: returned %ld, walk_end %#llx, want 0 and %#llx\n", n,
			       (unsigned long long)arg.walk_end, (unsigned long long)arg.end);
		ok = false;
	}
	/* EINVAL for the offset and count comes before the buffer's EFAULT. */
	ok &= expect_err(pread(ro, bad, 8, start + 8), EINVAL, "bad offset, count and buffer");
	/* ... and the ioctl's EINVAL before EFAULT and EBADF. */
	arg = good_arg(IDLE_BITMAP_SCAN_CLEAR | 1ULL << 5);
	arg.vec = (uintptr_t)bad;
	ok &= expect_err(scan_arg(ro, &arg), EINVAL, "unknown flag, bad vec, O_RDONLY");
	arg = good_arg(IDLE_BITMAP_SCAN_CLEAR);
	arg.vec = (uintptr_t)bad;
	arg.vec_len = 1;
	ok &= expect_err(scan_arg(ro, &arg), EINVAL, "vec_len 1, bad vec, O_RDONLY");
	/* EFAULT for the vector before EBADF for the open mode. */
	arg.vec = -4096ULL;
	arg.vec_len = 2;
	ok &= expect_err(scan_arg(ro, &arg), EFAULT, "kernel vec, O_RDONLY");
	return ok;
}

static bool case_unknown_flags(void)
{
	struct idle_bitmap_scan_arg arg = good_arg(IDLE_BITMAP_SCAN_CLEAR | 1ULL << 2);
	bool ok = expect_err(scan_arg(rw, &arg), EINVAL, "flags bit 2");

	arg = good_arg(IDLE_BITMAP_SCAN_CLEAR | 1ULL << 63);
	ok &= expect_err(scan_arg(rw, &arg), EINVAL, "flags bit 63");
	return ok;
}

/* IDLE_BITMAP_SCAN as built for a struct of @size bytes. */
static unsigned int scan_cmd(size_t size)
{
	return _IOC(_IOC_READ | _IOC_WRITE, IDLE_BITMAP_IOC_MAGIC, 0, size);
}

static bool case_small_size(void)
{
	struct idle_bitmap_scan_arg arg = good_arg(IDLE_BITMAP_SCAN_CLEAR);
	bool ok;

	arg.size = IDLE_BITMAP_SCAN_ARG_SIZE_VER0 - 8;
	ok = expect_err(ioctl(rw, scan_cmd(arg.size), &arg), EINVAL, "command size VER0 - 8");
	ok &= expect_err(ioctl(rw, scan_cmd(0), &arg), EINVAL, "command size 0");
	/* The size field must be the command's. */
	arg.size = 0;
	ok &= expect_err(scan_arg(rw, &arg), EINVAL, "size field 0");
	arg.size = sizeof(arg) + 8;
	ok &= expect_err(scan_arg(rw, &arg), EINVAL, "size field larger than the command's");
	return ok;
}

/*
 * A caller built against a later header, whose struct is larger: the
 * command carries the larger size.  A zero tail works, a nonzero one is
 * E2BIG, and so is a size larger than a page.
 */
static bool case_big_size(void)
{
	struct {
		struct idle_bitmap_scan_arg arg;
		uint64_t tail[8];
	} big = { .arg = good_arg(IDLE_BITMAP_SCAN_CLEAR) };
	static union {
		struct idle_bitmap_scan_arg arg;
		uint64_t raw[1024];
	} huge;
	bool ok;
	long ret;

	big.arg.size = sizeof(big);
	big.tail[5] = 1;
	ok = expect_err(ioctl(rw, scan_cmd(sizeof(big)), &big), E2BIG,
			"size 120 with a nonzero tail");
	huge.arg = big.arg;
	huge.arg.size = 4096 + 8;
	ok &= expect_err(ioctl(rw, scan_cmd(4096 + 8), &huge), E2BIG, "size 4104");
	/* A zero tail is fine (this is a peek: nothing may change). */
	big.tail[5] = 0;
	big.arg.flags = 0;
	big.arg.walk_end = 0;
	ret = ioctl(ro, scan_cmd(sizeof(big)), &big);
	if (ret < 2 || big.arg.walk_end <= start) {
		ksft_print_msg("size 120, zero tail: returned %ld (errno %d), walk_end %#llx\n",
			       ret, errno, (unsigned long long)big.arg.walk_end);
		ok = false;
	}
	/* Only walk_end is written back: the unknown tail stays as it was. */
	if (big.tail[0] || big.tail[7]) {
		ksft_print_msg("size 120: the kernel wrote into the tail\n");
		ok = false;
	}
	return ok;
}

static bool case_bad_range(void)
{
	struct idle_bitmap_scan_arg arg = good_arg(IDLE_BITMAP_SCAN_CLEAR);
	bool ok;

	arg.start = end;
	arg.end = start;
	ok = expect_err(scan_arg(rw, &arg), EINVAL, "start > end");
	arg = good_arg(IDLE_BITMAP_SCAN_CLEAR);
	arg.start += 8;
	ok &= expect_err(scan_arg(rw, &arg), EINVAL, "unaligned start");
	arg = good_arg(IDLE_BITMAP_SCAN_CLEAR);
	arg.end -= 8;
	ok &= expect_err(scan_arg(rw, &arg), EINVAL, "unaligned end");
	return ok;
}

static bool case_past_task_size(void)
{
	struct idle_bitmap_scan_arg arg = good_arg(IDLE_BITMAP_SCAN_CLEAR);
	bool ok;

	arg.end = idle_task_size() + IDLE_PAGE_SIZE;
	ok = expect_err(scan_arg(rw, &arg), EINVAL, "end = TASK_SIZE + 4K");
	arg.end = 1ULL << 63;
	ok &= expect_err(scan_arg(rw, &arg), EINVAL, "end = 2^63");
	arg.start = arg.end;
	ok &= expect_err(scan_arg(rw, &arg), EINVAL, "start = end = 2^63");
	return ok;
}

static bool case_short_vec(void)
{
	struct idle_bitmap_scan_arg arg = good_arg(IDLE_BITMAP_SCAN_CLEAR);
	bool ok;

	arg.vec_len = 1;
	ok = expect_err(scan_arg(rw, &arg), EINVAL, "vec_len 1");
	arg.vec_len = 0;
	ok &= expect_err(scan_arg(rw, &arg), EINVAL, "vec_len 0");
	return ok;
}

static bool case_ioctl_efault(void)
{
	struct idle_bitmap_scan_arg arg = good_arg(0);
	bool ok;

	/* A peek, as above; the struct is checked before anything is walked. */
	arg.vec = 8;
	ok = expect_err(scan_arg(ro, &arg), EFAULT, "vec = 0x8");
	ok &= expect_err(ioctl(rw, IDLE_BITMAP_SCAN, (void *)8), EFAULT, "arg = 0x8");
	return ok;
}

static bool case_clear_read_only(void)
{
	struct idle_bitmap_scan_arg arg = good_arg(IDLE_BITMAP_SCAN_CLEAR);

	return expect_err(scan_arg(ro, &arg), EBADF, "IDLE_BITMAP_SCAN_CLEAR on O_RDONLY");
}

/* A child that becomes nobody tries this process, then itself. */
static bool case_unprivileged(void)
{
	pid_t parent = getpid(), pid;
	int status;

	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		char path[64];
		int fd;

		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(3);
		/* setuid() made us undumpable, which would hide our own files. */
		prctl(PR_SET_DUMPABLE, 1);
		snprintf(path, sizeof(path), "/proc/%d/idle_bitmap", parent);
		fd = open(path, O_RDONLY);
		if (!expect_err(fd, EACCES, "nobody opening root's process"))
			_exit(1);
		fd = open("/proc/self/idle_bitmap", O_RDWR);
		if (fd < 0) {
			ksft_print_msg("nobody opening its own process: errno %d\n", errno);
			_exit(2);
		}
		_exit(0);
	}
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
		ksft_print_msg("could not become nobody (uid %d)\n", NOBODY);
	return WIFEXITED(status) && !WEXITSTATUS(status);
}

/* A child whose VM's guest wrote 2M of memory, and that waits for vm_child_go(). */
struct vm_child {
	pid_t pid;
	int go[2], ready[2];
};

/* Start it; once let go, it execs sleep(1) if @exec_sleep, or exits. */
static void vm_child_start(struct vm_child *ch, bool exec_sleep)
{
	char c;

	TEST_ASSERT(!pipe(ch->go) && !pipe(ch->ready), "pipe");
	ch->pid = fork();
	TEST_ASSERT(ch->pid >= 0, "fork");
	if (!ch->pid) {
		struct idle_vm *cv = idle_vm_create(1);

		idle_vm_add_seg(cv, VM_MEM_SRC_ANONYMOUS, 2 << 20);
		idle_plan_set(cv, &cv->seg[0], IDLE_OP_WRITE);
		idle_vm_step(cv);
		TEST_ASSERT(write(ch->ready[1], "r", 1) == 1, "write");
		TEST_ASSERT(read(ch->go[0], &c, 1) == 1, "read");
		if (exec_sleep)
			execl("/bin/sleep", "sleep", "60", (char *)NULL);
		_exit(exec_sleep ? 127 : 0);
	}
	TEST_ASSERT(read(ch->ready[0], &c, 1) == 1, "child did not start");
}

static void vm_child_go(struct vm_child *ch)
{
	TEST_ASSERT(write(ch->go[1], "x", 1) == 1, "write");
}

static void vm_child_close(struct vm_child *ch)
{
	close(ch->go[0]);
	close(ch->go[1]);
	close(ch->ready[0]);
	close(ch->ready[1]);
}

/*
 * The memory @fd was opened on is gone: read() returns 0 and
 * IDLE_BITMAP_SCAN (with @flags) fails with ESRCH.
 */
static bool expect_gone(int fd, uint64_t flags, const char *what)
{
	struct idle_bitmap_scan_arg arg = good_arg(flags);
	ssize_t n = pread(fd, vec, sizeof(vec), 0);
	bool ok = true;

	if (n) {
		ksft_print_msg("%s: read() returned %zd, want 0\n", what, n);
		ok = false;
	}
	arg.start = 0;
	arg.end = idle_task_size();
	return expect_err(scan_arg(fd, &arg), ESRCH, what) && ok;
}

static bool case_file_mode(void)
{
	struct stat st;

	TEST_ASSERT(!stat("/proc/self/idle_bitmap", &st), "stat");
	if (S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600)
		return true;
	ksft_print_msg("mode %o, want a regular file with mode 0600\n", st.st_mode);
	return false;
}

static bool case_wronly(void)
{
	int fd = open("/proc/self/idle_bitmap", O_WRONLY);

	if (fd >= 0)
		close(fd);
	return expect_err(fd, EINVAL, "open(O_WRONLY)");
}

static bool case_no_memory(void)
{
	pid_t pid = fork();
	siginfo_t si;
	char path[64];
	bool ok;
	int fd;

	TEST_ASSERT(pid >= 0, "fork");
	if (!pid)
		_exit(0);
	/* Wait for the exit without reaping: a zombie has no memory. */
	TEST_ASSERT(!waitid(P_PID, pid, &si, WEXITED | WNOWAIT), "waitid");
	snprintf(path, sizeof(path), "/proc/%d/idle_bitmap", pid);
	fd = open(path, O_RDONLY);
	ok = expect_err(fd, ESRCH, "open() of a zombie");
	TEST_ASSERT(waitpid(pid, NULL, 0) == pid, "waitpid");
	/* pid 2 is kthreadd. */
	fd = open("/proc/2/idle_bitmap", O_RDONLY);
	ok &= expect_err(fd, ESRCH, "open() of a kernel thread (pid 2)");
	return ok;
}

/* Fork a child that becomes nobody and runs @fn; returns its exit status. */
static int as_nobody(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int status;

	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(100);
		prctl(PR_SET_DUMPABLE, 1);
		_exit(fn(arg));
	}
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 101;
}

static int open_expect_eacces(void *arg)
{
	int fd = open(arg, O_RDONLY);

	return expect_err(fd, EACCES, arg) ? 0 : 1;
}

static bool case_nondumpable(void)
{
	int go[2], ready[2], fd, rc;
	char path[64], c;
	bool ok = true;
	pid_t pid;

	TEST_ASSERT(!pipe(go) && !pipe(ready), "pipe");
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(100);
		prctl(PR_SET_DUMPABLE, 0);
		TEST_ASSERT(write(ready[1], "r", 1) == 1, "write");
		TEST_ASSERT(read(go[0], &c, 1) == 1, "read");
		_exit(0);
	}
	TEST_ASSERT(read(ready[0], &c, 1) == 1, "child did not start");
	snprintf(path, sizeof(path), "/proc/%d/idle_bitmap", pid);
	rc = as_nobody(open_expect_eacces, path);
	if (rc) {
		ksft_print_msg("another process of the same user: status %d\n", rc);
		ok = false;
	}
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		ksft_print_msg("root opening a non-dumpable process: errno %d\n", errno);
		ok = false;
	} else {
		close(fd);
	}
	TEST_ASSERT(write(go[1], "x", 1) == 1, "write");
	TEST_ASSERT(waitpid(pid, NULL, 0) == pid, "waitpid");
	close(go[0]);
	close(go[1]);
	close(ready[0]);
	close(ready[1]);
	return ok;
}

static bool case_exec_after_open(void)
{
	char path[64], comm[32] = "";
	struct vm_child ch;
	bool ok = true;
	int fd, fd2, tries;
	ssize_t n;

	vm_child_start(&ch, true);
	fd = idle_open(ch.pid, O_RDONLY);
	n = pread(fd, vec, sizeof(vec), 0);
	if (n < 16) {
		ksft_print_msg("read() before exec returned %zd\n", n);
		ok = false;
	}
	vm_child_go(&ch);
	snprintf(path, sizeof(path), "/proc/%d/comm", ch.pid);
	for (tries = 0; tries < 5000 && strcmp(comm, "sleep\n"); tries++) {
		FILE *f = fopen(path, "r");

		if (f) {
			if (!fgets(comm, sizeof(comm), f))
				comm[0] = 0;
			fclose(f);
		}
		usleep(1000);
	}
	TEST_ASSERT(!strcmp(comm, "sleep\n"), "the child did not exec");

	/* The old memory is gone, as for /proc/PID/mem. */
	ok &= expect_gone(fd, 0, "after exec");
	/* A new open sees the new memory, which has no VM. */
	fd2 = idle_open(ch.pid, O_RDONLY);
	n = pread(fd2, vec, sizeof(vec), 0);
	if (n) {
		ksft_print_msg("read() of a new open after exec returned %zd, want 0\n", n);
		ok = false;
	}
	close(fd2);
	close(fd);
	kill(ch.pid, SIGKILL);
	TEST_ASSERT(waitpid(ch.pid, NULL, 0) == ch.pid, "waitpid");
	vm_child_close(&ch);
	return ok;
}

static int read_passed_fd(void *arg)
{
	ssize_t n = pread(*(int *)arg, vec, sizeof(vec), start);

	if (n >= 16)
		return 0;
	ksft_print_msg("read() of a passed fd as nobody returned %zd (errno %d)\n", n, errno);
	return 1;
}

static bool case_fd_passed(void)
{
	/* A peek: the fd is root's, opened before the child dropped privileges. */
	return !as_nobody(read_passed_fd, &ro);
}

/*
 * A child with its own VM is opened while alive, then exits: read() must
 * return 0 and IDLE_BITMAP_SCAN fail with ESRCH; the reaped pid is gone.
 */
static bool case_dead_pid(void)
{
	struct vm_child ch;
	bool ok = true;
	char path[64];
	int status, fds[2];
	ssize_t n;

	vm_child_start(&ch, false);
	fds[0] = idle_open(ch.pid, O_RDONLY);
	fds[1] = idle_open(ch.pid, O_RDWR);
	n = read(fds[0], vec, sizeof(vec));
	if (n < 16) {
		ksft_print_msg("read() of a live child with a VM returned %zd\n", n);
		ok = false;
	}
	vm_child_go(&ch);
	TEST_ASSERT(waitpid(ch.pid, &status, 0) == ch.pid && WIFEXITED(status) &&
		    !WEXITSTATUS(status), "child failed");

	ok &= expect_gone(fds[0], 0, "after exit, O_RDONLY");
	ok &= expect_gone(fds[1], IDLE_BITMAP_SCAN_CLEAR, "after exit, O_RDWR");
	close(fds[0]);
	close(fds[1]);
	snprintf(path, sizeof(path), "/proc/%d/idle_bitmap", ch.pid);
	if (open(path, O_RDONLY) >= 0) {
		ksft_print_msg("opened %s of a reaped process\n", path);
		ok = false;
	}
	vm_child_close(&ch);
	return ok;
}

#define EINTR_SLOT	(IDLE_SLOT + IDLE_MAX_SEGS)
#define EINTR_GPA	(64ULL << 30)
#define EINTR_MIN_MS	2000
#define EINTR_KILLS	3

/* One call over [@s, @e) with a vector that holds its whole reply: ms. */
static uint64_t time_call(int fd, uint64_t flags, uint64_t s, uint64_t e)
{
	static uint64_t big_vec[4096];
	uint64_t t0 = idle_now_ms(), walk_end;
	long n = idle_scan(fd, flags, s, e, big_vec, ARRAY_SIZE(big_vec), &walk_end);

	TEST_ASSERT(n >= 0 && walk_end == e, "large memslot: %ld records, walk_end %#lx", n,
		    walk_end);
	return idle_now_ms() - t0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Kill a child looping over calls of @flags; the median ms it took to die. */
static uint64_t kill_scanner(uint64_t flags, uint64_t s, uint64_t e, uint64_t call_ms)
{
	uint64_t ms[EINTR_KILLS], t0;
	int i, p[2], status;
	pid_t pid;
	char c;

	for (i = 0; i < EINTR_KILLS; i++) {
		TEST_ASSERT(!pipe(p), "pipe");
		pid = fork();
		TEST_ASSERT(pid >= 0, "fork");
		if (!pid) {
			int fd = idle_open(getppid(), flags ? O_RDWR : O_RDONLY);

			close(p[0]);
			TEST_ASSERT(write(p[1], "r", 1) == 1, "pipe write");
			for (;;)
				time_call(fd, flags, s, e);
		}
		close(p[1]);
		TEST_ASSERT(read(p[0], &c, 1) == 1, "the scanner did not start");
		close(p[0]);
		/* Well inside a call, at a point that differs from kill to kill. */
		usleep((call_ms + call_ms * i / 3) * 1000);
		t0 = idle_now_ms();
		kill(pid, SIGKILL);
		TEST_ASSERT(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) &&
			    WTERMSIG(status) == SIGKILL, "the scanner did not die of SIGKILL");
		ms[i] = idle_now_ms() - t0;
	}
	qsort(ms, EINTR_KILLS, sizeof(ms[0]), cmp_u64);
	ksft_print_msg("%s of %lu ms: killed scanners died in %lu, %lu, %lu ms\n",
		       flags ? "clearing calls" : "peeks", call_ms, ms[0], ms[1], ms[2]);
	return ms[EINTR_KILLS / 2];
}

static bool case_eintr(void)
{
	uint64_t limit = (v->vm->max_gfn + 1) << v->vm->page_shift;
	uint64_t max = idle_tdp_mmu_on() ? 256ULL << 30 : 64ULL << 30;
	uint64_t size = 4ULL << 30, peek_ms, clear_ms;
	bool ok = true;
	uint8_t *hva;

	/*
	 * Deleting the memslot to try a larger one must not zap the test
	 * memslot: main() checks at the end that its state did not change.
	 */
	if (!(kvm_check_cap(KVM_CAP_DISABLE_QUIRKS2) & KVM_X86_QUIRK_SLOT_ZAP_ALL)) {
		ksft_print_msg("KVM_X86_QUIRK_SLOT_ZAP_ALL cannot be disabled\n");
		return false;
	}
	vm_enable_cap(v->vm, KVM_CAP_DISABLE_QUIRKS2, KVM_X86_QUIRK_SLOT_ZAP_ALL);
	if (EINTR_GPA + max > limit)
		max = limit - EINTR_GPA;
	hva = mmap(NULL, max, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(hva != MAP_FAILED, "mmap of %lu GiB", max >> 30);
	for (;;) {
		vm_set_user_memory_region(v->vm, EINTR_SLOT, 0, EINTR_GPA, size, hva);
		peek_ms = time_call(ro, 0, (uintptr_t)hva, (uintptr_t)hva + size);
		if (peek_ms >= EINTR_MIN_MS || size * 2 > max)
			break;
		vm_set_user_memory_region(v->vm, EINTR_SLOT, 0, EINTR_GPA, 0, hva);
		size *= 2;
	}
	clear_ms = time_call(rw, IDLE_BITMAP_SCAN_CLEAR, (uintptr_t)hva, (uintptr_t)hva + size);
	ksft_print_msg("a memslot of %lu GiB, nothing mapped: %s %lu ms, %s %lu ms\n",
		       size >> 30, "a peek takes", peek_ms, "a clearing call", clear_ms);
	if (peek_ms < 200) {
		ksft_print_msg("a call is too quick to be killed in the middle\n");
		ok = false;
	}
	ok &= kill_scanner(0, (uintptr_t)hva, (uintptr_t)hva + size, peek_ms) * 4 < peek_ms;
	ok &= kill_scanner(IDLE_BITMAP_SCAN_CLEAR, (uintptr_t)hva, (uintptr_t)hva + size,
			   clear_ms) * 4 < clear_ms;
	vm_set_user_memory_region(v->vm, EINTR_SLOT, 0, EINTR_GPA, 0, hva);
	munmap(hva, max);
	return ok;
}

static const struct {
	const char *name;
	bool (*fn)(void);
} cases[] = {
	{ "EINVAL: unaligned offset", case_unaligned_offset },
	{ "EINVAL: buffer shorter than two records", case_short_buffer },
	{ "EINVAL: length not a multiple of 8", case_odd_length },
	{ "EFAULT: read() to a bad buffer", case_read_efault },
	{ "EINVAL: lseek(SEEK_END, SEEK_DATA, SEEK_HOLE, negative)", case_seek_end },
	{ "defined answers: read of 0 bytes, write(), empty range, which error wins",
	  case_defined },
	{ "EINVAL: unknown flags", case_unknown_flags },
	{ "EINVAL: command size below VER0, size field not the command's", case_small_size },
	{ "E2BIG: larger struct with a nonzero tail or above a page; zero tail works",
	  case_big_size },
	{ "EINVAL: start > end, unaligned range", case_bad_range },
	{ "EINVAL: end past TASK_SIZE", case_past_task_size },
	{ "EINVAL: vec_len below two", case_short_vec },
	{ "EFAULT: bad vec and arg pointers", case_ioctl_efault },
	{ "EBADF: clear on an O_RDONLY fd", case_clear_read_only },
	{ "EACCES: unprivileged user on another user's process", case_unprivileged },
	{ "0/ESRCH: the process exited", case_dead_pid },
	{ "file mode 0600", case_file_mode },
	{ "EINVAL: open(O_WRONLY)", case_wronly },
	{ "ESRCH: a zombie and a kernel thread", case_no_memory },
	{ "EACCES: a non-dumpable process, to its own user; root may", case_nondumpable },
	{ "exec after open: the fd sees the old memory, a new open the new", case_exec_after_open },
	{ "an fd passed to an unprivileged process keeps working", case_fd_passed },
	{ "EINTR: SIGKILL stops a multi-GiB peek or clearing call", case_eintr },
};

int main(int argc, char *argv[])
{
	struct idle_map before, after;
	uint64_t i;

	ksft_print_header();
	idle_require_support();
	ksft_set_plan(ARRAY_SIZE(cases) + 1);

	v = idle_vm_create(2);
	seg = idle_vm_add_seg(v, VM_MEM_SRC_ANONYMOUS, 8 << 20);
	/* Children must not write-protect (and so unmap) the memslot on fork. */
	TEST_ASSERT(!madvise(seg->hva, seg->size, MADV_DONTFORK), "MADV_DONTFORK");
	start = (uintptr_t)seg->hva;
	end = start + seg->size;
	ro = idle_open(0, O_RDONLY);
	rw = idle_open(0, O_RDWR);

	/* Leave holes, idle and accessed pages, then fill the pattern. */
	for (i = 0; i < v->npages; i++)
		v->plan[i] = random() % 4 ? IDLE_OP_WRITE : IDLE_OP_NONE;
	idle_vm_step(v);
	idle_map_init(&before, start, v->npages);
	idle_map_read(&before, rw, 0);
	for (i = 0; i < v->npages; i++)
		v->plan[i] = v->plan[i] && random() % 2 ? IDLE_OP_READ : IDLE_OP_NONE;
	idle_vm_step(v);
	idle_fill_pattern(v, seg);
	idle_map_read(&before, ro, 0);
	TEST_ASSERT(idle_map_count(&before, IBD_ACCESSED) && idle_map_count(&before, IBD_IDLE),
		    "the guest left no accessed or no idle pages");

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		ksft_test_result(cases[i].fn(), "%s\n", cases[i].name);

	idle_map_init(&after, start, v->npages);
	idle_map_read(&after, ro, 0);
	idle_check_pattern(v, seg);
	ksft_test_result(!memcmp(before.st, after.st, v->npages),
			 "failed calls changed no page state\n");

	idle_map_free(&before);
	idle_map_free(&after);
	close(ro);
	close(rw);
	idle_vm_free(v);
	ksft_finished();
}
