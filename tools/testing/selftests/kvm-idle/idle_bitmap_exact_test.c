// SPDX-License-Identifier: GPL-2.0-only
/*
 * idle_bitmap_exact_test: /proc/PID/idle_bitmap reports exactly what the
 * guest did.
 *
 * A VM with three vCPUs gets one test memslot.  The guest writes a random set
 * F of its pages, then the host reads the file opened O_RDWR, which reports F
 * as ACCESSED, clears the Accessed state and flushes the TLBs.  The guest then
 * reads a random subset A of F.  With every vCPU stopped, the next pass must
 * report each page of A as ACCESSED, each other page of F as IDLE, and each
 * page outside F as HOLE (never mapped).  This is done with 4K pages
 * (anonymous memory with MADV_NOHUGEPAGE), THP and hugetlb 2M pages; with 2M
 * backing, F and A are sets of 2M pages, and their pages must come in 2M-class
 * records.  Those scans use buffers that hold the whole memslot: a huge page
 * cut in two by the end of a reply is reported as 4K pages, and not cleared.
 * With 4K pages, buffers of random sizes are used.
 *
 * A guest backed by a 1G hugetlb page (the test kernel reserves them at
 * boot) is reported as one 1G page, and cleared, by every pass, whatever the
 * buffer: 4K, 64K and 1M, with read() and with IDLE_BITMAP_SCAN.
 *
 * Peek against clear: a read() of an O_RDONLY fd and a IDLE_BITMAP_SCAN
 * without flags agree and change nothing; a clearing IDLE_BITMAP_SCAN, a
 * clearing read() and a clearing scan with IDLE_BITMAP_SCAN_NO_FLUSH each
 * report the same state as the peek, and leave every page of F IDLE.
 *
 * What this relies on: that nothing else clears Accessed state while the test
 * runs (no memory pressure, so no reclaim or MGLRU aging of this memory, and
 * no other scanner), and the flush after a clearing read, which the interface
 * promises.  It does not rely on how KVM tracks Accessed state (hardware A/D
 * bits or access tracking, TDP or shadow MMU), so it holds with npt/ept on and
 * off.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm_util.h"
#include "test_util.h"

#include "idle_bitmap_util.h"

#define NR_VCPUS	3

enum fate {
	NEVER,		/* never touched: HOLE */
	WRITTEN,	/* written before the clear: IDLE */
	READ_AGAIN,	/* written, and read after the clear: ACCESSED */
};

static void plan_touch(struct idle_vm *v, const struct idle_seg *s, const uint8_t *fate,
		       uint64_t per_unit, enum fate which, bool all_pages, enum idle_op op)
{
	uint64_t u, p, nunits = s->size / IDLE_PAGE_SIZE / per_unit;

	memset(v->plan, IDLE_OP_NONE, v->npages);
	for (u = 0; u < nunits; u++) {
		if (fate[u] < which)
			continue;
		if (all_pages) {
			for (p = 0; p < per_unit; p++)
				v->plan[s->first + u * per_unit + p] = op;
		} else {
			v->plan[s->first + u * per_unit + random() % per_unit] = op;
		}
	}
}

/* What a pass must report: @fate, or every page of F as @f_state. */
static void expect(uint8_t *want, const uint8_t *fate, uint64_t nunits, uint64_t per_unit,
		   int f_state)
{
	static const uint8_t state[] = { IBD_HOLE, IBD_IDLE, IBD_ACCESSED };
	uint64_t u;

	for (u = 0; u < nunits; u++) {
		uint8_t st = fate[u] == NEVER ? IBD_HOLE : f_state < 0 ? state[fate[u]] : f_state;

		memset(want + u * per_unit, st, per_unit);
	}
}

static void check_same(const struct idle_map *a, const struct idle_map *b, const char *what)
{
	TEST_ASSERT(!memcmp(a->st, b->st, a->npages), "%s: not the state the peek saw", what);
}

