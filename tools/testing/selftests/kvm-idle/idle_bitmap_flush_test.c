// SPDX-License-Identifier: GPL-2.0-only
/*
 * idle_bitmap_flush_test: the secondary TLBs are flushed once per pass, not
 * once per call.
 *
 * A clearing call leaves the TLB flush pending, and the pass ends, with the
 * flush, at a read() that reaches the end of the address space, an
 * IDLE_BITMAP_SCAN whose walk reaches its end (an empty range being the
 * explicit request), an lseek() that moves the offset, or close().  The
 * flushes are counted with KVM's remote_tlb_flush_requests statistic, read
 * from the VM's binary stats file: every kvm_flush_remote_tlbs() counts
 * there, while remote_tlb_flush counts only those that had to interrupt a
 * running vCPU.  The vCPUs are not running while a pass is counted, so
 * nothing else flushes.
 *
 * The guest has 4 GiB: a 1 GiB test memslot of 4K pages, of which the
 * guest writes one page in 40 (so that every 24 pages take a MIXED record
 * and a pass needs about 11,000 records, more than 20 calls of 4 KiB), and
 * a 3 GiB memslot it never touches.  Each pass is checked against what the
 * guest did, and after each pass that flushed, the guest's next writes must
 * all be seen: the flush at the end of the pass is what makes them visible.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"
#include "test_util.h"

#include "idle_bitmap_util.h"

#define NR_VCPUS	2
#define SEG_SIZE	IDLE_GIGA_SIZE
#define NPAGES		(SEG_SIZE / IDLE_PAGE_SIZE)
#define STRIDE		40
#define BIG_SLOT	(IDLE_SLOT + IDLE_MAX_SEGS)
#define BIG_GPA		(16UL << 30)
#define BIG_SIZE	(3UL << 30)
/* 4 KiB: the buffer of a daemon that reads a large guest in small steps. */
#define SMALL_BUF	4096
#define SMALL_VEC	(SMALL_BUF / 8)
/* A pass over the test memory takes at least this many small calls. */
#define MIN_CALLS	16

struct flush_vm {
	struct idle_vm *v;
	struct idle_seg *s;
	struct idle_map m;
	uint8_t want[NPAGES];
	uint64_t start, end;
	uint64_t buf[SMALL_VEC];
};

static uint64_t flushes(struct flush_vm *f)
{
	return vm_get_stat(f->v->vm, "remote_tlb_flush_requests");
}

