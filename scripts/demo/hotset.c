// SPDX-License-Identifier: GPL-2.0
/*
 * hotset: the workload of the kvm-idle demo's inner guests.
 *
 * Runs as /init of a tiny initramfs (linked statically by
 * scripts/demo/build-guest.sh; the guest kernel is Debian's, which needs no
 * module for this).  Parameters come from the kernel command line, which the
 * kernel hands to init as environment variables:
 *
 *   total=MIB    memory to allocate and write once (default 256)
 *   hot=MIB      the hot set: the first MIB of it, accessed in a loop
 *                (default 0)
 *   magic=HEX    32-bit tag of this guest's pages (default 686f7400)
 *
 * It allocates total MiB of anonymous memory (no THP) and writes 8 words
 * of every 4K page of it, one every 512 bytes (all 512 would take a minute
 * in the nested, emulated guest): word 0 is magic << 32 | the page's index,
 * the others a pattern of the index, so that the host can tell a page of
 * this guest, and which one, from the first 8 bytes of its memory, and so
 * that a checksum of what it wrote catches a page that a migration lost,
 * tore or mixed up.  Then it loops over the
 * hot set forever, rewriting word 0 of every page of it (with the value it
 * has: the checksum stays) per pass, or sleeps while the hot set is empty.
 * Commands on the console (one a line; TAG, if given, is repeated in the
 * replies, so that the sender can tell them from older ones):
 *
 *   hot N [TAG]   the hot set is now the first N MiB
 *   map [TAG]     print where the hot and the cold (written, not hot) pages
 *                 are in guest-physical memory, from /proc/self/pagemap
 *   verify [TAG]  checksum what it wrote again and compare
 *
 * It reports on the console (the serial port):
 *
 *   hotset: started uptime=12.3 s
 *   hotset: wrote 64 MiB of 256 at 14.0 s
 *   ...
 *   hotset: ready total=256 MiB pages=65536 checksum=0123456789abcdef in 8.1 s
 *   hotset: hot set now hot=32 MiB pages=8192 present=8192 pte_pages=16 frames2m=17 tag=t2
 *   hotset: active hot=32 MiB tag=t2
 *   hotset: hot=32 MiB passes=1234 rate=246.8/s
 *   hotset: map hot tag=t3 0x1c400+7680 0x1e200+512
 *   hotset: map cold tag=t3 0x4000+24064 ...
 *   hotset: map end hot_pages=8192 cold_pages=57344 absent=0 hot_ranges=2 cold_ranges=9 tag=t3
 *   hotset: verify checksum=0123456789abcdef expected=0123456789abcdef ok tag=t4
 *
 * A map line lists guest-physical page ranges as 0xPFN+COUNT (PFN in hex,
 * COUNT pages, 4K each, in decimal), sorted and merged; "absent" counts
 * pages that pagemap shows not resident (none should be).  "present" counts
 * the hot pages that pagemap shows resident, "pte_pages" the last-level
 * page-table pages that map them (one per 2 MiB of virtual addresses),
 * "frames2m" the 2M guest-physical frames they lie in.  The guest physical
 * memory the loop touches is the hot set plus those page-table pages (the MMU
 * sets their Accessed bits as it walks), plus the few pages of this program's
 * code and stack and what the guest kernel does meanwhile (timer
 * interrupts).  "active" comes after the first complete pass over a new hot
 * set.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define PAGE		4096UL
#define WORDS		(PAGE / 8)
#define STEP		64		/* words: one written every 512 bytes */
#define MIB		(1024UL * 1024)
#define REPORT_SECS	5
#define PFN_MASK	0x7fffffffffffffULL	/* pagemap bits 0-54 */

static unsigned char *mem;
static unsigned long total_pages, hot_pages;
static uint64_t magic, checksum;
static char tag[32];

static void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "hotset: ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(1, buf, n) < 0)
		return;
}

/* PID 1 must not exit: the kernel would panic. */
static void fail(const char *what)
{
	say("FAILED: %s: %s", what, strerror(errno));
	for (;;)
		pause();
}

static void write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		return;
	if (write(fd, s, strlen(s)) < 0)
		say("warning: cannot write %s: %s", path, strerror(errno));
	close(fd);
}

