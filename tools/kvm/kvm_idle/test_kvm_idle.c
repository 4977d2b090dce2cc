// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for kvm_idle: the shared record decoder (idle_bitmap_decode.h)
 * on valid and malformed streams, the tool's aggregation (totals per page
 * size, working set over the last k rounds, heat map buckets) on synthetic
 * record streams, and the tool itself run on recordings (--file).
 *
 * Output is TAP; the exit status is nonzero if any test failed.  No KVM, no
 * /proc/PID/idle_bitmap and no privileges are needed.  The tool's binary is
 * taken from $KVM_IDLE, or ./kvm_idle.
 */
#define main kvm_idle_main
#include "kvm_idle.c"
#undef main

#include <sys/wait.h>

#define MK_ADDR(a)		IDLE_BITMAP_MK_ADDR((uint64_t)(a) >> IBD_PAGE_SHIFT)
#define MK_RUN(t, s, n)		IDLE_BITMAP_MK_RUN(IDLE_BITMAP_TYPE_##t, IDLE_BITMAP_SIZE_##s, n)
#define MIXED_TYPE		(IDLE_BITMAP_TYPE_MIXED << IDLE_BITMAP_TYPE_SHIFT)
#define MIB			(1024ULL * 1024)
#define GIB			(1024 * MIB)
#define BASE			0x7f0000000000ULL
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

static unsigned int tap_nr, tap_failed;

static void ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	tap_nr++;
	if (!cond)
		tap_failed++;
	printf("%sok %u - ", cond ? "" : "not ", tap_nr);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* A MIXED record from a string of page states: 'h', 'i' or 'a'. */
static uint64_t mixed(const char *pages)
{
	uint64_t r = MIXED_TYPE;
	unsigned int i, n = strlen(pages);

	for (i = 0; i < n; i++) {
		uint64_t st = pages[i] == 'a' ? IDLE_BITMAP_PAGE_ACCESSED :
			      pages[i] == 'i' ? IDLE_BITMAP_PAGE_IDLE : IDLE_BITMAP_PAGE_HOLE;

		r |= st << (2 * i);
	}
	return r | ((uint64_t)n << IDLE_BITMAP_MIXED_COUNT_SHIFT);
}

struct got {
	struct ibd_extent ext[64];
	unsigned int nr;
	unsigned int stop_at;	/* return 42 at this callback (1-based) */
};

static int got_cb(const struct ibd_extent *e, void *arg)
{
	struct got *g = arg;

	if (g->nr < ARRAY_SIZE(g->ext))
		g->ext[g->nr] = *e;
	g->nr++;
	if (g->stop_at && g->nr == g->stop_at)
		return 42;
	return 0;
}

static bool ext_is(const struct got *g, unsigned int i, uint64_t addr,
		   uint64_t npages, unsigned int state, unsigned int size)
{
	const struct ibd_extent *e = &g->ext[i];

	return i < g->nr && e->addr == addr && e->npages == npages &&
	       e->state == state && e->size == size;
}

