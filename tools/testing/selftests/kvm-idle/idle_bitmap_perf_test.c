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
 * backed as -s says (4K anonymous, THP, hugetlb 2M or 1G), split between -v
 * vCPUs.  Every page is faulted in first.  The guest's patterns are made of
 * units, one per backing page: 4K, 2M or 1G.  Then, side by side on that
 * same memory:
 *
 * pass:  the time of one test-and-clear pass over the memslot, with half of
 *	  the pages (half of the 2M pages with 2M backing) written by the guest
 *	  since the last pass (half of the 1G pages with 1G backing: with one
 *	  1G page, all of it or nothing).  idle_bitmap is read with
 *	  IDLE_BITMAP_SCAN and with read(), both with large buffers (-B), and
 *	  peeked (no clear) to split the cost.  page_idle gets its best
 *	  showing ("batched"): pagemap
 *	  is read in large batches, and the bitmap is read and then written a
 *	  64-bit word at a time over contiguous runs of PFNs, one system call per
 *	  run (at most 4K of bitmap, the most sysfs moves per call); only the
 *	  pages found accessed are marked idle again, since the read already
 *	  cleared the others' Accessed bits and left them marked idle; a THP
 *	  is tested and marked through its head page only.  The
 *	  per-page loop of access_tracking_perf_test ("naive": pread of pagemap,
 *	  pread of the bitmap word, pwrite of one bit) is timed too, up to -n
 *	  bytes of memory, but ratios are claimed against the batched pass only.
 *	  Each pass is checked against what the guest wrote.  In the same
 *	  repetitions, the physical-limit proxy: a sequential read in user
 *	  space of as many u64 as the peek visited leaf SPTEs, which is what a
 *	  walk that only loaded each leaf SPTE once would read (see
 *	  proxy_read_ms()); the peek over that read is the overhead of the
 *	  walk ("@proxy").  And the scaling row ("@scale"): the clearing pass
 *	  per 4K page and per leaf SPTE, which scripts/bench.sh puts side by
 *	  side for runs of different sizes.
 *
 * guest: guest throughput (4K pages written per second) while another
 *	  process scans the memslot with each interface, flat out, and with
 *	  IDLE_BITMAP_SCAN (clear) also at one pass per second; with no
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
 * damon: not in the default parts.  The working-set estimate, and the CPU
 *	  it costs, of DAMON's virtual-address monitoring of this process (the
 *	  VMM) through /sys/kernel/mm/damon/admin, at DAMON's default sampling
 *	  (5 ms samples, 100 ms aggregation) and tighter (1 ms, 20 ms), next
 *	  to idle_bitmap clearing passes at 1 and 10 per second, while the
 *	  vCPUs write a fixed hot set (-w percent of the units; the first ones,
 *	  or scattered at random with -W) over and over and the rest stays
 *	  cold.  Each method is measured over a window of -t seconds after a
 *	  second of warm-up; the error is against the hot set's size.  See
 *	  part_damon().  Without DAMON in the kernel it prints why and skips.
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
 *   per-CPU batch for a while, hugetlb pages (2M and 1G) are never on the
 *   LRU (page_idle is not measured with hugetlb backing), and tail pages of
 *   a THP are skipped, its head stands for the whole folio.
 *
 * - Noise.  Other work on the machine changes timings between repetitions;
 *   the methods are interleaved within each repetition so that drift hits
 *   all of them alike, and the spread is printed.
 */
#include <dirent.h>
#include <emmintrin.h>
#include <errno.h>
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

#define PARTS_ALL		"pass,guest,size,flush,damon"
/* The damon part takes minutes and needs DAMON: only when asked for. */
#define PARTS_DEFAULT		"pass,guest,size,flush"

enum part { PART_PASS, PART_GUEST, PART_SIZE, PART_FLUSH, PART_DAMON, NR_PARTS };

static const char * const part_name[NR_PARTS] = {
	"pass", "guest", "size", "flush", "damon",
};

/* Which pages the guest writes: units in a pattern. */
enum pattern_kind { PAT_NONE, PAT_ALL, PAT_RANDOM, PAT_ALTERNATE, PAT_HOT };

struct pattern {
	uint32_t kind;
	uint32_t arg;		/* percent for PAT_RANDOM, units for PAT_HOT */
	uint64_t seed;
	uint32_t unit_shift;	/* a unit is 2^unit_shift 4K pages */
};

/* unit_shift of 2M and 1G units. */
#define UNIT_SHIFT_2M		9
#define UNIT_SHIFT_1G		18

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
	int hot_pct;		/* damon: the hot set, percent of the units */
	bool hot_scatter;	/* damon: hot units at random, not the first ones */
	int window_s;		/* damon: seconds of each measurement */
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

/* Sleep until CLOCK_MONOTONIC reaches @ns; a signal cuts it short. */
static void sleep_until(uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / NSEC_PER_SEC, .tv_nsec = ns % NSEC_PER_SEC };

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* Sleep until the next multiple of @period_ns since @start_ns. */
static void sleep_to_next_period(uint64_t start_ns, uint64_t period_ns)
{
	sleep_until(start_ns + ((mono_ns() - start_ns) / period_ns + 1) * period_ns);
}

