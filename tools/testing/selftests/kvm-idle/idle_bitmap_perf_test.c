// SPDX-License-Identifier: GPL-2.0-only
/*
 * idle_bitmap_perf_test
 *
 * Measures what /proc/PID/idle_bitmap costs, and what it saves, against the
 * interface the kernel already has for the job: /sys/kernel/mm/page_idle/bitmap,
 * with /proc/PID/pagemap to find the PFNs of the guest's memory.  It is a
 * benchmark, not a test: it is built but not run by default, and it asserts
 * only that the interfaces work, never that a number is good.
 *
 * One VM is created with memstress: -b bytes of guest memory in one memslot,
 * backed as -s says (4K anonymous, THP or hugetlb 2M), split between -v vCPUs.
 * Every page is faulted in first.  Then, side by side on that same memory:
 *
 * pass:  the time of one test-and-clear pass over the memslot, with half of
 *	  the pages (half of the 2M pages with 2M backing) written by the guest
 *	  since the last pass.  idle_bitmap is read with IDLE_BITMAP_SCAN and
 *	  with read(), both with large buffers (-B), and peeked (no clear) to
 *	  split the cost.  page_idle gets its best showing ("batched"): pagemap
 *	  is read in large batches, and the bitmap is read and then written a
 *	  64-bit word at a time over contiguous runs of PFNs, one system call per
 *	  run (at most 4K of bitmap, the most sysfs moves per call); only the
 *	  pages found accessed are marked idle again, since the read already
 *	  cleared the others' Accessed bits and left them marked idle; a THP
 *	  is tested and marked through its head page only.  The
 *	  per-page loop of access_tracking_perf_test ("naive": pread of pagemap,
 *	  pread of the bitmap word, pwrite of one bit) is timed too, up to -n
 *	  bytes of memory, but ratios are claimed against the batched pass only.
 *	  Each pass is checked against what the guest wrote.
 *
 * guest: guest throughput (4K pages written per second) while another
 *	  process scans the memslot continuously with each interface, with no
 *	  scanner, and with a process that only burns CPU (the control for
 *	  sharing the CPUs).  Each vCPU writes every page of its share, then
 *	  zaps -f percent of it with MADV_DONTNEED, so that the next round
 *	  faults pages in again.
 *
 * size:  bytes of output per 4K page for uniform idle and accessed memory,
 *	  random 50% and 5% and alternating pages, next to what the 2018 RFC's
 *	  format (one byte per run of up to 15 pages of one type and size) and
 *	  PAGEMAP_SCAN (one 24-byte struct page_region per run of pages with the
 *	  same state and page size) would need for the same state.  Those two
 *	  are computed here from the decoded records, not by the kernel.
 *
 * flush: the time of a clearing pass with its TLB flush and with
 *	  IDLE_BITMAP_SCAN_NO_FLUSH, while the guest keeps writing a set of
 *	  pages; and the share of that set reported ACCESSED by a peek after
 *	  the guest went over the set twice more.  Measured for half of the
 *	  memory, and for a small hot set that fits in any TLB, cleared on its
 *	  own so that nothing else flushes the TLB in between.
 *
 * Every measurement is repeated -r times (at least 5 for a report) in an
 * interleaved order; the median, minimum and maximum are printed.  Lines
 * that start with '@' are markdown table rows for scripts/bench.sh, which
 * also profiles the timed passes with perf (see perf_ctl_open()).
 *
 * Limits:
 *
 * - Nesting.  On a machine without /dev/kvm this runs under QEMU with TCG:
 *   the host kernel is itself an emulated guest, and the VM is nested.  The
 *   absolute times are not native; only the ratios of times measured in the
 *   same run mean something.  Times come from the TSC (see
 *   clock_calibrate()).  The kernel the harness builds also has lockdep,
 *   PROVE_RCU and DEBUG_VM, which make every lock and every RCU-protected
 *   SPTE read dearer, page_idle's locks and the walker's reads alike: ratios
 *   on a production config will differ.
 *
 * - TLB caching of the Accessed state.  A cleared Accessed bit is only set
 *   again when the CPU walks the page tables, that is after the translation
 *   left the TLB.  idle_bitmap flushes once per clearing call; page_idle
 *   never does, and neither does IDLE_BITMAP_SCAN_NO_FLUSH.  Under TCG the
 *   emulated TLB is flushed at every nested VM entry (CR3 is reloaded), so
 *   stale translations survive at most until the next exit of the nested
 *   guest, such as the host's timer tick; on hardware they survive exits.
 *   The flush part counts those exits.  The pass accuracy tolerates what
 *   this explains: see PASS_ACCURACY_WARN.
 *
 * - page_idle only sees pages on the LRU.  Newly faulted pages may sit in a
 *   per-CPU batch for a while, hugetlb pages are never on the LRU (page_idle
 *   is not measured with hugetlb backing), and tail pages of a THP are
 *   skipped, its head stands for the whole folio.
 *
 * - Noise.  Other work on the machine changes timings between repetitions;
 *   the methods are interleaved within each repetition so that drift hits
 *   all of them alike, and the spread is printed.
 */
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kvm_util.h"
#include "memstress.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

#include "idle_bitmap_util.h"

#define PAGE_IDLE_PATH		"/sys/kernel/mm/page_idle/bitmap"
#define PAGEMAP_PRESENT		BIT_ULL(63)
#define PAGEMAP_PFN_MASK	((1ULL << 55) - 1)
/* The THP flag of /proc/kpageflags. */
#define KPF_THP			22
/* pagemap entries per read() of the batched page_idle pass: 512K of them. */
#define PAGEMAP_BATCH		65536UL
/* sysfs moves at most a page of the bitmap per call: 512 words. */
#define PAGE_IDLE_IO_WORDS	512UL

#define PERF_MAX_VCPUS		8
#define PERF_MAX_REPS		64
#define PERF_MIN_REPS		5
/* The small hot set of the flush part, in units (4K or 2M pages). */
#define PERF_HOT_UNITS		16
/* Clear, wait and peek this many times per measurement of the hot set. */
#define PERF_HOT_TRIALS		20
/* How long to wait for the guest to go over its set twice. */
#define PERF_SPIN_TIMEOUT_S	600

/*
 * A pass should find almost every page the guest wrote, and almost no page
 * it did not.  What it can miss: pages whose translations stayed cached (see
 * the header; idle_bitmap flushes, so only page_idle may miss them) and, for
 * page_idle, pages not yet on the LRU.  Below this share a warning is
 * printed, as access_tracking_perf_test does, since the times then measure
 * less work than they claim.
 */
#define PASS_ACCURACY_WARN	0.90

#define PARTS_ALL		"pass,guest,size,flush"

enum part { PART_PASS, PART_GUEST, PART_SIZE, PART_FLUSH, NR_PARTS };

static const char * const part_name[NR_PARTS] = { "pass", "guest", "size", "flush" };

/* Which pages the guest writes: units in a pattern. */
enum pattern_kind { PAT_NONE, PAT_ALL, PAT_RANDOM, PAT_ALTERNATE, PAT_HOT };

struct pattern {
	uint32_t kind;
	uint32_t arg;		/* percent for PAT_RANDOM, units for PAT_HOT */
	uint64_t seed;
	uint32_t unit_shift;	/* a unit is 2^unit_shift 4K pages */
};

enum guest_op { GUEST_TOUCH, GUEST_SPIN };

/* The guest's instructions; the host writes them through the HVA. */
struct guest_cmd {
	uint32_t op;
	uint32_t stop;		/* GUEST_SPIN: stop after this loop */
	struct pattern pat;
	uint64_t loops[PERF_MAX_VCPUS];
};

static struct guest_cmd guest_cmd;

/* Both sides use this: is @unit in the pattern? */
static inline bool pattern_has(const struct pattern *p, uint64_t unit)
{
	uint64_t x;

	switch (p->kind) {
	case PAT_ALL:
		return true;
	case PAT_RANDOM:
		/* splitmix64 of the unit: the host knows the set without a copy. */
		x = (unit + p->seed + 1) * 0x9e3779b97f4a7c15ULL;
		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
		x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
		return (x ^ (x >> 31)) % 100 < p->arg;
	case PAT_ALTERNATE:
		return unit & 1;
	case PAT_HOT:
		return unit < p->arg;
	default:
		return false;
	}
}

static void guest_touch(const struct memstress_vcpu_args *va, const struct pattern *p,
			uint64_t first)
{
	uint64_t step = 1ULL << p->unit_shift, n = va->pages, i;

	/* The hot set is the first units; do not walk past them. */
	if (p->kind == PAT_HOT)
		n = min(n, max((uint64_t)p->arg << p->unit_shift, first) - first);
	for (i = 0; i < n; i += step) {
		if (pattern_has(p, (first + i) >> p->unit_shift))
			WRITE_ONCE(*(uint64_t *)(va->gva + i * IDLE_PAGE_SIZE), i);
	}
}

