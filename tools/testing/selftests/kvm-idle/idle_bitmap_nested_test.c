// SPDX-License-Identifier: GPL-2.0-only
/*
 * idle_bitmap_nested_test: a VM that once ran a nested guest is scanned
 * through the TDP MMU again once its shadow pages are gone.
 *
 * With the TDP MMU, shadow-MMU SPTEs exist only for nested guests, and can
 * only be reached through the rmaps, under mmu_lock held for write.  The
 * rmaps stay allocated once a nested guest ran, but the shadow pages do not:
 * deleting a memslot zaps them.  A scan must then take the lockless TDP walk
 * alone, not write-lock mmu_lock over all guest memory chunk by chunk.
 *
 * Which path a scan took shows in lockdep's lock statistics: the rmap walk
 * takes kvm->mmu_lock for write once per chunk, the TDP walk never takes
 * it.  The test peeks at a 4G memslot several times before L1 ran a nested
 * guest, while its shadow pages exist, and after they were zapped, and
 * counts the write acquisitions of mmu_lock in /proc/lock_stat around each
 * set of peeks (nothing else runs in the VM meanwhile): none before, some
 * while the shadow pages exist, none after.  The peeks are timed too, for
 * the log: the rmap walk also costs time, but timings under TCG are too
 * noisy to assert on.
 *
 * Needs SVM for the nested guest, and the TDP MMU (npt=1): with the shadow
 * MMU every scan uses the rmaps, and the test skips.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "svm_util.h"
#include "test_util.h"

#include "idle_bitmap_util.h"

#define BIG_SLOT	11
#define BIG_GPA		(8UL << 30)
#define BIG_SIZE	(4UL << 30)
#define SPARE_SLOT	12
#define SPARE_GPA	(16UL << 30)
#define TIMED_PASSES	9

static void l2_guest_code(struct svm_test_data *svm)
{
	__asm__ __volatile__("vmmcall");
}

static void l1_guest_code(struct svm_test_data *svm, uint64_t ncr3)
{
	unsigned long l2_guest_stack[64];

	/* L1 runs alone first, so that the TDP MMU has a root to walk. */
	GUEST_SYNC(1);
	generic_svm_setup(svm, l2_guest_code, &l2_guest_stack[64]);
	/*
	 * Nested paging for L2: KVM shadows L1's NPT tables with shadow-MMU
	 * pages.  Without it L2 would share L1's TDP MMU mappings.
	 */
	svm->vmcb->control.nested_ctl |= SVM_NESTED_CTL_NP_ENABLE;
	svm->vmcb->control.nested_cr3 = ncr3;
	run_guest(svm->vmcb, svm->vmcb_gpa);
	GUEST_ASSERT(svm->vmcb->control.exit_code == SVM_EXIT_VMMCALL);
	GUEST_DONE();
}

/* The minimum time of TIMED_PASSES peeks of the big memslot, in microseconds. */
static uint64_t time_peek(int fd, uint8_t *hva, const char *what)
{
	/* Room for the worst case of a 1G window: the walk goes 1G at a time. */
	static uint64_t vec[16384];
	uint64_t best = ~0ULL, walk_end;
	struct timespec a, b;
	int i;

	for (i = 0; i < TIMED_PASSES; i++) {
		uint64_t us;
		long ret;

		clock_gettime(CLOCK_MONOTONIC, &a);
		ret = idle_scan(fd, 0, (uintptr_t)hva, (uintptr_t)hva + BIG_SIZE, vec,
				ARRAY_SIZE(vec), &walk_end);
		clock_gettime(CLOCK_MONOTONIC, &b);
		TEST_ASSERT(ret >= 2 && walk_end == (uintptr_t)hva + BIG_SIZE,
			    "%s: a peek of the 4G memslot returned %ld, walk_end %#lx", what, ret,
			    walk_end);
		us = (b.tv_sec - a.tv_sec) * 1000000ULL + (b.tv_nsec - a.tv_nsec) / 1000;
		if (us < best)
			best = us;
	}
	ksft_print_msg("%s: a peek of 4G of holes takes %lu us (minimum of %d)\n", what, best,
		       TIMED_PASSES);
	return best;
}

/*
 * L1's nested page table for L2: the identity map of the first 512G with 1G
 * pages.  NPT walks are user accesses, so every entry has the U bit.
 */
static uint64_t identity_npt(struct kvm_vm *vm)
{
	vm_vaddr_t pml4 = vm_vaddr_alloc_page(vm), pdpt = vm_vaddr_alloc_page(vm);
	uint64_t *pml4_hva = addr_gva2hva(vm, pml4), *pdpt_hva = addr_gva2hva(vm, pdpt);
	uint64_t i;

	memset(pml4_hva, 0, IDLE_PAGE_SIZE);
	pml4_hva[0] = addr_gva2gpa(vm, pdpt) | PTE_PRESENT_MASK | PTE_WRITABLE_MASK |
		      PTE_USER_MASK;
	for (i = 0; i < 512; i++)
		pdpt_hva[i] = (i << 30) | PTE_PRESENT_MASK | PTE_WRITABLE_MASK |
			      PTE_USER_MASK | PTE_LARGE_MASK;
	return addr_gva2gpa(vm, pml4);
}

