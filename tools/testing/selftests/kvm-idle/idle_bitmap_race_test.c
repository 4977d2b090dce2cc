// SPDX-License-Identifier: GPL-2.0-only
/*
 * idle_bitmap_race_test: scanners racing with whatever changes KVM's
 * mappings.
 *
 * Four scanner threads (a peek and a clear by read(), a peek and a clear by
 * IDLE_BITMAP_SCAN, some clears without the flush) walk the whole address
 * space of the VMM process over and over, checking every reply, while one of
 * these happens:
 *  - only the vCPUs run; afterwards, with them stopped, a clear and a peek
 *    must find no page accessed;
 *  - a memslot is deleted and added back, again and again;
 *  - guest memory is zapped with MADV_DONTNEED, or unmapped and mapped again;
 *  - huge pages are split: dirty logging is turned on (KVM splits its 2M
 *    mappings and write-protects) and off (KVM recovers them) while the guest
 *    writes, and 4K pieces of THPs are made read-only and writable again
 *    (the host splits the THP);
 *  - VMs are created, run and destroyed next to a running one;
 *  - the VMM process exits, on its own or by SIGKILL, while its parent scans
 *    it; afterwards read() gives 0 and IDLE_BITMAP_SCAN ESRCH.
 *
 * The guest checks a checksummed pattern in every page it reads, and at the
 * end the host checks every byte of the memory that was not thrown away on
 * purpose: a walker that broke a mapping, or wrote where it should not, is
 * caught here; the debug kernel's checks (lockdep, KASAN, ...) catch the rest
 * in the log.  Each case runs for IDLE_RACE_MS milliseconds (default 4000),
 * and at least MIN_ROUNDS rounds of its disruption: a pass shows that these
 * interleavings did no harm, not that none can.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kvm_util.h"
#include "test_util.h"

#include "idle_bitmap_util.h"

#define MB		(1024 * 1024UL)
#define NR_SCANNERS	4
/* However slow the machine, each race runs at least this many rounds. */
#define MIN_ROUNDS	3

struct race {
	bool stop;
	struct idle_scanner sc[NR_SCANNERS];
};

static uint64_t race_ms(void)
{
	const char *env = getenv("IDLE_RACE_MS");

	return env ? strtoul(env, NULL, 0) : 4000;
}

static void scanners_start(struct race *r, pid_t pid, bool may_exit)
{
	int i;

	WRITE_ONCE(r->stop, false);
	for (i = 0; i < NR_SCANNERS; i++) {
		struct idle_scanner *s = &r->sc[i];

		memset(s, 0, sizeof(*s));
		s->clear = i >= 2;
		s->use_ioctl = i % 2;
		s->fd = idle_open(pid, s->clear ? O_RDWR : O_RDONLY);
		s->stop = &r->stop;
		s->target_may_exit = may_exit;
		idle_scanner_start(s);
	}
}

static void scanners_stop(struct race *r, bool report)
{
	int i;

	WRITE_ONCE(r->stop, true);
	for (i = 0; i < NR_SCANNERS; i++) {
		idle_scanner_join(&r->sc[i]);
		close(r->sc[i].fd);
		TEST_ASSERT(r->sc[i].calls, "scanner %d never ran", i);
	}
	if (report)
		ksft_print_msg("scanner calls: %lu %lu %lu %lu\n", r->sc[0].calls,
			       r->sc[1].calls, r->sc[2].calls, r->sc[3].calls);
}

static void sleep_ms(unsigned int ms)
{
	usleep(ms * 1000);
}

static struct idle_seg *add_checked_seg(struct idle_vm *v, enum vm_mem_backing_src_type src,
					uint64_t size, enum idle_op op)
{
	struct idle_seg *s = idle_vm_add_seg(v, src, size);

	idle_fill_pattern(v, s);
	idle_plan_set(v, s, op);
	return s;
}

static void check_vcpus_ran(struct idle_vm *v)
{
	int i;

	for (i = 0; i < v->nr_vcpus; i++)
		TEST_ASSERT(READ_ONCE(v->vt[i].passes), "vCPU %d made no pass", i);
}

