/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What every bench program shares: a monotonic clock, medians, and a
 * failure that stops the run with the reason (a benchmark that goes on
 * after an error measures the error path). */

uint64_t bench_now_nsec(void);
double bench_median(double *v, size_t n);
_Noreturn void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parses a positive count; dies naming the option otherwise. */
unsigned bench_count(const char *option, const char *value);
