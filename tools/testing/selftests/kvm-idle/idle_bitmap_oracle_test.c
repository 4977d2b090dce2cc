// SPDX-License-Identifier: GPL-2.0-only
/*
 * idle_bitmap_oracle_test: no page written since the previous clearing pass
 * is ever reported IDLE, while everything that changes mappings happens at
 * once.
 *
 * The guest writes in epochs.  In each epoch the host picks a random half of
 * the test pages, and each vCPU writes a value that depends on the epoch to
 * the first word of each of its picked pages, once.  Four scanners (a clear
 * and a peek by read(), a clear and a peek by IDLE_BITMAP_SCAN, buffers from
 * two records to 1 MiB) run through the epoch; every ACCESSED page of a
 * clearing reply is noted with the epoch.  Between epochs the scanners wait,
 * and one clearing pass reads every page.  The oracle: a page written in the
 * epoch was reported ACCESSED by a clearing call of the epoch, or is
 * reported ACCESSED (or HOLE, after a zap) by the pass at its end; IDLE
 * there is a violation.  Only a huge record can have reported a page before
 * the page was written, so for pages of 4K mappings the oracle is exact.
 *
 * Meanwhile, and at the same time: THPs of the guest are migrated between
 * NUMA nodes (move_pages()) and collapsed (MADV_COLLAPSE); dirty logging is
 * turned on for every other epoch and off again, so KVM splits and recovers
 * its huge mappings, and every page written in such an epoch must be in the
 * dirty log (a clear must never lose dirty state); a scratch memslot is
 * zapped with MADV_DONTNEED, unmapped and mapped again, deleted and added
 * back, and moved to another guest address and back (with
 * KVM_X86_QUIRK_SLOT_ZAP_ALL disabled, so that this zaps only the scratch
 * memslot); and other VMs are created, run and destroyed.  At the end, guest
 * memory holds exactly what the vCPUs wrote.  The counts are printed:
 * epochs, pages checked, violations (must be 0).  IDLE_ORACLE_MS sets how
 * long it runs (default 20000).
 */
#define _GNU_SOURCE	/* MADV_COLLAPSE with older libc headers */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "kvm_util.h"
#include "test_util.h"

#include "idle_bitmap_util.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

#define MB		(1024 * 1024UL)
#define NR_VCPUS	2
#define NR_SCANNERS	4
#define MIN_EPOCHS	10
/* Data segments: THP, 4K and hugetlb 2M; then the scratch segment. */
#define NR_DATA		3
#define SCRATCH_SIZE	(8 * MB)

struct oracle {
	struct idle_vm *v;
	struct idle_seg *seg[NR_DATA + 1];
	int nseg;
	pthread_rwlock_t gate;	/* scanner calls read, the check writes */
	bool stop;
	uint32_t epoch;
	uint32_t *reported;	/* per test page: epoch of its last ACCESSED */
	uint32_t *written;	/* per test page: epoch it was last written */
	unsigned long calls[NR_SCANNERS];
	unsigned long churn[8];
};

static const size_t bufsizes[] = { 16, 24, 64, 512, 4096, 65536, 1 << 20 };

static uint64_t oracle_ms(void)
{
	const char *env = getenv("IDLE_ORACLE_MS");

	return env ? strtoul(env, NULL, 0) : 20000;
}

/* A dirty-log bitmap of @npages bits (KVM's layout: 64-bit words). */
static unsigned long *log_alloc(uint64_t npages)
{
	unsigned long *b = calloc((npages + 63) / 64, 8);

	TEST_ASSERT(b, "out of memory");
	return b;
}

static bool log_test(const unsigned long *b, uint64_t i)
{
	return b[i / 64] >> (i % 64) & 1;
}

struct mark_arg {
	struct oracle *o;
	uint32_t epoch;
};

/* Note the pages of an ACCESSED extent of a clearing reply. */
static int mark_reported(const struct ibd_extent *e, void *arg)
{
	struct mark_arg *m = arg;
	struct oracle *o = m->o;
	uint64_t a, b;
	int i;

	if (e->state != IBD_ACCESSED)
		return 0;
	for (i = 0; i < o->nseg; i++) {
		struct idle_seg *s = o->seg[i];
		uint64_t lo = (uintptr_t)s->hva, hi = lo + s->size;

		a = max(e->addr, lo);
		b = min(e->addr + e->npages * IDLE_PAGE_SIZE, hi);
		for (; a < b; a += IDLE_PAGE_SIZE)
			WRITE_ONCE(o->reported[s->first + (a - lo) / IDLE_PAGE_SIZE], m->epoch);
	}
	return 0;
}

