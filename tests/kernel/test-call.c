/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgov_call on a real kernel: a C function in a forked child inside a fresh
 * leaf, under the job's limits; its output comes back, its crashes do not. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

TestSuite(call, .init = fx_setup, .fini = fx_teardown, .timeout = 120);

#define ARGV(...) ((const char *const[]) { __VA_ARGS__, NULL })

static int write_all(int fd, const void *buf, size_t n) {
        const char *p = buf;
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* Copies the file named by arg to out_fd. */
static int cat_file(void *arg, int out_fd) {
        char buf[4096];
        int fd = open(arg, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 100;
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0)
                if (write_all(out_fd, buf, (size_t) n) < 0)
                        return 101;
        close(fd);
        return 0;
}

/* The leaf's own file named by arg, e.g. "memory.max". */
static int cat_leaf_file(void *arg, int out_fd) {
        char cg[512], path[1024];
        int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 100;
        ssize_t n = read(fd, cg, sizeof cg - 1);
        close(fd);
        if (n <= 4)
                return 101;
        cg[n] = '\0';
        cg[strcspn(cg, "\n")] = '\0';
        snprintf(path, sizeof path, "/sys/fs/cgroup%s/%s", cg + 3, (const char *) arg); /* "0::/..." */
        return cat_file(path, out_fd);
}

static int return_arg(void *arg, int out_fd) {
        return (int) (intptr_t) arg;
}

/* In a sanitizer build, UBSan would report the NULL store and ASan's
 * SIGSEGV handler would turn the crash into an exit; the default action is
 * what a crashing fn meets in a normal build. */
__attribute__((no_sanitize("undefined"))) static int crash(void *arg, int out_fd) {
        signal(SIGSEGV, SIG_DFL);
        if (arg)
                raise(SIGSEGV);
        *(volatile int *) NULL = 1;
        return 0;
}

static int eat_memory(void *arg, int out_fd) {
        size_t size = (size_t) (uintptr_t) arg;
        /* volatile: the compiler may not drop stores nobody reads */
        volatile char *p = malloc(size);
        if (!p)
                return 100;
        for (size_t i = 0; i < size; i += 4096)
                p[i] = 1;
        return p[size - 1];
}

static int spin(void *arg, int out_fd) {
        for (;;)
                pause();
        return 0;
}

static int chatter(void *arg, int out_fd) {
        size_t size = (size_t) (uintptr_t) arg;
        char buf[8192];
        for (size_t off = 0; off < size; off += sizeof buf) {
                for (size_t i = 0; i < sizeof buf; i++)
                        buf[i] = (char) ('a' + (off + i) % 26);
                if (write_all(out_fd, buf, sizeof buf) < 0)
                        return 101;
        }
        return 0;
}

static int touch_marker(void *arg, int out_fd) {
        int fd = open(arg, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0)
                close(fd);
        return 0;
}

Test(call, fn_runs_in_a_fresh_leaf_and_its_output_comes_back) {
        fx_pool("shared", 0, 0);
        cgov_pool *a = fx_pool("shared/a", 0, 0);
        struct cgov_result res;
        void *out = NULL;
        size_t len = 0;

        int r = cgov_call(a, cat_file, "/proc/self/cgroup", &(struct cgov_job_spec) { .name = "fn" }, &res, &out, &len);
        cr_assert_eq(r, 0, "cgov_call: %s", cgov_strerror(r));
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
        cr_assert_eq(res.exit_status, 0);
        cr_assert_not_null(out);
        cr_assert_gt(len, 0);
        char *s = strndup(out, len);
        cr_assert_eq(strncmp(s, "0::/", 4), 0, "fn saw %s", s);
        cr_assert_not_null(strstr(s, "/shared/a/fn@"), "fn ran in %s", s);
        cr_assert_eq(strlen(s), len, "*out_len counts the bytes");
        free(s);
        free(out);
        fx_assert_pool_idle(a);
        cr_assert_eq(fx_count_leaves(fx_root), 0);
}

Test(call, fn_s_return_value_is_the_exit_code) {
        cgov_pool *p = fx_pool("p", 0, 0);
        struct cgov_result res;

        fx_assert_ret(cgov_call(p, return_arg, (void *) (intptr_t) 42, NULL, &res, NULL, NULL), 0);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
        cr_assert_eq(res.exit_status, 42);
        cr_assert_gt(res.wall_usec, 0);
        fx_assert_pool_idle(p);
}

Test(call, a_crash_in_fn_is_reported_and_the_caller_lives_on) {
        cgov_pool *p = fx_pool("p", 0, 0);
        struct cgov_result res;

        fx_assert_ret(cgov_call(p, crash, NULL, NULL, &res, NULL, NULL), 0);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_SIGNALED, "NULL write: outcome %d", res.outcome);
        cr_assert_eq(res.exit_status, SIGSEGV, "signal %d", res.exit_status);
        fx_assert_ret(cgov_call(p, crash, (void *) 1, NULL, &res, NULL, NULL), 0);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_SIGNALED, "raise: outcome %d", res.outcome);
        cr_assert_eq(res.exit_status, SIGSEGV);

        fx_assert_ret(cgov_call(p, return_arg, (void *) 7, NULL, &res, NULL, NULL), 0, "the caller goes on calling");
        cr_assert_eq(res.exit_status, 7);
        fx_assert_pool_idle(p);
        cr_assert_eq(fx_count_leaves(fx_root), 0);
}

