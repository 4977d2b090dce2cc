// SPDX-License-Identifier: GPL-2.0-only
/*
 * Helpers shared by the /proc/PID/idle_bitmap selftests, see
 * idle_bitmap_util.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/mempolicy.h>

#include "kvm_util.h"
#include "processor.h"
#include "sparsebit.h"
#include "ucall_common.h"

#include "idle_bitmap_util.h"

/* Seconds a subtest may run before it is killed and reported as failed. */
#define IDLE_SUBTEST_TIMEOUT	240

#define HUGETLB_2M_DIR		"/sys/kernel/mm/hugepages/hugepages-2048kB/"
#define HUGETLB_1G_DIR		"/sys/kernel/mm/hugepages/hugepages-1048576kB/"
#define THP_ENABLED		"/sys/kernel/mm/transparent_hugepage/enabled"

/* Guest side: the per-page plan and the number of test pages. */
static uint8_t guest_plan[IDLE_MAX_PAGES];
static uint64_t guest_npages;
static uint64_t guest_epoch;

static void idle_guest_code(uint32_t idx, uint32_t nr)
{
	uint64_t pass, i;

	for (pass = 0;; pass++) {
		uint64_t n = READ_ONCE(guest_npages);
		uint64_t w = 1 + pass % 510;

		for (i = idx; i < n; i += nr) {
			uint64_t *p = (uint64_t *)(IDLE_GVA + i * IDLE_PAGE_SIZE);
			uint8_t op = READ_ONCE(guest_plan[i]);

			switch (op) {
			case IDLE_OP_READ:
				(void)READ_ONCE(p[0]);
				break;
			case IDLE_OP_WRITE:
				WRITE_ONCE(p[0], idle_pattern(i, 0));
				break;
			case IDLE_OP_WRITE_EPOCH:
				WRITE_ONCE(p[0], idle_epoch_word(i, READ_ONCE(guest_epoch)));
				break;
			case IDLE_OP_VERIFY:
			case IDLE_OP_VERIFY_WRITE:
				GUEST_ASSERT_EQ(READ_ONCE(p[0]), idle_pattern(i, 0));
				GUEST_ASSERT_EQ(READ_ONCE(p[w]), idle_pattern(i, w));
				GUEST_ASSERT_EQ(READ_ONCE(p[511]), idle_pattern(i, 511));
				if (op == IDLE_OP_VERIFY_WRITE)
					WRITE_ONCE(p[0], idle_pattern(i, 0));
				break;
			default:
				break;
			}
		}
		GUEST_SYNC(pass);
	}
}

void idle_require_support(void)
{
	__TEST_REQUIRE(!access("/proc/self/idle_bitmap", F_OK),
		       "/proc/self/idle_bitmap not found (needs CONFIG_KVM_PROC_IDLE_BITMAP=y)");
	__TEST_REQUIRE(!access(KVM_DEV_PATH, F_OK), "%s not found (needs KVM)", KVM_DEV_PATH);
}

unsigned int idle_seed(void)
{
	static unsigned int seed;
	const char *env;

	if (seed)
		return seed;
	env = getenv("IDLE_SEED");
	seed = env ? strtoul(env, NULL, 0) : (unsigned int)(time(NULL) ^ (getpid() << 16));
	if (!seed)
		seed = 1;
	return seed;
}

/*
 * Run each test in a child process: a failed TEST_ASSERT ends only its own
 * test, and every test starts without a VM (so it can fork itself without
 * copy-on-write invalidations of another test's guest memory).
 */
int idle_run_tests(const struct idle_test *tests, int nr)
{
	unsigned int seed = idle_seed();
	int i, status;
	pid_t pid;

	ksft_print_msg("seed %u (set IDLE_SEED=%u to repeat)\n", seed, seed);
	ksft_set_plan(nr);
	for (i = 0; i < nr; i++) {
		fflush(stdout);
		fflush(stderr);
		pid = fork();
		TEST_ASSERT(pid >= 0, "fork() failed");
		if (!pid) {
			alarm(IDLE_SUBTEST_TIMEOUT);
			srandom(seed + i);
			tests[i].fn();
			exit(KSFT_PASS);
		}
		TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid() failed");
		if (WIFEXITED(status) && WEXITSTATUS(status) == KSFT_PASS)
			ksft_test_result_pass("%s\n", tests[i].name);
		else if (WIFEXITED(status) && WEXITSTATUS(status) == KSFT_SKIP)
			ksft_test_result_skip("%s\n", tests[i].name);
		else if (WIFSIGNALED(status))
			ksft_test_result_fail("%s (killed by signal %d)\n", tests[i].name,
					      WTERMSIG(status));
		else
			ksft_test_result_fail("%s (exit status %d)\n", tests[i].name,
					      WEXITSTATUS(status));
	}
	ksft_finished();
	return 0;
}