/* The CPU time of the calling thread, in ns. */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
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

/* The unit of the guest's patterns: one backing page. */
static const char *unit_name(const struct perf_vm *v)
{
	return v->unit_shift >= UNIT_SHIFT_1G ? "1G" : v->unit_shift ? "2M" : "4K";
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
	/* Whole 2M ranges, or whole backing pages if larger (hugetlb 1G). */
	uint64_t gran = max(IDLE_HUGE_SIZE, IDLE_PAGE_SIZE << v->unit_shift);
	uint64_t zap = size * v->p->refault_pct / 100 / gran * gran;
	uint64_t off = 0, t0 = now_ns();

	if (v->p->refault_pct && !zap)
		zap = gran;
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

/* Check and count the records of @r's pass, pages [@start, @end). */
static void ib_count(struct ib_result *r, uint64_t start, uint64_t end)
{
	struct ib_count cnt = { .res = r, .start = start, .end = end };
	size_t bad = 0;
	int ret;

	r->outside = 0;
	memset(r->pages, 0, sizeof(r->pages));
	ret = ibd_decode(r->recs.rec, r->recs.n, ib_count_extent, &cnt, NULL, &bad);
	TEST_ASSERT(!ret, "malformed reply: record %zu of %zu is %#lx", bad, r->recs.n,
		    r->recs.rec[bad]);
}

/*
 * @flags are IDLE_BITMAP_SCAN_* flags; with @use_read, read() from the
 * O_RDWR file clears and from the O_RDONLY one peeks (NO_FLUSH is ignored).
 * The records are only kept in @r->recs, as they came: the timed part of a
 * pass, like page_idle's, ends with the answer in memory.  Every reply
 * starts with an ADDR record, so the concatenation decodes as one reply.
 */
static void ib_pass_raw(struct ib_ctx *c, bool use_read, uint64_t flags, uint64_t start,
			uint64_t end, struct ib_result *r)
{
	uint64_t cur = start, walk_end;
	int fd = flags & IDLE_BITMAP_SCAN_CLEAR ? c->fd : c->peek_fd;
	ssize_t n;
	long ret;

	r->calls = 0;
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
			idle_recs_add(&r->recs, c->buf, n / 8);
			cur = lseek(fd, 0, SEEK_CUR);
		} else {
			ret = idle_scan(c->fd, flags, cur, end, c->buf, c->cap, &walk_end);
			TEST_ASSERT(ret >= 0, "IDLE_BITMAP_SCAN at %#lx failed", cur);
			if (!ret)
				break;
			idle_recs_add(&r->recs, c->buf, ret);
			cur = walk_end;
		}
	}
}

/* A pass whose records are checked and counted in @r->pages, as users do. */
static void ib_pass(struct ib_ctx *c, bool use_read, uint64_t flags, uint64_t start,
		    uint64_t end, struct ib_result *r)
{
	ib_pass_raw(c, use_read, flags, start, end, r);
	ib_count(r, start, end);
}

/*
 * The answer of the last pass for each page of the test memory.  Also
 * counts the walker's work that the answer implies: it visits each leaf
 * SPTE once, and with a clear does one cmpxchg per accessed one.
 */
static void ib_reported(struct perf_vm *v, const struct ib_result *r)
{
	uint64_t i, small = 0, huge = 0, giga = 0, small_a = 0, huge_a = 0, giga_a = 0;
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
		} else if (IDLE_MAP_SIZE(s) == IDLE_BITMAP_SIZE_2M) {
			huge++;
			huge_a += a;
		} else {
			giga++;
			giga_a += a;
		}
	}
	v->sptes = small + huge / IDLE_PAGES_PER_HUGE + giga / IDLE_PAGES_PER_GIGA;
	v->young_sptes = small_a + huge_a / IDLE_PAGES_PER_HUGE + giga_a / IDLE_PAGES_PER_GIGA;
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
		ib_pass_raw(ib, false, IDLE_BITMAP_SCAN_CLEAR, v->start, v->end, r);
		break;
	case M_IB_READ:
		ib_pass_raw(ib, true, IDLE_BITMAP_SCAN_CLEAR, v->start, v->end, r);
		break;
	case M_IB_PEEK:
		ib_pass_raw(ib, false, 0, v->start, v->end, r);
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

	/* Decoding the answer is not timed, for either interface. */
	if (m == M_PI_BATCHED) {
		pi_reported(v, pi);
	} else if (m != M_PI_NAIVE) {
		ib_count(r, v->start, v->end);
		ib_reported(v, r);
	}
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

/*
 * The physical-limit proxy: a sequential read in user space of as many u64
 * as a pass visits leaf SPTEs, what a walk that only loaded each leaf SPTE
 * once would cost.  The loads are plain and summed in SSE2 registers, four
 * sums apart so that the adds do not wait on each other: nothing stops the
 * read from going as fast as the memory allows, and the sum is kept, so
 * that it cannot be left out.
 *
 * One read of 262144 u64 (1 GiB of 4K, 2 MiB) takes about 100 us natively,
 * and fewer u64 (2M backing) much less: one read between two TSC reads
 * would be at the mercy of a single interrupt, and a read repeated over the
 * same array would come from the cache that the previous one filled, as
 * the SPTEs of a pass, with the guest running since the last one, need not.
 * So each measurement reads PROXY_MIN_BYTES or more: distinct copies of the
 * array one after the other, each as long as the SPTEs, and divides its
 * time (from the TSC) by the number of copies.  The memory is written
 * first, so that no page fault is timed.
 */
