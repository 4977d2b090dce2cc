// SPDX-License-Identifier: GPL-2.0-only
/*
 * idle_bitmap_cursor_test: the file offset is a virtual address cursor, and
 * replies describe memslots, not the address space.
 *
 * Four memslots sit in one 16M host mapping with holes between some of them
 * (host memory that no memslot covers, touched by the host so that it is
 * mapped in the host page tables):
 *
 *	[A 2M][gap 2M][B 2M][C 2M][gap 4M][D 2M][gap 2M]
 *
 * and the guest leaves a known pattern of HOLE, IDLE and ACCESSED pages in
 * them.  With the vCPUs stopped the tests prove:
 *  - one big read() reports exactly that pattern for A-D and nothing for the
 *    gaps, with an ADDR record at the start of A, B and D (C continues B);
 *  - read() in buffers of 16 bytes, 24 bytes or random sizes, and
 *    IDLE_BITMAP_SCAN with 2, 3 or random records per call resumed at
 *    walk_end, give the same pages as the big read;
 *  - pread() and lseek() land where asked (a cursor in a gap reports from the
 *    next memslot on), and pread() leaves the file offset alone;
 *  - two VMs that map the same memory are OR-merged: a page is present if
 *    either VM maps it, accessed if either accessed it;
 *  - a process without a VM (never had one, or destroyed it) reads as empty.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kvm_util.h"
#include "test_util.h"

#include "idle_bitmap_util.h"

#define MB		(1024 * 1024UL)
#define LAYOUT_SIZE	(16 * MB)

static const uint64_t seg_off[] = { 0, 4 * MB, 6 * MB, 12 * MB };

struct layout {
	struct idle_vm *v;
	uint8_t *base;
	uint8_t *fate;		/* per test page: 0 never, 1 written, 2 read again */
	uint8_t *want;		/* per page of the host mapping */
	struct idle_map big;
	uint64_t start, end;
};

static uint8_t *want_page(struct layout *l, struct idle_vm *v, uint64_t page)
{
	return l->want + (idle_page_hva(v, page) - l->base) / IDLE_PAGE_SIZE;
}

static void write_then_read(struct idle_vm *v, const uint8_t *fate)
{
	uint64_t i;
	int fd = idle_open(0, O_RDWR);
	struct idle_recs r = {};

	for (i = 0; i < v->npages; i++)
		v->plan[i] = fate[i] ? IDLE_OP_WRITE : IDLE_OP_NONE;
	idle_vm_step(v);
	/* Clear everything the writes left, and flush. */
	idle_read_range(fd, 0, idle_task_size(), IDLE_MAX_BUF, &r);
	idle_recs_free(&r);
	close(fd);
	for (i = 0; i < v->npages; i++)
		v->plan[i] = fate[i] == 2 ? IDLE_OP_READ : IDLE_OP_NONE;
	idle_vm_step(v);
}

