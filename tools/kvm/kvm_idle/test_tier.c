// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for kvm_idle's tiering (tier.c): age and access history over
 * passes, huge pages folded to one history, holes never idle, placement
 * plans (cold memory, memory accessed again, the fast-node budget, the
 * migration quota), the sharing of a budget between VMs, the execution of
 * a plan through a fake move_pages() (failures by reason, one address per
 * huge page), and the Prometheus writer, whose output is parsed back.
 *
 * Output is TAP; the exit status is nonzero if any test failed.  No KVM and
 * no privileges are needed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tier.h"
#include "test_tap.h"

#define K4		4096ULL
#define M2		(2ULL << 20)
#define MIB		(1ULL << 20)
#define BASE		0x7f0000000000ULL
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static struct ibd_extent X(uint64_t addr, uint64_t bytes, unsigned int state,
			   unsigned int size)
{
	struct ibd_extent e = { addr, bytes / K4, state, size };

	return e;
}

/* The history of the stretch that holds addr. */
static const struct age_ext *at(const struct age_map *m, uint64_t addr)
{
	size_t i;

	for (i = 0; i < m->nr; i++)
		if (m->v[i].start <= addr && addr < m->v[i].end)
			return &m->v[i];
	return NULL;
}

static void test_ages(void)
{
	struct age_map m = { 0 };
	struct ibd_extent p1[] = {
		X(BASE, 4 * K4, IBD_ACCESSED, IDLE_BITMAP_SIZE_4K),
		X(BASE + 4 * K4, 4 * K4, IBD_IDLE, IDLE_BITMAP_SIZE_4K),
		X(BASE + 8 * K4, 4 * K4, IBD_HOLE, IDLE_BITMAP_SIZE_4K),
	};
	struct ibd_extent p2[] = {
		X(BASE, 12 * K4, IBD_IDLE, IDLE_BITMAP_SIZE_4K),
	};
	struct ibd_extent p3[] = {
		X(BASE, 1 * K4, IBD_ACCESSED, IDLE_BITMAP_SIZE_4K),
		X(BASE + K4, 11 * K4, IBD_IDLE, IDLE_BITMAP_SIZE_4K),
	};
	unsigned int i;

	age_map_update(&m, p1, ARRAY_SIZE(p1));
	ok(m.nr == 3 && at(&m, BASE)->age == 0 && at(&m, BASE + 4 * K4)->age == 1 &&
	   at(&m, BASE + 8 * K4)->age == 0, "pass 1: accessed age 0, idle age 1, hole age 0");
	ok(age_map_idle_bytes(&m, 1) == 4 * K4 && age_map_idle_bytes(&m, 0) == 4 * K4,
	   "holes are never counted as idle");
	age_map_update(&m, p2, ARRAY_SIZE(p2));
	ok(at(&m, BASE)->age == 1 && at(&m, BASE + 4 * K4)->age == 2 &&
	   at(&m, BASE + 8 * K4)->age == 1,
	   "pass 2: every stretch one pass older; a hole now mapped starts at 1");
	ok(age_map_idle_bytes(&m, 2) == 4 * K4 && age_map_idle_bytes(&m, 1) == 12 * K4,
	   "idle for at least 1 and 2 passes: %llu, %llu",
	   (unsigned long long)age_map_idle_bytes(&m, 1),
	   (unsigned long long)age_map_idle_bytes(&m, 2));
	age_map_update(&m, p3, ARRAY_SIZE(p3));
	ok(at(&m, BASE)->age == 0 && at(&m, BASE)->end == BASE + K4 &&
	   at(&m, BASE + K4)->age == 2 && at(&m, BASE + 4 * K4)->age == 3,
	   "pass 3: an accessed page splits its stretch and resets its age");
	ok(age_ext_freq(at(&m, BASE), 3) == 2 && age_ext_freq(at(&m, BASE + K4), 3) == 1 &&
	   age_ext_freq(at(&m, BASE + 4 * K4), 3) == 0,
	   "access frequency over the last 3 passes: 2, 1, 0");
	for (i = 0; i < 40; i++)
		age_map_update(&m, p2, ARRAY_SIZE(p2));
	ok(at(&m, BASE)->age == 40 && age_map_idle_bytes(&m, 30) == 12 * K4 &&
	   m.nr == 4 && m.passes == 43,
	   "40 idle passes: age 40, one stretch per distinct history (%zu)", m.nr);
	ok(age_map_warm_bytes(&m, 50) == 12 * K4 && age_map_warm_bytes(&m, 5) == 0,
	   "warm bytes: accessed within the last cold_age passes");
	age_map_update(&m, p1, 1);
	ok(m.nr == 2 && m.v[1].end == BASE + 4 * K4,
	   "memory the pass no longer covers is forgotten");
	age_map_free(&m);
}