void idle_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("# SKIP ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	exit(KSFT_SKIP);
}

uint64_t idle_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* Whether KVM uses the TDP MMU (kvm.tdp_mmu, which npt=0/ept=0 turn off). */
bool idle_tdp_mmu_on(void)
{
	char c = 0;
	int fd = open("/sys/module/kvm/parameters/tdp_mmu", O_RDONLY);

	if (fd < 0)
		return false;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == 'Y';
}

/* x86-64 TASK_SIZE: 56 address bits with 5-level paging (LA57), else 47. */
uint64_t idle_task_size(void)
{
	static uint64_t task_size;
	bool la57 = false;
	static char line[16384];
	FILE *f;

	if (task_size)
		return task_size;
	f = fopen("/proc/cpuinfo", "r");
	TEST_ASSERT(f, "open /proc/cpuinfo");
	while (!la57 && fgets(line, sizeof(line), f))
		la57 = !strncmp(line, "flags", 5) && strstr(line, " la57");
	fclose(f);
	task_size = (la57 ? 1ULL << 56 : 1ULL << 47) - IDLE_PAGE_SIZE;
	return task_size;
}

static int read_sysfs(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

static int write_sysfs(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

static long read_sysfs_long(const char *path)
{
	char buf[64];

	if (read_sysfs(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 0);
}

static char thp_saved[16];
static long hugetlb_saved = -1;

static void idle_restore_sysfs(void)
{
	char buf[32];

	if (thp_saved[0])
		write_sysfs(THP_ENABLED, thp_saved);
	if (hugetlb_saved >= 0) {
		snprintf(buf, sizeof(buf), "%ld", hugetlb_saved);
		write_sysfs(HUGETLB_2M_DIR "nr_hugepages", buf);
	}
}

/* Make THP available to madvise(MADV_HUGEPAGE) regions; restored at exit. */
bool idle_thp_enable(void)
{
	char buf[128];

	if (!thp_configured() || read_sysfs(THP_ENABLED, buf, sizeof(buf)))
		return false;
	if (!strstr(buf, "[never]"))
		return true;
	if (write_sysfs(THP_ENABLED, "madvise"))
		return false;
	snprintf(thp_saved, sizeof(thp_saved), "never");
	atexit(idle_restore_sysfs);
	return !read_sysfs(THP_ENABLED, buf, sizeof(buf)) && !strstr(buf, "[never]");
}

/* Make @nr free 2M hugetlb pages available; the pool is restored at exit. */
bool idle_hugetlb_reserve(unsigned long nr)
{
	long total = read_sysfs_long(HUGETLB_2M_DIR "nr_hugepages");
	long free_pages = read_sysfs_long(HUGETLB_2M_DIR "free_hugepages");
	char buf[32];

	if (total < 0 || free_pages < 0)
		return false;
	if (free_pages >= (long)nr)
		return true;
	if (hugetlb_saved < 0) {
		hugetlb_saved = total;
		atexit(idle_restore_sysfs);
	}
	snprintf(buf, sizeof(buf), "%ld", total + (long)nr - free_pages);
	write_sysfs(HUGETLB_2M_DIR "nr_hugepages", buf);
	return read_sysfs_long(HUGETLB_2M_DIR "free_hugepages") >= (long)nr;
}

/*
 * Free 1G hugetlb pages (-1 without 1G support).  They cannot be counted on
 * at run time: the test kernel reserves them at boot (hugepagesz=1G).
 */
long idle_hugetlb_1g_free(void)
{
	return read_sysfs_long(HUGETLB_1G_DIR "free_hugepages");
}

/* The AnonHugePages of the VMA that holds @addr, in bytes. */
uint64_t idle_thp_bytes(void *addr)
{
	uint64_t a = (uintptr_t)addr, start, end, kb = 0;
	bool in_vma = false;
	char line[512];
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	TEST_ASSERT(f, "open /proc/self/smaps");
	while (fgets(line, sizeof(line), f)) {
		/* A VMA's first line is "start-end perms ...", the others "Name: value". */
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in_vma = start <= a && a < end;
			continue;
		}
		if (in_vma && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb * 1024;
}

int idle_open(pid_t pid, int flags)
{
	char path[64];
	int fd;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/idle_bitmap", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/idle_bitmap");
	fd = open(path, flags);
	TEST_ASSERT(fd >= 0, "open(%s, %#x) failed", path, flags);
	return fd;
}

long idle_scan(int fd, uint64_t flags, uint64_t start, uint64_t end,
	       uint64_t *vec, uint64_t vec_len, uint64_t *walk_end)
{
	struct idle_bitmap_scan_arg arg = {
		.size = sizeof(arg),
		.flags = flags,
		.start = start,
		.end = end,
		.vec = (uintptr_t)vec,
		.vec_len = vec_len,
		.walk_end = ~0ULL,
	};
	long ret = ioctl(fd, IDLE_BITMAP_SCAN, &arg);

	if (walk_end)
		*walk_end = arg.walk_end;
	return ret;
}

void idle_recs_add(struct idle_recs *r, const uint64_t *rec, size_t n)
{
	if (r->n + n > r->cap) {
		r->cap = (r->n + n) * 2;
		r->rec = realloc(r->rec, r->cap * sizeof(*r->rec));
		TEST_ASSERT(r->rec, "out of memory");
	}
	memcpy(r->rec + r->n, rec, n * sizeof(*rec));
	r->n += n;
}

void idle_recs_free(struct idle_recs *r)
{
	free(r->rec);
	memset(r, 0, sizeof(*r));
}

struct reply_check {
	uint64_t from, to, prev;
};

static int reply_check_extent(const struct ibd_extent *e, void *arg)
{
	struct reply_check *c = arg;
	uint64_t end = e->addr + e->npages * IDLE_PAGE_SIZE;

	TEST_ASSERT(e->addr >= c->prev, "extent at %#lx goes back before %#lx", e->addr, c->prev);
	TEST_ASSERT(e->addr >= c->from && end <= c->to,
		    "extent [%#lx, %#lx) outside the range asked for [%#lx, %#lx)",
		    e->addr, end, c->from, c->to);
	c->prev = end;
	return 0;
}

/*
 * Check one reply (a read() or one IDLE_BITMAP_SCAN) that was asked for
 * addresses in [@from, @to): it starts with ADDR, every record is valid, the
 * extents go up and stay in the range.  *@next is the address after the last.
 */
void idle_check_reply(const uint64_t *rec, size_t n, uint64_t from, uint64_t to,
		      uint64_t *next)
{
	struct reply_check c = { .from = from, .to = to, .prev = from };
	uint64_t pos = 0, type, size;
	size_t bad = 0, i;
	int ret;

	TEST_ASSERT(n >= 2, "a reply of %zu record(s): want ADDR and at least one more", n);
	TEST_ASSERT(IDLE_BITMAP_TYPE(rec[0]) == IDLE_BITMAP_TYPE_ADDR,
		    "reply starts with %#lx, not an ADDR record", rec[0]);
	ret = ibd_decode(rec, n, reply_check_extent, &c, next, &bad);
	TEST_ASSERT(!ret, "malformed reply: record %zu of %zu is %#lx", bad, n, rec[bad]);
	TEST_ASSERT(*next > from, "a reply that reports nothing");

	/* An ADDR record appears only where the position moves forward. */
	for (i = 0; i < n; i++) {
		type = IDLE_BITMAP_TYPE(rec[i]);
		size = IDLE_BITMAP_RUN_SIZE(rec[i]);
		if (type == IDLE_BITMAP_TYPE_ADDR) {
			TEST_ASSERT(!i || IDLE_BITMAP_ADDR_PFN(rec[i]) * IDLE_PAGE_SIZE > pos,
				    "ADDR record %zu (%#lx) does not move the position %#lx forward",
				    i, rec[i], pos);
			pos = IDLE_BITMAP_ADDR_PFN(rec[i]) * IDLE_PAGE_SIZE;
		} else if (type == IDLE_BITMAP_TYPE_MIXED) {
			pos += IDLE_BITMAP_MIXED_COUNT(rec[i]) * IDLE_PAGE_SIZE;
		} else {
			pos += IDLE_BITMAP_RUN_COUNT(rec[i]) *
			       (size == IDLE_BITMAP_SIZE_1G ? IDLE_GIGA_SIZE :
				size == IDLE_BITMAP_SIZE_2M ? IDLE_HUGE_SIZE : IDLE_PAGE_SIZE);
		}
	}
}

static size_t random_bufsz(void)
{
	/* Mostly small buffers, so that replies end at many places. */
	if (random() % 4)
		return 16 + 8 * (random() % 64);
	return 16 + 8 * (random() % (IDLE_MAX_VEC - 1));
}

/*
 * Read the records for [@start, @end) with read() in buffers of @bufsz bytes
 * (0: random sizes), checking each reply and the file offset after it,
 * then end the pass.  Returns the number of read() calls.
 */
unsigned long idle_read_range(int fd, uint64_t start, uint64_t end, size_t bufsz,
			      struct idle_recs *out)
{
	uint64_t *buf = malloc(bufsz > IDLE_MAX_BUF ? bufsz : IDLE_MAX_BUF);
	uint64_t pos = start, next, newpos;
	bool short_reply = false;
	unsigned long calls = 0;
	ssize_t n;
	size_t size;

	TEST_ASSERT(buf, "out of memory");
	TEST_ASSERT(lseek(fd, start, SEEK_SET) == (off_t)start, "lseek(%#lx) failed", start);
	while (pos < end) {
		size = bufsz ? bufsz : random_bufsz();
		n = read(fd, buf, size);
		calls++;
		TEST_ASSERT(n >= 0, "read(%zu bytes at %#lx) failed", size, pos);
		if (!n)
			break;
		TEST_ASSERT(!short_reply,
			    "a reply far from filling its buffer was not the last one (at %#lx)",
			    pos);
		TEST_ASSERT(n % 8 == 0 && (size_t)n <= size, "read() returned %zd of %zu", n, size);
		idle_check_reply(buf, n / 8, pos, ~0ULL, &next);
		newpos = lseek(fd, 0, SEEK_CUR);
		TEST_ASSERT(newpos >= next, "file offset %#lx after a read() up to %#lx",
			    newpos, next);
		idle_recs_add(out, buf, n / 8);
		/* Much room left over: there was nothing more to report. */
		short_reply = (size_t)n + 8 * IDLE_REPLY_SLACK < size;
		pos = newpos;
	}
	free(buf);
	/* The range may end before the address space: end the pass here. */
	idle_end_pass(fd);
	return calls;
}

/*
 * End a pass with an empty IDLE_BITMAP_SCAN: the TLB flush that clearing
 * calls left pending happens now, so the guest's next accesses are seen.
 */
void idle_end_pass(int fd)
{
	uint64_t vec[2], walk_end;

	TEST_ASSERT(!idle_scan(fd, 0, 0, 0, vec, 2, &walk_end) && !walk_end,
		    "IDLE_BITMAP_SCAN of an empty range failed");
}

/* The same with IDLE_BITMAP_SCAN, @vec_len records per call (0: random). */
unsigned long idle_ioctl_range(int fd, uint64_t flags, uint64_t start, uint64_t end,
			       size_t vec_len, struct idle_recs *out)
{
	uint64_t *vec = malloc((vec_len > IDLE_MAX_VEC ? vec_len : IDLE_MAX_VEC) * 8);
	uint64_t cur = start, walk_end, next;
	unsigned long calls = 0;
	size_t len;
	long ret;

	TEST_ASSERT(vec, "out of memory");
	while (cur < end) {
		len = vec_len ? vec_len : random_bufsz() / 8;
		ret = idle_scan(fd, flags, cur, end, vec, len, &walk_end);
		calls++;
		TEST_ASSERT(ret >= 0, "IDLE_BITMAP_SCAN [%#lx, %#lx) flags %#lx failed",
			    cur, end, flags);
		TEST_ASSERT((size_t)ret <= len, "%ld records for a vector of %zu", ret, len);
		TEST_ASSERT(walk_end <= end && !(walk_end % IDLE_PAGE_SIZE),
			    "walk_end %#lx for [%#lx, %#lx)", walk_end, cur, end);
		if (!ret) {
			TEST_ASSERT(walk_end == end, "no records, but walk_end %#lx != end %#lx",
				    walk_end, end);
			break;
		}
		idle_check_reply(vec, ret, cur, end, &next);
		TEST_ASSERT(walk_end >= next, "walk_end %#lx before the last extent's end %#lx",
			    walk_end, next);
		TEST_ASSERT(walk_end == end || (size_t)ret + IDLE_REPLY_SLACK >= len,
			    "stopped at %#lx before %#lx with %ld of %zu records used",
			    walk_end, end, ret, len);
		idle_recs_add(out, vec, ret);
		cur = walk_end;
	}
	free(vec);
	return calls;
}

void idle_map_init(struct idle_map *m, uint64_t start, uint64_t npages)
{
	m->start = start;
	m->npages = npages;
	m->st = malloc(npages);
	TEST_ASSERT(m->st, "out of memory");
	idle_map_reset(m);
}

void idle_map_reset(struct idle_map *m)
{
	memset(m->st, IDLE_MAP_NONE, m->npages);
}

void idle_map_free(struct idle_map *m)
{
	free(m->st);
	m->st = NULL;
}

static int map_add_extent(const struct ibd_extent *e, void *arg)
{
	struct idle_map *m = arg;
	uint64_t end = m->start + m->npages * IDLE_PAGE_SIZE;
	uint64_t a = max(e->addr, m->start);
	uint64_t b = min(e->addr + e->npages * IDLE_PAGE_SIZE, end);

	for (; a < b; a += IDLE_PAGE_SIZE) {
		uint64_t i = (a - m->start) / IDLE_PAGE_SIZE;

		TEST_ASSERT(m->st[i] == IDLE_MAP_NONE, "page %#lx reported twice", a);
		m->st[i] = e->size << 4 | e->state;
	}
	return 0;
}

/* Add the pages of @r that fall in @m. */
void idle_map_add(struct idle_map *m, const struct idle_recs *r)
{
	size_t bad = 0;
	int ret;

	if (!r->n)
		return;
	ret = ibd_decode(r->rec, r->n, map_add_extent, m, NULL, &bad);
	TEST_ASSERT(!ret, "malformed records: %zu of %zu is %#lx", bad, r->n, r->rec[bad]);
}

/* Read @m's range into @m; returns the number of calls. */
unsigned long idle_map_read(struct idle_map *m, int fd, size_t bufsz)
{
	struct idle_recs r = {};
	unsigned long calls;

	idle_map_reset(m);
	calls = idle_read_range(fd, m->start, m->start + m->npages * IDLE_PAGE_SIZE, bufsz, &r);
	idle_map_add(m, &r);
	idle_recs_free(&r);
	return calls;
}

unsigned long idle_map_ioctl(struct idle_map *m, int fd, uint64_t flags, size_t vec_len)
{
	struct idle_recs r = {};
	unsigned long calls;

	idle_map_reset(m);
	calls = idle_ioctl_range(fd, flags, m->start, m->start + m->npages * IDLE_PAGE_SIZE,
				 vec_len, &r);
	idle_map_add(m, &r);
	idle_recs_free(&r);
	return calls;
}

static const char *state_name(uint8_t x)
{
	static const char * const names[] = { "HOLE", "IDLE", "ACCESSED" };

	if (x == IDLE_MAP_NONE)
		return "not reported";
	return IDLE_MAP_STATE(x) < 3 ? names[IDLE_MAP_STATE(x)] : "?";
}

static const char *size_name(int size_class)
{
	static const char * const names[] = { "4K", "2M", "1G" };

	return size_class >= 0 && size_class < 3 ? names[size_class] : "?";
}

/*
 * Compare @m with @want (an enum ibd_state per page, or IDLE_MAP_NONE for
 * "must not be reported").  With @size_class >= 0 every IDLE or ACCESSED page
 * must also come in records of that size class.  Prints the first mismatches;
 * returns how many pages differ.
 */
size_t idle_map_check(const struct idle_map *m, const uint8_t *want, int size_class,
		      const char *what)
{
	size_t i, bad = 0;

	for (i = 0; i < m->npages; i++) {
		uint8_t g = m->st[i], w = want[i];
		bool sized = size_class >= 0 && w != IDLE_MAP_NONE && w != IBD_HOLE;
		bool ok;

		if (w == IDLE_MAP_NONE || g == IDLE_MAP_NONE)
			ok = w == g;
		else
			ok = IDLE_MAP_STATE(g) == w && (!sized || IDLE_MAP_SIZE(g) == size_class);
		if (ok)
			continue;
		if (bad++ < 8)
			ksft_print_msg("%s: page %zu (%#lx): want %s%s%s, got %s%s%s\n", what, i,
				       m->start + i * IDLE_PAGE_SIZE, state_name(w),
				       sized ? " in a record of size " : "",
				       sized ? size_name(size_class) : "", state_name(g),
				       g == IDLE_MAP_NONE ? "" : " in a record of size ",
				       g == IDLE_MAP_NONE ? "" : size_name(IDLE_MAP_SIZE(g)));
	}
	if (bad)
		ksft_print_msg("%s: %zu of %lu pages differ\n", what, bad, m->npages);
	return bad;
}

size_t idle_map_count(const struct idle_map *m, unsigned int state)
{
	size_t i, n = 0;

	for (i = 0; i < m->npages; i++)
		n += m->st[i] != IDLE_MAP_NONE && IDLE_MAP_STATE(m->st[i]) == state;
	return n;
}

/*
 * A rwlock that a writer gets even while readers keep taking it: glibc's
 * default lets a stream of readers starve the writer.
 */
void idle_rwlock_init_writer_first(pthread_rwlock_t *lock)
{
	pthread_rwlockattr_t attr;

	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(lock, &attr);
	pthread_rwlockattr_destroy(&attr);
}

/*
 * Move each 2M unit of [@hva, @hva + @size) to NUMA node @node with
 * move_pages().  Returns how many units moved; the others are added to
 * *@failed, and *@err is the error of the last of them (EAGAIN when
 * migration failed without one).
 */
unsigned long idle_move_huge(uint8_t *hva, uint64_t size, int node, unsigned long *failed,
			     int *err)
{
	unsigned long n = size / IDLE_HUGE_SIZE, i, moved = 0;
	void **pages = calloc(n, sizeof(*pages));
	int *nodes = calloc(n, sizeof(*nodes)), *status = calloc(n, sizeof(*status));

	TEST_ASSERT(pages && nodes && status, "out of memory");
	for (i = 0; i < n; i++) {
		pages[i] = hva + i * IDLE_HUGE_SIZE;
		nodes[i] = node;
		status[i] = INT_MIN;
	}
	if (syscall(__NR_move_pages, 0, n, pages, nodes, status, MPOL_MF_MOVE) < 0) {
		*failed += n;
		*err = errno;
	} else {
		for (i = 0; i < n; i++) {
			if (status[i] == node) {
				moved++;
			} else {
				/* INT_MIN: migrate_pages() failed on it. */
				++*failed;
				*err = status[i] == INT_MIN ? EAGAIN : -status[i];
			}
		}
	}
	free(pages);
	free(nodes);
	free(status);
	return moved;
}

/* A VM of type @shape.type (KVM_X86_SW_PROTECTED_VM, ...) with @nr_vcpus vCPUs. */
struct idle_vm *idle_vm_create_shape(struct vm_shape shape, int nr_vcpus)
{
	struct idle_vm *v = calloc(1, sizeof(*v));
	int i;

	TEST_ASSERT(v && nr_vcpus <= IDLE_MAX_VCPUS, "bad VM");
	v->nr_vcpus = nr_vcpus;
	/* Room in slot 0 for the page tables of the segments and the plan. */
	v->vm = __vm_create_with_vcpus(shape, nr_vcpus, 2048, idle_guest_code, v->vcpu);
	for (i = 0; i < nr_vcpus; i++) {
		vcpu_args_set(v->vcpu[i], 2, i, nr_vcpus);
		v->vt[i].v = v;
		v->vt[i].idx = i;
	}
	v->next_gpa = IDLE_GPA;

	/* Let idle_vcpus_pause() get in even while vCPU threads keep stepping. */
	idle_rwlock_init_writer_first(&v->quiesce);
	return v;
}

struct idle_vm *idle_vm_create(int nr_vcpus)
{
	return idle_vm_create_shape(VM_SHAPE_DEFAULT, nr_vcpus);
}

void idle_vm_free(struct idle_vm *v)
{
	kvm_vm_free(v->vm);
	pthread_rwlock_destroy(&v->quiesce);
	free(v);
}

static struct idle_seg *idle_vm_map_seg(struct idle_vm *v, uint64_t gpa, void *hva,
					uint64_t size)
{
	struct idle_seg *s = &v->seg[v->nr_segs++];
	uint64_t gva = IDLE_GVA + v->npages * IDLE_PAGE_SIZE;

	s->slot = IDLE_SLOT + v->nr_segs - 1;
	s->gpa = gpa;
	s->size = size;
	s->hva = hva;
	s->first = v->npages;

	/*
	 * 2M guest pages, so that the shadow MMU can map 2M too; 1G pages for
	 * a 1G-aligned segment of whole GiBs, so that it can map 1G.
	 */
	virt_map_level(v->vm, gva, gpa, size,
		       !(size % IDLE_GIGA_SIZE) && !(gpa % IDLE_GIGA_SIZE) &&
		       !(gva % IDLE_GIGA_SIZE) ? PG_LEVEL_1G : PG_LEVEL_2M);
	sparsebit_set_num(v->vm->vpages_mapped, gva >> v->vm->page_shift,
			  size >> v->vm->page_shift);
	v->npages += size / IDLE_PAGE_SIZE;
	/* Leave a GPA gap between segments. */
	v->next_gpa = gpa + size + IDLE_HUGE_SIZE;
	return s;
}

/* Add a segment of @size bytes backed by @src (through kvm_util). */
struct idle_seg *idle_vm_add_seg(struct idle_vm *v, enum vm_mem_backing_src_type src,
				 uint64_t size)
{
	uint64_t gpa = v->next_gpa;

	TEST_ASSERT(v->nr_segs < IDLE_MAX_SEGS && !(size % IDLE_HUGE_SIZE) &&
		    v->npages + size / IDLE_PAGE_SIZE <= IDLE_MAX_PAGES, "bad segment");
	vm_userspace_mem_region_add(v->vm, src, gpa, IDLE_SLOT + v->nr_segs,
				    size / IDLE_PAGE_SIZE, 0);
	return idle_vm_map_seg(v, gpa, addr_gpa2hva(v->vm, gpa), size);
}

/*
 * Add a segment of @size bytes of anonymous memory with a guest_memfd of the
 * same size behind it, for a VM that has private memory.  Its pages are
 * shared until the caller converts them (vm_mem_set_private()).
 */
struct idle_seg *idle_vm_add_seg_private(struct idle_vm *v, uint64_t size)
{
	uint64_t gpa = v->next_gpa;

	TEST_ASSERT(v->nr_segs < IDLE_MAX_SEGS && !(size % IDLE_HUGE_SIZE) &&
		    v->npages + size / IDLE_PAGE_SIZE <= IDLE_MAX_PAGES, "bad segment");
	vm_mem_add(v->vm, VM_MEM_SRC_ANONYMOUS, gpa, IDLE_SLOT + v->nr_segs,
		   size / IDLE_PAGE_SIZE, KVM_MEM_GUEST_MEMFD, -1, 0);
	return idle_vm_map_seg(v, gpa, addr_gpa2hva(v->vm, gpa), size);
}

/* Add a segment on memory the caller mapped at @hva (possibly another VM's). */
struct idle_seg *idle_vm_add_seg_hva(struct idle_vm *v, void *hva, uint64_t size)
{
	uint64_t gpa = v->next_gpa;

	TEST_ASSERT(v->nr_segs < IDLE_MAX_SEGS && !(size % IDLE_HUGE_SIZE) &&
		    v->npages + size / IDLE_PAGE_SIZE <= IDLE_MAX_PAGES, "bad segment");
	vm_set_user_memory_region(v->vm, IDLE_SLOT + v->nr_segs, 0, gpa, size, hva);
	return idle_vm_map_seg(v, gpa, hva, size);
}

uint8_t *idle_page_hva(struct idle_vm *v, uint64_t page)
{
	int i;

	for (i = 0; i < v->nr_segs; i++) {
		struct idle_seg *s = &v->seg[i];

		if (page >= s->first && page < s->first + s->size / IDLE_PAGE_SIZE)
			return s->hva + (page - s->first) * IDLE_PAGE_SIZE;
	}
	TEST_FAIL("no test page %lu", page);
}

/* Copy the plan into the guest; vCPUs must not be running. */
void idle_vm_sync(struct idle_vm *v)
{
	memcpy(addr_gva2hva(v->vm, (vm_vaddr_t)guest_plan), v->plan, v->npages);
	write_guest_global(v->vm, guest_npages, v->npages);
}

/* Run @vcpu (number @i) until its guest code syncs; fail on anything else. */
void idle_vcpu_run(struct kvm_vcpu *vcpu, int i)
{
	struct ucall uc;

	vcpu_run(vcpu);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
		break;
	default:
		TEST_FAIL("vCPU %d: unexpected exit %s (ucall %lu)", i,
			  exit_reason_str(vcpu->run->exit_reason), uc.cmd);
	}
}

/* Run vCPU @i through one pass over its pages. */
void idle_vcpu_step(struct idle_vm *v, int i)
{
	idle_vcpu_run(v->vcpu[i], i);
}

/* Run every vCPU, one after the other, through one pass of the plan. */
void idle_vm_step(struct idle_vm *v)
{
	int i;

	idle_vm_sync(v);
	for (i = 0; i < v->nr_vcpus; i++)
		idle_vcpu_step(v, i);
}

/* The epoch that IDLE_OP_WRITE_EPOCH writes; vCPUs must not be running. */
void idle_vm_set_epoch(struct idle_vm *v, uint64_t epoch)
{
	write_guest_global(v->vm, guest_epoch, epoch);
}

void idle_plan_set(struct idle_vm *v, const struct idle_seg *s, enum idle_op op)
{
	memset(v->plan + s->first, op, s->size / IDLE_PAGE_SIZE);
}

void idle_fill_pattern(struct idle_vm *v, const struct idle_seg *s)
{
	uint64_t p, w;

	for (p = 0; p < s->size / IDLE_PAGE_SIZE; p++) {
		uint64_t *q = (uint64_t *)(s->hva + p * IDLE_PAGE_SIZE);

		for (w = 0; w < IDLE_PAGE_SIZE / 8; w++)
			q[w] = idle_pattern(s->first + p, w);
	}
}

/*
 * Every word of @s holds the pattern, except that the first word of a test
 * page whose entry in @epoch (indexed by test page; NULL for none) is not 0
 * holds idle_epoch_word() of that epoch.
 */
void idle_check_pattern_epochs(struct idle_vm *v, const struct idle_seg *s,
			       const uint32_t *epoch)
{
	uint64_t p, w;

	for (p = 0; p < s->size / IDLE_PAGE_SIZE; p++) {
		uint64_t *q = (uint64_t *)(s->hva + p * IDLE_PAGE_SIZE);
		uint64_t page = s->first + p;

		for (w = 0; w < IDLE_PAGE_SIZE / 8; w++) {
			uint64_t want = !w && epoch && epoch[page] ?
					idle_epoch_word(page, epoch[page]) : idle_pattern(page, w);

			TEST_ASSERT(q[w] == want, "slot %u page %lu word %lu: %#lx, want %#lx",
				    s->slot, p, w, q[w], want);
		}
	}
}

void idle_check_pattern(struct idle_vm *v, const struct idle_seg *s)
{
	idle_check_pattern_epochs(v, s, NULL);
}

static void *idle_vcpu_thread(void *arg)
{
	struct idle_vcpu_thread *t = arg;
	struct idle_vm *v = t->v;

	while (!READ_ONCE(v->stop)) {
		pthread_rwlock_rdlock(&v->quiesce);
		if (!READ_ONCE(v->stop)) {
			idle_vcpu_step(v, t->idx);
			WRITE_ONCE(t->passes, t->passes + 1);
		}
		pthread_rwlock_unlock(&v->quiesce);
	}
	return NULL;
}

/* Start one thread per vCPU that steps it through the current plan until stopped. */
void idle_vcpus_start(struct idle_vm *v)
{
	int i;

	idle_vm_sync(v);
	WRITE_ONCE(v->stop, false);
	for (i = 0; i < v->nr_vcpus; i++)
		pthread_create(&v->vt[i].thread, NULL, idle_vcpu_thread, &v->vt[i]);
}

/* Wait until no vCPU is in the guest, and keep them out until resumed. */
void idle_vcpus_pause(struct idle_vm *v)
{
	pthread_rwlock_wrlock(&v->quiesce);
}

void idle_vcpus_resume(struct idle_vm *v)
{
	pthread_rwlock_unlock(&v->quiesce);
}

void idle_vcpus_stop(struct idle_vm *v)
{
	int i;

	WRITE_ONCE(v->stop, true);
	for (i = 0; i < v->nr_vcpus; i++)
		pthread_join(v->vt[i].thread, NULL);
}

/* One full pass over the target's address space, or until the target is gone. */
static void idle_scanner_pass(struct idle_scanner *s, uint64_t *buf)
{
	uint64_t end = idle_task_size(), pos = 0, next, walk_end;
	long ret;

	if (!s->use_ioctl && lseek(s->fd, 0, SEEK_SET))
		TEST_FAIL("lseek(0) failed");
	while (pos < end && !READ_ONCE(*s->stop)) {
		size_t len = 2 + rand_r(&s->seed) % 512;

		s->calls++;
		if (s->use_ioctl) {
			uint64_t flags = s->clear ? IDLE_BITMAP_SCAN_CLEAR : 0;

			if (s->clear && !(rand_r(&s->seed) % 4))
				flags |= IDLE_BITMAP_SCAN_NO_FLUSH;
			ret = idle_scan(s->fd, flags, pos, end, buf, len, &walk_end);
			if (ret < 0 && errno == ESRCH && s->target_may_exit)
				return;
			TEST_ASSERT(ret >= 0 && (size_t)ret <= len,
				    "scanner: IDLE_BITMAP_SCAN at %#lx returned %ld", pos, ret);
			if (!ret) {
				TEST_ASSERT(walk_end == end, "scanner: no records, walk_end %#lx",
					    walk_end);
				return;
			}
			idle_check_reply(buf, ret, pos, end, &next);
			TEST_ASSERT(walk_end >= next && walk_end <= end,
				    "scanner: walk_end %#lx, records up to %#lx", walk_end, next);
			pos = walk_end;
		} else {
			ret = read(s->fd, buf, len * 8);
			TEST_ASSERT(ret >= 0 && ret % 8 == 0 && (size_t)ret <= len * 8,
				    "scanner: read() at %#lx returned %ld", pos, ret);
			if (!ret)
				return;
			idle_check_reply(buf, ret / 8, pos, ~0ULL, &next);
			pos = lseek(s->fd, 0, SEEK_CUR);
			TEST_ASSERT(pos >= next, "scanner: offset %#lx, records up to %#lx", pos,
				    next);
		}
	}
}

static void *idle_scanner_thread(void *arg)
{
	struct idle_scanner *s = arg;
	uint64_t *buf = malloc(IDLE_MAX_BUF);

	TEST_ASSERT(buf, "out of memory");
	while (!READ_ONCE(*s->stop)) {
		idle_scanner_pass(s, buf);
		s->passes++;
	}
	free(buf);
	return NULL;
}

void idle_scanner_start(struct idle_scanner *s)
{
	if (!s->seed)
		s->seed = random();
	pthread_create(&s->thread, NULL, idle_scanner_thread, s);
}

void idle_scanner_join(struct idle_scanner *s)
{
	pthread_join(s->thread, NULL);
}
