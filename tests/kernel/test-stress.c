/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Many jobs at once from many threads: nothing may leak on any path. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"

TestSuite(stress, .init = fx_setup, .fini = fx_teardown, .timeout = 300);

#define ARGV(...) ((const char *const[]) { __VA_ARGS__, NULL })

struct worker {
        cgov_pool *pool;
        unsigned submitted, started, rejected, failures;
};

static void *submit_many(void *userdata) {
        struct worker *w = userdata;
        cgov_job *jobs[40];
        unsigned n = 0;

        for (unsigned i = 0; i < 40; i++) {
                /* A mix of outcomes: exits, a timeout, a kill. */
                const char *const *argv = i % 5 == 0 ? ARGV("sleep", "5") : ARGV("sh", "-c", "exit 0");
                struct cgov_job_spec spec = { .argv = argv, .memory_max = 8 * MiB, .timeout_ms = i % 10 == 0 ? 50 : 0 };
                cgov_job *j;
                int r = cgov_submit(w->pool, &spec, &j);
                w->submitted++;
                if (r == CGOV_E_NO_WORKERS || r == CGOV_E_INSUFFICIENT_MEMORY) {
                        w->rejected++;
                        continue;
                }
                if (r < 0) {
                        w->failures++;
                        continue;
                }
                w->started++;
                if (i % 5 == 0 && i % 10 != 0)
                        cgov_kill(j);
                jobs[n++] = j;
        }
        for (unsigned i = 0; i < n; i++) {
                struct cgov_result res;
                if (cgov_await(jobs[i], -1, &res) < 0)
                        w->failures++;
                cgov_job_free(jobs[i]);
        }
        return NULL;
}

Test(stress, concurrent_submissions_against_few_slots_leave_nothing_behind) {
        cgov_pool *shared = fx_pool("shared", 64 * MiB, 6);
        cgov_pool *tenants[4];
        struct worker w[4] = {};
        pthread_t t[4];
        char path[32];

        for (int i = 0; i < 4; i++) {
                snprintf(path, sizeof path, "shared/t%d", i);
                tenants[i] = fx_pool(path, 24 * MiB, 2);
                w[i].pool = tenants[i];
        }
        for (int i = 0; i < 4; i++)
                cr_assert_eq(pthread_create(&t[i], NULL, submit_many, &w[i]), 0);
        for (int i = 0; i < 4; i++)
                pthread_join(t[i], NULL);

        unsigned started = 0, rejected = 0;
        for (int i = 0; i < 4; i++) {
                cr_assert_eq(w[i].failures, 0);
                cr_assert_eq(w[i].started + w[i].rejected, w[i].submitted);
                started += w[i].started;
                rejected += w[i].rejected;
                fx_assert_pool_idle(tenants[i]);
        }
        fx_assert_pool_idle(shared);
        struct cgov_pool_status st;
        cr_assert_eq(cgov_pool_status(shared, &st), 0);
        cr_assert_eq(st.jobs_started, started);
        cr_assert_eq(st.jobs_rejected, rejected);
        cr_assert_gt(started, 0);
        cr_assert_gt(rejected, 0, "the slots were contended");
        cr_assert_eq(fx_count_leaves(fx_root), 0);
}

Test(stress, thousands_of_refusals_against_five_busy_slots_leave_nothing) {
        cgov_pool *p = fx_pool("p", 0, 5);
        cgov_job *busy[5];
        struct cgov_result res;

        for (int i = 0; i < 5; i++)
                cr_assert_eq(cgov_submit(p, &(struct cgov_job_spec) { .argv = ARGV("sleep", "30") }, &busy[i]), 0);
        for (int i = 0; i < 3000; i++) {
                int r = cgov_run(p, &(struct cgov_job_spec) { .argv = ARGV("true") }, &res);
                cr_assert_eq(r, CGOV_E_NO_WORKERS, "refusal %d: %s", i, cgov_strerror(r));
                cr_assert_eq(res.rejection, CGOV_E_NO_WORKERS);
        }
        struct cgov_pool_status st;
        cr_assert_eq(cgov_pool_status(p, &st), 0);
        cr_assert_eq(st.slots_held, 5);
        cr_assert_eq(st.jobs_rejected, 3000);
        cr_assert_eq(fx_count_leaves(fx_root), 5);
        for (int i = 0; i < 5; i++)
                fx_kill_await(busy[i]);
        fx_assert_pool_idle(p);
        cr_assert_eq(fx_count_leaves(fx_root), 0);
}
