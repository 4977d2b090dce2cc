// SPDX-License-Identifier: GPL-2.0
/*
 * numa-where: on which NUMA node the memory of a demo guest is, measured on
 * the host, independently of kvm_idle.
 *
 *   numa-where PID MEM_MIB MAGIC HOT_PAGES TOTAL_PAGES < RANGES
 *
 * PID is a qemu-system-x86_64 whose guest runs scripts/demo/hotset.c, with
 * -m MEM_MIB; MAGIC (hex) and HOT_PAGES/TOTAL_PAGES are that hotset's magic=,
 * hot set and total, in 4K pages.  RANGES is what the guest printed for its
 * "map" command, one range a line: "hot PFN COUNT" or "cold PFN COUNT"
 * (guest-physical frame numbers, 4K pages).
 *
 * Guest-physical to host-virtual: with -M pc and -m below the PCI hole
 * (3.5 GiB), QEMU backs all guest RAM with one anonymous mapping ("pc.ram")
 * and every KVM memslot of it (RAM below 640K, and from 1M on: the VGA and
 * ROM holes between only overlay it) points into that mapping at the same
 * offset, so HVA = base + GPA.  The base is found in /proc/PID/maps: the
 * anonymous mappings of at least MEM_MIB are the candidates, and the one
 * where the pages of the guest's own map carry the guest's magic and an
 * index of the right class in their first word (hotset writes
 * MAGIC << 32 | index there) is it.  Every measured page is checked that way
 * (read from /proc/PID/mem), so a wrong base or a stale map cannot go
 * unnoticed: such a page counts as "bad".
 *
 * The node of each page comes from move_pages(2) with a NULL node list
 * (query only: nothing moves).  Output, page counts:
 *
 *   base=0x7f0a00000000 mem_pages=98304
 *   hot pages=8192 node0=8192 node1=0 other=0 absent=0 bad=0
 *   cold pages=40960 node0=12 node1=40948 other=0 absent=0 bad=0
 *   all pages=98304 node0=20000 node1=41000 other=0 absent=37304 bad=0
 *
 * "all" is every page of the guest's RAM mapping (absent: never touched, or
 * not resident).  Exit status 0, or 1 on an error (message on stderr).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE	((uint64_t)4096)
#define BATCH	1024	/* pages per move_pages() call */
#define MAXNODE	64

struct range {
	int hot;
	uint64_t pfn, count;
};

struct count {
	uint64_t pages, node[MAXNODE], other, absent, bad;
};

static pid_t pid;
static uint64_t magic, hot_pages, total_pages;

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("numa-where: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/*
 * Word 0 of n pages at host-virtual addr[]; 0 where it cannot be read.
 * /proc/PID/mem rather than process_vm_readv(2), which the test kernel
 * lacks (CONFIG_CROSS_MEMORY_ATTACH).
 */
static void read_words(void *const *addr, uint64_t *word, size_t n)
{
	static int fd = -1;
	size_t i;

	if (fd < 0) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			die("%s: %s", path, strerror(errno));
	}
	for (i = 0; i < n; i++)
		if (pread(fd, &word[i], 8, (off_t)(uintptr_t)addr[i]) != 8)
			word[i] = 0;
}

static int word_ok(uint64_t w, int hot)
{
	uint64_t idx = w & 0xffffffffULL;

	if (w >> 32 != magic)
		return 0;
	if (hot < 0)
		return 1;
	return hot ? idx < hot_pages : idx >= hot_pages && idx < total_pages;
}

/* Count the nodes of n pages from base + pfn * 4K; check word 0 when hot >= 0. */
static void measure(struct count *c, uint64_t base, uint64_t pfn, uint64_t n, int hot)
{
	void *addr[BATCH];
	uint64_t word[BATCH];
	int status[BATCH];
	uint64_t i, j, m;

	for (i = 0; i < n; i += m) {
		m = n - i < BATCH ? n - i : BATCH;
		for (j = 0; j < m; j++)
			addr[j] = (void *)(uintptr_t)(base + (pfn + i + j) * PAGE);
		/* Every argument as a long: flags goes on the stack, whole. */
		if (syscall(SYS_move_pages, (long)pid, (long)m, addr, NULL, status, 0L) < 0)
			die("move_pages(%d): %s", (int)pid, strerror(errno));
		if (hot >= 0)
			read_words(addr, word, m);
		for (j = 0; j < m; j++) {
			c->pages++;
			if (status[j] >= 0 && status[j] < MAXNODE)
				c->node[status[j]]++;
			else if (status[j] == -ENOENT || status[j] == -EFAULT)
				c->absent++;
			else
				c->other++;
			if (hot >= 0 && !word_ok(word[j], hot))
				c->bad++;
		}
	}
}

