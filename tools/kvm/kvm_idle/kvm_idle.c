// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_idle: the working set, hot/idle/hole totals and a heat map of a VMM's
 * guest memory, read from /proc/PID/idle_bitmap.
 *
 * Each round reads the whole file (or the range given with --range) and
 * sorts every page that some memslot covers into one of three states, as the
 * secondary MMU (EPT/NPT) sees it: accessed since the last clearing pass
 * ("hot"), mapped but not accessed ("idle"), or not mapped ("hole").  Opened
 * read-write, each read also clears the Accessed bits it reports, so round N
 * shows what the guest touched between rounds N-1 and N.  The working set is
 * the number of bytes accessed in any of the last K rounds.
 *
 * The records are decoded by idle_bitmap_decode.h, the decoder the kvm-idle
 * selftests use.  See kvm_idle.txt for the manual.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "idle_bitmap_decode.h"
#include "tier.h"

#define NR_STATES	3	/* enum ibd_state */
#define NR_SIZES	3	/* IDLE_BITMAP_SIZE_4K, _2M, _1G */
#define PAGE_SZ		4096ULL
#define ADDR_END	IBD_ADDR_LIMIT
#define READ_RECORDS	(128 * 1024)	/* 1 MiB of records per read() */
#define HEAT_LEVELS	8
#define DEF_COLUMNS	64
#define DEF_SVG_COLUMNS	256
#define MAX_AGES	8
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif
#define MAX_NODES	1024	/* NUMA nodes shown and recorded: 0..1023 */
#define WS_HISTORY	4096	/* rounds kept for the percentiles */
#define STR_(x)		#x
#define STR(x)		STR_(x)
#define QUERY_UNITS	(1ULL << 20)	/* node queries per VM per round */

static const char * const size_name[NR_SIZES] = { "4K", "2M", "1G" };
static const char * const state_name[NR_STATES] = { "hole", "idle", "accessed" };

/* Terminal shades: ' ' no mapped page, '.' mapped and idle, then 1/8..8/8. */
static const char heat_ascii[] = " .-:=+*#%@";
/* 256-colour backgrounds for the same levels (index 0 unused). */
static const unsigned char heat_ansi[HEAT_LEVELS + 2] = {
	0, 236, 25, 31, 37, 71, 107, 178, 208, 196
};

static const char *prog = "kvm_idle";

struct ext_vec {
	struct ibd_extent *ext;
	size_t nr, alloc;
};

/* One pass over the file: its extents, clipped to [lo, hi), and totals. */
struct pass {
	struct ext_vec ev;
	uint64_t lo, hi;
	uint64_t bytes[NR_STATES][NR_SIZES];
	size_t nrec;
};

struct ivl {
	uint64_t start, end;
};

struct ivl_vec {
	struct ivl *v;
	size_t nr, alloc;
};

/* Accessed intervals of the last k passes, for the working set. */
struct ws_window {
	unsigned int k, count, head;
	struct ivl_vec *slot;
	struct ivl_vec tmp;
};

/* Address ranges a pass covered, laid end to end: the heat map's x axis. */
struct seg {
	uint64_t start, end, off;
};

struct layout {
	struct seg *seg;
	size_t nr;
	uint64_t total;
};

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(1);
	}
	return p;
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(1);
	}
	return p;
}

/* Append an extent, merging it with the previous one when they join. */
static void ev_add(struct ext_vec *ev, const struct ibd_extent *e)
{
	struct ibd_extent *last = ev->nr ? &ev->ext[ev->nr - 1] : NULL;

	if (last && last->state == e->state && last->size == e->size &&
	    last->addr + last->npages * PAGE_SZ == e->addr) {
		last->npages += e->npages;
		return;
	}
	if (ev->nr == ev->alloc) {
		ev->alloc = ev->alloc ? 2 * ev->alloc : 256;
		ev->ext = xrealloc(ev->ext, ev->alloc * sizeof(*ev->ext));
	}
	ev->ext[ev->nr++] = *e;
}

static void pass_reset(struct pass *p, uint64_t lo, uint64_t hi)
{
	p->ev.nr = 0;
	p->lo = lo;
	p->hi = hi;
	p->nrec = 0;
	memset(p->bytes, 0, sizeof(p->bytes));
}

/* ibd_cb: clip an extent to the pass's range, count it and keep it. */
static int pass_collect(const struct ibd_extent *e, void *arg)
{
	struct pass *p = arg;
	uint64_t start = e->addr, end = e->addr + e->npages * PAGE_SZ;
	struct ibd_extent c = *e;

	if (start < p->lo)
		start = p->lo;
	if (end > p->hi)
		end = p->hi;
	if (start >= end)
		return 0;
	c.addr = start;
	c.npages = (end - start) / PAGE_SZ;
	p->bytes[c.state][c.size] += end - start;
	ev_add(&p->ev, &c);
	return 0;
}

static uint64_t pass_state_bytes(const struct pass *p, unsigned int state)
{
	return p->bytes[state][0] + p->bytes[state][1] + p->bytes[state][2];
}

static uint64_t pass_covered(const struct pass *p)
{
	return pass_state_bytes(p, IBD_HOLE) + pass_state_bytes(p, IBD_IDLE) +
	       pass_state_bytes(p, IBD_ACCESSED);
}

static int ws_init(struct ws_window *w, unsigned int k)
{
	memset(w, 0, sizeof(*w));
	if (!k)
		return -EINVAL;
	w->k = k;
	w->slot = xcalloc(k, sizeof(*w->slot));
	return 0;
}

static void ws_free(struct ws_window *w)
{
	unsigned int i;

	for (i = 0; i < w->k; i++)
		free(w->slot[i].v);
	free(w->slot);
	free(w->tmp.v);
	memset(w, 0, sizeof(*w));
}

static void ivl_add(struct ivl_vec *iv, uint64_t start, uint64_t end)
{
	if (iv->nr && iv->v[iv->nr - 1].end == start) {
		iv->v[iv->nr - 1].end = end;
		return;
	}
	if (iv->nr == iv->alloc) {
		iv->alloc = iv->alloc ? 2 * iv->alloc : 64;
		iv->v = xrealloc(iv->v, iv->alloc * sizeof(*iv->v));
	}
	iv->v[iv->nr].start = start;
	iv->v[iv->nr].end = end;
	iv->nr++;
}

static int ivl_cmp(const void *a, const void *b)
{
	const struct ivl *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

/* Bytes in the union of a set of intervals; sorts them. */
static uint64_t ivl_union_bytes(struct ivl *v, size_t nr)
{
	uint64_t sum = 0, start = 0, end = 0;
	size_t i;

	if (!nr)
		return 0;
	qsort(v, nr, sizeof(*v), ivl_cmp);
	start = v[0].start;
	end = v[0].end;
	for (i = 1; i < nr; i++) {
		if (v[i].start > end) {
			sum += end - start;
			start = v[i].start;
			end = v[i].end;
		} else if (v[i].end > end) {
			end = v[i].end;
		}
	}
	return sum + end - start;
}

/*
 * Record the accessed extents of a pass and return the working set: the
 * bytes accessed in this pass or any of the k - 1 passes before it.
 */
static uint64_t ws_push(struct ws_window *w, const struct ext_vec *ev)
{
	struct ivl_vec *s = &w->slot[w->head];
	unsigned int i;
	size_t j;

	s->nr = 0;
	for (j = 0; j < ev->nr; j++) {
		const struct ibd_extent *e = &ev->ext[j];

		if (e->state == IBD_ACCESSED)
			ivl_add(s, e->addr, e->addr + e->npages * PAGE_SZ);
	}
	w->head = (w->head + 1) % w->k;
	if (w->count < w->k)
		w->count++;

	w->tmp.nr = 0;
	for (i = 0; i < w->count; i++) {
		s = &w->slot[i];
		if (w->tmp.nr + s->nr > w->tmp.alloc) {
			w->tmp.alloc = w->tmp.nr + s->nr;
			w->tmp.v = xrealloc(w->tmp.v, w->tmp.alloc * sizeof(*w->tmp.v));
		}
		if (s->nr)
			memcpy(w->tmp.v + w->tmp.nr, s->v, s->nr * sizeof(*s->v));
		w->tmp.nr += s->nr;
	}
	return ivl_union_bytes(w->tmp.v, w->tmp.nr);
}

static void layout_free(struct layout *l)
{
	free(l->seg);
	memset(l, 0, sizeof(*l));
}

/* The covered ranges of a pass, merged and laid end to end. */
static void layout_build(struct layout *l, const struct ext_vec *ev)
{
	struct ivl *v = xcalloc(ev->nr, sizeof(*v));
	size_t i, n = 0;

	layout_free(l);
	for (i = 0; i < ev->nr; i++) {
		v[i].start = ev->ext[i].addr;
		v[i].end = ev->ext[i].addr + ev->ext[i].npages * PAGE_SZ;
	}
	qsort(v, ev->nr, sizeof(*v), ivl_cmp);
	for (i = 0; i < ev->nr; i++) {
		if (n && v[i].start <= v[n - 1].end) {
			if (v[i].end > v[n - 1].end)
				v[n - 1].end = v[i].end;
			continue;
		}
		v[n++] = v[i];
	}
	l->seg = xcalloc(n, sizeof(*l->seg));
	l->nr = n;
	for (i = 0; i < n; i++) {
		l->seg[i].start = v[i].start;
		l->seg[i].end = v[i].end;
		l->seg[i].off = l->total;
		l->total += v[i].end - v[i].start;
	}
	free(v);
}

/* Bucket i of nb covers [heat_bound(i), heat_bound(i + 1)) of the axis. */
static uint64_t heat_bound(uint64_t total, unsigned int nb, unsigned int i)
{
	return ((__uint128_t)total * i + nb - 1) / nb;
}

static void heat_add(uint64_t total, unsigned int nb, uint64_t x0, uint64_t x1,
		     uint64_t *sum)
{
	unsigned int i = ((__uint128_t)x0 * nb) / total;

	while (x0 < x1 && i < nb) {
		uint64_t b = heat_bound(total, nb, i + 1);
		uint64_t e = x1 < b ? x1 : b;

		sum[i] += e - x0;
		x0 = e;
		i++;
	}
}

/*
 * Spread a pass over nb buckets of the layout: acc[i] gets the accessed
 * bytes of bucket i, mapped[i] its accessed and idle bytes.  Addresses
 * outside the layout are not drawn.
 */
static void heat_row(const struct layout *l, const struct ext_vec *ev,
		     unsigned int nb, uint64_t *acc, uint64_t *mapped)
{
	size_t i, lo, hi, s;

	memset(acc, 0, nb * sizeof(*acc));
	memset(mapped, 0, nb * sizeof(*mapped));
	if (!l->total || !nb)
		return;
	for (i = 0; i < ev->nr; i++) {
		const struct ibd_extent *e = &ev->ext[i];
		uint64_t a = e->addr, b = e->addr + e->npages * PAGE_SZ;

		if (e->state == IBD_HOLE)
			continue;
		/* First segment that ends after a. */
		lo = 0;
		hi = l->nr;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (l->seg[mid].end <= a)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (s = lo; s < l->nr && l->seg[s].start < b; s++) {
			const struct seg *g = &l->seg[s];
			uint64_t x0 = g->off + (a > g->start ? a - g->start : 0);
			uint64_t x1 = g->off + ((b < g->end ? b : g->end) - g->start);

			heat_add(l->total, nb, x0, x1, mapped);
			if (e->state == IBD_ACCESSED)
				heat_add(l->total, nb, x0, x1, acc);
		}
	}
}

/* 0: nothing mapped, 1: mapped and idle, 2..9: accessed 1/8..8/8. */
static unsigned int heat_level(uint64_t acc, uint64_t mapped, uint64_t size)
{
	if (!mapped)
		return 0;
	if (!acc)
		return 1;
	return 1 + ((__uint128_t)acc * HEAT_LEVELS + size - 1) / size;
}

#define COL_NONE	(-2)	/* a column without mapped bytes */

/* A column's majority node so far: the most bytes, ties to the lower node. */
static void col_finish(int16_t *out, unsigned int col, uint64_t *by, int16_t *touched,
		       unsigned int *nt)
{
	int best = -1;		/* index into by[]: node + 1, 0 unknown */
	uint64_t most = 0;
	unsigned int i;

	for (i = 0; i < *nt; i++) {
		int n = touched[i];
		/* On a tie the lower node wins, and unknown loses to any node. */
		int rank = n ? n : MAX_NODES + 1, best_rank = best > 0 ? best : MAX_NODES + 1;

		if (best < 0 || by[n] > most || (by[n] == most && rank < best_rank)) {
			most = by[n];
			best = n;
		}
		by[n] = 0;
	}
	*nt = 0;
	out[col] = best < 0 ? COL_NONE : best - 1;
}

/*
 * The majority NUMA node of the mapped bytes of each of nb columns of the
 * layout, from the age map: out[i] is a node, TIER_NODE_UNKNOWN, or
 * COL_NONE where nothing is mapped.  The map and the layout are both in
 * address order, so the columns are met in order.
 */
static void heat_nodes(const struct layout *l, const struct age_map *m, unsigned int nb,
		       int16_t *out)
{
	uint64_t *by = xcalloc(MAX_NODES + 1, sizeof(*by));
	int16_t *touched = xcalloc(MAX_NODES + 1, sizeof(*touched));
	unsigned int nt = 0, col = 0, i;
	size_t j, s = 0;

	for (i = 0; i < nb; i++)
		out[i] = COL_NONE;
	if (!l->total || !nb)
		goto out;
	for (j = 0; j < m->nr; j++) {
		const struct age_ext *e = &m->v[j];
		int n = e->node >= 0 && e->node < MAX_NODES ? e->node + 1 : 0;

		/* A hole whose node is known: memory moved, not mapped again yet. */
		if (e->state == IBD_HOLE && e->node < 0)
			continue;
		while (s < l->nr && l->seg[s].end <= e->start)
			s++;
		for (i = s; i < l->nr && l->seg[i].start < e->end; i++) {
			const struct seg *g = &l->seg[i];
			uint64_t x0 = g->off + (e->start > g->start ? e->start - g->start : 0);
			uint64_t x1 = g->off + ((e->end < g->end ? e->end : g->end) - g->start);

			while (x0 < x1) {
				unsigned int c = ((__uint128_t)x0 * nb) / l->total;
				uint64_t b = heat_bound(l->total, nb, c + 1), x = x1 < b ? x1 : b;
				unsigned int k;

				if (c >= nb)
					break;
				if (c != col) {
					col_finish(out, col, by, touched, &nt);
					col = c;
				}
				for (k = 0; k < nt && touched[k] != n; k++)
					;
				if (k == nt)
					touched[nt++] = n;
				by[n] += x - x0;
				x0 = x;
			}
		}
	}
	if (nt)
		col_finish(out, col, by, touched, &nt);
out:
	free(by);
	free(touched);
}

/* Human-readable binary size in at most 7 characters: 0, 4.0K ... 12.5T. */
static const char *fmt_size(char *buf, size_t len, uint64_t bytes)
{
	static const char units[] = "KMGTPE";
	double v = bytes;
	unsigned int u = 0;

	if (!bytes) {
		snprintf(buf, len, "0");
		return buf;
	}
	if (bytes < 1024) {
		snprintf(buf, len, "%lluB", (unsigned long long)bytes);
		return buf;
	}
	v /= 1024;
	while (v >= 1023.95 && u < sizeof(units) - 2) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f%c", v, units[u]);
	return buf;
}

/* Parse a size or address: decimal or 0x hex, optional K/M/G/T suffix. */
static int parse_u64(const char *s, uint64_t *val, const char **endp)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case 't': case 'T':
		shift = 40;
		break;
	}
	if (shift) {
		end++;
		if (v > UINT64_MAX >> shift)
			return -ERANGE;
		v <<= shift;
	}
	*val = v;
	*endp = end;
	return 0;
}

