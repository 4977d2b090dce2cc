/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the /proc/PID/idle_bitmap selftests.
 *
 * A test VM ("struct idle_vm") has a few vCPUs and one or more test memslots
 * ("segments") on top of the KVM selftests' memslot 0.  The segments are
 * mapped back to back at IDLE_GVA in the guest with 2M guest pages, so that
 * the shadow MMU (npt=0/ept=0) can also map them with 2M SPTEs, and form one
 * array of "test pages" that the guest walks.  What the guest does with each
 * page is a per-page operation ("plan") that the host sets between steps;
 * vCPU i handles the pages whose index is i modulo the number of vCPUs.
 * Only pages of the segments are ever checked: slot 0 holds the guest's code,
 * stack and page tables, whose state the tests cannot predict.
 */
#ifndef SELFTEST_KVM_IDLE_BITMAP_UTIL_H
#define SELFTEST_KVM_IDLE_BITMAP_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/idle_bitmap.h>

#include "kvm_util.h"
#include "idle_bitmap_decode.h"

#define IDLE_PAGE_SIZE		4096UL
#define IDLE_HUGE_SIZE		(2UL << 20)
#define IDLE_PAGES_PER_HUGE	(IDLE_HUGE_SIZE / IDLE_PAGE_SIZE)

/* Guest physical and virtual base of the test segments. */
#define IDLE_GPA		(4UL << 30)
#define IDLE_GVA		(4UL << 30)
/* First memslot used for segments. */
#define IDLE_SLOT		10

#define IDLE_MAX_VCPUS		8
#define IDLE_MAX_SEGS		8
#define IDLE_GIGA_SIZE		(1024UL << 20)
#define IDLE_PAGES_PER_GIGA	(IDLE_GIGA_SIZE / IDLE_PAGE_SIZE)

/* At most a 1G page and 128M of test pages per VM. */
#define IDLE_MAX_PAGES		(IDLE_PAGES_PER_GIGA + 32768)

/*
 * Largest read() buffer and IDLE_BITMAP_SCAN vector the helpers choose at
 * random; a caller may ask for larger ones.
 */
#define IDLE_MAX_BUF		(64 * 1024)
#define IDLE_MAX_VEC		(IDLE_MAX_BUF / 8)
/*
 * A reply ends when its buffer is full, give or take this many records: the
 * kernel sizes its walk from an estimate of the records it may need, so that
 * it never clears what it could not report.
 */
#define IDLE_REPLY_SLACK	32

/* What the guest does with a test page in one step. */
enum idle_op {
	IDLE_OP_NONE,
	IDLE_OP_READ,		/* read the first word */
	IDLE_OP_WRITE,		/* write the pattern to the first word */
	IDLE_OP_VERIFY,		/* check three words against the pattern */
	IDLE_OP_VERIFY_WRITE,	/* check, then rewrite the first word */
	IDLE_OP_WRITE_EPOCH,	/* write idle_epoch_word() of the current epoch */
};

/*
 * The content every checked test page holds: word @word of test page @page.
 * The guest checks it through its own mappings and the host through the HVA,
 * so a walker that corrupted a mapping or the memory would be caught.
 */
static inline uint64_t idle_pattern(uint64_t page, uint64_t word)
{
	uint64_t x = ((page << 9) | word) * 0x9e3779b97f4a7c15ULL;

	return x ^ (x >> 31) ^ 0x6b766d2d69646c65ULL;
}

/*
 * The first word of test page @page after the guest wrote it in epoch @epoch
 * (IDLE_OP_WRITE_EPOCH): a value that changes from one epoch to the next.
 */
static inline uint64_t idle_epoch_word(uint64_t page, uint64_t epoch)
{
	return idle_pattern(page, 0) ^ (epoch * 0xff51afd7ed558ccdULL);
}

struct idle_seg {
	uint32_t slot;
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
	uint64_t first;		/* index of its first test page */
};

struct idle_vm;

struct idle_vcpu_thread {
	struct idle_vm *v;
	int idx;
	pthread_t thread;
	unsigned long passes;
};

struct idle_vm {
	struct kvm_vm *vm;
	int nr_vcpus;
	struct kvm_vcpu *vcpu[IDLE_MAX_VCPUS];
	int nr_segs;
	struct idle_seg seg[IDLE_MAX_SEGS];
	uint64_t npages;
	uint64_t next_gpa;
	uint8_t plan[IDLE_MAX_PAGES];	/* enum idle_op per test page */

	/* vCPU threads, see idle_vcpus_start(). */
	struct idle_vcpu_thread vt[IDLE_MAX_VCPUS];
	pthread_rwlock_t quiesce;
	bool stop;
};

/* Per-page state in a struct idle_map: (size class << 4) | enum ibd_state. */
#define IDLE_MAP_NONE		0xff
#define IDLE_MAP_STATE(x)	((x) & 0xf)
#define IDLE_MAP_SIZE(x)	((x) >> 4)
/* For idle_map_check(): accept any size class. */
#define IDLE_SIZE_ANY		(-1)