static void guest_code(uint32_t idx)
{
	const struct memstress_vcpu_args *va = &memstress_args.vcpu_args[idx];
	uint64_t first = va->pages * idx;
	struct pattern p;

	for (;;) {
		p = guest_cmd.pat;
		if (READ_ONCE(guest_cmd.op) == GUEST_SPIN) {
			do {
				guest_touch(va, &p, first);
				WRITE_ONCE(guest_cmd.loops[idx], guest_cmd.loops[idx] + 1);
			} while (!READ_ONCE(guest_cmd.stop));
		} else {
			guest_touch(va, &p, first);
		}
		GUEST_SYNC(0);
	}
}

enum pass_method {
	M_IB_IOCTL, M_IB_READ, M_IB_PEEK, M_PI_BATCHED, M_PI_NAIVE, NR_METHODS
};

/* For -M. */
static const char * const method_key[NR_METHODS] = {
	"ioctl", "read", "peek", "batched", "naive",
};

#define METHODS_ALL		"ioctl,read,peek,batched,naive"

struct perf_params {
	enum vm_mem_backing_src_type backing;
	uint64_t bytes;		/* guest test memory, all vCPUs together */
	int nr_vcpus;
	int reps;
	uint64_t buf_bytes;	/* read() buffer and IDLE_BITMAP_SCAN vector */
	bool parts[NR_PARTS];
	bool methods[NR_METHODS];
	int guest_ms;		/* each guest throughput measurement */
	int refault_pct;	/* share of its memory each vCPU zaps per round */
	uint64_t naive_max;	/* largest memory for the naive page_idle loop */
};

enum vcpu_job { JOB_RUN, JOB_ROUNDS, JOB_EXIT };

struct perf_vm;

struct vcpu_worker {
	struct perf_vm *v;
	int idx;
	pthread_t thread;
	sem_t go;
	/* JOB_ROUNDS: pages written, and the time of those rounds. */
	uint64_t pages;
	uint64_t ns;
};

struct perf_vm {
	const struct perf_params *p;
	struct kvm_vm *vm;
	const char *backing;
	uint64_t start, end;	/* the test memory in this process */
	uint64_t npages;	/* 4K pages */
	unsigned int unit_shift;	/* log2 of 4K pages per backing page */
	bool page_idle;		/* page_idle can track this memory */
	struct guest_cmd *cmd;
	int job;
	bool rounds_stop;
	sem_t done;
	struct vcpu_worker w[PERF_MAX_VCPUS];
	uint8_t *reported;	/* per page: the last pass's answer, see REP_* */
	uint64_t sptes;		/* leaf SPTEs of the last idle_bitmap answer */
	uint64_t young_sptes;	/* of them accessed */
	bool spare_cpu;		/* a CPU that no vCPU is pinned to */
	/* vCPU 0's statistics, for its exit count. */
	int stats_fd;
	struct kvm_stats_header stats_hdr;
	struct kvm_stats_desc *stats_desc;
	struct kvm_stats_desc *exits_desc;
};

enum { REP_IDLE, REP_ACCESSED, REP_NONE };