/* START-END or START+SIZE, page aligned, below 2^57. */
static int parse_range(const char *s, uint64_t *lo, uint64_t *hi)
{
	const char *end;
	uint64_t a, b;
	char op;

	if (parse_u64(s, &a, &end))
		return -EINVAL;
	op = *end;
	if (op != '-' && op != '+')
		return -EINVAL;
	if (parse_u64(end + 1, &b, &end) || *end)
		return -EINVAL;
	if (op == '+') {
		if (b > ADDR_END || a > ADDR_END - b)
			return -ERANGE;
		b += a;
	}
	if ((a | b) & (PAGE_SZ - 1))
		return -EINVAL;
	if (a >= b || b > ADDR_END)
		return -ERANGE;
	*lo = a;
	*hi = b;
	return 0;
}

/* Seconds, with a fraction: "1", "0.5", "2.25". */
static int parse_interval(const char *s, double *val)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > 86400)
		return -EINVAL;
	*val = v;
	return 0;
}

static int parse_uint(const char *s, unsigned int min, unsigned int max,
		      unsigned int *val)
{
	unsigned long v;
	char *end;

	if (*s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*val = v;
	return 0;
}

/*
 * A recording (--record, --file) is the raw records of each pass, each pass
 * followed by one zero word.  Type 0 is invalid in a reply, so the zero word
 * cannot be mistaken for a record.  A file without zero words is one pass,
 * e.g. what `dd if=/proc/PID/idle_bitmap` wrote.  A file whose last pass
 * lacks the zero word the passes before it have was cut off in that pass.
 *
 * After a pass's zero word may come an annotation chunk, which belongs to
 * that pass and is not a pass itself: the word ANNOT_MAGIC (record type 15,
 * which the kernel never returns, and "NUMA"), then two words for each
 * stretch of memory whose NUMA node is known, in address order and not
 * overlapping, start | (node + 1) and end (both 4K aligned, node below
 * 1024, so neither word is 0), then one zero word.  --record writes one
 * after each reported round when the nodes are known (--place, or a replay
 * of a recording that had them).  A recording without annotations replays
 * as it did before they existed.
 */
#define ANNOT_TYPE	0xfULL
#define ANNOT_MAGIC	((ANNOT_TYPE << IDLE_BITMAP_TYPE_SHIFT) | 0x4e554d41ULL)
#define ANNOT_NODE_MASK	(PAGE_SZ - 1)

struct replay {
	uint64_t *rec;
	size_t nrec, pos;
	unsigned int passes;	/* complete passes */
	unsigned int pass;	/* passes returned so far */
	bool truncated;		/* and then an incomplete one */
	bool annot_cut;		/* the last chunk, an annotation, lacks its zero word */
	/* The annotation of the pass replay_next() returned, or NULL. */
	const uint64_t *annot;
	size_t nannot;		/* its stretches (pairs of words) */
	/* A bad annotation chunk, for the error message. */
	unsigned int bad_pass;	/* the pass it follows; 0: none */
	size_t bad_word;	/* index of the bad word in the file */
	const char *bad_why;
};

/* Check the annotation chunk in rec[start, end) (end: its zero word). */
static int annot_check(struct replay *rp, size_t start, size_t end, bool after_annot)
{
	uint64_t prev_end = 0;
	size_t i;

	rp->bad_pass = rp->passes;
	rp->bad_word = start;
	if (!rp->passes) {
		rp->bad_why = "it comes before any pass";
		return -EILSEQ;
	}
	if (after_annot) {
		rp->bad_why = "the pass already has an annotation";
		return -EILSEQ;
	}
	if ((end - start - 1) % 2) {
		rp->bad_word = end - 1;
		rp->bad_why = "odd number of words: a stretch without its end";
		return -EILSEQ;
	}
	for (i = start + 1; i < end; i += 2) {
		uint64_t a = rp->rec[i] & ~ANNOT_NODE_MASK, b = rp->rec[i + 1];
		uint64_t node = rp->rec[i] & ANNOT_NODE_MASK;

		rp->bad_word = i;
		if (!node) {
			rp->bad_why = "node field is 0";
			return -EILSEQ;
		}
		if (node > MAX_NODES) {
			rp->bad_why = "node is past 1023";
			return -EILSEQ;
		}
		if (a < prev_end) {
			rp->bad_why = "not sorted: the stretch starts before the previous one ends";
			return -EILSEQ;
		}
		rp->bad_word = i + 1;
		if (b & (PAGE_SZ - 1)) {
			rp->bad_why = "end is not 4K aligned";
			return -EILSEQ;
		}
		if (b <= a) {
			rp->bad_why = "end <= start";
			return -EILSEQ;
		}
		if (b > ADDR_END) {
			rp->bad_why = "end is past 2^57";
			return -EILSEQ;
		}
		prev_end = b;
	}
	return 0;
}

/*
 * Count the passes and check the annotations; a last pass without its zero
 * word is incomplete, a last annotation without it is left out.  0, or
 * -EILSEQ for a bad annotation chunk (rp->bad_*).
 */
static int replay_count(struct replay *rp)
{
	bool annot = false, cut = false;
	size_t i = 0, start;
	int ret;

	while (i < rp->nrec) {
		start = i;
		while (i < rp->nrec && rp->rec[i])
			i++;
		if (rp->rec[start] == ANNOT_MAGIC) {
			if (i == rp->nrec) {
				rp->annot_cut = true;
				rp->nrec = start;
				break;
			}
			ret = annot_check(rp, start, i, annot);
			if (ret)
				return ret;
			annot = true;
		} else if (i == rp->nrec) {
			cut = true;
		} else {
			rp->passes++;
			annot = false;
		}
		i++;	/* the zero word */
	}
	if (cut) {
		if (rp->passes)
			rp->truncated = true;
		else
			rp->passes = 1;
	}
	return 0;
}

static int replay_load(struct replay *rp, const char *path)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd, err = 0;

	memset(rp, 0, sizeof(*rp));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (st.st_size % 8) {
		err = -EBADMSG;
		goto out;
	}
	rp->nrec = st.st_size / 8;
	rp->rec = xcalloc(rp->nrec, 8);
	while (got < rp->nrec * 8) {
		n = read(fd, (char *)rp->rec + got, rp->nrec * 8 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n ? -errno : -EIO;
			goto out;
		}
		got += n;
	}
	err = replay_count(rp);
out:
	close(fd);
	return err;
}

/*
 * The next pass of a recording: *rec, *nrec, and its annotation in
 * rp->annot.  1 when there is none left, 2 when what is left is an
 * incomplete pass.
 */
static int replay_next(struct replay *rp, const uint64_t **rec, size_t *nrec)
{
	size_t start = rp->pos;

	rp->annot = NULL;
	rp->nannot = 0;
	if (rp->pos >= rp->nrec)
		return 1;
	if (rp->truncated && rp->pass == rp->passes)
		return 2;
	rp->pass++;
	while (rp->pos < rp->nrec && rp->rec[rp->pos])
		rp->pos++;
	*rec = rp->rec + start;
	*nrec = rp->pos - start;
	if (rp->pos < rp->nrec)
		rp->pos++;	/* the zero word */
	if (rp->pos < rp->nrec && rp->rec[rp->pos] == ANNOT_MAGIC) {
		start = ++rp->pos;
		while (rp->rec[rp->pos])	/* replay_count() checked the zero word */
			rp->pos++;
		rp->annot = rp->rec + start;
		rp->nannot = (rp->pos - start) / 2;
		rp->pos++;
	}
	return 0;
}

/* The nodes of a replayed pass's annotation, in place of what m had. */
static void replay_apply_annot(const struct replay *rp, struct age_map *m)
{
	struct node_runs runs = { 0 };
	size_t i;

	for (i = 0; i < m->nr; i++)
		m->v[i].node = TIER_NODE_UNKNOWN;
	for (i = 0; i < rp->nannot; i++) {
		uint64_t w = rp->annot[2 * i];

		node_runs_add(&runs, w & ~ANNOT_NODE_MASK, rp->annot[2 * i + 1],
			      (int)(w & ANNOT_NODE_MASK) - 1);
	}
	age_map_apply_nodes(m, &runs);
	free(runs.v);
}

struct source {
	int fd;			/* /proc/PID/idle_bitmap, or -1 for a replay */
	bool clear;		/* opened O_RDWR: reads test and clear */
	bool use_ioctl;		/* --range on the real file */
	uint64_t lo, hi;
	uint64_t *buf;
	size_t cap;		/* records in buf */
	struct replay rp;
	FILE *record;
	const char *record_path;
	/* The reply that failed to decode, for the error message. */
	const uint64_t *bad_rec;
	size_t bad_idx;
	int bad_err;
};

static int source_write_record(struct source *s, const void *p, size_t len)
{
	if (!s->record || !len)
		return 0;
	if (fwrite(p, 1, len, s->record) != len)
		return -EIO;
	return 0;
}

/*
 * The annotation chunk of the round just recorded: the stretches of m whose
 * node is known, adjacent ones on the same node merged.
 */
