/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The two steps of bench/run-scale that a shell cannot do well.
 *
 *   bench-scale submit --address SOCKET < PLAN
 *     PLAN: lines "USER POOL COUNT". Starts COUNT long-running jobs
 *     (sleep 3600, detached: the handle is dropped, the job goes on) in POOL
 *     as USER, through libcgov's client mode, as tenants do. One process per
 *     user, all at once, each with its own connection: cgovd bounds jobs per
 *     user (256), so 2,000 jobs need several tenants, and tenants submit
 *     concurrently. Prints "submitted <jobs> <ms>".
 *
 *   bench-scale time [--runs N] -- COMMAND [ARG...]
 *     Runs COMMAND once to warm up, then N times (5), each with its standard
 *     output read through a pipe to its end, as a terminal or a script would.
 *     Prints "<median ms> <bytes of output>"; fails if a run does not exit 0. */
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-util.h"
#include "cgov.h"

#define USERS_MAX 64
#define JOB_SECONDS "3600"

extern char **environ;

typedef struct Order {
        char *pool;
        unsigned count;
} Order;

typedef struct Tenant {
        char *name;
        Order *orders;
        size_t n_orders;
        unsigned jobs;
} Tenant;

static Tenant *tenant_get(Tenant *v, size_t *n, const char *name) {
        for (size_t i = 0; i < *n; i++)
                if (strcmp(v[i].name, name) == 0)
                        return &v[i];
        if (*n == USERS_MAX)
                bench_die("more than %d users in the plan", USERS_MAX);
        v[*n] = (Tenant) { .name = strdup(name) };
        if (!v[*n].name)
                bench_die("out of memory");
        return &v[(*n)++];
}

static size_t plan_read(Tenant *v) {
        char user[256], pool[1024];
        unsigned count;
        size_t n = 0;
        int k;

        while ((k = scanf("%255s %1023s %u", user, pool, &count)) == 3) {
                Tenant *t = tenant_get(v, &n, user);
                Order *o = realloc(t->orders, (t->n_orders + 1) * sizeof *o);
                if (!o || !(o[t->n_orders].pool = strdup(pool)))
                        bench_die("out of memory");
                o[t->n_orders++].count = count;
                t->orders = o;
                t->jobs += count;
        }
        if (k != EOF)
                bench_die("the plan on standard input wants lines of USER POOL COUNT");
        return n;
}

/* In the tenant's own process: becomes the user, then submits. */
_Noreturn static void tenant_run(const Tenant *t, const char *address) {
        static const char *const argv[] = { "sleep", JOB_SECONDS, NULL };
        static const char *const envp[] = { "PATH=/usr/bin:/bin", NULL };
        struct cgov_job_spec spec = {
                .argv = argv,
                .envp = envp,
                .cwd = "/",
                .name = "scale",
                .queue_timeout_ms = -1, /* a refusal is a failure of the run, not a wait */
                .flags = CGOV_JOB_STDIO,
                .stdio = { -1, -1, -1 },
        };
        struct passwd *pw = getpwnam(t->name);
        cgov *g;
        int r;

        if (!pw)
                bench_die("no user %s", t->name);
        if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
                bench_die("cannot become %s: %m", t->name);
        r = cgov_open(&g, &(struct cgov_options) { .address = address });
        if (r < 0)
                bench_die("%s: cgov_open(%s): %s", t->name, address, cgov_strerror(r));
        for (size_t i = 0; i < t->n_orders; i++) {
                cgov_pool *p;
                r = cgov_pool_find(g, t->orders[i].pool, &p);
                if (r < 0)
                        bench_die("%s: cgov_pool_find(%s): %s", t->name, t->orders[i].pool, cgov_strerror(r));
                for (unsigned k = 0; k < t->orders[i].count; k++) {
                        cgov_job *j;
                        r = cgov_submit(p, &spec, &j);
                        if (r < 0)
                                bench_die("%s: job %u in %s: %s", t->name, k + 1, t->orders[i].pool,
                                          cgov_strerror(r));
                        cgov_job_free(j);
                }
        }
        cgov_close(g);
        exit(0);
}

