// SPDX-License-Identifier: GPL-2.0-only
/*
 * idle_bitmap_decode_test: the record decoder shared by the selftests, the
 * kvm_idle tool and the documentation (tools/kvm/kvm_idle/idle_bitmap_decode.h).
 *
 * Proves, without KVM: a stream that follows the format of
 * <linux/idle_bitmap.h> decodes to the extents it describes; every rule of the
 * format is enforced (a stream not starting with ADDR, type 0, reserved types,
 * a count of 0, a reserved size class, a misaligned 2M/1G run, MIXED with a
 * count of 0 or more than 24, a reserved page state or stray bits, an address
 * past 2^57) and the failing record is the one reported; random encodings
 * round-trip; random words never crash the decoder or yield extents that
 * break its contract.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kselftest.h"
#include "idle_bitmap_decode.h"

#define PAGE_4K		4096ULL
#define HUGE_2M		(512 * PAGE_4K)
#define MAX_EXT		8192
#define MAX_REC		4096

#define ADDR(a)		IDLE_BITMAP_MK_ADDR((uint64_t)(a) >> 12)
#define RUN(t, s, n)	IDLE_BITMAP_MK_RUN(IDLE_BITMAP_TYPE_##t, IDLE_BITMAP_SIZE_##s, n)
#define MIXED(n, bits)	((IDLE_BITMAP_TYPE_MIXED << IDLE_BITMAP_TYPE_SHIFT) | \
			 ((uint64_t)(n) << IDLE_BITMAP_MIXED_COUNT_SHIFT) | (bits))

struct ext_list {
	struct ibd_extent e[MAX_EXT];
	int n;
};

/* Append @e, merging it into the last extent if it continues it. */
static void ext_push(struct ext_list *l, const struct ibd_extent *e)
{
	struct ibd_extent *last = l->n ? &l->e[l->n - 1] : NULL;

	if (last && last->state == e->state && last->size == e->size &&
	    last->addr + last->npages * PAGE_4K == e->addr) {
		last->npages += e->npages;
		return;
	}
	if (l->n < MAX_EXT)
		l->e[l->n++] = *e;
}

static int collect(const struct ibd_extent *e, void *arg)
{
	ext_push(arg, e);
	return 0;
}

static void print_ext(const char *who, int i, const struct ibd_extent *e)
{
	ksft_print_msg("%s extent %d: %#llx, %llu pages, state %u, size class %u\n", who, i,
		       (unsigned long long)e->addr, (unsigned long long)e->npages, e->state,
		       e->size);
}

static bool ext_equal(const struct ext_list *a, const struct ext_list *b)
{
	int i;

	if (a->n != b->n) {
		ksft_print_msg("%d extents, want %d\n", a->n, b->n);
		return false;
	}
	for (i = 0; i < a->n; i++) {
		if (memcmp(&a->e[i], &b->e[i], sizeof(a->e[i]))) {
			print_ext("got ", i, &a->e[i]);
			print_ext("want", i, &b->e[i]);
			return false;
		}
	}
	return true;
}

static void want(struct ext_list *l, uint64_t addr, uint64_t npages, unsigned int state,
		 unsigned int size)
{
	struct ibd_extent e = { addr, npages, state, size };

	ext_push(l, &e);
}