static void test_decode_valid(void)
{
	uint64_t rec[] = {
		MK_ADDR(BASE),
		MK_RUN(HOLE, 4K, 3),
		MK_RUN(IDLE, 4K, 509),		/* now 2M aligned */
		MK_RUN(ACCESSED, 2M, 2),
		MK_RUN(IDLE, 2M, 1),
		mixed("aaih"),
		MK_ADDR(BASE + GIB),
		MK_RUN(ACCESSED, 1G, 1),
		MK_RUN(IDLE, 1G, 2),
		MK_ADDR(BASE + 8 * GIB),	/* an ADDR at the end is allowed */
	};
	struct got g = { .nr = 0 };
	uint64_t next = 0;
	size_t bad = 99;
	int ret;

	ret = ibd_decode(rec, ARRAY_SIZE(rec), got_cb, &g, &next, &bad);
	ok(ret == 0 && g.nr == 9, "decode: valid stream decodes (ret %d, %u extents)", ret, g.nr);
	ok(ext_is(&g, 0, BASE, 3, IBD_HOLE, 0) &&
	   ext_is(&g, 1, BASE + 3 * 4096, 509, IBD_IDLE, 0) &&
	   ext_is(&g, 2, BASE + 2 * MIB, 1024, IBD_ACCESSED, 1) &&
	   ext_is(&g, 3, BASE + 6 * MIB, 512, IBD_IDLE, 1),
	   "decode: 4K and 2M runs give the right extents");
	ok(ext_is(&g, 4, BASE + 8 * MIB, 2, IBD_ACCESSED, 0) &&
	   ext_is(&g, 5, BASE + 8 * MIB + 8192, 1, IBD_IDLE, 0) &&
	   ext_is(&g, 6, BASE + 8 * MIB + 12288, 1, IBD_HOLE, 0),
	   "decode: MIXED expands into runs of equal state");
	ok(ext_is(&g, 7, BASE + GIB, 262144, IBD_ACCESSED, 2) &&
	   ext_is(&g, 8, BASE + 2 * GIB, 524288, IBD_IDLE, 2),
	   "decode: ADDR restarts the cursor; 1G runs");
	ok(next == BASE + 8 * GIB && bad == 99, "decode: next is the address after the stream");

	g.nr = 0;
	ret = ibd_decode(rec, 0, got_cb, &g, &next, NULL);
	ok(ret == 0 && g.nr == 0 && next == 0, "decode: an empty stream is valid and empty");

	g.nr = 0;
	g.stop_at = 3;
	ret = ibd_decode(rec, ARRAY_SIZE(rec), got_cb, &g, NULL, &bad);
	ok(ret == 42 && g.nr == 3 && bad == 3, "decode: callback's nonzero return stops it");

	ret = ibd_decode(rec, ARRAY_SIZE(rec), NULL, NULL, NULL, NULL);
	ok(ret == 0, "decode: works without a callback (validation only)");
}

struct bad_case {
	const char *what;
	uint64_t rec[4];
	unsigned int nrec, bad;
};

