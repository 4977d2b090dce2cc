// SPDX-License-Identifier: GPL-2.0-only
/*
 * idle_bitmap_guarantee_test: what a tiering daemon relies on.
 *
 * No false idle: when a clearing call returns, whatever it returns, every
 * page whose Accessed state it cleared was reported to the caller as
 * ACCESSED.  A reply that cannot be written (a read-only or unmapped
 * buffer, or one whose tail is) must fail with EFAULT, or end short, before
 * it clears anything it could not report: a following peek still shows every
 * page the guest wrote, and not reported, as ACCESSED.
 *
 * Size classes: a huge mapping is reported with a 2M record wherever the
 * reply starts, also when the reply starts off a 2M boundary and the pages
 * before the huge mapping have the same state.  The test reads a THP-backed
 * memslot from 0, 4K, 1M and 2M - 4K past its start, with read() and with
 * IDLE_BITMAP_SCAN, with every page accessed and with huge pages that
 * alternate between idle and accessed, and compares each reply with the
 * reply from the start of the slot, whose count of 2M pages must equal
 * KVM's own (the pages_2m statistic).
 *
 * Mappings that change between sizing and clearing: a window is sized for
 * its records before it is walked, and the vector's tail is faulted in for
 * writing in between.  With that tail registered with userfaultfd, the test
 * holds the call at exactly that point and changes the mappings: it splits
 * the THP that a window was widened for into 4K mappings of alternating
 * state, or creates a memslot with accessed pages inside a window sized
 * without it.  The records no longer fit; whatever the call cleared must
 * still have been reported ACCESSED (or be ACCESSED in a peek after it).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/userfaultfd.h>

#include "kvm_util.h"
#include "test_util.h"

#include "idle_bitmap_util.h"

#define NR_VCPUS	2
/* Enough pages that a reply of MIXED records needs more than one 4K page. */
#define EFAULT_SEG_SIZE	(64UL << 20)
#define THP_SEG_SIZE	(16UL << 20)

/* A VM whose guest wrote a random half of the pages of one 4K segment. */
static struct idle_vm *vm_half_written(struct idle_seg **sp, uint8_t **written)
{
	struct idle_vm *v = idle_vm_create(NR_VCPUS);
	struct idle_seg *s = idle_vm_add_seg(v, VM_MEM_SRC_ANONYMOUS, EFAULT_SEG_SIZE);
	uint64_t npages = s->size / IDLE_PAGE_SIZE, p;
	uint8_t *w = calloc(npages, 1);

	TEST_ASSERT(w, "out of memory");
	memset(v->plan, IDLE_OP_NONE, v->npages);
	for (p = 0; p < npages; p++) {
		w[p] = random() & 1;
		if (w[p])
			v->plan[s->first + p] = IDLE_OP_WRITE;
	}
	idle_vm_step(v);
	*sp = s;
	*written = w;
	return v;
}

/*
 * Every written page was reported ACCESSED by @reply (NULL: nothing was
 * reported) or is still ACCESSED in a peek now.  Returns the violations.
 */
static size_t check_no_false_idle(uint64_t start, uint64_t npages, const uint8_t *written,
				  const struct idle_map *reply, const char *what)
{
	uint64_t p, reported = 0, kept = 0;
	struct idle_map peek;
	size_t bad = 0;
	int ro = idle_open(0, O_RDONLY);

	idle_map_init(&peek, start, npages);
	idle_map_ioctl(&peek, ro, 0, IDLE_MAX_VEC);
	for (p = 0; p < npages; p++) {
		uint8_t r = reply ? reply->st[p] : IDLE_MAP_NONE;
		bool in_reply = r != IDLE_MAP_NONE && IDLE_MAP_STATE(r) == IBD_ACCESSED;
		bool in_peek = IDLE_MAP_STATE(peek.st[p]) == IBD_ACCESSED;

		if (!written[p])
			continue;
		reported += in_reply;
		kept += in_peek;
		if (in_reply || in_peek)
			continue;
		if (bad++ < 4)
			ksft_print_msg("%s: page %lu was written, is %s now and was %s\n",
				       what, p, IDLE_MAP_STATE(peek.st[p]) == IBD_IDLE ?
				       "IDLE" : "not ACCESSED",
				       r == IDLE_MAP_NONE ? "not reported" :
				       "not reported ACCESSED");
	}
	ksft_print_msg("%s: written pages reported ACCESSED %lu, still ACCESSED %lu, lost %zu\n",
		       what, reported, kept, bad);
	idle_map_free(&peek);
	close(ro);
	return bad;
}