static bool test_valid_stream(void)
{
	static struct ext_list got, exp;
	const uint64_t rec[] = {
		ADDR(0x1000),
		RUN(HOLE, 4K, 3),
		RUN(IDLE, 4K, 1),
		/* accessed, idle, hole */
		MIXED(3, IBD_ACCESSED | IBD_IDLE << 2 | IBD_HOLE << 4),
		ADDR(0x200000),
		RUN(IDLE, 2M, 2),
		RUN(ACCESSED, 2M, 1),
		RUN(ACCESSED, 4K, 512),
		ADDR(1ULL << 30),
		RUN(ACCESSED, 1G, 1),
		RUN(IDLE, 1G, 2),
	};
	uint64_t next = 0;
	int ret;

	memset(&got, 0, sizeof(got));
	memset(&exp, 0, sizeof(exp));
	want(&exp, 0x1000, 3, IBD_HOLE, IDLE_BITMAP_SIZE_4K);
	want(&exp, 0x4000, 1, IBD_IDLE, IDLE_BITMAP_SIZE_4K);
	want(&exp, 0x5000, 1, IBD_ACCESSED, IDLE_BITMAP_SIZE_4K);
	want(&exp, 0x6000, 1, IBD_IDLE, IDLE_BITMAP_SIZE_4K);
	want(&exp, 0x7000, 1, IBD_HOLE, IDLE_BITMAP_SIZE_4K);
	want(&exp, 0x200000, 1024, IBD_IDLE, IDLE_BITMAP_SIZE_2M);
	want(&exp, 0x600000, 512, IBD_ACCESSED, IDLE_BITMAP_SIZE_2M);
	want(&exp, 0x800000, 512, IBD_ACCESSED, IDLE_BITMAP_SIZE_4K);
	want(&exp, 1ULL << 30, 262144, IBD_ACCESSED, IDLE_BITMAP_SIZE_1G);
	want(&exp, 2ULL << 30, 524288, IBD_IDLE, IDLE_BITMAP_SIZE_1G);

	ret = ibd_decode(rec, ARRAY_SIZE(rec), collect, &got, &next, NULL);
	if (ret) {
		ksft_print_msg("decode failed: %d\n", ret);
		return false;
	}
	if (next != 4ULL << 30) {
		ksft_print_msg("next %#llx, want 4G\n", (unsigned long long)next);
		return false;
	}
	return ext_equal(&got, &exp);
}

struct bad_case {
	const char *what;
	uint64_t rec[3];
	size_t nrec;
	size_t bad;
};

static const struct bad_case bad_cases[] = {
	{ "no leading ADDR",	{ RUN(IDLE, 4K, 1) }, 1, 0 },
	{ "type 0",		{ ADDR(0), 0 }, 2, 1 },
	{ "zeroed buffer",	{ 0, 0 }, 2, 0 },
	{ "reserved type 6",	{ ADDR(0), 6ULL << 60 | 1 }, 2, 1 },
	{ "reserved type 15",	{ ADDR(0), 15ULL << 60 | 1 }, 2, 1 },
	{ "run count 0",	{ ADDR(0), RUN(IDLE, 4K, 0) }, 2, 1 },
	{ "hole count 0",	{ ADDR(0), RUN(HOLE, 4K, 0) }, 2, 1 },
	{ "reserved size 3",	{ ADDR(0), IDLE_BITMAP_MK_RUN(IDLE_BITMAP_TYPE_IDLE, 3, 1) },
				2, 1 },
	{ "misaligned 2M run",	{ ADDR(0x1000), RUN(IDLE, 2M, 1) }, 2, 1 },
	{ "2M run after 4K",	{ ADDR(0), RUN(IDLE, 4K, 1), RUN(ACCESSED, 2M, 1) }, 3, 2 },
	{ "misaligned 1G run",	{ ADDR(0x200000), RUN(ACCESSED, 1G, 1) }, 2, 1 },
	{ "MIXED count 0",	{ ADDR(0), MIXED(0, 0) }, 2, 1 },
	{ "MIXED count 25",	{ ADDR(0), MIXED(25, 0) }, 2, 1 },
	{ "MIXED count 31",	{ ADDR(0), MIXED(31, 0) }, 2, 1 },
	{ "MIXED page state 3",	{ ADDR(0), MIXED(2, 3ULL << 2) }, 2, 1 },
	{ "MIXED stray bits",	{ ADDR(0), MIXED(2, 1ULL << 4) }, 2, 1 },
	{ "MIXED high bits",	{ ADDR(0), MIXED(24, 1ULL << 56) }, 2, 1 },
	{ "ADDR at 2^57",	{ ADDR(1ULL << 57) }, 1, 0 },
	{ "run past 2^57",	{ ADDR((1ULL << 57) - PAGE_4K), RUN(IDLE, 4K, 2) }, 2, 1 },
	{ "huge count",		{ ADDR(0), RUN(IDLE, 4K, IDLE_BITMAP_COUNT_MASK) }, 2, 1 },
};

