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

#include "test_tap.h"

#define MK_ADDR(a)		IDLE_BITMAP_MK_ADDR((uint64_t)(a) >> IBD_PAGE_SHIFT)
#define MK_RUN(t, s, n)		IDLE_BITMAP_MK_RUN(IDLE_BITMAP_TYPE_##t, IDLE_BITMAP_SIZE_##s, n)
#define MIXED_TYPE		(IDLE_BITMAP_TYPE_MIXED << IDLE_BITMAP_TYPE_SHIFT)
#define MIB			(1024ULL * 1024)
#define GIB			(1024 * MIB)
#define BASE			0x7f0000000000ULL
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

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

/* Settings for the next run_tool() only; it clears them. */
static struct {
	const char *argv0;	/* argv[0] instead of the binary's path */
	const char *env[4];	/* "NAME=VALUE" to set, "NAME" to unset */
	bool pty;		/* stdout and stderr on a pseudo-terminal */
} run_opts;

/* Open a pseudo-terminal pair; false (and a diagnostic) if there is none. */
static bool open_pty(int *master, int *slave)
{
	*slave = -1;
	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master >= 0 && !grantpt(*master) && !unlockpt(*master))
		*slave = open(ptsname(*master), O_RDWR | O_NOCTTY);
	if (*slave < 0) {
		printf("# no pseudo-terminal: %s\n", strerror(errno));
		if (*master >= 0)
			close(*master);
		return false;
	}
	return true;
}

#define MAX_ARGS	31

/*
 * Run the tool with the arguments in args[], up to a NULL (at most
 * MAX_ARGS); its stdout and stderr go to out (NUL-terminated).  Returns its
 * exit status, -1 if it could not be run.
 */
