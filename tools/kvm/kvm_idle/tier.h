/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvm_idle's memory tiering: how long each stretch of guest memory has been
 * idle (its age), how often it was accessed over the last rounds, which NUMA
 * node holds it, and the moves (move_pages(2)) that put cold memory on a slow
 * node and memory accessed again back on the fast one, within a fast-node
 * budget and a migration rate.  Also the Prometheus text-format writer.
 *
 * Nothing here reads /proc/PID/idle_bitmap: the caller feeds the extents of
 * each pass (idle_bitmap_decode.h) to age_map_update().
 */
#ifndef KVM_IDLE_TIER_H
#define KVM_IDLE_TIER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "idle_bitmap_decode.h"

#define TIER_NODE_UNKNOWN	(-1)
#define TIER_NODE_STUCK		(-2)	/* move_pages() cannot move it */
#define TIER_AGE_MAX		UINT32_MAX
#define TIER_HIST_ROUNDS	64	/* rounds of access history kept */
#define TIER_NO_BUDGET		UINT64_MAX
#define TIER_PROMOTE_HITS	2	/* accesses in a window before promotion */

/*
 * One stretch of guest memory, host-virtual [start, end), with one history.
 * age counts the reported passes in a row that found it idle: 0 when the
 * last pass found it accessed or not mapped (a hole is never idle).  Bit i
 * of hist is set when the pass i passes ago found it accessed.
 */
struct age_ext {
	uint64_t start, end;
	uint64_t hist;
	uint32_t age;
	uint8_t state;		/* enum ibd_state, as the last pass saw it */
	uint8_t size;		/* IDLE_BITMAP_SIZE_*: how it is mapped */
	int16_t node;		/* NUMA node, TIER_NODE_UNKNOWN or _STUCK */
};

/* The histories of all memory the last pass covered, in address order. */
struct age_map {
	struct age_ext *v;
	size_t nr, alloc;
	unsigned int passes;	/* passes fed to age_map_update() */
};

void age_map_free(struct age_map *m);
void age_map_update(struct age_map *m, const struct ibd_extent *ext, size_t nr);
uint64_t age_map_idle_bytes(const struct age_map *m, unsigned int min_age);
uint64_t age_map_warm_bytes(const struct age_map *m, unsigned int cold_age);
uint64_t age_map_node_bytes(const struct age_map *m, int node, bool other);
unsigned int age_ext_freq(const struct age_ext *e, unsigned int k);

/* A stretch whose NUMA node is now known. */
struct node_run {
	uint64_t start, end;
	int node;
};

struct node_runs {
	struct node_run *v;
	size_t nr, alloc;
};

void node_runs_add(struct node_runs *r, uint64_t start, uint64_t end, int node);
void age_map_apply_nodes(struct age_map *m, const struct node_runs *r);

/* What the placement of one VM may do in one round. */
struct tier_cfg {
	int slow, fast;		/* NUMA nodes */
	unsigned int cold_age;	/* passes idle before memory counts as cold */
	uint64_t budget;	/* fast-node bytes allowed, or TIER_NO_BUDGET */
	uint64_t quota;		/* bytes that may move this round */
};

struct tier_move {
	uint64_t start, end;
	unsigned int size;	/* IDLE_BITMAP_SIZE_*: moved in units of it */
	int node;		/* where to */
	uint32_t age;
	const char *why;	/* "cold", "budget" or "accessed" */
};

struct tier_plan {
	struct tier_move *v;
	size_t nr, alloc;
	int fast, slow;
	uint64_t fast_bytes, slow_bytes, warm_bytes;	/* before the moves */
	uint64_t to_slow, to_fast;	/* planned bytes */
	uint64_t deferred;	/* bytes left for later rounds by the quota */
	uint64_t short_bytes;	/* accessed bytes the budget cannot hold */
};

void tier_plan_free(struct tier_plan *p);
void tier_plan_build(const struct age_map *m, const struct tier_cfg *c,
		     struct tier_plan *p);

/* Sharing one fast-node budget between VMs. */
struct tier_share {
	uint64_t warm;		/* bytes accessed in the last cold_age passes */
	uint64_t mapped;	/* bytes mapped (not holes) */
	uint64_t budget;	/* out: this VM's share */
};

void tier_share_budget(uint64_t total, struct tier_share *vm, size_t n);

/* move_pages(2); tests substitute their own. */
typedef long (*tier_move_pages_fn)(pid_t pid, unsigned long count, void **pages,
				   const int *nodes, int *status, int flags);
extern tier_move_pages_fn tier_move_pages;
long tier_sys_move_pages(pid_t pid, unsigned long count, void **pages,
			 const int *nodes, int *status, int flags);

enum tier_err {
	TIER_ERR_BUSY,		/* EBUSY, EAGAIN or not migrated: busy or pinned */
	TIER_ERR_NOMEM,		/* ENOMEM: the target node is full */
	TIER_ERR_SHARED,	/* EACCES: mapped by other processes too */
	TIER_ERR_GONE,		/* EFAULT, ENOENT: no page there any more */
	TIER_ERR_OTHER,
	NR_TIER_ERRS
};

extern const char * const tier_err_name[NR_TIER_ERRS];

struct tier_result {
	uint64_t to_slow, to_fast;	/* bytes now on the target node */
	uint64_t failed;		/* bytes that did not move */
	uint64_t err_bytes[NR_TIER_ERRS];
};

int tier_query_nodes(pid_t pid, struct age_map *m, uint64_t max_units);
int tier_execute(pid_t pid, const struct tier_plan *p, struct age_map *m,
		 struct tier_result *r);

/* Prometheus text format (node_exporter's textfile collector). */
struct prom_vm {
	const char *name;
	pid_t pid;
	uint64_t bytes[3][3];		/* [enum ibd_state][IDLE_BITMAP_SIZE_*] */
	uint64_t ws_bytes;
	unsigned int window;
	const unsigned int *ages;	/* --ages thresholds */
	const uint64_t *idle_age_bytes;	/* bytes idle for at least ages[i] */
	unsigned int nr_ages;
	bool placement;
	uint64_t fast_bytes, slow_bytes, budget_bytes;
	uint64_t moved_total[2];	/* to the slow node, to the fast node */
	uint64_t failed_total[NR_TIER_ERRS];
	uint64_t rounds;
	double scan_seconds;
};

int prom_write(const char *path, const struct prom_vm *vm, size_t n, double now);
void prom_label(FILE *f, const char *s);

uint64_t tier_percentile(const uint64_t *v, size_t n, unsigned int pct);

#endif
