/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Decoder for /proc/PID/idle_bitmap records.
 *
 * Header only, so that the kvm_idle tool, the kvm-idle selftests and the
 * example in Documentation/admin-guide/mm/idle_bitmap.rst share one copy.
 * It checks every rule of the record format and expands records into
 * extents of uniform state.
 */
#ifndef IDLE_BITMAP_DECODE_H
#define IDLE_BITMAP_DECODE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/idle_bitmap.h>

#define IBD_PAGE_SHIFT	12
/* No user address reaches 2^57 (5-level paging); no record may pass it. */
#define IBD_ADDR_LIMIT	0x0200000000000000ULL

enum ibd_state {
	IBD_HOLE = IDLE_BITMAP_PAGE_HOLE,
	IBD_IDLE = IDLE_BITMAP_PAGE_IDLE,
	IBD_ACCESSED = IDLE_BITMAP_PAGE_ACCESSED,
};

/* One stretch of pages in one state, mapped with one size class. */
struct ibd_extent {
	uint64_t addr;		/* first byte */
	uint64_t npages;	/* number of 4K pages */
	unsigned int state;	/* enum ibd_state */
	unsigned int size;	/* IDLE_BITMAP_SIZE_4K, _2M or _1G */
};

/* Called once per extent, in address order; nonzero stops the decode. */
typedef int (*ibd_cb)(const struct ibd_extent *ext, void *arg);

static inline unsigned int ibd_size_shift(unsigned int size)
{
	return size == IDLE_BITMAP_SIZE_1G ? 30 : size == IDLE_BITMAP_SIZE_2M ? 21 : 12;
}

/**
 * ibd_decode() - check and expand a reply of the idle_bitmap file
 * @rec:  the records
 * @nrec: how many
 * @cb:   called for each extent
 * @arg:  passed to @cb
 * @next: if not NULL, receives the address after the last extent
 * @bad:  if not NULL, receives the index of the record that failed
 *
 * Return: 0; -EINVAL if the stream breaks a rule (it does not start with
 * ADDR, a record has type 0 or a reserved type, a count of 0, a reserved
 * size class, a 2M/1G run that is not aligned, a MIXED record with a bad
 * count, a reserved page state or stray bits, or an address at or past 2^57); or the
 * nonzero value @cb returned.
 */
static inline int ibd_decode(const uint64_t *rec, size_t nrec, ibd_cb cb,
			     void *arg, uint64_t *next, size_t *bad)
{
	uint64_t addr = 0;
	struct ibd_extent ext;
	size_t i;
	int ret;

	for (i = 0; i < nrec; i++) {
		uint64_t r = rec[i], type = IDLE_BITMAP_TYPE(r);

		if (i == 0 && type != IDLE_BITMAP_TYPE_ADDR)
			goto invalid;

		switch (type) {
		case IDLE_BITMAP_TYPE_ADDR:
			if (IDLE_BITMAP_ADDR_PFN(r) >= IBD_ADDR_LIMIT >> IBD_PAGE_SHIFT)
				goto invalid;
			addr = IDLE_BITMAP_ADDR_PFN(r) << IBD_PAGE_SHIFT;
			continue;
		case IDLE_BITMAP_TYPE_HOLE:
		case IDLE_BITMAP_TYPE_IDLE:
		case IDLE_BITMAP_TYPE_ACCESSED: {
			unsigned int size = IDLE_BITMAP_RUN_SIZE(r);
			unsigned int shift = ibd_size_shift(size);
			uint64_t count = IDLE_BITMAP_RUN_COUNT(r);

			if (size > IDLE_BITMAP_SIZE_1G || !count)
				goto invalid;
			if (addr & ((1ULL << shift) - 1))
				goto invalid;
			if (count > (IBD_ADDR_LIMIT - addr) >> shift)
				goto invalid;
			ext.addr = addr;
			ext.npages = count << (shift - IBD_PAGE_SHIFT);
			ext.state = type == IDLE_BITMAP_TYPE_HOLE ? IBD_HOLE :
				    type == IDLE_BITMAP_TYPE_IDLE ? IBD_IDLE : IBD_ACCESSED;
			ext.size = size;
			ret = cb ? cb(&ext, arg) : 0;
			if (ret)
				goto stop;
			addr += count << shift;
			continue;
		}
		case IDLE_BITMAP_TYPE_MIXED: {
			unsigned int n = IDLE_BITMAP_MIXED_COUNT(r), j;
			uint64_t used = (1ULL << (2 * n)) - 1;

			if (!n || n > IDLE_BITMAP_MIXED_PAGES)
				goto invalid;
			used |= IDLE_BITMAP_MIXED_COUNT_MASK << IDLE_BITMAP_MIXED_COUNT_SHIFT;
			used |= 0xfULL << IDLE_BITMAP_TYPE_SHIFT;
			if (r & ~used)
				goto invalid;
			if (n > (IBD_ADDR_LIMIT - addr) >> IBD_PAGE_SHIFT)
				goto invalid;
			for (j = 0; j < n; j++) {
				if (IDLE_BITMAP_MIXED_PAGE(r, j) > IDLE_BITMAP_PAGE_ACCESSED)
					goto invalid;
			}
			for (j = 0; j < n; ) {
				unsigned int s = IDLE_BITMAP_MIXED_PAGE(r, j), k = j + 1;

				while (k < n && IDLE_BITMAP_MIXED_PAGE(r, k) == s)
					k++;
				ext.addr = addr + ((uint64_t)j << IBD_PAGE_SHIFT);
				ext.npages = k - j;
				ext.state = s;
				ext.size = IDLE_BITMAP_SIZE_4K;
				ret = cb ? cb(&ext, arg) : 0;
				if (ret)
					goto stop;
				j = k;
			}
			addr += (uint64_t)n << IBD_PAGE_SHIFT;
			continue;
		}
		default:
			goto invalid;
		}
	}
	if (next)
		*next = addr;
	return 0;

invalid:
	ret = -EINVAL;
stop:
	if (bad)
		*bad = i;
	return ret;
}

#endif /* IDLE_BITMAP_DECODE_H */