struct stats {
	double v[PERF_MAX_REPS];
	int n;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * Times come from the TSC: under TCG the host kernel marks it unstable and
 * its clock ticks with the jiffies, 4 ms at a time, too coarse for a pass.
 * QEMU passes the host's TSC through, so it counts at a constant rate; that
 * rate is measured against CLOCK_MONOTONIC once, over CALIBRATE_MS.
 */
#define CALIBRATE_MS		2000

static double tsc_per_ns;

/*
 * @mhz: the TSC rate if known (-T), else 0 to measure it.  Under TCG the
 * jiffies, and so the measurement, can be off by tens of percent, since
 * the timer ticks of an emulated CPU come late under load: scripts/bench.sh
 * passes the TSC rate of the machine that runs QEMU.
 */
static void clock_calibrate(double mhz)
{
	char cs[64] = "?";
	uint64_t t0, c0;
	double measured;
	FILE *f;

	t0 = mono_ns();
	c0 = rdtsc();
	usleep(CALIBRATE_MS * 1000);
	measured = (double)(rdtsc() - c0) / (mono_ns() - t0);
	tsc_per_ns = mhz ? mhz / 1000 : measured;
	f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
	if (f) {
		if (fgets(cs, sizeof(cs), f))
			cs[strcspn(cs, "\n")] = 0;
		fclose(f);
	}
	printf("# clock: TSC at %.1f MHz (%s); CLOCK_MONOTONIC (clocksource %s) says %.1f MHz\n",
	       tsc_per_ns * 1000, mhz ? "-T" : "measured", cs, measured * 1000);
}

/*
 * With IDLE_PERF_CTL (and IDLE_PERF_ACK) naming the control (and ack)
 * FIFOs of "perf record --control=fifo:CTL,ACK -D -1", perf samples only
 * while the timed passes run; scripts/bench.sh profiles that way.
 */
static int perf_ctl_fd = -1, perf_ack_fd = -1;

static void perf_ctl_open(void)
{
	const char *ctl = getenv("IDLE_PERF_CTL"), *ack = getenv("IDLE_PERF_ACK");

	if (ctl) {
		perf_ctl_fd = open(ctl, O_WRONLY);
		TEST_ASSERT(perf_ctl_fd >= 0, "open(%s) failed", ctl);
	}
	if (ctl && ack) {
		perf_ack_fd = open(ack, O_RDONLY);
		TEST_ASSERT(perf_ack_fd >= 0, "open(%s) failed", ack);
	}
}

static void perf_ctl(bool enable)
{
	const char *cmd = enable ? "enable\n" : "disable\n";
	char ack[16];

	if (perf_ctl_fd < 0)
		return;
	TEST_ASSERT(write(perf_ctl_fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd),
		    "write to the perf control FIFO failed");
	if (perf_ack_fd >= 0)
		TEST_ASSERT(read(perf_ack_fd, ack, sizeof(ack)) > 0, "no ack from perf");
}

static uint64_t now_ns(void)
{
	return rdtsc() / tsc_per_ns;
}

static double ms_since(uint64_t t0)
{
	return (now_ns() - t0) / 1e6;
}

static void stats_add(struct stats *s, double x)
{
	TEST_ASSERT(s->n < PERF_MAX_REPS, "too many samples");
	s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double stats_median(const struct stats *s)
{
	double v[PERF_MAX_REPS];

	if (!s->n)
		return 0;
	memcpy(v, s->v, s->n * sizeof(v[0]));
	qsort(v, s->n, sizeof(v[0]), cmp_double);
	return s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2;
}

static double stats_min(const struct stats *s)
{
	double m = s->n ? s->v[0] : 0;
	int i;

	for (i = 1; i < s->n; i++)
		m = s->v[i] < m ? s->v[i] : m;
	return m;
}

static double stats_max(const struct stats *s)
{
	double m = s->n ? s->v[0] : 0;
	int i;

	for (i = 1; i < s->n; i++)
		m = s->v[i] > m ? s->v[i] : m;
	return m;
}

static uint64_t size_mib(const struct perf_vm *v)
{
	return v->npages * IDLE_PAGE_SIZE >> 20;
}

/* vCPU worker threads: they block between jobs, so that idle ones use no CPU. */

static void vcpu_step(struct vcpu_worker *w)
{
	idle_vcpu_run(memstress_args.vcpu_args[w->idx].vcpu, w->idx);
}

/*
 * Write every page of the vCPU's share, round after round, zapping a slice
 * of it after each round so that the next one faults it in again.
 */
static void vcpu_rounds(struct vcpu_worker *w)
{
	const struct memstress_vcpu_args *va = &memstress_args.vcpu_args[w->idx];
	struct perf_vm *v = w->v;
	uint64_t size = va->pages * IDLE_PAGE_SIZE;
	uint8_t *hva = (uint8_t *)v->start + size * w->idx;
	uint64_t zap = size * v->p->refault_pct / 100 / IDLE_HUGE_SIZE * IDLE_HUGE_SIZE;
	uint64_t off = 0, t0 = now_ns();

	if (v->p->refault_pct && !zap)
		zap = IDLE_HUGE_SIZE;
	w->pages = 0;
	while (!READ_ONCE(v->rounds_stop)) {
		vcpu_step(w);
		w->pages += va->pages;
		if (!zap)
			continue;
		TEST_ASSERT(!madvise(hva + off, zap, MADV_DONTNEED), "MADV_DONTNEED failed");
		off = off + 2 * zap <= size ? off + zap : 0;
	}
	w->ns = now_ns() - t0;
}

/*
 * Threads are pinned: vCPU i to CPU i, the thread that scans to the next
 * one, so that the guest and the scanner do not share a CPU by accident.
 */
static void pin_to(int cpu)
{
	kvm_pin_this_task_to_pcpu(cpu % sysconf(_SC_NPROCESSORS_ONLN));
}

static void *vcpu_worker_main(void *arg)
{
	struct vcpu_worker *w = arg;
	struct perf_vm *v = w->v;
	int job;

	pin_to(w->idx);
	for (;;) {
		sem_wait(&w->go);
		job = READ_ONCE(v->job);
		if (job == JOB_EXIT)
			break;
		if (job == JOB_RUN)
			vcpu_step(w);
		else
			vcpu_rounds(w);
		sem_post(&v->done);
	}
	return NULL;
}

static void vcpus_start(struct perf_vm *v, int job)
{
	int i;

	WRITE_ONCE(v->job, job);
	for (i = 0; i < v->p->nr_vcpus; i++)
		sem_post(&v->w[i].go);
}

static void vcpus_wait(struct perf_vm *v)
{
	int i;

	for (i = 0; i < v->p->nr_vcpus; i++)
		sem_wait(&v->done);
}

/* Tell the guest what to do next; the vCPUs must be out of the guest. */
static void guest_set(struct perf_vm *v, enum guest_op op, const struct pattern *pat)
{
	v->cmd->op = op;
	v->cmd->pat = *pat;
	v->cmd->stop = 0;
}

/* Every vCPU writes the units of @pat once. */
static void guest_touch_all_vcpus(struct perf_vm *v, const struct pattern *pat)
{
	guest_set(v, GUEST_TOUCH, pat);
	vcpus_start(v, JOB_RUN);
	vcpus_wait(v);
}

static uint64_t guest_loops_min(struct perf_vm *v)
{
	uint64_t m = ~0ULL;
	int i;

	for (i = 0; i < v->p->nr_vcpus; i++)
		m = min(m, READ_ONCE(v->cmd->loops[i]));
	return m;
}

/*
 * Wait until every vCPU started and finished @n loops over its set.  Busy,
 * without even PAUSE (which exits to QEMU's main loop under TCG): a sleep
 * lasts until the next tick, and the guest's exit for that tick would flush
 * the TLB that the flush part is about.
 */
static void guest_wait_loops(struct perf_vm *v, uint64_t n)
{
	uint64_t from = guest_loops_min(v), t0 = now_ns();

	while (guest_loops_min(v) < from + n + 1) {
		TEST_ASSERT(now_ns() - t0 < PERF_SPIN_TIMEOUT_S * 1000000000ULL,
			    "the guest did not loop over its set in %d s", PERF_SPIN_TIMEOUT_S);
		/* Sharing the CPU with the vCPU: let it run. */
		if (!v->spare_cpu)
			usleep(1000);
	}
}

/* Is there a CPU for the scanner besides the vCPUs?  Warn if not. */
static void check_spare_cpu(struct perf_vm *v, const char *part)
{
	if (!v->spare_cpu)
		printf("# WARNING: %s: %ld CPU(s) for %d vCPU(s) and the scanner to share\n",
		       part, sysconf(_SC_NPROCESSORS_ONLN), v->p->nr_vcpus);
}

/* idle_bitmap: one pass over [start, end), by IDLE_BITMAP_SCAN or read(). */

struct ib_ctx {
	int fd;			/* O_RDWR: read() clears */
	int peek_fd;		/* O_RDONLY: read() only peeks */
	uint64_t *buf;
	uint64_t cap;		/* records */
};

struct ib_result {
	uint64_t calls;
	uint64_t pages[3];	/* by enum ibd_state, within the range */
	uint64_t outside;	/* pages reported past the range (read()) */
	struct idle_recs recs;
};

struct ib_count {
	struct ib_result *res;
	uint64_t start, end;
};

static int ib_count_extent(const struct ibd_extent *e, void *arg)
{
	struct ib_count *c = arg;
	uint64_t a = max(e->addr, c->start);
	uint64_t b = min(e->addr + e->npages * IDLE_PAGE_SIZE, c->end);

	if (a < b)
		c->res->pages[e->state] += (b - a) / IDLE_PAGE_SIZE;
	c->res->outside += e->npages - (a < b ? (b - a) / IDLE_PAGE_SIZE : 0);
	return 0;
}

/* @pid: the VMM, 0 for this process. */
static void ib_ctx_init(struct ib_ctx *c, pid_t pid, uint64_t buf_bytes)
{
	c->fd = idle_open(pid, O_RDWR);
	c->peek_fd = idle_open(pid, O_RDONLY);
	c->cap = buf_bytes / 8;
	c->buf = malloc(c->cap * 8);
	TEST_ASSERT(c->buf && c->cap >= 2, "bad idle_bitmap buffer of %lu bytes", buf_bytes);
}

static void ib_ctx_free(struct ib_ctx *c)
{
	close(c->fd);
	close(c->peek_fd);
	free(c->buf);
}

static void ib_take(struct ib_result *r, struct ib_count *cnt, const uint64_t *rec, size_t n)
{
	size_t bad = 0;
	int ret;

	ret = ibd_decode(rec, n, ib_count_extent, cnt, NULL, &bad);
	TEST_ASSERT(!ret, "malformed reply: record %zu of %zu is %#lx", bad, n, rec[bad]);
	idle_recs_add(&r->recs, rec, n);
}

/*
 * @flags are IDLE_BITMAP_SCAN_* flags; with @use_read, read() from the
 * O_RDWR file clears and from the O_RDONLY one peeks (NO_FLUSH is ignored).
 * The records are kept in @r->recs, so that they can be checked afterwards.
 */
static void ib_pass(struct ib_ctx *c, bool use_read, uint64_t flags, uint64_t start,
		    uint64_t end, struct ib_result *r)
{
	struct ib_count cnt = { .res = r, .start = start, .end = end };
	uint64_t cur = start, walk_end;
	int fd = flags & IDLE_BITMAP_SCAN_CLEAR ? c->fd : c->peek_fd;
	ssize_t n;
	long ret;

	r->calls = 0;
	r->outside = 0;
	memset(r->pages, 0, sizeof(r->pages));
	r->recs.n = 0;
	if (use_read)
		TEST_ASSERT(lseek(fd, start, SEEK_SET) == (off_t)start, "lseek failed");
	while (cur < end) {
		r->calls++;
		if (use_read) {
			n = read(fd, c->buf, c->cap * 8);
			TEST_ASSERT(n >= 0 && n % 8 == 0, "read() at %#lx returned %ld", cur, n);
			if (!n)
				break;
			ib_take(r, &cnt, c->buf, n / 8);
			cur = lseek(fd, 0, SEEK_CUR);
		} else {
			ret = idle_scan(c->fd, flags, cur, end, c->buf, c->cap, &walk_end);
			TEST_ASSERT(ret >= 0, "IDLE_BITMAP_SCAN at %#lx failed", cur);
			if (!ret)
				break;
			ib_take(r, &cnt, c->buf, ret);
			cur = walk_end;
		}
	}
}

/*
 * The answer of the last pass for each page of the test memory.  Also
 * counts the walker's work that the answer implies: it visits each leaf
 * SPTE once, and with a clear does one cmpxchg per accessed one.
 */
static void ib_reported(struct perf_vm *v, const struct ib_result *r)
{
	uint64_t i, small = 0, huge = 0, small_a = 0, huge_a = 0;
	struct idle_map m;

	idle_map_init(&m, v->start, v->npages);
	idle_map_add(&m, &r->recs);
	for (i = 0; i < v->npages; i++) {
		uint8_t s = m.st[i];
		bool a = IDLE_MAP_STATE(s) == IBD_ACCESSED;

		if (s == IDLE_MAP_NONE || IDLE_MAP_STATE(s) == IBD_HOLE) {
			v->reported[i] = REP_NONE;
			continue;
		}
		v->reported[i] = a ? REP_ACCESSED : REP_IDLE;
		if (IDLE_MAP_SIZE(s) == IDLE_BITMAP_SIZE_4K) {
			small++;
			small_a += a;
		} else {
			huge++;
			huge_a += a;
		}
	}
	v->sptes = small + huge / IDLE_PAGES_PER_HUGE;
	v->young_sptes = small_a + huge_a / IDLE_PAGES_PER_HUGE;
	idle_map_free(&m);
}

/* page_idle: one pass over the test memory, batched or page by page. */

struct pi_ctx {
	int bitmap_fd;
	int pagemap_fd;
	int kpageflags_fd;
	uint64_t *batch;	/* pagemap entries */
	uint64_t *pfn;		/* PFN of each page, 0 if not present */
	uint64_t *mask;		/* bit per PFN: the pages to test */
	uint64_t *idle;		/* bit per PFN: found idle */
	uint64_t *acc;		/* bit per PFN: found accessed, to mark again */
	uint64_t nwords;
	uint64_t lo, hi;	/* words of @mask in use, if lo <= hi */
	uint64_t syscalls;
};

/* @pid: the VMM, 0 for this process. */
static void pi_ctx_init(struct pi_ctx *c, pid_t pid, const struct perf_vm *v)
{
	char path[64];

	memset(c, 0, sizeof(*c));
	c->bitmap_fd = open(PAGE_IDLE_PATH, O_RDWR);
	TEST_ASSERT(c->bitmap_fd >= 0, "open(%s) failed", PAGE_IDLE_PATH);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid ? pid : getpid());
	c->pagemap_fd = open(path, O_RDONLY);
	TEST_ASSERT(c->pagemap_fd >= 0, "open(%s) failed", path);
	c->kpageflags_fd = open("/proc/kpageflags", O_RDONLY);
	TEST_ASSERT(c->kpageflags_fd >= 0, "open(/proc/kpageflags) failed");
	c->batch = malloc(PAGEMAP_BATCH * 8);
	c->pfn = calloc(v->npages, 8);
	TEST_ASSERT(c->batch && c->pfn, "out of memory");
	c->lo = 1;
}

static void pi_ctx_free(struct pi_ctx *c)
{
	close(c->bitmap_fd);
	close(c->pagemap_fd);
	close(c->kpageflags_fd);
	free(c->batch);
	free(c->pfn);
	free(c->mask);
	free(c->idle);
	free(c->acc);
}

static uint64_t *grow(uint64_t *p, uint64_t old, uint64_t new)
{
	p = realloc(p, new * 8);
	TEST_ASSERT(p, "out of memory");
	memset(p + old, 0, (new - old) * 8);
	return p;
}

/* Make room for the bit of @pfn in the PFN-indexed bitmaps. */
static void pi_cover(struct pi_ctx *c, uint64_t pfn)
{
	uint64_t need = pfn / 64 + 1, n;

	if (need <= c->nwords)
		return;
	n = max(need, 2 * c->nwords);
	c->mask = grow(c->mask, c->nwords, n);
	c->idle = grow(c->idle, c->nwords, n);
	c->acc = grow(c->acc, c->nwords, n);
	c->nwords = n;
}

static void pi_pread(struct pi_ctx *c, int fd, void *buf, size_t len, off_t off,
		     const char *what)
{
	ssize_t n = pread(fd, buf, len, off);

	c->syscalls++;
	TEST_ASSERT(n == (ssize_t)len, "pread(%s, %zu at %#lx) returned %ld", what, len,
		    (unsigned long)off, (long)n);
}

/* Read (test) or write (mark idle) @n words of the bitmap from word @w. */
static void pi_bitmap_io(struct pi_ctx *c, bool write, uint64_t *buf, uint64_t w, uint64_t n)
{
	while (n) {
		size_t len = min(n, PAGE_IDLE_IO_WORDS) * 8;
		ssize_t ret;

		if (write)
			ret = pwrite(c->bitmap_fd, buf, len, w * 8);
		else
			ret = pread(c->bitmap_fd, buf, len, w * 8);
		c->syscalls++;
		TEST_ASSERT(ret > 0 && ret % 8 == 0, "%s of page_idle words at %lu returned %ld",
			    write ? "pwrite" : "pread", w, (long)ret);
		buf += ret / 8;
		w += ret / 8;
		n -= ret / 8;
	}
}

/*
 * Are the @n pages from @pfn[0] a THP mapped by one PMD?  Candidates are
 * 2M-aligned runs of 512 contiguous PFNs from a 512-aligned one; one read
 * of /proc/kpageflags tells a THP from 4K pages that happen to be so.
 */
static bool pi_thp_head(struct pi_ctx *c, const uint64_t *pfn, uint64_t addr, uint64_t n)
{
	uint64_t k, flags;

	if (n < IDLE_PAGES_PER_HUGE || addr % IDLE_HUGE_SIZE || !pfn[0] ||
	    pfn[0] % IDLE_PAGES_PER_HUGE)
		return false;
	for (k = 1; k < IDLE_PAGES_PER_HUGE; k++) {
		if (pfn[k] != pfn[0] + k)
			return false;
	}
	pi_pread(c, c->kpageflags_fd, &flags, 8, pfn[0] * 8, "kpageflags");
	return (flags >> KPF_THP) & 1;
}

/*
 * The batched pass: read pagemap in large batches, then, over each run of
 * bitmap words that hold PFNs of the test memory, read the bitmap (which
 * pages stayed idle since they were marked) and write it back with the
 * accessed ones (mark them idle again).  A THP is tested and marked through
 * its head page only: page_idle skips tail pages, so their bits would only
 * cost the kernel a loop over them.  The words are cleared for the next
 * pass first thing.
 */
static void pi_pass_batched(struct perf_vm *v, struct pi_ctx *c)
{
	uint64_t i, j, w, e, k;

	if (c->lo <= c->hi)
		memset(c->mask + c->lo, 0, (c->hi - c->lo + 1) * 8);
	c->lo = ~0ULL;
	c->hi = 0;
	c->syscalls = 0;

	for (i = 0; i < v->npages; i += PAGEMAP_BATCH) {
		uint64_t n = min(PAGEMAP_BATCH, v->npages - i);

		pi_pread(c, c->pagemap_fd, c->batch, n * 8, (v->start / IDLE_PAGE_SIZE + i) * 8,
			 "pagemap");
		for (j = 0; j < n; j++) {
			uint64_t ent = c->batch[j];

			c->pfn[i + j] = ent & PAGEMAP_PRESENT ? ent & PAGEMAP_PFN_MASK : 0;
		}
		for (j = 0; j < n; j++) {
			uint64_t pfn = c->pfn[i + j];

			if (!pfn)
				continue;
			pi_cover(c, pfn);
			c->mask[pfn / 64] |= 1ULL << (pfn % 64);
			c->lo = min(c->lo, pfn / 64);
			c->hi = max(c->hi, pfn / 64);
			if (pi_thp_head(c, c->pfn + i + j, v->start + (i + j) * IDLE_PAGE_SIZE,
					n - j))
				j += IDLE_PAGES_PER_HUGE - 1;
		}
	}

	for (w = c->lo; w <= c->hi && c->lo <= c->hi; w = e) {
		if (!c->mask[w]) {
			e = w + 1;
			continue;
		}
		for (e = w; e <= c->hi && c->mask[e]; e++)
			;
		pi_bitmap_io(c, false, c->idle + w, w, e - w);
		for (k = w; k < e; k++) {
			c->idle[k] &= c->mask[k];
			c->acc[k] = c->mask[k] & ~c->idle[k];
		}
		pi_bitmap_io(c, true, c->acc + w, w, e - w);
	}
}

static bool pi_pfn_idle(const struct pi_ctx *c, uint64_t pfn)
{
	return pfn && pfn / 64 < c->nwords && (c->idle[pfn / 64] >> (pfn % 64)) & 1;
}

/*
 * access_tracking_perf_test's loop: for each page a pread of its pagemap
 * entry, a pread of its bitmap word and, if it is not idle, a pwrite to mark
 * it.  The answer goes to v->reported directly.
 */
static void pi_pass_naive(struct perf_vm *v, struct pi_ctx *c)
{
	uint64_t i, ent, pfn, bits;

	c->syscalls = 0;
	for (i = 0; i < v->npages; i++) {
		pi_pread(c, c->pagemap_fd, &ent, 8, (v->start / IDLE_PAGE_SIZE + i) * 8,
			 "pagemap");
		pfn = ent & PAGEMAP_PRESENT ? ent & PAGEMAP_PFN_MASK : 0;
		c->pfn[i] = pfn;
		v->reported[i] = REP_NONE;
		if (!pfn)
			continue;
		pi_pread(c, c->bitmap_fd, &bits, 8, pfn / 64 * 8, "page_idle");
		if ((bits >> (pfn % 64)) & 1) {
			v->reported[i] = REP_IDLE;
			continue;
		}
		v->reported[i] = REP_ACCESSED;
		bits = 1ULL << (pfn % 64);
		TEST_ASSERT(pwrite(c->bitmap_fd, &bits, 8, pfn / 64 * 8) == 8,
			    "pwrite(page_idle) of PFN %#lx failed", pfn);
		c->syscalls++;
	}
}

static void pi_reported(struct perf_vm *v, const struct pi_ctx *c)
{
	uint64_t i;

	for (i = 0; i < v->npages; i++) {
		if (!c->pfn[i])
			v->reported[i] = REP_NONE;
		else
			v->reported[i] = pi_pfn_idle(c, c->pfn[i]) ? REP_IDLE : REP_ACCESSED;
	}
}

/*
 * How well v->reported matches @pat: the share of the units in the pattern
 * reported accessed, and of the others reported idle.  A unit's answer is
 * that of its first page (for a THP, page_idle answers for the head only).
 */
static void accuracy(const struct perf_vm *v, const struct pattern *pat, double *hit,
		     double *idle_ok)
{
	uint64_t step = 1ULL << pat->unit_shift, in = 0, in_a = 0, out = 0, out_i = 0, i;

	for (i = 0; i < v->npages; i += step) {
		if (pattern_has(pat, i >> pat->unit_shift)) {
			in++;
			in_a += v->reported[i] == REP_ACCESSED;
		} else {
			out++;
			out_i += v->reported[i] == REP_IDLE;
		}
	}
	*hit = in ? (double)in_a / in : 1;
	*idle_ok = out ? (double)out_i / out : 1;
}

/* Part "pass". */

static const char * const method_name[NR_METHODS] = {
	"idle_bitmap IDLE_BITMAP_SCAN (clear)",
	"idle_bitmap read() (clear)",
	"idle_bitmap IDLE_BITMAP_SCAN (peek, no clear)",
	"page_idle + pagemap, batched",
	"page_idle + pagemap, naive per-page loop",
};

struct method_stats {
	bool on;
	struct stats ms, hit, idle_ok;
	uint64_t calls, records, outside, sptes, young_sptes;
};

static const char *backing_label(const struct perf_vm *v)
{
	return v->backing;
}

static void print_stats_row(const char *table, const struct perf_vm *v, const char *what,
			    const struct stats *s, const char *extra)
{
	printf("@%s | %lu MiB | %s | %s | %.3f | %.3f | %.3f |%s\n", table, size_mib(v),
	       backing_label(v), what, stats_median(s), stats_min(s), stats_max(s),
	       extra ? extra : "");
}

/* One measured pass of method @m, after the guest wrote the units of @pat. */
static void pass_one(struct perf_vm *v, enum pass_method m, struct ib_ctx *ib,
		     struct pi_ctx *pi, struct ib_result *r, struct method_stats *st,
		     const struct pattern *pat, bool measure)
{
	uint64_t t0;
	double ms, hit, idle_ok;

	guest_touch_all_vcpus(v, pat);
	if (measure)
		perf_ctl(true);
	t0 = now_ns();
	switch (m) {
	case M_IB_IOCTL:
		ib_pass(ib, false, IDLE_BITMAP_SCAN_CLEAR, v->start, v->end, r);
		break;
	case M_IB_READ:
		ib_pass(ib, true, IDLE_BITMAP_SCAN_CLEAR, v->start, v->end, r);
		break;
	case M_IB_PEEK:
		ib_pass(ib, false, 0, v->start, v->end, r);
		break;
	case M_PI_BATCHED:
		pi_pass_batched(v, pi);
		break;
	default:
		pi_pass_naive(v, pi);
		break;
	}
	ms = ms_since(t0);
	if (measure)
		perf_ctl(false);

	if (m == M_PI_BATCHED)
		pi_reported(v, pi);
	else if (m != M_PI_NAIVE)
		ib_reported(v, r);
	accuracy(v, pat, &hit, &idle_ok);
	if (m == M_IB_PEEK) {
		/* Leave the state a clearing pass would, for the next method. */
		ib_pass(ib, false, IDLE_BITMAP_SCAN_CLEAR, v->start, v->end, r);
	}
	if (!measure)
		return;
	stats_add(&st->ms, ms);
	stats_add(&st->hit, hit * 100);
	stats_add(&st->idle_ok, idle_ok * 100);
	st->calls = m >= M_PI_BATCHED ? pi->syscalls : r->calls;
	st->outside = m >= M_PI_BATCHED ? 0 : r->outside;
	st->sptes = m >= M_PI_BATCHED ? 0 : v->sptes;
	st->young_sptes = m >= M_PI_BATCHED ? 0 : v->young_sptes;
	st->records = m >= M_PI_BATCHED ? 0 : r->recs.n;
	if (hit < PASS_ACCURACY_WARN || idle_ok < PASS_ACCURACY_WARN)
		printf("# WARNING: %s: written units accessed %.1f%%, others idle %.1f%%\n",
		       method_name[m], hit * 100, idle_ok * 100);
}

/* The ratio of the medians, and of the minimums, which noise hits least. */
static void print_ratio(const struct perf_vm *v, const char *a, const char *b,
			const struct stats *sa, const struct stats *sb)
{
	printf("@ratio | %lu MiB | %s | %s / %s | %.1fx | %.1fx |\n", size_mib(v), v->backing, a,
	       b, stats_median(sa) / stats_median(sb), stats_min(sa) / stats_min(sb));
}

static void part_pass(struct perf_vm *v, struct ib_ctx *ib, struct pi_ctx *pi)
{
	struct method_stats st[NR_METHODS] = {};
	struct ib_result r = {};
	struct pattern pat = { .kind = PAT_RANDOM, .arg = 50, .unit_shift = v->unit_shift };
	char extra[160], work[80];
	int rep, k, m;

	for (m = 0; m < NR_METHODS; m++)
		st[m].on = v->p->methods[m] && (m < M_PI_BATCHED || v->page_idle);
	if (v->npages * IDLE_PAGE_SIZE > v->p->naive_max)
		st[M_PI_NAIVE].on = false;
	if (!v->page_idle)
		printf("# pass: no page_idle: %s memory is not on the LRU, page_idle skips it\n",
		       v->backing);
	else if (!st[M_PI_NAIVE].on && v->p->methods[M_PI_NAIVE])
		printf("# pass: naive page_idle loop not measured above %lu MiB (-n)\n",
		       v->p->naive_max >> 20);
	printf("# pass: %lu MiB %s, %d repetitions, half of the %s pages written per pass\n",
	       size_mib(v), v->backing, v->p->reps, v->unit_shift ? "2M" : "4K");

	/* Rep -1 warms up: page_idle must have marked the pages once. */
	for (rep = -1; rep < v->p->reps; rep++) {
		for (k = 0; k < NR_METHODS; k++) {
			m = (k + max(rep, 0)) % NR_METHODS;
			if (!st[m].on)
				continue;
			pat.seed = (rep + 1) * NR_METHODS + m;
			pass_one(v, m, ib, pi, &r, &st[m], &pat, rep >= 0);
		}
		if (rep >= 0) {
			printf("# pass: repetition %d:", rep + 1);
			for (m = 0; m < NR_METHODS; m++) {
				if (st[m].on)
					printf(" %.1f", st[m].ms.v[rep]);
			}
			printf(" ms\n");
		}
		fflush(stdout);
	}

	if (st[M_IB_READ].on && st[M_IB_READ].outside)
		printf("# pass: read() also reported %lu pages of other memslots\n",
		       st[M_IB_READ].outside);
	for (m = 0; m < NR_METHODS; m++) {
		if (!st[m].on)
			continue;
		if (m >= M_PI_BATCHED)
			snprintf(work, sizeof(work), "- | - | -");
		else
			snprintf(work, sizeof(work), "%lu | %lu | %lu", st[m].records, st[m].sptes,
				 m == M_IB_PEEK ? 0 : st[m].young_sptes);
		snprintf(extra, sizeof(extra), " %lu | %s | %.1f | %.1f |", st[m].calls, work,
			 stats_median(&st[m].hit), stats_median(&st[m].idle_ok));
		print_stats_row("pass", v, method_name[m], &st[m].ms, extra);
	}
	for (m = M_IB_IOCTL; m <= M_IB_READ; m++) {
		if (st[M_PI_BATCHED].on && st[m].on)
			print_ratio(v, "page_idle batched", m == M_IB_IOCTL ? "IDLE_BITMAP_SCAN" :
					"read()", &st[M_PI_BATCHED].ms, &st[m].ms);
	}
	if (st[M_PI_NAIVE].on && st[M_IB_IOCTL].on)
		print_ratio(v, "page_idle naive (no claim)", "IDLE_BITMAP_SCAN",
			    &st[M_PI_NAIVE].ms, &st[M_IB_IOCTL].ms);
	idle_recs_free(&r.recs);
}

/* Part "guest". */

/*
 * The scanners.  The CPU burner touches no memory: under TCG the host has as
 * many CPUs as the machine has cores, shared with whatever else runs there,
 * so a second busy vCPU alone slows the guest; the burner measures that.
 */
enum scan_kind { SCAN_NONE, SCAN_BURN, SCAN_IB, SCAN_IB_NO_FLUSH, SCAN_PI, NR_SCANS };

static const char * const scan_name[NR_SCANS] = {
	"no scanner",
	"CPU burner (control: a busy process, no scan)",
	"idle_bitmap IDLE_BITMAP_SCAN (clear)",
	"idle_bitmap IDLE_BITMAP_SCAN (clear, NO_FLUSH)",
	"page_idle + pagemap, batched",
};

/*
 * The scanner runs in a process of its own, as a reclaim or tiering daemon
 * would: a thread of the VMM process would share its mm, and then every
 * zap of guest memory (MADV_DONTNEED) would have to shoot down that
 * thread's TLB with an IPI, which slows the guest whatever the thread does.
 * It is this program again, exec'd with SCANNER_ARG (posix_spawn does not
 * copy the VMM's memory), that scans the VMM's memory through /proc/PID
 * until SIGTERM and then prints how many passes it made.
 */
#define SCANNER_ARG		"--scanner"

struct scanner {
	struct perf_vm *v;
	enum scan_kind kind;
	uint64_t passes;
	struct ib_ctx ib;
	struct pi_ctx pi;
	struct ib_result r;
};

static bool scanner_stop;

static void scanner_on_term(int sig)
{
	WRITE_ONCE(scanner_stop, true);
}

static void scanner_loop(struct scanner *s)
{
	uint64_t flags = IDLE_BITMAP_SCAN_CLEAR;
	uint64_t t0;

	while (!READ_ONCE(scanner_stop)) {
		switch (s->kind) {
		case SCAN_BURN:
			/* Look at the stop flag every millisecond. */
			for (t0 = now_ns(); now_ns() - t0 < 1000000;)
				;
			continue;
		case SCAN_IB_NO_FLUSH:
			flags |= IDLE_BITMAP_SCAN_NO_FLUSH;
			fallthrough;
		case SCAN_IB:
			ib_pass(&s->ib, false, flags, s->v->start, s->v->end, &s->r);
			break;
		default:
			pi_pass_batched(s->v, &s->pi);
			break;
		}
		s->passes++;
	}
}

/* argv: SCANNER_ARG KIND PID START NPAGES BUF_BYTES TSC_MHZ CPU */
static int scanner_main(int argc, char *argv[])
{
	struct perf_vm v = {};
	struct scanner s = { .v = &v };
	pid_t pid;

	TEST_ASSERT(argc == 9, "bad scanner arguments");
	s.kind = atoi(argv[2]);
	pid = atoi(argv[3]);
	v.start = strtoull(argv[4], NULL, 0);
	v.npages = strtoull(argv[5], NULL, 0);
	v.end = v.start + v.npages * IDLE_PAGE_SIZE;
	tsc_per_ns = atof(argv[7]) / 1000;
	pin_to(atoi(argv[8]));
	signal(SIGTERM, scanner_on_term);
	if (s.kind == SCAN_IB || s.kind == SCAN_IB_NO_FLUSH)
		ib_ctx_init(&s.ib, pid, strtoull(argv[6], NULL, 0));
	else if (s.kind == SCAN_PI)
		pi_ctx_init(&s.pi, pid, &v);
	printf("ready\n");
	fflush(stdout);
	scanner_loop(&s);
	printf("%lu\n", s.passes);
	return 0;
}

struct scanner_proc {
	pid_t pid;
	FILE *out;
};

static void scanner_start(struct perf_vm *v, enum scan_kind kind, struct scanner_proc *sp)
{
	char a[7][32], line[32] = "", *argv[10];
	posix_spawn_file_actions_t fa;
	int fd[2], i;

	snprintf(a[0], sizeof(a[0]), "%d", kind);
	snprintf(a[1], sizeof(a[1]), "%d", getpid());
	snprintf(a[2], sizeof(a[2]), "%#lx", v->start);
	snprintf(a[3], sizeof(a[3]), "%lu", v->npages);
	snprintf(a[4], sizeof(a[4]), "%lu", v->p->buf_bytes);
	snprintf(a[5], sizeof(a[5]), "%.6f", tsc_per_ns * 1000);
	snprintf(a[6], sizeof(a[6]), "%d", v->p->nr_vcpus);
	argv[0] = "idle_bitmap_perf_test";
	argv[1] = SCANNER_ARG;
	for (i = 0; i < 7; i++)
		argv[2 + i] = a[i];
	argv[9] = NULL;

	TEST_ASSERT(!pipe(fd), "pipe() failed");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, fd[0]);
	TEST_ASSERT(!posix_spawn(&sp->pid, "/proc/self/exe", &fa, NULL, argv, environ),
		    "cannot start the scanner process");
	posix_spawn_file_actions_destroy(&fa);
	close(fd[1]);
	sp->out = fdopen(fd[0], "r");
	TEST_ASSERT(sp->out, "fdopen() failed");
	/* The KVM selftests' library may print a line first. */
	while (fgets(line, sizeof(line), sp->out) && strcmp(line, "ready\n"))
		;
	TEST_ASSERT(!strcmp(line, "ready\n"), "the scanner process did not start");
}