static bool test_bad_streams(void)
{
	bool ok = true;
	size_t i, bad;
	int ret;

	for (i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];

		bad = ~0UL;
		ret = ibd_decode(c->rec, c->nrec, NULL, NULL, NULL, &bad);
		if (ret != -EINVAL || bad != c->bad) {
			ksft_print_msg("%s: returned %d at record %zu, want -EINVAL at %zu\n",
				       c->what, ret, bad, c->bad);
			ok = false;
		}
	}
	return ok;
}

static int stop_at_first(const struct ibd_extent *e, void *arg)
{
	return 42;
}

static bool test_callback_stops(void)
{
	const uint64_t rec[] = { ADDR(0), RUN(IDLE, 4K, 1), RUN(HOLE, 4K, 1) };
	size_t bad = 0;
	int ret;

	ret = ibd_decode(rec, ARRAY_SIZE(rec), stop_at_first, NULL, NULL, &bad);
	if (ret != 42 || bad != 1) {
		ksft_print_msg("callback result not passed on: %d at %zu\n", ret, bad);
		return false;
	}
	return true;
}

/* A simple reference encoder for one 4K stretch, as the kernel may emit it. */
static size_t encode_4k(uint64_t *rec, const uint8_t *st, size_t n)
{
	size_t i = 0, nrec = 0;

	while (i < n) {
		size_t j = i + 1;

		while (j < n && st[j] == st[i])
			j++;
		if (j - i >= IDLE_BITMAP_MIXED_PAGES || random() % 2) {
			static const uint64_t type[] = {
				IDLE_BITMAP_TYPE_HOLE, IDLE_BITMAP_TYPE_IDLE,
				IDLE_BITMAP_TYPE_ACCESSED,
			};

			rec[nrec++] = IDLE_BITMAP_MK_RUN(type[st[i]], IDLE_BITMAP_SIZE_4K, j - i);
			i = j;
		} else {
			size_t k, m = n - i;
			uint64_t r = 0;

			/* 1 to 24 pages, as many as are left at most. */
			if (m > IDLE_BITMAP_MIXED_PAGES)
				m = IDLE_BITMAP_MIXED_PAGES;
			m = 1 + random() % m;
			for (k = 0; k < m; k++)
				r |= (uint64_t)st[i + k] << (2 * k);
			rec[nrec++] = MIXED(m, r);
			i += m;
		}
	}
	return nrec;
}

/* Append a random piece at @addr to the stream and to the extents it means. */
static uint64_t add_piece(uint64_t addr, uint64_t *rec, size_t *nrec, struct ext_list *exp)
{
	static uint8_t st[256];
	uint64_t n, i;

	switch (random() % 4) {
	case 0:		/* a gap: a new ADDR */
		addr += (1 + random() % 64) * PAGE_4K;
		rec[(*nrec)++] = ADDR(addr);
		return addr;
	case 1:		/* 2M runs, after 4K holes up to the next 2M boundary */
		if (addr % HUGE_2M) {
			n = (HUGE_2M - addr % HUGE_2M) / PAGE_4K;
			rec[(*nrec)++] = RUN(HOLE, 4K, n);
			want(exp, addr, n, IBD_HOLE, IDLE_BITMAP_SIZE_4K);
			addr += n * PAGE_4K;
		}
		n = 1 + random() % 4;
		if (random() % 2) {
			rec[(*nrec)++] = RUN(IDLE, 2M, n);
			want(exp, addr, n * 512, IBD_IDLE, IDLE_BITMAP_SIZE_2M);
		} else {
			rec[(*nrec)++] = RUN(ACCESSED, 2M, n);
			want(exp, addr, n * 512, IBD_ACCESSED, IDLE_BITMAP_SIZE_2M);
		}
		return addr + n * HUGE_2M;
	default:	/* 4K pages in runs of random length */
		n = 1 + random() % sizeof(st);
		for (i = 0; i < n; i++) {
			st[i] = i && random() % 4 ? st[i - 1] : random() % 3;
			want(exp, addr + i * PAGE_4K, 1, st[i], IDLE_BITMAP_SIZE_4K);
		}
		*nrec += encode_4k(rec + *nrec, st, n);
		return addr + n * PAGE_4K;
	}
}