static int source_write_annot(struct source *s, const struct age_map *m)
{
	uint64_t w[2] = { ANNOT_MAGIC, 0 };
	bool open = false;
	size_t i;
	int ret;

	if (!s->record)
		return 0;
	ret = source_write_record(s, w, 8);
	for (i = 0; i < m->nr && !ret; i++) {
		const struct age_ext *e = &m->v[i];

		if (e->node < 0 || e->node >= MAX_NODES)
			continue;
		if (open && w[1] == e->start && (w[0] & ANNOT_NODE_MASK) == (uint64_t)e->node + 1) {
			w[1] = e->end;
			continue;
		}
		if (open)
			ret = source_write_record(s, w, sizeof(w));
		w[0] = e->start | (e->node + 1);
		w[1] = e->end;
		open = true;
	}
	if (open && !ret)
		ret = source_write_record(s, w, sizeof(w));
	w[0] = 0;
	if (!ret)
		ret = source_write_record(s, w, 8);
	if (!ret && fflush(s->record))
		ret = -EIO;
	return ret;
}

static int source_decode(struct source *s, struct pass *p, const uint64_t *rec,
			 size_t nrec)
{
	size_t bad = 0;
	int ret;

	p->nrec += nrec;
	ret = ibd_decode(rec, nrec, pass_collect, p, NULL, &bad);
	if (ret) {
		s->bad_rec = rec;
		s->bad_idx = bad;
		s->bad_err = ret;
		return -EBADMSG;
	}
	return source_write_record(s, rec, nrec * 8);
}

/* read() from the cursor until 0; the kernel moves f_pos past each reply. */
static int source_read_file(struct source *s, struct pass *p)
{
	ssize_t n;
	int ret;

	if (lseek(s->fd, s->lo, SEEK_SET) == (off_t)-1)
		return -errno;
	for (;;) {
		n = read(s->fd, s->buf, s->cap * 8);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!n)
			return 0;
		if (n % 8)
			return -EPROTO;
		ret = source_decode(s, p, s->buf, n / 8);
		if (ret)
			return ret;
		if (lseek(s->fd, 0, SEEK_CUR) >= (off_t)s->hi)
			return 0;
	}
}

/* IDLE_BITMAP_SCAN over [lo, hi), resuming at walk_end. */
static int source_ioctl(struct source *s, struct pass *p)
{
	struct idle_bitmap_scan_arg arg;
	uint64_t cur = s->lo;
	int n, ret;

	while (cur < s->hi) {
		memset(&arg, 0, sizeof(arg));
		arg.size = sizeof(arg);
		arg.flags = s->clear ? IDLE_BITMAP_SCAN_CLEAR : 0;
		arg.start = cur;
		arg.end = s->hi;
		arg.vec = (uintptr_t)s->buf;
		arg.vec_len = s->cap;
		n = ioctl(s->fd, IDLE_BITMAP_SCAN, &arg);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n) {
			ret = source_decode(s, p, s->buf, n);
			if (ret)
				return ret;
		}
		if (arg.walk_end <= cur && !n)
			return -EPROTO;
		cur = arg.walk_end;
	}
	return 0;
}

/*
 * One pass over the source.  0, 1 at the end of a recording, 2 at an
 * incomplete pass that ends it, or -errno.
 */
static int source_pass(struct source *s, struct pass *p)
{
	const uint64_t *rec;
	size_t nrec;
	int ret;

	pass_reset(p, s->lo, s->hi);
	if (s->fd < 0) {
		ret = replay_next(&s->rp, &rec, &nrec);
		if (ret)
			return ret;
		ret = source_decode(s, p, rec, nrec);
	} else if (s->use_ioctl) {
		ret = source_ioctl(s, p);
	} else {
		ret = source_read_file(s, p);
	}
	if (!ret && s->record) {
		static const uint64_t zero;

		ret = source_write_record(s, &zero, sizeof(zero));
		if (!ret && fflush(s->record))
			ret = -EIO;
	}
	return ret;
}

struct opts {
	double interval;
	bool interval_set;
	unsigned int rounds;	/* 0: until interrupted */
	bool rounds_set;
	unsigned int k;
	bool peek, prime, once, json;
	int columns;		/* -1: automatic */
	int color;		/* -1 auto, 0 never, 1 always */
	const char *svg;
	unsigned int svg_columns;
	const char *file, *record;
	bool range;
	uint64_t lo, hi;
	pid_t pid;		/* the first PID given */
	pid_t *pids;
	unsigned int npids;
	bool all;		/* --all: every process with guest memory */
	unsigned int ages[MAX_AGES], nr_ages;
	bool place, dry_run;
	int slow_node, fast_node;
	unsigned int cold_age;
	double rate;		/* MB/s */
	uint64_t fast_budget;	/* TIER_NO_BUDGET: none */
	const char *prom;
};

/* Heat map rows kept for the SVG, one per round. */
struct svg_hist {
	unsigned int cols, rows, alloc;
	uint8_t *cell;		/* heat_level() of each column */
	uint64_t *ws;
	double *t;
	/* Where the memory is, for the rows whose nodes are known. */
	int16_t *node;		/* heat_nodes() of each column */
	bool *row_nodes;	/* the row has node information */
	bool any_nodes;
	bool node_seen[MAX_NODES], unknown_seen;
};

/* node: heat_nodes() of the row's columns, or NULL when they are not known. */
static void svg_hist_add(struct svg_hist *h, const uint64_t *acc,
			 const uint64_t *mapped, const int16_t *node, uint64_t total,
			 uint64_t ws, double t)
{
	unsigned int i;

	if (h->rows == h->alloc) {
		h->alloc = h->alloc ? 2 * h->alloc : 64;
		h->cell = xrealloc(h->cell, (size_t)h->alloc * h->cols * sizeof(*h->cell));
		h->ws = xrealloc(h->ws, h->alloc * sizeof(*h->ws));
		h->t = xrealloc(h->t, h->alloc * sizeof(*h->t));
		h->node = xrealloc(h->node, (size_t)h->alloc * h->cols * sizeof(*h->node));
		h->row_nodes = xrealloc(h->row_nodes, h->alloc * sizeof(*h->row_nodes));
	}
	h->row_nodes[h->rows] = !!node;
	for (i = 0; i < h->cols; i++) {
		int n = node ? node[i] : COL_NONE;

		h->node[(size_t)h->rows * h->cols + i] = n;
		if (n >= 0)
			h->node_seen[n] = true;
		else if (n == TIER_NODE_UNKNOWN)
			h->unknown_seen = true;
	}
	if (node)
		h->any_nodes = true;
	for (i = 0; i < h->cols; i++) {
		uint64_t size = heat_bound(total, h->cols, i + 1) - heat_bound(total, h->cols, i);

		h->cell[(size_t)h->rows * h->cols + i] = heat_level(acc[i], mapped[i], size);
	}
	h->ws[h->rows] = ws;
	h->t[h->rows] = t;
	h->rows++;
}

/*
 * The colour of a heat_level(): light grey with no mapped page, navy for
 * idle, then 1/8..8/8 accessed through red to gold.
 */
static void svg_colour(char *buf, size_t len, unsigned int level)
{
	static const unsigned char ramp[3][3] = {
		{ 0x1d, 0x2b, 0x53 }, { 0xd4, 0x3d, 0x51 }, { 0xff, 0xd7, 0x00 },
	};
	unsigned char rgb[3];
	unsigned int i, frac, seg, f;

	if (!level) {
		snprintf(buf, len, "#e8e8e8");
		return;
	}
	frac = (level - 1) * 10000 / HEAT_LEVELS;
	seg = frac < 5000 ? 0 : 1;
	f = frac < 5000 ? frac * 2 : (frac - 5000) * 2;
	for (i = 0; i < 3; i++)
		rgb[i] = (ramp[seg][i] * (10000 - f) + ramp[seg + 1][i] * f) / 10000;
	snprintf(buf, len, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

/* The colour of a NUMA node (TIER_NODE_UNKNOWN: grey), for the node strips. */
static const char *svg_node_colour(int node)
{
	static const char * const pal[] = {
		"#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
		"#e377c2", "#bcbd22", "#1f77b4", "#17a589",
	};

	if (node < 0)
		return "#a0a0a0";
	return pal[node % ARRAY_SIZE(pal)];
}

static void xml_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			if ((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f)
				fputc(*s, f);
		}
	}
}

static void svg_rect(FILE *f, unsigned int x, unsigned int y, unsigned int w,
		     unsigned int h, const char *fill)
{
	fprintf(f, "<rect x=\"%u\" y=\"%u\" width=\"%u\" height=\"%u\" fill=\"%s\"/>",
		x, y, w, h, fill);
}

/* <text> at (x, y) with extra attributes, then the formatted content. */
static void svg_text(FILE *f, unsigned int x, unsigned int y, const char *attr,
		     const char *fmt, ...)
{
	va_list ap;

	fprintf(f, "<text x=\"%u\" y=\"%u\"%s>", x, y, attr);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fprintf(f, "</text>\n");
}

/* Where svg_write() put the heat map, and a row of labels below it. */
struct svg_map {
	unsigned int left, top, mapw, maph;
};

struct svg_labels {
	unsigned int y;		/* baseline */
	unsigned int lastx;	/* where the last label starts; 0: none yet */
};

#define SVG_LABEL_GAP	110	/* room for one address label, in pixels */

/*
 * A labelled boundary on the heat map's x axis, at x: a thin line of class
 * cls and colour stroke down the map (none at the map's left edge, which is
 * the border), a tick below it, and the label in the row lb unless the last
 * label there is too close.  Memslot (layout segment) boundaries use it;
 * other boundaries, such as NUMA nodes', can with their own class, colour
 * and row.
 */
static void svg_boundary(FILE *f, const struct svg_map *m, unsigned int x, const char *cls,
			 const char *stroke, struct svg_labels *lb, const char *label)
{
	unsigned int bottom = m->top + m->maph, end = m->left + m->mapw;

	if (x > m->left) {
		fprintf(f, "<line class=\"%s\" x1=\"%u\" y1=\"%u\" x2=\"%u\" y2=\"%u\"",
			cls, x, m->top, x, bottom + 5);
		fprintf(f, " stroke=\"%s\" stroke-width=\"1\"><title>", stroke);
		xml_escape(f, label);
		fprintf(f, "</title></line>\n");
	} else {
		fprintf(f, "<line class=\"tick\" x1=\"%u\" y1=\"%u\" x2=\"%u\" y2=\"%u\"",
			x, bottom, x, bottom + 5);
		fprintf(f, " stroke=\"%s\"/>\n", stroke);
	}
	if (lb->lastx && x < lb->lastx + SVG_LABEL_GAP)
		return;
	/* Near the right end, end the label there, clear of the bars. */
	if (x + SVG_LABEL_GAP - 10 > end) {
		if (lb->lastx && end < lb->lastx + 2 * SVG_LABEL_GAP - 10)
			return;
		fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"9\" text-anchor=\"end\">",
			end, lb->y);
		lb->lastx = end;
	} else {
		fprintf(f, "<text x=\"%u\" y=\"%u\" font-size=\"9\">", x, lb->y);
		lb->lastx = x ? x : 1;
	}
	xml_escape(f, label);
	fprintf(f, "</text>\n");
}

/* The legend: the colour of each heat level, and the working-set bar. */
static void svg_legend(FILE *f, unsigned int x, unsigned int y, unsigned int k, uint64_t maxws)
{
	char c[16], sz[16];
	unsigned int i;

	fprintf(f, "<g id=\"legend\">\n");
	svg_colour(c, sizeof(c), 0);
	svg_rect(f, x, y, 12, 12, c);
	svg_text(f, x + 16, y + 10, "", "unmapped");
	svg_colour(c, sizeof(c), 1);
	svg_rect(f, x + 80, y, 12, 12, c);
	svg_text(f, x + 96, y + 10, "", "idle");
	for (i = 1; i <= HEAT_LEVELS; i++) {
		svg_colour(c, sizeof(c), i + 1);
		svg_rect(f, x + 106 + i * 24, y, 24, 12, c);
		svg_text(f, x + 118 + i * 24, y + 22, " font-size=\"9\" text-anchor=\"middle\"",
			 "%u/8", i);
	}
	svg_text(f, x + 136 + HEAT_LEVELS * 24, y + 10, "", "of the column's bytes accessed");
	svg_rect(f, x, y + 30, 30, 10, "#4a7ab5");
	svg_text(f, x + 36, y + 39, "",
		 "working set (accessed in the last %u round(s)); bar scaled to the max, %s",
		 k, fmt_size(sz, sizeof(sz), maxws));
	fprintf(f, "</g>\n");
}

#define SVG_NODES_PER_LINE	10