struct scanner_arg {
	struct oracle *o;
	int idx;
	pthread_t thread;
};

static void *scanner_fn(void *arg)
{
	struct scanner_arg *sa = arg;
	struct oracle *o = sa->o;
	bool clear = sa->idx < 2, use_ioctl = sa->idx % 2;
	int fd = idle_open(0, clear ? O_RDWR : O_RDONLY);
	uint64_t *buf = malloc(1 << 20), walk_end, next;
	unsigned int seed = random();

	TEST_ASSERT(buf, "out of memory");
	while (!READ_ONCE(o->stop)) {
		struct idle_seg *s = o->seg[rand_r(&seed) % o->nseg];
		uint64_t pos = (uintptr_t)s->hva, end = pos + s->size;

		pos += (rand_r(&seed) % (s->size / IDLE_PAGE_SIZE)) * IDLE_PAGE_SIZE;
		while (pos < end && !READ_ONCE(o->stop)) {
			size_t len = bufsizes[rand_r(&seed) % ARRAY_SIZE(bufsizes)];
			struct mark_arg m = { .o = o };
			long n;

			pthread_rwlock_rdlock(&o->gate);
			m.epoch = READ_ONCE(o->epoch);
			if (use_ioctl) {
				n = idle_scan(fd, clear ? IDLE_BITMAP_SCAN_CLEAR : 0, pos, end, buf,
					      len / 8, &walk_end);
				TEST_ASSERT(n >= 0, "scanner %d: IDLE_BITMAP_SCAN at %#lx: %s",
					    sa->idx, pos, strerror(errno));
			} else {
				TEST_ASSERT(lseek(fd, pos, SEEK_SET) == (off_t)pos, "lseek");
				n = read(fd, buf, len);
				TEST_ASSERT(n >= 0 && n % 8 == 0, "scanner %d: read() at %#lx: %s",
					    sa->idx, pos, strerror(errno));
				n /= 8;
				walk_end = lseek(fd, 0, SEEK_CUR);
			}
			if (n) {
				idle_check_reply(buf, n, pos, ~0ULL, &next);
				if (clear)
					ibd_decode(buf, n, mark_reported, &m, NULL, NULL);
			}
			pthread_rwlock_unlock(&o->gate);
			o->calls[sa->idx]++;
			if (!n || walk_end <= pos)
				break;
			pos = walk_end;
		}
	}
	free(buf);
	close(fd);
	return NULL;
}

