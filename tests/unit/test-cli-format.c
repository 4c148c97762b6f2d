/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client-util.h"
#include "format.h"

#define K (UINT64_C(1) << 10)
#define M (UINT64_C(1) << 20)
#define G (UINT64_C(1) << 30)
#define T (UINT64_C(1) << 40)
#define E (UINT64_C(1) << 60)

static void bytes_is(uint64_t v, const char *want) {
        char buf[FORMAT_BYTES_MAX];
        cr_expect_str_eq(format_bytes(buf, v), want, "format_bytes(%llu) = \"%s\", expected \"%s\"",
                         (unsigned long long) v, buf, want);
}

Test(format_bytes, units) {
        bytes_is(0, "0B");
        bytes_is(100, "100B");
        bytes_is(1023, "1023B");
        bytes_is(K, "1.0K");
        bytes_is(64 * K, "64.0K");
        bytes_is(512 * M, "512.0M");
        bytes_is(800 * M, "800.0M");
        bytes_is(6 * G, "6.0G");
        bytes_is(10 * G, "10.0G");
        bytes_is(3 * T, "3.0T");
        bytes_is(E, "1.0E");
        bytes_is(UINT64_MAX, "15.9E");
}

Test(format_bytes, rounds_down) {
        bytes_is(G + G / 4, "1.2G");           /* 1.25 */
        bytes_is(M - 1, "1023.9K");            /* never "1024.0K" */
        bytes_is(G - 1, "1023.9M");
        bytes_is(4 * G - 1, "3.9G");           /* never more than there is */
        bytes_is(1536 * K, "1.5M");
}

static struct cgov_result refusal(int rejection, const char *by, uint64_t requested, uint64_t available,
                                  uint64_t limit) {
        struct cgov_result r = {
                .outcome = CGOV_OUTCOME_REJECTED,
                .rejection = rejection,
                .requested = requested,
                .available = available,
                .limit = limit,
        };
        snprintf(r.rejected_by, sizeof r.rejected_by, "%s", by);
        return r;
}

static void rejection_is(struct cgov_result res, const char *want) {
        char buf[256];
        cr_expect_str_eq(format_rejection(buf, sizeof buf, &res), want);
}

Test(format_rejection, decisions) {
        rejection_is(refusal(CGOV_E_INSUFFICIENT_MEMORY, "shared", 6 * G, 4 * G, 10 * G),
                     "insufficient memory (requested 6.0G, available 4.0G of 10.0G)");
        rejection_is(refusal(CGOV_E_NO_WORKERS, "shared", 1, 0, 8), "no free job slot (requested 1, available 0 of 8)");
        rejection_is(refusal(CGOV_E_OVERLOADED, "shared", 1, 0, 16), "its queue is full (16 waiting)");
        rejection_is(refusal(CGOV_E_POOL_GONE, "shared", 0, 0, 0), "the pool was released");
        rejection_is(refusal(CGOV_E_TIMEOUT, "shared", 0, 0, 0), "no room within the queue timeout");
        rejection_is(refusal(CGOV_E_TIMEOUT, "shared", 1, 0, 8),
                     "no room within the queue timeout (job slots: requested 1, available 0 of 8)");
        rejection_is(refusal(CGOV_E_TIMEOUT, "shared", 2 * G, 512 * M, 4 * G),
                     "no room within the queue timeout (memory: requested 2.0G, available 512.0M of 4.0G)");
}

/* A refusal must never read "requested 4.0G, available 4.0G". */
Test(format_rejection, close_figures_differ) {
        rejection_is(refusal(CGOV_E_INSUFFICIENT_MEMORY, "shared", 4 * G + 40 * M, 4 * G + 20 * M, 10 * G),
                     "insufficient memory (requested 4.03G, available 4.01G of 10.0G)");
        rejection_is(refusal(CGOV_E_INSUFFICIENT_MEMORY, "shared", 4 * G + 1, 4 * G, 10 * G),
                     "insufficient memory (requested 4294967297B, available 4294967296B of 10.0G)");
        rejection_is(refusal(CGOV_E_INSUFFICIENT_MEMORY, "shared", 4 * G, 4 * G, 10 * G),
                     "insufficient memory (requested 4.0G, available 4.0G of 10.0G)");
}

