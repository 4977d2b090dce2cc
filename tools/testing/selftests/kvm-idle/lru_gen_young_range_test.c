// SPDX-License-Identifier: GPL-2.0-only
/*
 * lru_gen_young_range_test: MGLRU's page table walk asks KVM about a VM's
 * memory with one young_range() call per leaf page table when bit 0x0008 of
 * /sys/kernel/mm/lru_gen/enabled is set, and with one clear_young() per page
 * when it is not, and both see the guest's hot set as young.
 *
 * The test process moves itself into a memory cgroup of its own, so that
 * only its memory is aged, and creates a VM whose guest writes 128 MiB of
 * 4K pages once and then reads a hot set of 16 MiB before every aging pass.
 * Aging passes are forced through /sys/kernel/debug/lru_gen ("+ memcg node
 * seq can_swap force_scan"), which runs the page table walk in the writer's
 * context, so the writer's CPU time is the pass's.  Per pass it counts
 * KVM's clear_young() and clear_flush_young() calls (the kvm_age_hva trace
 * event), and after the passes it reads how many of the memcg's anonymous
 * pages the last pass found young (the generation it moved them to, the
 * one before the generation it created).
 *
 * With the bit on and the TDP MMU, the per-page calls must all but vanish
 * (at least 5x fewer), the pass must cost less CPU, and the pages found
 * young must be the hot set and not the cold memory, as with the bit off.
 * With the shadow MMU (npt=0) KVM cannot answer without mmu_lock, so the
 * walk must fall back to per-page calls: as many as with the bit off.
 *
 * The second test sets a memcg limit below the VM's memory and above its
 * hot set, with swap on zram, in both settings: reclaim must keep the hot
 * set (few anonymous refaults while the guest reads it), and with the bit
 * on it must not ask KVM about more hot pages (the rmap path's
 * clear_flush_young(), counted by address) than with it off.
 *
 * Needs CONFIG_LRU_GEN, CONFIG_MEMCG, CONFIG_DEBUG_FS, CONFIG_ZRAM and the
 * kvm trace events (CONFIG_FTRACE with event tracing); mounts cgroup2,
 * debugfs and tracefs where they are not mounted, and restores
 * lru_gen/enabled and the swap it adds.
 *
 * For the benchmark (scripts/bench.sh): LRU_GEN_MB=N sizes the guest
 * memory, LRU_GEN_THP=1 backs it with THPs, whose PMD mappings the walk
 * still asks about one by one, so only the numbers are checked, and
 * LRU_GEN_AGING_ONLY=1 runs the first test alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kvm_util.h"
#include "test_util.h"

#include "idle_bitmap_util.h"

#define NR_VCPUS	2
/* The guest's memory: 128 MiB of 4K pages unless LRU_GEN_MB and LRU_GEN_THP say otherwise. */
static uint64_t seg_size = 128UL << 20;
static bool thp;
#define SEG_SIZE	seg_size
#define NPAGES		(SEG_SIZE / IDLE_PAGE_SIZE)
#define HOT_PAGES	(NPAGES / 8)
#define COLD_PAGES	(NPAGES - HOT_PAGES)
/* Passes that settle the generations, then counted and timed ones. */
#define WARM_PASSES	2
#define COUNT_PASSES	2
#define TIME_PASSES	3

#define LRU_GEN_ENABLED	"/sys/kernel/mm/lru_gen/enabled"
#define LRU_GEN_DEBUGFS	"/sys/kernel/debug/lru_gen"
#define CGROUP_ROOT	"/sys/fs/cgroup"
#define CGROUP_NAME	"kvm-idle-lru-gen"
#define CGROUP_PATH	CGROUP_ROOT "/" CGROUP_NAME
#define TRACEFS		"/sys/kernel/tracing"
#define AGE_EVENT	TRACEFS "/events/kvm/kvm_age_hva/enable"

