// SPDX-License-Identifier: GPL-2.0-only
/*
 * idle_bitmap_hostmap_test: reads never change the host's mappings.
 *
 * A clearing call marks the folios whose Accessed state it cleared young,
 * through the VMM's own page tables.  That walk must take every kind of
 * huge entry as it is: a PMD that maps DAX memory, and a PMD migration entry
 * of a THP that is being migrated, are not page tables, and splitting them
 * would break the host's huge mapping and KVM's huge SPTEs with it.
 * /proc/vmstat's thp_split_pmd counts every split of a PMD mapping (a DAX
 * PMD is zapped, and counted too); the guest runs nothing else that splits,
 * so it must not grow while the scanner runs.
 *
 * - DAX: guest memory is a file on an ext4 filesystem mounted -o dax on
 *   pmem (scripts/guest-tests.sh makes one and sets KVM_IDLE_DAX_DIR).  The
 *   host maps it with DAX PMDs (PAGEMAP_SCAN's PAGE_IS_HUGE shows it), and
 *   KVM with 2M SPTEs.  Clearing passes while the guest reads it must leave
 *   both, and report the guest's reads.
 * - THP migration: move_pages() moves the guest's THPs between NUMA nodes 0
 *   and 1 while the guest writes them, first without a scanner and then
 *   with one that clears continuously.
 */
#define _GNU_SOURCE	/* statx(), fallocate() */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/fs.h>

#include "kvm_util.h"
#include "test_util.h"

#include "idle_bitmap_util.h"

#define NR_VCPUS	2
#define DAX_SIZE	(32UL << 20)
#define DAX_PASSES	20
#define MIGRATE_SIZE	(16UL << 20)
#define MIGRATE_MS	6000

static uint64_t vmstat_read(const char *name)
{
	char key[64];
	uint64_t val, ret = 0;
	bool found = false;
	FILE *f = fopen("/proc/vmstat", "r");

	TEST_ASSERT(f, "open /proc/vmstat");
	while (fscanf(f, "%63s %lu", key, &val) == 2) {
		if (!strcmp(key, name)) {
			ret = val;
			found = true;
			break;
		}
	}
	fclose(f);
	TEST_ASSERT(found, "no %s in /proc/vmstat (CONFIG_VM_EVENT_COUNTERS)", name);
	return ret;
}

/* Bytes of [addr, addr + len) that the host maps with huge entries. */
static uint64_t host_huge_bytes(void *addr, uint64_t len)
{
	struct page_region regs[64];
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = (uintptr_t)addr,
		.end = (uintptr_t)addr + len,
		.vec = (uintptr_t)regs,
		.vec_len = 64,
		.category_mask = PAGE_IS_HUGE,
		.return_mask = PAGE_IS_HUGE,
	};
	uint64_t bytes = 0;
	long n, i;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	TEST_ASSERT(fd >= 0, "open /proc/self/pagemap");
	do {
		n = ioctl(fd, PAGEMAP_SCAN, &arg);
		TEST_ASSERT(n >= 0, "PAGEMAP_SCAN: %s", strerror(errno));
		for (i = 0; i < n; i++)
			bytes += regs[i].end - regs[i].start;
		arg.start = arg.walk_end;
	} while (arg.walk_end < arg.end);
	close(fd);
	return bytes;
}

/*
 * One clearing pass over @s, alternately through read() with a 4K buffer
 * and IDLE_BITMAP_SCAN with 512 records.  Returns the pages reported
 * ACCESSED.
 */
static uint64_t clearing_pass(int fd, const struct idle_seg *s, unsigned long i)
{
	struct idle_map m;
	uint64_t n;

	idle_map_init(&m, (uintptr_t)s->hva, s->size / IDLE_PAGE_SIZE);
	if (i & 1)
		idle_map_ioctl(&m, fd, IDLE_BITMAP_SCAN_CLEAR, 512);
	else
		idle_map_read(&m, fd, 4096);
	n = idle_map_count(&m, IBD_ACCESSED);
	idle_map_free(&m);
	return n;
}

