/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Chaos on a real kernel: a few hundred jobs in nested pools, from several
 * threads, ending every way a job can end — exit, kill, timeout, OOM, flush,
 * kill by name, a wait that runs out. Afterwards nothing may be left. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

TestSuite(chaos, .init = fx_setup, .fini = fx_teardown, .timeout = 600);

#define N_THREADS 3
#define JOBS_PER_THREAD 90       /* 270 submissions: a fork+exec costs ~40 ms in the guest */
#define MAX_OUTSTANDING 12
#define N_POOLS 10               /* shared, 3 tenants, 6 teams */

static cgov_pool *pools[N_POOLS];

/* Static: a compound literal would die with the block that sets spec.argv. */
static const char *const quick[] = { "sh", "-c", "exit 3", NULL };
static const char *const long_sleep[] = { "sleep", "2", NULL };
static const char *const short_sleep[] = { "sleep", "0.2", NULL };
/* Fills 16 MiB in an 8 MiB leaf. */
static const char *const hog[] = { "sh", "-c", "x=$(head -c 16777216 /dev/zero | tr '\\0' a); echo ${#x}", NULL };

struct worker {
        unsigned seed;
        unsigned submitted, refused, kills, by_name, flushes;
        unsigned outcomes[CGOV_OUTCOME_UNKNOWN + 1];
        unsigned failures;
        char first_failure[256];
};

static void fail(struct worker *w, const char *what, int r) {
        if (w->failures++ == 0)
                snprintf(w->first_failure, sizeof w->first_failure, "%s: %s", what, cgov_strerror(r));
}

static void finish(struct worker *w, cgov_job *j) {
        struct cgov_result res;
        int r = cgov_await(j, -1, &res);
        if (r < 0)
                fail(w, "cgov_await", r);
        else if (res.outcome < CGOV_OUTCOME_EXITED || res.outcome > CGOV_OUTCOME_UNKNOWN)
                fail(w, "outcome out of range", (int) res.outcome);
        else
                w->outcomes[res.outcome]++;
        cgov_job_free(j);
}

static void *chaos_worker(void *userdata) {
        struct worker *w = userdata;
        cgov_job *live[MAX_OUTSTANDING];
        unsigned n_live = 0;

        for (unsigned i = 0; i < JOBS_PER_THREAD; i++) {
                unsigned roll = (unsigned) rand_r(&w->seed) % 100;
                cgov_pool *p = pools[1 + (unsigned) rand_r(&w->seed) % (N_POOLS - 1)];
                struct cgov_job_spec spec = { .memory_max = 8 * MiB };

                /* Now and then, an action on others' jobs instead of a job. */
                if (roll >= 95) {
                        int r;
                        if (roll % 2) {
                                r = cgov_kill_by_name(p, "victim");
                                w->by_name++;
                        } else {
                                r = cgov_flush(pools[4 + (unsigned) rand_r(&w->seed) % 6]);
                                w->flushes++;
                        }
                        if (r < 0)
                                fail(w, "kill_by_name/flush", r);
                        continue;
                }
                if (roll < 40) {
                        spec.argv = quick;
                        if (roll < 4)
                                spec.queue_timeout_ms = -1;
                } else if (roll < 60) {
                        spec.argv = long_sleep;
                        spec.name = "victim";
                } else if (roll < 75) {
                        spec.argv = long_sleep;
                        spec.timeout_ms = 100 + (unsigned) rand_r(&w->seed) % 300;
                } else if (roll < 83) {
                        spec.argv = hog;
                        spec.flags = CGOV_JOB_STDIO;
                        spec.stdio[0] = spec.stdio[1] = spec.stdio[2] = -1;
                } else {
                        spec.argv = short_sleep;
                        spec.queue_timeout_ms = 50 + (unsigned) rand_r(&w->seed) % 250;
                }

                cgov_job *j = NULL;
                int r = cgov_submit(p, &spec, &j);
                w->submitted++;
                if (r == CGOV_E_NO_WORKERS || r == CGOV_E_INSUFFICIENT_MEMORY || r == CGOV_E_OVERLOADED) {
                        w->refused++;
                        continue;
                }
                if (r < 0) {
                        fail(w, "cgov_submit", r);
                        continue;
                }
                if (n_live == MAX_OUTSTANDING) {
                        finish(w, live[0]);
                        memmove(live, live + 1, (MAX_OUTSTANDING - 1) * sizeof live[0]);
                        n_live--;
                }
                live[n_live++] = j;

                /* Kill a random job of ours, running, queued or already ended. */
                if (rand_r(&w->seed) % 4 == 0) {
                        r = cgov_kill(live[(unsigned) rand_r(&w->seed) % n_live]);
                        if (r < 0 && r != -ESRCH)
                                fail(w, "cgov_kill", r);
                        w->kills++;
                }
                usleep((unsigned) rand_r(&w->seed) % 20000);
        }
        for (unsigned i = 0; i < n_live; i++)
                finish(w, live[i]);
        return NULL;
}