/* Stop the scanner; returns the number of passes it made. */
static uint64_t scanner_stop_wait(struct scanner_proc *sp)
{
	uint64_t passes = 0;
	char line[32];
	int status;

	kill(sp->pid, SIGTERM);
	while (fgets(line, sizeof(line), sp->out))
		passes = strtoull(line, NULL, 0);
	TEST_ASSERT(waitpid(sp->pid, &status, 0) == sp->pid && WIFEXITED(status) &&
		    !WEXITSTATUS(status), "the scanner process failed");
	fclose(sp->out);
	return passes;
}

/* Guest throughput in 4K pages per second with scanner @kind running. */
static double guest_run(struct perf_vm *v, enum scan_kind kind, int ms, double *passes_per_s)
{
	struct scanner_proc sp;
	double pages = 0, sec = 0;
	uint64_t t0, passes = 0;
	int i;

	WRITE_ONCE(v->rounds_stop, false);
	guest_set(v, GUEST_TOUCH, &(struct pattern){ .kind = PAT_ALL });
	if (kind != SCAN_NONE)
		scanner_start(v, kind, &sp);
	t0 = now_ns();
	vcpus_start(v, JOB_ROUNDS);
	usleep(ms * 1000);
	WRITE_ONCE(v->rounds_stop, true);
	vcpus_wait(v);
	if (kind != SCAN_NONE)
		passes = scanner_stop_wait(&sp);
	*passes_per_s = passes / ((now_ns() - t0) / 1e9);
	for (i = 0; i < v->p->nr_vcpus; i++) {
		pages += v->w[i].pages;
		sec = max(sec, v->w[i].ns / 1e9);
	}
	return pages / sec;
}