/* Legend entries in a line, or more, for the nodes the strips show. */
static unsigned int svg_node_entries(const struct svg_hist *h)
{
	unsigned int n = h->unknown_seen, i;

	for (i = 0; i < MAX_NODES; i++)
		n += h->node_seen[i];
	return n;
}

/* The legend of the node strips, below the one of svg_legend(). */
static void svg_node_legend(FILE *f, unsigned int x, unsigned int y, const struct svg_hist *h)
{
	unsigned int i, n = 0;

	fprintf(f, "<g id=\"node-legend\">\n");
	svg_text(f, x, y + 10, "",
		 "strip under each row: the NUMA node of most of the column's mapped bytes");
	y += 18;
	for (i = 0; i <= MAX_NODES; i++) {
		unsigned int ex, ey;
		int node = i < MAX_NODES ? (int)i : TIER_NODE_UNKNOWN;

		if (i < MAX_NODES ? !h->node_seen[i] : !h->unknown_seen)
			continue;
		ex = x + (n % SVG_NODES_PER_LINE) * 70;
		ey = y + (n / SVG_NODES_PER_LINE) * 18;
		fprintf(f, "<rect class=\"node-key\" x=\"%u\" y=\"%u\" ", ex, ey);
		fprintf(f, "width=\"12\" height=\"12\" fill=\"%s\"/>", svg_node_colour(node));
		if (node >= 0)
			svg_text(f, ex + 16, ey + 10, "", "node %d", node);
		else
			svg_text(f, ex + 16, ey + 10, "", "unknown");
		n++;
	}
	fprintf(f, "</g>\n");
}

/*
 * A self-contained SVG: one row of cells per round (time downwards), one
 * column per bucket of the covered address ranges laid end to end, and the
 * working set of each round as a bar on the right.
 */
static int svg_write(const char *path, const struct svg_hist *h,
		     const struct layout *l, const char *what,
		     const struct opts *o)
{
	unsigned int cw, rh, i, j, left = 70, top = 64, right = 170, width, height;
	unsigned int mapw, maph, bottom = 100, below = 0, sh;
	int last_nodes = -1;
	char c0[16], sz[16], sz2[16], every[32], label[24];
	struct svg_labels lb;
	struct svg_map m;
	uint64_t maxws = 1;
	FILE *f;

	f = fopen(path, "w");
	if (!f)
		return -errno;
	cw = 960 / h->cols;
	cw = cw < 1 ? 1 : cw > 8 ? 8 : cw;
	rh = h->rows ? 640 / h->rows : 12;
	rh = rh < 2 ? 2 : rh > 12 ? 12 : rh;
	mapw = cw * h->cols;
	maph = rh * h->rows;
	width = left + mapw + right;
	if (width < left + 700)
		width = left + 700;	/* the subtitle and the legend */
	if (h->any_nodes) {
		/* A row of node labels, and the node legend. */
		below = 12;
		bottom += below + 28 + 18 * ((svg_node_entries(h) + SVG_NODES_PER_LINE - 1) /
					     SVG_NODES_PER_LINE);
	}
	height = top + maph + bottom;
	sh = rh >= 4 ? rh / 4 : 1;
	for (i = 0; i < h->rows; i++) {
		if (h->ws[i] > maxws)
			maxws = h->ws[i];
		if (h->row_nodes[i])
			last_nodes = i;
	}

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%u\"",
		width, height);
	fprintf(f, " viewBox=\"0 0 %u %u\" font-family=\"sans-serif\" font-size=\"11\">\n",
		width, height);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
	fprintf(f, "<text x=\"%u\" y=\"20\" font-size=\"15\" font-weight=\"bold\">%s: ",
		left, prog);
	xml_escape(f, what);
	fprintf(f, "</text>\n");
	if (o->file)
		snprintf(every, sizeof(every), "replayed");
	else
		snprintf(every, sizeof(every), "every %.2f s", o->interval);
	svg_text(f, left, 38, "",
		 "%u rounds, %s, %s; working set over the last %u round(s); %s covered in %zu range(s), %s per column",
		 h->rows, every, o->peek ? "peek (not cleared)" : "test and clear",
		 o->k, fmt_size(sz, sizeof(sz), l->total), l->nr,
		 fmt_size(sz2, sizeof(sz2), l->total / h->cols));
	fprintf(f, "<text x=\"14\" y=\"%u\" text-anchor=\"middle\"", top + maph / 2);
	fprintf(f, " transform=\"rotate(-90 14 %u)\">round</text>\n", top + maph / 2);
	svg_text(f, left + mapw + 10, top - 6, "", "working set");

	for (i = 0; i < h->rows; i++) {
		unsigned int y = top + i * rh;
		const uint8_t *row = &h->cell[(size_t)i * h->cols];

		fprintf(f, "<g id=\"r%u\">", i + 1);
		for (j = 0; j < h->cols; ) {
			unsigned int k = j + 1;

			while (k < h->cols && row[k] == row[j])
				k++;
			svg_colour(c0, sizeof(c0), row[j]);
			svg_rect(f, left + j * cw, y, (k - j) * cw, rh, c0);
			j = k;
		}
		for (j = 0; h->row_nodes[i] && j < h->cols; ) {
			const int16_t *nd = &h->node[(size_t)i * h->cols];
			unsigned int k = j + 1;

			while (k < h->cols && nd[k] == nd[j])
				k++;
			if (nd[j] != COL_NONE) {
				fprintf(f, "<rect class=\"node\" x=\"%u\" y=\"%u\" ",
					left + j * cw, y + rh - sh);
				fprintf(f, "width=\"%u\" height=\"%u\" fill=\"%s\"/>",
					(k - j) * cw, sh, svg_node_colour(nd[j]));
			}
			j = k;
		}
		svg_rect(f, left + mapw + 10, y, (unsigned int)(100 * h->ws[i] / maxws),
			 rh > 2 ? rh - 1 : rh, "#4a7ab5");
		fprintf(f, "</g>\n");
		if (rh >= 9 || i % ((12 + rh - 1) / rh) == 0 || i + 1 == h->rows)
			svg_text(f, left - 4, y + rh, " text-anchor=\"end\" font-size=\"9\"",
				 "%u", i + 1);
		if (rh >= 9)
			svg_text(f, left + mapw + 114, y + rh - 1, " font-size=\"9\"", "%s",
				 fmt_size(sz, sizeof(sz), h->ws[i]));
	}
	svg_text(f, left + mapw + 10, top + maph + 16, " font-size=\"9\"", "max %s",
		 fmt_size(sz, sizeof(sz), maxws));

	/* Where each covered range (memslot) starts on the axis. */
	m = (struct svg_map){ .left = left, .top = top, .mapw = mapw, .maph = maph };
	lb = (struct svg_labels){ .y = top + maph + 16 };
	for (i = 0; i < l->nr; i++) {
		unsigned int x = left + (__uint128_t)l->seg[i].off * mapw / l->total;

		snprintf(label, sizeof(label), "0x%llx", (unsigned long long)l->seg[i].start);
		svg_boundary(f, &m, x, "memslot", i ? "#17becf" : "#000", &lb, label);
	}
	/* Where the majority node changes in the last row that knows them. */
	if (last_nodes >= 0) {
		const int16_t *nd = &h->node[(size_t)last_nodes * h->cols];
		int prev = TIER_NODE_UNKNOWN;

		lb = (struct svg_labels){ .y = top + maph + 28 };
		for (j = 0; j < h->cols; j++) {
			if (nd[j] < 0)
				continue;
			if (prev >= 0 && nd[j] != prev) {
				snprintf(label, sizeof(label), "node %d", nd[j]);
				svg_boundary(f, &m, left + j * cw, "numa", svg_node_colour(nd[j]),
					     &lb, label);
			}
			prev = nd[j];
		}
	}
	svg_text(f, left, top + maph + 32 + below, "",
		 "guest memory: host virtual addresses in memslots, gaps removed; a line starts each range");
	svg_legend(f, left, top + maph + 44 + below, o->k, maxws);
	if (h->any_nodes)
		svg_node_legend(f, left, top + maph + 44 + below + 46, h);
	fprintf(f, "</svg>\n");
	if (fclose(f))
		return -errno;
	return 0;
}

/* Set by SIGINT, SIGTERM and SIGHUP: finish the round and report. */
static int stop_requested;

static void on_signal(int sig)
{
	__atomic_store_n(&stop_requested, 1, __ATOMIC_RELAXED);
}

static bool stopping(void)
{
	return __atomic_load_n(&stop_requested, __ATOMIC_RELAXED);
}

/* Seconds since the epoch (CLOCK_REALTIME), for "timestamp". */
static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleep until time t (CLOCK_MONOTONIC); false if a signal asked to stop. */
static bool sleep_until(double t)
{
	struct timespec ts;

	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - ts.tv_sec) * 1e9);
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	while (!stopping()) {
		int err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);

		if (!err)
			return true;
		if (err != EINTR)
			return true;
	}
	return false;
}

static const char help_text[] =
	"Usage: %s [OPTION]... PID...\n"
	"   or: %s [OPTION]... --all\n"
	"Report the working set and idle memory of the KVM guest(s) of VMM processes\n"
	"(for example qemu-system-x86_64), from /proc/PID/idle_bitmap, and move their\n"
	"cold memory to a slow NUMA node (--place).\n"
	"\n"
	"Every interval it reads the secondary MMU's Accessed bits for the guest memory\n"
	"and prints, per round: hot (accessed), idle and hole bytes for each page size,\n"
	"the working set (bytes accessed in the last K rounds) and a row of a heat map.\n"
	"By default each read also clears the bits (test and clear), after a first\n"
	"unreported pass that clears what accumulated before kvm_idle started.\n"
	"\n"
	"  -i, --interval=SECONDS  time between rounds (default 1; fractions allowed;\n"
	"                          0 only with --file, where it is the default)\n"
	"  -n, --rounds=N          stop after N rounds (default: until interrupted)\n"
	"  -k, --window=K          working set = pages accessed in any of the last K\n"
	"                          rounds (default 1: the last interval)\n"
	"  -p, --peek              open read-only: report, never clear Accessed bits\n"
	"      --no-prime          report the first pass too (it shows what was accessed\n"
	"                          since the last clearing scan, or since boot)\n"
	"  -1, --once              one round, one line of key=value pairs (or one JSON\n"
	"                          object with --json), for scripts; not with -n\n"
	"  -j, --json              one JSON object per round (JSON lines)\n"
	"  -r, --range=START-END   report only [START, END); also START+SIZE; addresses\n"
	"                          are host virtual, hex with 0x, K/M/G/T suffixes\n"
	"  -w, --width=COLUMNS     heat map columns in the terminal (0: no heat map;\n"
	"                          default: fit the terminal, 64 when not a terminal)\n"
	"      --color=WHEN        colour heat map: auto (default: on a terminal, unless\n"
	"                          NO_COLOR is set or TERM=dumb), always, never\n"
	"      --svg=FILE          write the heat map of all rounds as an SVG image\n"
	"      --svg-columns=N     columns of the SVG heat map (default %u)\n"
	"      --record=FILE       save the raw records of every pass (testing aid)\n"
	"      --file=FILE         replay a recording instead of reading PID's file;\n"
	"                          PID is then optional (testing aid)\n"
	"      --all               every process with KVM guest memory, found again\n"
	"                          each round; VMs are named by QEMU's -name, else PID\n"
	"      --ages=N,N,...      report bytes idle for at least N rounds (default\n"
	"                          1,5,30)\n"
	"      --prom=FILE         write the metrics of every round to FILE in the\n"
	"                          Prometheus text format (node_exporter textfile)\n"
	"\n"
	"Placement (memory tiering):\n"
	"      --place=SLOW[:FAST] move memory idle for --cold-age rounds to NUMA node\n"
	"                          SLOW, and memory accessed again back to FAST\n"
	"                          (default 0), with move_pages(2); huge pages whole\n"
	"      --cold-age=N        rounds idle before memory is cold (default 5)\n"
	"      --rate=MB/S         at most this many MB moved per second (default 256)\n"
	"      --fast-budget=SIZE  bytes of the fast node all the VMs may use together,\n"
	"                          shared by their working sets (K/M/G/T suffixes)\n"
	"      --dry-run           print what would move; move nothing\n"
	"  -h, --help              show this help\n"
	"\n"
	"Opening the file needs the rights of /proc/PID/mem (root, or ptrace access to\n"
	"PID).  Exit status: 0 on success, 1 on an error, 2 on bad usage.\n";

