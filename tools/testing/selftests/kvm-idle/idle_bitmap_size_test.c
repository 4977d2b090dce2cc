// SPDX-License-Identifier: GPL-2.0-only
/*
 * idle_bitmap_size_test: replies stay within the size bound of the interface.
 *
 * The bound: a stretch of n pages reported in 4K-class records takes at most
 * floor(n / 24) + 1 records, a uniform run of 2M pages takes one record, plus
 * the ADDR records; one memslot scanned by one IDLE_BITMAP_SCAN call needs
 * one ADDR record.
 *
 * A 16M memslot of 4K pages, all faulted in, is scanned (peek, one call) after
 * a clear and a guest pass that reads the pages of a pattern: all pages, none,
 * random (each page with probability 1/2), alternating, runs of 23+1 and
 * 47+1 pages (one short of what a MIXED record or a run record is worth) and
 * runs of random length.  Every reply must be exact and within the bound, and
 * a uniform pattern must be a single run record.
 *
 * A 32M memslot of 2M pages (hugetlb, and THP where the host gives THPs),
 * all faulted in, must come back as ADDR plus one 2M-class record when
 * uniformly idle or accessed, and as ADDR plus at most one record per uniform
 * run of 2M pages for a random pattern: the size of an idle 2M-backed region
 * does not grow with its size.
 *
 * Small buffers make progress: a clearing pass over 16,896 pages of 4K,
 * every other one accessed (the worst case, one MIXED record per 24 pages),
 * read() through a buffer of the minimum size (16 bytes, two records) and
 * through 56 bytes, and IDLE_BITMAP_SCAN with 2 and 7 records per call, takes
 * at most one call per 24 * (records - 1) pages, plus one per 2M boundary
 * (a window never crosses one) and a few more.  Each pass is checked exact.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm_util.h"
#include "test_util.h"

#include "idle_bitmap_util.h"

enum pattern { ALL, NONE, RANDOM, ALTERNATING, RUNS_24, RUNS_48, RANDOM_RUNS, NR_PATTERNS };

static const char * const pattern_name[] = {
	"all", "none", "random", "alternating", "23+1", "47+1", "random runs",
};

static bool accessed(enum pattern p, uint64_t i, bool prev)
{
	switch (p) {
	case ALL:
		return true;
	case NONE:
		return false;
	case RANDOM:
		return random() % 2;
	case ALTERNATING:
		return i % 2;
	case RUNS_24:
		return i % 24 != 23;
	case RUNS_48:
		return i % 48 != 47;
	default:
		return random() % 8 ? prev : !prev;
	}
}

/*
 * Scan the segment in one call (peek), check it against @want and return
 * the records, less the single ADDR record.
 */
static long scan_seg(struct idle_seg *s, const uint8_t *want, int size_class,
		     uint64_t **recs, const char *what)
{
	uint64_t start = (uintptr_t)s->hva, end = start + s->size, walk_end, next;
	uint64_t *vec = malloc(IDLE_MAX_BUF);
	struct idle_recs r = {};
	struct idle_map m;
	long ret, i;
	int fd = idle_open(0, O_RDONLY);

	TEST_ASSERT(vec, "out of memory");
	ret = idle_scan(fd, 0, start, end, vec, IDLE_MAX_VEC, &walk_end);
	TEST_ASSERT(ret > 0 && walk_end == end,
		    "%s: one call did not cover the memslot: %ld records, walk_end %#lx",
		    what, ret, walk_end);
	idle_check_reply(vec, ret, start, end, &next);
	for (i = 1; i < ret; i++)
		TEST_ASSERT(IDLE_BITMAP_TYPE(vec[i]) != IDLE_BITMAP_TYPE_ADDR,
			    "%s: record %ld is an ADDR record inside one memslot", what, i);

	idle_map_init(&m, start, s->size / IDLE_PAGE_SIZE);
	idle_recs_add(&r, vec, ret);
	idle_map_add(&m, &r);
	TEST_ASSERT(!idle_map_check(&m, want, size_class, what), "%s: wrong state", what);
	idle_map_free(&m);
	idle_recs_free(&r);
	close(fd);
	*recs = vec;
	return ret - 1;
}