Test(call, fn_that_outgrows_its_memory_is_oom_killed) {
        cgov_pool *p = fx_pool("p", 256 * MiB, 0);
        struct cgov_result res;

        int r = cgov_call(p, eat_memory, (void *) (uintptr_t) (64 * MiB),
                          &(struct cgov_job_spec) { .memory_max = 16 * MiB }, &res, NULL, NULL);
        cr_assert_eq(r, 0, "cgov_call: %s", cgov_strerror(r));
        cr_assert_eq(res.outcome, CGOV_OUTCOME_OOM_KILLED, "outcome %d status %d", res.outcome, res.exit_status);
        cr_assert_leq(res.memory_peak, 16 * MiB + 65536, "peak %lu", (unsigned long) res.memory_peak);
        cr_assert_eq(fx_status(p).jobs_oom_killed, 1);
        fx_assert_pool_idle(p);
        cr_assert_eq(fx_count_leaves(fx_root), 0);
}

Test(call, fn_that_runs_past_its_timeout_is_killed) {
        cgov_pool *p = fx_pool("p", 0, 0);
        struct cgov_result res;

        uint64_t t0 = fx_now_ms();
        fx_assert_ret(cgov_call(p, spin, NULL, &(struct cgov_job_spec) { .timeout_ms = 300 }, &res, NULL, NULL), 0);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_TIMED_OUT, "outcome %d", res.outcome);
        cr_assert_geq(fx_now_ms() - t0, 300);
        cr_assert_geq(res.wall_usec, 300000);
        fx_assert_pool_idle(p);
        cr_assert_eq(fx_count_leaves(fx_root), 0);
}

Test(call, a_null_spec_takes_the_pool_defaults) {
        struct cgov_pool_limits lim = { .memory_max = 100 * MiB, .job_memory_default = 10 * MiB };
        cgov_pool *p;
        struct cgov_result res;
        void *out = NULL;
        size_t len = 0;
        fx_assert_ret(cgov_pool_create(fx_gov, "p", &lim, &p), 0);

        int r = cgov_call(p, cat_leaf_file, "memory.max", NULL, &res, &out, &len);
        cr_assert_eq(r, 0, "cgov_call: %s", cgov_strerror(r));
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED, "exit %d", res.exit_status);
        cr_assert_eq(res.exit_status, 0);
        cr_assert_eq(len, strlen("10485760\n"));
        cr_assert_eq(memcmp(out, "10485760\n", len), 0, "the leaf's memory.max is the pool's default");
        free(out);
        fx_assert_pool_idle(p);
}