static void print_help(void)
{
	printf(help_text, prog, prog, DEF_SVG_COLUMNS);
}

static void die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
	exit(2);
}

enum {
	OPT_NO_PRIME = 256,
	OPT_COLOR,
	OPT_SVG,
	OPT_SVG_COLUMNS,
	OPT_RECORD,
	OPT_FILE,
	OPT_ALL,
	OPT_AGES,
	OPT_PLACE,
	OPT_COLD_AGE,
	OPT_RATE,
	OPT_FAST_BUDGET,
	OPT_DRY_RUN,
	OPT_PROM,
};

/* --ages=1,5,30: ascending thresholds, 1 to 1000000 rounds. */
static int parse_ages(const char *s, struct opts *o)
{
	char *end;

	o->nr_ages = 0;
	for (;;) {
		unsigned long v;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno || !v || v > 1000000 || o->nr_ages == MAX_AGES ||
		    (o->nr_ages && v <= o->ages[o->nr_ages - 1]))
			return -EINVAL;
		o->ages[o->nr_ages++] = v;
		if (!*end)
			return 0;
		if (*end != ',')
			return -EINVAL;
		s = end + 1;
	}
}

/* --place=SLOW[:FAST]: NUMA node numbers. */
static int parse_place(const char *s, struct opts *o)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	v = strtol(s, &end, 10);
	if (v > 1023)
		return -EINVAL;
	o->slow_node = v;
	o->fast_node = 0;
	if (*end == ':') {
		s = end + 1;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = strtol(s, &end, 10);
		if (v > 1023)
			return -EINVAL;
		o->fast_node = v;
	}
	return *end || o->slow_node == o->fast_node ? -EINVAL : 0;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "rounds", required_argument, NULL, 'n' },
		{ "window", required_argument, NULL, 'k' },
		{ "peek", no_argument, NULL, 'p' },
		{ "no-prime", no_argument, NULL, OPT_NO_PRIME },
		{ "once", no_argument, NULL, '1' },
		{ "json", no_argument, NULL, 'j' },
		{ "range", required_argument, NULL, 'r' },
		{ "width", required_argument, NULL, 'w' },
		{ "color", required_argument, NULL, OPT_COLOR },
		{ "colour", required_argument, NULL, OPT_COLOR },
		{ "svg", required_argument, NULL, OPT_SVG },
		{ "svg-columns", required_argument, NULL, OPT_SVG_COLUMNS },
		{ "record", required_argument, NULL, OPT_RECORD },
		{ "file", required_argument, NULL, OPT_FILE },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "ages", required_argument, NULL, OPT_AGES },
		{ "place", required_argument, NULL, OPT_PLACE },
		{ "cold-age", required_argument, NULL, OPT_COLD_AGE },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "fast-budget", required_argument, NULL, OPT_FAST_BUDGET },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "prom", required_argument, NULL, OPT_PROM },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	unsigned int v;
	int c, err;

	/* Name ourselves, and getopt's messages, by the basename. */
	if (argc > 0 && argv[0]) {
		const char *b = strrchr(argv[0], '/');

		b = b ? b + 1 : argv[0];
		if (*b)
			prog = b;
		argv[0] = (char *)prog;
	}
	memset(o, 0, sizeof(*o));
	o->interval = 1;
	o->k = 1;
	o->prime = true;
	o->columns = -1;
	o->color = -1;
	o->svg_columns = DEF_SVG_COLUMNS;
	o->hi = ADDR_END;
	o->ages[0] = 1;
	o->ages[1] = 5;
	o->ages[2] = 30;
	o->nr_ages = 3;
	o->fast_budget = TIER_NO_BUDGET;

	while ((c = getopt_long(argc, argv, "i:n:k:p1jr:w:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (parse_interval(optarg, &o->interval))
				die_usage("bad interval '%s': seconds, 0 to 86400", optarg);
			o->interval_set = true;
			break;
		case 'n':
			if (parse_uint(optarg, 1, UINT_MAX, &o->rounds))
				die_usage("bad number of rounds '%s'", optarg);
			o->rounds_set = true;
			break;
		case 'k':
			if (parse_uint(optarg, 1, 1000000, &o->k))
				die_usage("bad window '%s': 1 to 1000000 rounds", optarg);
			break;
		case 'p':
			o->peek = true;
			break;
		case OPT_NO_PRIME:
			o->prime = false;
			break;
		case '1':
			o->once = true;
			break;
		case 'j':
			o->json = true;
			break;
		case 'r':
			err = parse_range(optarg, &o->lo, &o->hi);
			if (err == -ERANGE)
				die_usage("bad range '%s': empty, or past 2^57", optarg);
			else if (err)
				die_usage("bad range '%s': want START-END or START+SIZE, aligned",
					  optarg);
			o->range = true;
			break;
		case 'w':
			if (parse_uint(optarg, 0, 4096, &v))
				die_usage("bad width '%s': 0 to 4096 columns", optarg);
			o->columns = v;
			break;
		case OPT_COLOR:
			if (!strcmp(optarg, "auto"))
				o->color = -1;
			else if (!strcmp(optarg, "always"))
				o->color = 1;
			else if (!strcmp(optarg, "never"))
				o->color = 0;
			else
				die_usage("bad --color '%s': auto, always or never", optarg);
			break;
		case OPT_SVG:
			o->svg = optarg;
			break;
		case OPT_SVG_COLUMNS:
			if (parse_uint(optarg, 1, 4096, &o->svg_columns))
				die_usage("bad --svg-columns '%s': 1 to 4096", optarg);
			break;
		case OPT_RECORD:
			o->record = optarg;
			break;
		case OPT_FILE:
			o->file = optarg;
			break;
		case OPT_ALL:
			o->all = true;
			break;
		case OPT_AGES:
			if (parse_ages(optarg, o))
				die_usage("bad --ages '%s': up to %u ascending rounds, e.g. 1,5,30",
					  optarg, MAX_AGES);
			break;
		case OPT_PLACE:
			if (parse_place(optarg, o))
				die_usage("bad --place '%s': SLOW[:FAST], two different NUMA nodes",
					  optarg);
			o->place = true;
			break;
		case OPT_COLD_AGE:
			if (parse_uint(optarg, 1, 1000000, &o->cold_age))
				die_usage("bad --cold-age '%s': 1 to 1000000 rounds", optarg);
			break;
		case OPT_RATE:
			if (parse_interval(optarg, &o->rate) || o->rate <= 0)
				die_usage("bad --rate '%s': MB/s, more than 0, at most 86400",
					  optarg);
			break;
		case OPT_FAST_BUDGET: {
			const char *end;

			if (parse_u64(optarg, &o->fast_budget, &end) || *end ||
			    o->fast_budget == TIER_NO_BUDGET)
				die_usage("bad --fast-budget '%s': bytes, with K, M, G or T",
					  optarg);
			break;
		}
		case OPT_DRY_RUN:
			o->dry_run = true;
			break;
		case OPT_PROM:
			o->prom = optarg;
			break;
		case 'h':
			print_help();
			exit(0);
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n", prog);
			exit(2);
		}
	}
	o->pids = xcalloc(argc, sizeof(*o->pids));
	for (; optind < argc; optind++) {
		unsigned int i;

		if (parse_uint(argv[optind], 1, INT_MAX, &v))
			die_usage("bad PID '%s'", argv[optind]);
		for (i = 0; i < o->npids; i++)
			if (o->pids[i] == (pid_t)v)
				die_usage("PID %u given twice", v);
		o->pids[o->npids++] = v;
	}
	o->pid = o->npids ? o->pids[0] : 0;
	if (o->all && o->npids)
		die_usage("--all and PIDs exclude each other");
	if (!o->pid && !o->file && !o->all)
		die_usage("which VMM? give the PID of the process that runs the guest, or --all");
	if (o->file && (o->npids > 1 || o->all))
		die_usage("--file replays one recording: give at most one PID, and no --all");
	if ((o->npids > 1 || o->all) && (o->svg || o->record || o->range))
		die_usage("--svg, --record and --range take one VM; give one PID");
	if (o->place && (o->peek || o->file))
		die_usage("--place needs a live VMM read in clearing mode: no --peek, no --file");
	if (o->place && o->once)
		die_usage("--place and --once exclude each other: placement needs rounds");
	if (!o->place && (o->dry_run || o->cold_age || o->rate ||
			  o->fast_budget != TIER_NO_BUDGET))
		die_usage("--dry-run, --cold-age, --rate and --fast-budget go with --place");
	if (!o->cold_age)
		o->cold_age = 5;
	if (!o->rate)
		o->rate = 256;
	if (o->once && o->rounds_set)
		die_usage("--once and -n/--rounds exclude each other: --once is one round");
	if (!o->file && o->interval_set && !o->interval)
		die_usage("bad interval 0 for a live PID: give seconds > 0 (0 is for --file)");
	if (o->file && !o->interval_set)
		o->interval = 0;
	if (o->once)
		o->rounds = 1;
}

