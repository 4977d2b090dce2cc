// SPDX-License-Identifier: GPL-2.0-only
/*
 * idle_bitmap_fuzz_test: random arguments against a live VM get a valid
 * reply or a documented error.
 *
 * Two vCPUs keep running over a 4K and a THP memslot that hold a checksummed
 * pattern, while the test makes IDLE_FUZZ_CALLS (default 12000) calls on an
 * O_RDONLY and an O_RDWR fd: read() and pread() at random offsets (in and
 * between memslots, unaligned, past TASK_SIZE, negative) of random lengths
 * into good, bad, read-only and too short buffers; lseek() with random
 * offsets and whence; IDLE_BITMAP_SCAN with random flags, ranges, capacities
 * and struct contents (command sizes below, at and above VER0 up to the most
 * _IOC_SIZE() holds, with zero and nonzero tails, tails running into an
 * unmapped page, a size field that differs from the command's, read-only and
 * bad struct and vector pointers); and unknown ioctl numbers, types and
 * directions.
 *
 * For each call the test works out which documented errors its arguments
 * call for.  With none, the call must succeed with a well-formed reply that
 * stays inside its range and buffer, unless a pointer was bad, when EFAULT is
 * also allowed.  With some, it must fail with one of them.  At the end the
 * guest memory must still hold its pattern, and every errno seen is printed.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "kvm_util.h"
#include "test_util.h"

#include "idle_bitmap_util.h"

#define MB		(1024 * 1024UL)
#define BUF_SIZE	(64 * 1024)
#define ARG_AREA	(8 * 1024)
#define MAX_ERRNO	140
/* The most read() passes to a file, as the VFS trims it. */
#define MAX_RW_COUNT	(INT_MAX & ~(IDLE_PAGE_SIZE - 1))

/* Sets of errnos, as bit masks; errnos not listed here are never allowed. */
static const int known_errno[] = { EINVAL, E2BIG, EBADF, EFAULT, ENOTTY, EOVERFLOW };

static uint64_t E(int err)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(known_errno); i++)
		if (known_errno[i] == err)
			return 1ULL << i;
	return 0;
}

struct fuzz {
	struct idle_vm *v;
	int fd[2];		/* O_RDONLY, O_RDWR */
	uint8_t *buf;		/* BUF_SIZE bytes, then an unmapped page */
	uint8_t *ro_buf;	/* a read-only page */
	uint8_t *arg_area;	/* ARG_AREA bytes, then an unmapped page */
	uint64_t task_size;
	unsigned long calls, ok, errors[MAX_ERRNO];
};

static uint64_t rnd64(void)
{
	return (uint64_t)random() << 33 ^ (uint64_t)random() << 2 ^ random();
}