#define PROXY_MIN_BYTES		(64UL << 20)

struct proxy {
	uint64_t *buf;
	uint64_t n;		/* u64 per read: the leaf SPTEs */
	uint64_t stride;	/* u64 from one copy to the next: n rounded up to 8 */
	uint64_t copies;
};

static uint64_t proxy_sink;

static void proxy_init(struct proxy *px, uint64_t n)
{
	uint64_t i;

	px->n = max(n, 1UL);
	px->stride = (px->n + 7) & ~7UL;
	px->copies = max(PROXY_MIN_BYTES / (px->stride * 8), 1UL);
	TEST_ASSERT(!posix_memalign((void **)&px->buf, 64, px->stride * px->copies * 8),
		    "out of memory");
	for (i = 0; i < px->stride * px->copies; i++)
		px->buf[i] = i;
}

static uint64_t proxy_sum(const uint64_t *a, uint64_t n)
{
	const __m128i *p = (const __m128i *)a;
	__m128i s0 = _mm_setzero_si128(), s1 = s0, s2 = s0, s3 = s0;
	uint64_t i;

	for (i = 0; i + 8 <= n; i += 8, p += 4) {
		s0 = _mm_add_epi64(s0, _mm_load_si128(p));
		s1 = _mm_add_epi64(s1, _mm_load_si128(p + 1));
		s2 = _mm_add_epi64(s2, _mm_load_si128(p + 2));
		s3 = _mm_add_epi64(s3, _mm_load_si128(p + 3));
	}
	s0 = _mm_add_epi64(_mm_add_epi64(s0, s1), _mm_add_epi64(s2, s3));
	s0 = _mm_add_epi64(s0, _mm_unpackhi_epi64(s0, s0));
	for (; i < n; i++)
		s0 = _mm_add_epi64(s0, _mm_cvtsi64_si128(a[i]));
	return _mm_cvtsi128_si64(s0);
}

/* The time of one read of the px->n u64, in ms. */
static double proxy_read_ms(struct proxy *px)
{
	uint64_t c, sum = 0, t0 = now_ns();

	for (c = 0; c < px->copies; c++)
		sum += proxy_sum(px->buf + c * px->stride, px->n);
	WRITE_ONCE(proxy_sink, sum);
	return ms_since(t0) / px->copies;
}