/* Open /proc/PID/idle_bitmap, or explain why not and exit. */
static int open_idle_bitmap(pid_t pid, bool rdwr)
{
	char path[64], dir[32];
	struct stat st;
	int fd, err;

	snprintf(dir, sizeof(dir), "/proc/%d", (int)pid);
	snprintf(path, sizeof(path), "/proc/%d/idle_bitmap", (int)pid);
	fd = open(path, (rdwr ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	err = errno;
	if (err == ESRCH || (err == ENOENT && stat(dir, &st))) {
		fprintf(stderr, "%s: no process with PID %d (it does not exist or has exited)\n",
			prog, (int)pid);
	} else if (err == ENOENT) {
		fprintf(stderr,
			"%s: %s does not exist: this kernel has no idle_bitmap support\n"
			"  (it was built without CONFIG_KVM_PROC_IDLE_BITMAP, or predates it).\n",
			prog, path);
	} else if (err == EACCES || err == EPERM) {
		fprintf(stderr,
			"%s: cannot open %s: %s.\n"
			"  Seeing a process's memory access pattern needs the same rights as\n"
			"  reading /proc/%d/mem: run as root, or as the VMM's user where ptrace\n"
			"  is allowed (see /proc/sys/kernel/yama/ptrace_scope)%s.\n",
			prog, path, strerror(err), (int)pid,
			rdwr ? "; --peek opens it read-only but needs the same rights" : "");
	} else {
		fprintf(stderr, "%s: cannot open %s: %s\n", prog, path, strerror(err));
	}
	exit(1);
}

static void report_pass_error(const struct source *s, const struct opts *o, int err)
{
	if (err == -EBADMSG && s->bad_rec) {
		fprintf(stderr,
			"%s: malformed record stream: record %zu (0x%016llx) breaks the format%s\n",
			prog, s->bad_idx, (unsigned long long)s->bad_rec[s->bad_idx],
			s->fd < 0 ? "" : "; this is a kernel bug, please report it");
	} else if (err == -EBADMSG) {
		fprintf(stderr, "%s: %s: size is not a multiple of 8 bytes\n", prog, o->file);
	} else if (err == -ESRCH) {
		fprintf(stderr, "%s: PID %d exited\n", prog, (int)o->pid);
	} else if (err == -EIO && s->record) {
		fprintf(stderr, "%s: cannot write %s\n", prog, s->record_path);
	} else if (err == -EINVAL && o->range && s->fd >= 0) {
		fprintf(stderr,
			"%s: the kernel rejected range 0x%llx-0x%llx: it must lie below the end of the\n"
			"  process's address space (TASK_SIZE)\n",
			prog, (unsigned long long)o->lo, (unsigned long long)o->hi);
	} else if (err == -ENOTTY) {
		fprintf(stderr, "%s: --range needs IDLE_BITMAP_SCAN; this kernel lacks it\n",
			prog);
	} else if (err == -EPROTO) {
		fprintf(stderr, "%s: the kernel's reply breaks the ABI (no progress)\n", prog);
	} else {
		fprintf(stderr, "%s: reading the idle bitmap: %s\n", prog, strerror(-err));
	}
}

/* False once PID is gone or a zombie: its memory, and its VMs, are gone. */
static bool process_alive(pid_t pid)
{
	char path[32], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	/* "pid (comm) S ...": the state follows the last ')'. */
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

struct run {
	struct opts *o;
	struct source src;
	struct pass pass;
	struct ws_window ws;
	struct layout layout;
	struct svg_hist svg;
	char what[96];
	unsigned int cols;
	bool color;
	uint64_t *acc, *mapped;
	int16_t *node;		/* heat_nodes() of the SVG's columns */
	uint64_t ws_min, ws_max, ws_sum;
	unsigned int rounds;
	/* One VM of several: rows carry its name. */
	bool multi;
	pid_t pid;
	char name[64];
	bool primed, gone;	/* gone: the VM exited */
	bool no_place;		/* move_pages() cannot work for it */
	bool nodes_known;	/* the age map's nodes are known this round */
	struct age_map age;
	uint64_t cur_ws, *ws_hist;	/* the last WS_HISTORY working sets */
	double scan_s;
	uint64_t idle_age[MAX_AGES];
	/* --place */
	struct tier_plan plan;
	struct tier_result res;
	uint64_t budget;
	uint64_t on_fast, on_slow;	/* mapped bytes off/on the slow node, after the round */
	uint64_t moved_total[2], failed_total[NR_TIER_ERRS];
};

static void print_columns(const struct run *r)
{
	const char *vm = r->multi ? "             " : "";

	printf("%s                 ---- hot (accessed) ---- ---------- idle --------\n", vm);
	printf("%sround      ws      4K      2M      1G      4K      2M      1G    hole%s\n",
	       r->multi ? "vm           " : "", r->cols ? "  heat map" : "");
}

static void print_header(struct run *r)
{
	const struct opts *o = r->o;
	char sz[16], sz2[16];
	size_t i;

	if (r->multi) {
		printf("%s: VM %s (PID %d): %s of guest memory in %zu range(s)\n", prog,
		       r->name, (int)r->pid, fmt_size(sz, sizeof(sz), r->layout.total),
		       r->layout.nr);
		return;
	}
	printf("%s: %s, %s", prog, r->what,
	       o->peek ? "peek (Accessed bits not cleared)" : "test and clear");
	if (!o->file)
		printf(", every %.2f s", o->interval);
	printf("; working set = accessed in the last %u round(s)\n", o->k);
	printf("guest memory: %s in %zu range(s):", fmt_size(sz, sizeof(sz), r->layout.total),
	       r->layout.nr);
	for (i = 0; i < r->layout.nr && i < 4; i++)
		printf(" 0x%llx-0x%llx", (unsigned long long)r->layout.seg[i].start,
		       (unsigned long long)r->layout.seg[i].end);
	printf("%s\n", r->layout.nr > 4 ? " ..." : "");
	if (r->cols) {
		printf("heat map: %u columns of %s; ' ' unmapped, '.' idle, %s 1/8..8/8 hot\n",
		       r->cols, fmt_size(sz2, sizeof(sz2), r->layout.total / r->cols),
		       r->color ? "blue..red" : "'-:=+*#%@'");
	}
	print_columns(r);
}

static void print_heat(struct run *r)
{
	uint64_t total = r->layout.total;
	unsigned int i, lv, last = ~0u;

	putchar('|');
	for (i = 0; i < r->cols; i++) {
		uint64_t size = heat_bound(total, r->cols, i + 1) - heat_bound(total, r->cols, i);

		lv = heat_level(r->acc[i], r->mapped[i], size);
		if (!r->color) {
			putchar(heat_ascii[lv]);
			continue;
		}
		if (lv != last) {
			if (lv)
				printf("\033[48;5;%um", heat_ansi[lv]);
			else
				printf("\033[0m");
			last = lv;
		}
		putchar(' ');
	}
	if (r->color)
		printf("\033[0m");
	putchar('|');
}

static void print_round_text(struct run *r, uint64_t ws)
{
	const struct pass *p = &r->pass;
	char sz[9][16];
	unsigned int s;

	fmt_size(sz[0], sizeof(sz[0]), ws);
	for (s = 0; s < NR_SIZES; s++) {
		fmt_size(sz[1 + s], sizeof(sz[0]), p->bytes[IBD_ACCESSED][s]);
		fmt_size(sz[4 + s], sizeof(sz[0]), p->bytes[IBD_IDLE][s]);
	}
	fmt_size(sz[7], sizeof(sz[0]), pass_state_bytes(p, IBD_HOLE));
	if (r->multi)
		printf("%-12.12s ", r->name);
	printf("%5u %7s %7s %7s %7s %7s %7s %7s %7s", r->rounds, sz[0], sz[1], sz[2],
	       sz[3], sz[4], sz[5], sz[6], sz[7]);
	if (r->cols) {
		printf("  ");
		print_heat(r);
	}
	putchar('\n');
}

/*
 * The bytes known to be on each node 0..MAX_NODES - 1: holes too, when their
 * node is known (memory that moved, and that the guest has not touched since:
 * migration unmaps it from the secondary MMU).
 */
static void age_map_bytes_by_node(const struct age_map *m, uint64_t *nb)
{
	size_t i;

	for (i = 0; i < m->nr; i++) {
		const struct age_ext *e = &m->v[i];

		if (e->node >= 0 && e->node < MAX_NODES)
			nb[e->node] += e->end - e->start;
	}
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_place_json(const struct run *r)
{
	const struct tier_plan *pl = &r->plan;
	const struct tier_result *res = &r->res;
	unsigned int e;

	printf(",\"placement\":{\"dry_run\":%s,", r->o->dry_run ? "true" : "false");
	printf("\"to_slow_bytes\":%llu,\"to_fast_bytes\":%llu,\"failed_bytes\":%llu,\"failed\":{",
	       (unsigned long long)(r->o->dry_run ? pl->to_slow : res->to_slow),
	       (unsigned long long)(r->o->dry_run ? pl->to_fast : res->to_fast),
	       (unsigned long long)res->failed);
	for (e = 0; e < NR_TIER_ERRS; e++)
		printf("%s\"%s\":%llu", e ? "," : "", tier_err_name[e],
		       (unsigned long long)res->err_bytes[e]);
	printf("},\"fast_bytes\":%llu,\"slow_bytes\":%llu,\"warm_bytes\":%llu,",
	       (unsigned long long)r->on_fast, (unsigned long long)r->on_slow,
	       (unsigned long long)pl->warm_bytes);
	printf("\"deferred_bytes\":%llu,\"over_budget_bytes\":%llu",
	       (unsigned long long)pl->deferred, (unsigned long long)pl->short_bytes);
	if (r->budget != TIER_NO_BUDGET)
		printf(",\"budget_bytes\":%llu", (unsigned long long)r->budget);
	else
		printf(",\"budget_bytes\":null");
	printf("}");
}

static void print_round_json(struct run *r, uint64_t ws, double t, double scan_s)
{
	const struct pass *p = &r->pass;
	unsigned int st, s, i;
	char path[64];

	printf("{\"round\":%u,\"time\":%.3f,\"timestamp\":%.3f", r->rounds, t, wall_now());
	if (r->pid)
		printf(",\"pid\":%d,\"name\":", (int)r->pid);
	else
		printf(",\"pid\":null,\"name\":");
	json_string(r->name);
	printf(",\"source\":");
	snprintf(path, sizeof(path), "/proc/%d/idle_bitmap", (int)r->pid);
	json_string(r->o->file ? r->o->file : path);
	printf(",\"mode\":\"%s\",\"window\":%u", r->o->peek ? "peek" : "clear", r->o->k);
	printf(",\"ws_bytes\":%llu", (unsigned long long)ws);
	for (st = NR_STATES; st-- > 0; ) {
		printf(",\"%s_bytes\":{", state_name[st]);
		for (s = 0; s < NR_SIZES; s++)
			printf("\"%s\":%llu,", size_name[s], (unsigned long long)p->bytes[st][s]);
		printf("\"total\":%llu}", (unsigned long long)pass_state_bytes(p, st));
	}
	printf(",\"covered_bytes\":%llu,\"records\":%zu,\"scan_seconds\":%.6f",
	       (unsigned long long)pass_covered(p), p->nrec, scan_s);
	printf(",\"idle_age_bytes\":{");
	for (i = 0; i < r->o->nr_ages; i++)
		printf("%s\"%u\":%llu", i ? "," : "", r->o->ages[i],
		       (unsigned long long)r->idle_age[i]);
	printf("}");
	if (r->nodes_known) {
		uint64_t *nb = xcalloc(MAX_NODES, sizeof(*nb));
		bool first = true;

		age_map_bytes_by_node(&r->age, nb);
		printf(",\"nodes\":{");
		for (i = 0; i < MAX_NODES; i++) {
			if (!nb[i])
				continue;
			printf("%s\"%u\":%llu", first ? "" : ",", i, (unsigned long long)nb[i]);
			first = false;
		}
		printf("}");
		free(nb);
	}
	if (r->o->place)
		print_place_json(r);
	if (r->cols) {
		printf(",\"heat\":[");
		for (i = 0; i < r->cols; i++) {
			uint64_t size = heat_bound(r->layout.total, r->cols, i + 1) -
					heat_bound(r->layout.total, r->cols, i);

			printf("%s%.4f", i ? "," : "",
			       r->mapped[i] ? (double)r->acc[i] / size : -1.0);
		}
		printf("]");
	}
	printf("}\n");
}

static void print_round_once(struct run *r, uint64_t ws, double scan_s)
{
	const struct pass *p = &r->pass;
	unsigned int st, s;

	printf("pid=%d name=", (int)r->pid);
	for (st = 0; r->name[st]; st++)	/* one word: blanks and '=' become '_' */
		putchar(r->name[st] <= ' ' || r->name[st] == '=' ? '_' : r->name[st]);
	printf(" mode=%s interval=%.3f window=%u ws_bytes=%llu",
	       r->o->peek ? "peek" : "clear", r->o->interval, r->o->k,
	       (unsigned long long)ws);
	for (st = NR_STATES; st-- > 0; ) {
		for (s = 0; s < NR_SIZES; s++)
			printf(" %s_%s=%llu", state_name[st], size_name[s],
			       (unsigned long long)p->bytes[st][s]);
		printf(" %s_bytes=%llu", state_name[st],
		       (unsigned long long)pass_state_bytes(p, st));
	}
	printf(" covered_bytes=%llu records=%zu scan_seconds=%.6f",
	       (unsigned long long)pass_covered(p), p->nrec, scan_s);
	for (s = 0; s < r->o->nr_ages; s++)
		printf(" idle_%ur_bytes=%llu", r->o->ages[s], (unsigned long long)r->idle_age[s]);
	if (r->nodes_known) {
		uint64_t *nb = xcalloc(MAX_NODES, sizeof(*nb));

		age_map_bytes_by_node(&r->age, nb);
		for (s = 0; s < MAX_NODES; s++)
			if (nb[s])
				printf(" node%u_bytes=%llu", s, (unsigned long long)nb[s]);
		free(nb);
	}
	putchar('\n');
}

static unsigned int term_columns(const struct opts *o)
{
	struct winsize wz;

	if (o->columns >= 0)
		return o->columns;
	if (o->once || o->json)
		return 0;
	if (isatty(STDOUT_FILENO) && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &wz) && wz.ws_col) {
		int c = wz.ws_col - 75;

		return c < 16 ? 16 : c;
	}
	return DEF_COLUMNS;
}

/* --color: auto colours a terminal, unless NO_COLOR is set and non-empty or TERM=dumb. */
static bool use_color(const struct opts *o)
{
	const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");

	if (o->color >= 0)
		return o->color;
	if ((no_color && *no_color) || (term && !strcmp(term, "dumb")))
		return false;
	return isatty(STDOUT_FILENO);
}

static void no_vm(const struct run *r)
{
	if (r->multi)
		fprintf(stderr, "%s: PID %d has no KVM guest memory mapped (yet)\n", prog,
			(int)r->pid);
	else if (r->o->range)
		fprintf(stderr, "%s: no KVM guest memory of %s is in range 0x%llx-0x%llx\n",
			prog, r->what, (unsigned long long)r->o->lo,
			(unsigned long long)r->o->hi);
	else if (r->o->file && !r->o->pid)
		fprintf(stderr, "%s: %s has no KVM guest memory mapped (first pass is empty)\n",
			prog, r->o->file);
	else
		fprintf(stderr,
			"%s: PID %d has no KVM guest memory mapped (no VM, or its memslots are not set up yet)\n"
			"  Give the PID of the VMM process (e.g. qemu-system-x86_64) once its guest runs.\n",
			prog, (int)r->pid);
}

/* QEMU's -name: "-name NAME" or "-name guest=NAME,debug-threads=on". */
static void vm_name(pid_t pid, char *buf, size_t len)
{
	char path[32], args[16384];
	ssize_t n;
	size_t i;
	int fd;

	snprintf(buf, len, "%d", (int)pid);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, args, sizeof(args) - 1);
	close(fd);
	if (n <= 0)
		return;
	args[n] = 0;
	for (i = 0; i < (size_t)n; i += strlen(args + i) + 1) {
		const char *a = args + i, *f;
		size_t l;

		if (strcmp(a, "-name") && strcmp(a, "--name"))
			continue;
		i += strlen(a) + 1;
		if (i >= (size_t)n)
			return;
		/* Comma-separated; the first field may be the name itself. */
		for (f = args + i; *f; f += l + (f[l] == ',')) {
			l = strcspn(f, ",");
			if (!strncmp(f, "guest=", 6) && l > 6) {
				snprintf(buf, len, "%.*s", (int)(l - 6), f + 6);
				return;
			}
			if (f == args + i && !memchr(f, '=', l) && l) {
				snprintf(buf, len, "%.*s", (int)l, f);
				return;
			}
		}
		return;
	}
}

/*
 * The processes with KVM guest memory, but the nr_known in known[]: those
 * whose idle_bitmap returns a record.  Read-only, so nothing is cleared.
 * Other processes' files (kernel threads, processes we may not trace) are
 * skipped.
 */
static size_t find_vms(pid_t **pids, struct run * const *known, size_t nr_known)
{
	size_t nr = 0, alloc = 0;
	struct dirent *de;
	uint64_t rec[8];
	DIR *d;

	*pids = NULL;
	d = opendir("/proc");
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[64], *end;
		long pid = strtol(de->d_name, &end, 10);
		ssize_t n;
		size_t k;
		int fd;

		if (*end || pid <= 0 || pid == getpid())
			continue;
		for (k = 0; k < nr_known && known[k]->pid != pid; k++)
			;
		if (k < nr_known)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/idle_bitmap", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, rec, sizeof(rec));
		close(fd);
		if (n <= 0)
			continue;
		if (nr == alloc) {
			alloc = alloc ? 2 * alloc : 16;
			*pids = xrealloc(*pids, alloc * sizeof(**pids));
		}
		(*pids)[nr++] = pid;
	}
	closedir(d);
	return nr;
}

/* Free one VM's state; 1 when its recording could not be written. */
static int run_free(struct run *r)
{
	int err = 0;

	if (r->src.record && fclose(r->src.record)) {
		fprintf(stderr, "%s: cannot write %s\n", prog, r->src.record_path);
		err = 1;
	}
	r->src.record = NULL;
	if (r->src.fd >= 0)
		close(r->src.fd);
	r->src.fd = -1;
	free(r->src.buf);
	free(r->src.rp.rec);
	free(r->pass.ev.ext);
	free(r->acc);
	free(r->mapped);
	free(r->svg.cell);
	free(r->svg.ws);
	free(r->svg.t);
	free(r->svg.node);
	free(r->svg.row_nodes);
	free(r->node);
	free(r->ws_hist);
	ws_free(&r->ws);
	layout_free(&r->layout);
	age_map_free(&r->age);
	tier_plan_free(&r->plan);
	return err;
}

/*
 * Set up one VM (or the recording).  fd is an already opened idle_bitmap,
 * or -1 to open it here (exiting with the reason when that fails).
 * 0, or 1 on an error already reported.
 */
static int run_open(struct run *r, struct opts *o, pid_t pid, int fd, bool multi)
{
	int ret;

	memset(r, 0, sizeof(*r));
	r->o = o;
	r->pid = pid;
	r->multi = multi;
	r->src.fd = -1;
	r->src.clear = !o->peek;
	r->src.lo = o->lo;
	r->src.hi = o->hi;
	r->src.use_ioctl = o->range;
	r->budget = o->fast_budget;
	if (ws_init(&r->ws, o->k))
		return 1;
	r->ws_hist = xcalloc(WS_HISTORY, sizeof(*r->ws_hist));
	if (pid && o->file)	/* the PID of the recording, not of this machine */
		snprintf(r->name, sizeof(r->name), "%d", (int)pid);
	else if (pid)
		vm_name(pid, r->name, sizeof(r->name));
	else
		snprintf(r->name, sizeof(r->name), "%s", "recording");
	if (o->file) {
		ret = replay_load(&r->src.rp, o->file);
		if (ret == -EBADMSG) {
			fprintf(stderr, "%s: %s: not a recording (size is not a multiple of 8)\n",
				prog, o->file);
			return 1;
		} else if (ret == -EILSEQ) {
			const struct replay *rp = &r->src.rp;

			fprintf(stderr,
				"%s: %s: bad annotation chunk after pass %u: word %zu (0x%016llx): %s\n",
				prog, o->file, rp->bad_pass, rp->bad_word,
				(unsigned long long)rp->rec[rp->bad_word], rp->bad_why);
			return 1;
		} else if (ret) {
			fprintf(stderr, "%s: cannot read %s: %s\n", prog, o->file, strerror(-ret));
			return 1;
		}
		if (pid)
			snprintf(r->what, sizeof(r->what), "PID %d (replayed)", (int)pid);
		else
			snprintf(r->what, sizeof(r->what), "recording %.70s", o->file);
	} else {
		r->src.fd = fd >= 0 ? fd : open_idle_bitmap(pid, !o->peek);
		snprintf(r->what, sizeof(r->what), "PID %d", (int)pid);
	}
	r->src.cap = READ_RECORDS;
	r->src.buf = xcalloc(r->src.cap, sizeof(*r->src.buf));
	if (o->record) {
		r->src.record = fopen(o->record, "w");
		r->src.record_path = o->record;
		if (!r->src.record) {
			fprintf(stderr, "%s: cannot create %s: %s\n", prog, o->record,
				strerror(errno));
			return 1;
		}
	}
	r->cols = term_columns(o);
	r->color = use_color(o);
	r->acc = xcalloc(r->cols + o->svg_columns, sizeof(*r->acc));
	r->mapped = xcalloc(r->cols + o->svg_columns, sizeof(*r->mapped));
	r->node = xcalloc(o->svg_columns, sizeof(*r->node));
	r->svg.cols = o->svg_columns;
	return 0;
}

/*
 * The priming pass clears what accumulated before we started.  A
 * recording's first pass is the priming pass --record saved, unless it is
 * the only (complete) pass: then it is the round.  0, or 1 on an error
 * already reported.
 */
static int run_prime(struct run *r)
{
	const struct opts *o = r->o;
	int ret;

	if (o->peek || !o->prime || (o->file && r->src.rp.passes == 1))
		return 0;
	ret = source_pass(&r->src, &r->pass);
	if (ret < 0) {
		report_pass_error(&r->src, o, ret);
		return 1;
	}
	if (ret > 0 || !r->pass.ev.nr) {
		no_vm(r);
		return 1;
	}
	layout_build(&r->layout, &r->pass.ev);
	r->primed = true;
	return 0;
}

enum { ROUND_OK, ROUND_END, ROUND_ERROR };

/* One pass of one VM, and what follows from it; no output yet. */
static int run_pass(struct run *r, int *status)
{
	const struct opts *o = r->o;
	unsigned int i;
	double ts;
	int ret;

	ts = now();
	ret = source_pass(&r->src, &r->pass);
	r->scan_s = now() - ts;
	if (ret == 2) {
		fprintf(stderr,
			"%s: warning: %s: pass %u is truncated (no zero word after it), left out\n",
			prog, o->file, r->src.rp.pass + 1);
		*status = 1;
	}
	if (ret == 1 && r->src.rp.annot_cut) {
		fprintf(stderr,
			"%s: warning: %s: the annotation chunk after pass %u is truncated (no zero word after it), left out\n",
			prog, o->file, r->src.rp.passes);
		*status = 1;
	}
	if (ret > 0) {
		if (!r->rounds && !r->primed) {
			no_vm(r);
			*status = 1;
			return ROUND_ERROR;
		}
		if (!o->json && !o->once)
			printf("end of recording after %u round(s)\n", r->rounds);
		return ROUND_END;
	}
	if (ret < 0) {
		if (r->multi && ret == -ESRCH) {
			fprintf(stderr, "%s: VM %s (PID %d) exited after %u round(s)\n",
				prog, r->name, (int)r->pid, r->rounds);
			return ROUND_ERROR;
		}
		report_pass_error(&r->src, o, ret);
		*status = 1;
		return ROUND_ERROR;
	}
	if (!r->pass.ev.nr) {
		if (!r->rounds && !r->primed) {
			no_vm(r);
			*status = 1;
			return ROUND_ERROR;
		}
		if (r->src.fd >= 0 && !process_alive(r->pid)) {
			fprintf(stderr, "%s: %s%s%sPID %d exited after %u round(s)\n",
				prog, r->multi ? "VM " : "", r->multi ? r->name : "",
				r->multi ? " " : "", (int)r->pid, r->rounds);
			if (!r->multi)
				*status = 1;
			return ROUND_ERROR;
		}
	}
	if (!r->layout.nr)
		layout_build(&r->layout, &r->pass.ev);
	r->rounds++;
	r->cur_ws = ws_push(&r->ws, &r->pass.ev);
	r->ws_hist[(r->rounds - 1) % WS_HISTORY] = r->cur_ws;
	if (r->rounds == 1 || r->cur_ws < r->ws_min)
		r->ws_min = r->cur_ws;
	if (r->cur_ws > r->ws_max)
		r->ws_max = r->cur_ws;
	r->ws_sum += r->cur_ws;
	age_map_update(&r->age, r->pass.ev.ext, r->pass.ev.nr);
	if (r->src.fd < 0) {
		/* A replay knows the nodes of the passes that have an annotation. */
		r->nodes_known = !!r->src.rp.annot;
		if (r->nodes_known)
			replay_apply_annot(&r->src.rp, &r->age);
	}
	for (i = 0; i < o->nr_ages; i++)
		r->idle_age[i] = age_map_idle_bytes(&r->age, o->ages[i]);
	return ROUND_OK;
}

/* The mapped bytes of a VM's last pass. */
static uint64_t run_mapped(const struct run *r)
{
	return pass_covered(&r->pass) - pass_state_bytes(&r->pass, IBD_HOLE);
}

static void print_place_text(const struct run *r, const struct opts *o)
{
	const struct tier_plan *pl = &r->plan;
	char a[16], b[16], c[16], d[16], e[16];
	unsigned int i;

	fmt_size(a, sizeof(a), o->dry_run ? pl->to_slow : r->res.to_slow);
	fmt_size(b, sizeof(b), o->dry_run ? pl->to_fast : r->res.to_fast);
	fmt_size(c, sizeof(c), r->res.failed);
	fmt_size(d, sizeof(d), r->on_fast);
	fmt_size(e, sizeof(e), r->on_slow);
	printf("%*s  place: %s %s to node %d, %s to node %d; failed %s", r->multi ? 12 : 0, "",
	       o->dry_run ? "would move" : "moved",
	       a, o->slow_node, b, o->fast_node, c);
	for (i = 0; i < NR_TIER_ERRS; i++) {
		if (r->res.err_bytes[i]) {
			fmt_size(a, sizeof(a), r->res.err_bytes[i]);
			printf(" (%s %s)", tier_err_name[i], a);
		}
	}
	printf("; node %d %s, node %d %s", o->fast_node, d, o->slow_node, e);
	if (r->budget != TIER_NO_BUDGET)
		printf(", budget %s", fmt_size(a, sizeof(a), r->budget));
	if (pl->short_bytes)
		printf(", %s accessed over budget", fmt_size(a, sizeof(a), pl->short_bytes));
	if (pl->deferred)
		printf(", %s left for the rate limit", fmt_size(a, sizeof(a), pl->deferred));
	putchar('\n');
}

/* --dry-run: every planned move, one line each. */
static void print_plan(const struct run *r)
{
	char a[16];
	size_t i;

	for (i = 0; i < r->plan.nr; i++) {
		const struct tier_move *mv = &r->plan.v[i];

		printf("%s%s", r->multi ? r->name : "", r->multi ? ": " : "");
		printf("would move 0x%llx-0x%llx (%s, %s pages, idle %u rounds, %s) to node %d\n",
		       (unsigned long long)mv->start, (unsigned long long)mv->end,
		       fmt_size(a, sizeof(a), mv->end - mv->start), size_name[mv->size],
		       mv->age, mv->why, mv->node);
	}
}

/* A hint for a move_pages() that failed with errno -ret. */
static const char *move_pages_hint(int ret)
{
	if (ret == -ENODEV || ret == -EINVAL)
		return " (is the node online, with memory? see /sys/devices/system/node)";
	if (ret == -EPERM)
		return " (moving another process's pages needs ptrace access to it: run as root)";
	return "";
}

/* Plan one VM's moves and, unless it is a dry run, make them. */
static void place_vm(struct run *r, const struct tier_cfg *cfg, const struct opts *o,
		     bool verbose)
{
	int ret;

	tier_plan_build(&r->age, cfg, &r->plan);
	if (o->dry_run) {
		if (verbose)
			print_plan(r);
		return;
	}
	ret = tier_execute(r->pid, &r->plan, &r->age, &r->res);
	if (ret && ret != -ESRCH) {
		fprintf(stderr, "%s: VM %s: move_pages to node %d: %s%s\n",
			prog, r->name, o->slow_node, strerror(-ret),
			move_pages_hint(ret));
		r->no_place = true;	/* stop placing it; keep reporting */
	}
	r->moved_total[0] += r->res.to_slow;
	r->moved_total[1] += r->res.to_fast;
	for (ret = 0; ret < NR_TIER_ERRS; ret++)
		r->failed_total[ret] += r->res.err_bytes[ret];
}

/*
 * --place: share the fast-node budget, then plan and move each VM's
 * memory.  The rate limit is shared equally by the VMs.
 */
static void place_round(struct run **vm, size_t n, const struct opts *o, bool verbose)
{
	struct tier_share *sh = xcalloc(n, sizeof(*sh));
	uint64_t quota = (uint64_t)(o->rate * 1e6 * o->interval) / (n ? n : 1);
	char a[16], b[16], c[16];
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = tier_query_nodes(vm[i]->pid, &vm[i]->age, QUERY_UNITS);
		if (ret && ret != -ESRCH)
			fprintf(stderr, "%s: VM %s: move_pages (query): %s\n", prog,
				vm[i]->name, strerror(-ret));
		sh[i].warm = age_map_warm_bytes(&vm[i]->age, o->cold_age);
		sh[i].mapped = run_mapped(vm[i]);
	}
	if (o->fast_budget != TIER_NO_BUDGET) {
		tier_share_budget(o->fast_budget, sh, n);
		for (i = 0; i < n; i++)
			vm[i]->budget = sh[i].budget;
		if (verbose && n > 1) {
			printf("budget %s of node %d shared by working set",
			       fmt_size(a, sizeof(a), o->fast_budget), o->fast_node);
			printf(" (accessed in the last %u rounds):", o->cold_age);
			for (i = 0; i < n; i++)
				printf(" %s %s -> %s of %s;", vm[i]->name,
				       fmt_size(a, sizeof(a), sh[i].warm),
				       fmt_size(b, sizeof(b), sh[i].budget),
				       fmt_size(c, sizeof(c), sh[i].mapped));
			putchar('\n');
		}
	}
	for (i = 0; i < n; i++) {
		struct run *r = vm[i];
		struct tier_cfg cfg = {
			.slow = o->slow_node, .fast = o->fast_node, .cold_age = o->cold_age,
			.budget = r->budget, .quota = quota,
		};

		tier_plan_free(&r->plan);
		memset(&r->res, 0, sizeof(r->res));
		if (!r->no_place)
			place_vm(r, &cfg, o, verbose);
		/* Counted once here for the text, JSON and Prometheus output. */
		r->on_fast = age_map_node_bytes(&r->age, o->slow_node, true);
		r->on_slow = age_map_node_bytes(&r->age, o->slow_node, false);
	}
	free(sh);
}