static void test_decode_malformed(void)
{
	const uint64_t lim = IBD_ADDR_LIMIT;
	const struct bad_case cases[] = {
		{ "type 0 first (zeroed buffer)", { 0 }, 1, 0 },
		{ "type 0 after ADDR", { MK_ADDR(BASE), 0 }, 2, 1 },
		{ "does not start with ADDR (run)", { MK_RUN(IDLE, 4K, 1) }, 1, 0 },
		{ "does not start with ADDR (MIXED)", { mixed("ai") }, 1, 0 },
		{ "HOLE run with count 0", { MK_ADDR(BASE), MK_RUN(HOLE, 4K, 0) }, 2, 1 },
		{ "IDLE run with count 0", { MK_ADDR(BASE), MK_RUN(IDLE, 2M, 0) }, 2, 1 },
		{ "ACCESSED run with count 0", { MK_ADDR(BASE), MK_RUN(ACCESSED, 1G, 0) }, 2, 1 },
		{ "reserved size class 3", { MK_ADDR(BASE),
		  IDLE_BITMAP_MK_RUN(IDLE_BITMAP_TYPE_IDLE, 3, 1) }, 2, 1 },
		{ "2M run at a 4K-aligned address", { MK_ADDR(BASE + 4096), MK_RUN(IDLE, 2M, 1) },
		  2, 1 },
		{ "2M run after 4K pages leave it unaligned", { MK_ADDR(BASE), MK_RUN(IDLE, 4K, 1),
		  MK_RUN(ACCESSED, 2M, 1) }, 3, 2 },
		{ "1G run at a 2M-aligned address", { MK_ADDR(BASE + 2 * MIB),
		  MK_RUN(ACCESSED, 1G, 1) }, 2, 1 },
		{ "MIXED count 0", { MK_ADDR(BASE), MIXED_TYPE }, 2, 1 },
		{ "MIXED count 25", { MK_ADDR(BASE), MIXED_TYPE |
		  (25ULL << IDLE_BITMAP_MIXED_COUNT_SHIFT) | 0x1 }, 2, 1 },
		{ "MIXED count 31", { MK_ADDR(BASE), MIXED_TYPE |
		  (31ULL << IDLE_BITMAP_MIXED_COUNT_SHIFT) }, 2, 1 },
		{ "MIXED reserved state 3 (page 0)", { MK_ADDR(BASE), mixed("hh") | 0x3 }, 2, 1 },
		{ "MIXED reserved state 3 (last page)", { MK_ADDR(BASE),
		  mixed("iiiiiiiiiiiiiiiiiiiiiiii") | (3ULL << 46) }, 2, 1 },
		{ "MIXED stray bit past its pages", { MK_ADDR(BASE), mixed("ia") | (1ULL << 4) },
		  2, 1 },
		{ "MIXED stray bit 47 with 23 pages", { MK_ADDR(BASE),
		  mixed("iiiiiiiiiiiiiiiiiiiiiii") | (1ULL << 47) }, 2, 1 },
		{ "MIXED stray bit 53", { MK_ADDR(BASE), mixed("a") | (1ULL << 53) }, 2, 1 },
		{ "MIXED stray bit 59", { MK_ADDR(BASE), mixed("a") | (1ULL << 59) }, 2, 1 },
		{ "ADDR at 2^57", { IDLE_BITMAP_MK_ADDR(lim >> 12) }, 1, 0 },
		{ "ADDR with all 60 bits set", { IDLE_BITMAP_MK_ADDR(~0ULL) }, 1, 0 },
		{ "4K run crossing 2^57", { MK_ADDR(lim - 4096), MK_RUN(IDLE, 4K, 2) }, 2, 1 },
		{ "4K run ending at 2^57 then more", { MK_ADDR(lim - 4096), MK_RUN(IDLE, 4K, 1),
		  MK_RUN(IDLE, 4K, 1) }, 3, 2 },
		{ "huge 1G count wraps", { MK_ADDR(0), MK_RUN(IDLE, 1G, IDLE_BITMAP_COUNT_MASK) },
		  2, 1 },
		{ "MIXED crossing 2^57", { MK_ADDR(lim - 4096), mixed("ii") }, 2, 1 },
	};
	unsigned int i, t;
	size_t bad;
	int ret;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct bad_case *c = &cases[i];
		struct got g = { .nr = 0 };

		bad = 99;
		ret = ibd_decode(c->rec, c->nrec, got_cb, &g, NULL, &bad);
		ok(ret == -EINVAL && bad == c->bad,
		   "malformed: %s -> -EINVAL at record %u (got %d at %zu)",
		   c->what, c->bad, ret, bad);
	}

	for (t = 6; t <= 15; t++) {
		uint64_t rec[2] = { MK_ADDR(BASE), (uint64_t)t << IDLE_BITMAP_TYPE_SHIFT | 1 };

		bad = 99;
		ret = ibd_decode(rec, 2, NULL, NULL, NULL, &bad);
		ok(ret == -EINVAL && bad == 1, "malformed: reserved type %u -> -EINVAL", t);
	}

	/* The largest legal values still pass. */
	{
		uint64_t rec[] = {
			MK_ADDR(lim - 2 * GIB), MK_RUN(IDLE, 1G, 2),
			MK_ADDR(lim - 4096 * 24), mixed("aaaaaaaaaaaaaaaaaaaaaaaa"),
		};

		ret = ibd_decode(rec, ARRAY_SIZE(rec), NULL, NULL, NULL, NULL);
		ok(ret == 0, "decode: runs ending exactly at 2^57 and 24-page MIXED are valid");
	}
}

/* Decode a stream into a pass, as the tool does. */
static int to_pass(struct pass *p, const uint64_t *rec, size_t nrec, uint64_t lo, uint64_t hi)
{
	pass_reset(p, lo, hi);
	return ibd_decode(rec, nrec, pass_collect, p, NULL, NULL);
}