static void part_pass(struct perf_vm *v, struct ib_ctx *ib, struct pi_ctx *pi)
{
	struct method_stats st[NR_METHODS] = {};
	struct ib_result r = {};
	struct pattern pat = { .kind = PAT_RANDOM, .arg = 50, .unit_shift = v->unit_shift };
	struct proxy px = {};
	struct stats proxy_ms = {};
	const struct stats *ms;
	char extra[160], work[80];
	int rep, k, m;
	double t;

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
	       size_mib(v), v->backing, v->p->reps, unit_name(v));

	/* Rep -1 warms up: page_idle must have marked the pages once. */
	for (rep = -1; rep < v->p->reps; rep++) {
		for (k = 0; k < NR_METHODS; k++) {
			m = (k + max(rep, 0)) % NR_METHODS;
			if (!st[m].on)
				continue;
			pat.seed = (rep + 1) * NR_METHODS + m;
			pass_one(v, m, ib, pi, &r, &st[m], &pat, rep >= 0);
		}
		/* The proxy reads as many u64 as the peek visited leaf SPTEs. */
		if (st[M_IB_PEEK].on) {
			if (!px.buf)
				proxy_init(&px, v->sptes);
			t = proxy_read_ms(&px);
			if (rep >= 0)
				stats_add(&proxy_ms, t);
		}
		if (rep >= 0) {
			printf("# pass: repetition %d:", rep + 1);
			for (m = 0; m < NR_METHODS; m++) {
				if (st[m].on)
					printf(" %.1f", st[m].ms.v[rep]);
			}
			printf(" ms");
			if (proxy_ms.n)
				printf("; u64 read %.6f ms", proxy_ms.v[rep]);
			printf("\n");
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

	/*
	 * Leaf SPTEs, the peek's median, the read's (in ms with six decimals:
	 * with 2M or 1G backing it reads a few u64), the ratio of the medians
	 * and of the minimums.
	 */
	if (st[M_IB_PEEK].on) {
		ms = &st[M_IB_PEEK].ms;
		if (st[M_IB_PEEK].sptes != px.n)
			printf("# proxy: the peek visited %lu leaf SPTEs, the read has %lu u64\n",
			       st[M_IB_PEEK].sptes, px.n);
		printf("@proxy | %lu MiB | %s | %lu | %.3f | %.6f | %.1fx | %.1fx |\n",
		       size_mib(v), v->backing, px.n, stats_median(ms), stats_median(&proxy_ms),
		       stats_median(ms) / stats_median(&proxy_ms),
		       stats_min(ms) / stats_min(&proxy_ms));
		free(px.buf);
	}
	/* Leaf SPTEs, clearing pass median, ns per 4K page and per leaf SPTE. */
	if (st[M_IB_IOCTL].on) {
		t = stats_median(&st[M_IB_IOCTL].ms) * 1e6;
		printf("@scale | %lu MiB | %s | %lu | %.3f | %.3f | %.3f |\n", size_mib(v),
		       v->backing, st[M_IB_IOCTL].sptes, t / 1e6, t / v->npages,
		       st[M_IB_IOCTL].sptes ? t / st[M_IB_IOCTL].sptes : 0);
	}
	idle_recs_free(&r.recs);
}

/* Part "guest". */

/*
 * The scanners.  The CPU burner touches no memory: under TCG the host has as
 * many CPUs as the machine has cores, shared with whatever else runs there,
 * so a second busy vCPU alone slows the guest; the burner measures that.
 */
enum scan_kind {
	SCAN_NONE, SCAN_BURN, SCAN_IB, SCAN_IB_NO_FLUSH, SCAN_IB_1S, SCAN_PI, NR_SCANS
};

static const char * const scan_name[NR_SCANS] = {
	"no scanner",
	"CPU burner (control: a busy process, no scan)",
	"idle_bitmap IDLE_BITMAP_SCAN (clear)",
	"idle_bitmap IDLE_BITMAP_SCAN (clear, NO_FLUSH)",
	"idle_bitmap IDLE_BITMAP_SCAN (clear, 1 pass/s)",
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

/*
 * Scan until SIGTERM: flat out, or (SCAN_IB_1S) one pass at the start of
 * each second since the first, sleeping in between; SIGTERM cuts the sleep
 * short.
 */
static void scanner_loop(struct scanner *s)
{
	uint64_t flags = IDLE_BITMAP_SCAN_CLEAR;
	uint64_t t0, start = mono_ns();

	while (!READ_ONCE(scanner_stop)) {
		switch (s->kind) {
		case SCAN_BURN:
			/* Look at the stop flag every millisecond. */
			for (t0 = now_ns(); now_ns() - t0 < 1000000;)
				;
			continue;
		case SCAN_IB_1S:
			ib_pass(&s->ib, false, flags, s->v->start, s->v->end, &s->r);
			s->passes++;
			if (!READ_ONCE(scanner_stop))
				sleep_to_next_period(start, NSEC_PER_SEC);
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
	if (s.kind == SCAN_IB || s.kind == SCAN_IB_NO_FLUSH || s.kind == SCAN_IB_1S)
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
	double hit, idle_ok, np = v->npages;
	char suffix[16] = "";
	size_t c;

	if (us)
		snprintf(suffix, sizeof(suffix), " (%s pages)", unit_name(v));

	/* One call if it fits, so that the records are those of the state only. */
	big.cap = cap;
	big.buf = malloc(cap * 8);
	TEST_ASSERT(big.buf, "out of memory");
	idle_map_init(&map, v->start, v->npages);
	printf("# size: %lu MiB %s, units of %s\n", size_mib(v), v->backing, unit_name(v));
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
	       v->backing, v->p->reps, PERF_HOT_UNITS, unit_name(v));
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

/* Part "damon". */

/*
 * DAMON's virtual-address monitoring of this process, the VMM, against
 * idle_bitmap's clearing passes, on the same hot set.
 *
 * What DAMON sees (mm/damon/vaddr.c): every sampling interval it picks one
 * address at random in each of its regions and tests, then clears, the
 * Accessed bit of its mapping in the VMM's page table.  The test also asks
 * the secondary MMUs: damon_va_young() calls mmu_notifier_test_young(),
 * which for KVM reads the Accessed bit of the SPTE (kvm_test_age_gfn()),
 * and the clear (damon_ptep_mkold() through ptep_clear_young_notify(),
 * damon_hugetlb_mkold() through mmu_notifier_clear_young()) clears the
 * SPTE's as well (kvm_age_gfn()), without a TLB flush.  The guest sets only
 * the Accessed bits of the SPTEs, so it is through KVM's notifier that DAMON
 * sees the guest at all.  A region's nr_accesses is the number of samples
 * of an aggregation interval that found its address accessed; the regions
 * are split and merged by those counts, 10 to 1000 of them for the whole
 * address space of the process, of which the memslot is one part.  A 4K
 * page that is not on the LRU is never found accessed (damon_get_folio()).
 *
 * The estimate: for DAMON, the bytes of the regions with nr_accesses > 0,
 * clipped to the memslot, at the end of the window: read through a "stat"
 * scheme that matches every region, after "update_schemes_tried_regions";
 * for idle_bitmap, the bytes that the last clearing pass of the window
 * reported ACCESSED, that is what the guest wrote in the last second (1
 * pass/s) or tenth of a second (10 passes/s), not a union over passes.
 * The truth: the hot set, which the guest goes over again and again; its
 * loops per second are printed, so that one can check that a loop fits in
 * the shortest window, 100 ms.  The error printed is the median over the
 * repetitions of |estimate - truth| / truth.
 *
 * Two things to keep in mind when reading DAMON's numbers.  The sysfs
 * nr_accesses of a region is its nr_accesses_bp / 10000, rounded down, so
 * a region found accessed in less than one sample per aggregation on
 * average reads 0.  And a hot page is one the guest writes once per loop:
 * under TCG a loop over hundreds of MiB takes tens of milliseconds, longer
 * than DAMON's sampling interval, so that a sample at a hot page often
 * finds it not accessed since the previous one; on hardware the loops are
 * much faster.  idle_bitmap's passes see every write since the last pass.
 *
 * CPU: kdamond's CPU time, from /proc/PID/schedstat (time on a CPU, in ns)
 * where the kernel has it (CONFIG_SCHED_INFO), else utime + stime from
 * /proc/PID/stat (in clock ticks); and the CPU time of the thread that
 * makes the passes (CLOCK_THREAD_CPUTIME_ID; it also decodes the records,
 * as a user would).  Both over the window, per second of it.
 */
#define DAMON_ADMIN		"/sys/kernel/mm/damon/admin"
#define DAMON_KD		DAMON_ADMIN "/kdamonds/0"
#define DAMON_CTX		DAMON_KD "/contexts/0"
#define DAMON_ATTRS		DAMON_CTX "/monitoring_attrs"
#define DAMON_SCHEME		DAMON_CTX "/schemes/0"
/* Seconds of monitoring, or of passes, before each measured window. */
#define DAMON_WARMUP_S		1
/* Requests for the regions before giving up, see damon_measure(). */
#define DAMON_SNAPSHOT_TRIES	5

enum wss_method { WSS_DAMON, WSS_DAMON_TIGHT, WSS_IB_1, WSS_IB_10, NR_WSS };

static const struct wss_setting {
	const char *method;
	const char *setting;
	unsigned long sample_us, aggr_us;	/* DAMON */
	unsigned long period_ms;		/* idle_bitmap */
} wss_setting[NR_WSS] = {
	{ "DAMON", "default (5ms/100ms)", 5000, 100000, 0 },
	{ "DAMON", "tight (1ms/20ms)", 1000, 20000, 0 },
	{ "idle_bitmap", "1 pass/s", 0, 0, 1000 },
	{ "idle_bitmap", "10 passes/s", 0, 0, 100 },
};

struct wss_sample {
	double bytes;		/* the estimate */
	double cpu;		/* ms of CPU per second */
	uint64_t n;		/* DAMON: regions in the memslot; idle_bitmap: passes */
	int retries;		/* DAMON: snapshots that listed no region */
};

static bool damon_owned;

/* Write @val to the DAMON sysfs file @path; returns 0 or an errno. */
static int damon_write(const char *path, const char *val)
{
	ssize_t len = strlen(val), n;
	int fd = open(path, O_WRONLY), err;

	if (fd < 0)
		return errno;
	n = write(fd, val, len);
	err = n == len ? 0 : n < 0 ? errno : EIO;
	close(fd);
	return err;
}

static void damon_set(const char *path, const char *val)
{
	int err = damon_write(path, val);

	TEST_ASSERT(!err, "writing '%s' to %s failed: %s", val, path, strerror(err));
}

static void damon_set_ul(const char *path, unsigned long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lu", val);
	damon_set(path, buf);
}

static bool read_long(const char *path, long *val)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fscanf(f, "%ld", val) == 1;
	fclose(f);
	return ok;
}

/* Stop and remove the kdamond that damon_setup() made. */
static void damon_cleanup(void)
{
	if (!damon_owned)
		return;
	damon_write(DAMON_KD "/state", "off");
	damon_write(DAMON_ADMIN "/kdamonds/nr_kdamonds", "0");
	damon_owned = false;
}

/*
 * Kdamond 0, with one context that monitors this process and one "stat"
 * scheme that matches every region: its tried regions are the result.
 * Returns false, with the reason in @why, where DAMON cannot be measured.
 */
static bool damon_setup(char *why, size_t len)
{
	char pid[16];
	const char * const set[][2] = {
		{ DAMON_ADMIN "/kdamonds/nr_kdamonds", "1" },
		{ DAMON_KD "/contexts/nr_contexts", "1" },
		{ DAMON_CTX "/operations", "vaddr" },
		{ DAMON_CTX "/targets/nr_targets", "1" },
		{ DAMON_CTX "/targets/0/pid_target", pid },
		{ DAMON_ATTRS "/nr_regions/max", "1000" },
		{ DAMON_ATTRS "/nr_regions/min", "10" },
		{ DAMON_ATTRS "/intervals/update_us", "1000000" },
		{ DAMON_CTX "/schemes/nr_schemes", "1" },
		{ DAMON_SCHEME "/action", "stat" },
		{ DAMON_SCHEME "/access_pattern/sz/max", "18446744073709551615" },
		{ DAMON_SCHEME "/access_pattern/nr_accesses/max", "4294967295" },
		{ DAMON_SCHEME "/access_pattern/age/max", "4294967295" },
	};
	long nr;
	size_t i;
	int err;

	if (access(DAMON_ADMIN, F_OK)) {
		snprintf(why, len, "no %s (needs CONFIG_DAMON_SYSFS and CONFIG_DAMON_VADDR)",
			 DAMON_ADMIN);
		return false;
	}
	if (!read_long(DAMON_ADMIN "/kdamonds/nr_kdamonds", &nr) || nr) {
		snprintf(why, len, "kdamonds are set up already: not touched");
		return false;
	}
	snprintf(pid, sizeof(pid), "%d", getpid());
	damon_owned = true;
	atexit(damon_cleanup);
	for (i = 0; i < ARRAY_SIZE(set); i++) {
		err = damon_write(set[i][0], set[i][1]);
		if (err) {
			snprintf(why, len, "writing '%s' to %s failed: %s%s", set[i][1],
				 set[i][0], strerror(err), strstr(set[i][0], "operations") ?
				 " (no CONFIG_DAMON_VADDR?)" : "");
			damon_cleanup();
			return false;
		}
	}
	return true;
}

/*
 * The CPU time of task @pid in ns; *@exact tells whether it came from
 * /proc/PID/schedstat, in ns, rather than /proc/PID/stat, in clock ticks.
 */
static uint64_t task_cpu_ns(long pid, bool *exact)
{
	unsigned long ut, st;
	char path[64], buf[512], *p;
	uint64_t ns = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/schedstat", pid);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%lu", &ns) != 1)
			ns = 0;
		fclose(f);
	}
	*exact = ns;
	if (ns)
		return ns;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	TEST_ASSERT(f && fgets(buf, sizeof(buf), f), "cannot read %s", path);
	fclose(f);
	/* After the command, which may hold spaces: the state, ..., utime (14), stime. */
	p = strrchr(buf, ')');
	TEST_ASSERT(p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				&ut, &st) == 2, "cannot parse %s", path);
	return (ut + st) * 1000000000ULL / sysconf(_SC_CLK_TCK);
}