/* The decoded state of the pages in [start, start + npages * 4K). */
struct idle_map {
	uint64_t start;
	uint64_t npages;
	uint8_t *st;
};

/* A growing array of records. */
struct idle_recs {
	uint64_t *rec;
	size_t n;
	size_t cap;
};

/* The scanners that the race and fuzz tests run in threads. */
struct idle_scanner {
	pthread_t thread;
	int fd;
	bool clear;		/* clear (the fd must be O_RDWR) */
	bool use_ioctl;		/* IDLE_BITMAP_SCAN rather than read() */
	bool target_may_exit;	/* accept 0 and ESRCH once the target is gone */
	bool *stop;		/* read with READ_ONCE() */
	unsigned long passes;
	unsigned long calls;
	unsigned int seed;
};

struct idle_test {
	const char *name;
	void (*fn)(void);
};

/* Setup and ksft plumbing. */
void idle_require_support(void);
int idle_run_tests(const struct idle_test *tests, int nr);
unsigned int idle_seed(void);
void __printf(1, 2) idle_skip(const char *fmt, ...);
uint64_t idle_now_ms(void);
uint64_t idle_task_size(void);
bool idle_tdp_mmu_on(void);
bool idle_thp_enable(void);
bool idle_hugetlb_reserve(unsigned long nr);
long idle_hugetlb_1g_free(void);
uint64_t idle_thp_bytes(void *addr);
void idle_rwlock_init_writer_first(pthread_rwlock_t *lock);
unsigned long idle_move_huge(uint8_t *hva, uint64_t size, int node, unsigned long *failed,
			     int *err);

/* The file. */
int idle_open(pid_t pid, int flags);
long idle_scan(int fd, uint64_t flags, uint64_t start, uint64_t end,
	       uint64_t *vec, uint64_t vec_len, uint64_t *walk_end);
void idle_recs_add(struct idle_recs *r, const uint64_t *rec, size_t n);
void idle_recs_free(struct idle_recs *r);
void idle_check_reply(const uint64_t *rec, size_t n, uint64_t from, uint64_t to,
		      uint64_t *next);
unsigned long idle_read_range(int fd, uint64_t start, uint64_t end, size_t bufsz,
			      struct idle_recs *out);
unsigned long idle_ioctl_range(int fd, uint64_t flags, uint64_t start, uint64_t end,
			       size_t vec_len, struct idle_recs *out);
void idle_end_pass(int fd);

/* Decoded maps. */
void idle_map_init(struct idle_map *m, uint64_t start, uint64_t npages);
void idle_map_reset(struct idle_map *m);
void idle_map_free(struct idle_map *m);
void idle_map_add(struct idle_map *m, const struct idle_recs *r);
unsigned long idle_map_read(struct idle_map *m, int fd, size_t bufsz);
unsigned long idle_map_ioctl(struct idle_map *m, int fd, uint64_t flags, size_t vec_len);
size_t idle_map_check(const struct idle_map *m, const uint8_t *want, int size_class,
		      const char *what);
size_t idle_map_count(const struct idle_map *m, unsigned int state);

/* VMs. */
struct idle_vm *idle_vm_create(int nr_vcpus);
struct idle_vm *idle_vm_create_shape(struct vm_shape shape, int nr_vcpus);
void idle_vm_free(struct idle_vm *v);
struct idle_seg *idle_vm_add_seg(struct idle_vm *v, enum vm_mem_backing_src_type src,
				 uint64_t size);
struct idle_seg *idle_vm_add_seg_private(struct idle_vm *v, uint64_t size);
struct idle_seg *idle_vm_add_seg_hva(struct idle_vm *v, void *hva, uint64_t size);
uint8_t *idle_page_hva(struct idle_vm *v, uint64_t page);
void idle_vm_sync(struct idle_vm *v);
void idle_vm_step(struct idle_vm *v);
void idle_vcpu_run(struct kvm_vcpu *vcpu, int i);
void idle_vcpu_step(struct idle_vm *v, int i);
void idle_plan_set(struct idle_vm *v, const struct idle_seg *s, enum idle_op op);
void idle_vm_set_epoch(struct idle_vm *v, uint64_t epoch);
void idle_fill_pattern(struct idle_vm *v, const struct idle_seg *s);
void idle_check_pattern(struct idle_vm *v, const struct idle_seg *s);
void idle_check_pattern_epochs(struct idle_vm *v, const struct idle_seg *s,
			       const uint32_t *epoch);

/* vCPU threads that step until stopped; pause/resume keep them out of the guest. */
void idle_vcpus_start(struct idle_vm *v);
void idle_vcpus_pause(struct idle_vm *v);
void idle_vcpus_resume(struct idle_vm *v);
void idle_vcpus_stop(struct idle_vm *v);

void idle_scanner_start(struct idle_scanner *s);
void idle_scanner_join(struct idle_scanner *s);

#endif /* SELFTEST_KVM_IDLE_BITMAP_UTIL_H */