/* The capabilities the test runs with: core, walk, non-leaf, and 0x0008. */
#define CAPS_OFF	0x0007
#define CAPS_ON		0x000f
#define CAP_BULK	0x0008

#define MAX_NODES	8

#define ZRAM		"/sys/block/zram0"
#define ZRAM_DEV	"/dev/zram0"
#define ZRAM_SIZE	(256UL << 20)
/* How far below the VM's charge the reclaim test sets memory.max. */
#define RECLAIM_SIZE	(16UL << 20)
/* Hot-set steps after the limit is set, in which refaults are counted. */
#define RECLAIM_STEPS	4

static char saved_caps[32];

static void write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	TEST_ASSERT(fd >= 0, "open(%s) failed", path);
	TEST_ASSERT(write(fd, val, strlen(val)) == (ssize_t)strlen(val),
		    "writing '%s' to %s failed", val, path);
	close(fd);
}

static size_t read_file(const char *path, char *buf, size_t size)
{
	ssize_t n, len = 0;
	int fd = open(path, O_RDONLY);

	TEST_ASSERT(fd >= 0, "open(%s) failed", path);
	while ((n = read(fd, buf + len, size - 1 - len)) > 0)
		len += n;
	TEST_ASSERT(n == 0, "read(%s) failed", path);
	buf[len] = 0;
	close(fd);
	return len;
}

static void mount_if_missing(const char *probe, const char *type, const char *dir)
{
	if (!access(probe, F_OK))
		return;
	if (mount(type, dir, type, 0, NULL) && errno != EBUSY)
		idle_skip("cannot mount %s on %s: %s", type, dir, strerror(errno));
	if (access(probe, F_OK))
		idle_skip("%s not found after mounting %s (kernel config?)", probe, type);
}

static void restore_caps(void)
{
	if (saved_caps[0])
		write_file(LRU_GEN_ENABLED, saved_caps);
	if (!access(AGE_EVENT, F_OK))
		write_file(AGE_EVENT, "0");
}

static unsigned int set_caps(unsigned int caps)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "0x%04x", caps);
	write_file(LRU_GEN_ENABLED, buf);
	read_file(LRU_GEN_ENABLED, buf, sizeof(buf));
	return strtoul(buf, NULL, 0);
}

/* Move this process into a memory cgroup of its own; memory it allocates later is charged there. */
static void enter_cgroup(void)
{
	char buf[64];

	mount_if_missing(CGROUP_ROOT "/cgroup.controllers", "cgroup2", CGROUP_ROOT);
	/* Left over from a test that failed: its processes are gone. */
	rmdir(CGROUP_PATH);
	write_file(CGROUP_ROOT "/cgroup.subtree_control", "+memory");
	TEST_ASSERT(!mkdir(CGROUP_PATH, 0755), "mkdir(%s) failed", CGROUP_PATH);
	snprintf(buf, sizeof(buf), "%d", getpid());
	write_file(CGROUP_PATH "/cgroup.procs", buf);
}

static void leave_cgroup(void)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%d", getpid());
	write_file(CGROUP_ROOT "/cgroup.procs", buf);
	rmdir(CGROUP_PATH);
}

/* The memcg's generations on each node, from /sys/kernel/debug/lru_gen. */
struct gens {
	int id;
	int nr_nodes;
	int nid[MAX_NODES];
	unsigned long max_seq[MAX_NODES];
	/*
	 * Anon pages in the generation that the last pass moved the young
	 * folios to: max_seq - 1, as the pass made max_seq after its walk.
	 */
	unsigned long young[MAX_NODES];
	unsigned long last[MAX_NODES];	/* anon pages in generation max_seq */
	unsigned long anon[MAX_NODES];	/* anon pages in all generations */
};

/*
 * Large buffers are allocated, not static: kvm_util loads the whole test
 * binary, its bss included, into the guest's memslot 0, which is small.
 */
#define GENS_BUF_SIZE	(1024 * 1024)