static unsigned long damon_region_field(const char *region, const char *field)
{
	char path[512];
	long val;

	snprintf(path, sizeof(path), DAMON_SCHEME "/tried_regions/%s/%s", region, field);
	TEST_ASSERT(read_long(path, &val), "cannot read %s", path);
	return val;
}

/* Monitor with DAMON: a warm-up, then the window, then the regions. */
static void damon_measure(struct perf_vm *v, const struct wss_setting *ws,
			  struct wss_sample *out, bool *exact)
{
	uint64_t c0, c1, t0, t1, a, b, nr = 0;
	unsigned long start, end;
	struct dirent *de;
	int tries;
	long pid;
	DIR *d;

	memset(out, 0, sizeof(*out));
	damon_set_ul(DAMON_ATTRS "/intervals/sample_us", ws->sample_us);
	damon_set_ul(DAMON_ATTRS "/intervals/aggr_us", ws->aggr_us);
	damon_set(DAMON_KD "/state", "on");
	TEST_ASSERT(read_long(DAMON_KD "/pid", &pid) && pid > 0, "no kdamond after 'on'");
	usleep(DAMON_WARMUP_S * 1000000);
	c0 = task_cpu_ns(pid, exact);
	t0 = mono_ns();
	sleep_until(t0 + v->p->window_s * NSEC_PER_SEC);
	c1 = task_cpu_ns(pid, exact);
	t1 = mono_ns();
	out->cpu = (c1 - c0) / 1e6 / ((t1 - t0) / 1e9);