static void layout_setup(struct layout *l)
{
	static const uint8_t state[] = { IBD_HOLE, IBD_IDLE, IBD_ACCESSED };
	uint64_t i;
	int ro, k;

	l->base = mmap(NULL, LAYOUT_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(l->base != MAP_FAILED, "mmap failed");
	TEST_ASSERT(!madvise(l->base, LAYOUT_SIZE, MADV_NOHUGEPAGE) || !thp_configured(),
		    "madvise failed");
	l->start = (uintptr_t)l->base;
	l->end = l->start + LAYOUT_SIZE;

	l->v = idle_vm_create(2);
	for (k = 0; k < ARRAY_SIZE(seg_off); k++)
		idle_vm_add_seg_hva(l->v, l->base + seg_off[k], 2 * MB);

	/* Map the gaps in the host, so only the memslots can keep them out. */
	memset(l->base + 2 * MB, 1, 2 * MB);
	memset(l->base + 8 * MB, 1, 4 * MB);
	memset(l->base + 14 * MB, 1, 2 * MB);

	l->fate = malloc(l->v->npages);
	l->want = malloc(LAYOUT_SIZE / IDLE_PAGE_SIZE);
	TEST_ASSERT(l->fate && l->want, "out of memory");
	memset(l->want, IDLE_MAP_NONE, LAYOUT_SIZE / IDLE_PAGE_SIZE);
	for (i = 0; i < l->v->npages; i++) {
		/* Runs of equal pages and single ones. */
		l->fate[i] = i && random() % 3 ? l->fate[i - 1] : random() % 3;
		*want_page(l, l->v, i) = state[l->fate[i]];
	}
	write_then_read(l->v, l->fate);

	ro = idle_open(0, O_RDONLY);
	idle_map_init(&l->big, l->start, LAYOUT_SIZE / IDLE_PAGE_SIZE);
	idle_map_read(&l->big, ro, IDLE_MAX_BUF);
	TEST_ASSERT(!idle_map_check(&l->big, l->want, IDLE_BITMAP_SIZE_4K, "big read"),
		    "one big read() does not match what the guest did");
	close(ro);
}

static void layout_free(struct layout *l)
{
	idle_vm_free(l->v);
	idle_map_free(&l->big);
	munmap(l->base, LAYOUT_SIZE);
	free(l->fate);
	free(l->want);
}

static bool in_seg(uint64_t addr, uint64_t start)
{
	int k;

	for (k = 0; k < ARRAY_SIZE(seg_off); k++) {
		uint64_t s = start + seg_off[k];

		if (addr >= s && addr < s + 2 * MB)
			return true;
	}
	return false;
}

/* The first memslot address at or above @addr in the layout, or 0. */
static uint64_t next_seg(uint64_t addr, uint64_t start)
{
	int k;

	if (in_seg(addr, start))
		return addr;
	for (k = 0; k < ARRAY_SIZE(seg_off); k++) {
		if (start + seg_off[k] > addr)
			return start + seg_off[k];
	}
	return 0;
}

static void test_reads_and_gaps(void)
{
	static const size_t bufsz[] = { 16, 24, 0 };
	static const size_t vec_len[] = { 2, 3, 0 };
	struct idle_recs r = {};
	struct idle_map m;
	struct layout l;
	bool addr_at[ARRAY_SIZE(seg_off)] = {};
	size_t i;
	int ro, k;

	layout_setup(&l);
	ro = idle_open(0, O_RDONLY);

	/* ADDR records: at A, B and D; nowhere else but (maybe) C. */
	idle_read_range(ro, l.start, l.end, IDLE_MAX_BUF, &r);
	for (i = 0; i < r.n; i++) {
		uint64_t a;

		if (IDLE_BITMAP_TYPE(r.rec[i]) != IDLE_BITMAP_TYPE_ADDR)
			continue;
		a = IDLE_BITMAP_ADDR_PFN(r.rec[i]) * IDLE_PAGE_SIZE;
		if (a < l.start || a >= l.end)
			continue;
		for (k = 0; k < ARRAY_SIZE(seg_off); k++)
			if (a == l.start + seg_off[k])
				addr_at[k] = true;
		TEST_ASSERT(a == l.start + seg_off[0] || a == l.start + seg_off[1] ||
			    a == l.start + seg_off[2] || a == l.start + seg_off[3],
			    "ADDR %#lx is not the start of a memslot", a);
	}
	TEST_ASSERT(addr_at[0] && addr_at[1] && addr_at[3],
		    "no ADDR record at the start of A (%d), B (%d) or D (%d)",
		    addr_at[0], addr_at[1], addr_at[3]);
	idle_recs_free(&r);

	idle_map_init(&m, l.start, LAYOUT_SIZE / IDLE_PAGE_SIZE);
	for (i = 0; i < ARRAY_SIZE(bufsz); i++) {
		idle_map_read(&m, ro, bufsz[i]);
		TEST_ASSERT(!memcmp(m.st, l.big.st, m.npages),
			    "read() in %zu-byte buffers differs from one big read()", bufsz[i]);
	}
	for (i = 0; i < ARRAY_SIZE(vec_len); i++) {
		idle_map_ioctl(&m, ro, 0, vec_len[i]);
		TEST_ASSERT(!memcmp(m.st, l.big.st, m.npages),
			    "IDLE_BITMAP_SCAN with %zu records per call differs from read()",
			    vec_len[i]);
	}
	idle_map_free(&m);
	close(ro);
	layout_free(&l);
}

static void test_lseek_pread(void)
{
	uint64_t buf[64], next;
	struct idle_recs r = {};
	struct idle_map m;
	struct layout l;
	off_t pos;
	ssize_t n;
	int ro, i;

	layout_setup(&l);
	ro = idle_open(0, O_RDONLY);
	idle_map_init(&m, l.start, LAYOUT_SIZE / IDLE_PAGE_SIZE);

	for (i = 0; i < 200; i++) {
		uint64_t x = l.start + random() % (LAYOUT_SIZE / IDLE_PAGE_SIZE) * IDLE_PAGE_SIZE;
		uint64_t want = next_seg(x, l.start);
		uint64_t parked = l.start + random() % 64 * IDLE_PAGE_SIZE;
		uint64_t got;

		TEST_ASSERT(lseek(ro, parked, SEEK_SET) == (off_t)parked, "lseek(SEEK_SET)");
		n = pread(ro, buf, sizeof(buf), x);
		TEST_ASSERT(n >= 0 && n % 8 == 0, "pread(%#lx) returned %zd", x, n);
		TEST_ASSERT(lseek(ro, 0, SEEK_CUR) == (off_t)parked,
			    "pread() moved the file offset");
		if (!want)
			continue;	/* past D: other memslots or nothing */
		TEST_ASSERT(n >= 16, "pread(%#lx) returned %zd", x, n);
		got = IDLE_BITMAP_ADDR_PFN(buf[0]) * IDLE_PAGE_SIZE;
		TEST_ASSERT(IDLE_BITMAP_TYPE(buf[0]) == IDLE_BITMAP_TYPE_ADDR && got == want,
			    "pread(%#lx) starts at %#lx, want %#lx", x, got, want);

		/* What it reports agrees with the big read. */
		idle_check_reply(buf, n / 8, x, ~0ULL, &next);
		idle_map_reset(&m);
		r.n = 0;
		idle_recs_add(&r, buf, n / 8);
		idle_map_add(&m, &r);
		for (next = min(next, l.end); want < next; want += IDLE_PAGE_SIZE) {
			uint64_t p = (want - l.start) / IDLE_PAGE_SIZE;

			TEST_ASSERT(m.st[p] == l.big.st[p], "pread(%#lx): page %#lx differs", x,
				    want);
		}

		/* lseek() and read() land at the same place. */
		TEST_ASSERT(lseek(ro, x, SEEK_SET) == (off_t)x, "lseek(%#lx, SEEK_SET)", x);
		n = read(ro, buf, sizeof(buf));
		TEST_ASSERT(n >= 16 && IDLE_BITMAP_ADDR_PFN(buf[0]) * IDLE_PAGE_SIZE == got,
			    "read() after lseek(%#lx) starts elsewhere than pread()", x);
		pos = lseek(ro, 0, SEEK_CUR);
		TEST_ASSERT(lseek(ro, IDLE_PAGE_SIZE, SEEK_CUR) == pos + (off_t)IDLE_PAGE_SIZE,
			    "lseek(SEEK_CUR, +4K)");
		TEST_ASSERT(lseek(ro, -2 * (off_t)IDLE_PAGE_SIZE, SEEK_CUR) ==
			    pos - (off_t)IDLE_PAGE_SIZE, "lseek(SEEK_CUR, -8K)");
	}

	/* Past every memslot: end of file. */
	TEST_ASSERT(lseek(ro, idle_task_size(), SEEK_SET) == (off_t)idle_task_size(),
		    "lseek(TASK_SIZE)");
	TEST_ASSERT(read(ro, buf, sizeof(buf)) == 0, "read() at TASK_SIZE is not EOF");

	idle_recs_free(&r);
	idle_map_free(&m);
	close(ro);
	layout_free(&l);
}

/*
 * Two VMs map the same 8M of host memory.  Each faults its own random set
 * and, after a clear, reads a random subset of it: the file must report the
 * union.  Once the second VM is gone, only the first VM's state is left.
 */
static void test_two_vms(void)
{
	static const uint8_t state[] = { IBD_HOLE, IBD_IDLE, IBD_ACCESSED };
	uint64_t size = 8 * MB, npages = size / IDLE_PAGE_SIZE, i;
	uint8_t *fate1 = malloc(npages), *fate2 = malloc(npages), *want = malloc(npages);
	struct idle_vm *v1, *v2;
	struct idle_seg *s;
	struct idle_map m;
	uint64_t deadline;
	int ro, rw;

	TEST_ASSERT(fate1 && fate2 && want, "out of memory");
	v1 = idle_vm_create(2);
	v2 = idle_vm_create(1);
	s = idle_vm_add_seg(v1, VM_MEM_SRC_ANONYMOUS, size);
	idle_vm_add_seg_hva(v2, s->hva, size);
	for (i = 0; i < npages; i++) {
		fate1[i] = random() % 3;
		fate2[i] = random() % 3;
		want[i] = state[max(fate1[i], fate2[i])];
	}

	ro = idle_open(0, O_RDONLY);
	rw = idle_open(0, O_RDWR);
	for (i = 0; i < npages; i++) {
		v1->plan[i] = fate1[i] ? IDLE_OP_WRITE : IDLE_OP_NONE;
		v2->plan[i] = fate2[i] ? IDLE_OP_WRITE : IDLE_OP_NONE;
	}
	idle_vm_step(v1);
	idle_vm_step(v2);
	idle_map_init(&m, (uintptr_t)s->hva, npages);
	idle_map_read(&m, rw, 0);
	for (i = 0; i < npages; i++) {
		v1->plan[i] = fate1[i] == 2 ? IDLE_OP_READ : IDLE_OP_NONE;
		v2->plan[i] = fate2[i] == 2 ? IDLE_OP_READ : IDLE_OP_NONE;
	}
	idle_vm_step(v1);
	idle_vm_step(v2);

	idle_map_read(&m, ro, 0);
	TEST_ASSERT(!idle_map_check(&m, want, IDLE_BITMAP_SIZE_4K, "two VMs"),
		    "not the union of both VMs");

	/* Destroy the second VM: what is left is the first VM's view. */
	idle_vm_free(v2);
	for (i = 0; i < npages; i++)
		want[i] = state[fate1[i]];
	deadline = idle_now_ms() + 2000;
	do {
		idle_map_read(&m, ro, 0);
		if (!idle_map_check(&m, want, IDLE_BITMAP_SIZE_4K, "after destroying VM 2"))
			break;
		usleep(100 * 1000);
	} while (idle_now_ms() < deadline);
	TEST_ASSERT(idle_now_ms() < deadline, "VM 2's pages still reported after 2s");

	idle_map_free(&m);
	close(ro);
	close(rw);
	idle_vm_free(v1);
	free(fate1);
	free(fate2);
	free(want);
}

static void assert_empty(pid_t pid, const char *what)
{
	uint64_t buf[16], end = idle_task_size(), walk_end = 0;
	int fd = idle_open(pid, O_RDONLY);
	ssize_t n = read(fd, buf, sizeof(buf));
	long ret;

	TEST_ASSERT(n == 0, "%s: read() returned %zd, want 0", what, n);
	ret = idle_scan(fd, 0, 0, end, buf, ARRAY_SIZE(buf), &walk_end);
	TEST_ASSERT(ret == 0 && walk_end == end,
		    "%s: IDLE_BITMAP_SCAN returned %ld, walk_end %#lx, want 0 and %#lx",
		    what, ret, walk_end, end);
	close(fd);
}

static void test_no_vm(void)
{
	struct idle_vm *v;
	uint64_t deadline;
	int status, fds[2];
	pid_t pid;
	char c;

	assert_empty(0, "this process");

	/* Another process without a VM. */
	TEST_ASSERT(!pipe(fds), "pipe");
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		close(fds[1]);
		_exit(read(fds[0], &c, 1) < 0);
	}
	close(fds[0]);
	assert_empty(pid, "a child without a VM");
	close(fds[1]);
	TEST_ASSERT(waitpid(pid, &status, 0) == pid && !status, "child failed");

	/* A process whose VM is gone. */
	v = idle_vm_create(1);
	idle_vm_add_seg(v, VM_MEM_SRC_ANONYMOUS, 2 * MB);
	idle_plan_set(v, &v->seg[0], IDLE_OP_WRITE);
	idle_vm_step(v);
	idle_vm_free(v);
	deadline = idle_now_ms() + 2000;
	for (;;) {
		uint64_t buf[16];
		int fd = idle_open(0, O_RDONLY);
		ssize_t n = read(fd, buf, sizeof(buf));

		close(fd);
		if (!n)
			break;
		TEST_ASSERT(idle_now_ms() < deadline, "destroyed VM still reported after 2s");
		usleep(100 * 1000);
	}
	assert_empty(0, "after the VM was destroyed");
}

static const struct idle_test tests[] = {
	{ "cursor: small reads, ioctl and gaps", test_reads_and_gaps },
	{ "cursor: lseek and pread", test_lseek_pread },
	{ "two VMs are OR-merged", test_two_vms },
	{ "no VM reads empty", test_no_vm },
};

int main(int argc, char *argv[])
{
	ksft_print_header();
	idle_require_support();
	return idle_run_tests(tests, ARRAY_SIZE(tests));
}