static void test_huge(void)
{
	struct age_map m = { 0 };
	struct ibd_extent small[] = {
		X(BASE, M2 - K4, IBD_IDLE, IDLE_BITMAP_SIZE_4K),
		X(BASE + M2 - K4, K4, IBD_ACCESSED, IDLE_BITMAP_SIZE_4K),
		X(BASE + M2, M2, IBD_IDLE, IDLE_BITMAP_SIZE_4K),
	};
	struct ibd_extent huge[] = {
		X(BASE, 2 * M2, IBD_IDLE, IDLE_BITMAP_SIZE_2M),
	};
	unsigned int i;

	for (i = 0; i < 3; i++)
		age_map_update(&m, small, 3);
	/* Ages now: [0, 2M - 4K) 3, the last 4K page 0, [2M, 4M) 3. */
	age_map_update(&m, huge, 1);
	ok(m.nr == 2 && at(&m, BASE)->age == 1 && at(&m, BASE)->end == BASE + M2 &&
	   at(&m, BASE + M2)->age == 4 && at(&m, BASE)->size == IDLE_BITMAP_SIZE_2M,
	   "a huge page takes the youngest history of its 4K pieces (ages %u, %u)",
	   at(&m, BASE)->age, at(&m, BASE + M2)->age);
	age_map_free(&m);
}

/* A map with given (start, bytes, state, age, node, size) stretches. */
static void mk_map(struct age_map *m, const struct age_ext *v, size_t n)
{
	m->v = malloc(n * sizeof(*v));
	memcpy(m->v, v, n * sizeof(*v));
	m->nr = n;
	m->alloc = n;
}

#define E(s, len, st, a, n, sz) { .start = (s), .end = (s) + (len), .state = (st), \
				  .age = (a), .node = (n), .size = (sz), \
				  .hist = (a) ? 0 : 1 }

static uint64_t plan_bytes(const struct tier_plan *p, int node, const char *why)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < p->nr; i++)
		if (p->v[i].node == node && (!why || !strcmp(p->v[i].why, why)))
			sum += p->v[i].end - p->v[i].start;
	return sum;
}