	/*
	 * The write returns once kdamond has listed its regions, after an
	 * aggregation.  It can also return with none listed: the request
	 * times out after two aggregation intervals in jiffies, which a busy
	 * kdamond can miss with the tight setting.  The monitored range is
	 * never empty, so no region at all means that: ask again.
	 */
	for (tries = 0; !nr && tries < DAMON_SNAPSHOT_TRIES; tries++) {
		damon_set(DAMON_KD "/state", "update_schemes_tried_regions");
		d = opendir(DAMON_SCHEME "/tried_regions");
		TEST_ASSERT(d, "cannot open %s", DAMON_SCHEME "/tried_regions");
		while ((de = readdir(d))) {
			if (de->d_name[0] < '0' || de->d_name[0] > '9')
				continue;
			nr++;
			start = damon_region_field(de->d_name, "start");
			end = damon_region_field(de->d_name, "end");
			a = max(start, v->start);
			b = min(end, v->end);
			if (a >= b)
				continue;
			out->n++;
			if (damon_region_field(de->d_name, "nr_accesses"))
				out->bytes += b - a;
		}
		closedir(d);
	}
	TEST_ASSERT(nr, "DAMON listed no region in %d tries", DAMON_SNAPSHOT_TRIES);
	out->retries = tries - 1;
	damon_set(DAMON_KD "/state", "off");
}

/*
 * Clearing passes every @period_ns for @dur_ns, the first at once; after a
 * pass that overran its period the next starts at once.  Returns the
 * number of passes; @r holds the answer of the last one.
 */
static uint64_t ib_periodic(struct perf_vm *v, struct ib_ctx *ib, uint64_t period_ns,
			    uint64_t dur_ns, struct ib_result *r)
{
	uint64_t start = mono_ns(), next = start, passes = 0;

	while (next < start + dur_ns) {
		sleep_until(next);
		ib_pass(ib, false, IDLE_BITMAP_SCAN_CLEAR, v->start, v->end, r);
		passes++;
		next = max(next + period_ns, mono_ns());
	}
	sleep_until(start + dur_ns);
	return passes;
}

