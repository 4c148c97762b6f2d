/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Admission decisions per second on a 3-level chain of pools,
 * "shared" → "shared/tenant" → "shared/tenant/jobs", each with max_jobs and
 * memory_max. One decision is one cgov_acquire(leaf, 1), which weighs every
 * level of the chain; a granted slot is given back at once with
 * cgov_release(leaf, 1), so the figure is that of a whole slot cycle.
 *
 * Two ways, each with 1 and 2 threads on the same leaf:
 *   admission          the chain has room: every decision is a grant
 *   admission-refused  "shared" is full: every decision walks the chain up
 *                      to the top and is refused
 * The two differ in what they cost (a grant also writes the chain and
 * releases), so they are never mixed into one figure. Each decision is
 * checked to be the one expected: a benchmark that silently measures
 * refusals where it meant grants measures the wrong path.
 *
 * The ways take turns within each round (the order rotates), round 0 warms
 * up and is not counted. Output, one line per way and thread count
 * (tab-separated):
 *   <way> <threads> <median decisions/s> <lowest> <highest> */
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bench-util.h"
#include "cgov.h"

/* The top level is the tightest, so a refusal is decided by the last node of
 * the walk, not the first. */
#define TOP_MAX_JOBS 8u

static const struct level {
        const char *path;
        struct cgov_pool_limits limits;
} levels[] = {
        { "shared", { .memory_max = 4ULL << 30, .max_jobs = TOP_MAX_JOBS } },
        { "shared/tenant", { .memory_max = 2ULL << 30, .max_jobs = 16 } },
        { "shared/tenant/jobs", { .memory_max = 1ULL << 30, .max_jobs = 32 } },
};
#define N_LEVELS (sizeof levels / sizeof levels[0])

static struct {
        unsigned rounds, ops;
        const char *root;
        bool accounting_only;
} arg = {
        .rounds = 9,
        .ops = 2000000,
};

typedef struct Way {
        const char *name;
        unsigned threads;
        bool refused;      /* the chain is full while it runs */
        double *per_sec;   /* one per counted round */
} Way;

typedef struct Worker {
        pthread_t thread;
        cgov_pool *leaf;
        pthread_barrier_t *start;
        unsigned ops;
        bool refused;
        uint64_t t_start, t_end;
} Worker;

static void *worker_run(void *userdata) {
        Worker *w = userdata;
        int want = w->refused ? 0 : 1;

        pthread_barrier_wait(w->start);
        w->t_start = bench_now_nsec();
        for (unsigned i = 0; i < w->ops; i++) {
                int r = cgov_acquire(w->leaf, 1);
                if (r != want)
                        bench_die("cgov_acquire gave %d (%s), expected %d", r, r < 0 ? cgov_strerror(r) : "slots",
                                  want);
                if (r > 0) {
                        r = cgov_release(w->leaf, 1);
                        if (r < 0)
                                bench_die("cgov_release: %s", cgov_strerror(r));
                }
        }
        w->t_end = bench_now_nsec();
        return NULL;
}

/* arg.ops decisions in all, shared among the threads; decisions per second
 * of wall-clock time, from the first thread's start to the last one's end.
 * Each thread reads the clock itself: thread creation is not counted, and a
 * main thread descheduled after the barrier cannot shrink the interval. */
static double measure(cgov_pool *leaf, const Way *way) {
        Worker w[2];
        pthread_barrier_t start;
        uint64_t t0, t1;
        int r;

        if (way->threads > sizeof w / sizeof w[0])
                bench_die("at most %zu threads", sizeof w / sizeof w[0]);
        r = pthread_barrier_init(&start, NULL, way->threads + 1);
        if (r != 0)
                bench_die("pthread_barrier_init: %s", strerror(r));
        for (unsigned i = 0; i < way->threads; i++) {
                w[i] = (Worker) {
                        .leaf = leaf,
                        .start = &start,
                        .ops = arg.ops / way->threads + (i < arg.ops % way->threads),
                        .refused = way->refused,
                };
                r = pthread_create(&w[i].thread, NULL, worker_run, &w[i]);
                if (r != 0)
                        bench_die("pthread_create: %s", strerror(r));
        }
        pthread_barrier_wait(&start);
        for (unsigned i = 0; i < way->threads; i++)
                pthread_join(w[i].thread, NULL);
        pthread_barrier_destroy(&start);
        t0 = w[0].t_start;
        t1 = w[0].t_end;
        for (unsigned i = 1; i < way->threads; i++) {
                t0 = w[i].t_start < t0 ? w[i].t_start : t0;
                t1 = w[i].t_end > t1 ? w[i].t_end : t1;
        }
        return (double) arg.ops * 1e9 / (double) (t1 - t0);
}

