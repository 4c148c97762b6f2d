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

/* CGOV_TEST_BACKEND=systemd (in the systemd guest): the governor is opened
 * with CGOV_OPEN_SYSTEMD on a parent slice of the test's own, and fx_root
 * is that slice's cgroup directory. */
bool fx_backend_systemd(void);
/* What fx_setup() opens the governor with: a later cgov_open on the same
 * root (a re-open, another process) uses them too. */
struct cgov_options fx_options(void);
/* With the systemd backend: the job units of the test's parent slice the
 * manager still has loaded (running, or ended and not yet settled). */
unsigned fx_job_units(void);

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

/* ---- Helpers of the waiting/killing/recovery tests ---------------------- */

/* Asserts that a call returned want, naming both values when it did not. */
#define fx_assert_ret(expr, want, ...) \
        do { \
                int fx_r_ = (expr), fx_w_ = (want); \
                cr_assert_eq(fx_r_, fx_w_, "%s returned %d (%s), not %d (%s)" __VA_OPT__(": ") __VA_ARGS__, #expr, \
                             fx_r_, cgov_strerror(fx_r_), fx_w_, cgov_strerror(fx_w_)); \
        } while (0)

/* A pool with a wait queue. */
cgov_pool *fx_pool_queue(const char *path, uint64_t memory_max, uint32_t max_jobs, uint32_t max_queue,
                         uint64_t queue_timeout_ms);
/* cgov_submit that must be accepted (running or queued). */
cgov_job *fx_submit(cgov_pool *p, struct cgov_job_spec spec);
/* cgov_await(-1) that must return 0. */
void fx_await(cgov_job *j, struct cgov_result *res);
struct cgov_pool_status fx_status(cgov_pool *p);
/* Polls until the job has a pid (it left the queue); false after ms. */
bool fx_wait_started(cgov_job *j, unsigned ms);
/* Polls until dir no longer exists; false after ms. */
bool fx_wait_gone(const char *dir, unsigned ms);
/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t fx_now_ms(void);
/* A fresh empty file in /tmp (seen by the guest's jobs too); path in buf. */
void fx_tmpfile(char *buf, size_t size);