/*
 * A clearing call into @buf of @len bytes, of which the first @good bytes
 * are writable: EFAULT, or a reply that fits in the good part; either way no
 * written page loses its Accessed state unreported.
 */
static void efault_case(bool use_read, uint64_t *buf, size_t len, size_t good,
			const char *what)
{
	struct idle_recs recs = {};
	struct idle_map reply;
	struct idle_seg *s;
	struct idle_vm *v;
	uint8_t *written;
	uint64_t start, walk_end = 0;
	long ret;
	int rw, err;

	v = vm_half_written(&s, &written);
	start = (uintptr_t)s->hva;
	rw = idle_open(0, O_RDWR);
	if (use_read) {
		TEST_ASSERT(lseek(rw, start, SEEK_SET) == (off_t)start, "lseek");
		ret = read(rw, buf, len);
		ret = ret > 0 ? ret / 8 : ret;
	} else {
		ret = idle_scan(rw, IDLE_BITMAP_SCAN_CLEAR, start, start + s->size, buf,
				len / 8, &walk_end);
	}
	err = errno;
	ksft_print_msg("%s: returned %ld%s%s\n", what, ret, ret < 0 ? ", errno " : "",
		       ret < 0 ? strerror(err) : "");
	idle_map_init(&reply, start, s->size / IDLE_PAGE_SIZE);
	if (ret < 0) {
		TEST_ASSERT(err == EFAULT, "%s: errno %d (%s), want EFAULT", what, err,
			    strerror(err));
	} else {
		TEST_ASSERT(ret > 0 && (size_t)ret * 8 <= good,
			    "%s: %ld records, but only %zu bytes of the buffer are writable",
			    what, ret, good);
		idle_recs_add(&recs, buf, ret);
		idle_map_add(&reply, &recs);
		idle_recs_free(&recs);
	}
	TEST_ASSERT(!check_no_false_idle((uintptr_t)s->hva, s->size / IDLE_PAGE_SIZE, written,
					 ret < 0 ? NULL : &reply, what),
		    "%s: written pages were cleared without being reported ACCESSED", what);
	idle_map_free(&reply);
	close(rw);
	free(written);
	idle_vm_free(v);
}