static char *table(const char *const *cells, size_t rows, size_t columns) {
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);
        cr_assert_not_null(f);
        table_print(f, cells, rows, columns);
        fclose(f);
        return out;
}

Test(table_print, aligns_columns) {
        const char *cells[] = {
                "POOL",         "MEMORY",     "QUEUED", //
                "shared",       "2.0G/10.0G", "0",      //
                "  customer-a", NULL,         "1",      //
        };
        char *out = table(cells, 3, 3);
        cr_expect_str_eq(out, "POOL          MEMORY      QUEUED\n"
                              "shared        2.0G/10.0G  0\n"
                              "  customer-a  -           1\n");
        free(out);
}

typedef struct Exit {
        int status;
        char msg[1024];
} Exit;

static Exit exit_of(int r, struct cgov_result res, const JobReport *job) {
        Exit e;
        e.status = job_exit_status(r, &res, job, e.msg, sizeof e.msg);
        return e;
}

static const JobReport job12 = { .id = 12, .command = "make", .memory_max = 256 * M };

Test(job_exit_status, exits) {
        Exit e = exit_of(0, (struct cgov_result) { .outcome = CGOV_OUTCOME_EXITED, .exit_status = 0 }, &job12);
        cr_expect_eq(e.status, 0);
        cr_expect_str_empty(e.msg);
        e = exit_of(0, (struct cgov_result) { .outcome = CGOV_OUTCOME_EXITED, .exit_status = 3 }, &job12);
        cr_expect_eq(e.status, 3);
        cr_expect_str_empty(e.msg);
}

Test(job_exit_status, signals) {
        Exit e = exit_of(0, (struct cgov_result) { .outcome = CGOV_OUTCOME_SIGNALED, .exit_status = SIGSEGV }, &job12);
        cr_expect_eq(e.status, 128 + SIGSEGV);
        cr_expect(strstr(e.msg, "job 12 was terminated by signal 11") == e.msg, "%s", e.msg);
        /* Like a shell: no line for the signals that end jobs routinely. */
        e = exit_of(0, (struct cgov_result) { .outcome = CGOV_OUTCOME_SIGNALED, .exit_status = SIGINT }, &job12);
        cr_expect_eq(e.status, 130);
        cr_expect_str_empty(e.msg);
        e = exit_of(0, (struct cgov_result) { .outcome = CGOV_OUTCOME_SIGNALED, .exit_status = SIGPIPE }, &job12);
        cr_expect_eq(e.status, 141);
        cr_expect_str_empty(e.msg);
}

Test(job_exit_status, governor_ends) {
        Exit e = exit_of(0, (struct cgov_result) { .outcome = CGOV_OUTCOME_OOM_KILLED, .memory_peak = 256 * M },
                         &job12);
        cr_expect_eq(e.status, 137);
        cr_expect_str_eq(e.msg, "job 12 was killed by the kernel's OOM killer (memory limit 256.0M, peak 256.0M)");

        JobReport unknown_limit = { .id = 12 };
        e = exit_of(0, (struct cgov_result) { .outcome = CGOV_OUTCOME_OOM_KILLED }, &unknown_limit);
        cr_expect_str_eq(e.msg, "job 12 was killed by the kernel's OOM killer");

        e = exit_of(0, (struct cgov_result) { .outcome = CGOV_OUTCOME_TIMED_OUT, .wall_usec = 30250000 }, &job12);
        cr_expect_eq(e.status, 124);
        cr_expect_str_eq(e.msg, "job 12 ran past its time limit and was killed after 30.2s");

        e = exit_of(0, (struct cgov_result) { .outcome = CGOV_OUTCOME_KILLED }, &job12);
        cr_expect_eq(e.status, 137);
        cr_expect_str_eq(e.msg, "job 12 was killed (cgov kill or cgov flush)");

        e = exit_of(0, (struct cgov_result) { .outcome = CGOV_OUTCOME_UNKNOWN }, &job12);
        cr_expect_eq(e.status, 70);
        cr_expect_str_eq(e.msg, "job 12 outlived a restart of cgovd: how it ended is unknown");
}