static void test_plan(void)
{
	const struct age_ext v[] = {
		E(BASE, 16 * MIB, IBD_ACCESSED, 0, 0, IDLE_BITMAP_SIZE_4K),
		E(BASE + 16 * MIB, 8 * MIB, IBD_ACCESSED, 0, 1, IDLE_BITMAP_SIZE_4K),
		E(BASE + 24 * MIB, 8 * MIB, IBD_IDLE, 2, 0, IDLE_BITMAP_SIZE_4K),
		E(BASE + 32 * MIB, 32 * MIB, IBD_IDLE, 9, 0, IDLE_BITMAP_SIZE_2M),
		E(BASE + 64 * MIB, 64 * MIB, IBD_HOLE, 0, TIER_NODE_UNKNOWN,
		  IDLE_BITMAP_SIZE_4K),
		E(BASE + 128 * MIB, 4 * MIB, IBD_IDLE, 7, 1, IDLE_BITMAP_SIZE_4K),
	};
	struct tier_cfg c = { .slow = 1, .fast = 0, .cold_age = 5,
			      .budget = TIER_NO_BUDGET, .quota = UINT64_MAX };
	struct age_map m = { 0 };
	struct tier_plan p = { 0 };
	size_t i;
	bool hole = false;

	mk_map(&m, v, ARRAY_SIZE(v));
	/* Accessed once after a long idle time: stays on the slow node. */
	tier_plan_build(&m, &c, &p);
	ok(p.to_fast == 0 && plan_bytes(&p, 0, "accessed") == 0,
	   "memory on the slow node accessed in one pass only stays there");
	tier_plan_free(&p);
	m.v[1].hist = 0x5;	/* accessed in 2 of the last 5 passes */
	tier_plan_build(&m, &c, &p);
	ok(p.fast_bytes == 56 * MIB && p.slow_bytes == 12 * MIB && p.warm_bytes == 32 * MIB,
	   "plan: fast %llu MiB, slow %llu MiB, warm %llu MiB before the moves",
	   (unsigned long long)(p.fast_bytes / MIB), (unsigned long long)(p.slow_bytes / MIB),
	   (unsigned long long)(p.warm_bytes / MIB));
	ok(p.nr == 2 && p.v[0].node == 0 && p.v[0].start == BASE + 16 * MIB &&
	   !strcmp(p.v[0].why, "accessed") && plan_bytes(&p, 1, "cold") == 32 * MIB &&
	   p.to_slow == 32 * MIB && p.to_fast == 8 * MIB,
	   "no budget: accessed memory on the slow node comes back first, cold memory goes");
	for (i = 0; i < p.nr; i++)
		hole |= p.v[i].start < BASE + 128 * MIB && p.v[i].end > BASE + 64 * MIB;
	ok(!hole, "holes are never in a plan");
	tier_plan_free(&p);

	/* Fast would hold 16 + 8 + 8 = 32 MiB after the cold moves; allow 28. */
	c.budget = 28 * MIB;
	tier_plan_build(&m, &c, &p);
	ok(plan_bytes(&p, 1, "budget") == 4 * MIB && p.to_slow == 36 * MIB &&
	   p.v[p.nr - 1].start == BASE + 24 * MIB && !p.short_bytes,
	   "budget 28 MiB: 4 MiB of the warm idle memory goes too, from its start");
	tier_plan_free(&p);

	/* 24 MiB were accessed this pass: a 20 MiB budget cannot hold them. */
	c.budget = 20 * MIB;
	tier_plan_build(&m, &c, &p);
	ok(p.to_fast == 4 * MIB && plan_bytes(&p, 1, NULL) == 40 * MIB &&
	   p.short_bytes == 0,
	   "budget 20 MiB: all idle memory goes, and only 4 of the 8 accessed MiB come back");
	tier_plan_free(&p);
	c.budget = 8 * MIB;
	tier_plan_build(&m, &c, &p);
	ok(p.to_fast == 0 && p.short_bytes == 8 * MIB,
	   "budget 8 MiB: promotions cancelled, 8 MiB accessed memory over budget reported");
	tier_plan_free(&p);

	c.budget = TIER_NO_BUDGET;
	c.quota = 8 * MIB + 3 * M2 + K4;
	tier_plan_build(&m, &c, &p);
	ok(p.to_fast == 8 * MIB && p.to_slow == 3 * M2 && p.deferred == 32 * MIB - 3 * M2,
	   "quota: promotions first, then whole 2M pages only (%llu KiB to slow)",
	   (unsigned long long)(p.to_slow >> 10));
	tier_plan_free(&p);
	age_map_free(&m);
}

static void test_share(void)
{
	struct tier_share a[3] = {
		{ .warm = 100 * MIB, .mapped = 1024 * MIB },
		{ .warm = 300 * MIB, .mapped = 1024 * MIB },
		{ .warm = 0, .mapped = 512 * MIB },
	};
	struct tier_share b[2] = {
		{ .warm = 100 * MIB, .mapped = 120 * MIB },
		{ .warm = 100 * MIB, .mapped = 2048 * MIB },
	};

	tier_share_budget(800 * MIB, a, 3);
	ok(a[0].budget == 200 * MIB && a[1].budget == 600 * MIB && a[2].budget == 0,
	   "share 800 MiB by working sets 100:300:0 -> %llu, %llu, %llu MiB",
	   (unsigned long long)(a[0].budget / MIB), (unsigned long long)(a[1].budget / MIB),
	   (unsigned long long)(a[2].budget / MIB));
	tier_share_budget(200 * MIB, a, 3);
	ok(a[0].budget == 50 * MIB && a[1].budget == 150 * MIB,
	   "working sets over the budget: each gets the same fraction of its own");
	tier_share_budget(1000 * MIB, b, 2);
	ok(b[0].budget == 120 * MIB && b[1].budget == 880 * MIB,
	   "a VM never gets more than it maps; the rest goes to the other");
	a[0].warm = 0;
	a[1].warm = 0;
	tier_share_budget(300 * MIB, a, 3);
	ok(a[0].budget == 100 * MIB && a[1].budget == 100 * MIB && a[2].budget == 100 * MIB,
	   "no working set at all: equal shares");
}