/* @npages of buffer, the last @bad of them read-only (or unmapped). */
static uint64_t *map_buffer(size_t npages, size_t bad, bool unmap)
{
	uint8_t *p = mmap(NULL, npages * IDLE_PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap buffer");
	if (!bad)
		return (uint64_t *)p;
	p += (npages - bad) * IDLE_PAGE_SIZE;
	if (unmap)
		TEST_ASSERT(!munmap(p, bad * IDLE_PAGE_SIZE), "munmap tail");
	else
		TEST_ASSERT(!mprotect(p, bad * IDLE_PAGE_SIZE, PROT_READ), "mprotect tail");
	return (uint64_t *)(p - (npages - bad) * IDLE_PAGE_SIZE);
}

static void unmap_buffer(uint64_t *buf, size_t npages, size_t bad, bool unmapped)
{
	munmap(buf, (npages - (unmapped ? bad : 0)) * IDLE_PAGE_SIZE);
}

static void test_efault_readonly(void)
{
	uint64_t *buf = map_buffer(16, 16, false);

	efault_case(false, buf, 16 * IDLE_PAGE_SIZE, 0, "IDLE_BITMAP_SCAN, read-only vector");
	efault_case(true, buf, 16 * IDLE_PAGE_SIZE, 0, "read(), read-only buffer");
	unmap_buffer(buf, 16, 16, false);
}

static void test_efault_tail(void)
{
	static const struct {
		bool unmap, use_read;
		const char *what;
	} c[] = {
		{ false, false, "IDLE_BITMAP_SCAN, read-only tail page" },
		{ false, true, "read(), read-only tail page" },
		{ true, false, "IDLE_BITMAP_SCAN, unmapped tail page" },
		{ true, true, "read(), unmapped tail page" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		uint64_t *buf = map_buffer(2, 1, c[i].unmap);

		efault_case(c[i].use_read, buf, 2 * IDLE_PAGE_SIZE, IDLE_PAGE_SIZE, c[i].what);
		unmap_buffer(buf, 2, 1, c[i].unmap);
	}
}

/* Read [from, seg end) into @m with read() or a peeking IDLE_BITMAP_SCAN. */
static void peek_from(struct idle_map *m, const struct idle_seg *s, uint64_t off, bool use_read,
		      int ro, size_t bufsz)
{
	idle_map_free(m);
	idle_map_init(m, (uintptr_t)s->hva + off, (s->size - off) / IDLE_PAGE_SIZE);
	if (use_read)
		idle_map_read(m, ro, bufsz);
	else
		idle_map_ioctl(m, ro, 0, bufsz / 8);
}

static size_t count_size(const struct idle_map *m, int size_class)
{
	size_t i, n = 0;

	for (i = 0; i < m->npages; i++)
		n += m->st[i] != IDLE_MAP_NONE && IDLE_MAP_SIZE(m->st[i]) == size_class;
	return n;
}

/*
 * @m starts at page @first of the slot: the pages of the huge page that it
 * starts in come as 4K pages, the later ones as 2M pages.
 */
static size_t check_sizes(const struct idle_map *m, uint64_t first, const char *what)
{
	uint64_t boundary = align_up(first, IDLE_PAGES_PER_HUGE), i;
	size_t bad = 0;

	for (i = 0; i < m->npages; i++) {
		int want = first + i < boundary ? IDLE_BITMAP_SIZE_4K : IDLE_BITMAP_SIZE_2M;
		uint8_t got = m->st[i];

		if (got != IDLE_MAP_NONE && IDLE_MAP_SIZE(got) == want)
			continue;
		if (bad++ < 8)
			ksft_print_msg("%s: page %lu of the slot in a %s record, want %s\n", what,
				       first + i, IDLE_MAP_SIZE(got) ? "2M" : "4K",
				       want ? "2M" : "4K");
	}
	return bad;
}

static void check_offsets(struct idle_vm *v, const struct idle_seg *s, int ro, const char *pattern)
{
	static const uint64_t offs[] = { 0, IDLE_PAGE_SIZE, IDLE_HUGE_SIZE / 2,
					 IDLE_HUGE_SIZE - IDLE_PAGE_SIZE };
	/* Room for every record: huge pages come whole (see the documentation). */
	static const size_t bufs[] = { IDLE_MAX_BUF, IDLE_PAGE_SIZE };
	uint64_t npages = s->size / IDLE_PAGE_SIZE, huge, stat;
	struct idle_map ref = {}, m = {};
	size_t o, b, i, k, bad = 0;
	uint8_t *want;
	char what[160];

	/* The reference: the whole slot, from its 2M-aligned start. */
	peek_from(&ref, s, 0, false, ro, IDLE_MAX_BUF);
	huge = count_size(&ref, IDLE_BITMAP_SIZE_2M) / IDLE_PAGES_PER_HUGE;
	stat = vm_get_stat(v->vm, "pages_2m");
	ksft_print_msg("%s: %lu of %lu 2M pages in 2M records from the start; KVM's pages_2m %lu\n",
		       pattern, huge, s->size / IDLE_HUGE_SIZE, stat);
	TEST_ASSERT(huge == s->size / IDLE_HUGE_SIZE,
		    "%s: %lu of %lu THPs of the slot reported in 2M records", pattern, huge,
		    s->size / IDLE_HUGE_SIZE);
	TEST_ASSERT(stat >= huge, "%s: KVM maps %lu pages 2M, fewer than the %lu reported",
		    pattern, stat, huge);

	want = malloc(npages);
	TEST_ASSERT(want, "out of memory");
	for (o = 0; o < ARRAY_SIZE(offs); o++) {
		for (b = 0; b < ARRAY_SIZE(bufs); b++) {
			for (k = 0; k < 2; k++) {
				uint64_t first = offs[o] / IDLE_PAGE_SIZE;

				snprintf(what, sizeof(what), "%s, %s from +%#lx, %zu-byte buffer",
					 pattern, k ? "read()" : "IDLE_BITMAP_SCAN", offs[o],
					 bufs[b]);
				peek_from(&m, s, offs[o], k, ro, bufs[b]);
				/*
				 * Pages of the first, cut, huge page come as 4K,
				 * each following huge page as a 2M page.
				 */
				for (i = 0; i < m.npages; i++)
					want[i] = IDLE_MAP_STATE(ref.st[first + i]);
				bad += idle_map_check(&m, want, IDLE_SIZE_ANY, what);
				bad += check_sizes(&m, first, what);
			}
		}
	}
	TEST_ASSERT(!bad, "%s: %zu pages in records of the wrong state or size class", pattern,
		    bad);
	free(want);
	idle_map_free(&m);
	idle_map_free(&ref);
}

static void test_size_class_offsets(void)
{
	struct idle_seg *s;
	struct idle_vm *v;
	struct idle_map m;
	uint64_t h, nhuge = THP_SEG_SIZE / IDLE_HUGE_SIZE;
	int ro, rw;

	if (!idle_thp_enable())
		idle_skip("transparent hugepages not available");
	v = idle_vm_create(NR_VCPUS);
	s = idle_vm_add_seg(v, VM_MEM_SRC_ANONYMOUS_THP, THP_SEG_SIZE);
	idle_plan_set(v, s, IDLE_OP_WRITE);
	idle_vm_step(v);
	if (idle_thp_bytes(s->hva) < THP_SEG_SIZE)
		idle_skip("only %lu of %lu KiB got THPs", idle_thp_bytes(s->hva) >> 10,
			  THP_SEG_SIZE >> 10);
	ro = idle_open(0, O_RDONLY);
	rw = idle_open(0, O_RDWR);

	/* Every page accessed: the 4K pages before a huge page share its state. */
	check_offsets(v, s, ro, "all accessed");

	/* Clear, then read one page of every other huge page. */
	idle_map_init(&m, (uintptr_t)s->hva, s->size / IDLE_PAGE_SIZE);
	idle_map_ioctl(&m, rw, IDLE_BITMAP_SCAN_CLEAR, IDLE_MAX_VEC);
	idle_map_free(&m);
	memset(v->plan, IDLE_OP_NONE, v->npages);
	for (h = 0; h < nhuge; h += 2)
		v->plan[s->first + h * IDLE_PAGES_PER_HUGE + 7] = IDLE_OP_READ;
	idle_vm_step(v);
	check_offsets(v, s, ro, "alternating");

	close(ro);
	close(rw);
	idle_vm_free(v);
}

/*
 * A vector of @len records whose first two lie in a populated page and the
 * rest in a page registered with userfaultfd (missing): the first write, or
 * fault-in, of the rest waits for the handler.
 */
struct uffd_vec {
	uint8_t *area;
	uint64_t *vec;
	int uffd;
};

static bool uffd_vec_init(struct uffd_vec *u, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {};

	TEST_ASSERT(len * 8 <= IDLE_PAGE_SIZE + 16, "vector too long");
	u->uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (u->uffd < 0)
		return false;
	TEST_ASSERT(!ioctl(u->uffd, UFFDIO_API, &api), "UFFDIO_API: %s", strerror(errno));
	u->area = mmap(NULL, 2 * IDLE_PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(u->area != MAP_FAILED, "mmap");
	memset(u->area, 0, IDLE_PAGE_SIZE);
	reg.range.start = (uintptr_t)u->area + IDLE_PAGE_SIZE;
	reg.range.len = IDLE_PAGE_SIZE;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	TEST_ASSERT(!ioctl(u->uffd, UFFDIO_REGISTER, &reg), "UFFDIO_REGISTER: %s",
		    strerror(errno));
	u->vec = (uint64_t *)(u->area + IDLE_PAGE_SIZE - 16);
	return true;
}

static void uffd_vec_free(struct uffd_vec *u)
{
	munmap(u->area, 2 * IDLE_PAGE_SIZE);
	close(u->uffd);
}

/* What the handler does while the call waits, before it lets it go on. */
struct held_call {
	struct uffd_vec *u;
	void (*change)(struct held_call *h);
	struct idle_vm *v;
	struct idle_seg *s;
	uint8_t *hva;		/* change-specific */
	bool held;
	pthread_t thread;
};

static void *uffd_handler(void *arg)
{
	struct held_call *h = arg;
	struct pollfd pfd = { .fd = h->u->uffd, .events = POLLIN };
	struct uffdio_zeropage zp = {};
	struct uffd_msg msg;

	/* At most 60 s: a call that never faults the tail in is a failure below. */
	if (poll(&pfd, 1, 60000) != 1 || read(h->u->uffd, &msg, sizeof(msg)) != sizeof(msg))
		return NULL;
	TEST_ASSERT(msg.event == UFFD_EVENT_PAGEFAULT, "userfaultfd event %u", msg.event);
	h->held = true;
	h->change(h);
	zp.range.start = msg.arg.pagefault.address & ~(IDLE_PAGE_SIZE - 1);
	zp.range.len = IDLE_PAGE_SIZE;
	TEST_ASSERT(!ioctl(h->u->uffd, UFFDIO_ZEROPAGE, &zp), "UFFDIO_ZEROPAGE: %s",
		    strerror(errno));
	return NULL;
}

/* Decode @n records of @vec into a map of [start, start + npages). */
static void reply_map(struct idle_map *m, uint64_t start, uint64_t npages, const uint64_t *vec,
		      long n)
{
	struct idle_recs recs = {};

	idle_map_init(m, start, npages);
	idle_recs_add(&recs, vec, n);
	idle_map_add(m, &recs);
	idle_recs_free(&recs);
}

/*
 * A clearing IDLE_BITMAP_SCAN of [start, end) into @len records, held by
 * userfaultfd between sizing and clearing while h->change() runs.  Returns
 * the number of records.
 */
static long held_clear(struct held_call *h, uint64_t start, uint64_t end, size_t len,
		       const char *what)
{
	uint64_t walk_end;
	long ret;
	int rw = idle_open(0, O_RDWR);

	pthread_create(&h->thread, NULL, uffd_handler, h);
	ret = idle_scan(rw, IDLE_BITMAP_SCAN_CLEAR, start, end, h->u->vec, len, &walk_end);
	pthread_join(h->thread, NULL);
	close(rw);
	ksft_print_msg("%s: the call was %sheld; it returned %ld records, walk_end +%#lx\n",
		       what, h->held ? "" : "NOT ", ret, ret >= 0 ? walk_end - start : 0);
	TEST_ASSERT(h->held, "%s: the call never faulted the vector's tail in", what);
	TEST_ASSERT(ret > 0, "%s: returned %ld (%s)", what, ret, strerror(errno));
	return ret;
}

/* Split the THP at h->hva into 4K mappings: odd pages zapped, even ones read. */
static void change_split(struct held_call *h)
{
	uint64_t first = h->s->first + (h->hva - h->s->hva) / IDLE_PAGE_SIZE, i;

	for (i = 1; i < IDLE_PAGES_PER_HUGE; i += 2)
		TEST_ASSERT(!madvise(h->hva + i * IDLE_PAGE_SIZE, IDLE_PAGE_SIZE, MADV_DONTNEED),
			    "MADV_DONTNEED");
	memset(h->v->plan, IDLE_OP_NONE, h->v->npages);
	for (i = 0; i < IDLE_PAGES_PER_HUGE; i += 2)
		h->v->plan[first + i] = IDLE_OP_READ;
	idle_vm_step(h->v);
}

static void test_split_while_sized(void)
{
	struct held_call h = {};
	struct uffd_vec u;
	struct idle_map reply;
	struct idle_seg *s;
	struct idle_vm *v;
	uint8_t *written;
	uint64_t i, npages = THP_SEG_SIZE / IDLE_PAGE_SIZE;
	long n;

	if (!idle_thp_enable())
		idle_skip("THP: transparent hugepages not available");
	if (!uffd_vec_init(&u, 4))
		idle_skip("THP split test: no userfaultfd (%s)", strerror(errno));
	v = idle_vm_create(NR_VCPUS);
	s = idle_vm_add_seg(v, VM_MEM_SRC_ANONYMOUS_THP, THP_SEG_SIZE);
	/* Written, not read: a read would map the zero page. */
	idle_plan_set(v, s, IDLE_OP_WRITE);
	idle_vm_step(v);
	TEST_ASSERT(idle_thp_bytes(s->hva) == THP_SEG_SIZE, "the segment is THP %lu of %lu KiB",
		    idle_thp_bytes(s->hva) >> 10, THP_SEG_SIZE >> 10);

	/* The call starts at the second THP, with room for 4 records. */
	h.u = &u;
	h.change = change_split;
	h.v = v;
	h.s = s;
	h.hva = s->hva + IDLE_HUGE_SIZE;
	n = held_clear(&h, (uintptr_t)h.hva, (uintptr_t)s->hva + s->size, 4,
		       "THP split while a widened window is sized");

	written = calloc(npages, 1);
	TEST_ASSERT(written, "out of memory");
	for (i = 0; i < IDLE_PAGES_PER_HUGE; i += 2)
		written[IDLE_PAGES_PER_HUGE + i] = 1;
	reply_map(&reply, (uintptr_t)s->hva, npages, u.vec, n);
	TEST_ASSERT(!check_no_false_idle((uintptr_t)s->hva, s->size / IDLE_PAGE_SIZE, written,
					 &reply, "THP split while sized"),
		    "a split huge page lost accesses: cleared without being reported");
	idle_map_free(&reply);
	free(written);
	uffd_vec_free(&u);
	idle_vm_free(v);
}

#define SLOT_NEW_SIZE	(4UL << 20)

/* Add a memslot for [h->hva, + SLOT_NEW_SIZE) and read its even pages. */
static void change_add_slot(struct held_call *h)
{
	struct idle_seg *n = idle_vm_add_seg_hva(h->v, h->hva, SLOT_NEW_SIZE);
	uint64_t i;

	memset(h->v->plan, IDLE_OP_NONE, h->v->npages);
	for (i = 0; i < SLOT_NEW_SIZE / IDLE_PAGE_SIZE; i += 2)
		h->v->plan[n->first + i] = IDLE_OP_READ;
	idle_vm_step(h->v);
}

static void test_slot_while_sized(void)
{
	uint64_t old_pages = IDLE_HUGE_SIZE / IDLE_PAGE_SIZE, i, npages;
	uint64_t size = IDLE_HUGE_SIZE + SLOT_NEW_SIZE;
	struct held_call h = {};
	uint8_t *area, *r, *written;
	struct idle_map reply;
	struct uffd_vec u;
	struct idle_seg *s;
	struct idle_vm *v;
	long n;

	if (!uffd_vec_init(&u, 40))
		idle_skip("memslot test: no userfaultfd (%s)", strerror(errno));
	/* One mapping, inside one GiB, so that a single window can hold it all. */
	area = mmap(NULL, IDLE_GIGA_SIZE + size, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(area != MAP_FAILED, "mmap");
	r = (uint8_t *)align_up((uintptr_t)area, IDLE_GIGA_SIZE);
	TEST_ASSERT(mmap(r, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0) == r,
		    "mmap");
	TEST_ASSERT(!madvise(r, size, MADV_NOHUGEPAGE), "MADV_NOHUGEPAGE");
	v = idle_vm_create(NR_VCPUS);
	s = idle_vm_add_seg_hva(v, r, IDLE_HUGE_SIZE);
	memset(v->plan, IDLE_OP_NONE, v->npages);
	for (i = 0; i < old_pages; i += 2)
		v->plan[s->first + i] = IDLE_OP_READ;
	idle_vm_step(v);

	/* Room for the 2M slot's records, not for those of the new one. */
	h.u = &u;
	h.change = change_add_slot;
	h.v = v;
	h.s = s;
	h.hva = r + IDLE_HUGE_SIZE;
	n = held_clear(&h, (uintptr_t)r, (uintptr_t)r + size, 40,
		       "memslot created while a window is sized");

	/* The guest read every other page of both memslots. */
	npages = size / IDLE_PAGE_SIZE;
	written = calloc(npages, 1);
	TEST_ASSERT(written, "out of memory");
	for (i = 0; i < npages; i += 2)
		written[i] = 1;
	reply_map(&reply, (uintptr_t)r, npages, u.vec, n);
	TEST_ASSERT(!check_no_false_idle((uintptr_t)r, npages, written, &reply,
					 "memslot created while sized"),
		    "a memslot created mid-call lost accesses: cleared, not reported");
	idle_map_free(&reply);
	free(written);
	uffd_vec_free(&u);
	idle_vm_free(v);
	munmap(area, IDLE_GIGA_SIZE + size);
}

static const struct idle_test tests[] = {
	{ "no false idle: EFAULT on a read-only buffer clears nothing",
	  test_efault_readonly },
	{ "no false idle: a buffer with a bad tail page", test_efault_tail },
	{ "size class kept wherever a reply starts (THP)", test_size_class_offsets },
	{ "no false idle: THP split into 4K while a widened window is sized",
	  test_split_while_sized },
	{ "no false idle: a memslot created while a window is sized", test_slot_while_sized },
};

int main(int argc, char *argv[])
{
	ksft_print_header();
	idle_require_support();
	return idle_run_tests(tests, ARRAY_SIZE(tests));
}