Test(job_exit_status, refusals) {
        /* Refused at once: the call's code, the figures in res. */
        Exit e = exit_of(CGOV_E_INSUFFICIENT_MEMORY, refusal(CGOV_E_INSUFFICIENT_MEMORY, "shared", 6 * G, 4 * G, 10 * G),
                         &job12);
        cr_expect_eq(e.status, 75);
        cr_expect_str_eq(e.msg, "refused by pool shared: insufficient memory (requested 6.0G, available 4.0G of 10.0G)");

        /* Refused after waiting: cgov_await's 0 with a REJECTED result. */
        e = exit_of(0, refusal(CGOV_E_TIMEOUT, "shared/alice", 1, 0, 2), &job12);
        cr_expect_eq(e.status, 75);
        cr_expect_str_eq(e.msg, "refused by pool shared/alice: no room within the queue timeout "
                                "(job slots: requested 1, available 0 of 2)");

        e = exit_of(CGOV_E_OVERLOADED, (struct cgov_result) {}, &job12);
        cr_expect_eq(e.status, 75);
        cr_expect_str_eq(e.msg, "refused by pool ?: its queue is full");
}

Test(job_exit_status, start_errors) {
        Exit e = exit_of(-ENOENT, (struct cgov_result) {}, &job12);
        cr_expect_eq(e.status, 127);
        cr_expect_str_eq(e.msg, "cannot run make: No such file or directory");
        e = exit_of(-EACCES, (struct cgov_result) {}, &job12);
        cr_expect_eq(e.status, 126);
        cr_expect_str_eq(e.msg, "cannot run make: Permission denied");
        e = exit_of(-ENOEXEC, (struct cgov_result) {}, &job12);
        cr_expect_eq(e.status, 126);

        JobReport anonymous = { .id = 3 };
        e = exit_of(-ENOENT, (struct cgov_result) {}, &anonymous);
        cr_expect_str_eq(e.msg, "cannot run the job: No such file or directory");
}

Test(parse_job_id, ids) {
        uint64_t id = 0;
        cr_expect_eq(parse_job_id("17", &id), 0);
        cr_expect_eq(id, 17);
        cr_expect_eq(parse_job_id("18446744073709551615", &id), 0);
        cr_expect_eq(id, UINT64_MAX);
        cr_expect_eq(parse_job_id("0", &id), -EINVAL);
        cr_expect_eq(parse_job_id("-1", &id), -EINVAL);
        cr_expect_eq(parse_job_id("12abc", &id), -EINVAL);
        cr_expect_eq(parse_job_id("", &id), -EINVAL);
        cr_expect_eq(parse_job_id("18446744073709551616", &id), -EINVAL);
}

Test(cli_address, precedence) {
        unsetenv("CGOV_ADDRESS");
        cr_expect_str_eq(cli_address(NULL), "/run/cgov/cgov.sock");
        setenv("CGOV_ADDRESS", "", 1);
        cr_expect_str_eq(cli_address(NULL), "/run/cgov/cgov.sock");
        setenv("CGOV_ADDRESS", "/tmp/x.sock", 1);
        cr_expect_str_eq(cli_address(NULL), "/tmp/x.sock");
        cr_expect_str_eq(cli_address("/run/other.sock"), "/run/other.sock");
        unsetenv("CGOV_ADDRESS");
}