static void race_vcpus_only(void)
{
	struct idle_recs rec = {};
	struct race r = {};
	struct idle_map m;
	struct idle_vm *v;
	struct idle_seg *s;
	int ro, rw, i;

	idle_thp_enable();
	v = idle_vm_create(2);
	add_checked_seg(v, VM_MEM_SRC_ANONYMOUS_THP, 16 * MB, IDLE_OP_VERIFY_WRITE);
	add_checked_seg(v, VM_MEM_SRC_ANONYMOUS, 8 * MB, IDLE_OP_VERIFY);
	idle_vcpus_start(v);
	scanners_start(&r, 0, false);
	sleep_ms(race_ms());
	scanners_stop(&r, true);
	idle_vcpus_stop(v);
	check_vcpus_ran(v);

	/* Quiet now: after a clear, a peek finds nothing accessed. */
	rw = idle_open(0, O_RDWR);
	ro = idle_open(0, O_RDONLY);
	for (i = 0; i < v->nr_segs; i++) {
		s = &v->seg[i];
		idle_check_pattern(v, s);
		/* Whole huge pages: a cut one is not cleared. */
		idle_ioctl_range(rw, IDLE_BITMAP_SCAN_CLEAR, (uintptr_t)s->hva,
				 (uintptr_t)s->hva + s->size, IDLE_MAX_VEC, &rec);
		idle_map_init(&m, (uintptr_t)s->hva, s->size / IDLE_PAGE_SIZE);
		idle_map_read(&m, ro, IDLE_MAX_BUF);
		TEST_ASSERT(!idle_map_count(&m, IBD_ACCESSED),
			    "slot %u: %lu of %lu pages accessed after a clear", s->slot,
			    idle_map_count(&m, IBD_ACCESSED), m.npages);
		idle_map_free(&m);
	}
	idle_recs_free(&rec);
	close(rw);
	close(ro);
	idle_vm_free(v);
}

static void race_memslot_delete(void)
{
	struct kvm_userspace_memory_region2 region, gone;
	uint64_t deadline = idle_now_ms() + race_ms(), iter = 0;
	struct race r = {};
	struct idle_vm *v;
	struct idle_seg *s1, *s2;

	idle_thp_enable();
	v = idle_vm_create(2);
	s1 = add_checked_seg(v, VM_MEM_SRC_ANONYMOUS_THP, 8 * MB, IDLE_OP_VERIFY);
	s2 = add_checked_seg(v, VM_MEM_SRC_ANONYMOUS, 8 * MB, IDLE_OP_VERIFY);
	region = memslot2region(v->vm, s2->slot)->region;
	gone = region;
	gone.memory_size = 0;

	idle_vcpus_start(v);
	scanners_start(&r, 0, false);
	while (iter < MIN_ROUNDS || idle_now_ms() < deadline) {
		/* The guest must not touch the memslot while it is gone. */
		idle_vcpus_pause(v);
		idle_plan_set(v, s2, IDLE_OP_NONE);
		idle_vm_sync(v);
		vm_ioctl(v->vm, KVM_SET_USER_MEMORY_REGION2, &gone);
		idle_vcpus_resume(v);
		sleep_ms(random() % 20);

		idle_vcpus_pause(v);
		vm_ioctl(v->vm, KVM_SET_USER_MEMORY_REGION2, &region);
		idle_plan_set(v, s2, IDLE_OP_VERIFY);
		idle_vm_sync(v);
		idle_vcpus_resume(v);
		sleep_ms(random() % 20);
		iter++;
	}
	scanners_stop(&r, true);
	idle_vcpus_stop(v);
	check_vcpus_ran(v);
	ksft_print_msg("%lu deletions\n", iter);
	idle_check_pattern(v, s1);
	idle_check_pattern(v, s2);
	idle_vm_free(v);
}