static void expect_slots_held(cgov_pool *p, uint32_t held) {
        struct cgov_pool_status st;
        int r = cgov_pool_status(p, &st);
        if (r < 0)
                bench_die("cgov_pool_status(%s): %s", cgov_pool_path(p), cgov_strerror(r));
        if (st.slots_held != held)
                bench_die("%s holds %u slots, expected %u", cgov_pool_path(p), st.slots_held, held);
}

/* Fills the chain (refused) or empties it again. */
static void set_full(cgov_pool *leaf, bool full) {
        int r = full ? cgov_acquire(leaf, TOP_MAX_JOBS) : cgov_release(leaf, TOP_MAX_JOBS);
        if (r != (full ? (int) TOP_MAX_JOBS : 0))
                bench_die("cgov_%s(%u): %d (%s)", full ? "acquire" : "release", TOP_MAX_JOBS, r,
                          r < 0 ? cgov_strerror(r) : "slots");
        expect_slots_held(leaf, full ? TOP_MAX_JOBS : 0);
}

static void help(void) {
        printf("bench-admission [OPTIONS]\n"
               "  --root CGROUP       cgroup v2 directory for the embedded governor (required;\n"
               "                      the pools are made and removed below it)\n"
               "  --accounting-only   open it with CGOV_OPEN_ACCOUNTING_ONLY\n"
               "  --rounds N          rounds, each running every way in turn (9)\n"
               "  --ops N             decisions per way and round, shared among its threads (2000000)\n");
}

int main(int argc, char *argv[]) {
        enum { ARG_ROUNDS = 0x100, ARG_OPS, ARG_ROOT, ARG_ACCOUNTING };
        static const struct option options[] = {
                { "rounds", required_argument, NULL, ARG_ROUNDS },
                { "ops", required_argument, NULL, ARG_OPS },
                { "root", required_argument, NULL, ARG_ROOT },
                { "accounting-only", no_argument, NULL, ARG_ACCOUNTING },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        Way ways[] = {
                { "admission", 1, false, NULL },
                { "admission", 2, false, NULL },
                { "admission-refused", 1, true, NULL },
                { "admission-refused", 2, true, NULL },
        };
        const size_t n_ways = sizeof ways / sizeof ways[0];
        cgov_pool *pools[N_LEVELS], *leaf;
        cgov *g;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_ROUNDS: arg.rounds = bench_count("--rounds", optarg); break;
                case ARG_OPS: arg.ops = bench_count("--ops", optarg); break;
                case ARG_ROOT: arg.root = optarg; break;
                case ARG_ACCOUNTING: arg.accounting_only = true; break;
                case 'h': help(); return 0;
                default: return 2;
                }
        if (optind < argc)
                bench_die("unexpected argument '%s'", argv[optind]);
        if (!arg.root)
                bench_die("--root CGROUP is required");

        r = cgov_open(&g, &(struct cgov_options) {
                .cgroup_root = arg.root,
                .flags = arg.accounting_only ? CGOV_OPEN_ACCOUNTING_ONLY : 0,
        });
        if (r < 0)
                bench_die("cgov_open(%s): %s", arg.root, cgov_strerror(r));
        for (size_t i = 0; i < N_LEVELS; i++) {
                r = cgov_pool_create(g, levels[i].path, &levels[i].limits, &pools[i]);
                if (r < 0)
                        bench_die("cgov_pool_create(%s): %s", levels[i].path, cgov_strerror(r));
        }
        leaf = pools[N_LEVELS - 1];

        for (size_t i = 0; i < n_ways; i++) {
                ways[i].per_sec = calloc(arg.rounds, sizeof(double));
                if (!ways[i].per_sec)
                        bench_die("out of memory");
        }

        for (unsigned round = 0; round <= arg.rounds; round++)
                for (size_t k = 0; k < n_ways; k++) {
                        Way *way = &ways[(k + round) % n_ways];
                        if (way->refused)
                                set_full(leaf, true);
                        double v = measure(leaf, way);
                        if (way->refused)
                                set_full(leaf, false);
                        else
                                expect_slots_held(leaf, 0);
                        if (round > 0)
                                way->per_sec[round - 1] = v;
                }

        for (size_t i = 0; i < n_ways; i++) {
                double med = bench_median(ways[i].per_sec, arg.rounds); /* sorts */
                printf("%s\t%u\t%.0f\t%.0f\t%.0f\n", ways[i].name, ways[i].threads, med, ways[i].per_sec[0],
                       ways[i].per_sec[arg.rounds - 1]);
                free(ways[i].per_sec);
        }

        /* Every slot came back on every level; then nothing is left behind:
         * releasing "shared" takes its sub-pools, and their directories go
         * at once since nothing runs in them. */
        for (size_t i = 0; i < N_LEVELS; i++)
                expect_slots_held(pools[i], 0);
        r = cgov_pool_release(pools[0]);
        if (r < 0)
                bench_die("cgov_pool_release(shared): %s", cgov_strerror(r));
        cgov_close(g);
        return 0;
}