/* Everything else that changes mappings, round robin, until stopped. */
static void *churn_fn(void *arg)
{
	struct oracle *o = arg;
	struct idle_seg *thp = o->seg[0], *scratch = o->seg[NR_DATA];
	uint64_t alt_gpa = scratch->gpa + (64UL << 30);
	bool numa = !access("/sys/devices/system/node/node1", F_OK);
	unsigned long round, failed = 0;
	int err;

	for (round = 0; !READ_ONCE(o->stop); round++) {
		switch (round % 6) {
		case 0:		/* migrate the THPs to the other node */
			if (numa && idle_move_huge(thp->hva, thp->size, (round / 6) & 1, &failed,
						   &err))
				o->churn[0]++;
			break;
		case 1:		/* collapse what is not THP */
			if (!madvise(thp->hva, thp->size, MADV_COLLAPSE) || errno == EAGAIN)
				o->churn[1]++;
			break;
		case 2:		/* zap the scratch segment */
			TEST_ASSERT(!madvise(scratch->hva, scratch->size, MADV_DONTNEED),
				    "MADV_DONTNEED");
			memset(scratch->hva, 0x5a, scratch->size);
			o->churn[2]++;
			break;
		case 3:		/* unmap it and map it again */
			TEST_ASSERT(mmap(scratch->hva, scratch->size, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
				    scratch->hva, "mmap over the scratch segment");
			memset(scratch->hva, 0xa5, scratch->size);
			o->churn[3]++;
			break;
		case 4:		/* delete its memslot, add it back; move it and back */
			vm_set_user_memory_region(o->v->vm, scratch->slot, 0, scratch->gpa, 0,
						  scratch->hva);
			vm_set_user_memory_region(o->v->vm, scratch->slot, 0, scratch->gpa,
						  scratch->size, scratch->hva);
			vm_set_user_memory_region(o->v->vm, scratch->slot, 0, alt_gpa,
						  scratch->size, scratch->hva);
			vm_set_user_memory_region(o->v->vm, scratch->slot, 0, scratch->gpa,
						  scratch->size, scratch->hva);
			o->churn[4]++;
			break;
		case 5: {	/* another VM: create, run, destroy */
			struct idle_vm *w = idle_vm_create(1);
			struct idle_seg *s = idle_vm_add_seg(w, VM_MEM_SRC_ANONYMOUS, 4 * MB);

			idle_plan_set(w, s, IDLE_OP_WRITE);
			idle_vm_step(w);
			idle_vm_free(w);
			o->churn[5]++;
			break;
		}
		}
	}
	return NULL;
}

static const char *size_name(unsigned int size)
{
	return size == IDLE_BITMAP_SIZE_2M ? "2M" : size == IDLE_BITMAP_SIZE_1G ? "1G" : "4K";
}

/*
 * The end of epoch @e: one clearing pass over the data segments, checked
 * against what the guest wrote.  Returns the violations.
 */
static size_t check_epoch(struct oracle *o, uint32_t e, uint64_t *checked, uint64_t *holes)
{
	int rw = idle_open(0, O_RDWR);
	size_t bad = 0;
	int i;

	for (i = 0; i < NR_DATA; i++) {
		struct idle_seg *s = o->seg[i];
		uint64_t p, npages = s->size / IDLE_PAGE_SIZE;
		struct idle_map m;

		idle_map_init(&m, (uintptr_t)s->hva, npages);
		idle_map_read(&m, rw, 65536);
		for (p = 0; p < npages; p++) {
			uint64_t page = s->first + p;
			uint8_t st = IDLE_MAP_STATE(m.st[p]);

			if (o->written[page] != e)
				continue;
			(*checked)++;
			if (o->reported[page] == e || st == IBD_ACCESSED)
				continue;
			if (st == IBD_HOLE) {
				(*holes)++;
				continue;
			}
			if (bad++ >= 8)
				continue;
			ksft_print_msg("epoch %u: slot %u page %lu: %s %s in a %s record\n", e,
				       s->slot, p, "written, never reported ACCESSED, now",
				       st == IBD_IDLE ? "IDLE" : "unknown",
				       size_name(IDLE_MAP_SIZE(m.st[p])));
		}
		idle_map_free(&m);
	}
	close(rw);
	return bad;
}

/* The pages of @s written in epoch @e are all in its dirty log. */
static size_t check_dirty(struct oracle *o, struct idle_seg *s, uint32_t e)
{
	uint64_t npages = s->size / IDLE_PAGE_SIZE, p;
	unsigned long *bitmap = log_alloc(npages);
	size_t lost = 0;

	kvm_vm_get_dirty_log(o->v->vm, s->slot, bitmap);
	for (p = 0; p < npages; p++)
		if (o->written[s->first + p] == e && !log_test(bitmap, p) && lost++ < 4)
			ksft_print_msg("epoch %u: slot %u page %lu: %s\n", e, s->slot, p,
				       "written, not in the dirty log");
	free(bitmap);
	return lost;
}

static void check_memory(struct oracle *o)
{
	int i;

	for (i = 0; i < NR_DATA; i++)
		idle_check_pattern_epochs(o->v, o->seg[i], o->written);
}

static void test_oracle(void)
{
	struct scanner_arg sa[NR_SCANNERS];
	uint64_t t_end = idle_now_ms() + oracle_ms(), checked = 0, holes = 0;
	size_t violations = 0, dirty_lost = 0;
	unsigned long dirty_epochs = 0;
	struct oracle o = {};
	unsigned long *log;
	pthread_t churn;
	uint32_t e;
	int i;

	if (!idle_thp_enable())
		idle_skip("THP: transparent huge pages are not available");
	if (!idle_hugetlb_reserve(8))
		idle_skip("hugetlb: cannot reserve 2M hugetlb pages");
	o.v = idle_vm_create(NR_VCPUS);
	/*
	 * By default a memslot change zaps every mapping of the VM, and a zap
	 * hands the Accessed state to the host's page tables: the page reads
	 * HOLE, or IDLE once the shadow MMU prefetched it on a neighbour's
	 * fault (see the documentation).  Let the scratch memslot's churn zap
	 * only the scratch memslot.
	 */
	if (kvm_check_cap(KVM_CAP_DISABLE_QUIRKS2) & KVM_X86_QUIRK_SLOT_ZAP_ALL)
		vm_enable_cap(o.v->vm, KVM_CAP_DISABLE_QUIRKS2, KVM_X86_QUIRK_SLOT_ZAP_ALL);
	else
		ksft_print_msg("oracle: KVM_X86_QUIRK_SLOT_ZAP_ALL cannot be disabled\n");
	o.seg[o.nseg++] = idle_vm_add_seg(o.v, VM_MEM_SRC_ANONYMOUS_THP, 16 * MB);
	o.seg[o.nseg++] = idle_vm_add_seg(o.v, VM_MEM_SRC_ANONYMOUS, 8 * MB);
	o.seg[o.nseg++] = idle_vm_add_seg(o.v, VM_MEM_SRC_ANONYMOUS_HUGETLB_2MB, 8 * MB);
	o.seg[o.nseg++] = idle_vm_add_seg(o.v, VM_MEM_SRC_ANONYMOUS, SCRATCH_SIZE);
	o.reported = calloc(o.v->npages, sizeof(*o.reported));
	o.written = calloc(o.v->npages, sizeof(*o.written));
	TEST_ASSERT(o.reported && o.written, "out of memory");
	for (i = 0; i < NR_DATA; i++)
		idle_fill_pattern(o.v, o.seg[i]);
	memset(o.v->plan, IDLE_OP_NONE, o.v->npages);
	log = log_alloc(o.seg[0]->size / IDLE_PAGE_SIZE);
	/* Writer first, or four scanners would keep the check out. */
	idle_rwlock_init_writer_first(&o.gate);

	pthread_rwlock_wrlock(&o.gate);
	for (i = 0; i < NR_SCANNERS; i++) {
		sa[i].o = &o;
		sa[i].idx = i;
		pthread_create(&sa[i].thread, NULL, scanner_fn, &sa[i]);
	}
	pthread_create(&churn, NULL, churn_fn, &o);

	for (e = 1; e <= MIN_EPOCHS || idle_now_ms() < t_end; e++) {
		bool dirty = e % 2;
		uint64_t p;

		/* Scanners wait on the gate: pick the pages of this epoch. */
		for (i = 0; i < NR_DATA; i++) {
			struct idle_seg *s = o.seg[i];

			for (p = s->first; p < s->first + s->size / IDLE_PAGE_SIZE; p++) {
				bool w = random() & 1;

				o.v->plan[p] = w ? IDLE_OP_WRITE_EPOCH : IDLE_OP_NONE;
				if (w)
					o.written[p] = e;
			}
		}
		idle_vm_set_epoch(o.v, e);
		if (dirty) {
			/* Logging on, and the log emptied. */
			vm_mem_region_set_flags(o.v->vm, o.seg[0]->slot, KVM_MEM_LOG_DIRTY_PAGES);
			kvm_vm_get_dirty_log(o.v->vm, o.seg[0]->slot, log);
		}
		WRITE_ONCE(o.epoch, e);
		pthread_rwlock_unlock(&o.gate);

		idle_vm_step(o.v);
		if (dirty) {
			dirty_lost += check_dirty(&o, o.seg[0], e);
			dirty_epochs++;
			vm_mem_region_set_flags(o.v->vm, o.seg[0]->slot, 0);
		}

		pthread_rwlock_wrlock(&o.gate);
		violations += check_epoch(&o, e, &checked, &holes);
	}
	WRITE_ONCE(o.stop, true);
	pthread_rwlock_unlock(&o.gate);
	for (i = 0; i < NR_SCANNERS; i++)
		pthread_join(sa[i].thread, NULL);
	pthread_join(churn, NULL);

	ksft_print_msg("oracle: %u epochs, %lu written pages checked, %zu violations, %s %lu\n",
		       e - 1, checked, violations, "reported HOLE after a zap", holes);
	ksft_print_msg("oracle: scanner calls %lu %lu %lu %lu %s\n", o.calls[0], o.calls[1],
		       o.calls[2], o.calls[3], "(clear read, clear ioctl, peek read, peek ioctl)");
	ksft_print_msg("oracle: churn rounds: migrate %lu, collapse %lu, zap %lu, remap %lu\n",
		       o.churn[0], o.churn[1], o.churn[2], o.churn[3]);
	ksft_print_msg("oracle: churn rounds: memslot %lu, VMs %lu\n", o.churn[4], o.churn[5]);
	ksft_print_msg("oracle: dirty-logged epochs %lu, pages missing from the dirty log %zu\n",
		       dirty_epochs, dirty_lost);
	TEST_ASSERT(!violations, "%zu written pages were reported IDLE", violations);
	TEST_ASSERT(!dirty_lost, "%zu written pages are missing from the dirty log", dirty_lost);
	for (i = 0; i < NR_SCANNERS; i++)
		TEST_ASSERT(o.calls[i], "scanner %d never ran", i);
	check_memory(&o);
	idle_vm_free(o.v);
	free(log);
	free(o.reported);
	free(o.written);
}

static const struct idle_test tests[] = {
	{ "oracle: no written page is reported IDLE (THP, 4K, hugetlb 2M; churn)", test_oracle },
};

int main(void)
{
	idle_require_support();
	return idle_run_tests(tests, ARRAY_SIZE(tests));
}