static void setup_init(void)
{
	int fd;

	mkdir("/proc", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
	/*
	 * The guest kernel must not move this program's pages in guest-physical
	 * memory behind the demo's back (the map it prints would be stale).
	 */
	write_file("/proc/sys/vm/compaction_proactiveness", "0");
	if (fcntl(1, F_GETFD) != -1)
		return;
	/* No /dev/console in the initramfs: take it from devtmpfs. */
	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	fd = open("/dev/console", O_RDWR);
	if (fd < 0)
		fd = open("/dev/ttyS0", O_RDWR);
	if (fd < 0)
		for (;;)
			pause();
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static unsigned long env_num(const char *name, unsigned long def, int base)
{
	const char *s = getenv(name);

	return s && *s ? strtoul(s, NULL, base) : def;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The content of word w of page i. */
static inline uint64_t pattern(unsigned long i, unsigned long w)
{
	if (!w)
		return magic << 32 | i;
	return (i * 0x9e3779b97f4a7c15ULL) ^ (w * 0xbf58476d1ce4e5b9ULL);
}

/* A checksum of the words written (FNV-1a over them, in order). */
static uint64_t sum_all(void)
{
	const uint64_t *p = (const uint64_t *)mem;
	uint64_t h = 0xcbf29ce484222325ULL;
	unsigned long i, n = total_pages * WORDS;

	for (i = 0; i < n; i += STEP)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/*
 * Count, for the first n pages: those resident, the distinct 2M physical
 * frames they are in, and the page-table pages that map them.
 */
static void describe(unsigned long n, unsigned long *present,
		     unsigned long *frames2m, unsigned long *ptes)
{
	unsigned long long ent[512], maxframe = 0, f;
	unsigned long i, j, k, va = (unsigned long)mem, base = va / PAGE;
	unsigned char *seen = NULL;
	int fd;

	*present = 0;
	*frames2m = 0;
	*ptes = 0;
	if (n)
		*ptes = ((va + (n - 1) * PAGE) >> 21) - (va >> 21) + 1;
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return;
	for (k = 0; k < 2; k++) {
		for (i = 0; i < n; i += 512) {
			unsigned long cnt = n - i < 512 ? n - i : 512;

			if (pread(fd, ent, cnt * 8, (base + i) * 8) != (ssize_t)(cnt * 8))
				break;
			for (j = 0; j < cnt; j++) {
				if (!(ent[j] >> 63))
					continue;
				f = (ent[j] & PFN_MASK) >> 9;
				if (!k) {
					(*present)++;
					if (f > maxframe)
						maxframe = f;
				} else if (!seen[f]) {
					seen[f] = 1;
					(*frames2m)++;
				}
			}
		}
		if (!k) {
			seen = calloc(maxframe + 1, 1);
			if (!seen)
				break;
		}
	}
	free(seen);
	close(fd);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Print the sorted, merged PFN ranges of pfn[0..n) as "map WHAT" lines. */
static unsigned long print_ranges(const char *what, uint64_t *pfn, unsigned long n)
{
	char line[400];
	unsigned long i = 0, ranges = 0;
	int len = 0;

	qsort(pfn, n, sizeof(*pfn), cmp_u64);
	while (i < n) {
		unsigned long j = i + 1;

		while (j < n && pfn[j] == pfn[j - 1] + 1)
			j++;
		len += snprintf(line + len, sizeof(line) - len, " 0x%llx+%lu",
				(unsigned long long)pfn[i], j - i);
		ranges++;
		i = j;
		if (len > 300 || i == n) {
			say("map %s tag=%s%s", what, tag, line);
			len = 0;
		}
	}
	return ranges;
}

/* The "map" command: where the hot and the cold pages are, as guest PFNs. */
static void print_map(void)
{
	unsigned long i, j, nhot = 0, ncold = 0, absent = 0, rh, rc;
	unsigned long base = (unsigned long)mem / PAGE;
	uint64_t ent[512], *hot, *cold;
	int fd;

	hot = malloc(total_pages * sizeof(*hot));
	cold = malloc(total_pages * sizeof(*cold));
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (!hot || !cold || fd < 0) {
		say("map FAILED: %s tag=%s", strerror(errno), tag);
		goto out;
	}
	for (i = 0; i < total_pages; i += 512) {
		unsigned long cnt = total_pages - i < 512 ? total_pages - i : 512;

		if (pread(fd, ent, cnt * 8, (base + i) * 8) != (ssize_t)(cnt * 8)) {
			say("map FAILED: pagemap: %s tag=%s", strerror(errno), tag);
			goto out;
		}
		for (j = 0; j < cnt; j++) {
			/* Bit 63: present; the PFN reads 0 without CAP_SYS_ADMIN. */
			if (!(ent[j] >> 63) || !(ent[j] & PFN_MASK))
				absent++;
			else if (i + j < hot_pages)
				hot[nhot++] = ent[j] & PFN_MASK;
			else
				cold[ncold++] = ent[j] & PFN_MASK;
		}
	}
	rh = print_ranges("hot", hot, nhot);
	rc = print_ranges("cold", cold, ncold);
	say("map end hot_pages=%lu cold_pages=%lu absent=%lu hot_ranges=%lu cold_ranges=%lu tag=%s",
	    nhot, ncold, absent, rh, rc, tag);
out:
	if (fd >= 0)
		close(fd);
	free(hot);
	free(cold);
}

static void set_hot(unsigned long mib)
{
	unsigned long present, frames2m, ptes;

	hot_pages = mib * MIB / PAGE;
	if (hot_pages > total_pages)
		hot_pages = total_pages;
	describe(hot_pages, &present, &frames2m, &ptes);
	say("hot set now hot=%lu MiB pages=%lu present=%lu pte_pages=%lu frames2m=%lu tag=%s",
	    hot_pages * PAGE / MIB, hot_pages, present, ptes, frames2m, tag);
}

/* Handle complete command lines from the console; non-blocking. */
static bool poll_command(void)
{
	static char line[64];
	static size_t len;
	bool changed = false;
	ssize_t n;
	char c, *arg;

	while ((n = read(0, &c, 1)) == 1) {
		if (c != '\n' && c != '\r') {
			if (len < sizeof(line) - 1)
				line[len++] = c;
			continue;
		}
		line[len] = 0;
		len = 0;
		arg = line + strcspn(line, " ");
		arg += strspn(arg, " ");
		if (!strncmp(line, "hot ", 4)) {
			char *end;
			unsigned long mib = strtoul(line + 4, &end, 10);

			snprintf(tag, sizeof(tag), "%s", end + strspn(end, " "));
			set_hot(mib);
			changed = true;
		} else if (!strcmp(line, "map") || !strncmp(line, "map ", 4)) {
			snprintf(tag, sizeof(tag), "%s", arg);
			print_map();
		} else if (!strcmp(line, "verify") || !strncmp(line, "verify ", 7)) {
			uint64_t sum = sum_all();

			snprintf(tag, sizeof(tag), "%s", arg);
			say("verify checksum=%016llx expected=%016llx %s tag=%s",
			    (unsigned long long)sum, (unsigned long long)checksum,
			    sum == checksum ? "ok" : "MISMATCH", tag);
		} else if (line[0]) {
			say("unknown command '%s' (want: hot MIB [TAG], map [TAG], verify [TAG])", line);
		}
	}
	return changed;
}

int main(void)
{
	unsigned long total = env_num("total", 256, 10), i, w, passes = 0, last_passes = 0;
	const struct timespec nap = { 0, 20 * 1000 * 1000 };
	struct termios tio;
	bool announce = true;
	double last, start;

	if (getpid() == 1)
		setup_init();
	/* CLOCK_MONOTONIC starts near boot: how long the kernel took. */
	start = now();
	say("started uptime=%.1f s", start);
	magic = env_num("magic", 0x686f7400, 16) & 0xffffffffUL;

	total_pages = total * MIB / PAGE;
	mem = mmap(NULL, total_pages * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		fail("mmap");
	/* 4K pages, so that the guest's page tables are what the header says. */
	madvise(mem, total_pages * PAGE, MADV_NOHUGEPAGE);
	for (i = 0; i < total_pages; i++) {
		uint64_t *p = (uint64_t *)(mem + i * PAGE);

		for (w = 0; w < WORDS; w += STEP)
			p[w] = pattern(i, w);
		if ((i + 1) % (64 * MIB / PAGE) == 0 && i + 1 < total_pages)
			say("wrote %lu MiB of %lu at %.1f s", (i + 1) * PAGE / MIB, total, now());
	}
	checksum = sum_all();
	say("ready total=%lu MiB pages=%lu checksum=%016llx in %.1f s", total, total_pages,
	    (unsigned long long)checksum, now() - start);

	if (!tcgetattr(0, &tio)) {
		tio.c_lflag &= ~(ECHO | ECHONL);
		tcsetattr(0, TCSANOW, &tio);
	}
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);

	set_hot(env_num("hot", 0, 10));
	last = now();
	for (;;) {
		for (i = 0; i < hot_pages; i++) {
			volatile uint64_t *p = (volatile uint64_t *)(mem + i * PAGE);

			*p = *p;
		}
		/* The stores happen now, not after some later pass. */
		asm volatile("" : : : "memory");
		if (!hot_pages)
			nanosleep(&nap, NULL);
		passes++;
		if (announce) {
			say("active hot=%lu MiB tag=%s", hot_pages * PAGE / MIB, tag);
			announce = false;
		}
		if (poll_command())
			announce = true;
		if (now() - last >= REPORT_SECS) {
			double t = now();

			say("hot=%lu MiB passes=%lu rate=%.1f/s", hot_pages * PAGE / MIB,
			    passes, (passes - last_passes) / (t - last));
			last = t;
			last_passes = passes;
		}
	}
}