static bool test_roundtrip(void)
{
	static struct ext_list got, exp;
	static uint64_t rec[MAX_REC];
	int iter, piece, ret;

	for (iter = 0; iter < 2000; iter++) {
		uint64_t addr = (random() % 1024) * HUGE_2M, next = 0;
		size_t nrec = 0, bad = 0;

		memset(&got, 0, sizeof(got));
		memset(&exp, 0, sizeof(exp));
		rec[nrec++] = ADDR(addr);
		for (piece = 0; piece < 16; piece++)
			addr = add_piece(addr, rec, &nrec, &exp);
		ret = ibd_decode(rec, nrec, collect, &got, &next, &bad);
		if (ret) {
			ksft_print_msg("iteration %d: record %zu (%#llx) rejected\n", iter, bad,
				       (unsigned long long)rec[bad]);
			return false;
		}
		if (next != addr) {
			ksft_print_msg("iteration %d: next %#llx, want %#llx\n", iter,
				       (unsigned long long)next, (unsigned long long)addr);
			return false;
		}
		if (!ext_equal(&got, &exp))
			return false;
	}
	return true;
}

struct fuzz_state {
	uint64_t prev_end;
	bool ok;
};

static int fuzz_check(const struct ibd_extent *e, void *arg)
{
	struct fuzz_state *f = arg;
	uint64_t align = 1ULL << ibd_size_shift(e->size);

	if (!e->npages || e->state > IBD_ACCESSED || e->size > IDLE_BITMAP_SIZE_1G ||
	    e->addr % align || e->npages * PAGE_4K % align ||
	    e->addr + e->npages * PAGE_4K > IBD_ADDR_LIMIT)
		f->ok = false;
	f->prev_end = e->addr + e->npages * PAGE_4K;
	return 0;
}

static uint64_t random_u64(void)
{
	return (uint64_t)random() << 62 ^ (uint64_t)random() << 31 ^ random();
}

static bool test_fuzz(void)
{
	static uint64_t rec[64];
	int iter;

	for (iter = 0; iter < 20000; iter++) {
		struct fuzz_state f = { .ok = true };
		size_t n = 1 + random() % ARRAY_SIZE(rec), i, bad = 0;
		uint64_t next = 0;
		bool ends_in_run;
		int ret;

		for (i = 0; i < n; i++) {
			uint64_t r = random_u64();

			/* Mostly valid types, small counts and low addresses. */
			switch (random() % 4) {
			case 0:
				r = ADDR((r & ((1ULL << 40) - 1)) << 12);
				break;
			case 1:
				r = IDLE_BITMAP_MK_RUN(2 + random() % 3, random() % 4,
						       random() % 1024);
				break;
			case 2:
				r = MIXED(random() % 26, r & ((1ULL << 48) - 1));
				break;
			}
			rec[i] = r;
		}
		if (random() % 2)
			rec[0] = ADDR((random_u64() & ((1ULL << 45) - 1)) << 12);
		ret = ibd_decode(rec, n, fuzz_check, &f, &next, &bad);
		ends_in_run = IDLE_BITMAP_TYPE(rec[n - 1]) != IDLE_BITMAP_TYPE_ADDR;
		if ((ret && (ret != -EINVAL || bad >= n)) || !f.ok ||
		    (!ret && f.prev_end && ends_in_run && next != f.prev_end)) {
			ksft_print_msg("iteration %d: ret %d, bad %zu, ok %d\n", iter, ret, bad,
				       f.ok);
			return false;
		}
	}
	return true;
}

int main(int argc, char *argv[])
{
	const char *env = getenv("IDLE_SEED");
	unsigned int seed = env ? strtoul(env, NULL, 0) : time(NULL);

	ksft_print_header();
	ksft_set_plan(5);
	ksft_print_msg("seed %u (set IDLE_SEED=%u to repeat)\n", seed, seed);
	srandom(seed);

	ksft_test_result(test_valid_stream(), "valid stream\n");
	ksft_test_result(test_bad_streams(), "malformed records rejected\n");
	ksft_test_result(test_callback_stops(), "callback stops the decode\n");
	ksft_test_result(test_roundtrip(), "random encodings round-trip\n");
	ksft_test_result(test_fuzz(), "random words\n");
	ksft_finished();
}
