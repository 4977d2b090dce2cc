// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_idle's memory tiering: per-stretch age and access history, the NUMA
 * node of each stretch, placement planning and move_pages(2), the sharing of
 * a fast-node budget between VMs, and the Prometheus text-format writer.
 * See tier.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "tier.h"

#define TIER_BATCH	1024	/* addresses per move_pages() call */
#define STATUS_UNSET	(1 << 30)
#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE	(1 << 1)
#endif

static void *tier_realloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fputs("kvm_idle: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

#define VEC_PUSH(vec, val) do {						\
	__typeof__(vec) __vec = (vec);					\
									\
	if (__vec->nr == __vec->alloc) {				\
		__vec->alloc = __vec->alloc ? 2 * __vec->alloc : 64;	\
		__vec->v = tier_realloc(__vec->v,			\
					__vec->alloc * sizeof(*__vec->v)); \
	}								\
	__vec->v[__vec->nr++] = (val);					\
} while (0)

static uint64_t unit_bytes(unsigned int size)
{
	return 1ULL << ibd_size_shift(size);
}

void age_map_free(struct age_map *m)
{
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static bool age_ext_same(const struct age_ext *a, const struct age_ext *b)
{
	return a->hist == b->hist && a->age == b->age && a->state == b->state &&
	       a->size == b->size && a->node == b->node;
}

/* Append to a map, merging with the last stretch when nothing differs. */
static void age_push(struct age_map *m, const struct age_ext *e)
{
	struct age_ext *last = m->nr ? &m->v[m->nr - 1] : NULL;

	if (e->start >= e->end)
		return;
	if (last && last->end == e->start && age_ext_same(last, e)) {
		last->end = e->end;
		return;
	}
	VEC_PUSH(m, *e);
}

/* The new history of a stretch that had history old (or none) this pass. */
static void age_step(struct age_ext *n, const struct age_ext *old, unsigned int state)
{
	uint64_t hist = old ? old->hist << 1 : 0;

	n->state = state;
	n->node = old ? old->node : TIER_NODE_UNKNOWN;
	/* Written since move_pages() found nothing to move there: ask again. */
	if (n->node == TIER_NODE_STUCK && state == IBD_ACCESSED)
		n->node = TIER_NODE_UNKNOWN;
	if (state == IBD_ACCESSED) {
		n->hist = hist | 1;
		n->age = 0;
	} else if (state == IBD_IDLE) {
		n->hist = hist;
		/* Seen idle for the first time: idle for this one pass. */
		n->age = !old ? 1 : old->age == TIER_AGE_MAX ? TIER_AGE_MAX : old->age + 1;
	} else {
		n->hist = hist;
		n->age = 0;
	}
}

/*
 * Feed one pass.  ext[] is in address order, as the decoder returns it.
 * Memory the pass does not cover is forgotten.  A huge page has one Accessed
 * bit, so it gets one history: the youngest of what its 4K pieces had (a THP
 * that khugepaged collapsed from recently used 4K pages is not cold).
 */
void age_map_update(struct age_map *m, const struct ibd_extent *ext, size_t nr)
{
	struct age_map out = { 0 };
	size_t i, oi = 0;

	for (i = 0; i < nr; i++) {
		const struct ibd_extent *x = &ext[i];
		uint64_t s = x->addr, e = x->addr + x->npages * 4096ULL;
		uint64_t unit = unit_bytes(x->size);
		struct age_ext n = { .size = x->size };

		while (s < e) {
			const struct age_ext *o;
			uint64_t pe;

			while (oi < m->nr && m->v[oi].end <= s)
				oi++;
			o = oi < m->nr ? &m->v[oi] : NULL;
			if (x->size != IDLE_BITMAP_SIZE_4K) {
				/* One huge page: fold every old piece inside it. */
				struct age_ext fold = { .age = TIER_AGE_MAX,
							.node = TIER_NODE_UNKNOWN };
				bool seen = false, holey = false;
				size_t j;

				pe = s + unit;
				for (j = oi; j < m->nr && m->v[j].start < pe; j++) {
					const struct age_ext *p = &m->v[j];

					seen = true;
					fold.hist |= p->hist;
					if (p->state == IBD_HOLE)
						holey = true;
					else if (p->age < fold.age)
						fold.age = p->age;
					if (fold.node == TIER_NODE_UNKNOWN)
						fold.node = p->node;
				}
				if (holey || fold.age == TIER_AGE_MAX)
					fold.age = 0;
				age_step(&n, seen ? &fold : NULL, x->state);
			} else if (o && o->start <= s) {
				pe = o->end < e ? o->end : e;
				age_step(&n, o, x->state);
			} else {
				pe = o && o->start < e ? o->start : e;
				age_step(&n, NULL, x->state);
			}
			n.start = s;
			n.end = pe;
			age_push(&out, &n);
			s = pe;
		}
	}
	out.passes = m->passes + 1;
	free(m->v);
	*m = out;
}

/* Bytes found idle by at least the last min_age passes in a row. */
uint64_t age_map_idle_bytes(const struct age_map *m, unsigned int min_age)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < m->nr; i++) {
		if (m->v[i].state == IBD_IDLE && m->v[i].age >= min_age)
			sum += m->v[i].end - m->v[i].start;
	}
	return sum;
}

