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
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "idle_bitmap_decode.h"

#define NR_STATES	3	/* enum ibd_state */
#define NR_SIZES	3	/* IDLE_BITMAP_SIZE_4K, _2M, _1G */
#define PAGE_SZ		4096ULL
#define ADDR_END	IBD_ADDR_LIMIT
#define READ_RECORDS	(128 * 1024)	/* 1 MiB of records per read() */
#define HEAT_LEVELS	8
#define DEF_COLUMNS	64
#define DEF_SVG_COLUMNS	256
#define SVG_NO_MEMORY	0xffff

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
 * e.g. what `dd if=/proc/PID/idle_bitmap` wrote.
 */
struct replay {
	uint64_t *rec;
	size_t nrec, pos;
};

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
out:
	close(fd);
	return err;
}

/* The next pass of a recording: *rec, *nrec; 1 when there is none left. */
static int replay_next(struct replay *rp, const uint64_t **rec, size_t *nrec)
{
	size_t start = rp->pos;

	if (rp->pos >= rp->nrec)
		return 1;
	while (rp->pos < rp->nrec && rp->rec[rp->pos])
		rp->pos++;
	*rec = rp->rec + start;
	*nrec = rp->pos - start;
	if (rp->pos < rp->nrec)
		rp->pos++;	/* the zero word */
	return 0;
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

/* One pass over the source.  0, 1 at the end of a recording, or -errno. */
static int source_pass(struct source *s, struct pass *p)
{
	const uint64_t *rec;
	size_t nrec;
	int ret;

	pass_reset(p, s->lo, s->hi);
	if (s->fd < 0) {
		if (replay_next(&s->rp, &rec, &nrec))
			return 1;
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
	unsigned int k;
	bool peek, prime, once, json;
	int columns;		/* -1: automatic */
	int color;		/* -1 auto, 0 never, 1 always */
	const char *svg;
	unsigned int svg_columns;
	const char *file, *record;
	bool range;
	uint64_t lo, hi;
	pid_t pid;
};

/* Heat map rows kept for the SVG, one per round. */
struct svg_hist {
	unsigned int cols, rows, alloc;
	uint16_t *cell;		/* accessed fraction * 10000, or SVG_NO_MEMORY */
	uint64_t *ws;
	double *t;
};

static void svg_hist_add(struct svg_hist *h, const uint64_t *acc,
			 const uint64_t *mapped, uint64_t total, uint64_t ws,
			 double t)
{
	unsigned int i;

	if (h->rows == h->alloc) {
		h->alloc = h->alloc ? 2 * h->alloc : 64;
		h->cell = xrealloc(h->cell, (size_t)h->alloc * h->cols * sizeof(*h->cell));
		h->ws = xrealloc(h->ws, h->alloc * sizeof(*h->ws));
		h->t = xrealloc(h->t, h->alloc * sizeof(*h->t));
	}
	for (i = 0; i < h->cols; i++) {
		uint64_t size = heat_bound(total, h->cols, i + 1) - heat_bound(total, h->cols, i);
		uint16_t *c = &h->cell[(size_t)h->rows * h->cols + i];

		if (!mapped[i])
			*c = SVG_NO_MEMORY;
		else
			*c = ((__uint128_t)acc[i] * 10000 + size / 2) / size;
	}
	h->ws[h->rows] = ws;
	h->t[h->rows] = t;
	h->rows++;
}

/* Navy for idle, through red, to gold for fully accessed. */
static void svg_colour(char *buf, size_t len, unsigned int frac)
{
	static const unsigned char ramp[3][3] = {
		{ 0x1d, 0x2b, 0x53 }, { 0xd4, 0x3d, 0x51 }, { 0xff, 0xd7, 0x00 },
	};
	unsigned char rgb[3];
	unsigned int i, seg = frac < 5000 ? 0 : 1;
	unsigned int f = frac < 5000 ? frac * 2 : (frac - 5000) * 2;

	if (frac == SVG_NO_MEMORY) {
		snprintf(buf, len, "#e8e8e8");
		return;
	}
	if (f > 10000)
		f = 10000;
	for (i = 0; i < 3; i++)
		rgb[i] = (ramp[seg][i] * (10000 - f) + ramp[seg + 1][i] * f) / 10000;
	snprintf(buf, len, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
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
	unsigned int mapw, maph, bottom = 90, lastx = 0;
	char c0[16], c1[16], sz[16], sz2[16], every[32];
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
	height = top + maph + bottom;
	for (i = 0; i < h->rows; i++)
		if (h->ws[i] > maxws)
			maxws = h->ws[i];

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
		const uint16_t *row = &h->cell[(size_t)i * h->cols];

		fprintf(f, "<g id=\"r%u\">", i + 1);
		for (j = 0; j < h->cols; ) {
			unsigned int k = j + 1;

			svg_colour(c0, sizeof(c0), row[j]);
			while (k < h->cols) {
				svg_colour(c1, sizeof(c1), row[k]);
				if (strcmp(c0, c1))
					break;
				k++;
			}
			svg_rect(f, left + j * cw, y, (k - j) * cw, rh, c0);
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

	/* Where each covered range starts on the axis. */
	for (i = 0; i < l->nr; i++) {
		unsigned int x = left + (__uint128_t)l->seg[i].off * mapw / l->total;

		fprintf(f, "<line x1=\"%u\" y1=\"%u\" x2=\"%u\" y2=\"%u\" stroke=\"#000\"/>\n",
			x, top + maph, x, top + maph + 5);
		if (i && x < lastx + 110)
			continue;
		/* Near the right end, end the label there, clear of the bars. */
		if (x + 100 > left + mapw) {
			if (i && left + mapw < lastx + 210)
				continue;
			svg_text(f, left + mapw, top + maph + 16,
				 " font-size=\"9\" text-anchor=\"end\"", "0x%llx",
				 (unsigned long long)l->seg[i].start);
			break;
		}
		svg_text(f, x, top + maph + 16, " font-size=\"9\"", "0x%llx",
			 (unsigned long long)l->seg[i].start);
		lastx = x;
	}
	svg_text(f, left, top + maph + 32, "",
		 "guest memory: host virtual addresses covered by memslots, gaps removed");

	/* Legend. */
	j = top + maph + 48;
	svg_colour(c0, sizeof(c0), SVG_NO_MEMORY);
	svg_rect(f, left, j, 12, 12, c0);
	svg_text(f, left + 16, j + 10, "", "no mapped page");
	svg_colour(c0, sizeof(c0), 0);
	svg_rect(f, left + 130, j, 12, 12, c0);
	svg_text(f, left + 146, j + 10, "", "idle");
	for (i = 0; i <= 10; i++) {
		svg_colour(c0, sizeof(c0), i * 1000);
		svg_rect(f, left + 200 + i * 16, j, 16, 12, c0);
	}
	svg_text(f, left + 200 + 11 * 16 + 6, j + 10, "",
		 "0 .. 100%% of the column accessed");
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
	"Usage: %s [OPTION]... PID\n"
	"Report the working set and idle memory of the KVM guest(s) of VMM process PID\n"
	"(for example qemu-system-x86_64), from /proc/PID/idle_bitmap.\n"
	"\n"
	"Every interval it reads the secondary MMU's Accessed bits for the guest memory\n"
	"and prints, per round: hot (accessed), idle and hole bytes for each page size,\n"
	"the working set (bytes accessed in the last K rounds) and a row of a heat map.\n"
	"By default each read also clears the bits (test and clear), after a first\n"
	"unreported pass that clears what accumulated before kvm_idle started.\n"
	"\n"
	"  -i, --interval=SECONDS  time between rounds (default 1; fractions allowed)\n"
	"  -n, --rounds=N          stop after N rounds (default: until interrupted)\n"
	"  -k, --window=K          working set = pages accessed in any of the last K\n"
	"                          rounds (default 1: the last interval)\n"
	"  -p, --peek              open read-only: report, never clear Accessed bits\n"
	"      --no-prime          report the first pass too (it shows what was accessed\n"
	"                          since the last clearing scan, or since boot)\n"
	"  -1, --once              one round, one line of key=value pairs (or one JSON\n"
	"                          object with --json), for scripts\n"
	"  -j, --json              one JSON object per round (JSON lines)\n"
	"  -r, --range=START-END   report only [START, END); also START+SIZE; addresses\n"
	"                          are host virtual, hex with 0x, K/M/G/T suffixes\n"
	"  -w, --width=COLUMNS     heat map columns in the terminal (0: no heat map;\n"
	"                          default: fit the terminal, 64 when not a terminal)\n"
	"      --color=WHEN        colour heat map: auto (default), always, never\n"
	"      --svg=FILE          write the heat map of all rounds as an SVG image\n"
	"      --svg-columns=N     columns of the SVG heat map (default %u)\n"
	"      --record=FILE       save the raw records of every pass (testing aid)\n"
	"      --file=FILE         replay a recording instead of reading PID's file;\n"
	"                          PID is then optional (testing aid)\n"
	"  -h, --help              show this help\n"
	"\n"
	"Opening the file needs the rights of /proc/PID/mem (root, or ptrace access to\n"
	"PID).  Exit status: 0 on success, 1 on an error, 2 on bad usage.\n";

static void print_help(void)
{
	printf(help_text, prog, DEF_SVG_COLUMNS);
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
};

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
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	unsigned int v;
	int c, err;

	memset(o, 0, sizeof(*o));
	o->interval = 1;
	o->k = 1;
	o->prime = true;
	o->columns = -1;
	o->color = -1;
	o->svg_columns = DEF_SVG_COLUMNS;
	o->hi = ADDR_END;

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
		case 'h':
			print_help();
			exit(0);
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n", prog);
			exit(2);
		}
	}
	if (optind < argc) {
		if (parse_uint(argv[optind], 1, INT_MAX, &v))
			die_usage("bad PID '%s'", argv[optind]);
		o->pid = v;
		optind++;
	}
	if (optind < argc)
		die_usage("unexpected argument '%s'", argv[optind]);
	if (!o->pid && !o->file)
		die_usage("which VMM? give the PID of the process that runs the guest");
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
	uint64_t ws_min, ws_max, ws_sum;
	unsigned int rounds;
};

static void print_header(struct run *r)
{
	const struct opts *o = r->o;
	char sz[16], sz2[16];
	size_t i;

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
	printf("                 ---- hot (accessed) ---- ---------- idle --------\n");
	printf("round      ws      4K      2M      1G      4K      2M      1G    hole%s\n",
	       r->cols ? "  heat map" : "");
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
	printf("%5u %7s %7s %7s %7s %7s %7s %7s %7s", r->rounds, sz[0], sz[1], sz[2],
	       sz[3], sz[4], sz[5], sz[6], sz[7]);
	if (r->cols) {
		printf("  ");
		print_heat(r);
	}
	putchar('\n');
}

static void print_round_json(struct run *r, uint64_t ws, double t, double scan_s)
{
	const struct pass *p = &r->pass;
	unsigned int st, s, i;

	printf("{\"round\":%u,\"time\":%.3f,\"pid\":%d,\"mode\":\"%s\",\"window\":%u",
	       r->rounds, t, (int)r->o->pid, r->o->peek ? "peek" : "clear", r->o->k);
	printf(",\"ws_bytes\":%llu", (unsigned long long)ws);
	for (st = NR_STATES; st-- > 0; ) {
		printf(",\"%s_bytes\":{", state_name[st]);
		for (s = 0; s < NR_SIZES; s++)
			printf("\"%s\":%llu,", size_name[s], (unsigned long long)p->bytes[st][s]);
		printf("\"total\":%llu}", (unsigned long long)pass_state_bytes(p, st));
	}
	printf(",\"covered_bytes\":%llu,\"records\":%zu,\"scan_seconds\":%.6f",
	       (unsigned long long)pass_covered(p), p->nrec, scan_s);
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

	printf("pid=%d mode=%s interval=%.3f window=%u ws_bytes=%llu", (int)r->o->pid,
	       r->o->peek ? "peek" : "clear", r->o->interval, r->o->k,
	       (unsigned long long)ws);
	for (st = NR_STATES; st-- > 0; ) {
		for (s = 0; s < NR_SIZES; s++)
			printf(" %s_%s=%llu", state_name[st], size_name[s],
			       (unsigned long long)p->bytes[st][s]);
		printf(" %s_bytes=%llu", state_name[st],
		       (unsigned long long)pass_state_bytes(p, st));
	}
	printf(" covered_bytes=%llu records=%zu scan_seconds=%.6f\n",
	       (unsigned long long)pass_covered(p), p->nrec, scan_s);
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

static void no_vm(const struct run *r)
{
	if (r->o->range)
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
			prog, (int)r->o->pid);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct run r;
	bool primed = false, done = false;
	double t0, t, ts;
	int ret, status = 0;
	struct sigaction sa;

	parse_args(argc, argv, &o);
	memset(&r, 0, sizeof(r));
	r.o = &o;
	r.src.fd = -1;
	r.src.clear = !o.peek;
	r.src.lo = o.lo;
	r.src.hi = o.hi;
	r.src.use_ioctl = o.range;
	if (ws_init(&r.ws, o.k))
		return 2;

	if (o.file) {
		ret = replay_load(&r.src.rp, o.file);
		if (ret == -EBADMSG) {
			fprintf(stderr, "%s: %s: not a recording (size is not a multiple of 8)\n",
				prog, o.file);
			status = 1;
			goto out;
		} else if (ret) {
			fprintf(stderr, "%s: cannot read %s: %s\n", prog, o.file, strerror(-ret));
			status = 1;
			goto out;
		}
		if (o.pid)
			snprintf(r.what, sizeof(r.what), "PID %d (replayed)", (int)o.pid);
		else
			snprintf(r.what, sizeof(r.what), "recording %.70s", o.file);
	} else {
		r.src.fd = open_idle_bitmap(o.pid, !o.peek);
		snprintf(r.what, sizeof(r.what), "PID %d", (int)o.pid);
	}
	r.src.cap = READ_RECORDS;
	r.src.buf = xcalloc(r.src.cap, sizeof(*r.src.buf));
	if (o.record) {
		r.src.record = fopen(o.record, "w");
		r.src.record_path = o.record;
		if (!r.src.record) {
			fprintf(stderr, "%s: cannot create %s: %s\n", prog, o.record,
				strerror(errno));
			status = 1;
			goto out;
		}
	}
	r.cols = term_columns(&o);
	r.color = o.color == 1 || (o.color < 0 && isatty(STDOUT_FILENO));
	r.acc = xcalloc(r.cols + o.svg_columns, sizeof(*r.acc));
	r.mapped = xcalloc(r.cols + o.svg_columns, sizeof(*r.mapped));
	r.svg.cols = o.svg_columns;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	/* The priming pass clears what accumulated before we started. */
	if (!o.peek && o.prime) {
		ret = source_pass(&r.src, &r.pass);
		if (ret < 0) {
			report_pass_error(&r.src, &o, ret);
			status = 1;
			goto out;
		}
		if (ret > 0 || !r.pass.ev.nr) {
			no_vm(&r);
			status = 1;
			goto out;
		}
		layout_build(&r.layout, &r.pass.ev);
		primed = true;
	}

	t0 = now();
	while (!stopping() && !done && (!o.rounds || r.rounds < o.rounds)) {
		uint64_t ws;

		if (primed || r.rounds) {
			if (!sleep_until(t0 + (r.rounds + primed) * o.interval))
				break;
		}
		ts = now();
		ret = source_pass(&r.src, &r.pass);
		t = now();
		if (ret > 0) {
			if (!r.rounds && !primed) {
				no_vm(&r);
				status = 1;
				goto out;
			}
			if (!o.json && !o.once)
				printf("end of recording after %u round(s)\n", r.rounds);
			break;
		}
		if (ret < 0) {
			report_pass_error(&r.src, &o, ret);
			status = 1;
			break;
		}
		if (!r.pass.ev.nr) {
			if (!r.rounds && !primed) {
				no_vm(&r);
				status = 1;
				goto out;
			}
			if (r.src.fd >= 0 && !process_alive(o.pid)) {
				fprintf(stderr, "%s: PID %d exited after %u round(s)\n",
					prog, (int)o.pid, r.rounds);
				status = 1;
				break;
			}
		}
		if (!r.layout.nr)
			layout_build(&r.layout, &r.pass.ev);
		r.rounds++;
		ws = ws_push(&r.ws, &r.pass.ev);
		if (r.rounds == 1 || ws < r.ws_min)
			r.ws_min = ws;
		if (ws > r.ws_max)
			r.ws_max = ws;
		r.ws_sum += ws;
		if (r.cols)
			heat_row(&r.layout, &r.pass.ev, r.cols, r.acc, r.mapped);
		if (o.once) {
			print_round_once(&r, ws, t - ts);
		} else if (o.json) {
			print_round_json(&r, ws, t - t0, t - ts);
		} else {
			if (r.rounds == 1)
				print_header(&r);
			print_round_text(&r, ws);
		}
		fflush(stdout);
		if (o.svg) {
			uint64_t *acc = r.acc + r.cols, *mapped = r.mapped + r.cols;

			heat_row(&r.layout, &r.pass.ev, o.svg_columns, acc, mapped);
			svg_hist_add(&r.svg, acc, mapped, r.layout.total, ws, t - t0);
		}
	}

	if (!o.json && !o.once && r.rounds > 1) {
		char a[16], b[16], c[16];

		printf("%u rounds: working set min %s, mean %s, max %s\n", r.rounds,
		       fmt_size(a, sizeof(a), r.ws_min),
		       fmt_size(b, sizeof(b), r.ws_sum / r.rounds),
		       fmt_size(c, sizeof(c), r.ws_max));
	}
	if (o.svg && r.rounds) {
		ret = svg_write(o.svg, &r.svg, &r.layout, r.what, &o);
		if (ret) {
			fprintf(stderr, "%s: cannot write %s: %s\n", prog, o.svg, strerror(-ret));
			status = 1;
		} else if (!o.json && !o.once) {
			printf("heat map image: %s\n", o.svg);
		}
	}
out:
	if (r.src.record && fclose(r.src.record)) {
		fprintf(stderr, "%s: cannot write %s\n", prog, o.record);
		status = 1;
	}
	if (r.src.fd >= 0)
		close(r.src.fd);
	free(r.src.buf);
	free(r.src.rp.rec);
	free(r.pass.ev.ext);
	free(r.acc);
	free(r.mapped);
	free(r.svg.cell);
	free(r.svg.ws);
	free(r.svg.t);
	ws_free(&r.ws);
	layout_free(&r.layout);
	return status;
}