static void print(const char *what, const struct count *c)
{
	int i;

	printf("%s pages=%" PRIu64, what, c->pages);
	for (i = 0; i < 2; i++)
		printf(" node%d=%" PRIu64, i, c->node[i]);
	for (i = 2; i < MAXNODE; i++)
		if (c->node[i])
			printf(" node%d=%" PRIu64, i, c->node[i]);
	printf(" other=%" PRIu64 " absent=%" PRIu64 " bad=%" PRIu64 "\n",
	       c->other, c->absent, c->bad);
}

int main(int argc, char **argv)
{
	struct range *r = NULL;
	size_t nr = 0, alloc = 0, i;
	uint64_t mem, base = 0, lo, hi;
	struct count hot = { 0 }, cold = { 0 }, all = { 0 };
	char line[512], kind[8], path[64];
	FILE *f;

	if (argc != 6)
		die("usage: numa-where PID MEM_MIB MAGIC HOT_PAGES TOTAL_PAGES < RANGES");
	pid = atoi(argv[1]);
	mem = strtoull(argv[2], NULL, 10) << 20;
	magic = strtoull(argv[3], NULL, 16);
	hot_pages = strtoull(argv[4], NULL, 10);
	total_pages = strtoull(argv[5], NULL, 10);

	while (fgets(line, sizeof(line), stdin)) {
		struct range x;

		if (sscanf(line, "%7s %" SCNi64 " %" SCNu64, kind, &x.pfn, &x.count) != 3 ||
		    (strcmp(kind, "hot") && strcmp(kind, "cold")))
			die("bad range line: %s", line);
		x.hot = !strcmp(kind, "hot");
		if ((x.pfn + x.count) * PAGE > mem)
			die("range 0x%" PRIx64 "+%" PRIu64 " lies beyond -m %" PRIu64 " MiB",
			    x.pfn, x.count, mem >> 20);
		if (nr == alloc) {
			alloc = alloc ? 2 * alloc : 256;
			r = realloc(r, alloc * sizeof(*r));
			if (!r)
				die("out of memory");
		}
		r[nr++] = x;
	}
	if (!nr)
		die("no ranges on standard input");

	/* The candidates for the base: anonymous mappings of at least -m. */
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		die("%s: %s", path, strerror(errno));
	while (!base && fgets(line, sizeof(line), f)) {
		char perm[8];
		int name = 0;
		uint64_t cand[2];
		int k;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %*s %*s %*s %n", &lo, &hi, perm,
			   &name) < 3 || hi - lo < mem || strncmp(perm, "rw", 2))
			continue;
		if (name && line[name] && line[name] != '\n')
			continue;
		cand[0] = lo;
		cand[1] = hi - mem;
		for (k = 0; k < 2 && !base; k++) {
			struct count t = { 0 };

			/* Every range's first page must be right. */
			for (i = 0; i < nr; i++)
				measure(&t, cand[k], r[i].pfn, 1, r[i].hot);
			if (!t.bad)
				base = cand[k];
		}
	}
	fclose(f);
	if (!base)
		die("no mapping of pid %d holds this guest's pages at base + GPA (magic %" PRIx64
		    "): not a hotset guest, or its map is stale", (int)pid, magic);

	for (i = 0; i < nr; i++)
		measure(r[i].hot ? &hot : &cold, base, r[i].pfn, r[i].count, r[i].hot);
	measure(&all, base, 0, mem / PAGE, -1);
	printf("base=0x%" PRIx64 " mem_pages=%" PRIu64 "\n", base, mem / PAGE);
	print("hot", &hot);
	print("cold", &cold);
	print("all", &all);
	return 0;
}