static void run_l1(struct kvm_vcpu *vcpu, uint64_t want)
{
	struct ucall uc;

	vcpu_run(vcpu);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
		break;
	default:
		TEST_ASSERT(uc.cmd == want, "L1: exit %s, ucall %lu, want ucall %lu",
			    exit_reason_str(vcpu->run->exit_reason), uc.cmd, want);
	}
}

/*
 * Write acquisitions of kvm->mmu_lock so far, from /proc/lock_stat: the
 * eighth number after the class name ("&(kvm)->mmu_lock-W:", or without -W
 * when the lock was never read-held) is the number of acquisitions.
 */
static uint64_t mmu_lock_writes(void)
{
	char line[1024], name[256];
	uint64_t total = 0;
	FILE *f = fopen("/proc/lock_stat", "r");

	TEST_ASSERT(f, "open /proc/lock_stat");
	while (fgets(line, sizeof(line), f)) {
		double v[8];

		if (sscanf(line, " %255s %lf %lf %lf %lf %lf %lf %lf %lf", name, &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 9)
			continue;
		/* The class is named after rwlock_init()'s argument. */
		if (!strcmp(name, "&(kvm)->mmu_lock-W:") || !strcmp(name, "&(kvm)->mmu_lock:"))
			total += (uint64_t)v[7];
	}
	fclose(f);
	return total;
}

/* Peeks of the memslot; returns the mmu_lock write acquisitions they made. */
static uint64_t peek_writes(int fd, uint8_t *hva, const char *what)
{
	uint64_t w0 = mmu_lock_writes(), w;

	time_peek(fd, hva, what);
	w = mmu_lock_writes() - w0;
	ksft_print_msg("%s: %lu write acquisitions of mmu_lock in %d peeks\n", what, w,
		       TIMED_PASSES);
	return w;
}

static void test_shadow_gone(void)
{
	uint64_t before, during, after, svm_gva;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	uint8_t *hva;
	int fd;

	if (!idle_tdp_mmu_on())
		idle_skip("the shadow MMU (npt=0) always walks the rmaps");
	if (!kvm_cpu_has(X86_FEATURE_SVM))
		idle_skip("no SVM for a nested guest");
	if (access("/proc/lock_stat", R_OK))
		idle_skip("no /proc/lock_stat (CONFIG_LOCK_STAT) to count mmu_lock acquisitions");
	/* Collect statistics (the default, unless someone turned it off). */
	fd = open("/proc/sys/kernel/lock_stat", O_WRONLY);
	if (fd >= 0) {
		TEST_ASSERT(write(fd, "1", 1) == 1, "enable lock_stat");
		close(fd);
	}

	vm = vm_create_with_one_vcpu(&vcpu, l1_guest_code);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, BIG_GPA, BIG_SLOT,
				    BIG_SIZE / IDLE_PAGE_SIZE, 0);
	hva = addr_gpa2hva(vm, BIG_GPA);
	fd = idle_open(0, O_RDONLY);
	vcpu_alloc_svm(vm, &svm_gva);
	vcpu_args_set(vcpu, 2, svm_gva, identity_npt(vm));

	run_l1(vcpu, UCALL_SYNC);
	before = peek_writes(fd, hva, "L1 ran, no nested guest yet");
	run_l1(vcpu, UCALL_DONE);
	/* With shadow pages, the rmaps are walked too: slower, and still exact. */
	during = peek_writes(fd, hva, "while the nested guest's shadow pages exist");

	/* Deleting a memslot zaps every shadow page. */
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, SPARE_GPA, SPARE_SLOT, 512, 0);
	vm_mem_region_delete(vm, SPARE_SLOT);
	after = peek_writes(fd, hva, "after the shadow pages were zapped");

	TEST_ASSERT(!before, "before any nested guest, the peeks write-locked mmu_lock %lu times",
		    before);
	TEST_ASSERT(during, "the peeks did not walk the rmaps while shadow pages existed");
	TEST_ASSERT(!after, "without shadow pages, the peeks write-locked mmu_lock %lu times",
		    after);

	close(fd);
	kvm_vm_free(vm);
}

static const struct idle_test tests[] = {
	{ "no rmap walk once a nested guest's shadow pages are gone", test_shadow_gone },
};

int main(int argc, char *argv[])
{
	ksft_print_header();
	idle_require_support();
	return idle_run_tests(tests, ARRAY_SIZE(tests));
}