static int cmd_submit(int argc, char *argv[]) {
        static const struct option options[] = {
                { "address", required_argument, NULL, 'a' },
                {}
        };
        const char *address = NULL;
        Tenant tenants[USERS_MAX];
        unsigned total = 0;
        bool failed = false;
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                if (c == 'a')
                        address = optarg;
                else
                        return 2;
        if (!address || optind != argc)
                bench_die("usage: bench-scale submit --address SOCKET < PLAN");

        size_t n = plan_read(tenants);
        uint64_t start = bench_now_nsec();
        for (size_t i = 0; i < n; i++) {
                pid_t pid = fork();
                if (pid < 0)
                        bench_die("fork: %m");
                if (pid == 0)
                        tenant_run(&tenants[i], address);
                total += tenants[i].jobs;
        }
        for (size_t i = 0; i < n; i++) {
                int status;
                if (wait(&status) < 0)
                        bench_die("wait: %m");
                failed = failed || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
        }
        if (failed)
                bench_die("a tenant could not submit all its jobs (see above)");
        printf("submitted\t%u\t%.0f\n", total, (double) (bench_now_nsec() - start) / 1e6);
        return 0;
}

/* One run: its wall time in ms; *ret_bytes what it wrote to stdout. */
static double time_once(char *const argv[], size_t *ret_bytes) {
        posix_spawn_file_actions_t fa;
        char buf[65536];
        size_t bytes = 0;
        ssize_t k;
        int fds[2], r, status;
        pid_t pid;

        if (pipe(fds) < 0)
                bench_die("pipe: %m");
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&fa, fds[0]);
        posix_spawn_file_actions_addclose(&fa, fds[1]);

        uint64_t start = bench_now_nsec();
        r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                bench_die("cannot start %s: %s", argv[0], strerror(r));
        close(fds[1]);
        while ((k = read(fds[0], buf, sizeof buf)) > 0)
                bytes += (size_t) k;
        if (k < 0)
                bench_die("read: %m");
        close(fds[0]);
        if (waitpid(pid, &status, 0) != pid)
                bench_die("waitpid: %m");
        double ms = (double) (bench_now_nsec() - start) / 1e6;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                bench_die("%s ... did not exit 0 (status 0x%x)", argv[0], (unsigned) status);
        *ret_bytes = bytes;
        return ms;
}

static int cmd_time(int argc, char *argv[]) {
        static const struct option options[] = {
                { "runs", required_argument, NULL, 'r' },
                {}
        };
        unsigned runs = 5;
        size_t bytes;
        int c;

        while ((c = getopt_long(argc, argv, "+", options, NULL)) >= 0)
                if (c == 'r')
                        runs = bench_count("--runs", optarg);
                else
                        return 2;
        if (optind >= argc)
                bench_die("usage: bench-scale time [--runs N] -- COMMAND [ARG...]");

        double *t = calloc(runs, sizeof *t);
        if (!t)
                bench_die("out of memory");
        (void) time_once(argv + optind, &bytes);
        for (unsigned i = 0; i < runs; i++)
                t[i] = time_once(argv + optind, &bytes);
        printf("%.1f\t%zu\n", bench_median(t, runs), bytes);
        free(t);
        return 0;
}

int main(int argc, char *argv[]) {
        if (argc >= 2 && strcmp(argv[1], "submit") == 0)
                return cmd_submit(argc - 1, argv + 1);
        if (argc >= 2 && strcmp(argv[1], "time") == 0)
                return cmd_time(argc - 1, argv + 1);
        fprintf(stderr, "usage: bench-scale submit --address SOCKET < PLAN\n"
                        "       bench-scale time [--runs N] -- COMMAND [ARG...]\n");
        return 2;
}