static void clear_seg(struct idle_seg *s)
{
	struct idle_recs r = {};
	int fd = idle_open(0, O_RDWR);

	idle_ioctl_range(fd, IDLE_BITMAP_SCAN_CLEAR, (uintptr_t)s->hva,
			 (uintptr_t)s->hva + s->size, IDLE_MAX_VEC, &r);
	idle_recs_free(&r);
	close(fd);
}

static void test_4k_patterns(void)
{
	uint64_t npages = (16 << 20) / IDLE_PAGE_SIZE, i, *recs;
	uint8_t *want = malloc(npages);
	struct idle_seg *s;
	struct idle_vm *v;
	enum pattern p;
	long n, bound;

	TEST_ASSERT(want, "out of memory");
	v = idle_vm_create(2);
	s = idle_vm_add_seg(v, VM_MEM_SRC_ANONYMOUS, npages * IDLE_PAGE_SIZE);
	idle_plan_set(v, s, IDLE_OP_WRITE);
	idle_vm_step(v);

	bound = npages / IDLE_BITMAP_MIXED_PAGES + 1;
	for (p = 0; p < NR_PATTERNS; p++) {
		bool prev = false;

		for (i = 0; i < npages; i++) {
			prev = accessed(p, i, prev);
			v->plan[s->first + i] = prev ? IDLE_OP_READ : IDLE_OP_NONE;
			want[i] = prev ? IBD_ACCESSED : IBD_IDLE;
		}
		clear_seg(s);
		idle_vm_step(v);
		n = scan_seg(s, want, IDLE_BITMAP_SIZE_4K, &recs, pattern_name[p]);
		ksft_print_msg("%-12s %lu pages: %ld records (bound %ld)\n", pattern_name[p],
			       npages, n, bound);
		TEST_ASSERT(n <= bound, "%s: %ld records for %lu 4K pages, bound %ld",
			    pattern_name[p], n, npages, bound);
		if (p == ALL || p == NONE)
			TEST_ASSERT(n == 1, "%s: uniform pages in %ld records, not one run",
				    pattern_name[p], n);
		free(recs);
	}
	idle_vm_free(v);
	free(want);
}

#define SMALL_PAGES	16896

static void test_small_buffers(void)
{
	static const size_t nrecs[] = { 2, 7 };
	uint8_t *want = malloc(SMALL_PAGES);
	unsigned long calls, bound;
	struct idle_seg *s;
	struct idle_vm *v;
	struct idle_map m;
	uint64_t i;
	size_t k;
	int rw, use_read;

	TEST_ASSERT(want, "out of memory");
	v = idle_vm_create(2);
	s = idle_vm_add_seg(v, VM_MEM_SRC_ANONYMOUS, SMALL_PAGES * IDLE_PAGE_SIZE);
	idle_plan_set(v, s, IDLE_OP_WRITE);
	idle_vm_step(v);
	clear_seg(s);
	for (i = 0; i < SMALL_PAGES; i++) {
		v->plan[s->first + i] = i & 1 ? IDLE_OP_READ : IDLE_OP_NONE;
		want[i] = i & 1 ? IBD_ACCESSED : IBD_IDLE;
	}
	rw = idle_open(0, O_RDWR);
	idle_map_init(&m, (uintptr_t)s->hva, SMALL_PAGES);
	for (k = 0; k < ARRAY_SIZE(nrecs); k++) {
		for (use_read = 1; use_read >= 0; use_read--) {
			idle_vm_step(v);
			calls = use_read ? idle_map_read(&m, rw, nrecs[k] * 8) :
				idle_map_ioctl(&m, rw, IDLE_BITMAP_SCAN_CLEAR, nrecs[k]);
			bound = SMALL_PAGES / (IDLE_BITMAP_MIXED_PAGES * (nrecs[k] - 1)) +
				SMALL_PAGES / IDLE_PAGES_PER_HUGE + 4;
			ksft_print_msg("%s, %zu records per call: %lu calls for %u pages%s%lu)\n",
				       use_read ? "read()" : "IDLE_BITMAP_SCAN", nrecs[k], calls,
				       SMALL_PAGES, " (bound ", bound);
			TEST_ASSERT(!idle_map_check(&m, want, IDLE_BITMAP_SIZE_4K, "small buffers"),
				    "a pass with %zu records per call is wrong", nrecs[k]);
			TEST_ASSERT(calls <= bound,
				    "%s with %zu records per call: %lu calls for %u pages, want at most %lu",
				    use_read ? "read()" : "IDLE_BITMAP_SCAN", nrecs[k], calls,
				    SMALL_PAGES, bound);
		}
	}
	idle_map_free(&m);
	close(rw);
	idle_vm_free(v);
	free(want);
}

