// SPDX-License-Identifier: GPL-2.0-only
/*
 * idle_bitmap_private_test: private guest memory is not reported at the
 * shared address.
 *
 * A KVM_X86_SW_PROTECTED_VM gets one test memslot backed by anonymous memory
 * (the shared view, which /proc/PID/idle_bitmap reports) and by a guest_memfd
 * (the private view).  The first half of the memslot is converted to private
 * and the guest writes every page.  Its writes to the private half land in
 * the guest_memfd, so the shared pages there keep what the host put in them,
 * and nothing at those shared addresses is mapped by KVM: they must be
 * reported as HOLE, never ACCESSED, however often the guest touches the
 * private pages.  The shared half is reported exactly as usual.  Converted
 * back to shared, the first half is reported again.
 *
 * KVM offers software-protected VMs only with the TDP MMU and
 * CONFIG_KVM_SW_PROTECTED_VM.  The test skips, and says why, when the shadow
 * MMU is in use (npt=0/ept=0); it fails when the TDP MMU is on and the VM type
 * is still missing, because the test kernel's configuration asks for it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm_util.h"
#include "test_util.h"

#include "idle_bitmap_util.h"

#define NR_VCPUS	2
#define SEG_SIZE	(4UL << 20)
#define NPAGES		(SEG_SIZE / IDLE_PAGE_SIZE)
#define PRIV_PAGES	(NPAGES / 2)
#define HOST_BYTE	0x5a

static void expect_halves(const struct idle_map *m, uint8_t priv, uint8_t shared,
			  const char *what)
{
	uint8_t want[NPAGES];

	memset(want, priv, PRIV_PAGES);
	memset(want + PRIV_PAGES, shared, NPAGES - PRIV_PAGES);
	TEST_ASSERT(!idle_map_check(m, want, IDLE_SIZE_ANY, what),
		    "%s: reported states differ (above)", what);
}

static void test_private(void)
{
	const struct vm_shape shape = {
		.mode = VM_MODE_DEFAULT,
		.type = KVM_X86_SW_PROTECTED_VM,
	};
	struct idle_map m;
	struct idle_seg *s;
	struct idle_vm *v;
	uint64_t i, first;
	int ro, rw;

	v = idle_vm_create_shape(shape, NR_VCPUS);
	s = idle_vm_add_seg_private(v, SEG_SIZE);
	memset(s->hva, HOST_BYTE, SEG_SIZE);
	vm_mem_set_private(v->vm, s->gpa, PRIV_PAGES * IDLE_PAGE_SIZE);
	ro = idle_open(0, O_RDONLY);
	rw = idle_open(0, O_RDWR);
	idle_map_init(&m, (uintptr_t)s->hva, NPAGES);

	idle_plan_set(v, s, IDLE_OP_WRITE);
	idle_vm_step(v);

	/* The guest's writes to the private half did not reach the shared pages. */
	for (i = 0; i < NPAGES; i++) {
		memcpy(&first, s->hva + i * IDLE_PAGE_SIZE, sizeof(first));
		if (i < PRIV_PAGES)
			TEST_ASSERT(first == 0x0101010101010101ULL * HOST_BYTE,
				    "shared page %lu of the private half changed: %#lx", i, first);
		else
			TEST_ASSERT(first == idle_pattern(s->first + i, 0),
				    "shared page %lu: the guest's write is missing", i);
	}
	ksft_print_msg("the guest wrote %lu private and %lu shared pages\n", PRIV_PAGES,
		       NPAGES - PRIV_PAGES);

	idle_map_read(&m, ro, 0);
	expect_halves(&m, IBD_HOLE, IBD_ACCESSED, "after the writes, peek");

	/* A clearing pass, then the guest touches only the private half. */
	idle_map_read(&m, rw, 0);
	expect_halves(&m, IBD_HOLE, IBD_ACCESSED, "clearing pass");
	memset(v->plan, IDLE_OP_NONE, v->npages);
	memset(v->plan + s->first, IDLE_OP_READ, PRIV_PAGES);
	idle_vm_step(v);
	idle_vm_step(v);
	idle_map_read(&m, ro, 0);
	expect_halves(&m, IBD_HOLE, IBD_IDLE, "guest read the private half, peek");
	idle_map_ioctl(&m, rw, IDLE_BITMAP_SCAN_CLEAR, 0);
	expect_halves(&m, IBD_HOLE, IBD_IDLE, "guest read the private half, clearing ioctl");

	/* Shared again: the first half is reported, from its shared pages. */
	vm_mem_set_shared(v->vm, s->gpa, PRIV_PAGES * IDLE_PAGE_SIZE);
	idle_plan_set(v, s, IDLE_OP_WRITE);
	idle_vm_step(v);
	for (i = 0; i < PRIV_PAGES; i++) {
		memcpy(&first, s->hva + i * IDLE_PAGE_SIZE, sizeof(first));
		TEST_ASSERT(first == idle_pattern(s->first + i, 0),
			    "page %lu, converted to shared: the guest's write is missing", i);
	}
	idle_map_read(&m, ro, 0);
	expect_halves(&m, IBD_ACCESSED, IBD_ACCESSED, "converted back to shared, peek");

	idle_map_free(&m);
	close(ro);
	close(rw);
	idle_vm_free(v);
}

static const struct idle_test tests[] = {
	{ "private pages are not reported at their shared addresses", test_private },
};

int main(void)
{
	idle_require_support();
	if (!(kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM))) {
		/* The test kernel's config has CONFIG_KVM_SW_PROTECTED_VM=y. */
		TEST_ASSERT(!idle_tdp_mmu_on(), "TDP MMU on, but no %s: %s",
			    "KVM_X86_SW_PROTECTED_VM", "needs CONFIG_KVM_SW_PROTECTED_VM=y");
		ksft_print_header();
		ksft_exit_skip("%s: KVM offers it only with the TDP MMU, which is off\n",
			       "KVM_X86_SW_PROTECTED_VM");
	}
	return idle_run_tests(tests, ARRAY_SIZE(tests));
}