static void read_gens(struct gens *g)
{
	static char *buf;
	bool ours = false;
	char *line, *save;

	if (!buf)
		buf = malloc(GENS_BUF_SIZE);
	TEST_ASSERT(buf, "malloc() failed");
	memset(g, 0, sizeof(*g));
	g->id = -1;
	read_file(LRU_GEN_DEBUGFS, buf, GENS_BUF_SIZE);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long seq, birth, anon, file;
		char path[256];
		int id, nid;

		if (sscanf(line, "memcg %d %255s", &id, path) == 2) {
			ours = !strcmp(path, "/" CGROUP_NAME);
			if (ours)
				g->id = id;
		} else if (!ours) {
			continue;
		} else if (sscanf(line, " node %d", &nid) == 1) {
			TEST_ASSERT(g->nr_nodes < MAX_NODES, "too many nodes");
			g->nid[g->nr_nodes++] = nid;
		} else if (g->nr_nodes &&
			   sscanf(line, " %lu %lu %lu %lu", &seq, &birth, &anon, &file) == 4) {
			int n = g->nr_nodes - 1;

			/* The generations are listed oldest first. */
			g->max_seq[n] = seq;
			g->young[n] = g->last[n];
			g->last[n] = anon;
			g->anon[n] += anon;
		}
	}
	TEST_ASSERT(g->id >= 0 && g->nr_nodes, "memcg %s not in %s", CGROUP_PATH,
		    LRU_GEN_DEBUGFS);
}

static unsigned long sum(const unsigned long *x, int n)
{
	unsigned long s = 0;

	while (n--)
		s += x[n];
	return s;
}