static void part_guest(struct perf_vm *v)
{
	struct stats tput[NR_SCANS] = {}, passes[NR_SCANS] = {};
	double pps, base, burn;
	char extra[96];
	int rep, k, m;

	printf("# guest: %lu MiB %s, %d vCPU(s), %d ms each, %d%% zapped per round\n",
	       size_mib(v), v->backing, v->p->nr_vcpus, v->p->guest_ms, v->p->refault_pct);
	check_spare_cpu(v, "guest");

	/* Warm up, and let page_idle mark the pages once. */
	guest_run(v, SCAN_NONE, v->p->guest_ms / 2, &pps);
	for (rep = 0; rep < v->p->reps; rep++) {
		for (k = 0; k < NR_SCANS; k++) {
			m = (k + rep) % NR_SCANS;
			if (m == SCAN_PI && !v->page_idle)
				continue;
			stats_add(&tput[m], guest_run(v, m, v->p->guest_ms, &pps) / 1e6);
			stats_add(&passes[m], pps);
		}
		printf("# guest: repetition %d:", rep + 1);
		for (m = 0; m < NR_SCANS; m++) {
			if (tput[m].n > rep)
				printf(" %.4f", tput[m].v[rep]);
		}
		printf(" Mpages/s\n");
		fflush(stdout);
	}

	base = stats_median(&tput[SCAN_NONE]);
	burn = stats_median(&tput[SCAN_BURN]);
	for (m = 0; m < NR_SCANS; m++) {
		if (!tput[m].n)
			continue;
		snprintf(extra, sizeof(extra), " %.1f%% | %.1f%% | %.2f |",
			 100 * stats_median(&tput[m]) / base, 100 * stats_median(&tput[m]) / burn,
			 m >= SCAN_IB ? stats_median(&passes[m]) : 0);
		print_stats_row("guest", v, scan_name[m], &tput[m], extra);
	}
}