Test(call, spec_argv_is_ignored) {
        cgov_pool *p = fx_pool("p", 0, 0);
        struct cgov_result res;

        fx_assert_ret(cgov_call(p, return_arg, (void *) 3, &(struct cgov_job_spec) { .argv = ARGV("false") }, &res, NULL,
                               NULL),
                     0);
        cr_assert_eq(res.exit_status, 3);
}

Test(call, null_out_discards_the_output) {
        cgov_pool *p = fx_pool("p", 0, 0);
        struct cgov_result res;

        fx_assert_ret(cgov_call(p, chatter, (void *) (uintptr_t) (256 * 1024), NULL, &res, NULL, NULL), 0);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED, "fn was not blocked by an unread pipe: outcome %d", res.outcome);
        cr_assert_eq(res.exit_status, 0);
        fx_assert_pool_idle(p);
}

Test(call, output_larger_than_a_pipe_buffer_comes_back_whole) {
        cgov_pool *p = fx_pool("p", 0, 0);
        struct cgov_result res;
        void *out = NULL;
        size_t len = 0;
        const size_t size = 1024 * 1024;

        fx_assert_ret(cgov_call(p, chatter, (void *) (uintptr_t) size, NULL, &res, &out, &len), 0);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
        cr_assert_eq(res.exit_status, 0);
        cr_assert_eq(len, size, "%zu bytes of %zu", len, size);
        const char *s = out;
        for (size_t i = 0; i < size; i++)
                if (s[i] != (char) ('a' + i % 26))
                        cr_assert_fail("byte %zu is '%c', not '%c'", i, s[i], 'a' + (int) (i % 26));
        free(out);
}

Test(call, refusals_are_like_cgov_run_s_and_fn_never_runs) {
        cgov_pool *p = fx_pool("p", 64 * MiB, 1);
        struct cgov_result res;
        char marker[64];
        fx_tmpfile(marker, sizeof marker);
        unlink(marker); /* fn would create it */
        void *out = (void *) 1;
        size_t len = 99;

        fx_assert_ret(cgov_call(p, touch_marker, marker, &(struct cgov_job_spec) { .memory_max = 65 * MiB }, &res, &out,
                               &len),
                     CGOV_E_INSUFFICIENT_MEMORY);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_REJECTED);
        cr_assert_str_eq(res.rejected_by, "p");
        cr_assert_eq(res.requested, 65 * MiB);

        cgov_job *holder = fx_submit(p, (struct cgov_job_spec) { .argv = ARGV("sleep", "30"), .memory_max = MiB });
        fx_assert_ret(cgov_call(p, touch_marker, marker, NULL, &res, &out, &len), CGOV_E_NO_WORKERS);
        cr_assert_eq(res.rejection, CGOV_E_NO_WORKERS);
        cr_assert_eq(res.limit, 1);
        cr_assert_not(fx_exists(marker), "fn never ran");
        cr_assert_eq(out, (void *) 1, "outputs are written only on success");
        cr_assert_eq(len, 99);

        fx_assert_ret(cgov_call(NULL, return_arg, NULL, NULL, &res, NULL, NULL), -EINVAL);
        fx_assert_ret(cgov_call(p, NULL, NULL, NULL, &res, NULL, NULL), -EINVAL);
        fx_assert_ret(cgov_call(p, return_arg, NULL, NULL, NULL, NULL, NULL), -EINVAL);
        fx_kill_await(holder);
        fx_assert_pool_idle(p);
        cr_assert_eq(fx_count_leaves(fx_root), 0);
}

Test(call, a_call_may_wait_in_the_queue) {
        cgov_pool *p = fx_pool_queue("p", 0, 1, 1, 0);
        struct cgov_result res;

        cgov_job *holder = fx_submit(p, (struct cgov_job_spec) { .argv = ARGV("sleep", "0.5") });
        fx_assert_ret(cgov_call(p, return_arg, (void *) 9, NULL, &res, NULL, NULL), 0);
        cr_assert_eq(res.outcome, CGOV_OUTCOME_EXITED);
        cr_assert_eq(res.exit_status, 9);
        fx_await(holder, &res);
        cgov_job_free(holder);
        fx_assert_pool_idle(p);
}