/* @size bytes of @fd mapped shared at a 2M-aligned address. */
static void *map_aligned(int fd, uint64_t size)
{
	uint8_t *area = mmap(NULL, size + IDLE_HUGE_SIZE, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint8_t *hva;

	TEST_ASSERT(area != MAP_FAILED, "mmap");
	hva = (uint8_t *)(((uintptr_t)area + IDLE_HUGE_SIZE - 1) & ~(IDLE_HUGE_SIZE - 1));
	TEST_ASSERT(mmap(hva, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == hva,
		    "mmap of the DAX file: %s", strerror(errno));
	return hva;
}

static void test_dax(void)
{
	const char *dir = getenv("KVM_IDLE_DAX_DIR");
	uint64_t split0, split1, huge0, huge1, p2m0, p2m1, accessed = 0;
	struct idle_seg *s;
	struct idle_vm *v;
	struct statx stx;
	char path[4096];
	uint8_t *hva;
	unsigned long i;
	int fd, rw;

	if (!dir || !*dir)
		idle_skip("DAX: no DAX filesystem: set KVM_IDLE_DAX_DIR to a directory %s",
			  "of a filesystem mounted -o dax");
	snprintf(path, sizeof(path), "%s/guest-memory-XXXXXX", dir);
	fd = mkstemp(path);
	TEST_ASSERT(fd >= 0, "create a file in %s: %s", dir, strerror(errno));
	unlink(path);
	TEST_ASSERT(!statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) &&
		    (stx.stx_attributes_mask & STATX_ATTR_DAX) &&
		    (stx.stx_attributes & STATX_ATTR_DAX),
		    "a file in %s is not DAX (statx STATX_ATTR_DAX); mount the filesystem -o dax",
		    dir);
	TEST_ASSERT(!fallocate(fd, 0, 0, DAX_SIZE), "fallocate %lu bytes: %s", DAX_SIZE,
		    strerror(errno));
	hva = map_aligned(fd, DAX_SIZE);
	memset(hva, 0, DAX_SIZE);
	huge0 = host_huge_bytes(hva, DAX_SIZE);
	ksft_print_msg("DAX: the host maps %lu of %lu MiB of the file with PMDs\n",
		       huge0 >> 20, DAX_SIZE >> 20);
	TEST_ASSERT(huge0 == DAX_SIZE,
		    "the host does not map the DAX file with PMDs (its extents must be 2M-aligned on pmem)");

	v = idle_vm_create(NR_VCPUS);
	s = idle_vm_add_seg_hva(v, hva, DAX_SIZE);
	idle_fill_pattern(v, s);
	idle_plan_set(v, s, IDLE_OP_VERIFY);
	idle_vm_step(v);
	p2m0 = vm_get_stat(v->vm, "pages_2m");
	TEST_ASSERT(p2m0 >= DAX_SIZE / IDLE_HUGE_SIZE,
		    "KVM maps the DAX memory with 2M pages (pages_2m %lu)", p2m0);

	rw = idle_open(0, O_RDWR);
	clearing_pass(rw, s, 0);
	split0 = vmstat_read("thp_split_pmd");
	idle_vcpus_start(v);
	for (i = 0; i < DAX_PASSES; i++) {
		usleep(20000);
		accessed += clearing_pass(rw, s, i);
	}
	idle_vcpus_pause(v);
	split1 = vmstat_read("thp_split_pmd");
	huge1 = host_huge_bytes(hva, DAX_SIZE);
	p2m1 = vm_get_stat(v->vm, "pages_2m");
	idle_vcpus_resume(v);
	idle_vcpus_stop(v);
	ksft_print_msg("DAX: %d clearing passes reported %lu pages ACCESSED\n", DAX_PASSES,
		       accessed);
	ksft_print_msg("DAX: thp_split_pmd %lu -> %lu; host PMD-mapped %lu -> %lu MiB\n",
		       split0, split1, huge0 >> 20, huge1 >> 20);
	ksft_print_msg("DAX: KVM pages_2m %lu -> %lu\n", p2m0, p2m1);
	TEST_ASSERT(accessed, "the clearing passes reported none of the guest's reads");
	TEST_ASSERT(split1 == split0,
		    "clearing passes split %lu of the host's PMD mappings", split1 - split0);
	TEST_ASSERT(huge1 == DAX_SIZE, "after the passes the host maps %lu of %lu MiB with PMDs",
		    huge1 >> 20, DAX_SIZE >> 20);
	TEST_ASSERT(p2m1 >= p2m0, "KVM's 2M mappings went from %lu to %lu", p2m0, p2m1);
	idle_check_pattern(v, s);
	close(rw);
	idle_vm_free(v);
	close(fd);
}

struct migrator {
	pthread_t thread;
	uint8_t *hva;
	uint64_t size;
	bool stop;
	unsigned long rounds, moved, failed;
	int last_err;
};

/* Move every THP of the segment to node 1, then back to node 0, until stopped. */
static void *migrator_fn(void *arg)
{
	struct migrator *m = arg;

	for (; !READ_ONCE(m->stop); m->rounds++)
		m->moved += idle_move_huge(m->hva, m->size, (m->rounds & 1) ? 0 : 1, &m->failed,
					   &m->last_err);
	return NULL;
}

/* Migrate for MIGRATE_MS, clearing continuously if @scan; thp_split_pmd's growth. */
static uint64_t migrate_phase(struct idle_vm *v, struct idle_seg *s, bool scan)
{
	struct migrator m = { .hva = s->hva, .size = s->size };
	uint64_t split0, split1, t_end, accessed = 0;
	unsigned long passes = 0;
	int rw = idle_open(0, O_RDWR);
	const char *what;

	split0 = vmstat_read("thp_split_pmd");
	idle_vcpus_start(v);
	pthread_create(&m.thread, NULL, migrator_fn, &m);
	t_end = idle_now_ms() + MIGRATE_MS;
	while (idle_now_ms() < t_end) {
		if (scan)
			accessed += clearing_pass(rw, s, passes++);
		else
			usleep(10000);
	}
	WRITE_ONCE(m.stop, true);
	pthread_join(m.thread, NULL);
	idle_vcpus_stop(v);
	split1 = vmstat_read("thp_split_pmd");
	close(rw);
	what = scan ? "with a clearing scanner" : "without a scanner";
	ksft_print_msg("THP migration %s: %lu rounds, %lu THPs moved, %lu not moved (%s)\n",
		       what, m.rounds, m.moved, m.failed, m.failed ? strerror(m.last_err) : "-");
	ksft_print_msg("THP migration %s: %lu clearing passes reported %lu pages ACCESSED\n",
		       what, passes, accessed);
	ksft_print_msg("THP migration %s: thp_split_pmd %lu -> %lu; THP %lu of %lu MiB\n",
		       what, split0, split1, idle_thp_bytes(s->hva) >> 20, s->size >> 20);
	TEST_ASSERT(m.moved, "move_pages() moved no THP between nodes 0 and 1");
	TEST_ASSERT(!scan || accessed, "the clearing passes reported none of the guest's writes");
	return split1 - split0;
}

/* Print a NUMA node's free memory (to explain a migration that fails). */
static void print_node_free(int node)
{
	char path[128], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/meminfo", node);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "MemFree") || strstr(line, "MemTotal") ||
		    strstr(line, "HugePages_Total"))
			ksft_print_msg("%s", line);
	fclose(f);
	snprintf(path, sizeof(path),
		 "/sys/devices/system/node/node%d/hugepages/hugepages-1048576kB/nr_hugepages",
		 node);
	f = fopen(path, "r");
	if (f && fgets(line, sizeof(line), f))
		ksft_print_msg("Node %d 1G hugetlb pages: %s", node, line);
	if (f)
		fclose(f);
}