/* Part "size". */

/*
 * What other formats would need for the decoded state of the test memory:
 * the 2018 RFC's one byte (4-bit type, 4-bit count) per run of up to 15
 * pages of one state and size, and PAGEMAP_SCAN's 24-byte page_region per
 * run of pages with the same categories (state, and huge or not).  Neither
 * counts the address of the range, which the caller knows.
 */
static void other_formats(const struct idle_map *m, uint64_t *wu, uint64_t *pms)
{
	uint64_t i = 0, j, n;

	*wu = 0;
	*pms = 0;
	while (i < m->npages) {
		uint8_t s = m->st[i];
		uint64_t per = 1;

		if (IDLE_MAP_SIZE(s) == IDLE_BITMAP_SIZE_2M)
			per = IDLE_PAGES_PER_HUGE;
		else if (IDLE_MAP_SIZE(s) == IDLE_BITMAP_SIZE_1G)
			per = IDLE_PAGES_PER_HUGE * IDLE_PAGES_PER_HUGE;

		for (j = i; j < m->npages && m->st[j] == s; j++)
			;
		n = (j - i + per - 1) / per;
		if (s != IDLE_MAP_NONE) {
			*wu += (n + 14) / 15;
			*pms += 24;
		}
		i = j;
	}
}

struct size_case {
	const char *name;
	struct pattern pat;
};