static void test_exact(enum vm_mem_backing_src_type src, uint64_t size, uint64_t unit)
{
	uint64_t npages = size / IDLE_PAGE_SIZE, per_unit = unit / IDLE_PAGE_SIZE;
	uint64_t nunits = npages / per_unit, nr_f = 0, u;
	bool huge = unit != IDLE_PAGE_SIZE;
	int size_class = huge ? IDLE_BITMAP_SIZE_2M : IDLE_BITMAP_SIZE_4K;
	size_t bufsz = huge ? IDLE_MAX_BUF : 0, vec_len = huge ? IDLE_MAX_VEC : 0;
	uint8_t *fate = calloc(nunits, 1), *want = malloc(npages);
	struct idle_map peek, m;
	struct idle_seg *s;
	struct idle_vm *v;
	int ro, rw;

	TEST_ASSERT(fate && want, "out of memory");
	for (u = 0; u < nunits; u++) {
		fate[u] = random() % 4 ? 1 + random() % 2 : NEVER;
		nr_f += fate[u] != NEVER;
	}

	v = idle_vm_create(NR_VCPUS);
	s = idle_vm_add_seg(v, src, size);
	ro = idle_open(0, O_RDONLY);
	rw = idle_open(0, O_RDWR);
	idle_map_init(&peek, (uintptr_t)s->hva, npages);
	idle_map_init(&m, (uintptr_t)s->hva, npages);

	/*
	 * Fault in F.  With 2M units, write every 4K page, so that no THP is
	 * mostly zero pages (which the THP shrinker may split).
	 */
	plan_touch(v, s, fate, per_unit, WRITTEN, true, IDLE_OP_WRITE);
	idle_vm_step(v);
	if (src == VM_MEM_SRC_ANONYMOUS_THP && idle_thp_bytes(s->hva) < nr_f * unit)
		idle_skip("only %lu of %lu KiB got THPs", idle_thp_bytes(s->hva) >> 10,
			  nr_f * unit >> 10);

	/* The clearing read reports what the writes did, and flushes. */
	expect(want, fate, nunits, per_unit, IBD_ACCESSED);
	idle_map_read(&m, rw, bufsz);
	TEST_ASSERT(!idle_map_check(&m, want, size_class, "clearing read after writes"),
		    "F not reported ACCESSED");
	expect(want, fate, nunits, per_unit, IBD_IDLE);
	idle_map_read(&m, ro, bufsz);
	TEST_ASSERT(!idle_map_check(&m, want, size_class, "peek after clearing read"),
		    "F not reported IDLE");

	/* Read one page of each unit of A. */
	plan_touch(v, s, fate, per_unit, READ_AGAIN, false, IDLE_OP_READ);
	idle_vm_step(v);

	expect(want, fate, nunits, per_unit, -1);
	idle_map_read(&peek, ro, bufsz);
	TEST_ASSERT(!idle_map_check(&peek, want, size_class, "peek with read()"),
		    "not the set the guest read");

	/* A second peek, by ioctl, sees the same. */
	idle_map_ioctl(&m, ro, 0, vec_len);
	check_same(&m, &peek, "second peek with IDLE_BITMAP_SCAN");

	/* Clearing scans report the same state, then leave F idle. */
	expect(want, fate, nunits, per_unit, IBD_IDLE);
	idle_map_ioctl(&m, rw, IDLE_BITMAP_SCAN_CLEAR, vec_len);
	check_same(&m, &peek, "IDLE_BITMAP_SCAN_CLEAR");
	idle_map_read(&m, ro, bufsz);
	TEST_ASSERT(!idle_map_check(&m, want, size_class, "peek after IDLE_BITMAP_SCAN_CLEAR"),
		    "IDLE_BITMAP_SCAN_CLEAR did not clear");

	idle_vm_step(v);
	idle_map_read(&m, rw, bufsz);
	check_same(&m, &peek, "clearing read()");
	idle_map_ioctl(&m, ro, 0, vec_len);
	TEST_ASSERT(!idle_map_check(&m, want, size_class, "peek after clearing read()"),
		    "a clearing read() did not clear");

	/*
	 * Without the flush the next guest access may go unseen, but the scan
	 * itself must still report and clear.
	 */
	idle_vm_step(v);
	idle_map_ioctl(&m, rw, IDLE_BITMAP_SCAN_CLEAR | IDLE_BITMAP_SCAN_NO_FLUSH,
		       vec_len);
	check_same(&m, &peek, "IDLE_BITMAP_SCAN_CLEAR | IDLE_BITMAP_SCAN_NO_FLUSH");
	idle_map_read(&m, ro, bufsz);
	TEST_ASSERT(!idle_map_check(&m, want, size_class, "peek after a NO_FLUSH clear"),
		    "IDLE_BITMAP_SCAN_NO_FLUSH did not clear");

	idle_map_free(&peek);
	idle_map_free(&m);
	close(ro);
	close(rw);
	idle_vm_free(v);
	free(fate);
	free(want);
}

static void test_anon_4k(void)
{
	test_exact(VM_MEM_SRC_ANONYMOUS, 32 << 20, IDLE_PAGE_SIZE);
}