/* Mapped bytes accessed in the last cold_age passes: not yet cold. */
uint64_t age_map_warm_bytes(const struct age_map *m, unsigned int cold_age)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < m->nr; i++) {
		if (m->v[i].state != IBD_HOLE && m->v[i].age < cold_age)
			sum += m->v[i].end - m->v[i].start;
	}
	return sum;
}

/*
 * Bytes on node (other: on any node but node, unknown included).  Mapped
 * memory, and holes whose node is known: migration unmaps memory from the
 * secondary MMU, and memory moved to the slow node that the guest does not
 * touch stays a hole there.
 */
uint64_t age_map_node_bytes(const struct age_map *m, int node, bool other)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < m->nr; i++) {
		if (m->v[i].state == IBD_HOLE && m->v[i].node < 0)
			continue;
		bool on_node = m->v[i].node == node;

		if (on_node != other)
			sum += m->v[i].end - m->v[i].start;
	}
	return sum;
}

/* Passes out of the last k (at most TIER_HIST_ROUNDS) that found it accessed. */
unsigned int age_ext_freq(const struct age_ext *e, unsigned int k)
{
	uint64_t mask = k >= 64 ? ~0ULL : (1ULL << k) - 1;

	return __builtin_popcountll(e->hist & mask);
}

void node_runs_add(struct node_runs *r, uint64_t start, uint64_t end, int node)
{
	struct node_run *last = r->nr ? &r->v[r->nr - 1] : NULL;
	struct node_run n = { start, end, node };

	if (last && last->end == start && last->node == node) {
		last->end = end;
		return;
	}
	VEC_PUSH(r, n);
}

