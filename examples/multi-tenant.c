/* SPDX-License-Identifier: MIT-0 */
/*
 * multi-tenant — libcgov in a hosting platform, in one page.
 *
 * A shared pool of 192 MiB and 4 jobs, and two tenants of 128 MiB and 2 jobs
 * each inside it. Shows a job placed in its own leaf cgroup, refusals that
 * name the pool and the figures, and an out-of-memory job.
 *
 *   multi-tenant [CGROUP-DIR]
 *
 * CGROUP-DIR (default: $CGOV_TEST_CGROUP/demo) is a cgroup v2 directory we
 * may create and manage; `make demo` provides one, in a QEMU guest if this
 * host's cgroup v2 lacks the memory and pids controllers.
 *
 * Uses only <cgov.h>: build with `cc multi-tenant.c $(pkg-config --cflags --libs libcgov)`.
 */
#include <cgov.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MiB (UINT64_C(1) << 20)

static const char *size(uint64_t bytes, char buf[static 16]) {
        if (bytes == 0)
                snprintf(buf, 16, "0");
        else if (bytes >= MiB)
                snprintf(buf, 16, "%.1fM", (double) bytes / MiB);
        else
                snprintf(buf, 16, "%.1fK", (double) bytes / 1024);
        return buf;
}

static void print_refusal(const struct cgov_result *res) {
        char a[16], b[16], c[16];

        if (res->rejection == CGOV_E_INSUFFICIENT_MEMORY)
                printf("    refused by pool %s: %s (requested %s, available %s of %s)\n", res->rejected_by,
                       cgov_strerror(res->rejection), size(res->requested, a), size(res->available, b),
                       size(res->limit, c));
        else
                printf("    refused by pool %s: %s (requested %" PRIu64 ", available %" PRIu64 " of %" PRIu64 ")\n",
                       res->rejected_by, cgov_strerror(res->rejection), res->requested, res->available, res->limit);
}

static const char *outcome(const struct cgov_result *res) {
        switch (res->outcome) {
        case CGOV_OUTCOME_EXITED: return "exited";
        case CGOV_OUTCOME_SIGNALED: return "killed by a signal";
        case CGOV_OUTCOME_OOM_KILLED: return "OOM-killed by the kernel";
        case CGOV_OUTCOME_TIMED_OUT: return "timed out";
        case CGOV_OUTCOME_KILLED: return "killed";
        case CGOV_OUTCOME_REJECTED: return "refused";
        default: return "unknown";
        }
}

static int make_pool(cgov *g, const char *path, uint64_t memory, uint32_t jobs, cgov_pool **ret) {
        struct cgov_pool_limits lim = { .memory_max = memory, .max_jobs = jobs };
        int r = cgov_pool_create(g, path, &lim, ret);
        if (r < 0)
                fprintf(stderr, "multi-tenant: cannot create pool %s: %s\n", path, cgov_strerror(r));
        else
                printf("pool %-14s memory.max %4" PRIu64 "M  max jobs %" PRIu32 "   (%s)\n", path, memory / MiB, jobs,
                       cgov_pool_cgroup(*ret));
        return r;
}

static void print_status(cgov_pool *p) {
        struct cgov_pool_status st;
        char a[16], b[16];

        if (cgov_pool_status(p, &st) < 0)
                return;
        printf("  %-14s reserved %s of %s  running %" PRIu32 "/%" PRIu32 "  started %" PRIu64 "  refused %" PRIu64
               "  oom-killed %" PRIu64 "\n",
               cgov_pool_path(p), size(st.memory_reserved, a), size(st.memory_max, b), st.jobs_running, st.max_jobs,
               st.jobs_started, st.jobs_rejected, st.jobs_oom_killed);
}

