/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Kernel tests: every test gets a fresh governor root below
 * $CGOV_TEST_CGROUP (set by tests/kernel/with-cgroup: a real cgroup v2
 * directory whose children get memory and pids) and leaves nothing behind. */

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>

#include "cgov.h"

#define MiB (UINT64_C(1) << 20)

extern char fx_root[4096]; /* this test's root directory */
extern cgov *fx_gov;       /* opened by fx_setup() on fx_root */

/* Criterion .init/.fini: make a root and open a governor on it; close it,
 * kill whatever is left, and remove the whole tree. */
void fx_setup(void);
void fx_teardown(void);
/* Only choose the root (not created, not opened): for the cgov_open tests. */
void fx_setup_root_only(void);

cgov_pool *fx_pool(const char *path, uint64_t memory_max, uint32_t max_jobs);

/* Runs argv (NULL-terminated) as a job, capturing its stdout in out. */
int fx_run_capture(cgov_pool *p, struct cgov_job_spec *spec, struct cgov_result *res, char *out, size_t size);

/* Kills a running job, waits for its end (KILLED) and frees the handle. */
void fx_kill_await(cgov_job *j);

bool fx_exists(const char *path);
uint64_t fx_read_u64(const char *dir, const char *file);   /* "max" reads as UINT64_MAX */
char *fx_read(const char *dir, const char *file, char *buf, size_t size);
/* Job leaves ("name@id" directories) anywhere below dir. */
unsigned fx_count_leaves(const char *dir);
/* Every pool of the governor shows nothing reserved, running or queued. */
void fx_assert_pool_idle(cgov_pool *p);