/* The guest writes one test page in STRIDE. */
static void flush_vm_create(struct flush_vm *f)
{
	uint64_t i;
	void *big;

	f->v = idle_vm_create(NR_VCPUS);
	f->s = idle_vm_add_seg(f->v, VM_MEM_SRC_ANONYMOUS, SEG_SIZE);
	big = mmap(NULL, BIG_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(big != MAP_FAILED, "mmap(%lu bytes) failed", BIG_SIZE);
	vm_set_user_memory_region(f->v->vm, BIG_SLOT, 0, BIG_GPA, BIG_SIZE, big);

	f->start = (uintptr_t)f->s->hva;
	f->end = f->start + SEG_SIZE;
	idle_map_init(&f->m, f->start, NPAGES);
	memset(f->v->plan, IDLE_OP_NONE, f->v->npages);
	for (i = 0; i < NPAGES; i += STRIDE)
		f->v->plan[f->s->first + i] = IDLE_OP_WRITE;
	idle_vm_step(f->v);
}

static void flush_vm_free(struct flush_vm *f)
{
	idle_map_free(&f->m);
	idle_vm_free(f->v);
}

/* What a pass must report: the written pages in @state, the others HOLE. */
static void expect(struct flush_vm *f, uint8_t state, const char *what)
{
	uint64_t i;

	for (i = 0; i < NPAGES; i++)
		f->want[i] = i % STRIDE ? IBD_HOLE : state;
	TEST_ASSERT(!idle_map_check(&f->m, f->want, IDLE_SIZE_ANY, what),
		    "%s: reported states differ (above)", what);
}

/*
 * read() from @from in 4 KiB buffers until the offset reaches @to or a read
 * returns 0; the replies go to f->m.  Returns the number of read() calls.
 */
static unsigned long read_pass(struct flush_vm *f, int fd, uint64_t from, uint64_t to)
{
	struct idle_recs r = {};
	unsigned long calls = 0;
	uint64_t pos = from, next;
	ssize_t n;

	idle_map_reset(&f->m);
	TEST_ASSERT(lseek(fd, from, SEEK_SET) == (off_t)from, "lseek(%#lx) failed", from);
	while (pos < to) {
		n = read(fd, f->buf, SMALL_BUF);
		calls++;
		TEST_ASSERT(n >= 0 && n % 8 == 0, "read() at %#lx returned %zd", pos, n);
		if (!n)
			break;
		idle_check_reply(f->buf, n / 8, pos, ~0ULL, &next);
		idle_recs_add(&r, f->buf, n / 8);
		pos = lseek(fd, 0, SEEK_CUR);
	}
	idle_map_add(&f->m, &r);
	idle_recs_free(&r);
	return calls;
}

static void expect_flushes(struct flush_vm *f, uint64_t before, uint64_t want,
			   unsigned long calls, const char *what)
{
	uint64_t got = flushes(f) - before;

	ksft_print_msg("%s: %lu calls, %lu TLB flushes\n", what, calls, got);
	TEST_ASSERT(got == want, "%s: %lu TLB flushes in %lu calls, want %lu", what, got,
		    calls, want);
}

static void test_read_pass(void)
{
	struct flush_vm f;
	unsigned long calls;
	uint64_t before;
	int rw, ro;

	flush_vm_create(&f);
	rw = idle_open(0, O_RDWR);
	ro = idle_open(0, O_RDONLY);

	before = flushes(&f);
	calls = read_pass(&f, rw, 0, ~0ULL);
	TEST_ASSERT(calls >= MIN_CALLS, "a pass took only %lu reads", calls);
	expect(&f, IBD_ACCESSED, "clearing read() pass");
	expect_flushes(&f, before, 1, calls, "clearing read() pass over 4 GiB in 4 KiB");

	before = flushes(&f);
	calls = read_pass(&f, rw, 0, ~0ULL);
	expect(&f, IBD_IDLE, "second clearing pass");
	expect_flushes(&f, before, 0, calls, "a pass that clears nothing");

	/* The flush made the guest's next writes visible. */
	idle_vm_step(f.v);
	before = flushes(&f);
	calls = read_pass(&f, ro, 0, ~0ULL);
	expect(&f, IBD_ACCESSED, "peek after the guest wrote again");
	expect_flushes(&f, before, 0, calls, "a peek pass");

	close(ro);
	close(rw);
	flush_vm_free(&f);
}

static void test_ioctl_pass(void)
{
	struct flush_vm f;
	unsigned long calls;
	uint64_t before;
	int rw;

	flush_vm_create(&f);
	rw = idle_open(0, O_RDWR);

	before = flushes(&f);
	calls = idle_map_ioctl(&f.m, rw, IDLE_BITMAP_SCAN_CLEAR, SMALL_VEC);
	TEST_ASSERT(calls >= MIN_CALLS, "a pass took only %lu calls", calls);
	expect(&f, IBD_ACCESSED, "clearing ioctl pass");
	expect_flushes(&f, before, 1, calls, "clearing IDLE_BITMAP_SCAN pass of 512 records");

	idle_vm_step(f.v);
	before = flushes(&f);
	calls = idle_map_ioctl(&f.m, rw, IDLE_BITMAP_SCAN_CLEAR | IDLE_BITMAP_SCAN_NO_FLUSH,
			       SMALL_VEC);
	expect(&f, IBD_ACCESSED, "NO_FLUSH pass");
	expect_flushes(&f, before, 0, calls, "IDLE_BITMAP_SCAN_NO_FLUSH pass");
	calls = idle_map_ioctl(&f.m, rw, 0, SMALL_VEC);
	expect(&f, IBD_IDLE, "peek after the NO_FLUSH pass");
	expect_flushes(&f, before, 0, calls, "peek after a NO_FLUSH pass");

	close(rw);
	flush_vm_free(&f);
}

/* Read the first half of the test memory: a pass that has not ended. */
static void partial_pass(struct flush_vm *f, int rw, uint64_t *before)
{
	unsigned long calls;

	idle_vm_step(f->v);
	*before = flushes(f);
	calls = read_pass(f, rw, f->start, f->start + SEG_SIZE / 2);
	TEST_ASSERT(lseek(rw, 0, SEEK_CUR) < (off_t)f->end,
		    "the partial pass read past the test memory");
	expect_flushes(f, *before, 0, calls, "clearing read() of half the test memory");
}

static void test_end_pass(void)
{
	uint64_t before, walk_end;
	struct flush_vm f;
	int rw;

	flush_vm_create(&f);
	rw = idle_open(0, O_RDWR);

	partial_pass(&f, rw, &before);
	TEST_ASSERT(!idle_scan(rw, 0, f.end, f.end, f.buf, SMALL_VEC, &walk_end) &&
		    walk_end == f.end, "empty IDLE_BITMAP_SCAN failed");
	expect_flushes(&f, before, 1, 1, "then an empty IDLE_BITMAP_SCAN");
	TEST_ASSERT(!idle_scan(rw, 0, f.end, f.end, f.buf, SMALL_VEC, &walk_end),
		    "empty IDLE_BITMAP_SCAN failed");
	expect_flushes(&f, before, 1, 2, "and another");

	partial_pass(&f, rw, &before);
	TEST_ASSERT(lseek(rw, 0, SEEK_CUR) >= 0, "lseek(0, SEEK_CUR) failed");
	expect_flushes(&f, before, 0, 1, "then lseek(fd, 0, SEEK_CUR)");
	TEST_ASSERT(lseek(rw, f.start, SEEK_SET) == (off_t)f.start, "lseek() failed");
	expect_flushes(&f, before, 1, 2, "then lseek() back to the start");

	partial_pass(&f, rw, &before);
	close(rw);
	expect_flushes(&f, before, 1, 1, "then close()");

	flush_vm_free(&f);
}

static const struct idle_test tests[] = {
	{ "read(): one TLB flush per clearing pass", test_read_pass },
	{ "IDLE_BITMAP_SCAN: one TLB flush per clearing pass, none with NO_FLUSH",
	  test_ioctl_pass },
	{ "a pass ends at an empty IDLE_BITMAP_SCAN, a moving lseek() or close()",
	  test_end_pass },
};

int main(void)
{
	idle_require_support();
	return idle_run_tests(tests, ARRAY_SIZE(tests));
}