/* The fake move_pages(): node of each page by address, with failures. */
static struct {
	unsigned int calls, addrs;
	bool saw_unaligned_huge;
	int fail_every;		/* nonzero: every n-th page fails with fail_err */
	int fail_err;
	bool leave_unset;	/* a "not migrated" page: status left unwritten */
} fake;

static long fake_move_pages(pid_t pid, unsigned long count, void **pages,
			    const int *nodes, int *status, int flags)
{
	unsigned long i;

	fake.calls++;
	for (i = 0; i < count; i++) {
		uint64_t a = (uintptr_t)pages[i];

		fake.addrs++;
		if (a >= BASE + 32 * MIB && a < BASE + 64 * MIB && (a & (M2 - 1)))
			fake.saw_unaligned_huge = true;
		if (fake.fail_every && (fake.addrs % fake.fail_every) == 0) {
			if (!fake.leave_unset)
				status[i] = -fake.fail_err;
			continue;
		}
		status[i] = nodes ? nodes[i] : 0;
	}
	return 0;
}

static void test_execute(void)
{
	const struct age_ext v[] = {
		E(BASE, 16 * MIB, IBD_ACCESSED, 0, TIER_NODE_UNKNOWN, IDLE_BITMAP_SIZE_4K),
		E(BASE + 16 * MIB, 16 * MIB, IBD_IDLE, 9, TIER_NODE_UNKNOWN,
		  IDLE_BITMAP_SIZE_4K),
		E(BASE + 32 * MIB, 32 * MIB, IBD_IDLE, 9, TIER_NODE_UNKNOWN,
		  IDLE_BITMAP_SIZE_2M),
		E(BASE + 64 * MIB, 64 * MIB, IBD_HOLE, 0, TIER_NODE_UNKNOWN,
		  IDLE_BITMAP_SIZE_4K),
	};
	struct tier_cfg c = { .slow = 1, .fast = 0, .cold_age = 5,
			      .budget = TIER_NO_BUDGET, .quota = UINT64_MAX };
	struct age_map m = { 0 };
	struct tier_plan p = { 0 };
	struct tier_result r;
	int ret;

	tier_move_pages = fake_move_pages;
	mk_map(&m, v, ARRAY_SIZE(v));
	ret = tier_query_nodes(0, &m, UINT64_MAX);
	ok(!ret && fake.addrs == 4096 + 4096 + 16 && age_map_node_bytes(&m, 0, false) == 64 * MIB,
	   "query: one address per 4K page, one per 2M page, none for holes (%u)", fake.addrs);
	tier_plan_build(&m, &c, &p);
	memset(&fake, 0, sizeof(fake));
	fake.fail_every = 8;
	fake.fail_err = EBUSY;
	ret = tier_execute(0, &p, &m, &r);
	ok(!ret && fake.addrs == 4096 + 16 && !fake.saw_unaligned_huge,
	   "execute: a huge page is moved whole, by its first address");
	ok(r.to_slow + r.failed == 48 * MIB && r.err_bytes[TIER_ERR_BUSY] == r.failed &&
	   r.failed == 512 * K4 + 2 * M2,
	   "execute: failures counted by reason (busy %llu KiB)",
	   (unsigned long long)(r.failed >> 10));
	ok(age_map_node_bytes(&m, 1, false) == r.to_slow,
	   "the map knows where the moved memory is now");
	tier_plan_free(&p);

	memset(&fake, 0, sizeof(fake));
	fake.fail_every = 1;
	fake.leave_unset = true;
	tier_plan_build(&m, &c, &p);
	ret = tier_execute(0, &p, &m, &r);
	ok(!ret && r.to_slow == 0 && r.err_bytes[TIER_ERR_BUSY] == p.to_slow,
	   "a page the kernel queued but did not migrate counts as busy or pinned");
	tier_plan_free(&p);
	memset(&fake, 0, sizeof(fake));
	fake.fail_every = 1;
	fake.fail_err = ENOMEM;
	tier_plan_build(&m, &c, &p);
	ret = tier_execute(0, &p, &m, &r);
	ok(!ret && r.err_bytes[TIER_ERR_NOMEM] == p.to_slow,
	   "ENOMEM: the slow node is full");
	tier_plan_free(&p);
	age_map_free(&m);
	tier_move_pages = NULL;
}

