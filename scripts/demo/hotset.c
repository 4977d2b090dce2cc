// SPDX-License-Identifier: GPL-2.0
/*
 * hotset: the workload of the kvm-idle demo's inner guest.
 *
 * Runs as /init of a tiny initramfs (built statically by
 * scripts/demo/build-guest.sh).  Parameters come from the kernel command
 * line, which the kernel hands to init as environment variables:
 *
 *   total=MIB  memory to allocate and write once (default 256)
 *   hot=MIB    the hot set: the first MIB of it, written again in a loop
 *              (default 0)
 *
 * It allocates total MiB of anonymous memory (no THP), writes one byte in
 * every 4K page, then loops over the hot set forever, writing one byte in
 * every page of it per pass.  A line "hot N [TAG]" on the console changes the
 * hot set to the first N MiB; TAG, if given, is repeated in the two replies,
 * so that the sender can tell them from older ones.  It reports on the
 * console (the serial port):
 *
 *   hotset: started uptime=12.3 s
 *   hotset: wrote 64 MiB of 256 at 14.0 s
 *   ...
 *   hotset: ready total=256 MiB pages=65536 in 8.1 s
 *   hotset: hot set now hot=32 MiB pages=8192 present=8192 pte_pages=16 frames2m=17 tag=2
 *   hotset: active hot=32 MiB tag=2
 *   hotset: hot=32 MiB passes=1234 rate=246.8/s
 *
 * "present" counts the hot pages that /proc/self/pagemap shows resident,
 * "pte_pages" the last-level page-table pages that map them (one per 2 MiB
 * of virtual addresses), "frames2m" the 2M guest-physical frames they lie
 * in.  The guest physical memory the loop touches is the hot set plus those
 * page-table pages (the MMU sets their Accessed bits as it walks), plus the
 * few pages of this program's code and stack and what the guest kernel does
 * meanwhile (timer interrupts).  "active" comes after the first complete
 * pass over a new hot set.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
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
#define MIB		(1024UL * 1024)
#define REPORT_SECS	5

static unsigned char *mem;
static unsigned long total_pages, hot_pages;
static char tag[32];

static void say(const char *fmt, ...)
{
	char buf[256];
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

static void setup_init(void)
{
	int fd;

	mkdir("/proc", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
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

static unsigned long env_mib(const char *name, unsigned long def)
{
	const char *s = getenv(name);

	return s && *s ? strtoul(s, NULL, 10) : def;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
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
				f = (ent[j] & (0x7fffffffffffffULL)) >> 9;
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

/* Handle complete "hot N" lines from the console; non-blocking. */
static bool poll_command(void)
{
	static char line[64];
	static size_t len;
	bool changed = false;
	ssize_t n;
	char c;

	while ((n = read(0, &c, 1)) == 1) {
		if (c != '\n' && c != '\r') {
			if (len < sizeof(line) - 1)
				line[len++] = c;
			continue;
		}
		line[len] = 0;
		len = 0;
		if (!strncmp(line, "hot ", 4)) {
			char *end;
			unsigned long mib = strtoul(line + 4, &end, 10);

			snprintf(tag, sizeof(tag), "%s", end + strspn(end, " "));
			set_hot(mib);
			changed = true;
		} else if (line[0]) {
			say("unknown command '%s' (want: hot MIB [TAG])", line);
		}
	}
	return changed;
}

int main(void)
{
	unsigned long total = env_mib("total", 256), i, passes = 0, last_passes = 0;
	struct termios tio;
	bool announce = true;
	double last, start;

	if (getpid() == 1)
		setup_init();
	/* CLOCK_MONOTONIC starts near boot: how long the kernel took. */
	start = now();
	say("started uptime=%.1f s", start);

	total_pages = total * MIB / PAGE;
	mem = mmap(NULL, total_pages * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		fail("mmap");
	/* 4K pages, so that the guest's page tables are what the header says. */
	madvise(mem, total_pages * PAGE, MADV_NOHUGEPAGE);
	for (i = 0; i < total_pages; i++) {
		mem[i * PAGE] = 1;
		if ((i + 1) % (64 * MIB / PAGE) == 0 && i + 1 < total_pages)
			say("wrote %lu MiB of %lu at %.1f s", (i + 1) * PAGE / MIB, total, now());
	}
	asm volatile("" : : : "memory");
	say("ready total=%lu MiB pages=%lu in %.1f s", total, total_pages, now() - start);

	if (!tcgetattr(0, &tio)) {
		tio.c_lflag &= ~(ECHO | ECHONL);
		tcsetattr(0, TCSANOW, &tio);
	}
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);

	set_hot(env_mib("hot", 0));
	last = now();
	for (;;) {
		for (i = 0; i < hot_pages; i++)
			mem[i * PAGE]++;
		/* The stores happen now, not after some later pass. */
		asm volatile("" : : : "memory");
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