static void test_totals(void)
{
	const uint64_t rec[] = {
		MK_ADDR(BASE),
		MK_RUN(HOLE, 4K, 16),
		mixed("aaaiiih"),		/* 3 accessed, 3 idle, 1 hole */
		MK_RUN(ACCESSED, 4K, 489),	/* to the 2M boundary */
		MK_RUN(ACCESSED, 2M, 3),
		MK_RUN(IDLE, 2M, 5),
		MK_ADDR(BASE + 4 * GIB),
		MK_RUN(IDLE, 1G, 1),
		MK_RUN(ACCESSED, 1G, 2),
		MK_RUN(IDLE, 4K, 10),
	};
	struct pass p = { .lo = 0 };
	int ret;

	ret = to_pass(&p, rec, ARRAY_SIZE(rec), 0, ADDR_END);
	ok(!ret, "totals: stream decodes");
	ok(p.bytes[IBD_ACCESSED][0] == 492 * 4096 &&
	   p.bytes[IBD_ACCESSED][1] == 6 * MIB &&
	   p.bytes[IBD_ACCESSED][2] == 2 * GIB,
	   "totals: hot bytes per page size (4K %llu, 2M %llu, 1G %llu)",
	   (unsigned long long)p.bytes[IBD_ACCESSED][0],
	   (unsigned long long)p.bytes[IBD_ACCESSED][1],
	   (unsigned long long)p.bytes[IBD_ACCESSED][2]);
	ok(p.bytes[IBD_IDLE][0] == 13 * 4096 && p.bytes[IBD_IDLE][1] == 10 * MIB &&
	   p.bytes[IBD_IDLE][2] == GIB, "totals: idle bytes per page size");
	ok(p.bytes[IBD_HOLE][0] == 17 * 4096 && !p.bytes[IBD_HOLE][1] && !p.bytes[IBD_HOLE][2],
	   "totals: hole bytes");
	ok(pass_covered(&p) == 2 * MIB + 16 * MIB + 3 * GIB + 40960,
	   "totals: covered = hot + idle + hole");
	ok(p.ev.nr == 10 && p.ev.ext[1].npages == 3 && p.ev.ext[4].npages == 489,
	   "totals: one extent per uniform stretch (%zu extents)", p.ev.nr);
	{
		const uint64_t m[] = { MK_ADDR(BASE), mixed("iiaa"), mixed("aaii"),
				       MK_RUN(IDLE, 4K, 2) };

		to_pass(&p, m, ARRAY_SIZE(m), 0, ADDR_END);
		ok(p.ev.nr == 3 && p.ev.ext[1].npages == 4 && p.ev.ext[2].npages == 4,
		   "totals: adjacent extents of one state and size merge");
	}

	/* Only [BASE + 2M + 4K, BASE + 4G + 1G + 8K) */
	ret = to_pass(&p, rec, ARRAY_SIZE(rec), BASE + 2 * MIB + 4096, BASE + 5 * GIB + 8192);
	ok(!ret && p.bytes[IBD_ACCESSED][1] == 6 * MIB - 4096 && p.bytes[IBD_IDLE][1] == 10 * MIB &&
	   p.bytes[IBD_IDLE][2] == GIB && p.bytes[IBD_ACCESSED][2] == 8192 &&
	   !p.bytes[IBD_HOLE][0] && !p.bytes[IBD_ACCESSED][0] && !p.bytes[IBD_IDLE][0],
	   "totals: --range clips extents to the range");
	free(p.ev.ext);
}

/* A pass with accessed pages [a, b) in 4K pages from BASE, the rest idle. */
static void hot_pass(struct pass *p, uint64_t a, uint64_t b, uint64_t total)
{
	uint64_t rec[4];
	size_t n = 0;

	rec[n++] = MK_ADDR(BASE);
	if (a)
		rec[n++] = MK_RUN(IDLE, 4K, a);
	if (b > a)
		rec[n++] = MK_RUN(ACCESSED, 4K, b - a);
	if (total > b)
		rec[n++] = MK_RUN(IDLE, 4K, total - b);
	to_pass(p, rec, n, 0, ADDR_END);
}