static int node_run_cmp(const void *a, const void *b)
{
	const struct node_run *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Record where stretches are now; r need not be sorted, and is sorted. */
void age_map_apply_nodes(struct age_map *m, const struct node_runs *r)
{
	struct age_map out = { .passes = m->passes };
	size_t i, ri = 0;

	qsort(r->v, r->nr, sizeof(*r->v), node_run_cmp);
	for (i = 0; i < m->nr; i++) {
		struct age_ext n = m->v[i];
		uint64_t s = n.start, e = n.end;

		while (s < e) {
			while (ri < r->nr && r->v[ri].end <= s)
				ri++;
			n.node = m->v[i].node;
			if (ri < r->nr && r->v[ri].start <= s) {
				n.end = r->v[ri].end < e ? r->v[ri].end : e;
				n.node = r->v[ri].node;
			} else {
				n.end = ri < r->nr && r->v[ri].start < e ? r->v[ri].start : e;
			}
			n.start = s;
			age_push(&out, &n);
			s = n.end;
		}
	}
	free(m->v);
	*m = out;
}

void tier_plan_free(struct tier_plan *p)
{
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* Coldest first: longest idle, then least often accessed, then address. */
static int by_coldness(const void *a, const void *b, void *arg)
{
	const struct age_ext *v = arg;
	const struct age_ext *x = &v[*(const size_t *)a], *y = &v[*(const size_t *)b];
	unsigned int fx = age_ext_freq(x, TIER_HIST_ROUNDS);
	unsigned int fy = age_ext_freq(y, TIER_HIST_ROUNDS);

	if (x->age != y->age)
		return x->age > y->age ? -1 : 1;
	if (fx != fy)
		return fx < fy ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static void plan_add(struct tier_plan *p, const struct age_ext *e, uint64_t start,
		     uint64_t end, int node, const char *why)
{
	struct tier_move mv = {
		.start = start, .end = end, .size = e->size, .node = node,
		.age = e->age, .why = why,
	};

	VEC_PUSH(p, mv);
}

/*
 * The end of the first bytes of [start, end) in whole units of size: at
 * least want bytes (up), or at most want bytes (!up).
 */
static uint64_t take(uint64_t start, uint64_t end, unsigned int size, uint64_t want,
		     bool up)
{
	uint64_t unit = unit_bytes(size), n;

	if (end - start <= want)
		return end;
	n = up ? (want + unit - 1) / unit * unit : want / unit * unit;
	return start + n < end ? start + n : end;
}

/*
 * Plan one round for one VM:
 *  1. memory on the slow node that the last pass found accessed, and one
 *     more pass of the last max(cold_age, 2), goes back to the fast node;
 *  2. memory idle for at least cold_age passes goes to the slow node;
 *  3. while the fast node would hold more than the budget, the coldest of
 *     the rest goes too (longest idle, then least accessed); memory the last
 *     pass found accessed is never demoted for the budget, and what of it
 *     does not fit stays where it is (short_bytes);
 *  4. at most quota bytes move: promotions first, then the coldest.
 * Holes are never moved: they are not mapped in the secondary MMU, and
 * nothing is known of them.
 */
void tier_plan_build(const struct age_map *m, const struct tier_cfg *c,
		     struct tier_plan *p)
{
	struct tier_plan all = { 0 };
	size_t *idx = NULL, nidx = 0, i;
	uint64_t fast_after, left;
	unsigned int win;

	memset(p, 0, sizeof(*p));
	p->fast = c->fast;
	p->slow = c->slow;
	p->fast_bytes = age_map_node_bytes(m, c->slow, true);
	p->slow_bytes = age_map_node_bytes(m, c->slow, false);
	p->warm_bytes = age_map_warm_bytes(m, c->cold_age);

	/*
	 * Promote only what was accessed in at least two of the last
	 * max(cold_age, 2) passes: memory the guest touches now and then
	 * (a timer, a page-table walk) would otherwise move back and forth
	 * every cold_age passes.
	 */
	win = c->cold_age > TIER_PROMOTE_HITS ? c->cold_age : TIER_PROMOTE_HITS;
	for (i = 0; i < m->nr; i++) {
		const struct age_ext *e = &m->v[i];

		if (e->state == IBD_ACCESSED && e->node == c->slow &&
		    age_ext_freq(e, win) >= TIER_PROMOTE_HITS)
			plan_add(&all, e, e->start, e->end, c->fast, "accessed");
	}
	for (i = 0; i < all.nr; i++)
		all.to_fast += all.v[i].end - all.v[i].start;
	idx = tier_realloc(NULL, m->nr * sizeof(*idx));
	for (i = 0; i < m->nr; i++) {
		const struct age_ext *e = &m->v[i];

		if (e->state == IBD_IDLE && e->node != c->slow && e->node != TIER_NODE_STUCK)
			idx[nidx++] = i;
	}
	qsort_r(idx, nidx, sizeof(*idx), by_coldness, m->v);
	fast_after = p->fast_bytes + all.to_fast;
	for (i = 0; i < nidx; i++) {
		const struct age_ext *e = &m->v[idx[i]];
		uint64_t len = e->end - e->start, end = e->end;
		const char *why = "cold";

		if (e->age < c->cold_age) {
			if (c->budget == TIER_NO_BUDGET || fast_after <= c->budget)
				break;
			end = take(e->start, e->end, e->size, fast_after - c->budget, true);
			len = end - e->start;
			why = "budget";
		}
		plan_add(&all, e, e->start, end, c->slow, why);
		all.to_slow += len;
		fast_after -= len < fast_after ? len : fast_after;
	}
	free(idx);
	if (c->budget != TIER_NO_BUDGET && fast_after > c->budget) {
		/*
		 * Only memory the last pass found accessed is left: bring back
		 * less of it, from the end of the list, then say what is over.
		 */
		for (i = all.nr; i-- > 0 && fast_after > c->budget; ) {
			struct tier_move *mv = &all.v[i];
			uint64_t len = mv->end - mv->start, keep, cut;

			if (mv->node != c->fast)
				continue;
			cut = fast_after - c->budget;
			keep = cut >= len ? 0 : len - cut;
			mv->end = take(mv->start, mv->end, mv->size, keep, false);
			cut = len - (mv->end - mv->start);
			all.to_fast -= cut;
			fast_after -= cut;
		}
		if (fast_after > c->budget)
			p->short_bytes = fast_after - c->budget;
	}

	/* The quota: promotions are first in the list, then coldest first. */
	left = c->quota;
	for (i = 0; i < all.nr; i++) {
		struct tier_move mv = all.v[i];
		uint64_t len = mv.end - mv.start;

		if (!len)
			continue;
		if (len > left) {
			mv.end = take(mv.start, mv.end, mv.size, left, false);
			p->deferred += len - (mv.end - mv.start);
			len = mv.end - mv.start;
			if (!len)
				continue;
		}
		left -= len;
		if (mv.node == c->fast)
			p->to_fast += len;
		else
			p->to_slow += len;
		VEC_PUSH(p, mv);
	}
	tier_plan_free(&all);
}

/*
 * Share total fast-node bytes by working set (warm bytes), in proportion to
 * it.  When the warm sets fit, each VM so gets its warm set plus a share of
 * the rest in proportion to its warm set; when they do not, each gets the
 * same fraction of its warm set.  No VM gets more than it has mapped; what
 * that frees goes to the others, in the same proportion.  With no warm
 * memory at all, the VMs share equally.
 */
void tier_share_budget(uint64_t total, struct tier_share *vm, size_t n)
{
	bool *capped = tier_realloc(NULL, n * sizeof(*capped));
	uint64_t left = total;
	size_t i, open = n;
	bool again = true;

	for (i = 0; i < n; i++)
		capped[i] = false;
	while (again && open) {
		uint64_t w = 0;

		again = false;
		for (i = 0; i < n; i++)
			if (!capped[i])
				w += vm[i].warm;
		for (i = 0; i < n; i++) {
			if (capped[i])
				continue;
			vm[i].budget = w ? (uint64_t)((__uint128_t)left * vm[i].warm / w) :
				       left / open;
			if (vm[i].budget >= vm[i].mapped) {
				vm[i].budget = vm[i].mapped;
				capped[i] = true;
				left -= vm[i].mapped;
				open--;
				again = true;
				break;	/* share the rest again without it */
			}
		}
	}
	free(capped);
}

long tier_sys_move_pages(pid_t pid, unsigned long count, void **pages,
			 const int *nodes, int *status, int flags)
{
	return syscall(SYS_move_pages, pid, count, pages, nodes, status, flags);
}

tier_move_pages_fn tier_move_pages = tier_sys_move_pages;

const char * const tier_err_name[NR_TIER_ERRS] = {
	[TIER_ERR_BUSY] = "busy",
	[TIER_ERR_NOMEM] = "nomem",
	[TIER_ERR_SHARED] = "shared",
	[TIER_ERR_GONE] = "gone",
	[TIER_ERR_OTHER] = "other",
};

static enum tier_err tier_errno(int err)
{
	switch (err) {
	case EBUSY:
	case EAGAIN:
		return TIER_ERR_BUSY;
	case ENOMEM:
		return TIER_ERR_NOMEM;
	case EACCES:
		return TIER_ERR_SHARED;
	case EFAULT:
	case ENOENT:
		return TIER_ERR_GONE;
	default:
		return TIER_ERR_OTHER;
	}
}

struct batch {
	void *addr[TIER_BATCH];
	int node[TIER_BATCH];
	int status[TIER_BATCH];
	uint64_t len[TIER_BATCH];
	unsigned int nr;
};

/*
 * One move_pages() call for the batch; nodes NULL only queries.  Records
 * where each unit is in runs, and what happened in r (may be NULL).
 */
static int batch_flush(pid_t pid, struct batch *b, bool query, struct node_runs *runs,
		       struct tier_result *r, int fast)
{
	unsigned int i;
	long ret;

	if (!b->nr)
		return 0;
	for (i = 0; i < b->nr; i++)
		b->status[i] = STATUS_UNSET;
	ret = tier_move_pages(pid, b->nr, b->addr, query ? NULL : b->node, b->status,
			      MPOL_MF_MOVE);
	if (ret < 0) {
		b->nr = 0;
		return -errno;
	}
	for (i = 0; i < b->nr; i++) {
		uint64_t a = (uintptr_t)b->addr[i];
		int st = b->status[i];

		if (st >= 0 && st != STATUS_UNSET) {
			node_runs_add(runs, a, a + b->len[i], st);
			if (!r)
				continue;
			if (st == b->node[i]) {
				if (st == fast)
					r->to_fast += b->len[i];
				else
					r->to_slow += b->len[i];
				continue;
			}
		}
		/*
		 * No page there (the shared zero page, or unmapped since) or one
		 * other processes map too: do not ask again every round.
		 */
		if (st < 0 && (tier_errno(-st) == TIER_ERR_GONE ||
			       tier_errno(-st) == TIER_ERR_SHARED))
			node_runs_add(runs, a, a + b->len[i], TIER_NODE_STUCK);
		if (!r)
			continue;
		/*
		 * A page that was queued but did not migrate keeps the status
		 * the kernel never wrote: busy or pinned.
		 */
		r->failed += b->len[i];
		r->err_bytes[st == STATUS_UNSET || st >= 0 ? TIER_ERR_BUSY :
			     tier_errno(-st)] += b->len[i];
	}
	b->nr = 0;
	return 0;
}

static int batch_add(pid_t pid, struct batch *b, uint64_t addr, uint64_t len, int node,
		     bool query, struct node_runs *runs, struct tier_result *r, int fast)
{
	b->addr[b->nr] = (void *)(uintptr_t)addr;
	b->node[b->nr] = node;
	b->len[b->nr] = len;
	if (++b->nr == TIER_BATCH)
		return batch_flush(pid, b, query, runs, r, fast);
	return 0;
}

/*
 * Learn the node of mapped memory whose node is unknown, at most max_units
 * pages (one address per huge page) per call.  0 or -errno of move_pages().
 */
int tier_query_nodes(pid_t pid, struct age_map *m, uint64_t max_units)
{
	struct node_runs runs = { 0 };
	struct batch *b = tier_realloc(NULL, sizeof(*b));
	uint64_t units = 0;
	size_t i;
	int ret = 0;

	b->nr = 0;
	for (i = 0; i < m->nr && units < max_units && !ret; i++) {
		const struct age_ext *e = &m->v[i];
		uint64_t unit = unit_bytes(e->size), a;

		if (e->state == IBD_HOLE || e->node != TIER_NODE_UNKNOWN)
			continue;
		for (a = e->start & ~(unit - 1); a < e->end && units < max_units && !ret;
		     a += unit, units++) {
			uint64_t s = a < e->start ? e->start : a;
			uint64_t t = a + unit > e->end ? e->end : a + unit;

			ret = batch_add(pid, b, s, t - s, 0, true, &runs, NULL, 0);
		}
	}
	if (!ret)
		ret = batch_flush(pid, b, true, &runs, NULL, 0);
	if (!ret)
		age_map_apply_nodes(m, &runs);
	free(runs.v);
	free(b);
	return ret;
}

/*
 * Carry out a plan: one move_pages() address per page of the move's size,
 * so a huge page moves whole.  Updates the nodes in m.  0, or -errno when
 * move_pages() itself failed (the process is gone, a node does not exist).
 */
int tier_execute(pid_t pid, const struct tier_plan *p, struct age_map *m,
		 struct tier_result *r)
{
	struct node_runs runs = { 0 };
	struct batch *b = tier_realloc(NULL, sizeof(*b));
	int ret = 0;
	size_t i;

	memset(r, 0, sizeof(*r));
	b->nr = 0;
	for (i = 0; i < p->nr && !ret; i++) {
		const struct tier_move *mv = &p->v[i];
		uint64_t unit = unit_bytes(mv->size), a;

		for (a = mv->start & ~(unit - 1); a < mv->end && !ret; a += unit) {
			uint64_t s = a < mv->start ? mv->start : a;
			uint64_t t = a + unit > mv->end ? mv->end : a + unit;

			ret = batch_add(pid, b, s, t - s, mv->node, false, &runs, r, p->fast);
		}
	}
	if (!ret)
		ret = batch_flush(pid, b, false, &runs, r, p->fast);
	age_map_apply_nodes(m, &runs);
	free(runs.v);
	free(b);
	return ret;
}

/* A label value, escaped as the text format wants. */
void prom_label(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void prom_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The start of a sample of metric name for vm: name{vm="...",pid="..." */
static void prom_sample(FILE *f, const char *name, const struct prom_vm *vm)
{
	fprintf(f, "%s{vm=", name);
	prom_label(f, vm->name);
	fprintf(f, ",pid=\"%d\"", (int)vm->pid);
}

static const char * const prom_state[3] = { "hole", "idle", "accessed" };
static const char * const prom_size[3] = { "4K", "2M", "1G" };

/*
 * Write the metrics of n VMs to path, through a temporary file in the same
 * directory and rename(), so that the textfile collector never reads a
 * half-written file.  0 or -errno.
 */
int prom_write(const char *path, const struct prom_vm *vm, size_t n, double now)
{
	size_t len = strlen(path) + 16, i;
	char *tmp = tier_realloc(NULL, len);
	unsigned int s, z, a;
	FILE *f;
	int fd, err = 0;

	snprintf(tmp, len, "%s.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = -errno;
		free(tmp);
		return err;
	}
	f = fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
		goto out;
	}
	fchmod(fd, 0644);

	prom_head(f, "kvm_idle_guest_memory_bytes", "gauge",
		  "Guest memory covered by memslots, by state in the secondary MMU and page size.");
	for (i = 0; i < n; i++)
		for (s = 0; s < 3; s++)
			for (z = 0; z < 3; z++) {
				prom_sample(f, "kvm_idle_guest_memory_bytes", &vm[i]);
				fprintf(f, ",state=\"%s\",page_size=\"%s\"} %llu\n",
					prom_state[s], prom_size[z],
					(unsigned long long)vm[i].bytes[s][z]);
			}
	prom_head(f, "kvm_idle_working_set_bytes", "gauge",
		  "Bytes the guest accessed in the last window rounds.");
	for (i = 0; i < n; i++) {
		prom_sample(f, "kvm_idle_working_set_bytes", &vm[i]);
		fprintf(f, ",window=\"%u\"} %llu\n", vm[i].window,
			(unsigned long long)vm[i].ws_bytes);
	}
	prom_head(f, "kvm_idle_idle_bytes", "gauge",
		  "Mapped bytes idle for at least min_rounds rounds in a row.");
	for (i = 0; i < n; i++)
		for (a = 0; a < vm[i].nr_ages; a++) {
			prom_sample(f, "kvm_idle_idle_bytes", &vm[i]);
			fprintf(f, ",min_rounds=\"%u\"} %llu\n", vm[i].ages[a],
				(unsigned long long)vm[i].idle_age_bytes[a]);
		}
	prom_head(f, "kvm_idle_scan_seconds", "gauge", "Time the last round's reads took.");
	for (i = 0; i < n; i++) {
		prom_sample(f, "kvm_idle_scan_seconds", &vm[i]);
		fprintf(f, "} %.6f\n", vm[i].scan_seconds);
	}
	prom_head(f, "kvm_idle_rounds_total", "counter", "Rounds reported.");
	for (i = 0; i < n; i++) {
		prom_sample(f, "kvm_idle_rounds_total", &vm[i]);
		fprintf(f, "} %llu\n", (unsigned long long)vm[i].rounds);
	}
	for (i = 0; i < n && !vm[i].placement; i++)
		;
	if (i < n) {
		prom_head(f, "kvm_idle_tier_bytes", "gauge",
			  "Mapped guest bytes on the fast and the slow NUMA node.");
		for (i = 0; i < n; i++) {
			if (!vm[i].placement)
				continue;
			prom_sample(f, "kvm_idle_tier_bytes", &vm[i]);
			fprintf(f, ",tier=\"fast\"} %llu\n", (unsigned long long)vm[i].fast_bytes);
			prom_sample(f, "kvm_idle_tier_bytes", &vm[i]);
			fprintf(f, ",tier=\"slow\"} %llu\n", (unsigned long long)vm[i].slow_bytes);
		}
		prom_head(f, "kvm_idle_fast_budget_bytes", "gauge",
			  "Fast-node bytes this VM may use (its share of --fast-budget).");
		for (i = 0; i < n; i++) {
			if (!vm[i].placement || vm[i].budget_bytes == TIER_NO_BUDGET)
				continue;
			prom_sample(f, "kvm_idle_fast_budget_bytes", &vm[i]);
			fprintf(f, "} %llu\n", (unsigned long long)vm[i].budget_bytes);
		}
		prom_head(f, "kvm_idle_migrated_bytes_total", "counter",
			  "Guest bytes moved between the tiers.");
		for (i = 0; i < n; i++) {
			if (!vm[i].placement)
				continue;
			for (s = 0; s < 2; s++) {
				prom_sample(f, "kvm_idle_migrated_bytes_total", &vm[i]);
				fprintf(f, ",tier=\"%s\"} %llu\n", s ? "fast" : "slow",
					(unsigned long long)vm[i].moved_total[s]);
			}
		}
		prom_head(f, "kvm_idle_migration_failed_bytes_total", "counter",
			  "Guest bytes that did not move, by reason.");
		for (i = 0; i < n; i++) {
			if (!vm[i].placement)
				continue;
			for (s = 0; s < NR_TIER_ERRS; s++) {
				prom_sample(f, "kvm_idle_migration_failed_bytes_total", &vm[i]);
				fprintf(f, ",reason=\"%s\"} %llu\n", tier_err_name[s],
					(unsigned long long)vm[i].failed_total[s]);
			}
		}
	}
	prom_head(f, "kvm_idle_last_round_timestamp_seconds", "gauge",
		  "When the last round ended, in seconds since the epoch.");
	fprintf(f, "kvm_idle_last_round_timestamp_seconds %.3f\n", now);

	if (ferror(f))
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
out:
	if (err)
		unlink(tmp);
	free(tmp);
	return err;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The nearest-rank pct-th percentile of v[0..n). */
uint64_t tier_percentile(const uint64_t *v, size_t n, unsigned int pct)
{
	uint64_t *c, r;
	size_t k;

	if (!n)
		return 0;
	c = tier_realloc(NULL, n * sizeof(*c));
	memcpy(c, v, n * sizeof(*c));
	qsort(c, n, sizeof(*c), u64_cmp);
	k = ((uint64_t)pct * n + 99) / 100;
	r = c[k ? k - 1 : 0];
	free(c);
	return r;
}