/* Memory moved to the slow node becomes a hole; pages that cannot move. */
static void test_after_move(void)
{
	struct ibd_extent idle[] = { X(BASE, 8 * MIB, IBD_IDLE, IDLE_BITMAP_SIZE_4K) };
	struct ibd_extent hole[] = { X(BASE, 8 * MIB, IBD_HOLE, IDLE_BITMAP_SIZE_4K) };
	struct ibd_extent acc[] = { X(BASE, 8 * MIB, IBD_ACCESSED, IDLE_BITMAP_SIZE_4K) };
	struct tier_cfg c = { .slow = 1, .fast = 0, .cold_age = 1,
			      .budget = TIER_NO_BUDGET, .quota = UINT64_MAX };
	struct age_map m = { 0 };
	struct tier_plan p = { 0 };
	struct tier_result r;

	tier_move_pages = fake_move_pages;
	memset(&fake, 0, sizeof(fake));
	age_map_update(&m, idle, 1);
	tier_query_nodes(0, &m, UINT64_MAX);
	tier_plan_build(&m, &c, &p);
	tier_execute(0, &p, &m, &r);
	tier_plan_free(&p);
	/* Migration unmapped it from the secondary MMU. */
	age_map_update(&m, hole, 1);
	ok(age_map_node_bytes(&m, 1, false) == 8 * MIB && age_map_node_bytes(&m, 1, true) == 0,
	   "memory moved to the slow node still counts there while it is a hole");
	age_map_free(&m);

	memset(&fake, 0, sizeof(fake));
	age_map_update(&m, idle, 1);
	tier_query_nodes(0, &m, UINT64_MAX);
	fake.fail_every = 2;
	fake.fail_err = EFAULT;
	tier_plan_build(&m, &c, &p);
	tier_execute(0, &p, &m, &r);
	tier_plan_free(&p);
	fake.fail_every = 0;
	tier_plan_build(&m, &c, &p);
	ok(r.err_bytes[TIER_ERR_GONE] == 4 * MIB && p.to_slow == 0,
	   "pages move_pages() found nothing to move in are not tried again (%llu KiB)",
	   (unsigned long long)(p.to_slow >> 10));
	tier_plan_free(&p);
	age_map_update(&m, acc, 1);
	age_map_update(&m, idle, 1);
	tier_query_nodes(0, &m, UINT64_MAX);
	tier_plan_build(&m, &c, &p);
	ok(p.to_slow == 4 * MIB, "once the guest writes them, they are tried again");
	tier_plan_free(&p);
	age_map_free(&m);
	tier_move_pages = NULL;
}

/* Parse the text format back: HELP and TYPE before samples, values numeric. */
static int prom_parse(const char *path, const char *want_line, unsigned int *samples)
{
	char line[1024], helped[64][96], typed[64][96];
	unsigned int nh = 0, nt = 0, i;
	bool want_found = false;
	FILE *f = fopen(path, "r");

	*samples = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char name[96], *sp, *end;
		size_t n;

		line[strcspn(line, "\n")] = 0;
		if (want_line && !strcmp(line, want_line))
			want_found = true;
		if (!strncmp(line, "# HELP ", 7)) {
			if (sscanf(line + 7, "%95s", helped[nh]) != 1 || nh == 63)
				return -2;
			nh++;
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			char type[32];

			if (sscanf(line + 7, "%95s %31s", typed[nt], type) != 2 || nt == 63)
				return -3;
			if (strcmp(type, "gauge") && strcmp(type, "counter"))
				return -4;
			if (!strcmp(type, "counter") &&
			    strlen(typed[nt]) > 6 &&
			    strcmp(typed[nt] + strlen(typed[nt]) - 6, "_total"))
				return -5;
			nt++;
			continue;
		}
		n = strcspn(line, "{ ");
		if (!n || n >= sizeof(name))
			return -6;
		memcpy(name, line, n);
		name[n] = 0;
		for (i = 0; i < nt && strcmp(typed[i], name); i++)
			;
		if (i == nt)
			return -7;	/* a sample without its TYPE */
		for (i = 0; i < nh && strcmp(helped[i], name); i++)
			;
		if (i == nh)
			return -8;
		sp = strrchr(line, ' ');
		if (!sp)
			return -9;
		strtod(sp + 1, &end);
		if (*end || end == sp + 1)
			return -10;
		if (line[n] == '{' && sp[-1] != '}')
			return -11;
		(*samples)++;
	}
	fclose(f);
	return want_line && !want_found ? -12 : 0;
}