static void test_working_set(void)
{
	struct ws_window w1, w2, w3;
	struct pass p = { .lo = 0 };
	uint64_t ws1, ws2, ws3;

	ok(ws_init(&w1, 0) == -EINVAL, "ws: window 0 is rejected");
	ws_init(&w1, 1);
	ws_init(&w2, 2);
	ws_init(&w3, 3);

	hot_pass(&p, 0, 100, 1000);
	ws1 = ws_push(&w1, &p.ev);
	ws2 = ws_push(&w2, &p.ev);
	ws3 = ws_push(&w3, &p.ev);
	ok(ws1 == 100 * 4096 && ws2 == ws1 && ws3 == ws1, "ws: round 1, all windows see 100 pages");

	hot_pass(&p, 50, 150, 1000);
	ws1 = ws_push(&w1, &p.ev);
	ws2 = ws_push(&w2, &p.ev);
	ws3 = ws_push(&w3, &p.ev);
	ok(ws1 == 100 * 4096, "ws: k=1 is the last round only");
	ok(ws2 == 150 * 4096 && ws3 == 150 * 4096, "ws: k=2,3 take the union of overlapping sets");

	hot_pass(&p, 500, 600, 1000);
	ws1 = ws_push(&w1, &p.ev);
	ws2 = ws_push(&w2, &p.ev);
	ws3 = ws_push(&w3, &p.ev);
	ok(ws1 == 100 * 4096 && ws2 == 200 * 4096 && ws3 == 250 * 4096,
	   "ws: disjoint sets add up (k=1 %llu, k=2 %llu, k=3 %llu pages)",
	   (unsigned long long)ws1 / 4096, (unsigned long long)ws2 / 4096,
	   (unsigned long long)ws3 / 4096);

	hot_pass(&p, 0, 0, 1000);
	ws1 = ws_push(&w1, &p.ev);
	ws2 = ws_push(&w2, &p.ev);
	ws3 = ws_push(&w3, &p.ev);
	ok(ws1 == 0 && ws2 == 100 * 4096 && ws3 == 200 * 4096,
	   "ws: old rounds leave the window");

	hot_pass(&p, 0, 0, 1000);
	ws_push(&w2, &p.ev);
	ws_push(&w3, &p.ev);
	ws3 = ws_push(&w3, &p.ev);
	ok(ws_push(&w2, &p.ev) == 0 && ws3 == 0, "ws: an idle guest ends with 0");

	/* Huge pages count in full. */
	{
		const uint64_t rec[] = { MK_ADDR(BASE), MK_RUN(ACCESSED, 2M, 3), mixed("aia") };

		to_pass(&p, rec, ARRAY_SIZE(rec), 0, ADDR_END);
		ok(ws_push(&w1, &p.ev) == 6 * MIB + 8192, "ws: 2M pages count 2M each");
	}
	ws_free(&w1);
	ws_free(&w2);
	ws_free(&w3);
	free(p.ev.ext);
}

static void test_heat_map(void)
{
	/* Two 4 MiB ranges with a gap: 8 MiB of axis, 8 buckets of 1 MiB. */
	const uint64_t rec[] = {
		MK_ADDR(BASE),
		MK_RUN(ACCESSED, 4K, 256),	/* bucket 0: all */
		MK_RUN(IDLE, 4K, 256),		/* bucket 1: idle */
		MK_RUN(ACCESSED, 4K, 128),	/* bucket 2: half */
		MK_RUN(IDLE, 4K, 128),
		MK_RUN(HOLE, 4K, 256),		/* bucket 3: holes only */
		MK_ADDR(BASE + GIB),
		MK_RUN(ACCESSED, 2M, 1),	/* buckets 4, 5 */
		MK_RUN(IDLE, 4K, 255),		/* bucket 6: 1 hot page, 255 idle */
		MK_RUN(ACCESSED, 4K, 1),
		MK_RUN(HOLE, 4K, 128),		/* bucket 7: half hole, half idle */
		MK_RUN(IDLE, 4K, 128),
	};
	uint64_t acc[8], mapped[8], a3[3], m3[3];
	unsigned int lv[8], i;
	struct layout l = { 0 };
	struct pass p = { .lo = 0 };
	bool all = true;
	char row[9];

	to_pass(&p, rec, ARRAY_SIZE(rec), 0, ADDR_END);
	layout_build(&l, &p.ev);
	ok(l.nr == 2 && l.total == 8 * MIB && l.seg[1].start == BASE + GIB &&
	   l.seg[1].off == 4 * MIB, "heat: layout lays the covered ranges end to end");

	heat_row(&l, &p.ev, 8, acc, mapped);
	for (i = 0; i < 8; i++) {
		lv[i] = heat_level(acc[i], mapped[i], MIB);
		row[i] = heat_ascii[lv[i]];
	}
	row[8] = 0;
	ok(acc[0] == MIB && acc[1] == 0 && acc[2] == MIB / 2 && acc[3] == 0 &&
	   acc[4] == MIB && acc[5] == MIB && acc[6] == 4096 && acc[7] == 0,
	   "heat: accessed bytes per bucket");
	ok(mapped[0] == MIB && mapped[3] == 0 && mapped[7] == MIB / 2,
	   "heat: mapped bytes per bucket exclude holes");
	ok(!strcmp(row, "@.+ @@-."),
	   "heat: shades ' ' unmapped, '.' idle, '-' a little, '+' half, '@' all ('%s')", row);

	/* Buckets that do not divide the axis evenly still cover all of it. */
	heat_row(&l, &p.ev, 3, a3, m3);
	ok(a3[0] + a3[1] + a3[2] == 3 * MIB + MIB / 2 + 4096 &&
	   heat_bound(l.total, 3, 3) == l.total && heat_bound(l.total, 3, 0) == 0,
	   "heat: uneven buckets conserve bytes");
	for (i = 0; i < 2000; i++) {
		uint64_t x = (uint64_t)i * 4099 % l.total;
		unsigned int b = ((__uint128_t)x * 7) / l.total;

		if (!(heat_bound(l.total, 7, b) <= x && x < heat_bound(l.total, 7, b + 1)))
			all = false;
	}
	ok(all, "heat: an address falls in the bucket its bounds say");

	/* A later pass with memory outside the layout: not drawn, no crash. */
	{
		const uint64_t rec2[] = { MK_ADDR(BASE - GIB), MK_RUN(ACCESSED, 1G, 1),
					  MK_RUN(ACCESSED, 4K, 512) };

		to_pass(&p, rec2, ARRAY_SIZE(rec2), 0, ADDR_END);
		heat_row(&l, &p.ev, 8, acc, mapped);
		ok(acc[0] == 2 * MIB / 2 && acc[1] == MIB && acc[2] == 0 && mapped[4] == 0,
		   "heat: only the part inside the layout is drawn");
	}
	ok(heat_level(1, 1, MIB) == 2 && heat_level(MIB, MIB, MIB) == 9 &&
	   heat_level(MIB / 8, MIB, MIB) == 2 && heat_level(MIB / 8 + 1, MIB, MIB) == 3 &&
	   heat_level(0, 0, MIB) == 0 && heat_level(0, 5, MIB) == 1,
	   "heat: levels are ceil(8 * fraction)");
	layout_free(&l);
	free(p.ev.ext);
}