static uint8_t *map_guarded(size_t size)
{
	uint8_t *p = mmap(NULL, size + IDLE_PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap");
	TEST_ASSERT(!munmap(p + size, IDLE_PAGE_SIZE), "munmap");
	return p;
}

/* An address: mostly page aligned and near the memslots. */
static uint64_t rnd_addr(struct fuzz *f)
{
	struct idle_seg *s = &f->v->seg[random() % f->v->nr_segs];
	uint64_t a;

	switch (random() % 10) {
	case 0:
		a = 0;
		break;
	case 1:
		a = f->task_size - random() % 4 * IDLE_PAGE_SIZE;
		break;
	case 2:
		a = f->task_size + random() % 4 * IDLE_PAGE_SIZE;
		break;
	case 3:
		a = rnd64();
		break;
	case 4:
		a = (uintptr_t)s->hva + s->size + random() % 16 * IDLE_PAGE_SIZE;
		break;
	default:
		a = (uintptr_t)s->hva + random() % (s->size / IDLE_PAGE_SIZE) * IDLE_PAGE_SIZE;
		break;
	}
	if (!(random() % 16))
		a += 1 + random() % (IDLE_PAGE_SIZE - 1);
	return a;
}

/* A user buffer for up to @want bytes; *@room gets how many are writable. */
static void *rnd_out(struct fuzz *f, uint64_t want, uint64_t *room, bool *kernel_addr)
{
	uint64_t fit;

	*kernel_addr = false;
	/* Half of the time a good buffer, else anything. */
	switch (random() % 2 ? 5 : random() % 6) {
	case 0:
		*room = 0;
		return NULL;
	case 1:
		*room = 0;
		return (void *)8;
	case 2:
		*room = 0;
		*kernel_addr = true;
		return (void *)0xffff888000000000ULL;
	case 3:
		*room = 0;
		return f->ro_buf;
	case 4:
		/* Runs into the unmapped page after a few records. */
		fit = 8 * (random() % 8);
		*room = fit;
		return f->buf + BUF_SIZE - fit;
	default:
		*room = BUF_SIZE;
		return f->buf;
	}
}

static void count(struct fuzz *f, long ret)
{
	f->calls++;
	if (ret >= 0)
		f->ok++;
	else if (errno < MAX_ERRNO)
		f->errors[errno]++;
}

static void expect(long ret, uint64_t must, uint64_t may, const char *what, uint64_t a,
		   uint64_t b)
{
	if (must) {
		TEST_ASSERT(ret == -1 && (E(errno) & (must | may)),
			    "%s (%#lx, %#lx): returned %ld errno %d, want errors %#lx", what, a, b,
			    ret, ret == -1 ? errno : 0, must | may);
	} else {
		TEST_ASSERT(ret >= 0 || (E(errno) & may),
			    "%s (%#lx, %#lx): failed with errno %d, allowed %#lx", what, a, b,
			    errno, may);
	}
}

static void fuzz_read(struct fuzz *f)
{
	int fd = f->fd[random() % 2];
	bool positional = random() % 2, kernel_addr;
	uint64_t off = rnd_addr(f), room, next;
	uint64_t count_choice[] = { 0, 8, 15, 16, 20, 24, 4096, BUF_SIZE, 8 * (random() % 64),
				    1ULL << 30, rnd64() };
	uint64_t len = random() % 2 ? 16 + 8 * (random() % (BUF_SIZE / 8 - 1)) :
		       count_choice[random() % ARRAY_SIZE(count_choice)];
	uint64_t must = 0, may = 0, trimmed;
	void *out = rnd_out(f, len, &room, &kernel_addr);
	long ret;

	if (!(random() % 32))
		off |= 1ULL << 63;	/* a negative offset */
	/* The VFS refuses negative counts and trims large ones. */
	trimmed = min_t(uint64_t, len, MAX_RW_COUNT);
	if ((int64_t)len < 0)
		must |= E(EINVAL);
	else if (off % IDLE_PAGE_SIZE || trimmed % 8 || trimmed < 16)
		must |= E(EINVAL);
	if (kernel_addr)
		may |= E(EFAULT);	/* access_ok() may come first */
	if (len > room)
		may |= E(EFAULT);
	if (off > f->task_size)
		may |= E(EINVAL);	/* or EOF: past every memslot */
	if ((int64_t)off < 0)
		may |= E(EINVAL) | E(EOVERFLOW);	/* from the VFS */

	if (positional) {
		ret = pread(fd, out, len, off);
	} else {
		if (lseek(fd, off, SEEK_SET) != (off_t)off) {
			/* lseek() may refuse it; that is fuzzed below. */
			count(f, -1);
			return;
		}
		ret = read(fd, out, len);
	}
	count(f, ret);
	if ((int64_t)off < 0) {
		/* The VFS refuses it, or it is an address past TASK_SIZE: EOF. */
		TEST_ASSERT(ret == 0 || (ret == -1 && E(errno) & (must | may)),
			    "read at offset %#lx: returned %ld errno %d", off, ret, errno);
		return;
	}
	expect(ret, must, may, positional ? "pread" : "read", off, len);
	if (ret <= 0)
		return;
	TEST_ASSERT(ret % 8 == 0 && (uint64_t)ret <= min(len, room),
		    "read (%#lx, %#lx) returned %ld into %lu bytes", off, len, ret, room);
	/* A reply cut short by a fault may end anywhere. */
	if (len > room && ret < 16)
		return;
	idle_check_reply(out, ret / 8, off, ~0ULL, &next);
	if (!positional)
		TEST_ASSERT((uint64_t)lseek(fd, 0, SEEK_CUR) >= next, "offset after read");
}

static void fuzz_lseek(struct fuzz *f)
{
	static const int whence[] = { SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE, 7 };
	int fd = f->fd[random() % 2];
	int w = whence[random() % 2 ? random() % 2 : random() % ARRAY_SIZE(whence)];
	uint64_t off = random() % 2 ? rnd_addr(f) : random() % 16 * IDLE_PAGE_SIZE;
	uint64_t cur = lseek(fd, 0, SEEK_CUR), target = off;
	uint64_t must = 0, may = 0;
	long ret;

	if (w == SEEK_CUR)
		target = cur + off;
	if (w != SEEK_SET && w != SEEK_CUR)
		must |= E(EINVAL);
	else if ((int64_t)target < 0)
		must |= E(EINVAL);
	else if (target % IDLE_PAGE_SIZE || target > f->task_size)
		may |= E(EINVAL);	/* undocumented either way */
	ret = lseek(fd, off, w);
	count(f, ret);
	expect(ret, must, may, "lseek", off, w);
	if (ret >= 0)
		TEST_ASSERT((uint64_t)ret == target, "lseek(%#lx, %d) gave %#lx, want %#lx", off,
			    w, ret, target);
}

static void fuzz_ioctl(struct fuzz *f)
{
	bool rw = random() % 2, kernel_addr, tail_nonzero = false;
	struct idle_bitmap_scan_arg *arg;
	/* The command's size: _IOC_SIZE() holds 14 bits. */
	uint64_t size_choice[] = { 0, 8, 48, 55, 56, 57, 64, 72, 120, 4096, 4104, ARG_AREA,
				   ARG_AREA + 8, (1 << _IOC_SIZEBITS) - 1 };
	uint64_t size = random() % 2 ? sizeof(*arg) :
			size_choice[random() % ARRAY_SIZE(size_choice)];
	/* The struct's size field, which must equal the command's. */
	uint64_t size_field = random() % 8 ? size : random() % 2 ? rnd64() : sizeof(*arg);
	unsigned int cmd = _IOC(_IOC_READ | _IOC_WRITE, IDLE_BITMAP_IOC_MAGIC, 0, size);
	uint64_t len_choice[] = { 0, 1, 2, 3, 64, BUF_SIZE / 8, 1ULL << 40, rnd64() };
	uint64_t must = 0, may = 0, room, next, start, end, flags, len, avail, i, walk_end;
	void *vec;
	int fd = f->fd[rw];
	long ret;

	/*
	 * Place the struct so that a long tail runs into the unmapped page:
	 * @avail readable bytes, from sizeof(*arg) to ARG_AREA.
	 */
	avail = random() % 2 || size > ARG_AREA ? ARG_AREA : size;
	if (avail < sizeof(*arg))
		avail = sizeof(*arg);
	arg = (void *)(f->arg_area + ARG_AREA - avail);
	memset(arg, 0, avail);
	if (size > sizeof(*arg) && random() % 2) {
		i = sizeof(*arg) + random() % (min(size, avail) - sizeof(*arg) + 1);
		if (i < avail) {
			f->arg_area[ARG_AREA - avail + i] = 1 + random() % 255;
			tail_nonzero = i < size;
		}
	}

	start = rnd_addr(f);
	end = random() % 8 ? start + random() % 4096 * IDLE_PAGE_SIZE : rnd_addr(f);
	flags = random() % 8 ? random() % 4 : rnd64();
	len = random() % 2 ? 2 + random() % (BUF_SIZE / 8 - 1) :
			     len_choice[random() % ARRAY_SIZE(len_choice)];
	vec = rnd_out(f, len * 8, &room, &kernel_addr);
	*arg = (struct idle_bitmap_scan_arg) {
		.size = size_field, .flags = flags, .start = start, .end = end,
		.vec = (uintptr_t)vec, .vec_len = len, .walk_end = rnd64(),
	};

	if (size < IDLE_BITMAP_SCAN_ARG_SIZE_VER0) {
		must = E(EINVAL);
	} else if (size > IDLE_PAGE_SIZE) {
		must = E(E2BIG);
	} else if (size > avail) {
		must = E(E2BIG) | E(EFAULT);
	} else if (tail_nonzero) {
		must = E(E2BIG);
	} else if (size_field != size) {
		must = E(EINVAL);
	} else {
		/* Undocumented, but a kernel may refuse odd sizes. */
		if (size % 8)
			may |= E(EINVAL);
		if (flags & ~IDLE_BITMAP_SCAN_FLAGS || start % IDLE_PAGE_SIZE ||
		    end % IDLE_PAGE_SIZE || start > end || end > f->task_size || len < 2)
			must |= E(EINVAL);
		if ((flags & IDLE_BITMAP_SCAN_CLEAR) && !rw)
			must |= E(EBADF);
		/* A bad vector may be found before or after the other checks. */
		if (len > room / 8)
			may |= E(EFAULT);
		/* Undocumented: a kernel may refuse absurd capacities. */
		if (len >> 32)
			may |= E(EINVAL);
	}

	switch (random() % 20) {
	case 0:
		/* The struct itself unreadable. */
		ret = ioctl(fd, IDLE_BITMAP_SCAN, (void *)8);
		count(f, ret);
		expect(ret, E(EFAULT), 0, "ioctl(arg = 0x8)", 0, 0);
		return;
	case 1:
		/* Not our ioctl: another number, direction or type. */
		switch (random() % 4) {
		case 0:
			cmd = _IOWR(IDLE_BITMAP_IOC_MAGIC, 1 + random() % 255, uint64_t[7]);
			break;
		case 1:
			cmd = _IOW(IDLE_BITMAP_IOC_MAGIC, 0, struct idle_bitmap_scan_arg);
			break;
		case 2:
			cmd = _IOR(IDLE_BITMAP_IOC_MAGIC, 0, struct idle_bitmap_scan_arg);
			break;
		default:
			cmd = _IOWR(IDLE_BITMAP_IOC_MAGIC + 1, 0, struct idle_bitmap_scan_arg);
			break;
		}
		ret = ioctl(fd, cmd, arg);
		count(f, ret);
		expect(ret, E(ENOTTY), 0, "ioctl(unknown command)", 0, 0);
		return;
	case 2:
		/* A struct in read-only memory: walk_end cannot be written back. */
		if (!must && size == sizeof(*arg)) {
			TEST_ASSERT(!mprotect(f->ro_buf, IDLE_PAGE_SIZE, PROT_READ | PROT_WRITE) &&
				    memcpy(f->ro_buf, arg, sizeof(*arg)) &&
				    !mprotect(f->ro_buf, IDLE_PAGE_SIZE, PROT_READ), "mprotect");
			ret = ioctl(fd, IDLE_BITMAP_SCAN, f->ro_buf);
			count(f, ret);
			expect(ret, 0, may | E(EFAULT), "ioctl(read-only arg)", start, end);
			return;
		}
		break;
	}

	ret = ioctl(fd, cmd, arg);
	count(f, ret);
	expect(ret, must, may, "IDLE_BITMAP_SCAN", start, end);
	if (ret < 0)
		return;
	TEST_ASSERT((uint64_t)ret <= len && (uint64_t)ret * 8 <= room,
		    "IDLE_BITMAP_SCAN [%#lx, %#lx): %ld records into %lu of %lu bytes", start,
		    end, ret, len, room);
	walk_end = arg->walk_end;
	TEST_ASSERT(walk_end >= start && walk_end <= end && !(walk_end % IDLE_PAGE_SIZE),
		    "walk_end %#lx for [%#lx, %#lx)", walk_end, start, end);
	if (!ret) {
		TEST_ASSERT(walk_end == end, "no records, walk_end %#lx != end %#lx", walk_end,
			    end);
		return;
	}
	if (len > room / 8 && ret < 2)
		return;
	idle_check_reply(vec, ret, start, end, &next);
	TEST_ASSERT(walk_end >= next, "walk_end %#lx before the records' end %#lx", walk_end,
		    next);
}

static void test_fuzz(void)
{
	const char *env = getenv("IDLE_FUZZ_CALLS");
	unsigned long calls = env ? strtoul(env, NULL, 0) : 12000, i;
	struct fuzz f = {};
	int e;

	idle_thp_enable();
	f.v = idle_vm_create(2);
	idle_vm_add_seg(f.v, VM_MEM_SRC_ANONYMOUS, 8 * MB);
	idle_vm_add_seg(f.v, VM_MEM_SRC_ANONYMOUS_THP, 8 * MB);
	for (i = 0; i < f.v->nr_segs; i++)
		idle_fill_pattern(f.v, &f.v->seg[i]);
	idle_plan_set(f.v, &f.v->seg[0], IDLE_OP_VERIFY_WRITE);
	idle_plan_set(f.v, &f.v->seg[1], IDLE_OP_VERIFY);
	f.fd[0] = idle_open(0, O_RDONLY);
	f.fd[1] = idle_open(0, O_RDWR);
	f.buf = map_guarded(BUF_SIZE);
	f.arg_area = map_guarded(ARG_AREA);
	f.ro_buf = map_guarded(IDLE_PAGE_SIZE);
	f.task_size = idle_task_size();

	idle_vcpus_start(f.v);
	TEST_ASSERT(!mprotect(f.ro_buf, IDLE_PAGE_SIZE, PROT_READ), "mprotect");
	for (i = 0; i < calls; i++) {
		switch (random() % 8) {
		case 0:
		case 1:
		case 2:
			fuzz_read(&f);
			break;
		case 3:
			fuzz_lseek(&f);
			break;
		default:
			fuzz_ioctl(&f);
			break;
		}
	}
	idle_vcpus_stop(f.v);
	for (i = 0; i < f.v->nr_segs; i++)
		idle_check_pattern(f.v, &f.v->seg[i]);

	ksft_print_msg("%lu calls: %lu succeeded\n", f.calls, f.ok);
	for (e = 0; e < MAX_ERRNO; e++)
		if (f.errors[e])
			ksft_print_msg("  %lu failed with %s\n", f.errors[e], strerror(e));
	TEST_ASSERT(f.calls >= calls, "only %lu calls made", f.calls);
	close(f.fd[0]);
	close(f.fd[1]);
	idle_vm_free(f.v);
}

static const struct idle_test tests[] = {
	{ "fuzz: random arguments against a live VM", test_fuzz },
};

int main(int argc, char *argv[])
{
	ksft_print_header();
	idle_require_support();
	return idle_run_tests(tests, ARRAY_SIZE(tests));
}
