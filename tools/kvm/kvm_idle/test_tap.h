/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TAP output for the kvm_idle unit tests: ok() reports one test,
 * tap_done() prints the plan and the totals and gives the exit status.
 */
#ifndef KVM_IDLE_TEST_TAP_H
#define KVM_IDLE_TEST_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static unsigned int tap_nr, tap_failed;

static void ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	tap_nr++;
	if (!cond)
		tap_failed++;
	printf("%sok %u - ", cond ? "" : "not ", tap_nr);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static int tap_done(void)
{
	printf("1..%u\n", tap_nr);
	printf("# %u passed, %u failed\n", tap_nr - tap_failed, tap_failed);
	return tap_failed ? 1 : 0;
}

#endif /* KVM_IDLE_TEST_TAP_H */