static void test_parsers(void)
{
	uint64_t lo, hi;
	char buf[16];
	double d;

	ok(!parse_range("0x7f0000000000-0x7f0040000000", &lo, &hi) &&
	   lo == BASE && hi == BASE + GIB, "parse: START-END");
	ok(!parse_range("0x7f0000000000+1G", &lo, &hi) && hi == BASE + GIB, "parse: START+SIZE");
	ok(parse_range("0x1001-0x2000", &lo, &hi) == -EINVAL, "parse: unaligned range rejected");
	ok(parse_range("0x2000-0x1000", &lo, &hi) == -ERANGE, "parse: empty range rejected");
	ok(parse_range("0-0x400000000000000", &lo, &hi) == -ERANGE, "parse: range past 2^57");
	ok(parse_range("4096", &lo, &hi) == -EINVAL, "parse: lone address rejected");
	ok(!parse_interval("0.25", &d) && d == 0.25 && parse_interval("-1", &d) &&
	   parse_interval("1s", &d), "parse: intervals");
	ok(!strcmp(fmt_size(buf, sizeof(buf), 0), "0") &&
	   !strcmp(fmt_size(buf, sizeof(buf), 4096), "4.0K") &&
	   !strcmp(fmt_size(buf, sizeof(buf), 64 * MIB), "64.0M") &&
	   !strcmp(fmt_size(buf, sizeof(buf), 1023 * MIB + 900 * 1024), "1023.9M") &&
	   !strcmp(fmt_size(buf, sizeof(buf), 1024 * MIB - 1), "1.0G") &&
	   !strcmp(fmt_size(buf, sizeof(buf), 3 * GIB / 2), "1.5G"),
	   "fmt_size: 0, 4.0K, 64.0M, 1023.9M, 1.0G, 1.5G");
}

static char tmpdir[64];

static const char *tmp_path(const char *name)
{
	static char path[4][256];
	static unsigned int n;
	char *p = path[n++ % 4];

	snprintf(p, 256, "%s/%s", tmpdir, name);
	return p;
}

/* Write passes of records, each ended by a zero word (--record's format). */
static void write_recording(const char *name, const uint64_t *rec, size_t nrec)
{
	FILE *f = fopen(tmp_path(name), "w");

	if (!f || fwrite(rec, 8, nrec, f) != nrec || fclose(f)) {
		printf("Bail out! cannot write %s\n", tmp_path(name));
		exit(1);
	}
}

/*
 * Run the tool with the arguments that follow, up to a NULL; its stdout and
 * stderr go to out (NUL-terminated).  Returns its exit status.
 */