static void test_migration(void)
{
	uint64_t ctrl, scan;
	struct idle_seg *s;
	struct idle_vm *v;

	if (access("/sys/devices/system/node/node1", F_OK))
		idle_skip("NUMA: the THP migration test needs NUMA nodes 0 and 1");
	if (!idle_thp_enable())
		idle_skip("THP: transparent huge pages are not available");
	v = idle_vm_create(NR_VCPUS);
	s = idle_vm_add_seg(v, VM_MEM_SRC_ANONYMOUS_THP, MIGRATE_SIZE);
	idle_fill_pattern(v, s);
	idle_plan_set(v, s, IDLE_OP_VERIFY_WRITE);
	idle_vm_step(v);
	TEST_ASSERT(idle_thp_bytes(s->hva) == s->size, "the segment is THP %lu of %lu MiB",
		    idle_thp_bytes(s->hva) >> 20, s->size >> 20);

	print_node_free(0);
	print_node_free(1);
	ctrl = migrate_phase(v, s, false);
	TEST_ASSERT(!ctrl, "migration alone split %lu PMDs: the test cannot tell the scanner's",
		    ctrl);
	scan = migrate_phase(v, s, true);
	TEST_ASSERT(!scan, "the scanner split %lu PMD mappings of THPs under migration", scan);
	idle_check_pattern(v, s);
	idle_vm_free(v);
}

static const struct idle_test tests[] = {
	{ "DAX: clearing passes keep the host's PMD mappings", test_dax },
	{ "THP migration: a clearing scanner splits no PMD", test_migration },
};

int main(void)
{
	idle_require_support();
	return idle_run_tests(tests, ARRAY_SIZE(tests));
}