int main(int argc, char **argv) {
        char root[4096], a[16];
        const char *base = getenv("CGOV_TEST_CGROUP");
        cgov *g;
        cgov_pool *shared, *alice, *bob;
        cgov_job *held[2];
        struct cgov_result res;
        int r;

        if (argc > 1)
                snprintf(root, sizeof root, "%s", argv[1]);
        else if (base)
                snprintf(root, sizeof root, "%s/demo", base);
        else {
                fprintf(stderr, "usage: multi-tenant CGROUP-DIR (or run it with `make demo`)\n");
                return 2;
        }

        r = cgov_open(&g, &(struct cgov_options) { .cgroup_root = root });
        if (r < 0) {
                fprintf(stderr, "multi-tenant: cannot govern %s: %s (`cgov doctor` says why)\n", root, cgov_strerror(r));
                return 1;
        }
        printf("governing %s\n\n", root);
        if (make_pool(g, "shared", 192 * MiB, 4, &shared) < 0 || make_pool(g, "shared/alice", 128 * MiB, 2, &alice) < 0 ||
            make_pool(g, "shared/bob", 128 * MiB, 2, &bob) < 0)
                return 1;

        printf("\n[1] alice runs a job; it starts inside a fresh leaf of her pool:\n");
        int pipefd[2];
        if (pipe(pipefd) < 0)
                return 1;
        struct cgov_job_spec hello = {
                .argv = (const char *const[]) { "cat", "/proc/self/cgroup", NULL },
                .name = "hello",
                .memory_max = 32 * MiB,
                .flags = CGOV_JOB_STDIO,
                .stdio = { -1, pipefd[1], 2 },
        };
        cgov_job *j;
        r = cgov_submit(alice, &hello, &j);
        if (r < 0) {
                fprintf(stderr, "multi-tenant: %s\n", cgov_strerror(r));
                return 1;
        }
        close(pipefd[1]);
        printf("    leaf:           %s\n", cgov_job_cgroup(j));
        char line[512] = "";
        ssize_t n = read(pipefd[0], line, sizeof line - 1);
        line[n > 0 ? n : 0] = '\0';
        close(pipefd[0]);
        printf("    the job says:   %s", line);
        cgov_await(j, -1, &res);
        cgov_job_free(j);
        printf("    outcome:        %s %d (memory peak %s, wall %.1f ms); the leaf is gone again\n", outcome(&res),
               res.exit_status, size(res.memory_peak, a), res.wall_usec / 1000.0);

        printf("\n[2] bob asks for 200 MiB; his pool has 128 MiB: refused before anything starts:\n");
        struct cgov_job_spec big = { .argv = (const char *const[]) { "true", NULL }, .memory_max = 200 * MiB };
        if (cgov_run(bob, &big, &res) == CGOV_E_INSUFFICIENT_MEMORY)
                print_refusal(&res);

        printf("\n[3] alice holds both of her job slots; a third job of hers:\n");
        struct cgov_job_spec sleeper = { .argv = (const char *const[]) { "sleep", "30", NULL }, .memory_max = 40 * MiB };
        for (int i = 0; i < 2; i++)
                if (cgov_submit(alice, &sleeper, &held[i]) < 0)
                        return 1;
        if (cgov_run(alice, &big, &res) == CGOV_E_NO_WORKERS)
                print_refusal(&res);

        printf("\n[4] bob asks for 120 MiB: his pool has room, but alice holds 80 of the shared 192 MiB:\n");
        big.memory_max = 120 * MiB;
        if (cgov_run(bob, &big, &res) == CGOV_E_INSUFFICIENT_MEMORY)
                print_refusal(&res);
        big.memory_max = 112 * MiB;
        r = cgov_run(bob, &big, &res);
        printf("    112 MiB, an exact fit: %s\n", r == 0 ? "admitted, ran, and gave its reservation back" : cgov_strerror(r));

        printf("\n[5] bob's job touches 64 MiB inside a 16 MiB reservation:\n");
        struct cgov_job_spec hog = {
                .argv = (const char *const[]) { "sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a)", NULL },
                .memory_max = 16 * MiB,
        };
        if (cgov_run(bob, &hog, &res) == 0)
                printf("    outcome:        %s (memory peak %s); alice's jobs run on untouched\n", outcome(&res),
                       size(res.memory_peak, a));

        for (int i = 0; i < 2; i++) {
                cgov_kill(held[i]);
                cgov_await(held[i], -1, &res);
                cgov_job_free(held[i]);
        }
        printf("\nstatus once every job has ended (each figure covers the pool's subtree):\n");
        print_status(shared);
        print_status(alice);
        print_status(bob);
        cgov_close(g);
        return 0;
}