Test(chaos, random_kills_timeouts_ooms_and_flushes_leave_nothing_behind) {
        const char *env = getenv("CGOV_CHAOS_SEED");
        unsigned seed = env ? (unsigned) strtoul(env, NULL, 0) : 20261122u;
        struct worker w[N_THREADS] = {};
        pthread_t t[N_THREADS];
        char path[64];
        unsigned n = 0;

        cr_log_info("chaos seed %u (set CGOV_CHAOS_SEED to replay another)", seed);
        fprintf(stderr, "chaos seed %u\n", seed);
        pools[n++] = fx_pool("shared", 512 * MiB, 8);
        for (int t_ = 0; t_ < 3; t_++) {
                snprintf(path, sizeof path, "shared/t%d", t_);
                pools[n++] = fx_pool_queue(path, 192 * MiB, 4, 6, 400);
        }
        for (int t_ = 0; t_ < 3; t_++)
                for (int team = 0; team < 2; team++) {
                        snprintf(path, sizeof path, "shared/t%d/team%d", t_, team);
                        pools[n++] = fx_pool_queue(path, 96 * MiB, 3, 4, 300);
                }
        cr_assert_eq(n, N_POOLS);

        for (int i = 0; i < N_THREADS; i++) {
                w[i].seed = seed + (unsigned) i;
                cr_assert_eq(pthread_create(&t[i], NULL, chaos_worker, &w[i]), 0);
        }
        for (int i = 0; i < N_THREADS; i++)
                pthread_join(t[i], NULL);

        struct worker sum = {};
        for (int i = 0; i < N_THREADS; i++) {
                cr_assert_eq(w[i].failures, 0, "thread %d: %u failures, first: %s", i, w[i].failures, w[i].first_failure);
                sum.submitted += w[i].submitted;
                sum.refused += w[i].refused;
                sum.kills += w[i].kills;
                sum.by_name += w[i].by_name;
                sum.flushes += w[i].flushes;
                for (int o = 0; o <= CGOV_OUTCOME_UNKNOWN; o++)
                        sum.outcomes[o] += w[i].outcomes[o];
        }
        unsigned *o = sum.outcomes;
        fprintf(stderr,
                "chaos: %u submitted, %u refused at once; exited %u, signaled %u, oom %u, timed out %u, killed %u, "
                "rejected while waiting %u, unknown %u; %u kills, %u kill_by_name, %u flushes\n",
                sum.submitted, sum.refused, o[CGOV_OUTCOME_EXITED], o[CGOV_OUTCOME_SIGNALED], o[CGOV_OUTCOME_OOM_KILLED],
                o[CGOV_OUTCOME_TIMED_OUT], o[CGOV_OUTCOME_KILLED], o[CGOV_OUTCOME_REJECTED], o[CGOV_OUTCOME_UNKNOWN],
                sum.kills, sum.by_name, sum.flushes);

        /* Everything is back to zero, everywhere. */
        for (unsigned i = 0; i < N_POOLS; i++)
                fx_assert_pool_idle(pools[i]);
        cr_assert_eq(fx_count_leaves(fx_root), 0, "%u leaves left", fx_count_leaves(fx_root));

        unsigned handled = sum.refused;
        for (int k = CGOV_OUTCOME_EXITED; k <= CGOV_OUTCOME_UNKNOWN; k++)
                handled += o[k];
        cr_assert_eq(handled, sum.submitted, "every accepted job was awaited to its end");
        cr_assert_eq(o[CGOV_OUTCOME_UNKNOWN], 0, "no job was re-adopted, so every exit status is known");

        /* The counters add up: each submission either started or was
         * rejected, except a job killed while it waited, which did neither. */
        struct cgov_pool_status st = fx_status(pools[0]);
        uint64_t ran = o[CGOV_OUTCOME_EXITED] + o[CGOV_OUTCOME_SIGNALED] + o[CGOV_OUTCOME_OOM_KILLED] +
                       o[CGOV_OUTCOME_TIMED_OUT];
        cr_assert_eq(st.jobs_rejected, (uint64_t) sum.refused + o[CGOV_OUTCOME_REJECTED],
                     "rejected %" PRIu64 ": %u at once + %u while waiting", st.jobs_rejected, sum.refused,
                     o[CGOV_OUTCOME_REJECTED]);
        cr_assert_geq(st.jobs_started, ran, "started %" PRIu64 " < %" PRIu64 " that ran to an end", st.jobs_started, ran);
        cr_assert_leq(st.jobs_started, ran + o[CGOV_OUTCOME_KILLED], "started %" PRIu64 " > %" PRIu64 " + %u killed",
                      st.jobs_started, ran, o[CGOV_OUTCOME_KILLED]);
        cr_assert_eq(st.jobs_oom_killed, o[CGOV_OUTCOME_OOM_KILLED], "oom counter %" PRIu64 ", outcomes %u",
                     st.jobs_oom_killed, o[CGOV_OUTCOME_OOM_KILLED]);
        uint64_t tenants_started = 0, tenants_rejected = 0;
        for (unsigned i = 1; i <= 3; i++) {
                struct cgov_pool_status ts = fx_status(pools[i]);
                tenants_started += ts.jobs_started;
                tenants_rejected += ts.jobs_rejected;
        }
        cr_assert_eq(tenants_started, st.jobs_started, "the tenants' counters sum to shared's");
        cr_assert_eq(tenants_rejected, st.jobs_rejected);
}