static void test_thp_2m(void)
{
	if (!idle_thp_enable())
		idle_skip("transparent hugepages not available");
	test_exact(VM_MEM_SRC_ANONYMOUS_THP, 64 << 20, IDLE_HUGE_SIZE);
}

static void test_hugetlb_2m(void)
{
	if (!idle_hugetlb_reserve(32))
		idle_skip("cannot reserve 32 2M hugetlb pages");
	test_exact(VM_MEM_SRC_ANONYMOUS_HUGETLB_2MB, 64 << 20, IDLE_HUGE_SIZE);
}

/*
 * A guest backed by a 1G hugetlb page, which KVM maps with one 1G mapping:
 * every pass, with any buffer that holds two records, reports it as one
 * 1G record and clears it.
 */
static void test_hugetlb_1g(void)
{
	static const size_t bufs[] = { 4096, 64 << 10, 1 << 20 };
	uint64_t npages = IDLE_PAGES_PER_GIGA, b, k;
	uint8_t *want = malloc(npages);
	struct idle_map m;
	struct idle_seg *s;
	struct idle_vm *v;
	int ro, rw;

	if (idle_hugetlb_1g_free() < 1)
		idle_skip("no free 1G hugetlb page (boot with hugepagesz=1G hugepages=N)");
	TEST_ASSERT(want, "out of memory");
	v = idle_vm_create(NR_VCPUS);
	s = idle_vm_add_seg(v, VM_MEM_SRC_ANONYMOUS_HUGETLB_1GB, IDLE_GIGA_SIZE);
	ro = idle_open(0, O_RDONLY);
	rw = idle_open(0, O_RDWR);
	idle_map_init(&m, (uintptr_t)s->hva, npages);

	memset(v->plan, IDLE_OP_NONE, v->npages);
	v->plan[s->first] = IDLE_OP_WRITE;
	v->plan[s->first + random() % npages] = IDLE_OP_WRITE;
	idle_vm_step(v);
	ksft_print_msg("KVM maps %lu page(s) 1G\n", vm_get_stat(v->vm, "pages_1g"));
	TEST_ASSERT(vm_get_stat(v->vm, "pages_1g") >= 1, "KVM maps no page 1G");

	for (b = 0; b < ARRAY_SIZE(bufs); b++) {
		for (k = 0; k < 2; k++) {
			const char *how = k ? "IDLE_BITMAP_SCAN_CLEAR" : "clearing read()";
			char what[128];

			/* The clearing pass reports the writes, as one 1G page. */
			snprintf(what, sizeof(what), "%s, %zu-byte buffer", how, bufs[b]);
			memset(want, IBD_ACCESSED, npages);
			if (k)
				idle_map_ioctl(&m, rw, IDLE_BITMAP_SCAN_CLEAR, bufs[b] / 8);
			else
				idle_map_read(&m, rw, bufs[b]);
			TEST_ASSERT(!idle_map_check(&m, want, IDLE_BITMAP_SIZE_1G, what),
				    "%s: not one ACCESSED 1G page", what);

			/* ... and cleared it. */
			snprintf(what, sizeof(what), "peek after a %s with a %zu-byte buffer",
				 how, bufs[b]);
			memset(want, IBD_IDLE, npages);
			idle_map_read(&m, ro, IDLE_MAX_BUF);
			TEST_ASSERT(!idle_map_check(&m, want, IDLE_BITMAP_SIZE_1G, what),
				    "%s: the 1G page was not cleared", what);

			/* One read anywhere makes all of it ACCESSED again. */
			memset(v->plan, IDLE_OP_NONE, v->npages);
			v->plan[s->first + random() % npages] = IDLE_OP_READ;
			idle_vm_step(v);
			memset(want, IBD_ACCESSED, npages);
			idle_map_ioctl(&m, ro, 0, IDLE_MAX_VEC);
			TEST_ASSERT(!idle_map_check(&m, want, IDLE_BITMAP_SIZE_1G,
						    "peek after a read"),
				    "a read of the 1G page was not seen");
		}
	}

	idle_map_free(&m);
	close(ro);
	close(rw);
	idle_vm_free(v);
	free(want);
}

static const struct idle_test tests[] = {
	{ "exact: anonymous 4K", test_anon_4k },
	{ "exact: THP 2M", test_thp_2m },
	{ "exact: hugetlb 2M", test_hugetlb_2m },
	{ "exact: hugetlb 1G, buffers of 4K, 64K and 1M", test_hugetlb_1g },
};

int main(int argc, char *argv[])
{
	ksft_print_header();
	idle_require_support();
	return idle_run_tests(tests, ARRAY_SIZE(tests));
}