static void test_prom(void)
{
	static const unsigned int ages[] = { 1, 5, 30 };
	static const uint64_t idle_age[] = { 300 * MIB, 200 * MIB, 100 * MIB };
	char dir[] = "/tmp/test_tier.XXXXXX", path[96];
	struct prom_vm vm[2] = {
		{ .name = "vm1", .pid = 100, .ws_bytes = 64 * MIB, .window = 1,
		  .ages = ages, .idle_age_bytes = idle_age, .nr_ages = 3, .rounds = 7,
		  .placement = true, .fast_bytes = 1, .slow_bytes = 2, .budget_bytes = 3 },
		{ .name = "odd \"name\"\\", .pid = 200, .window = 1, .rounds = 7 },
	};
	unsigned int samples = 0;
	struct stat st;
	int ret;

	vm[0].bytes[IBD_ACCESSED][IDLE_BITMAP_SIZE_2M] = 4 * M2;
	vm[0].moved_total[0] = 5 * MIB;
	vm[0].failed_total[TIER_ERR_BUSY] = 4096;
	if (!mkdtemp(dir)) {
		ok(false, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/kvm_idle.prom", dir);
	ret = prom_write(path, vm, 2, 1700000000.5);
	ok(!ret, "prom_write: %d", ret);
	ret = prom_parse(path,
			 "kvm_idle_guest_memory_bytes{vm=\"vm1\",pid=\"100\",state=\"accessed\",page_size=\"2M\"} 8388608",
			 &samples);
	ok(!ret && samples == 38, "the output parses back (%d), with %u samples", ret, samples);
	ret = prom_parse(path,
			 "kvm_idle_guest_memory_bytes{vm=\"odd \\\"name\\\"\\\\\",pid=\"200\",state=\"hole\",page_size=\"4K\"} 0",
			 &samples);
	ok(!ret, "label values are escaped (%d)", ret);
	ret = prom_parse(path,
			 "kvm_idle_migration_failed_bytes_total{vm=\"vm1\",pid=\"100\",reason=\"busy\"} 4096",
			 &samples);
	ok(!ret, "failures by reason, as a counter");
	ret = prom_parse(path,
			 "kvm_idle_idle_bytes{vm=\"vm1\",pid=\"100\",min_rounds=\"30\"} 104857600",
			 &samples);
	ok(!ret, "bytes idle for at least 30 rounds");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644,
	   "the file is readable by the collector");
	/* Only the file itself is left: the temporary was renamed. */
	unlink(path);
	ok(rmdir(dir) == 0, "no temporary file is left behind");
	snprintf(path, sizeof(path), "/nonexistent-dir/x.prom");
	ok(prom_write(path, vm, 1, 0) == -ENOENT, "an unwritable directory is an error");
}

static void test_percentile(void)
{
	uint64_t v[] = { 5, 1, 4, 2, 3, 10, 9, 8, 7, 6 };

	ok(tier_percentile(v, 10, 50) == 5 && tier_percentile(v, 10, 90) == 9 &&
	   tier_percentile(v, 10, 100) == 10 && tier_percentile(v, 10, 1) == 1 &&
	   tier_percentile(v, 0, 50) == 0, "nearest-rank percentiles");
}

/* move_pages() on this process: a query, then a move to the node it is on. */
static void test_real_move_pages(void)
{
	struct age_map m = { 0 };
	struct ibd_extent e;
	char *p = mmap(NULL, 4 * K4, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int ret;

	tier_move_pages = tier_sys_move_pages;
	memset(p, 1, 4 * K4);
	e = X((uintptr_t)p, 4 * K4, IBD_IDLE, IDLE_BITMAP_SIZE_4K);
	age_map_update(&m, &e, 1);
	ret = tier_query_nodes(0, &m, UINT64_MAX);
	if (ret == -ENOSYS) {
		printf("ok %u - # SKIP move_pages: this kernel has no NUMA\n", ++tap_nr);
	} else {
		ok(!ret && m.nr == 1 && m.v[0].node >= 0,
		   "move_pages() on this process: the pages are on node %d", m.v[0].node);
	}
	munmap(p, 4 * K4);
	age_map_free(&m);
}

int main(void)
{
	test_ages();
	test_huge();
	test_plan();
	test_share();
	test_execute();
	test_after_move();
	test_prom();
	test_percentile();
	test_real_move_pages();
	return tap_done();
}