static int write_prom(struct run **vm, size_t n, const struct opts *o)
{
	struct prom_vm *pv = xcalloc(n, sizeof(*pv));
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		const struct run *r = vm[i];

		pv[i].name = r->name;
		pv[i].pid = r->pid;
		memcpy(pv[i].bytes, r->pass.bytes, sizeof(pv[i].bytes));
		pv[i].ws_bytes = r->cur_ws;
		pv[i].window = o->k;
		pv[i].ages = o->ages;
		pv[i].idle_age_bytes = r->idle_age;
		pv[i].nr_ages = o->nr_ages;
		pv[i].rounds = r->rounds;
		pv[i].scan_seconds = r->scan_s;
		pv[i].placement = o->place;
		pv[i].fast_bytes = r->on_fast;
		pv[i].slow_bytes = r->on_slow;
		pv[i].budget_bytes = r->budget;
		memcpy(pv[i].moved_total, r->moved_total, sizeof(pv[i].moved_total));
		memcpy(pv[i].failed_total, r->failed_total, sizeof(pv[i].failed_total));
	}
	ret = prom_write(o->prom, pv, n, wall_now());
	free(pv);
	if (ret)
		fprintf(stderr, "%s: cannot write %s: %s\n", prog, o->prom, strerror(-ret));
	return ret;
}