static int run_tool(char *out, size_t len, ...)
{
	const char *bin = getenv("KVM_IDLE") ? getenv("KVM_IDLE") : "./kvm_idle";
	const char *log = tmp_path("out.txt");
	const char *argv[32];
	unsigned int i = 0;
	int status, fd;
	va_list ap;
	ssize_t n;
	pid_t pid;

	argv[i++] = bin;
	va_start(ap, len);
	while (i < 31 && (argv[i] = va_arg(ap, const char *)))
		i++;
	va_end(ap);
	argv[i] = NULL;
	fflush(stdout);
	pid = fork();
	if (!pid) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(bin, (char **)argv);
		fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	out[0] = 0;
	fd = open(log, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, out, len - 1);
		out[n > 0 ? n : 0] = 0;
		close(fd);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static unsigned int count_str(const char *s, const char *needle)
{
	unsigned int n = 0;

	while ((s = strstr(s, needle))) {
		n++;
		s += strlen(needle);
	}
	return n;
}

static void test_tool(void)
{
	/* Priming pass, then three rounds: 16, 32 and 0 MiB of 64 hot. */
	const uint64_t rec[] = {
		MK_ADDR(BASE), MK_RUN(ACCESSED, 4K, 16384), 0,
		MK_ADDR(BASE), MK_RUN(ACCESSED, 4K, 4096), MK_RUN(IDLE, 4K, 12288), 0,
		MK_ADDR(BASE), MK_RUN(IDLE, 4K, 4096), MK_RUN(ACCESSED, 2M, 16),
		MK_RUN(IDLE, 2M, 8), 0,
		MK_ADDR(BASE), MK_RUN(IDLE, 4K, 16384), 0,
	};
	const uint64_t empty[] = { 0 };
	const uint64_t bad[] = { MK_ADDR(BASE), MK_RUN(IDLE, 4K, 1), mixed("ai") | 3ULL << 54, 0 };
	char out[65536];
	int ret;
	char rec_file[256], empty_file[256], bad_file[256];

	write_recording("rec.bin", rec, ARRAY_SIZE(rec));
	write_recording("empty.bin", empty, 0);
	write_recording("bad.bin", bad, ARRAY_SIZE(bad));
	snprintf(rec_file, sizeof(rec_file), "%s", tmp_path("rec.bin"));
	snprintf(empty_file, sizeof(empty_file), "%s", tmp_path("empty.bin"));
	snprintf(bad_file, sizeof(bad_file), "%s", tmp_path("bad.bin"));

	ret = run_tool(out, sizeof(out), "--help", NULL);
	ok(ret == 0 && strstr(out, "Usage: kvm_idle") && strstr(out, "--json"),
	   "tool: --help prints usage, exits 0");

	ret = run_tool(out, sizeof(out), "--bogus", NULL);
	ok(ret == 2, "tool: unknown option exits 2");
	ret = run_tool(out, sizeof(out), NULL);
	ok(ret == 2 && strstr(out, "PID"), "tool: missing PID exits 2 and says so");

	ret = run_tool(out, sizeof(out), "--json", "--file", rec_file, NULL);
	ok(ret == 0 && count_str(out, "\"round\":") == 3, "tool: --json prints one line per round");
	ok(strstr(out, "\"round\":1,") && strstr(out, "\"ws_bytes\":16777216") &&
	   strstr(out, "\"ws_bytes\":33554432,") && strstr(out, "\"ws_bytes\":0,"),
	   "tool: --json working sets 16M, 32M, 0");
	ok(strstr(out, "\"accessed_bytes\":{\"4K\":0,\"2M\":33554432,\"1G\":0,") &&
	   strstr(out, "\"idle_bytes\":{\"4K\":16777216,\"2M\":16777216,\"1G\":0,"),
	   "tool: --json per page size totals");

	ret = run_tool(out, sizeof(out), "--json", "-k", "3", "--file", rec_file, NULL);
	ok(ret == 0 && strstr(out, "\"ws_bytes\":16777216,") &&
	   count_str(out, "\"ws_bytes\":50331648,") == 2,
	   "tool: -k 3 working sets 16M, 48M, 48M (the union of the rounds)");

	ret = run_tool(out, sizeof(out), "--no-prime", "--once", "--file", rec_file, NULL);
	ok(ret == 0 && strstr(out, "ws_bytes=67108864 ") && count_str(out, "\n") == 1,
	   "tool: --once --no-prime prints one key=value line for the first pass");

	ret = run_tool(out, sizeof(out), "-w", "16", "--color=never", "--svg", tmp_path("h.svg"),
		       "--file", rec_file, NULL);
	ok(ret == 0 && strstr(out, "|@@@@............|") && strstr(out, "|................|"),
	   "tool: ASCII heat map rows");
	ok(strstr(out, "   32.0M       0   32.0M       0   16.0M   16.0M       0       0"),
	   "tool: text table per page size");
	{
		char svg[65536];
		int fd = open(tmp_path("h.svg"), O_RDONLY);
		ssize_t n = fd >= 0 ? read(fd, svg, sizeof(svg) - 1) : -1;

		svg[n > 0 ? n : 0] = 0;
		if (fd >= 0)
			close(fd);
		ok(n > 0 && !strncmp(svg, "<?xml", 5) && strstr(svg, "</svg>") &&
		   count_str(svg, "<g id=\"r") == 3, "tool: --svg writes a 3-row SVG");
	}

	ret = run_tool(out, sizeof(out), "--color=always", "-w", "8", "--file", rec_file, NULL);
	ok(ret == 0 && strstr(out, "\033[48;5;"), "tool: --color=always uses ANSI colours");

	ret = run_tool(out, sizeof(out), "--json", "--range", "0x7f0000000000+16M",
		       "--file", rec_file, NULL);
	ok(ret == 0 && strstr(out, "\"covered_bytes\":16777216") &&
	   !strstr(out, "\"covered_bytes\":67108864"), "tool: --range limits the report");

	ret = run_tool(out, sizeof(out), "--file", empty_file, NULL);
	ok(ret == 1 && strstr(out, "has no KVM guest memory mapped"),
	   "tool: no records in the first pass -> explains, exits 1");
	ret = run_tool(out, sizeof(out), "--file", empty_file, "4242", NULL);
	ok(ret == 1 && strstr(out, "PID 4242 has no KVM guest memory mapped ") &&
	   strstr(out, " (no VM, or its memslots are not set up yet)\n"),
	   "tool: no VM message names the PID");

	ret = run_tool(out, sizeof(out), "--file", bad_file, NULL);
	ok(ret == 1 && strstr(out, "malformed record stream: record 2"),
	   "tool: malformed stream -> says which record, exits 1");

	ret = run_tool(out, sizeof(out), "--file", tmp_path("none"), NULL);
	ok(ret == 1 && strstr(out, "No such file"), "tool: missing recording -> error");

	/* Record a replay and replay the recording: same passes. */
	ret = run_tool(out, sizeof(out), "--json", "--record", tmp_path("again.bin"),
		       "--file", rec_file, NULL);
	{
		char out2[65536];
		const char *again = tmp_path("again.bin");

		ret |= run_tool(out2, sizeof(out2), "--json", "--file", again, NULL);
		ok(ret == 0 && count_str(out2, "\"round\":") == 3 &&
		   strstr(out2, "\"ws_bytes\":33554432,"), "tool: --record output replays");
	}

	/* A PID that cannot exist. */
	ret = run_tool(out, sizeof(out), "2147483647", NULL);
	ok(ret == 1 && strstr(out, "no process with PID 2147483647"),
	   "tool: nonexistent PID -> says so, exits 1");

	/*
	 * Our own PID has no VM: on a kernel with the file that is the "no VM"
	 * message, on one without it the "no idle_bitmap support" message.
	 */
	{
		char pid[16];

		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		ret = run_tool(out, sizeof(out), "--peek", "-n", "1", pid, NULL);
		ok(ret == 1 && (strstr(out, "has no KVM guest memory mapped") ||
				strstr(out, "CONFIG_KVM_PROC_IDLE_BITMAP") ||
				strstr(out, "Permission denied")),
		   "tool: a process without a VM -> explains, exits 1");
	}
}

static void cleanup(void)
{
	static const char * const names[] = {
		"rec.bin", "empty.bin", "bad.bin", "again.bin", "h.svg", "out.txt",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		unlink(tmp_path(names[i]));
	rmdir(tmpdir);
}

int main(void)
{
	printf("TAP version 13\n");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_kvm_idle.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_decode_valid();
	test_decode_malformed();
	test_totals();
	test_working_set();
	test_heat_map();
	test_parsers();
	test_tool();
	cleanup();
	printf("1..%u\n", tap_nr);
	printf("# %u passed, %u failed\n", tap_nr - tap_failed, tap_failed);
	return tap_failed ? 1 : 0;
}