/* One forced aging pass over the memcg on every node; returns its CPU time in ns. */
static uint64_t age(void)
{
	struct timespec t0, t1;
	struct gens g;
	char cmd[128];
	int i, fd;

	read_gens(&g);
	fd = open(LRU_GEN_DEBUGFS, O_WRONLY);
	TEST_ASSERT(fd >= 0, "open(%s) failed", LRU_GEN_DEBUGFS);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	for (i = 0; i < g.nr_nodes; i++) {
		int len = snprintf(cmd, sizeof(cmd), "+ %d %d %lu 1 1", g.id, g.nid[i],
				   g.max_seq[i]);

		TEST_ASSERT(write(fd, cmd, len) == len, "'%s' > %s failed", cmd,
			    LRU_GEN_DEBUGFS);
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	close(fd);
	return (t1.tv_sec - t0.tv_sec) * 1000000000ULL + t1.tv_nsec - t0.tv_nsec;
}

/* Events recorded since the buffer was cleared, overwritten ones included. */
static unsigned long trace_events(void)
{
	static char buf[4096];
	unsigned long total = 0;
	long cpu, ncpus = sysconf(_SC_NPROCESSORS_CONF);
	char path[128];

	for (cpu = 0; cpu < ncpus; cpu++) {
		unsigned long entries = 0, overrun = 0;
		char *p;

		snprintf(path, sizeof(path), TRACEFS "/per_cpu/cpu%ld/stats", cpu);
		if (access(path, F_OK))
			continue;
		read_file(path, buf, sizeof(buf));
		p = strstr(buf, "entries: ");
		if (p)
			entries = strtoul(p + 9, NULL, 10);
		p = strstr(buf, "overrun: ");
		if (p)
			overrun = strtoul(p + 9, NULL, 10);
		total += entries + overrun;
	}
	return total;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct mode_result {
	unsigned long calls;	/* kvm_age_hva events per pass (median) */
	uint64_t cpu_ns;	/* CPU time per pass (median) */
	unsigned long young;	/* anon pages the last pass found young */
	unsigned long anon;
};

/* The guest reads its hot set, then one aging pass. */
static uint64_t hot_step_and_age(struct idle_vm *v)
{
	idle_vm_step(v);
	return age();
}

static void run_mode(struct idle_vm *v, unsigned int caps, const char *name,
		     struct mode_result *r)
{
	unsigned long calls[COUNT_PASSES];
	uint64_t cpu[TIME_PASSES];
	unsigned int got;
	struct gens g;
	int i;

	got = set_caps(caps);
	TEST_ASSERT(got == caps, "%s: wrote 0x%04x to %s, reads 0x%04x%s", name, caps,
		    LRU_GEN_ENABLED, got,
		    (caps & CAP_BULK) && !(got & CAP_BULK) ?
		    " (a kernel without the young_range MGLRU walk)" : "");

	for (i = 0; i < WARM_PASSES; i++)
		hot_step_and_age(v);

	for (i = 0; i < COUNT_PASSES; i++) {
		idle_vm_step(v);
		write_file(TRACEFS "/trace", "");
		write_file(AGE_EVENT, "1");
		age();
		write_file(AGE_EVENT, "0");
		calls[i] = trace_events();
	}
	for (i = 0; i < TIME_PASSES; i++)
		cpu[i] = hot_step_and_age(v);

	read_gens(&g);
	qsort(cpu, TIME_PASSES, sizeof(cpu[0]), cmp_u64);
	r->calls = calls[0] < calls[1] ? calls[0] : calls[1];
	r->cpu_ns = cpu[TIME_PASSES / 2];
	r->young = sum(g.young, g.nr_nodes);
	r->anon = sum(g.anon, g.nr_nodes);
	ksft_print_msg("%-8s 0x%04x: %lu clear_young calls and %.2f ms CPU per pass\n",
		       name, caps, r->calls, r->cpu_ns / 1e6);
	ksft_print_msg("%-8s 0x%04x: young generation %lu of %lu pages (hot %lu, cold %lu)\n",
		       name, caps, r->young, r->anon, (unsigned long)HOT_PAGES,
		       (unsigned long)COLD_PAGES);
}

static void check_hot_set(const struct mode_result *r, const char *name)
{
	TEST_ASSERT(r->young >= HOT_PAGES * 9 / 10,
		    "%s: the last pass found %lu anon pages young, fewer than 90%% of the hot set (%lu): aging calls hot guest pages cold",
		    name, r->young, (unsigned long)HOT_PAGES);
	TEST_ASSERT(r->young <= HOT_PAGES + COLD_PAGES / 4,
		    "%s: the last pass found %lu anon pages young, more than the hot set (%lu) and a quarter of the cold memory: aging calls cold guest pages young",
		    name, r->young, (unsigned long)HOT_PAGES);
}

/* Mount what is missing, save lru_gen/enabled, and size the trace buffer. */
static void prepare(void)
{
	char buf[32];

	if (access(LRU_GEN_ENABLED, F_OK))
		idle_skip("%s not found (needs CONFIG_LRU_GEN)", LRU_GEN_ENABLED);
	mount_if_missing(LRU_GEN_DEBUGFS, "debugfs", "/sys/kernel/debug");
	mount_if_missing(AGE_EVENT, "tracefs", TRACEFS);

	read_file(LRU_GEN_ENABLED, buf, sizeof(buf));
	snprintf(saved_caps, sizeof(saved_caps), "%s", buf);
	atexit(restore_caps);
	write_file(TRACEFS "/buffer_size_kb", "4096");
	write_file(TRACEFS "/tracing_on", "1");
}

static void test_bulk_aging(void)
{
	bool tdp = idle_tdp_mmu_on();
	struct mode_result off, on;
	uint64_t thp_bytes;
	struct idle_vm *v;
	struct idle_seg *s;

	if (thp && !idle_thp_enable())
		idle_skip("THP cannot be enabled");
	prepare();
	enter_cgroup();
	v = idle_vm_create(NR_VCPUS);
	s = idle_vm_add_seg(v, thp ? VM_MEM_SRC_ANONYMOUS_THP : VM_MEM_SRC_ANONYMOUS,
			    SEG_SIZE);
	/* The guest writes all of it once, then reads only the hot set. */
	idle_plan_set(v, s, IDLE_OP_WRITE);
	idle_vm_step(v);
	idle_plan_set(v, s, IDLE_OP_NONE);
	memset(v->plan + s->first, IDLE_OP_READ, HOT_PAGES);

	run_mode(v, CAPS_OFF, "per-page", &off);
	run_mode(v, CAPS_ON, "bulk", &on);
	thp_bytes = idle_thp_bytes(s->hva);
	idle_vm_free(v);
	leave_cgroup();

	ksft_print_msg("bench %s %lu MiB: calls %lu -> %lu, CPU %lu -> %lu ns per pass\n",
		       thp ? "thp" : "4k", (unsigned long)(SEG_SIZE >> 20), off.calls,
		       on.calls, (unsigned long)off.cpu_ns, (unsigned long)on.cpu_ns);
	if (thp) {
		TEST_ASSERT(thp_bytes >= SEG_SIZE / 2, "only %lu of %lu bytes were THPs",
			    (unsigned long)thp_bytes, (unsigned long)SEG_SIZE);
		check_hot_set(&off, "bit off");
		check_hot_set(&on, "bit on");
		return;
	}
	TEST_ASSERT(off.calls >= (HOT_PAGES + COLD_PAGES) * 9 / 10,
		    "bit off: %lu clear_young calls per pass, fewer than the VM's %lu pages: the walk does not ask KVM per page",
		    off.calls, (unsigned long)NPAGES);
	check_hot_set(&off, "bit off");
	check_hot_set(&on, "bit on");
	if (tdp) {
		TEST_ASSERT(on.calls * 5 <= off.calls,
			    "bit on, TDP MMU: %lu clear_young calls per pass against %lu with the bit off: fewer than 5x less",
			    on.calls, off.calls);
		TEST_ASSERT(on.cpu_ns < off.cpu_ns,
			    "bit on, TDP MMU: an aging pass took %lu ns of CPU against %lu ns with the bit off",
			    (unsigned long)on.cpu_ns, (unsigned long)off.cpu_ns);
		ksft_print_msg("TDP MMU: %.1fx fewer per-page calls, CPU %.2fx of per-page\n",
			       (double)off.calls / (on.calls ? on.calls : 1),
			       (double)on.cpu_ns / off.cpu_ns);
	} else {
		TEST_ASSERT(on.calls >= off.calls * 9 / 10,
			    "bit on, shadow MMU: %lu clear_young calls per pass against %lu with the bit off: the walk did not fall back to per-page calls",
			    on.calls, off.calls);
		ksft_print_msg("shadow MMU: per-page calls as with the bit off (%lu, %lu)\n",
			       on.calls, off.calls);
	}
}

/* A value of the memcg's memory.stat. */
static unsigned long memcg_stat(const char *key)
{
	static char buf[16384];
	size_t len = strlen(key);
	char *p;

	read_file(CGROUP_PATH "/memory.stat", buf, sizeof(buf));
	for (p = buf; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (!strncmp(p, key, len) && p[len] == ' ')
			return strtoul(p + len + 1, NULL, 10);
	}
	TEST_FAIL("no %s in %s/memory.stat", key, CGROUP_PATH);
	return 0;
}

static unsigned long read_ulong(const char *path)
{
	char buf[64];

	read_file(path, buf, sizeof(buf));
	return strtoul(buf, NULL, 10);
}

static void write_ulong(const char *path, unsigned long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lu", val);
	write_file(path, buf);
}

static bool swap_on;

static void zram_swapoff(void)
{
	if (swap_on && !syscall(SYS_swapoff, ZRAM_DEV))
		write_file(ZRAM "/reset", "1");
	swap_on = false;
}

/*
 * Swap on zram0: anonymous memory is only reclaimed with swap.  The swap
 * header is written here (version 1, no bad pages), as mkswap would.
 */
static void zram_swapon(void)
{
	static char hdr[IDLE_PAGE_SIZE];
	uint32_t *w = (uint32_t *)(hdr + 1024);
	int fd;

	if (access(ZRAM "/disksize", F_OK))
		idle_skip("%s not found (needs CONFIG_ZRAM)", ZRAM);
	if (read_ulong(ZRAM "/disksize")) {
		/* Left over from a test that failed. */
		syscall(SYS_swapoff, ZRAM_DEV);
		write_file(ZRAM "/reset", "1");
	}
	write_ulong(ZRAM "/disksize", ZRAM_SIZE);
	w[0] = 1;				/* version */
	w[1] = ZRAM_SIZE / IDLE_PAGE_SIZE - 1;	/* last_page */
	memcpy(hdr + IDLE_PAGE_SIZE - 10, "SWAPSPACE2", 10);
	fd = open(ZRAM_DEV, O_WRONLY);
	TEST_ASSERT(fd >= 0, "open(%s) failed", ZRAM_DEV);
	TEST_ASSERT(pwrite(fd, hdr, sizeof(hdr), 0) == sizeof(hdr),
		    "writing the swap header to %s failed", ZRAM_DEV);
	close(fd);
	TEST_ASSERT(!syscall(SYS_swapon, ZRAM_DEV, 0), "swapon(%s) failed", ZRAM_DEV);
	swap_on = true;
	atexit(zram_swapoff);
}

/* kvm_age_hva events in the trace buffer, and those that start in [lo, hi). */
static unsigned long age_events_in(uint64_t lo, uint64_t hi, unsigned long *total)
{
	static char line[512];
	unsigned long n = 0;
	FILE *f = fopen(TRACEFS "/trace", "r");

	TEST_ASSERT(f, "fopen(%s/trace) failed", TRACEFS);
	*total = 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "age hva: ");
		uint64_t start;

		if (!p)
			continue;
		(*total)++;
		start = strtoull(p + 9, NULL, 0);
		n += start >= lo && start < hi;
	}
	fclose(f);
	return n;
}