static void print_summary(const struct run *r)
{
	unsigned int n = r->rounds < WS_HISTORY ? r->rounds : WS_HISTORY, i;
	char a[16], b[16], c[16], d[16];

	printf("%s%s%u rounds: working set min %s, mean %s, max %s\n",
	       r->multi ? r->name : "", r->multi ? ": " : "", r->rounds,
	       fmt_size(a, sizeof(a), r->ws_min), fmt_size(b, sizeof(b), r->ws_sum / r->rounds),
	       fmt_size(c, sizeof(c), r->ws_max));
	printf("%s%sworking set percentiles%s: p50 %s, p90 %s, p99 %s\n",
	       r->multi ? r->name : "", r->multi ? ": " : "",
	       r->rounds > WS_HISTORY ? " (last " STR(WS_HISTORY) " rounds)" : "",
	       fmt_size(a, sizeof(a), tier_percentile(r->ws_hist, n, 50)),
	       fmt_size(b, sizeof(b), tier_percentile(r->ws_hist, n, 90)),
	       fmt_size(c, sizeof(c), tier_percentile(r->ws_hist, n, 99)));
	printf("%s%sidle now for at least", r->multi ? r->name : "", r->multi ? ": " : "");
	for (i = 0; i < r->o->nr_ages; i++)
		printf("%s %u round%s: %s", i ? "," : "", r->o->ages[i],
		       r->o->ages[i] == 1 ? "" : "s", fmt_size(d, sizeof(d), r->idle_age[i]));
	putchar('\n');
	if (r->o->place && !r->o->dry_run)
		printf("%s%smoved in all: %s to node %d, %s to node %d\n",
		       r->multi ? r->name : "", r->multi ? ": " : "",
		       fmt_size(a, sizeof(a), r->moved_total[0]), r->o->slow_node,
		       fmt_size(b, sizeof(b), r->moved_total[1]), r->o->fast_node);
}

/* --all: open the VMs that appeared since the last round; prime them. */
static void add_new_vms(struct run ***vm, size_t *n, struct opts *o)
{
	pid_t *pids;
	size_t np = find_vms(&pids, *vm, *n), i;

	for (i = 0; i < np; i++) {
		char path[40];
		struct run *r;
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/idle_bitmap", (int)pids[i]);
		fd = open(path, (o->peek ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (fd < 0)
			continue;
		r = xcalloc(1, sizeof(*r));
		if (run_open(r, o, pids[i], fd, true) || run_prime(r)) {
			/* It has no memslots yet, or exited: try again next round. */
			run_free(r);
			free(r);
			continue;
		}
		*vm = xrealloc(*vm, (*n + 1) * sizeof(**vm));
		(*vm)[(*n)++] = r;
		if (!o->json && !o->once && !o->prom)
			printf("%s: found VM %s (PID %d)\n", prog, r->name, (int)r->pid);
	}
	free(pids);
}

int main(int argc, char **argv)
{
	struct run **vm = NULL;
	size_t nvm = 0, i, j;
	unsigned int round = 0;
	bool multi, primed, header = false, done = false;
	struct sigaction sa;
	struct opts o;
	int status = 0;
	double t0;

	parse_args(argc, argv, &o);
	multi = o.all || o.npids > 1;
	if (o.all) {
		add_new_vms(&vm, &nvm, &o);
		if (!nvm) {
			fprintf(stderr,
				"%s: no process has KVM guest memory mapped (or none I may read:\n"
				"  run as root); start the VMs first, or give their PIDs\n", prog);
			return 1;
		}
	} else {
		unsigned int n = o.npids ? o.npids : 1;

		vm = xcalloc(n, sizeof(*vm));
		for (i = 0; i < n; i++) {
			vm[i] = xcalloc(1, sizeof(*vm[i]));
			nvm++;
			if (run_open(vm[i], &o, o.npids ? o.pids[i] : 0, -1, multi)) {
				status = 1;
				goto out;
			}
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (!o.all) {
		for (i = 0; i < nvm; i++) {
			if (run_prime(vm[i])) {
				status = 1;
				goto out;
			}
		}
	}
	primed = o.all || vm[0]->primed;

	t0 = now();
	while (!stopping() && !done && (!o.rounds || round < o.rounds)) {
		bool any = false;

		if (primed || round) {
			if (!sleep_until(t0 + (round + primed) * o.interval))
				break;
		}
		for (i = 0; i < nvm; i++) {
			switch (run_pass(vm[i], &status)) {
			case ROUND_OK:
				any = true;
				break;
			case ROUND_END:
				done = true;
				break;
			default:
				if (!multi)
					goto summary;
				vm[i]->gone = true;
			}
		}
		/* Drop the VMs that exited. */
		for (i = j = 0; i < nvm; i++) {
			if (vm[i]->gone) {
				run_free(vm[i]);
				free(vm[i]);
				continue;
			}
			vm[j++] = vm[i];
		}
		nvm = j;
		if (done || !any) {
			if (!nvm && !o.all) {
				fprintf(stderr, "%s: every VM exited\n", prog);
				status = 1;
				break;
			}
			if (done || !o.all)
				break;
		}
		round++;
		/* Headers first: --place may print what it plans or shares. */
		for (i = 0; i < nvm && !o.json && !o.once; i++) {
			if (vm[i]->rounds == 1)
				print_header(vm[i]);
			if (multi && !header && i == nvm - 1) {
				print_columns(vm[i]);
				header = true;
			}
		}
		if (o.place) {
			struct run **live = xcalloc(nvm ? nvm : 1, sizeof(*live));
			size_t nl = 0;

			for (i = 0; i < nvm; i++)
				live[nl++] = vm[i];
			place_round(live, nl, &o, !o.json && !o.once);
			free(live);
			for (i = 0; i < nvm; i++)
				vm[i]->nodes_known = true;
		}
		for (i = 0; i < nvm; i++) {
			struct run *r = vm[i];
			double t = now();

			if (r->nodes_known && r->src.record &&
			    source_write_annot(&r->src, &r->age)) {
				fprintf(stderr, "%s: cannot write %s\n", prog, r->src.record_path);
				fclose(r->src.record);
				r->src.record = NULL;
				status = 1;
			}

			if (r->cols)
				heat_row(&r->layout, &r->pass.ev, r->cols, r->acc, r->mapped);
			if (o.json)
				print_round_json(r, r->cur_ws, t - t0, r->scan_s);
			else if (o.once)
				print_round_once(r, r->cur_ws, r->scan_s);
			if (o.svg) {
				uint64_t *acc = r->acc + r->cols, *mapped = r->mapped + r->cols;

				heat_row(&r->layout, &r->pass.ev, o.svg_columns, acc, mapped);
				if (r->nodes_known)
					heat_nodes(&r->layout, &r->age, o.svg_columns, r->node);
				svg_hist_add(&r->svg, acc, mapped, r->nodes_known ? r->node : NULL,
					     r->layout.total, r->cur_ws,
					     t - t0);
			}
		}
		if (!o.json && !o.once) {
			for (i = 0; i < nvm; i++) {
				print_round_text(vm[i], vm[i]->cur_ws);
				if (o.place && !vm[i]->no_place)
					print_place_text(vm[i], &o);
			}
		}
		fflush(stdout);
		if (o.prom && write_prom(vm, nvm, &o))
			status = 1;
		if (o.all)
			add_new_vms(&vm, &nvm, &o);
	}

summary:
	for (i = 0; i < nvm; i++) {
		struct run *r = vm[i];
		int ret;

		if (!o.json && !o.once && r->rounds > 1)
			print_summary(r);
		if (o.svg && r->rounds) {
			ret = svg_write(o.svg, &r->svg, &r->layout, r->what, &o);
			if (ret) {
				fprintf(stderr, "%s: cannot write %s: %s\n", prog, o.svg,
					strerror(-ret));
				status = 1;
			} else if (!o.json && !o.once) {
				printf("heat map image: %s\n", o.svg);
			}
		}
	}
out:
	for (i = 0; i < nvm; i++) {
		if (run_free(vm[i]))
			status = 1;
		free(vm[i]);
	}
	free(vm);
	free(o.pids);
	return status;
}