static void test_2m(enum vm_mem_backing_src_type src)
{
	uint64_t size = 32 << 20, npages = size / IDLE_PAGE_SIZE, nhuge = size / IDLE_HUGE_SIZE;
	uint8_t *want = malloc(npages);
	uint64_t u, runs, *recs;
	struct idle_seg *s;
	struct idle_vm *v;
	long n;

	TEST_ASSERT(want, "out of memory");
	v = idle_vm_create(2);
	s = idle_vm_add_seg(v, src, size);
	idle_plan_set(v, s, IDLE_OP_WRITE);
	idle_vm_step(v);
	if (src == VM_MEM_SRC_ANONYMOUS_THP && idle_thp_bytes(s->hva) < size)
		idle_skip("only %lu of %lu KiB got THPs", idle_thp_bytes(s->hva) >> 10, size >> 10);

	/* Uniformly idle, then uniformly accessed: one 2M-class run. */
	clear_seg(s);
	memset(want, IBD_IDLE, npages);
	n = scan_seg(s, want, IDLE_BITMAP_SIZE_2M, &recs, "2M idle");
	TEST_ASSERT(n == 1 && IDLE_BITMAP_RUN_COUNT(recs[1]) == nhuge,
		    "an idle 2M region in %ld records, not one run of %lu", n, nhuge);
	free(recs);

	memset(v->plan, IDLE_OP_NONE, v->npages);
	for (u = 0; u < nhuge; u++)
		v->plan[s->first + u * IDLE_PAGES_PER_HUGE + random() % IDLE_PAGES_PER_HUGE] =
			IDLE_OP_READ;
	idle_vm_step(v);
	memset(want, IBD_ACCESSED, npages);
	n = scan_seg(s, want, IDLE_BITMAP_SIZE_2M, &recs, "2M accessed");
	TEST_ASSERT(n == 1, "an accessed 2M region in %ld records, not one run", n);
	free(recs);

	/* Random: at most one record per uniform run. */
	clear_seg(s);
	memset(v->plan, IDLE_OP_NONE, v->npages);
	for (u = 0, runs = 0; u < nhuge; u++) {
		bool acc = random() % 2;

		if (acc)
			v->plan[s->first + u * IDLE_PAGES_PER_HUGE] = IDLE_OP_READ;
		memset(want + u * IDLE_PAGES_PER_HUGE, acc ? IBD_ACCESSED : IBD_IDLE,
		       IDLE_PAGES_PER_HUGE);
		runs += !u || want[u * IDLE_PAGES_PER_HUGE] != want[(u - 1) * IDLE_PAGES_PER_HUGE];
	}
	idle_vm_step(v);
	n = scan_seg(s, want, IDLE_BITMAP_SIZE_2M, &recs, "2M random");
	ksft_print_msg("2M random: %lu runs in %ld records\n", runs, n);
	TEST_ASSERT(n <= runs, "%lu uniform runs of 2M pages in %ld records", runs, n);
	free(recs);

	idle_vm_free(v);
	free(want);
}

static void test_hugetlb(void)
{
	if (!idle_hugetlb_reserve(16))
		idle_skip("cannot reserve 16 2M hugetlb pages");
	test_2m(VM_MEM_SRC_ANONYMOUS_HUGETLB_2MB);
}

static void test_thp(void)
{
	if (!idle_thp_enable())
		idle_skip("transparent hugepages not available");
	test_2m(VM_MEM_SRC_ANONYMOUS_THP);
}

static const struct idle_test tests[] = {
	{ "size: 4K patterns", test_4k_patterns },
	{ "size: hugetlb 2M", test_hugetlb },
	{ "size: THP 2M", test_thp },
	{ "size: small buffers make progress", test_small_buffers },
};

int main(int argc, char *argv[])
{
	ksft_print_header();
	idle_require_support();
	return idle_run_tests(tests, ARRAY_SIZE(tests));
}