static void part_size(struct perf_vm *v, struct ib_ctx *ib)
{
	unsigned int us = v->unit_shift;
	const struct size_case cases[] = {
		{ "uniform idle", { .kind = PAT_NONE, .unit_shift = us } },
		{ "uniform accessed", { .kind = PAT_ALL, .unit_shift = us } },
		{ "random 50%", { .kind = PAT_RANDOM, .arg = 50, .seed = 1001, .unit_shift = us } },
		{ "random 5%", { .kind = PAT_RANDOM, .arg = 5, .seed = 1002, .unit_shift = us } },
		{ "alternating", { .kind = PAT_ALTERNATE, .unit_shift = us } },
	};
	uint64_t cap = v->npages / IDLE_BITMAP_MIXED_PAGES + 4096, wu, pms, bytes, bad, i;
	struct ib_ctx big = *ib;
	struct ib_result r = {};
	struct idle_map map;
	const char *suffix = us ? " (2M pages)" : "";
	double hit, idle_ok, np = v->npages;
	size_t c;

	/* One call if it fits, so that the records are those of the state only. */
	big.cap = cap;
	big.buf = malloc(cap * 8);
	TEST_ASSERT(big.buf, "out of memory");
	idle_map_init(&map, v->start, v->npages);
	printf("# size: %lu MiB %s, units of %s\n", size_mib(v), v->backing, us ? "2M" : "4K");
	for (c = 0; c < ARRAY_SIZE(cases); c++) {
		ib_pass(&big, false, IDLE_BITMAP_SCAN_CLEAR, v->start, v->end, &r);
		guest_touch_all_vcpus(v, &cases[c].pat);
		ib_pass(&big, false, IDLE_BITMAP_SCAN_CLEAR, v->start, v->end, &r);
		ib_reported(v, &r);
		accuracy(v, &cases[c].pat, &hit, &idle_ok);
		idle_map_reset(&map);
		idle_map_add(&map, &r.recs);
		for (i = 0, bad = 0; i < v->npages; i++)
			bad += map.st[i] == IDLE_MAP_NONE;
		other_formats(&map, &wu, &pms);
		bytes = r.recs.n * 8;
		printf("@size | %s | %s%s | %.4f | %.3f | %.4f | %.4f | %lu | %lu | %.1f/%.1f |\n",
		       v->backing, cases[c].name, suffix, bytes / np,
		       bytes * 8 / np, wu / np, pms / np, r.recs.n, r.calls, hit * 100,
		       idle_ok * 100);
		TEST_ASSERT(!bad, "%lu pages not reported", bad);
	}
	idle_map_free(&map);
	free(big.buf);
	idle_recs_free(&r.recs);
}

/* Part "flush". */

/*
 * How often vCPU 0 left the guest so far: each entry flushes TCG's TLB.
 * The first call must come while the vCPU is out of the guest: getting the
 * statistics file is a vCPU ioctl, which waits for KVM_RUN to return.
 */
static uint64_t vcpu0_exits(struct perf_vm *v)
{
	uint64_t val = 0;
	int i;

	if (!v->stats_desc) {
		v->stats_fd = vcpu_get_stats_fd(memstress_args.vcpu_args[0].vcpu);
		read_stats_header(v->stats_fd, &v->stats_hdr);
		v->stats_desc = read_stats_descriptors(v->stats_fd, &v->stats_hdr);
		for (i = 0; i < v->stats_hdr.num_desc; i++) {
			struct kvm_stats_desc *d = get_stats_descriptor(v->stats_desc, i,
									&v->stats_hdr);

			if (!strcmp(d->name, "exits"))
				v->exits_desc = d;
		}
	}
	if (v->exits_desc)
		read_stat_data(v->stats_fd, &v->stats_hdr, v->exits_desc, &val, 1);
	return val;
}

/*
 * While the guest writes the units of @pat over and over, @trials times:
 * clear [start, end) with or without the flush (timed), wait until the
 * guest went over its set twice, then peek.  Returns the share of the set
 * in [start, end) that the peeks found accessed; *@ms is the mean time of
 * the clearing passes, *@exits the mean number of exits of vCPU 0 from the
 * start of the clear to the end of the peek.
 */
static double flush_one(struct perf_vm *v, struct ib_ctx *ib, const struct pattern *pat,
			uint64_t start, uint64_t end, bool flush, int trials, double *ms,
			double *exits)
{
	uint64_t e0;
	uint64_t flags = IDLE_BITMAP_SCAN_CLEAR | (flush ? 0 : IDLE_BITMAP_SCAN_NO_FLUSH);
	uint64_t t0, in = 0, in_a = 0, step = 1ULL << pat->unit_shift, first, i;
	uint64_t npages = (end - start) / IDLE_PAGE_SIZE;
	struct ib_result r = {};
	struct idle_map m;
	int t;

	idle_map_init(&m, start, npages);
	first = (start - v->start) / IDLE_PAGE_SIZE;
	memset(v->cmd->loops, 0, sizeof(v->cmd->loops));
	guest_set(v, GUEST_SPIN, pat);
	vcpus_start(v, JOB_RUN);
	guest_wait_loops(v, 1);

	*ms = 0;
	*exits = 0;
	for (t = 0; t < trials; t++) {
		e0 = vcpu0_exits(v);
		t0 = now_ns();
		ib_pass(ib, false, flags, start, end, &r);
		*ms += ms_since(t0) / trials;
		guest_wait_loops(v, 2);
		ib_pass(ib, false, 0, start, end, &r);
		*exits += (double)(vcpu0_exits(v) - e0) / trials;

		idle_map_reset(&m);
		idle_map_add(&m, &r.recs);
		for (i = 0; i < npages; i += step) {
			if (!pattern_has(pat, (first + i) >> pat->unit_shift))
				continue;
			in++;
			in_a += m.st[i] != IDLE_MAP_NONE && IDLE_MAP_STATE(m.st[i]) == IBD_ACCESSED;
		}
	}

	WRITE_ONCE(v->cmd->stop, 1);
	vcpus_wait(v);
	idle_map_free(&m);
	idle_recs_free(&r.recs);
	return in ? 100.0 * in_a / in : 100;
}

static void part_flush(struct perf_vm *v, struct ib_ctx *ib)
{
	struct pattern half = { .kind = PAT_RANDOM, .arg = 50, .unit_shift = v->unit_shift };
	struct pattern hot = { .kind = PAT_HOT, .arg = PERF_HOT_UNITS,
			       .unit_shift = v->unit_shift };
	uint64_t hot_bytes = PERF_HOT_UNITS * IDLE_PAGE_SIZE << v->unit_shift;
	uint64_t hot_end = min(v->end, v->start + hot_bytes);
	struct stats ms[2][2] = {}, acc[2][2] = {}, exits[2][2] = {};
	const char *set_name[2] = { "half of the memory", "hot set" };
	char what[128];
	char extra[64];
	int rep, set, f;
	double t, x;

	printf("# flush: %lu MiB %s, %d repetitions; hot set: %d %s pages\n", size_mib(v),
	       v->backing, v->p->reps, PERF_HOT_UNITS, v->unit_shift ? "2M" : "4K");
	check_spare_cpu(v, "flush");
	for (rep = 0; rep < v->p->reps; rep++) {
		for (set = 0; set < 2; set++) {
			for (f = 0; f < 2; f++) {
				bool flush = (f + rep) % 2;

				half.seed = 5000 + rep;
				stats_add(&acc[set][flush],
					  flush_one(v, ib, set ? &hot : &half, v->start,
						    set ? hot_end : v->end, flush,
						    set ? PERF_HOT_TRIALS : 1, &t, &x));
				stats_add(&ms[set][flush], t);
				stats_add(&exits[set][flush], x);
			}
		}
		printf("# flush: repetition %d: found accessed with / without flush:", rep + 1);
		printf(" half %.1f / %.1f%%, hot %.1f / %.1f%%\n", acc[0][1].v[rep],
		       acc[0][0].v[rep], acc[1][1].v[rep], acc[1][0].v[rep]);
		fflush(stdout);
	}
	for (set = 0; set < 2; set++) {
		for (f = 1; f >= 0; f--) {
			snprintf(what, sizeof(what), "%s, %s", set_name[set],
				 f ? "with flush" : "IDLE_BITMAP_SCAN_NO_FLUSH");
			snprintf(extra, sizeof(extra), " %.1f |", stats_median(&exits[set][f]));
			print_stats_row("flush", v, what, &ms[set][f], NULL);
			print_stats_row("accuracy", v, what, &acc[set][f], extra);
		}
	}
}

/* Setup. */

static void check_mapping(struct perf_vm *v, struct ib_ctx *ib)
{
	struct ib_result r = {};
	struct idle_map m;
	uint64_t huge = 0, present = 0, i;

	ib_pass(ib, false, 0, v->start, v->end, &r);
	idle_map_init(&m, v->start, v->npages);
	idle_map_add(&m, &r.recs);
	for (i = 0; i < v->npages; i++) {
		if (m.st[i] == IDLE_MAP_NONE || IDLE_MAP_STATE(m.st[i]) == IBD_HOLE)
			continue;
		present++;
		huge += IDLE_MAP_SIZE(m.st[i]) != IDLE_BITMAP_SIZE_4K;
	}
	printf("# memory: %lu MiB %s at %#lx: %.1f%% mapped by KVM, %.1f%% by 2M or 1G SPTEs",
	       size_mib(v), v->backing, v->start, 100.0 * present / v->npages,
	       100.0 * huge / v->npages);
	if (v->p->backing == VM_MEM_SRC_ANONYMOUS_THP)
		printf(", %.1f%% THP in the host", 100.0 * idle_thp_bytes((void *)v->start) /
		       (v->npages * IDLE_PAGE_SIZE));
	printf("\n");
	if (v->unit_shift && huge < v->npages * 9 / 10)
		printf("# WARNING: under 90%% of the memory is mapped huge\n");
	idle_map_free(&m);
	idle_recs_free(&r.recs);
}

