/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The job cycle of /bin/true — admit, leaf, start, wait, result, leaf gone —
 * by each way of running it, against the floor: posix_spawn() + waitpid()
 * with no cgroup at all. The ways take turns within each round (the order
 * rotates), so a slow patch of a shared machine hits them all alike; each
 * ratio is taken within its round, and the median over rounds is printed.
 *
 * Output, one line per way (tab-separated):
 *   cycle <way> <median µs per cycle> <median ratio> <lowest ratio> <highest ratio> */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-util.h"
#include "cgov.h"

#define TRUE_PATH "/bin/true"

extern char **environ;

static struct {
        unsigned rounds, jobs;
        const char *root, *address, *pool, *cgov_command, *cgexec_group, *records_dir;
        bool accounting_only;
} arg = {
        .rounds = 15,
        .jobs = 40,
        .pool = "bench",
        .cgov_command = "cgov",
};

static cgov *embedded_gov, *client_gov, *systemd_gov;
static cgov_pool *embedded_pool, *client_pool, *systemd_pool;

static void spawn_and_wait(char *const argv[]) {
        pid_t pid;
        int r, status;

        r = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
        if (r != 0)
                bench_die("cannot start %s: %s", argv[0], strerror(r));
        if (waitpid(pid, &status, 0) != pid)
                bench_die("waitpid: %m");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                bench_die("%s ... did not exit 0 (status 0x%x)", argv[0], (unsigned) status);
}

static void cycle_floor(void) {
        spawn_and_wait((char *[]) { TRUE_PATH, NULL });
}

static void run_in(cgov_pool *p) {
        static const char *const argv[] = { TRUE_PATH, NULL };
        struct cgov_job_spec spec = { .argv = argv };
        struct cgov_result res;
        int r;

        r = cgov_run(p, &spec, &res);
        if (r != 0)
                bench_die("cgov_run: %s", cgov_strerror(r));
        if (res.outcome != CGOV_OUTCOME_EXITED || res.exit_status != 0)
                bench_die("cgov_run: /bin/true ended with outcome %d, status %d", res.outcome, res.exit_status);
}

static void cycle_embedded(void) {
        run_in(embedded_pool);
}

static void cycle_systemd(void) {
        run_in(systemd_pool);
}

static void cycle_client(void) {
        run_in(client_pool);
}

static void cycle_cli(void) {
        spawn_and_wait((char *[]) { (char *) arg.cgov_command, "run", "--address", (char *) arg.address,
                                    "--pool", (char *) arg.pool, "--", TRUE_PATH, NULL });
}

/* Not a way of running a job: what cgovd adds to one whose result it must
 * keep (a detached job, or one that waits in a queue), the record written
 * as records.c writes it (a new file renamed over the old) and removed
 * when its owner collects the result. */