struct reclaim_result {
	unsigned long hot_calls;	/* per-page calls on the hot set during reclaim */
	unsigned long calls;		/* all per-page calls during reclaim */
	unsigned long refaults;		/* workingset_refault_anon after the limit */
	unsigned long majfaults;
	uint64_t cpu_ns;		/* CPU time of the reclaim */
	unsigned long stolen;		/* pages reclaimed */
};

/*
 * Settle the generations with the guest's whole memory resident, then set
 * memory.max RECLAIM_SIZE below the charge: the write reclaims down to the
 * limit in this thread.  Then the guest reads its hot set for a few steps
 * under the limit, and every hot page that was reclaimed refaults.
 */
static void reclaim_mode(struct idle_vm *v, struct idle_seg *s, unsigned int caps,
			 const char *name, struct reclaim_result *r)
{
	uint64_t hot = (uintptr_t)s->hva, hot_end = hot + HOT_PAGES * IDLE_PAGE_SIZE;
	unsigned long refault0, maj0, steal0, charge;
	struct timespec t0, t1;
	unsigned int got;
	int i;

	got = set_caps(caps);
	TEST_ASSERT(got == caps, "%s: wrote 0x%04x to %s, reads 0x%04x", name, caps,
		    LRU_GEN_ENABLED, got);

	/* Everything back in memory: the guest rewrites all of it. */
	write_file(CGROUP_PATH "/memory.max", "max");
	idle_plan_set(v, s, IDLE_OP_WRITE);
	idle_vm_step(v);
	idle_plan_set(v, s, IDLE_OP_NONE);
	memset(v->plan + s->first, IDLE_OP_READ, HOT_PAGES);
	for (i = 0; i < WARM_PASSES + 2; i++)
		hot_step_and_age(v);
	idle_vm_step(v);

	charge = read_ulong(CGROUP_PATH "/memory.current");
	refault0 = memcg_stat("workingset_refault_anon");
	maj0 = memcg_stat("pgmajfault");
	steal0 = memcg_stat("pgsteal_direct");
	write_file(TRACEFS "/trace", "");
	write_file(AGE_EVENT, "1");
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	write_ulong(CGROUP_PATH "/memory.max", charge - RECLAIM_SIZE);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
	write_file(AGE_EVENT, "0");
	r->hot_calls = age_events_in(hot, hot_end, &r->calls);
	r->cpu_ns = (t1.tv_sec - t0.tv_sec) * 1000000000ULL + t1.tv_nsec - t0.tv_nsec;
	r->stolen = memcg_stat("pgsteal_direct") - steal0;

	for (i = 0; i < RECLAIM_STEPS; i++)
		idle_vm_step(v);
	r->refaults = memcg_stat("workingset_refault_anon") - refault0;
	r->majfaults = memcg_stat("pgmajfault") - maj0;
	write_file(CGROUP_PATH "/memory.max", "max");

	ksft_print_msg("%-8s 0x%04x: reclaim of %lu pages, %.2f ms CPU, %lu of %lu calls hot\n",
		       name, caps, r->stolen, r->cpu_ns / 1e6, r->hot_calls, r->calls);
	ksft_print_msg("%-8s 0x%04x: then %lu anon refaults, %lu major faults\n",
		       name, caps, r->refaults, r->majfaults);
}