static int run_toolv(char *out, size_t len, const char * const *args)
{
	const char *bin = getenv("KVM_IDLE") ? getenv("KVM_IDLE") : "./kvm_idle";
	const char *log = tmp_path("out.txt");
	const char *argv[MAX_ARGS + 1];
	unsigned int i = 0;
	int status, fd, master = -1, slave = -1;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	argv[i++] = run_opts.argv0 ? run_opts.argv0 : bin;
	while (i < MAX_ARGS && (argv[i] = args[i - 1]))
		i++;
	argv[i] = NULL;
	out[0] = 0;
	if (run_opts.pty && !open_pty(&master, &slave)) {
		memset(&run_opts, 0, sizeof(run_opts));
		return -1;
	}
	fflush(stdout);
	pid = fork();
	if (!pid) {
		for (i = 0; i < ARRAY_SIZE(run_opts.env) && run_opts.env[i]; i++) {
			if (strchr(run_opts.env[i], '='))
				putenv((char *)run_opts.env[i]);
			else
				unsetenv(run_opts.env[i]);
		}
		fd = slave >= 0 ? slave : open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(bin, (char **)argv);
		fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	memset(&run_opts, 0, sizeof(run_opts));
	if (master >= 0) {
		/* Until the child, the last holder of the slave, is gone: EIO. */
		close(slave);
		while (pid > 0 && got < len - 1) {
			n = read(master, out + got, len - 1 - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += n;
		}
		out[got] = 0;
		close(master);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	if (master < 0) {
		fd = open(log, O_RDONLY);
		if (fd >= 0) {
			n = read(fd, out, len - 1);
			out[n > 0 ? n : 0] = 0;
			close(fd);
		}
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* run_toolv() with the arguments that follow, up to a NULL. */
static int run_tool(char *out, size_t len, ...)
{
	const char *args[MAX_ARGS + 1];
	unsigned int i = 0;
	va_list ap;

	va_start(ap, len);
	while (i < MAX_ARGS && (args[i] = va_arg(ap, const char *)))
		i++;
	va_end(ap);
	args[i] = NULL;
	return run_toolv(out, len, args);
}

/* The contents of a file, NUL-terminated, in buf; its length or -1. */
static ssize_t read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	buf[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	return n;
}

/* The first line of s, at most 60 characters, for a test's description. */
static const char *first_line(const char *s)
{
	static char buf[61];

	snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(s, "\n"), s);
	return buf;
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

/* Every "timestamp" is now, to the second, with 3 decimals; how many there are. */
static unsigned int timestamps_ok(const char *out, unsigned int *bad)
{
	double t0 = time(NULL);
	const char *p = out;
	unsigned int n = 0;
	char *end;

	*bad = 0;
	while ((p = strstr(p, "\"timestamp\":"))) {
		const char *dot;
		double t;

		p += strlen("\"timestamp\":");
		t = strtod(p, &end);
		dot = memchr(p, '.', end - p);
		if (t < t0 - 60 || t > t0 + 60 || !dot || end - dot != 4)
			(*bad)++;
		n++;
		p = end;
	}
	return n;
}

/* Defects found by trying the tool as a new user would, one test each. */
static void test_tool_usage(void)
{
	/* A priming pass, round 1, then a pass cut off before its zero word. */
	const uint64_t cut[] = {
		MK_ADDR(BASE), MK_RUN(ACCESSED, 4K, 16384), 0,
		MK_ADDR(BASE), MK_RUN(ACCESSED, 4K, 4096), MK_RUN(IDLE, 4K, 12288), 0,
		MK_ADDR(BASE), MK_RUN(IDLE, 4K, 100),
	};
	/* One pass as `dd if=/proc/PID/idle_bitmap` writes it: no zero word. */
	const uint64_t one[] = {
		MK_ADDR(BASE), MK_RUN(ACCESSED, 4K, 4096), MK_RUN(IDLE, 4K, 12288),
	};
	const uint64_t one_z[] = { MK_ADDR(BASE), MK_RUN(ACCESSED, 4K, 4096), 0 };
	char out[65536], rec_file[256], cut_file[256], one_file[256], one_z_file[256];
	char bin[PATH_MAX], src[300];
	const char *b = getenv("KVM_IDLE") ? getenv("KVM_IDLE") : "./kvm_idle";
	unsigned int bad, n;
	int ret;

	write_recording("cut.bin", cut, ARRAY_SIZE(cut));
	write_recording("one.bin", one, ARRAY_SIZE(one));
	write_recording("one_z.bin", one_z, ARRAY_SIZE(one_z));
	snprintf(rec_file, sizeof(rec_file), "%s", tmp_path("rec.bin"));
	snprintf(cut_file, sizeof(cut_file), "%s", tmp_path("cut.bin"));
	snprintf(one_file, sizeof(one_file), "%s", tmp_path("one.bin"));
	snprintf(one_z_file, sizeof(one_z_file), "%s", tmp_path("one_z.bin"));

	/* 1. --once --json is one JSON object. */
	ret = run_tool(out, sizeof(out), "--once", "--json", "--file", rec_file, NULL);
	ok(ret == 0 && out[0] == '{' && count_str(out, "\n") == 1 &&
	   strstr(out, "}\n") && strstr(out, "\"round\":1,") &&
	   strstr(out, "\"ws_bytes\":16777216,") && !strstr(out, "ws_bytes="),
	   "tool: --once --json prints one JSON object (got '%s')", first_line(out));

	/* 2. A one-pass recording is one round, not a priming pass. */
	ret = run_tool(out, sizeof(out), "--json", "--file", one_file, NULL);
	ok(ret == 0 && count_str(out, "\"round\":") == 1 &&
	   strstr(out, "\"ws_bytes\":16777216,"),
	   "tool: a one-pass recording (dd) is reported as one round (exit %d, '%s')",
	   ret, first_line(out));
	ret = run_tool(out, sizeof(out), "--file", one_z_file, NULL);
	ok(ret == 0 && strstr(out, "end of recording after 1 round(s)"),
	   "tool: a one-pass recording with its zero word is one round (exit %d)", ret);

	/* 3. A recording cut off in the middle of a pass. */
	ret = run_tool(out, sizeof(out), "--json", "--file", cut_file, NULL);
	ok(ret == 1 && count_str(out, "\"round\":") == 1 &&
	   strstr(out, "warning: ") && strstr(out, "pass 3 ") && strstr(out, "truncated"),
	   "tool: a truncated last pass -> warns naming pass 3, reports 1 round, exits 1 (exit %d, %u rounds)",
	   ret, count_str(out, "\"round\":"));

	/* 4. --once with -n. */
	ret = run_tool(out, sizeof(out), "--once", "-n", "3", "--file", rec_file, NULL);
	ok(ret == 2 && strstr(out, "--once") && strstr(out, "-n"),
	   "tool: --once -n 3 -> usage error naming both, exit 2 (exit %d)", ret);
	ret = run_tool(out, sizeof(out), "--rounds=2", "-1", "--file", rec_file, NULL);
	ok(ret == 2 && strstr(out, "--once") && strstr(out, "--rounds"),
	   "tool: --rounds=2 -1 -> usage error too (exit %d)", ret);

	/* 5. JSON of a replay without a PID. */
	snprintf(src, sizeof(src), "\"source\":\"%s\"", rec_file);
	ret = run_tool(out, sizeof(out), "--json", "--file", rec_file, NULL);
	ok(ret == 0 && count_str(out, "\"pid\":null,") == 3 && count_str(out, src) == 3,
	   "tool: replay without PID -> \"pid\":null and \"source\" in JSON ('%s')",
	   first_line(out));
	ret = run_tool(out, sizeof(out), "--json", "--file", rec_file, "4242", NULL);
	ok(ret == 0 && count_str(out, "\"pid\":4242,") == 3,
	   "tool: replay with PID -> \"pid\":4242");

	/* 6. --color=auto on a terminal: NO_COLOR and TERM=dumb turn it off. */
	run_opts.pty = true;
	run_opts.env[0] = "TERM=xterm";
	run_opts.env[1] = "NO_COLOR";
	ret = run_tool(out, sizeof(out), "-w", "8", "--file", rec_file, NULL);
	if (ret < 0) {
		ok(true, "# SKIP tool: --color=auto tests need a pseudo-terminal");
	} else {
		ok(ret == 0 && strstr(out, "\033[48;5;"), "tool: --color=auto colours a terminal");
		run_opts.pty = true;
		run_opts.env[0] = "TERM=xterm";
		run_opts.env[1] = "NO_COLOR=1";
		ret = run_tool(out, sizeof(out), "-w", "8", "--file", rec_file, NULL);
		ok(ret == 0 && strstr(out, "|@@") && !strstr(out, "\033["),
		   "tool: --color=auto with NO_COLOR=1 -> no colour");
		run_opts.pty = true;
		run_opts.env[0] = "TERM=xterm";
		run_opts.env[1] = "NO_COLOR=";
		ret = run_tool(out, sizeof(out), "-w", "8", "--file", rec_file, NULL);
		ok(ret == 0 && strstr(out, "\033[48;5;"),
		   "tool: an empty NO_COLOR does not disable colour");
		run_opts.pty = true;
		run_opts.env[0] = "TERM=dumb";
		run_opts.env[1] = "NO_COLOR";
		ret = run_tool(out, sizeof(out), "-w", "8", "--file", rec_file, NULL);
		ok(ret == 0 && strstr(out, "|@@") && !strstr(out, "\033["),
		   "tool: --color=auto with TERM=dumb -> no colour");
		run_opts.pty = true;
		run_opts.env[0] = "TERM=dumb";
		run_opts.env[1] = "NO_COLOR=1";
		ret = run_tool(out, sizeof(out), "--color=always", "-w", "8", "--file", rec_file,
			       NULL);
		ok(ret == 0 && strstr(out, "\033[48;5;"),
		   "tool: --color=always overrides NO_COLOR and TERM=dumb");
	}

	/* 7. Messages name the program by its basename. */
	if (!realpath(b, bin))
		snprintf(bin, sizeof(bin), "%s", b);
	run_opts.argv0 = bin;
	ret = run_tool(out, sizeof(out), "--bogus", NULL);
	ok(ret == 2 && !strncmp(out, "kvm_idle: ", 10) && !strstr(out, "/kvm_idle"),
	   "tool: run as %s, messages start 'kvm_idle: ' (got '%s')", bin, first_line(out));
	run_opts.argv0 = bin;
	ret = run_tool(out, sizeof(out), "-i", "x", "1", NULL);
	ok(ret == 2 && !strncmp(out, "kvm_idle: bad interval", 22) && !strstr(out, "/kvm_idle"),
	   "tool: usage errors use the basename too");

	/* 8. -i 0 only with --file. */
	ret = run_tool(out, sizeof(out), "-i", "0", "2147483647", NULL);
	ok(ret == 2 && strstr(out, "interval"),
	   "tool: -i 0 for a live PID -> usage error, exit 2 (exit %d, '%s')", ret,
	   first_line(out));
	ret = run_tool(out, sizeof(out), "-i", "0", "--json", "--file", rec_file, NULL);
	ok(ret == 0 && count_str(out, "\"round\":") == 3, "tool: -i 0 with --file is fine");

	/* 9. Every JSON object has a wall-clock timestamp. */
	ret = run_tool(out, sizeof(out), "--json", "--file", rec_file, NULL);
	n = timestamps_ok(out, &bad);
	ok(ret == 0 && n == 3 && !bad,
	   "tool: --json has \"timestamp\" (now, 3 decimals) in every object (%u, %u bad)",
	   n, bad);
	ret = run_tool(out, sizeof(out), "--once", "--json", "--file", rec_file, NULL);
	n = timestamps_ok(out, &bad);
	ok(ret == 0 && n == 1 && !bad, "tool: --once --json has \"timestamp\" too");
}

/* The value of attribute name in the element that starts at el; -1 if none. */
static long svg_attr(const char *el, const char *name)
{
	char key[32];
	const char *end = strchr(el, '>'), *p;

	snprintf(key, sizeof(key), " %s=\"", name);
	p = strstr(el, key);
	if (!p || !end || p > end)
		return -1;
	return strtol(p + strlen(key), NULL, 10);
}

static void test_svg(void)
{
	/* Two ranges of 4 MiB, 1 GiB apart: a priming pass and two rounds. */
	const uint64_t rec[] = {
		MK_ADDR(BASE), MK_RUN(IDLE, 4K, 1024),
		MK_ADDR(BASE + GIB), MK_RUN(IDLE, 4K, 1024), 0,
		MK_ADDR(BASE), MK_RUN(ACCESSED, 4K, 1024), MK_ADDR(BASE + GIB),
		MK_RUN(IDLE, 4K, 512), MK_RUN(HOLE, 4K, 512), 0,
		MK_ADDR(BASE), MK_RUN(ACCESSED, 4K, 128), MK_RUN(IDLE, 4K, 896),
		MK_ADDR(BASE + GIB), MK_RUN(ACCESSED, 4K, 1024), 0,
	};
	char out[4096], svg[262144], label[64];
	const char *line, *r1, *leg, *lab, *p, *end;
	long x1, x2, y1, y2, left, top, right, bottom, prev;
	bool levels = true;
	unsigned int i;
	int ret;

	write_recording("two.bin", rec, ARRAY_SIZE(rec));
	ret = run_tool(out, sizeof(out), "--json", "--svg", tmp_path("two.svg"), "--svg-columns",
		       "64", "--file", tmp_path("two.bin"), NULL);
	ok(ret == 0 && read_text(tmp_path("two.svg"), svg, sizeof(svg)) > 0 &&
	   count_str(svg, "<g id=\"r") == 2, "svg: a 2-range recording renders 2 rows");

	/* The map's extent, from the cells of the first and last rows. */
	r1 = strstr(svg, "<g id=\"r1\"><rect");
	left = r1 ? svg_attr(r1 + 11, "x") : -1;
	top = r1 ? svg_attr(r1 + 11, "y") : -1;
	p = strstr(svg, "<g id=\"r2\"><rect");
	bottom = p ? svg_attr(p + 11, "y") + svg_attr(p + 11, "height") : -1;
	/* The row's last rect is its working-set bar; the one before ends the map. */
	right = -1;
	end = r1 ? strstr(r1, "</g>") : NULL;
	for (p = r1, prev = -1; p && (p = strstr(p + 1, "<rect")) && p < end; ) {
		right = prev;
		prev = svg_attr(p, "x") + svg_attr(p, "width");
	}

	line = strstr(svg, "<line class=\"memslot\"");
	x1 = line ? svg_attr(line, "x1") : -1;
	x2 = line ? svg_attr(line, "x2") : -1;
	y1 = line ? svg_attr(line, "y1") : -1;
	y2 = line ? svg_attr(line, "y2") : -1;
	ok(line && count_str(svg, "<line class=\"memslot\"") == 1 && x1 == x2 &&
	   x1 == (left + right) / 2 && y1 <= top && y2 >= bottom,
	   "svg: one memslot boundary line down the map, halfway (x %ld of %ld..%ld, y %ld..%ld of %ld..%ld)",
	   x1, left, right, y1, y2, top, bottom);
	snprintf(label, sizeof(label), ">0x%llx</text>", BASE + GIB);
	lab = strstr(svg, label);
	while (lab && lab > svg && strncmp(lab, "<text", 5))
		lab--;
	ok(lab && svg_attr(lab, "x") == x1 && strstr(svg, ">0x7f0000000000</text>"),
	   "svg: the boundary is labelled with the range's start address");

	leg = strstr(svg, "<g id=\"legend\"");
	for (i = 1; i <= 8; i++) {
		snprintf(label, sizeof(label), ">%u/8", i);
		if (!leg || !strstr(leg, label))
			levels = false;
	}
	ok(leg && strstr(leg, ">unmapped<") && strstr(leg, ">idle<") && levels &&
	   strstr(leg, "working set") && strstr(leg, "</g>"),
	   "svg: legend with unmapped, idle, 1/8..8/8 accessed and the working-set bar");
}

#define ANN_MAGIC	(0xfULL << 60 | 0x4e554d41ULL)	/* kvm_idle.c's ANNOT_MAGIC */
#define ANN(a, node)	((uint64_t)(a) | ((node) + 1))

/*
 * NUMA annotations: two ranges of 4 MiB, 1 GiB apart, a priming pass and two
 * rounds; after round 1 all of it is on node 0, after round 2 the upper half
 * of the second range is on node 1.
 */
static void test_numa(void)
{
#define P0	MK_ADDR(BASE), MK_RUN(IDLE, 4K, 1024), MK_ADDR(BASE + GIB), \
		MK_RUN(IDLE, 4K, 1024), 0
#define P1	MK_ADDR(BASE), MK_RUN(ACCESSED, 4K, 1024), MK_ADDR(BASE + GIB), \
		MK_RUN(IDLE, 4K, 1024), 0
#define P2	MK_ADDR(BASE), MK_RUN(ACCESSED, 4K, 128), MK_RUN(IDLE, 4K, 896), \
		MK_ADDR(BASE + GIB), MK_RUN(ACCESSED, 4K, 1024), 0
#define A1	ANN_MAGIC, ANN(BASE, 0), BASE + 4 * MIB, ANN(BASE + GIB, 0), BASE + GIB + 4 * MIB, 0
#define A2	ANN_MAGIC, ANN(BASE, 0), BASE + 4 * MIB, ANN(BASE + GIB, 0), BASE + GIB + 2 * MIB, \
		ANN(BASE + GIB + 2 * MIB, 1), BASE + GIB + 4 * MIB, 0
	const uint64_t plain[] = { P0, P1, P2 };
	const uint64_t annot[] = { P0, P1, A1, P2, A2 };
	const uint64_t bad0[] = { P0, P1, ANN_MAGIC, BASE, BASE + 4 * MIB, 0, P2 };
	const uint64_t bad_end[] = { P0, P1, P2, ANN_MAGIC, ANN(BASE, 0), BASE, 0 };
	const uint64_t bad_sort[] = { P0, P1, ANN_MAGIC, ANN(BASE + GIB, 0), BASE + GIB + 4 * MIB,
				      ANN(BASE, 0), BASE + 4 * MIB, 0, P2 };
	const uint64_t cut[] = { P0, P1, A1, P2, ANN_MAGIC, ANN(BASE, 0) };
	char out[65536], out2[65536], svg[262144], label[64];
	const char *line, *lab, *leg;
	long x;
	int ret, ret2;

	write_recording("numa_plain.bin", plain, ARRAY_SIZE(plain));
	write_recording("numa.bin", annot, ARRAY_SIZE(annot));
	write_recording("numa_bad.bin", bad0, ARRAY_SIZE(bad0));

	ret = run_tool(out, sizeof(out), "--json", "--file", tmp_path("numa_plain.bin"), NULL);
	ret2 = run_tool(out2, sizeof(out2), "--json", "--file", tmp_path("numa.bin"), NULL);
	ok(ret == 0 && ret2 == 0 && count_str(out, "\"round\":") == 2 &&
	   count_str(out2, "\"round\":") == 2 && strstr(out2, "\"ws_bytes\":4194304,") &&
	   strstr(out2, "\"ws_bytes\":4718592,") && !strstr(out, "\"nodes\""),
	   "numa: annotations are not passes: the same 2 rounds as without (exit %d, %d)",
	   ret, ret2);
	ok(strstr(out2, "\"nodes\":{\"0\":8388608}") &&
	   strstr(out2, "\"nodes\":{\"0\":6291456,\"1\":2097152}"),
	   "numa: --json nodes: 8M on node 0, then 6M on node 0 and 2M on node 1");
	ret = run_tool(out, sizeof(out), "--once", "--file", tmp_path("numa.bin"), NULL);
	ok(ret == 0 && strstr(out, " node0_bytes=8388608\n") && !strstr(out, "node1_bytes"),
	   "numa: --once node0_bytes=8388608 (exit %d)", ret);
	/* The same file name, for the same header. */
	write_recording("numa_txt.bin", annot, ARRAY_SIZE(annot));
	ret = run_tool(out, sizeof(out), "-w", "16", "--color=never", "--file",
		       tmp_path("numa_txt.bin"), NULL);
	write_recording("numa_txt.bin", plain, ARRAY_SIZE(plain));
	ret2 = run_tool(out2, sizeof(out2), "-w", "16", "--color=never", "--file",
			tmp_path("numa_txt.bin"), NULL);
	ok(ret == 0 && ret2 == 0 && !strcmp(out, out2),
	   "numa: the text table is the same with and without annotations");

	ret = run_tool(out, sizeof(out), "--json", "--svg", tmp_path("numa.svg"), "--svg-columns",
		       "64", "--file", tmp_path("numa.bin"), NULL);
	ok(ret == 0 && read_text(tmp_path("numa.svg"), svg, sizeof(svg)) > 0 &&
	   count_str(svg, "<g id=\"r") == 2 && strstr(svg, "<rect class=\"node\"") &&
	   strstr(svg, "fill=\"#2ca02c\"/>") && strstr(svg, "fill=\"#9467bd\"/>"),
	   "svg: node strips in node 0's and node 1's colours");
	/* 64 columns of 8 px from x 70: node 1 starts at column 48. */
	line = strstr(svg, "<line class=\"numa\"");
	x = line ? svg_attr(line, "x1") : -1;
	ok(line && count_str(svg, "<line class=\"numa\"") == 1 && x == 70 + 48 * 8,
	   "svg: one numa boundary, at x %ld (want %d)", x, 70 + 48 * 8);
	snprintf(label, sizeof(label), ">node 1</text>");
	lab = strstr(svg, label);
	while (lab && lab > svg && strncmp(lab, "<text", 5))
		lab--;
	ok(lab && svg_attr(lab, "x") == x, "svg: the numa boundary is labelled 'node 1'");
	leg = strstr(svg, "<g id=\"node-legend\"");
	ok(leg && strstr(leg, ">node 0</text>") && strstr(leg, ">node 1</text>") &&
	   !strstr(leg, ">unknown<"), "svg: legend entries node 0 and node 1");

	ret = run_tool(out, sizeof(out), "--json", "--svg", tmp_path("numa.svg"), "--svg-columns",
		       "64", "--file", tmp_path("numa_plain.bin"), NULL);
	ok(ret == 0 && read_text(tmp_path("numa.svg"), svg, sizeof(svg)) > 0 &&
	   !strstr(svg, "class=\"numa\"") && !strstr(svg, "class=\"node") &&
	   !strstr(svg, "node-legend") &&
	   !strstr(svg, ">node "), "svg: without annotations no node strip, boundary or legend");

	/* Replayed with --record, the annotations are recorded again. */
	ret = run_tool(out, sizeof(out), "--json", "--record", tmp_path("numa_again.bin"),
		       "--file", tmp_path("numa.bin"), NULL);
	ret |= run_tool(out2, sizeof(out2), "--json", "--file", tmp_path("numa_again.bin"), NULL);
	ok(ret == 0 && count_str(out2, "\"round\":") == 2 &&
	   strstr(out2, "\"nodes\":{\"0\":6291456,\"1\":2097152}"),
	   "numa: --record of a replay keeps the annotations");

	ret = run_tool(out, sizeof(out), "--file", tmp_path("numa_bad.bin"), NULL);
	ok(ret == 1 && strstr(out, "bad annotation chunk after pass 2: word 11 ") &&
	   strstr(out, "node field is 0") && !strstr(out, "round"),
	   "numa: node field 0 -> names the chunk and word, exit 1 (exit %d): %s", ret,
	   first_line(out));
	write_recording("numa_bad.bin", bad_end, ARRAY_SIZE(bad_end));
	ret = run_tool(out, sizeof(out), "--file", tmp_path("numa_bad.bin"), NULL);
	ok(ret == 1 && strstr(out, "bad annotation chunk after pass 3: word 18 ") &&
	   strstr(out, "end <= start"), "numa: end <= start -> exit 1 (exit %d): %s", ret,
	   first_line(out));
	write_recording("numa_bad.bin", bad_sort, ARRAY_SIZE(bad_sort));
	ret = run_tool(out, sizeof(out), "--file", tmp_path("numa_bad.bin"), NULL);
	ok(ret == 1 && strstr(out, "bad annotation chunk after pass 2: word 13 ") &&
	   strstr(out, "not sorted"), "numa: unsorted stretches -> exit 1 (exit %d): %s", ret,
	   first_line(out));
	write_recording("numa_bad.bin", annot + 10, ARRAY_SIZE(annot) - 10);
	ret = run_tool(out, sizeof(out), "--file", tmp_path("numa_bad.bin"), NULL);
	ok(ret == 1 && strstr(out, "before any pass"),
	   "numa: an annotation before any pass -> exit 1 (exit %d): %s", ret, first_line(out));
	write_recording("numa_bad.bin", cut, ARRAY_SIZE(cut));
	ret = run_tool(out, sizeof(out), "--json", "--file", tmp_path("numa_bad.bin"), NULL);
	ok(ret == 1 && count_str(out, "\"round\":") == 2 &&
	   strstr(out, "annotation chunk after pass 3 is truncated") &&
	   count_str(out, "\"nodes\"") == 1,
	   "numa: a cut-off last annotation is left out with a warning, exit 1 (exit %d)", ret);
#undef P0
#undef P1
#undef P2
#undef A1
#undef A2
}

/* PIDs above pid_max (at most 2^22): no such process can exist. */
#define NO_PID		"2147483647"
#define NO_PID2		"2147483646"

struct usage_case {
	const char *what;
	const char *args[8];
	const char *msg[3];	/* what the message must contain */
};

/* The usage rules of the multi-VM, --ages, --prom and --place options. */
static void test_tool_usage_rules(void)
{
	const uint64_t rec[] = {
		MK_ADDR(BASE), MK_RUN(IDLE, 4K, 256), 0,
		MK_ADDR(BASE), MK_RUN(ACCESSED, 4K, 256), 0,
	};
	char out[65536], rec_file[256], svg[256];
	const struct usage_case cases[] = {
		{ "--place with --peek", { "--place=1", "--peek", NO_PID },
		  { "--place", "--peek" } },
		{ "--place with --once", { "--place=1", "--once", NO_PID },
		  { "--place", "--once" } },
		{ "--place with --file", { "--place=1", "--file", rec_file },
		  { "--place", "--file" } },
		{ "--dry-run without --place", { "--dry-run", NO_PID },
		  { "--dry-run", "--place" } },
		{ "--cold-age without --place", { "--cold-age=3", NO_PID },
		  { "--cold-age", "--place" } },
		{ "--rate without --place", { "--rate=100", NO_PID }, { "--rate", "--place" } },
		{ "--fast-budget without --place", { "--fast-budget=64G", NO_PID },
		  { "--fast-budget", "--place" } },
		{ "--dry-run without --place, with --file", { "--dry-run", "--file", rec_file },
		  { "--dry-run", "--place" } },
		{ "--all with a PID", { "--all", NO_PID }, { "--all", "PID" } },
		{ "--file with --all", { "--all", "--file", rec_file }, { "--file", "--all" } },
		{ "--file with two PIDs", { "--file", rec_file, NO_PID, NO_PID2 },
		  { "--file", "one PID" } },
		{ "--svg with two PIDs", { "--svg", svg, NO_PID, NO_PID2 },
		  { "--svg", "one PID" } },
		{ "--record with two PIDs", { "--record", svg, NO_PID, NO_PID2 },
		  { "--record", "one PID" } },
		{ "--range with two PIDs", { "--range", "0x7f0000000000+16M", NO_PID, NO_PID2 },
		  { "--range", "one PID" } },
		{ "--svg with --all", { "--all", "--svg", svg }, { "--svg", "one VM" } },
		{ "--ages descending", { "--ages=5,1", NO_PID },
		  { "--ages", "'5,1'", "ascending" } },
		{ "--ages with a repeat", { "--ages=1,5,5", NO_PID }, { "--ages", "'1,5,5'" } },
		{ "--ages=0", { "--ages=0", NO_PID }, { "--ages", "'0'" } },
		{ "--ages with a 0", { "--ages=0,5", NO_PID }, { "--ages", "'0,5'" } },
		{ "--ages with 9 thresholds", { "--ages=1,2,3,4,5,6,7,8,9", NO_PID },
		  { "--ages", "up to 8" } },
		{ "--ages empty", { "--ages=", NO_PID }, { "--ages" } },
		{ "--ages=1,,2", { "--ages=1,,2", NO_PID }, { "--ages", "'1,,2'" } },
		{ "--ages=1,", { "--ages=1,", NO_PID }, { "--ages", "'1,'" } },
		{ "--ages=x", { "--ages=x", NO_PID }, { "--ages", "'x'" } },
		{ "--place=1:1 (one node twice)", { "--place=1:1", NO_PID },
		  { "--place", "'1:1'", "different" } },
		{ "--place=0 (the default fast node 0 twice)", { "--place=0", NO_PID },
		  { "--place", "'0'" } },
		{ "--place=x", { "--place=x", NO_PID }, { "--place", "'x'" } },
		{ "--place=1:", { "--place=1:", NO_PID }, { "--place", "'1:'" } },
		{ "--place=-1", { "--place=-1", NO_PID }, { "--place", "'-1'" } },
		{ "--place=1:2:3", { "--place=1:2:3", NO_PID }, { "--place", "'1:2:3'" } },
		{ "--place=1,2", { "--place=1,2", NO_PID }, { "--place", "'1,2'" } },
		{ "--place=1024", { "--place=1024", NO_PID }, { "--place", "'1024'" } },
		{ "--place empty", { "--place=", NO_PID }, { "--place" } },
		{ "--fast-budget=lots", { "--place=1", "--fast-budget=lots", NO_PID },
		  { "--fast-budget", "'lots'" } },
		{ "--fast-budget=-1", { "--place=1", "--fast-budget=-1", NO_PID },
		  { "--fast-budget", "'-1'" } },
		{ "--fast-budget=64X", { "--place=1", "--fast-budget=64X", NO_PID },
		  { "--fast-budget", "'64X'" } },
		{ "--fast-budget=64GB", { "--place=1", "--fast-budget=64GB", NO_PID },
		  { "--fast-budget", "'64GB'" } },
		{ "--fast-budget past 2^64", { "--place=1", "--fast-budget=16777216T", NO_PID },
		  { "--fast-budget" } },
		{ "--cold-age=0", { "--place=1", "--cold-age=0", NO_PID },
		  { "--cold-age", "'0'" } },
		{ "--rate=0", { "--place=1", "--rate=0", NO_PID }, { "--rate", "'0'" } },
		{ "--rate=-5", { "--place=1", "--rate=-5", NO_PID }, { "--rate", "'-5'" } },
		{ "a PID given twice", { NO_PID, NO_PID }, { "PID " NO_PID " given twice" } },
		{ "a PID given twice, not in a row", { NO_PID, NO_PID2, NO_PID },
		  { "PID " NO_PID " given twice" } },
	};
	unsigned int i, j;
	int ret;

	write_recording("rules.bin", rec, ARRAY_SIZE(rec));
	snprintf(rec_file, sizeof(rec_file), "%s", tmp_path("rules.bin"));
	snprintf(svg, sizeof(svg), "%s", tmp_path("rules.svg"));

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct usage_case *c = &cases[i];
		bool named = true;

		ret = run_toolv(out, sizeof(out), c->args);
		for (j = 0; j < ARRAY_SIZE(c->msg) && c->msg[j]; j++)
			if (!strstr(out, c->msg[j]))
				named = false;
		ok(ret == 2 && named && !strncmp(out, "kvm_idle: ", 10) &&
		   strstr(out, "Try 'kvm_idle --help'"),
		   "usage: %s -> exit 2, naming %s%s%s (exit %d, '%s')", c->what, c->msg[0],
		   c->msg[1] ? " and " : "", c->msg[1] ? c->msg[1] : "", ret, first_line(out));
	}
	ok(access(svg, F_OK), "usage: a refused --svg/--record creates no file");

	/* What the rules allow gets past them: to the missing process (exit 1). */
	ret = run_tool(out, sizeof(out), "--place=2:1", "--cold-age=3", "--rate=0.5",
		       "--fast-budget=64G", "--dry-run", NO_PID, NULL);
	ok(ret == 1 && strstr(out, "no process with PID " NO_PID),
	   "usage: --place=2:1 --cold-age --rate --fast-budget --dry-run are accepted (exit %d, '%s')",
	   ret, first_line(out));
	ret = run_tool(out, sizeof(out), NO_PID, NO_PID2, NULL);
	ok(ret == 1 && strstr(out, "no process with PID " NO_PID),
	   "usage: two different PIDs are accepted (exit %d, '%s')", ret, first_line(out));
	ret = run_tool(out, sizeof(out), "--once", "--ages=1,2,3,4,5,6,7,8", "--file", rec_file,
		       NULL);
	ok(ret == 0 && strstr(out, " idle_1r_bytes=") && strstr(out, " idle_8r_bytes=0\n"),
	   "usage: --ages takes up to 8 thresholds (exit %d)", ret);
	ret = run_tool(out, sizeof(out), "--json", "--ages=1000000", "--file", rec_file, NULL);
	ok(ret == 0 && strstr(out, "\"idle_age_bytes\":{\"1000000\":0}"),
	   "usage: --ages up to 1000000 rounds (exit %d)", ret);
	ret = run_tool(out, sizeof(out), "--ages=1000001", "--file", rec_file, NULL);
	ok(ret == 2 && strstr(out, "bad --ages '1000001'"), "usage: --ages=1000001 is too many");
}

/* The lines of out that contain s, in turn: the n-th (from 0) or NULL. */
static const char *nth_line_with(const char *out, const char *s, unsigned int n)
{
	const char *p = out;

	while ((p = strstr(p, s))) {
		if (!n--) {
			while (p > out && p[-1] != '\n')
				p--;
			return p;
		}
		p += strlen(s);
	}
	return NULL;
}

/* Line l (from the start of a line) contains s before its end. */
static bool line_has(const char *l, const char *s)
{
	const char *p = l ? strstr(l, s) : NULL;

	return p && !memchr(l, '\n', p - l);
}

/*
 * Hotness over time, on a recording whose pages have known idle streaks:
 * after the priming pass, three rounds over
 *   F  [BASE, +2M)       one 2M page, idle in all three rounds   (age 1, 2, 3)
 *   A  [+2M, +3M)        4K pages, idle in all three             (age 1, 2, 3)
 *   B  [+3M, +4M)        accessed in round 1, then idle          (0, 1, 2)
 *   C  [+4M, +5M)        accessed in rounds 1 and 2, then idle   (0, 0, 1)
 *   D  [+5M, +6M)        accessed in every round                 (0, 0, 0)
 *   E  [+6M, +7M)        holes: never idle
 * so bytes idle for at least 1, 2, 3 rounds are 3M, 0, 0 after round 1,
 * 4M, 3M, 0 after round 2 and 5M, 4M, 3M after round 3.
 */
static void test_ages(void)
{
	const uint64_t rec[] = {
		MK_ADDR(BASE), MK_RUN(IDLE, 2M, 1), MK_RUN(ACCESSED, 4K, 1024),
		MK_RUN(HOLE, 4K, 256), 0,
		MK_ADDR(BASE), MK_RUN(IDLE, 2M, 1), MK_RUN(IDLE, 4K, 256),
		MK_RUN(ACCESSED, 4K, 768), MK_RUN(HOLE, 4K, 256), 0,
		MK_ADDR(BASE), MK_RUN(IDLE, 2M, 1), MK_RUN(IDLE, 4K, 512),
		MK_RUN(ACCESSED, 4K, 512), MK_RUN(HOLE, 4K, 256), 0,
		MK_ADDR(BASE), MK_RUN(IDLE, 2M, 1), MK_RUN(IDLE, 4K, 768),
		MK_RUN(ACCESSED, 4K, 256), MK_RUN(HOLE, 4K, 256), 0,
	};
	char out[65536], prom[65536], f[256], pf[256], line[160];
	const char *l;
	DIR *d;
	struct dirent *de;
	bool left = false;
	int ret;

	write_recording("ages.bin", rec, ARRAY_SIZE(rec));
	snprintf(f, sizeof(f), "%s", tmp_path("ages.bin"));
	snprintf(pf, sizeof(pf), "%s", tmp_path("k.prom"));

	ret = run_tool(out, sizeof(out), "--json", "--ages=1,2,3", "--file", f, NULL);
	ok(ret == 0 && count_str(out, "\"round\":") == 3 &&
	   count_str(out, "\"name\":\"recording\",") == 3,
	   "ages: --json has \"name\", \"recording\" for a replay without a PID");
	l = nth_line_with(out, "\"round\":1,", 0);
	ok(line_has(l, "\"idle_age_bytes\":{\"1\":3145728,\"2\":0,\"3\":0}") &&
	   line_has(l, "\"ws_bytes\":3145728,"),
	   "ages: round 1: idle >= 1, 2, 3 rounds: 3M, 0, 0; ws 3M");
	l = nth_line_with(out, "\"round\":2,", 0);
	ok(line_has(l, "\"idle_age_bytes\":{\"1\":4194304,\"2\":3145728,\"3\":0}") &&
	   line_has(l, "\"ws_bytes\":2097152,"),
	   "ages: round 2: 4M, 3M, 0 (the 2M page and the 4K pages alike); ws 2M");
	l = nth_line_with(out, "\"round\":3,", 0);
	ok(line_has(l, "\"idle_age_bytes\":{\"1\":5242880,\"2\":4194304,\"3\":3145728}") &&
	   line_has(l, "\"hole_bytes\":{\"4K\":1048576,"),
	   "ages: round 3: 5M, 4M, 3M; the 1M of holes is never idle");

	ret = run_tool(out, sizeof(out), "--json", "--file", f, NULL);
	l = nth_line_with(out, "\"round\":3,", 0);
	ok(ret == 0 && line_has(l, "\"idle_age_bytes\":{\"1\":5242880,\"5\":0,\"30\":0}") &&
	   count_str(out, "\"idle_age_bytes\":{\"1\":") == 3,
	   "ages: the default thresholds are 1, 5, 30 rounds");

	ret = run_tool(out, sizeof(out), "--json", "--file", f, NO_PID, NULL);
	ok(ret == 0 && count_str(out, "\"pid\":" NO_PID ",\"name\":\"" NO_PID "\",") == 3,
	   "ages: a PID that names no process is named by its number");

	/* --once: one round, so nothing is idle for more than 1 round yet. */
	ret = run_tool(out, sizeof(out), "--once", "--file", f, NULL);
	ok(ret == 0 && count_str(out, "\n") == 1 && strstr(out, "pid=0 name=recording ") &&
	   strstr(out, " idle_1r_bytes=3145728 idle_5r_bytes=0 idle_30r_bytes=0\n"),
	   "ages: --once has name= and idle_1r_bytes=3145728 idle_5r_bytes=0 idle_30r_bytes=0 ('%s')",
	   first_line(out));
	ret = run_tool(out, sizeof(out), "--once", "--ages=1,2", "--file", f, NULL);
	ok(ret == 0 && strstr(out, " idle_1r_bytes=3145728 idle_2r_bytes=0\n") &&
	   !strstr(out, "idle_5r_bytes") && !strstr(out, "idle_30r_bytes"),
	   "ages: --ages=1,2 makes the keys idle_1r_bytes and idle_2r_bytes");
	ret = run_tool(out, sizeof(out), "--once", "--no-prime", "--ages=1,2", "--file", f, NULL);
	ok(ret == 0 && strstr(out, " ws_bytes=4194304 ") &&
	   strstr(out, " idle_1r_bytes=2097152 idle_2r_bytes=0\n"),
	   "ages: --once --no-prime reports the priming pass: 2M idle for 1 round");

	/* The text summary: what is idle now, for how long. */
	ret = run_tool(out, sizeof(out), "-w", "0", "--file", f, NULL);
	ok(ret == 0 && strstr(out, "\n3 rounds: working set min 1.0M, mean 2.0M, max 3.0M\n") &&
	   strstr(out, "\nidle now for at least 1 round: 5.0M, 5 rounds: 0, 30 rounds: 0\n"),
	   "ages: summary 'idle now for at least 1 round: 5.0M, 5 rounds: 0, 30 rounds: 0'");
	ret = run_tool(out, sizeof(out), "-w", "0", "--ages=1,2,3", "--file", f, NULL);
	ok(ret == 0 &&
	   strstr(out, "\nidle now for at least 1 round: 5.0M, 2 rounds: 4.0M, 3 rounds: 3.0M\n"),
	   "ages: --ages=1,2,3 in the summary too");

	/* --prom on a replay: the same numbers, written atomically. */
	ret = run_tool(out, sizeof(out), "--json", "--ages=1,2,3", "--prom", pf, "--file", f,
		       NULL);
	ok(ret == 0 && read_text(pf, prom, sizeof(prom)) > 0, "prom: --prom writes the file");
	ok(strstr(prom, "# TYPE kvm_idle_idle_bytes gauge\n") &&
	   strstr(prom, "kvm_idle_idle_bytes{"
			"vm=\"recording\",pid=\"0\",min_rounds=\"1\"} 5242880\n") &&
	   strstr(prom, "kvm_idle_idle_bytes{"
			"vm=\"recording\",pid=\"0\",min_rounds=\"3\"} 3145728\n"),
	   "prom: kvm_idle_idle_bytes of the last round, by min_rounds");
	ok(strstr(prom, "kvm_idle_working_set_bytes{"
			"vm=\"recording\",pid=\"0\",window=\"1\"} 1048576\n") &&
	   strstr(prom, "# TYPE kvm_idle_rounds_total counter\n") &&
	   strstr(prom, "kvm_idle_rounds_total{vm=\"recording\",pid=\"0\"} 3\n") &&
	   strstr(prom, "kvm_idle_guest_memory_bytes{"
			"vm=\"recording\",pid=\"0\",state=\"hole\",page_size=\"4K\"} 1048576\n") &&
	   strstr(prom, "kvm_idle_guest_memory_bytes{"
			"vm=\"recording\",pid=\"0\",state=\"idle\",page_size=\"2M\"} 2097152\n") &&
	   strstr(prom, "kvm_idle_scan_seconds{vm=\"recording\",pid=\"0\"} ") &&
	   strstr(prom, "\nkvm_idle_last_round_timestamp_seconds "),
	   "prom: working set, rounds, guest memory by state and page size, scan time, timestamp");
	ok(!strstr(prom, "kvm_idle_tier_bytes") && !strstr(prom, "kvm_idle_migrated_bytes_total"),
	   "prom: no placement metrics without --place");
	d = opendir(tmpdir);
	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, "k.prom.", 7))
			left = true;
	if (d)
		closedir(d);
	ok(d && !left, "prom: no temporary file is left behind");
	snprintf(line, sizeof(line), "%s/none/k.prom", tmpdir);
	ret = run_tool(out, sizeof(out), "--prom", line, "--file", f, NULL);
	ok(ret == 1 && strstr(out, "cannot write ") && strstr(out, "none/k.prom"),
	   "prom: an unwritable --prom is an error, exit 1 (exit %d)", ret);
}

/*
 * The working-set percentiles of the summary: ten rounds over 16 MiB whose
 * working sets are 3, 7, 1, 10, 5, 2, 9, 4, 8 and 6 MiB.  Nearest rank of
 * ten values: p50 is the 5th smallest, p90 the 9th, p99 the 10th.
 */
static void test_percentiles(void)
{
	static const unsigned int ws_mib[] = { 3, 7, 1, 10, 5, 2, 9, 4, 8, 6 };
	uint64_t rec[4 * (ARRAY_SIZE(ws_mib) + 1)];
	char out[65536];
	size_t n = 0;
	unsigned int i;
	int ret;

	rec[n++] = MK_ADDR(BASE);
	rec[n++] = MK_RUN(IDLE, 4K, 4096);
	rec[n++] = 0;
	for (i = 0; i < ARRAY_SIZE(ws_mib); i++) {
		rec[n++] = MK_ADDR(BASE);
		rec[n++] = MK_RUN(ACCESSED, 4K, 256 * ws_mib[i]);
		rec[n++] = MK_RUN(IDLE, 4K, 4096 - 256 * ws_mib[i]);
		rec[n++] = 0;
	}
	write_recording("pct.bin", rec, n);

	ret = run_tool(out, sizeof(out), "-w", "0", "--file", tmp_path("pct.bin"), NULL);
	ok(ret == 0 && strstr(out, "\n10 rounds: working set min 1.0M, mean 5.5M, max 10.0M\n"),
	   "percentiles: min 1.0M, mean 5.5M, max 10.0M (exit %d)", ret);
	ok(strstr(out, "\nworking set percentiles: p50 5.0M, p90 9.0M, p99 10.0M\n"),
	   "percentiles: 'working set percentiles: p50 5.0M, p90 9.0M, p99 10.0M'");
	/*
	 * At the end [0, 6M) was just accessed; [6M, 8M) was last accessed
	 * in round 9, [8M, 9M) in round 7, [9M, 10M) in round 4, [10M, 16M)
	 * never: idle for 1, 3, 6 and 10 rounds.
	 */
	ok(strstr(out, "\nidle now for at least 1 round: 10.0M, 5 rounds: 7.0M, 30 rounds: 0\n") !=
	   NULL, "percentiles: idle now for at least 1 round: 10.0M, 5 rounds: 7.0M");
	ret = run_tool(out, sizeof(out), "-w", "0", "-k", "2", "--file", tmp_path("pct.bin"),
		       NULL);
	/* -k 2: 3, 7, 7, 10, 10, 5, 9, 9, 8, 8 MiB. */
	ok(ret == 0 && strstr(out, "\nworking set percentiles: p50 8.0M, p90 10.0M, p99 10.0M\n"),
	   "percentiles: of the -k 2 working sets: p50 8.0M, p90 10.0M, p99 10.0M");
}

static void cleanup(void)
{
	static const char * const names[] = {
		"rec.bin", "empty.bin", "bad.bin", "again.bin", "h.svg", "out.txt",
		"cut.bin", "one.bin", "one_z.bin", "two.bin", "two.svg",
		"rules.bin", "rules.svg", "ages.bin", "k.prom", "pct.bin",
		"numa.bin", "numa_plain.bin", "numa_bad.bin", "numa.svg", "numa_again.bin",
		"numa_txt.bin",
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
	test_tool_usage();
	test_svg();
	test_numa();
	test_tool_usage_rules();
	test_ages();
	test_percentiles();
	cleanup();
	return tap_done();
}