static void cycle_record(void) {
        static uint64_t id;
        static const char text[] =
                "{\"id\":1025,\"uid\":1001,\"user\":\"tenant\",\"pool\":\"shared/bench\",\"name\":\"job\","
                "\"argv0\":\"true\",\"state\":\"ended\",\"result\":{\"outcome\":\"exited\",\"exitStatus\":0,"
                "\"memoryPeak\":262144,\"cpuUsec\":812,\"wallUsec\":1904,\"pidsPeak\":1}}";
        static int dfd = -1;
        char name[32], tmp[40];

        if (dfd < 0 && (dfd = open(arg.records_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                bench_die("%s: %m", arg.records_dir);
        snprintf(name, sizeof name, "%" PRIu64, ++id);
        snprintf(tmp, sizeof tmp, ".%s.new", name);
        int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 || write(fd, text, sizeof text - 1) != (ssize_t) (sizeof text - 1) || close(fd) < 0 ||
            renameat(dfd, tmp, dfd, name) < 0 || unlinkat(dfd, name, 0) < 0)
                bench_die("a record in %s: %m", arg.records_dir);
}

static void cycle_cgexec(void) {
        spawn_and_wait((char *[]) { "cgexec", "-g", (char *) arg.cgexec_group, TRUE_PATH, NULL });
}

static void cycle_systemd_run(void) {
        spawn_and_wait((char *[]) { "systemd-run", "--scope", "--quiet", "--collect", TRUE_PATH, NULL });
}

static const struct way {
        const char *name;
        void (*cycle)(void);
} ways[] = {
        { "floor", cycle_floor },
        { "embedded", cycle_embedded },
        { "systemd", cycle_systemd },
        { "client", cycle_client },
        { "cli", cycle_cli },
        { "cgexec", cycle_cgexec },
        { "systemd-run", cycle_systemd_run },
        { "record", cycle_record },
};

static const struct way *way_find(const char *name) {
        for (size_t i = 0; i < sizeof ways / sizeof ways[0]; i++)
                if (strcmp(ways[i].name, name) == 0)
                        return &ways[i];
        bench_die("no way of running a job called '%s' (floor, embedded, systemd, client, cli, cgexec, systemd-run, record)", name);
}

static void open_governors(const struct way **sel, size_t n) {
        for (size_t i = 0; i < n; i++) {
                cgov *g;
                int r;

                if (sel[i]->cycle == cycle_embedded) {
                        struct cgov_options o = {
                                .cgroup_root = arg.root,
                                .flags = arg.accounting_only ? CGOV_OPEN_ACCOUNTING_ONLY : 0,
                        };
                        /* Limits, so that every cycle takes the admission path
                         * of a real pool: room for all, but counted. */
                        struct cgov_pool_limits lim = { .memory_max = 1ULL << 30, .max_jobs = 64 };

                        if (!arg.root)
                                bench_die("embedded needs --root CGROUP");
                        r = cgov_open(&g, &o);
                        if (r < 0)
                                bench_die("cgov_open(%s): %s", arg.root, cgov_strerror(r));
                        embedded_gov = g;
                        r = cgov_pool_create(g, "bench", &lim, &embedded_pool);
                        if (r < 0)
                                bench_die("cgov_pool_create(bench): %s", cgov_strerror(r));
                } else if (sel[i]->cycle == cycle_systemd) {
                        /* The systemd backend: a pool is a slice of a parent
                         * slice of the benchmark's own, each job a transient
                         * service. */
                        struct cgov_options o = { .cgroup_root = "cgov-bench.slice", .flags = CGOV_OPEN_SYSTEMD };
                        struct cgov_pool_limits lim = { .memory_max = 1ULL << 30, .max_jobs = 64 };

                        r = cgov_open(&g, &o);
                        if (r < 0)
                                bench_die("cgov_open(CGOV_OPEN_SYSTEMD): %s", cgov_strerror(r));
                        systemd_gov = g;
                        r = cgov_pool_create(g, "bench", &lim, &systemd_pool);
                        if (r < 0)
                                bench_die("cgov_pool_create(bench) as a slice: %s", cgov_strerror(r));
                } else if (sel[i]->cycle == cycle_client || sel[i]->cycle == cycle_cli) {
                        if (!arg.address)
                                bench_die("%s needs --address SOCKET", sel[i]->name);
                        if (sel[i]->cycle == cycle_cli || client_pool)
                                continue;
                        r = cgov_open(&g, &(struct cgov_options) { .address = arg.address });
                        if (r < 0)
                                bench_die("cgov_open(%s): %s", arg.address, cgov_strerror(r));
                        client_gov = g;
                        r = cgov_pool_find(g, arg.pool, &client_pool);
                        if (r < 0)
                                bench_die("cgov_pool_find(%s): %s", arg.pool, cgov_strerror(r));
                } else if (sel[i]->cycle == cycle_cgexec && !arg.cgexec_group)
                        bench_die("cgexec needs --cgexec-group CONTROLLER:PATH");
                else if (sel[i]->cycle == cycle_record && !arg.records_dir)
                        bench_die("record needs --records-dir DIR");
        }
}

static void help(void) {
        printf("bench-cycle [OPTIONS] WAY...\n"
               "WAY: floor embedded systemd client cli cgexec systemd-run record (floor is always measured)\n"
               "  --rounds N          rounds, each running every way in turn (15)\n"
               "  --jobs N            cycles per way and round (40)\n"
               "  --root CGROUP       the embedded governor's root\n"
               "  --accounting-only   open it with CGOV_OPEN_ACCOUNTING_ONLY\n"
               "  --address SOCKET    cgovd's socket, for client and cli\n"
               "  --pool PATH         cgovd's pool to run in, for client and cli (bench)\n"
               "  --cgov PATH         the cgov command, for cli (cgov)\n"
               "  --cgexec-group G    cgexec's -g argument, for cgexec\n"
               "  --records-dir DIR   where record writes its files (on cgovd's state directory's file system)\n");
}

int main(int argc, char *argv[]) {
        enum { ARG_ROUNDS = 0x100, ARG_JOBS, ARG_ROOT, ARG_ACCOUNTING, ARG_ADDRESS, ARG_POOL, ARG_CGOV, ARG_CGEXEC, ARG_RECORDS };
        static const struct option options[] = {
                { "rounds", required_argument, NULL, ARG_ROUNDS },
                { "jobs", required_argument, NULL, ARG_JOBS },
                { "root", required_argument, NULL, ARG_ROOT },
                { "accounting-only", no_argument, NULL, ARG_ACCOUNTING },
                { "address", required_argument, NULL, ARG_ADDRESS },
                { "pool", required_argument, NULL, ARG_POOL },
                { "cgov", required_argument, NULL, ARG_CGOV },
                { "cgexec-group", required_argument, NULL, ARG_CGEXEC },
                { "records-dir", required_argument, NULL, ARG_RECORDS },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const struct way *sel[sizeof ways / sizeof ways[0]] = { &ways[0] };
        size_t n_sel = 1;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_ROUNDS: arg.rounds = bench_count("--rounds", optarg); break;
                case ARG_JOBS: arg.jobs = bench_count("--jobs", optarg); break;
                case ARG_ROOT: arg.root = optarg; break;
                case ARG_ACCOUNTING: arg.accounting_only = true; break;
                case ARG_ADDRESS: arg.address = optarg; break;
                case ARG_POOL: arg.pool = optarg; break;
                case ARG_CGOV: arg.cgov_command = optarg; break;
                case ARG_CGEXEC: arg.cgexec_group = optarg; break;
                case ARG_RECORDS: arg.records_dir = optarg; break;
                case 'h': help(); return 0;
                default: return 2;
                }
        for (int i = optind; i < argc; i++) {
                const struct way *w = way_find(argv[i]);
                bool dup = false;
                for (size_t k = 0; k < n_sel; k++)
                        dup = dup || sel[k] == w;
                if (!dup)
                        sel[n_sel++] = w;
        }
        open_governors(sel, n_sel);

        double *per_cycle = calloc(n_sel * arg.rounds, sizeof(double));
        double *ratio = calloc(n_sel * arg.rounds, sizeof(double));
        if (!per_cycle || !ratio)
                bench_die("out of memory");

        /* Round 0 warms caches, the daemon and the page cache; not counted. */
        for (unsigned round = 0; round <= arg.rounds; round++) {
                double t[sizeof ways / sizeof ways[0]];
                for (size_t k = 0; k < n_sel; k++) {
                        size_t i = (k + round) % n_sel;
                        uint64_t start = bench_now_nsec();
                        for (unsigned j = 0; j < arg.jobs; j++)
                                sel[i]->cycle();
                        t[i] = (double) (bench_now_nsec() - start) / arg.jobs / 1000.0;
                }
                if (round == 0)
                        continue;
                for (size_t i = 0; i < n_sel; i++) {
                        per_cycle[i * arg.rounds + round - 1] = t[i];
                        ratio[i * arg.rounds + round - 1] = t[i] / t[0];
                }
        }
        for (size_t i = 0; i < n_sel; i++) {
                double *r = ratio + i * arg.rounds;
                double med = bench_median(r, arg.rounds); /* sorts r */
                printf("cycle\t%s\t%.1f\t%.3f\t%.3f\t%.3f\n", sel[i]->name,
                       bench_median(per_cycle + i * arg.rounds, arg.rounds), med, r[0], r[arg.rounds - 1]);
        }
        free(per_cycle);
        free(ratio);
        /* The embedded pool's cgroup goes once its last leaf is gone. */
        if (embedded_pool)
                (void) cgov_pool_release(embedded_pool);
        cgov_close(embedded_gov);
        cgov_close(systemd_gov);
        cgov_close(client_gov);
        return 0;
}