static void race_dontneed_munmap(void)
{
	uint64_t deadline = idle_now_ms() + race_ms(), iter = 0;
	struct race r = {};
	struct idle_vm *v;
	struct idle_seg *s1, *s3;

	idle_thp_enable();
	v = idle_vm_create(2);
	s1 = add_checked_seg(v, VM_MEM_SRC_ANONYMOUS_THP, 8 * MB, IDLE_OP_VERIFY);
	/* Its content is thrown away: the guest only reads it. */
	s3 = add_checked_seg(v, VM_MEM_SRC_ANONYMOUS_THP, 8 * MB, IDLE_OP_READ);

	idle_vcpus_start(v);
	scanners_start(&r, 0, false);
	while (iter < MIN_ROUNDS || idle_now_ms() < deadline) {
		uint64_t off = random() % (s3->size / IDLE_PAGE_SIZE) * IDLE_PAGE_SIZE;
		uint64_t len = min(s3->size - off, (1 + random() % 1024) * IDLE_PAGE_SIZE);

		TEST_ASSERT(!madvise(s3->hva + off, len, MADV_DONTNEED), "MADV_DONTNEED");
		if (iter++ % 4 == 0) {
			/* No guest access may find it unmapped. */
			off = random() % (s3->size / IDLE_HUGE_SIZE) * IDLE_HUGE_SIZE;
			idle_vcpus_pause(v);
			TEST_ASSERT(!munmap(s3->hva + off, IDLE_HUGE_SIZE), "munmap");
			sleep_ms(random() % 5);
			TEST_ASSERT(mmap(s3->hva + off, IDLE_HUGE_SIZE, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
				    s3->hva + off, "mmap(MAP_FIXED)");
			madvise(s3->hva + off, IDLE_HUGE_SIZE, MADV_HUGEPAGE);
			idle_vcpus_resume(v);
		}
		sleep_ms(random() % 10);
	}
	scanners_stop(&r, true);
	idle_vcpus_stop(v);
	check_vcpus_ran(v);
	ksft_print_msg("%lu zaps\n", iter);
	idle_check_pattern(v, s1);
	idle_vm_free(v);
}

static void race_split(void)
{
	uint64_t deadline = idle_now_ms() + race_ms(), iter = 0;
	unsigned long *bitmap;
	struct race r = {};
	struct idle_vm *v;
	struct idle_seg *s1, *s4;

	if (!idle_thp_enable())
		idle_skip("transparent hugepages not available");
	v = idle_vm_create(2);
	s1 = add_checked_seg(v, VM_MEM_SRC_ANONYMOUS_THP, 16 * MB, IDLE_OP_VERIFY_WRITE);
	s4 = add_checked_seg(v, VM_MEM_SRC_ANONYMOUS_THP, 8 * MB, IDLE_OP_VERIFY);
	bitmap = calloc(s1->size / IDLE_PAGE_SIZE / 8, 1);
	TEST_ASSERT(bitmap, "out of memory");

	idle_vcpus_start(v);
	scanners_start(&r, 0, false);
	while (iter < MIN_ROUNDS || idle_now_ms() < deadline) {
		uint8_t *page = s4->hva + random() % (s4->size / IDLE_PAGE_SIZE) * IDLE_PAGE_SIZE;

		vm_mem_region_set_flags(v->vm, s1->slot, KVM_MEM_LOG_DIRTY_PAGES);
		sleep_ms(random() % 10);
		kvm_vm_get_dirty_log(v->vm, s1->slot, bitmap);
		sleep_ms(random() % 10);
		vm_mem_region_set_flags(v->vm, s1->slot, 0);

		/* The guest only reads s4: read-only for a moment is fine. */
		TEST_ASSERT(!mprotect(page, IDLE_PAGE_SIZE, PROT_READ), "mprotect(PROT_READ)");
		sleep_ms(random() % 10);
		TEST_ASSERT(!mprotect(page, IDLE_PAGE_SIZE, PROT_READ | PROT_WRITE),
			    "mprotect(PROT_READ | PROT_WRITE)");
		iter++;
	}
	scanners_stop(&r, true);
	idle_vcpus_stop(v);
	check_vcpus_ran(v);
	ksft_print_msg("%lu rounds of splits\n", iter);
	idle_check_pattern(v, s1);
	idle_check_pattern(v, s4);
	free(bitmap);
	idle_vm_free(v);
}

static void race_vm_destroy(void)
{
	uint64_t deadline = idle_now_ms() + race_ms(), iter = 0;
	struct race r = {};
	struct idle_vm *v, *vk;
	struct idle_seg *s1, *sk;

	idle_thp_enable();
	v = idle_vm_create(1);
	s1 = add_checked_seg(v, VM_MEM_SRC_ANONYMOUS_THP, 8 * MB, IDLE_OP_VERIFY);
	idle_vcpus_start(v);
	scanners_start(&r, 0, false);
	while (iter < MIN_ROUNDS || (idle_now_ms() < deadline && iter < 100)) {
		vk = idle_vm_create(1 + iter % 2);
		sk = add_checked_seg(vk, iter % 3 ? VM_MEM_SRC_ANONYMOUS_THP : VM_MEM_SRC_ANONYMOUS,
				     4 * MB, IDLE_OP_VERIFY_WRITE);
		idle_vm_step(vk);
		idle_vm_step(vk);
		idle_check_pattern(vk, sk);
		idle_vm_free(vk);
		iter++;
	}
	scanners_stop(&r, true);
	idle_vcpus_stop(v);
	check_vcpus_ran(v);
	ksft_print_msg("%lu VMs destroyed\n", iter);
	idle_check_pattern(v, s1);
	idle_vm_free(v);
}

/* The VMM: run a VM until told to exit ('x') or killed. */
static void __noreturn vmm_child(int cmd, int ready)
{
	struct idle_vm *v = idle_vm_create(2);
	struct idle_seg *s = add_checked_seg(v, VM_MEM_SRC_ANONYMOUS_THP, 8 * MB,
					     IDLE_OP_VERIFY_WRITE);
	char c = 0;

	idle_vcpus_start(v);
	TEST_ASSERT(write(ready, "r", 1) == 1, "write");
	if (read(cmd, &c, 1) != 1)
		_exit(1);
	/* Exit with the VM still there, so the exit tears it down. */
	idle_vcpus_stop(v);
	idle_check_pattern(v, s);
	_exit(0);
}

static void race_process_exit(void)
{
	uint64_t deadline = idle_now_ms() + race_ms(), iter;
	struct race r = {};

	idle_thp_enable();
	for (iter = 0; iter < MIN_ROUNDS || (idle_now_ms() < deadline && iter < 20); iter++) {
		int cmd[2], ready[2], status, fd;
		bool kill_it = iter % 2;
		uint64_t buf[16];
		pid_t pid;
		char c;

		TEST_ASSERT(!pipe(cmd) && !pipe(ready), "pipe");
		pid = fork();
		TEST_ASSERT(pid >= 0, "fork");
		if (!pid) {
			close(cmd[1]);
			close(ready[0]);
			vmm_child(cmd[0], ready[1]);
		}
		close(cmd[0]);
		close(ready[1]);
		TEST_ASSERT(read(ready[0], &c, 1) == 1, "VMM child did not start");
		fd = idle_open(pid, O_RDWR);
		scanners_start(&r, pid, true);
		sleep_ms(50 + random() % 250);
		if (kill_it)
			kill(pid, SIGKILL);
		else
			TEST_ASSERT(write(cmd[1], "x", 1) == 1, "write");
		TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
		TEST_ASSERT(kill_it ? WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL :
				      WIFEXITED(status) && !WEXITSTATUS(status),
			    "VMM child: status %#x", status);
		/* Keep scanning the dead process for a moment. */
		sleep_ms(20);
		scanners_stop(&r, false);

		TEST_ASSERT(pread(fd, buf, sizeof(buf), 0) == 0, "read() after exit is not 0");
		TEST_ASSERT(idle_scan(fd, IDLE_BITMAP_SCAN_CLEAR, 0, idle_task_size(), buf,
				      ARRAY_SIZE(buf), NULL) == -1 && errno == ESRCH,
			    "IDLE_BITMAP_SCAN after exit did not fail with ESRCH");
		close(fd);
		close(cmd[1]);
		close(ready[0]);
	}
	ksft_print_msg("%lu VMM exits\n", iter);
}

static const struct idle_test tests[] = {
	{ "race: four scanners and running vCPUs", race_vcpus_only },
	{ "race: memslot delete and re-add", race_memslot_delete },
	{ "race: MADV_DONTNEED and munmap", race_dontneed_munmap },
	{ "race: huge page splits", race_split },
	{ "race: VM destroy", race_vm_destroy },
	{ "race: VMM process exit", race_process_exit },
};

int main(int argc, char *argv[])
{
	ksft_print_header();
	idle_require_support();
	return idle_run_tests(tests, ARRAY_SIZE(tests));
}