static void test_reclaim(void)
{
	struct reclaim_result off, on;
	struct idle_vm *v;
	struct idle_seg *s;

	prepare();
	zram_swapon();
	enter_cgroup();
	v = idle_vm_create(NR_VCPUS);
	s = idle_vm_add_seg(v, VM_MEM_SRC_ANONYMOUS, SEG_SIZE);

	reclaim_mode(v, s, CAPS_OFF, "per-page", &off);
	reclaim_mode(v, s, CAPS_ON, "bulk", &on);

	idle_vm_free(v);
	leave_cgroup();
	zram_swapoff();

	TEST_ASSERT(off.stolen && on.stolen, "nothing was reclaimed (%lu, %lu pages)",
		    off.stolen, on.stolen);
	/*
	 * The hot set must stay resident either way: reclaim evicts the
	 * oldest generation, which the aging walk left to cold memory.
	 */
	TEST_ASSERT(on.refaults <= HOT_PAGES / 10 && off.refaults <= HOT_PAGES / 10,
		    "the hot set refaulted: %lu pages with the bit off, %lu with it on, of %lu",
		    off.refaults, on.refaults, (unsigned long)HOT_PAGES);
	TEST_ASSERT(on.hot_calls <= off.hot_calls + HOT_PAGES / 100,
		    "with the bit on reclaim asked KVM about %lu hot pages, against %lu with it off",
		    on.hot_calls, off.hot_calls);
}

static const struct idle_test tests[] = {
	{ "MGLRU aging: with bit 0x0008 one call per page table (TDP MMU), the same hot set",
	  test_bulk_aging },
	{ "reclaim under a memcg limit keeps the hot set, with and without bit 0x0008",
	  test_reclaim },
};

int main(void)
{
	const char *env = getenv("LRU_GEN_MB");

	if (env)
		seg_size = strtoull(env, NULL, 0) << 20;
	TEST_ASSERT(seg_size >= 16 * IDLE_HUGE_SIZE && !(seg_size % IDLE_HUGE_SIZE) &&
		    seg_size / IDLE_PAGE_SIZE <= IDLE_MAX_PAGES,
		    "LRU_GEN_MB=%s: 32 to %lu, a multiple of 2", env,
		    IDLE_MAX_PAGES * IDLE_PAGE_SIZE >> 20);
	env = getenv("LRU_GEN_THP");
	thp = env && !strcmp(env, "1");
	idle_require_support();
	env = getenv("LRU_GEN_AGING_ONLY");
	return idle_run_tests(tests, env && !strcmp(env, "1") ? 1 : ARRAY_SIZE(tests));
}