static void run(struct perf_params *p)
{
	struct perf_vm *v = calloc(1, sizeof(*v));
	struct ib_ctx ib;
	struct pi_ctx pi;
	uint64_t t0;
	int i;

	TEST_ASSERT(v, "out of memory");
	v->p = p;
	v->backing = vm_mem_backing_src_alias(p->backing)->name;
	v->unit_shift = get_backing_src_pagesz(p->backing) >= IDLE_HUGE_SIZE ? 9 : 0;
	v->page_idle = !is_backing_src_hugetlb(p->backing);
	v->spare_cpu = sysconf(_SC_NPROCESSORS_ONLN) > p->nr_vcpus;

	v->vm = memstress_create_vm(VM_MODE_DEFAULT, p->nr_vcpus, p->bytes / p->nr_vcpus, 1,
				    p->backing, true);
	v->start = (uint64_t)addr_gpa2hva(v->vm, memstress_args.gpa);
	v->npages = p->bytes / IDLE_PAGE_SIZE;
	v->end = v->start + p->bytes;
	v->cmd = addr_gva2hva(v->vm, (vm_vaddr_t)&guest_cmd);
	v->reported = malloc(v->npages);
	TEST_ASSERT(v->reported, "out of memory");
	sem_init(&v->done, 0, 0);
	for (i = 0; i < p->nr_vcpus; i++) {
		vcpu_arch_set_entry_point(memstress_args.vcpu_args[i].vcpu, guest_code);
		v->w[i].v = v;
		v->w[i].idx = i;
		sem_init(&v->w[i].go, 0, 0);
		pthread_create(&v->w[i].thread, NULL, vcpu_worker_main, &v->w[i]);
	}

	vcpu0_exits(v);
	pin_to(p->nr_vcpus);
	t0 = now_ns();
	guest_touch_all_vcpus(v, &(struct pattern){ .kind = PAT_ALL });
	printf("# memory: faulted in by the guest in %.1f s\n", ms_since(t0) / 1000);
	ib_ctx_init(&ib, 0, p->buf_bytes);
	check_mapping(v, &ib);
	if (v->page_idle)
		pi_ctx_init(&pi, 0, v);
	fflush(stdout);

	if (p->parts[PART_SIZE])
		part_size(v, &ib);
	if (p->parts[PART_PASS])
		part_pass(v, &ib, &pi);
	if (p->parts[PART_FLUSH])
		part_flush(v, &ib);
	/* Last: it zaps memory. */
	if (p->parts[PART_GUEST])
		part_guest(v);

	vcpus_start(v, JOB_EXIT);
	for (i = 0; i < p->nr_vcpus; i++)
		pthread_join(v->w[i].thread, NULL);
	ib_ctx_free(&ib);
	if (v->page_idle)
		pi_ctx_free(&pi);
	memstress_destroy_vm(v->vm);
	free(v->reported);
	free(v);
}

/* Set @on[i] for each name in the comma-separated @list that is @names[i]. */
static void parse_list(bool *on, const char * const *names, int n, const char *list)
{
	char *copy = strdup(list), *tok, *save = NULL;
	int i;

	TEST_ASSERT(copy, "out of memory");
	memset(on, 0, n * sizeof(*on));
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < n && strcmp(tok, names[i]); i++)
			;
		TEST_ASSERT(i < n, "unknown name '%s' in '%s'", tok, list);
		on[i] = true;
	}
	free(copy);
}

static void help(const char *name)
{
	printf("usage: %s [-h] [-b bytes] [-s mem_type] [-v vcpus] [-r reps] [-B buf_bytes]\n"
	       "          [-p parts] [-M methods] [-d ms] [-f percent] [-n bytes] [-T mhz]\n\n",
	       name);
	printf(" -b: guest memory to measure, all vCPUs together, e.g. 256M or 1G\n"
	       "     (default: 256M; a multiple of 2M per vCPU)\n");
	backing_src_help("-s");
	printf(" -v: number of vCPUs (default: 1; the scanner needs a CPU of its own)\n");
	printf(" -r: repetitions of each measurement (default: %d, the least for a report)\n",
	       PERF_MIN_REPS);
	printf(" -B: read() buffer and IDLE_BITMAP_SCAN vector in bytes (default: 1M)\n");
	printf(" -p: parts to run, comma-separated, of %s (default: all)\n", PARTS_ALL);
	printf(" -M: methods of the pass part, of %s (default: all)\n", METHODS_ALL);
	printf(" -d: milliseconds of each guest throughput measurement (default: 3000)\n");
	printf(" -f: percent of its memory each vCPU zaps after each round of the guest\n"
	       "     throughput part, so that the next round faults it in (default: 5)\n");
	printf(" -n: time the naive page_idle loop only up to this much memory\n"
	       "     (default: 64M; it takes about a second per MiB under TCG)\n");
	printf(" -T: the TSC rate in MHz (default: measured against CLOCK_MONOTONIC)\n");
	puts("");
	exit(0);
}

int main(int argc, char *argv[])
{
	struct perf_params p = {
		.backing = VM_MEM_SRC_ANONYMOUS,
		.bytes = 256UL << 20,
		.nr_vcpus = 1,
		.reps = PERF_MIN_REPS,
		.buf_bytes = 1UL << 20,
		.guest_ms = 3000,
		.refault_pct = 5,
		.naive_max = 64UL << 20,
	};
	double tsc_mhz = 0;
	int opt;

	if (argc > 1 && !strcmp(argv[1], SCANNER_ARG))
		return scanner_main(argc, argv);

	parse_list(p.parts, part_name, NR_PARTS, PARTS_ALL);
	parse_list(p.methods, method_key, NR_METHODS, METHODS_ALL);
	while ((opt = getopt(argc, argv, "hb:s:v:r:B:p:M:d:f:n:T:")) != -1) {
		switch (opt) {
		case 'b':
			p.bytes = parse_size(optarg);
			break;
		case 's':
			p.backing = parse_backing_src_type(optarg);
			break;
		case 'v':
			p.nr_vcpus = atoi_positive("Number of vCPUs", optarg);
			break;
		case 'r':
			p.reps = atoi_positive("Repetitions", optarg);
			break;
		case 'B':
			p.buf_bytes = parse_size(optarg);
			break;
		case 'p':
			parse_list(p.parts, part_name, NR_PARTS, optarg);
			break;
		case 'M':
			parse_list(p.methods, method_key, NR_METHODS, optarg);
			break;
		case 'd':
			p.guest_ms = atoi_positive("Milliseconds", optarg);
			break;
		case 'f':
			p.refault_pct = atoi_non_negative("Percent", optarg);
			break;
		case 'n':
			p.naive_max = parse_size(optarg);
			break;
		case 'T':
			tsc_mhz = atof(optarg);
			TEST_ASSERT(tsc_mhz > 0, "-T: the TSC rate in MHz");
			break;
		case 'h':
		default:
			help(argv[0]);
		}
	}
	TEST_ASSERT(p.nr_vcpus <= PERF_MAX_VCPUS, "at most %d vCPUs", PERF_MAX_VCPUS);
	TEST_ASSERT(p.reps <= PERF_MAX_REPS, "at most %d repetitions", PERF_MAX_REPS);
	TEST_ASSERT(p.refault_pct <= 50, "-f: at most 50 percent");
	TEST_ASSERT(p.bytes && !(p.bytes % (p.nr_vcpus * IDLE_HUGE_SIZE)),
		    "-b must be a multiple of 2M per vCPU");
	if (p.reps < PERF_MIN_REPS)
		printf("# WARNING: %d repetitions; a report needs at least %d\n", p.reps,
		       PERF_MIN_REPS);

	idle_require_support();
	clock_calibrate(tsc_mhz);
	perf_ctl_open();
	__TEST_REQUIRE(!access(PAGE_IDLE_PATH, F_OK),
		       "no " PAGE_IDLE_PATH " (needs CONFIG_IDLE_PAGE_TRACKING=y)");
	if (p.backing == VM_MEM_SRC_ANONYMOUS_THP)
		__TEST_REQUIRE(idle_thp_enable(), "THP is not available");
	if (is_backing_src_hugetlb(p.backing))
		__TEST_REQUIRE(idle_hugetlb_reserve(p.bytes / IDLE_HUGE_SIZE + 16),
			       "cannot reserve %lu hugetlb pages", p.bytes / IDLE_HUGE_SIZE + 16);

	run(&p);
	return 0;
}