static void ib_wss_measure(struct perf_vm *v, struct ib_ctx *ib, const struct wss_setting *ws,
			   struct wss_sample *out)
{
	uint64_t period = ws->period_ms * 1000000ULL, c0, t0;
	struct ib_result r = {};

	ib_periodic(v, ib, period, DAMON_WARMUP_S * NSEC_PER_SEC, &r);
	c0 = thread_cpu_ns();
	t0 = mono_ns();
	out->n = ib_periodic(v, ib, period, v->p->window_s * NSEC_PER_SEC, &r);
	out->cpu = (thread_cpu_ns() - c0) / 1e6 / ((mono_ns() - t0) / 1e9);
	out->bytes = r.pages[IBD_ACCESSED] * IDLE_PAGE_SIZE;
	idle_recs_free(&r.recs);
}

static void part_damon(struct perf_vm *v, struct ib_ctx *ib)
{
	const struct perf_params *p = v->p;
	uint64_t units = v->npages >> v->unit_shift, unit_bytes = IDLE_PAGE_SIZE << v->unit_shift;
	struct pattern hot = { .unit_shift = v->unit_shift };
	struct stats est[NR_WSS] = {}, err[NR_WSS] = {}, cpu[NR_WSS] = {};
	const struct wss_setting *ws;
	struct wss_sample s = {};
	bool damon, exact = true;
	double truth = 0, d;
	uint64_t u, l0, t0;
	char why[256];
	int rep, k, m;

	if (p->hot_scatter) {
		hot.kind = PAT_RANDOM;
		hot.arg = p->hot_pct;
		hot.seed = 7001;
	} else {
		hot.kind = PAT_HOT;
		hot.arg = max(units * p->hot_pct / 100, 1UL);
	}
	for (u = 0; u < units; u++)
		truth += pattern_has(&hot, u) ? unit_bytes : 0;
	printf("# damon: %lu MiB %s, %d repetitions, hot set: %s %d%% of the %lu %s pages",
	       size_mib(v), v->backing, p->reps, p->hot_scatter ? "a random" : "the first",
	       p->hot_pct, units, unit_name(v));
	printf(", %.1f MiB, written over and over; %d s windows after %d s of warm-up\n",
	       truth / (1 << 20), p->window_s, DAMON_WARMUP_S);
	if (!truth) {
		printf("# damon: the hot set is empty: not measured\n");
		return;
	}
	if (truth == units * unit_bytes)
		printf("# WARNING: damon: the hot set is all of the memory\n");
	damon = damon_setup(why, sizeof(why));
	if (!damon)
		printf("# damon: %s: DAMON not measured\n", why);
	check_spare_cpu(v, "damon");

	memset(v->cmd->loops, 0, sizeof(v->cmd->loops));
	guest_set(v, GUEST_SPIN, &hot);
	vcpus_start(v, JOB_RUN);
	guest_wait_loops(v, 1);
	for (rep = 0; rep < p->reps; rep++) {
		printf("# damon: repetition %d:", rep + 1);
		for (k = 0; k < NR_WSS; k++) {
			m = (k + rep) % NR_WSS;
			ws = &wss_setting[m];
			if (m <= WSS_DAMON_TIGHT && !damon)
				continue;
			l0 = guest_loops_min(v);
			t0 = mono_ns();
			if (m <= WSS_DAMON_TIGHT)
				damon_measure(v, ws, &s, &exact);
			else
				ib_wss_measure(v, ib, ws, &s);
			d = s.bytes > truth ? s.bytes - truth : truth - s.bytes;
			stats_add(&est[m], s.bytes / (1 << 20));
			stats_add(&err[m], 100 * d / truth);
			stats_add(&cpu[m], s.cpu);
			printf(" %s %s %.1f MiB, %.3f ms/s, %lu %s, guest %.1f loops/s",
			       ws->method, ws->setting, s.bytes / (1 << 20), s.cpu, s.n,
			       m <= WSS_DAMON_TIGHT ? "regions in the memslot" : "passes",
			       (guest_loops_min(v) - l0) / ((mono_ns() - t0) / 1e9));
			if (m <= WSS_DAMON_TIGHT && s.retries)
				printf(" (regions asked for %d more time(s))", s.retries);
			printf(";");
		}
		printf("\n");
		fflush(stdout);
	}
	WRITE_ONCE(v->cmd->stop, 1);
	vcpus_wait(v);
	if (damon) {
		damon_cleanup();
		printf("# damon: kdamond's CPU time from %s\n", exact ?
		       "/proc/PID/schedstat (ns)" : "/proc/PID/stat (utime + stime, clock ticks)");
	}

	/* Medians: the estimate, the truth, the error in percent, CPU ms per s. */
	for (m = 0; m < NR_WSS; m++) {
		if (!est[m].n)
			continue;
		printf("@damon | %lu MiB | %s | %s | %s | %.1f | %.1f | %.1f | %.3f |\n",
		       size_mib(v), v->backing, wss_setting[m].method, wss_setting[m].setting,
		       stats_median(&est[m]), truth / (1 << 20), stats_median(&err[m]),
		       stats_median(&cpu[m]));
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
	uint64_t t0, pagesz = get_backing_src_pagesz(p->backing);
	struct ib_ctx ib;
	struct pi_ctx pi;
	int i;

	TEST_ASSERT(v, "out of memory");
	v->p = p;
	v->backing = vm_mem_backing_src_alias(p->backing)->name;
	v->unit_shift = pagesz >= IDLE_GIGA_SIZE ? UNIT_SHIFT_1G :
			pagesz >= IDLE_HUGE_SIZE ? UNIT_SHIFT_2M : 0;
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
	if (p->parts[PART_DAMON])
		part_damon(v, &ib);
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
	       "          [-p parts] [-M methods] [-d ms] [-f percent] [-n bytes] [-T mhz]\n"
	       "          [-w percent] [-W] [-t seconds]\n\n",
	       name);
	printf(" -b: guest memory to measure, all vCPUs together, e.g. 256M or 1G\n"
	       "     (default: 256M; a multiple of 2M per vCPU, of 1G with 1G pages)\n");
	backing_src_help("-s");
	printf(" -v: number of vCPUs (default: 1; the scanner needs a CPU of its own)\n");
	printf(" -r: repetitions of each measurement (default: %d, the least for a report)\n",
	       PERF_MIN_REPS);
	printf(" -B: read() buffer and IDLE_BITMAP_SCAN vector in bytes (default: 1M)\n");
	printf(" -p: parts to run, comma-separated, of %s\n"
	       "     (default: %s; damon only when named)\n", PARTS_ALL, PARTS_DEFAULT);
	printf(" -M: methods of the pass part, of %s (default: all)\n", METHODS_ALL);
	printf(" -d: milliseconds of each guest throughput measurement (default: 3000)\n");
	printf(" -f: percent of its memory each vCPU zaps after each round of the guest\n"
	       "     throughput part, so that the next round faults it in (default: 5)\n");
	printf(" -n: time the naive page_idle loop only up to this much memory\n"
	       "     (default: 64M; it takes about a second per MiB under TCG)\n");
	printf(" -T: the TSC rate in MHz (default: measured against CLOCK_MONOTONIC)\n");
	printf(" -w: damon: the hot set, in percent of the pages (default: 25)\n");
	printf(" -W: damon: hot pages at random (default: the first ones, in one piece)\n");
	printf(" -t: damon: seconds of each measurement, after %d s of warm-up (default: 5)\n",
	       DAMON_WARMUP_S);
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
		.hot_pct = 25,
		.window_s = 5,
	};
	double tsc_mhz = 0;
	uint64_t unit;
	int opt;

	if (argc > 1 && !strcmp(argv[1], SCANNER_ARG))
		return scanner_main(argc, argv);

	parse_list(p.parts, part_name, NR_PARTS, PARTS_DEFAULT);
	parse_list(p.methods, method_key, NR_METHODS, METHODS_ALL);
	while ((opt = getopt(argc, argv, "hb:s:v:r:B:p:M:d:f:n:T:w:Wt:")) != -1) {
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
		case 'w':
			p.hot_pct = atoi_positive("Percent", optarg);
			break;
		case 'W':
			p.hot_scatter = true;
			break;
		case 't':
			p.window_s = atoi_positive("Seconds", optarg);
			break;
		case 'h':
		default:
			help(argv[0]);
		}
	}
	TEST_ASSERT(p.nr_vcpus <= PERF_MAX_VCPUS, "at most %d vCPUs", PERF_MAX_VCPUS);
	TEST_ASSERT(p.reps <= PERF_MAX_REPS, "at most %d repetitions", PERF_MAX_REPS);
	TEST_ASSERT(p.refault_pct <= 50, "-f: at most 50 percent");
	TEST_ASSERT(p.hot_pct <= 100, "-w: at most 100 percent");
	/* Each vCPU's share: whole 2M ranges, or whole pages if larger. */
	unit = max(IDLE_HUGE_SIZE, get_backing_src_pagesz(p.backing));
	TEST_ASSERT(p.bytes && !(p.bytes % (p.nr_vcpus * unit)),
		    "-b must be a multiple of %lu MiB per vCPU", unit >> 20);
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
	/* 1G pages can only be reserved at boot (hugepagesz=1G hugepages=N). */
	if (p.backing == VM_MEM_SRC_ANONYMOUS_HUGETLB_1GB)
		__TEST_REQUIRE(idle_hugetlb_1g_free() >= (long)(p.bytes / IDLE_GIGA_SIZE),
			       "%lu free 1G hugetlb pages needed, %ld free",
			       p.bytes / IDLE_GIGA_SIZE, idle_hugetlb_1g_free());
	else if (is_backing_src_hugetlb(p.backing))
		__TEST_REQUIRE(idle_hugetlb_reserve(p.bytes / IDLE_HUGE_SIZE + 16),
			       "cannot reserve %lu hugetlb pages", p.bytes / IDLE_HUGE_SIZE + 16);

	run(&p);
	return 0;
}
