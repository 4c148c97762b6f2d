/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * api-consumer — a program written only against the public contract
 * (docs/libcgov.3, <cgov.h>), built the way an outside program is (pkg-config
 * against an installed libcgov). It proves on a real cgroup v2 kernel that an
 * outside caller gets what the contract promises: pools become cgroups with
 * the right limits, jobs run in fresh leaves of their pool, outcomes and
 * rejections carry the right figures, every reservation comes back; jobs
 * wait in bounded queues and time out, kills by handle, name and flush reach
 * queued and running jobs, limit changes and pool releases spare running
 * jobs, slots are granted without a process, cgov_call isolates a C
 * function, and a second cgov_open re-adopts what cgov_close left running.
 *
 * Needs CGOV_TEST_CGROUP: a cgroup v2 directory whose cgroup.subtree_control
 * has +memory +pids and in which we may create directories. Without it, the
 * program says why and exits 77 (skipped). It works below
 * $CGOV_TEST_CGROUP/api-<pid> and removes everything it made.
 *
 * Prints one line per check and, last, exactly one line
 * "api-consumer: N passed, M failed"; exits 0 only when M == 0.
 *
 * Run as "api-consumer --alloc BYTES" it is its own memory hog: it allocates
 * and touches BYTES (used as a job to provoke an OOM kill).
 */
#define _GNU_SOURCE
#include <cgov.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MiB (UINT64_C(1) << 20)
#define PAGE UINT64_C(4096)
/* Awaits of jobs that should end soon are bounded, so a broken kill or
 * timeout shows as a failed check instead of a hung test. */
#define AWAIT_BOUND_MS 30000

/* ---- the check harness --------------------------------------------------- */

static unsigned n_passed, n_failed;

__attribute__((format(printf, 4, 5))) static bool check_at(const char *file, int line, bool ok,
                                                           const char *fmt, ...) {
        const char *base = strrchr(file, '/');
        va_list ap;

        if (ok)
                n_passed++;
        else
                n_failed++;
        printf("%s %s:%d: ", ok ? "  ok  " : "  FAIL", base ? base + 1 : file, line);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
        return ok;
}
#define CHECK(cond, ...) check_at(__FILE__, __LINE__, (cond), __VA_ARGS__)

static void section(const char *name) {
        printf("-- %s\n", name);
        fflush(stdout);
}

static void watchdog(int sig) {
        static const char msg[] = "api-consumer: watchdog expired, a call hangs\n";
        (void) sig;
        (void) !write(STDOUT_FILENO, msg, sizeof msg - 1);
        _exit(1);
}

/* ---- small helpers --------------------------------------------------------- */

/* snprintf that never truncates silently: a path too long for its buffer
 * is a broken test setup, said so and stopped. */
__attribute__((format(printf, 3, 4))) static void fmt(char *buf, size_t size, const char *f, ...) {
        va_list ap;
        va_start(ap, f);
        int n = vsnprintf(buf, size, f, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= size) {
                printf("api-consumer: a path or message does not fit in %zu bytes\n", size);
                exit(1);
        }
}

static const char *E(int r) {
        const char *s = cgov_strerror(r);
        return s ? s : "(null)";
}

static const char *outcome_name(enum cgov_outcome o) {
        switch (o) {
        case CGOV_OUTCOME_EXITED: return "EXITED";
        case CGOV_OUTCOME_SIGNALED: return "SIGNALED";
        case CGOV_OUTCOME_OOM_KILLED: return "OOM_KILLED";
        case CGOV_OUTCOME_TIMED_OUT: return "TIMED_OUT";
        case CGOV_OUTCOME_KILLED: return "KILLED";
        case CGOV_OUTCOME_REJECTED: return "REJECTED";
        case CGOV_OUTCOME_UNKNOWN: return "UNKNOWN";
        default: return "(not an outcome)";
        }
}

static bool is_dir(const char *path) {
        struct stat st;
        return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool gone(const char *path) {
        struct stat st;
        return stat(path, &st) < 0 && errno == ENOENT;
}

/* The first line of dir/file, without its newline, read with stdio. */
static int read_line(const char *dir, const char *file, char *buf, size_t size) {
        char path[PATH_MAX];
        FILE *f;

        fmt(path, sizeof path, "%s/%s", dir, file);
        f = fopen(path, "re");
        if (!f) {
                fmt(buf, size, "(cannot open it: %s)", strerror(errno));
                return -1;
        }
        if (!fgets(buf, (int) size, f))
                buf[0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        fclose(f);
        return 0;
}

/* How many pids dir/cgroup.procs lists; whether it lists pid. */
static int procs_count(const char *dir, pid_t pid, bool *has) {
        char path[PATH_MAX], line[64];
        int n = 0;
        FILE *f;

        if (has)
                *has = false;
        fmt(path, sizeof path, "%s/cgroup.procs", dir);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof line, f)) {
                n++;
                if (has && atol(line) == (long) pid)
                        *has = true;
        }
        fclose(f);
        return n;
}

/* A process that no longer runs: gone, or a zombie nobody reaped yet. */
/* The state letter and start time (clock ticks since boot) of a process:
 * false when it does not exist. */
static bool pid_stat(pid_t pid, char *ret_state, unsigned long long *ret_start) {
        char path[64], buf[1024];
        FILE *f;
        bool ok = false;

        fmt(path, sizeof path, "/proc/%ld/stat", (long) pid);
        f = fopen(path, "re");
        if (!f)
                return false;
        if (fgets(buf, sizeof buf, f)) {
                /* After the ")" of the name: state, then 18 fields, then starttime. */
                const char *p = strrchr(buf, ')');
                ok = p && sscanf(p + 2, "%c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
                                 ret_state, ret_start) == 2;
        }
        fclose(f);
        return ok;
}

static bool pid_dead(pid_t pid) {
        char state;
        unsigned long long start;
        return !pid_stat(pid, &state, &start) || state == 'Z' || state == 'X';
}

/* pid_dead() for a process known by its start time too: after thousands of
 * jobs the guest's pids wrap, and a new process may carry an old pid. */
static bool pid_dead_since(pid_t pid, unsigned long long start) {
        char state;
        unsigned long long now;
        return !pid_stat(pid, &state, &now) || now != start || state == 'Z' || state == 'X';
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The sorted names of dir's subdirectories, one a line (malloc'd). */
static char *subdirs(const char *dir) {
        char *names[4096], *out;
        size_t n = 0, len = 1;
        struct dirent *de;
        DIR *d = opendir(dir);

        if (!d)
                return strdup("(cannot open)");
        while ((de = readdir(d)) && n < 4096) {
                char path[PATH_MAX];
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                fmt(path, sizeof path, "%s/%s", dir, de->d_name);
                if (!is_dir(path))
                        continue;
                names[n++] = strdup(de->d_name);
                len += strlen(de->d_name) + 1;
        }
        closedir(d);
        qsort(names, n, sizeof *names, cmp_str);
        out = malloc(len);
        out[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                strcat(out, names[i]);
                strcat(out, "\n");
                free(names[i]);
        }
        return out;
}

static int64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
}

static const char *dirname_of(const char *path, char *buf, size_t size) {
        fmt(buf, size, "%s", path);
        char *slash = strrchr(buf, '/');
        if (slash)
                *slash = '\0';
        return buf;
}

static const char *basename_of(const char *path) {
        const char *slash = strrchr(path, '/');
        return slash ? slash + 1 : path;
}

static bool ends_with(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* ---- state shared by the behaviours -------------------------------------- */

static char self_exe[PATH_MAX];
static char root[PATH_MAX];       /* $CGOV_TEST_CGROUP/api-<pid> */
static cgov *gov;

/* shared, a, b: admission and rejection. queue and its sub-pools: waiting,
 * killing, limit changes, slots and cgov_call. adopt: re-adoption after
 * cgov_close. Parents come before their children. */
enum { P_SHARED, P_A, P_B, P_Q, P_QW, P_QV, P_S, P_R, P_RI, N_POOLS };
static cgov_pool *pool[N_POOLS];
static const char *const pool_name[N_POOLS] = { "shared", "shared/a", "shared/b", "queue",
                                                "queue/w", "queue/v", "queue/s", "adopt",
                                                "adopt/inner" };
static const int pool_parent[N_POOLS] = { -1, P_SHARED, P_SHARED, -1, P_Q, P_Q, P_Q, -1, P_R };
static const struct cgov_pool_limits pool_lim[N_POOLS] = {
        [P_SHARED] = { .memory_max = 64 * MiB, .max_jobs = 3, .pids_max = 512 },
        [P_A] = { .memory_max = 32 * MiB, .max_jobs = 2, .pids_max = 128 },
        [P_B] = { .memory_max = 32 * MiB, .max_jobs = 2, .pids_max = 128 },
        [P_Q] = { .memory_max = 128 * MiB, .max_jobs = 4, .pids_max = 512 },
        /* one slot, two places to wait, 400 ms by default */
        [P_QW] = { .memory_max = 32 * MiB, .max_jobs = 1, .pids_max = 64, .max_queue = 2,
                   .queue_timeout_ms = 400 },
        /* two slots, two places to wait, forever by default */
        [P_QV] = { .memory_max = 32 * MiB, .max_jobs = 2, .pids_max = 64, .max_queue = 2 },
        [P_S] = { .memory_max = 32 * MiB, .max_jobs = 3, .pids_max = 64, .max_queue = 1,
                  .queue_timeout_ms = 20000 },
        [P_R] = { .memory_max = 48 * MiB, .max_jobs = 2, .pids_max = 64 },
        [P_RI] = { .memory_max = 24 * MiB, .max_jobs = 1, .pids_max = 32,
                   .job_memory_default = 6 * MiB, .max_queue = 1, .queue_timeout_ms = 500 },
};

/* What the counters of every pool must say at the end: each figure covers
 * the pool's whole subtree, so a job of shared/a also counts for shared. */
static struct {
        uint64_t started, rejected, oom_killed;
} want[N_POOLS];

static void count(int p, uint64_t started, uint64_t rejected, uint64_t oom) {
        want[p].started += started;
        want[p].rejected += rejected;
        want[p].oom_killed += oom;
        if (pool_parent[p] >= 0)
                count(pool_parent[p], started, rejected, oom);
}

/* Every pool path we created, parents first, for the final cleanup. */
static char *created[64];
static size_t n_created;

static int create_pool(const char *path, const struct cgov_pool_limits *lim, cgov_pool **ret) {
        int r = cgov_pool_create(gov, path, lim, ret);
        if (r >= 0 && n_created < 64)
                created[n_created++] = strdup(path);
        return r;
}

static bool pools_ok(void) {
        for (int i = 0; i < N_POOLS; i++)
                if (!pool[i])
                        return false;
        return true;
}

static struct cgov_job_spec spec_of(const char *const *argv) {
        struct cgov_job_spec s;
        memset(&s, 0, sizeof s);
        s.argv = argv;
        return s;
}

/* Polls until dir's cgroup.procs lists at least n pids (or 20 s pass). */
static int wait_procs(const char *dir, int n) {
        int have = -1;
        for (int i = 0; i < 1000; i++) {
                have = procs_count(dir, 0, NULL);
                if (have >= n)
                        break;
                sleep_ms(20);
        }
        return have;
}

/* Kills, awaits and frees a job we only needed while it ran. */
static void finish_killed(cgov_job *j, const char *what) {
        struct cgov_result res;
        if (!j)
                return;
        memset(&res, 0, sizeof res);
        int r = cgov_kill(j);
        CHECK(r == 0, "%s: cgov_kill -> 0 (got %d %s)", what, r, E(r));
        r = cgov_await(j, AWAIT_BOUND_MS, &res);
        CHECK(r == 0 && res.outcome == CGOV_OUTCOME_KILLED,
              "%s: await after kill -> 0 with KILLED (got %d %s, %s)", what, r, E(r),
              outcome_name(res.outcome));
        cgov_job_free(j);
}

/* ---- behaviours ------------------------------------------------------------ */

static void test_strerror(void) {
        static const int codes[] = { CGOV_E_INSUFFICIENT_MEMORY, CGOV_E_NO_WORKERS, CGOV_E_TIMEOUT,
                                     CGOV_E_OVERLOADED, CGOV_E_POOL_GONE, -ENOENT, -EACCES,
                                     -EMEDIUMTYPE };
        static const char *const names[] = { "CGOV_E_INSUFFICIENT_MEMORY", "CGOV_E_NO_WORKERS",
                                             "CGOV_E_TIMEOUT", "CGOV_E_OVERLOADED",
                                             "CGOV_E_POOL_GONE", "-ENOENT", "-EACCES",
                                             "-EMEDIUMTYPE" };
        const size_t n = sizeof codes / sizeof *codes;

        section("cgov_strerror");
        CHECK(CGOV_E_INSUFFICIENT_MEMORY < -4095 && CGOV_E_NO_WORKERS < -4095 &&
                      CGOV_E_TIMEOUT < -4095 && CGOV_E_OVERLOADED < -4095 && CGOV_E_POOL_GONE < -4095,
              "every CGOV_E_* code is below -4095");
        for (size_t i = 0; i < n; i++) {
                const char *s = cgov_strerror(codes[i]);
                CHECK(s && s[0], "cgov_strerror(%s) is a non-empty string (\"%s\")", names[i],
                      s ? s : "(null)");
        }
        const char *clash = NULL, *clash2 = NULL;
        for (size_t i = 0; i < n; i++)
                for (size_t k = i + 1; k < n; k++) {
                        const char *a = cgov_strerror(codes[i]), *b = cgov_strerror(codes[k]);
                        if (!clash && (!a || !b || strcmp(a, b) == 0))
                                clash = names[i], clash2 = names[k];
                }
        CHECK(!clash, "cgov_strerror names the %zu codes above pairwise distinctly (first clash: %s/%s)",
              n, clash ? clash : "none", clash2 ? clash2 : "none");
}

static void test_open(const char *base) {
        struct cgov_options o;
        cgov *g = NULL;
        int r;

        section("cgov_open");

        memset(&o, 0, sizeof o);
        o.cgroup_root = root;
        r = cgov_open(NULL, &o);
        CHECK(r < 0, "cgov_open(NULL ret) -> negative (got %d %s)", r, E(r));
        CHECK(gone(root), "cgov_open(NULL ret) created no %s", root);

        o.cgroup_root = "relative/cgroup";
        r = cgov_open(&g, &o);
        CHECK(r == -EINVAL, "cgov_open(relative root) -> -EINVAL (got %d %s)", r, E(r));

        char dotdot[PATH_MAX];
        fmt(dotdot, sizeof dotdot, "%s/../api-dotdot", base);
        o.cgroup_root = dotdot;
        r = cgov_open(&g, &o);
        CHECK(r == -EINVAL, "cgov_open(root with \"..\") -> -EINVAL (got %d %s)", r, E(r));

        char tmpdir[] = "/tmp/cgov-api-consumer.XXXXXX";
        if (CHECK(mkdtemp(tmpdir) != NULL, "mkdtemp %s", tmpdir)) {
                o.cgroup_root = tmpdir;
                r = cgov_open(&g, &o);
                CHECK(r == -EMEDIUMTYPE, "cgov_open(root in /tmp, not cgroup v2) -> -EMEDIUMTYPE "
                      "(got %d %s)", r, E(r));
                char *inside = subdirs(tmpdir);
                CHECK(inside[0] == '\0', "cgov_open made nothing inside %s (found: %s)", tmpdir,
                      inside);
                free(inside);
                r = rmdir(tmpdir) == 0 ? 0 : -errno;
                CHECK(r == 0, "rmdir %s (%s)", tmpdir, strerror(-r));
        }

        o.cgroup_root = root;
        r = cgov_open(&gov, &o);
        CHECK(r == 0 && gov, "cgov_open(%s) -> 0 with a handle (got %d %s)", root, r, E(r));
        if (r < 0)
                gov = NULL;
        CHECK(is_dir(root), "cgov_open created the root %s", root);
}

static void test_pools(void) {
        char buf[256], want_cg[PATH_MAX];
        cgov_pool *p;
        int r;

        section("pools");
        for (int i = 0; i < N_POOLS; i++) {
                r = create_pool(pool_name[i], &pool_lim[i], &pool[i]);
                CHECK(r == 0 && pool[i], "cgov_pool_create(\"%s\", %" PRIu64 " MiB, %" PRIu32
                      " jobs) -> 0 (got %d %s)", pool_name[i], pool_lim[i].memory_max / MiB,
                      pool_lim[i].max_jobs, r, E(r));
                if (r < 0)
                        pool[i] = NULL;
        }
        if (!pools_ok())
                return;

        const char *path = cgov_pool_path(pool[P_A]);
        CHECK(path && strcmp(path, "shared/a") == 0, "cgov_pool_path(a) is \"shared/a\" (got \"%s\")",
              path ? path : "(null)");
        const char *cg = cgov_pool_cgroup(pool[P_A]);
        fmt(want_cg, sizeof want_cg, "%s/shared/a", root);
        CHECK(cg && strcmp(cg, want_cg) == 0, "cgov_pool_cgroup(a) is \"%s\" (got \"%s\")", want_cg,
              cg ? cg : "(null)");
        CHECK(cg && is_dir(cg), "the cgroup of shared/a is a directory");
        path = cgov_pool_path(pool[P_SHARED]);
        CHECK(path && strcmp(path, "shared") == 0, "cgov_pool_path(shared) is \"shared\" (got \"%s\")",
              path ? path : "(null)");

        for (int i = 0; i < N_POOLS; i++) {
                const char *dir = cgov_pool_cgroup(pool[i]);
                char want_s[32];
                if (!dir)
                        continue;
                read_line(dir, "memory.max", buf, sizeof buf);
                fmt(want_s, sizeof want_s, "%" PRIu64, pool_lim[i].memory_max);
                CHECK(strcmp(buf, want_s) == 0, "%s/memory.max says %s (got \"%s\")", pool_name[i],
                      want_s, buf);
                read_line(dir, "pids.max", buf, sizeof buf);
                fmt(want_s, sizeof want_s, "%" PRIu32, pool_lim[i].pids_max);
                CHECK(strcmp(buf, want_s) == 0, "%s/pids.max says %s (got \"%s\")", pool_name[i],
                      want_s, buf);
        }

        /* Bad names: -EINVAL, and no directory appears anywhere. */
        char seg65[66], seg64[65], deep[16 * 4 + 8], deep17[sizeof deep + 8];
        memset(seg65, 'n', 65);
        seg65[65] = '\0';
        memset(seg64, 'n', 64);
        seg64[64] = '\0';
        const char *bad[] = { "..", "a/../b", "", "/x", "x/", "a//b", "supervisor", "cgroup.x",
                              ".hidden", "-dash", "sp ace", "semi;colon", seg65,
                              "shared/..", "shared/supervisor", "shared/cgroup.procs",
                              "shared/.hidden", "shared/a/", NULL };
        char shared_dir[PATH_MAX];
        fmt(shared_dir, sizeof shared_dir, "%s/shared", root);
        for (size_t i = 0; bad[i]; i++) {
                char *before_root = subdirs(root), *before_shared = subdirs(shared_dir);
                p = NULL;
                r = cgov_pool_create(gov, bad[i], &pool_lim[P_A], &p);
                CHECK(r == -EINVAL, "cgov_pool_create(\"%.20s%s\") -> -EINVAL (got %d %s)", bad[i],
                      strlen(bad[i]) > 20 ? "..." : "", r, E(r));
                char *after_root = subdirs(root), *after_shared = subdirs(shared_dir);
                CHECK(strcmp(before_root, after_root) == 0 && strcmp(before_shared, after_shared) == 0,
                      "... and no directory appeared in the root or in shared");
                free(before_root), free(before_shared), free(after_root), free(after_shared);
        }
        r = cgov_pool_create(gov, NULL, &pool_lim[P_A], &p);
        CHECK(r < 0, "cgov_pool_create(NULL path) -> negative (got %d %s)", r, E(r));

        /* The limits of a name: 64 characters and 16 levels are fine. */
        r = create_pool(seg64, &(struct cgov_pool_limits){ 0 }, &p);
        CHECK(r == 0, "cgov_pool_create(a 64-character name) -> 0 (got %d %s)", r, E(r));
        deep[0] = '\0';
        for (int level = 1; level <= 16; level++) {
                char seg[8];
                fmt(seg, sizeof seg, "%sd%02d", level > 1 ? "/" : "", level);
                strcat(deep, seg);
                r = create_pool(deep, &(struct cgov_pool_limits){ 0 }, &p);
                if (r != 0 || level == 16)
                        CHECK(r == 0, "cgov_pool_create of a %d-level path -> 0 (got %d %s)", level, r,
                              E(r));
                if (r != 0)
                        break;
        }
        fmt(deep17, sizeof deep17, "%s/d17", deep);
        {
                char parent[PATH_MAX];
                fmt(parent, sizeof parent, "%s/%s", root, deep);
                char *before = subdirs(parent);
                r = cgov_pool_create(gov, deep17, &(struct cgov_pool_limits){ 0 }, &p);
                CHECK(r == -EINVAL, "cgov_pool_create of a 17-level path (its parent exists) -> "
                      "-EINVAL (got %d %s)", r, E(r));
                char *after = subdirs(parent);
                CHECK(strcmp(before, after) == 0, "... and no directory appeared under level 16");
                free(before), free(after);
        }

        r = cgov_pool_create(gov, "shared/a", &pool_lim[P_A], &p);
        CHECK(r == -EEXIST, "cgov_pool_create(existing \"shared/a\") -> -EEXIST (got %d %s)", r, E(r));
        r = cgov_pool_create(gov, "shared", &pool_lim[P_SHARED], &p);
        CHECK(r == -EEXIST, "cgov_pool_create(existing \"shared\") -> -EEXIST (got %d %s)", r, E(r));
        r = cgov_pool_create(gov, "nosuch/child", &pool_lim[P_A], &p);
        CHECK(r == -ENOENT, "cgov_pool_create(\"nosuch/child\", missing parent) -> -ENOENT "
              "(got %d %s)", r, E(r));
        fmt(buf, sizeof buf, "%s/nosuch", root);
        CHECK(gone(buf), "... and no directory nosuch appeared");
        r = cgov_pool_create(gov, "shared/a/x/y", &pool_lim[P_A], &p);
        CHECK(r == -ENOENT, "cgov_pool_create(\"shared/a/x/y\", missing parent) -> -ENOENT "
              "(got %d %s)", r, E(r));

        p = NULL;
        r = cgov_pool_find(gov, "shared/nosuch", &p);
        CHECK(r == -ENOENT, "cgov_pool_find(\"shared/nosuch\") -> -ENOENT (got %d %s)", r, E(r));
        r = cgov_pool_find(gov, "nosuch", &p);
        CHECK(r == -ENOENT, "cgov_pool_find(\"nosuch\") -> -ENOENT (got %d %s)", r, E(r));
        p = NULL;
        r = cgov_pool_find(gov, "shared/a", &p);
        CHECK(r == 0 && p == pool[P_A], "cgov_pool_find(\"shared/a\") -> 0 and the handle "
              "cgov_pool_create gave (got %d %s, %p vs %p)", r, E(r), (void *) p, (void *) pool[P_A]);
        p = NULL;
        r = cgov_pool_find(gov, "shared", &p);
        CHECK(r == 0 && p == pool[P_SHARED], "cgov_pool_find(\"shared\") -> 0 and the same handle "
              "(got %d %s)", r, E(r));
        r = cgov_pool_find(NULL, "shared", &p);
        CHECK(r < 0, "cgov_pool_find(NULL governor) -> negative (got %d %s)", r, E(r));

        struct cgov_pool_status st;
        memset(&st, 0, sizeof st);
        r = cgov_pool_status(pool[P_A], &st);
        CHECK(r == 0 && st.memory_max == 32 * MiB && st.max_jobs == 2 && st.pids_max == 128 &&
                      st.memory_reserved == 0 && st.jobs_running == 0,
              "cgov_pool_status(shared/a) -> 0 with memory_max 32 MiB, max_jobs 2, pids_max 128, "
              "nothing reserved or running (got %d %s: %" PRIu64 ", %" PRIu32 ", %" PRIu32 ", %" PRIu64
              ", %" PRIu32 ")", r, E(r), st.memory_max, st.max_jobs, st.pids_max, st.memory_reserved,
              st.jobs_running);
        r = cgov_pool_status(NULL, &st);
        CHECK(r < 0, "cgov_pool_status(NULL pool) -> negative (got %d %s)", r, E(r));
        r = cgov_pool_status(pool[P_A], NULL);
        CHECK(r < 0, "cgov_pool_status(NULL status) -> negative (got %d %s)", r, E(r));
}

/* A job runs inside a fresh leaf of its pool. */
static void test_job_leaf(void) {
        static const char *const argv[] = { "sh", "-c", "cat /proc/self/cgroup", NULL };
        struct cgov_result res;
        int fds[2], r;
        char out[4096] = "";

        section("a job runs in a fresh leaf of its pool");
        if (!CHECK(pipe2(fds, O_CLOEXEC) == 0, "pipe2"))
                return;
        struct cgov_job_spec s = spec_of(argv);
        s.name = "whoami";
        s.flags = CGOV_JOB_STDIO;
        s.stdio[0] = -1;
        s.stdio[1] = fds[1];
        s.stdio[2] = -1;
        memset(&res, 0, sizeof res);
        r = cgov_run(pool[P_A], &s, &res);
        close(fds[1]);
        CHECK(r == 0, "cgov_run(sh -c 'cat /proc/self/cgroup') -> 0 (got %d %s)", r, E(r));
        if (r == 0)
                count(P_A, 1, 0, 0);
        CHECK(res.outcome == CGOV_OUTCOME_EXITED && res.exit_status == 0,
              "... outcome EXITED 0 (got %s %d)", outcome_name(res.outcome), res.exit_status);
        size_t len = 0;
        ssize_t n;
        while (len < sizeof out - 1 && (n = read(fds[0], out + len, sizeof out - 1 - len)) > 0)
                len += (size_t) n;
        out[len] = '\0';
        close(fds[0]);

        /* "0::/path/of/the/leaf" */
        char *line = strstr(out, "0::");
        char cgpath[PATH_MAX] = "", parent[PATH_MAX];
        if (line) {
                fmt(cgpath, sizeof cgpath, "%s", line + 3);
                cgpath[strcspn(cgpath, "\n")] = '\0';
        }
        CHECK(cgpath[0] == '/', "the job printed its cgroup through the stdout pipe (\"%s\")", cgpath);
        dirname_of(cgpath, parent, sizeof parent);
        const char *pool_cg = cgov_pool_cgroup(pool[P_A]);
        CHECK(ends_with(parent, "/shared/a") && pool_cg && ends_with(pool_cg, parent),
              "its cgroup's parent is the pool shared/a (\"%s\" within \"%s\")", parent,
              pool_cg ? pool_cg : "(null)");
        const char *leaf = basename_of(cgpath);
        CHECK(strstr(leaf, "whoami") != NULL, "its leaf's name \"%s\" contains the job's name \"whoami\"",
              leaf);
        char leafdir[PATH_MAX];
        fmt(leafdir, sizeof leafdir, "%s/%s", pool_cg ? pool_cg : "", leaf);
        CHECK(leaf[0] && gone(leafdir), "after cgov_run the leaf %s no longer exists", leafdir);
}

/* While a job runs: its leaf, its limits, its pid; then kill. */
static void test_job_running(void) {
        static const char *const argv[] = { "sleep", "30", NULL };
        struct cgov_pool_status st;
        struct cgov_result res;
        cgov_job *j = NULL, *j2 = NULL;
        char leaf[PATH_MAX] = "", buf[256], parent[PATH_MAX];
        int r;

        section("a running job: leaf, limits, pid, kill");
        struct cgov_job_spec s = spec_of(argv);
        s.name = "sleeper";
        s.memory_max = 8 * MiB;
        s.pids_max = 50;
        r = cgov_submit(pool[P_A], &s, &j);
        if (!CHECK(r == 0 && j, "cgov_submit(sleep 30, name sleeper, 8 MiB, pids 50) -> 0 with a handle "
                   "(got %d %s)", r, E(r)))
                return;
        count(P_A, 1, 0, 0);

        const char *cg = cgov_job_cgroup(j);
        pid_t pid = cgov_job_pid(j);
        CHECK(cg != NULL, "cgov_job_cgroup() of the running job is not NULL");
        if (cg)
                fmt(leaf, sizeof leaf, "%s", cg);
        const char *pool_cg = cgov_pool_cgroup(pool[P_A]);
        CHECK(pool_cg && strcmp(dirname_of(leaf, parent, sizeof parent), pool_cg) == 0,
              "the job's cgroup \"%s\" is directly under the pool's \"%s\"", leaf,
              pool_cg ? pool_cg : "(null)");
        CHECK(is_dir(leaf), "the job's cgroup is a directory");
        CHECK(strstr(basename_of(leaf), "sleeper") != NULL, "its name contains the job's name "
              "\"sleeper\" (\"%s\")", basename_of(leaf));
        read_line(leaf, "memory.max", buf, sizeof buf);
        CHECK(strcmp(buf, "8388608") == 0, "its memory.max is the job's memory_max 8388608 (got \"%s\")",
              buf);
        read_line(leaf, "pids.max", buf, sizeof buf);
        CHECK(strcmp(buf, "50") == 0, "its pids.max is the job's pids_max 50 (got \"%s\")", buf);
        char swap[PATH_MAX];
        fmt(swap, sizeof swap, "%s/memory.swap.max", leaf);
        if (access(swap, F_OK) == 0) {
                read_line(leaf, "memory.swap.max", buf, sizeof buf);
                CHECK(strcmp(buf, "0") == 0, "its memory.swap.max is 0 (got \"%s\")", buf);
        }
        bool has = false;
        int n = procs_count(leaf, pid, &has);
        CHECK(pid > 0 && has, "its cgroup.procs (%d pids) contains cgov_job_pid() %ld", n, (long) pid);

        memset(&st, 0, sizeof st);
        r = cgov_pool_status(pool[P_A], &st);
        CHECK(r == 0 && st.jobs_running == 1 && st.memory_reserved == 8 * MiB,
              "shared/a shows 1 running, 8 MiB reserved (got %" PRIu32 ", %" PRIu64 ")",
              st.jobs_running, st.memory_reserved);
        memset(&st, 0, sizeof st);
        r = cgov_pool_status(pool[P_SHARED], &st);
        CHECK(r == 0 && st.jobs_running == 1 && st.memory_reserved == 8 * MiB,
              "shared shows the same for its subtree: 1 running, 8 MiB reserved (got %" PRIu32
              ", %" PRIu64 ")", st.jobs_running, st.memory_reserved);

        /* A job that names no memory reserves the pool's default: 64 MiB, or
         * the pool's memory_max (32 MiB) if smaller. */
        struct cgov_job_spec s2 = spec_of(argv);
        r = cgov_submit(pool[P_B], &s2, &j2);
        if (CHECK(r == 0 && j2, "cgov_submit(sleep 30 in shared/b, no memory_max) -> 0 (got %d %s)", r,
                  E(r))) {
                count(P_B, 1, 0, 0);
                const char *cg2 = cgov_job_cgroup(j2);
                if (cg2)
                        read_line(cg2, "memory.max", buf, sizeof buf);
                CHECK(cg2 && strcmp(buf, "33554432") == 0, "its leaf's memory.max is the default "
                      "min(64 MiB, pool's 32 MiB) = 33554432 (got \"%s\")", cg2 ? buf : "no leaf");
                memset(&st, 0, sizeof st);
                cgov_pool_status(pool[P_B], &st);
                CHECK(st.memory_reserved == 32 * MiB, "shared/b reserves 32 MiB for it (got %" PRIu64
                      ")", st.memory_reserved);
                finish_killed(j2, "default-memory job");
        } else
                j2 = NULL;

        int64_t t0 = now_usec();
        r = cgov_kill(j);
        CHECK(r == 0, "cgov_kill -> 0 (got %d %s)", r, E(r));
        memset(&res, 0, sizeof res);
        r = cgov_await(j, AWAIT_BOUND_MS, &res);
        CHECK(r == 0, "cgov_await -> 0 (got %d %s)", r, E(r));
        CHECK(res.outcome == CGOV_OUTCOME_KILLED, "outcome KILLED (got %s)", outcome_name(res.outcome));
        CHECK(now_usec() - t0 < 10000000, "the kill ended it long before sleep 30 would have");
        CHECK(leaf[0] && gone(leaf), "after await its leaf %s no longer exists", leaf);
        CHECK(pid > 0 && pid_dead(pid), "its process %ld no longer runs", (long) pid);
        r = cgov_kill(j);
        CHECK(r == -ESRCH, "cgov_kill after the end -> -ESRCH (got %d %s)", r, E(r));
        cgov_job_free(j);
}

static void test_exit_codes(void) {
        static const char *const exit7[] = { "sh", "-c", "exit 7", NULL };
        static const char *const term[] = { "sh", "-c", "kill -TERM $$", NULL };
        static const char *const missing[] = { "cgov-api-consumer-no-such-program", NULL };
        static const char *const missing_abs[] = { "/nonexistent/cgov/program", NULL };
        struct cgov_result res;
        struct cgov_job_spec s;
        int r;

        section("exit codes and signals");
        s = spec_of(exit7);
        memset(&res, 0, sizeof res);
        r = cgov_run(pool[P_A], &s, &res);
        if (r == 0)
                count(P_A, 1, 0, 0);
        CHECK(r == 0 && res.outcome == CGOV_OUTCOME_EXITED && res.exit_status == 7,
              "sh -c 'exit 7' -> 0, EXITED, exit_status 7 (got %d %s, %s %d)", r, E(r),
              outcome_name(res.outcome), res.exit_status);
        CHECK(res.wall_usec > 0, "... wall_usec > 0 (got %" PRIu64 ")", res.wall_usec);

        s = spec_of(term);
        memset(&res, 0, sizeof res);
        r = cgov_run(pool[P_A], &s, &res);
        if (r == 0)
                count(P_A, 1, 0, 0);
        CHECK(r == 0 && res.outcome == CGOV_OUTCOME_SIGNALED && res.exit_status == SIGTERM,
              "sh -c 'kill -TERM $$' -> 0, SIGNALED, exit_status 15 (got %d %s, %s %d)", r, E(r),
              outcome_name(res.outcome), res.exit_status);

        s = spec_of(missing);
        memset(&res, 0, sizeof res);
        r = cgov_run(pool[P_A], &s, &res);
        CHECK(r == -ENOENT, "a program not in PATH -> cgov_run returns -ENOENT, not an exit 127 "
              "(got %d %s, %s %d)", r, E(r), outcome_name(res.outcome), res.exit_status);
        if (r == 0)
                count(P_A, 1, 0, 0);
        s = spec_of(missing_abs);
        memset(&res, 0, sizeof res);
        r = cgov_run(pool[P_A], &s, &res);
        CHECK(r == -ENOENT, "a missing absolute program -> cgov_run returns -ENOENT (got %d %s, %s %d)",
              r, E(r), outcome_name(res.outcome), res.exit_status);
        if (r == 0)
                count(P_A, 1, 0, 0);

        for (int p = P_SHARED; p <= P_A; p++) {
                struct cgov_pool_status st;
                memset(&st, 0, sizeof st);
                r = cgov_pool_status(pool[p], &st);
                CHECK(r == 0 && st.memory_reserved == 0 && st.jobs_running == 0,
                      "after them %s shows 0 reserved and 0 running (got %" PRIu64 ", %" PRIu32 ")",
                      pool_name[p], st.memory_reserved, st.jobs_running);
        }
        char *left = subdirs(cgov_pool_cgroup(pool[P_A]));
        CHECK(left[0] == '\0', "and shared/a has no leaf left (found: %s)", left);
        free(left);
}

static void check_rejection(int r, const struct cgov_result *res, int code, const char *by,
                            uint64_t requested, uint64_t available, uint64_t limit, const char *what) {
        CHECK(r == code, "%s -> %s (got %d %s)", what, E(code), r, E(r));
        CHECK(res->outcome == CGOV_OUTCOME_REJECTED && res->rejection == code,
              "... res: outcome REJECTED, rejection %d (got %s, %d)", code, outcome_name(res->outcome),
              res->rejection);
        CHECK(strcmp(res->rejected_by, by) == 0, "... rejected_by \"%s\" (got \"%.255s\")", by,
              res->rejected_by);
        CHECK(res->requested == requested && res->available == available && res->limit == limit,
              "... requested %" PRIu64 ", available %" PRIu64 ", limit %" PRIu64 " (got %" PRIu64
              ", %" PRIu64 ", %" PRIu64 ")", requested, available, limit, res->requested,
              res->available, res->limit);
}

static void check_held(int p, uint32_t running, uint64_t reserved, const char *when) {
        struct cgov_pool_status st;
        memset(&st, 0, sizeof st);
        int r = cgov_pool_status(pool[p], &st);
        CHECK(r == 0 && st.jobs_running == running && st.memory_reserved == reserved,
              "%s: %s shows %" PRIu32 " running, %" PRIu64 " MiB reserved (got %" PRIu32 ", %" PRIu64
              " bytes)", when, pool_name[p], running, reserved / MiB, st.jobs_running,
              st.memory_reserved);
}

static void test_rejections(void) {
        static const char *const sleep30[] = { "sleep", "30", NULL };
        static const char *const true_[] = { "true", NULL };
        struct cgov_result res;
        struct cgov_job_spec s;
        cgov_job *a1 = NULL, *a2 = NULL, *b1 = NULL, *extra = NULL;
        int r;

        section("rejections");
        s = spec_of(true_);
        s.memory_max = 40 * MiB;
        memset(&res, 0, sizeof res);
        r = cgov_run(pool[P_A], &s, &res);
        count(P_A, r == 0, r < -4095, 0);
        check_rejection(r, &res, CGOV_E_INSUFFICIENT_MEMORY, "shared/a", 40 * MiB, 32 * MiB, 32 * MiB,
                        "40 MiB job in shared/a (32 MiB)");
        check_held(P_A, 0, 0, "after that rejection");

        /* Fill shared/a's 2 slots. */
        s = spec_of(sleep30);
        s.memory_max = 8 * MiB;
        s.name = "filler";
        r = cgov_submit(pool[P_A], &s, &a1);
        CHECK(r == 0 && a1, "first sleeper in shared/a admitted (got %d %s)", r, E(r));
        if (r == 0)
                count(P_A, 1, 0, 0);
        else
                a1 = NULL;
        r = cgov_submit(pool[P_A], &s, &a2);
        CHECK(r == 0 && a2, "second sleeper in shared/a admitted (got %d %s)", r, E(r));
        if (r == 0)
                count(P_A, 1, 0, 0);
        else
                a2 = NULL;
        check_held(P_A, 2, 16 * MiB, "with two sleepers");

        s = spec_of(true_);
        s.memory_max = 8 * MiB;
        memset(&res, 0, sizeof res);
        r = cgov_run(pool[P_A], &s, &res);
        count(P_A, r == 0, r < -4095, 0);
        check_rejection(r, &res, CGOV_E_NO_WORKERS, "shared/a", 1, 0, 2,
                        "cgov_run of a third job in shared/a (2 slots)");
        extra = NULL;
        r = cgov_submit(pool[P_A], &s, &extra);
        count(P_A, r == 0, r < -4095, 0);
        CHECK(r == CGOV_E_NO_WORKERS, "cgov_submit of a third job in shared/a (no queue) -> "
              "CGOV_E_NO_WORKERS at once (got %d %s)", r, E(r));
        if (r == 0)
                finish_killed(extra, "unexpectedly admitted third job");

        /* shared has 3 slots: a holds 2, b takes the third, b's second is
         * refused by shared although b itself has room. */
        s = spec_of(sleep30);
        s.memory_max = 8 * MiB;
        r = cgov_submit(pool[P_B], &s, &b1);
        CHECK(r == 0 && b1, "a sleeper in shared/b admitted (shared now holds 3 of 3 slots) "
              "(got %d %s)", r, E(r));
        if (r == 0)
                count(P_B, 1, 0, 0);
        else
                b1 = NULL;
        s = spec_of(true_);
        s.memory_max = 8 * MiB;
        memset(&res, 0, sizeof res);
        r = cgov_run(pool[P_B], &s, &res);
        count(P_B, r == 0, r < -4095, 0);
        check_rejection(r, &res, CGOV_E_NO_WORKERS, "shared", 1, 0, 3,
                        "a second job in shared/b (b has room, shared has none)");
        check_held(P_A, 2, 16 * MiB, "after the rejections");
        check_held(P_B, 1, 8 * MiB, "after the rejections");
        check_held(P_SHARED, 3, 24 * MiB, "after the rejections");

        /* Free one slot of a: a holds 8 of 32 MiB, so 24 MiB is an exact fit. */
        finish_killed(a2, "second sleeper of shared/a");
        a2 = NULL;
        s = spec_of(true_);
        s.memory_max = 24 * MiB + PAGE;
        memset(&res, 0, sizeof res);
        r = cgov_run(pool[P_A], &s, &res);
        count(P_A, r == 0, r < -4095, 0);
        check_rejection(r, &res, CGOV_E_INSUFFICIENT_MEMORY, "shared/a", 24 * MiB + PAGE, 24 * MiB,
                        32 * MiB, "24 MiB + 4 KiB in shared/a (24 MiB free)");
        s.memory_max = 24 * MiB;
        memset(&res, 0, sizeof res);
        r = cgov_run(pool[P_A], &s, &res);
        count(P_A, r == 0, r < -4095, 0);
        CHECK(r == 0 && res.outcome == CGOV_OUTCOME_EXITED && res.exit_status == 0,
              "exactly the 24 MiB available in shared/a: admitted, EXITED 0 (got %d %s, %s %d)", r, E(r),
              outcome_name(res.outcome), res.exit_status);

        finish_killed(a1, "first sleeper of shared/a");
        finish_killed(b1, "sleeper of shared/b");
        check_held(P_SHARED, 0, 0, "after the sleepers are killed");
}

static void test_oom(void) {
        const char *argv[] = { self_exe, "--alloc", "67108864", NULL };
        struct cgov_result res;
        int r;

        section("OOM");
        struct cgov_job_spec s = spec_of(argv);
        s.memory_max = 16 * MiB;
        s.name = "hog";
        s.flags = CGOV_JOB_STDIO;
        s.stdio[0] = s.stdio[1] = s.stdio[2] = -1;
        memset(&res, 0, sizeof res);
        r = cgov_run(pool[P_A], &s, &res);
        if (r == 0)
                count(P_A, 1, 0, res.outcome == CGOV_OUTCOME_OOM_KILLED);
        CHECK(r == 0 && res.outcome == CGOV_OUTCOME_OOM_KILLED,
              "a 16 MiB job touching 64 MiB -> 0, OOM_KILLED (got %d %s, %s %d)", r, E(r),
              outcome_name(res.outcome), res.exit_status);
        CHECK(res.memory_peak > 0 && res.memory_peak <= 16 * MiB + 4 * PAGE,
              "... memory_peak > 0 and <= 16 MiB + 4 pages (got %" PRIu64 ")", res.memory_peak);

        struct cgov_pool_status st;
        memset(&st, 0, sizeof st);
        cgov_pool_status(pool[P_A], &st);
        CHECK(st.memory_reserved == 0 && st.jobs_running == 0,
              "after the OOM kill shared/a holds nothing (got %" PRIu64 ", %" PRIu32 ")",
              st.memory_reserved, st.jobs_running);
}

static void test_timeout(void) {
        static const char *const argv[] = { "sleep", "10", NULL };
        struct cgov_result res;
        int r;

        section("timeout");
        struct cgov_job_spec s = spec_of(argv);
        s.timeout_ms = 300;
        memset(&res, 0, sizeof res);
        int64_t t0 = now_usec();
        r = cgov_run(pool[P_B], &s, &res);
        int64_t took = now_usec() - t0;
        if (r == 0)
                count(P_B, 1, 0, 0);
        CHECK(r == 0 && res.outcome == CGOV_OUTCOME_TIMED_OUT,
              "sleep 10 with timeout_ms 300 -> 0, TIMED_OUT (got %d %s, %s %d)", r, E(r),
              outcome_name(res.outcome), res.exit_status);
        CHECK(res.wall_usec >= 300000 && res.wall_usec < 5000000,
              "... wall_usec between 300 ms and 5 s (got %" PRIu64 " us)", res.wall_usec);
        CHECK(took < 8000000, "... and cgov_run returned within 8 s (took %" PRId64 " us)", took);
}

static void test_kill_tree(void) {
        static const char *const argv[] = { "sh", "-c", "sleep 100 & sleep 100 & wait", NULL };
        struct cgov_result res;
        cgov_job *j = NULL;
        char leaf[PATH_MAX] = "";
        pid_t pids[16];
        unsigned long long starts[16];
        int npids = 0, r;

        section("kill takes the whole tree");
        struct cgov_job_spec s = spec_of(argv);
        s.name = "tree";
        r = cgov_submit(pool[P_B], &s, &j);
        if (!CHECK(r == 0 && j, "cgov_submit(sh with two background sleeps) -> 0 (got %d %s)", r, E(r)))
                return;
        count(P_B, 1, 0, 0);
        const char *cg = cgov_job_cgroup(j);
        if (cg)
                fmt(leaf, sizeof leaf, "%s", cg);
        int n = wait_procs(leaf, 3);
        CHECK(n >= 3, "its leaf holds the shell and both sleeps (%d processes)", n);
        {
                char path[PATH_MAX], line[64];
                fmt(path, sizeof path, "%s/cgroup.procs", leaf);
                FILE *f = fopen(path, "re");
                while (f && npids < 16 && fgets(line, sizeof line, f)) {
                        char state;
                        pids[npids] = (pid_t) atol(line);
                        if (pid_stat(pids[npids], &state, &starts[npids]))
                                npids++;
                }
                if (f)
                        fclose(f);
        }
        r = cgov_kill(j);
        CHECK(r == 0, "cgov_kill -> 0 (got %d %s)", r, E(r));
        memset(&res, 0, sizeof res);
        r = cgov_await(j, AWAIT_BOUND_MS, &res);
        CHECK(r == 0 && res.outcome == CGOV_OUTCOME_KILLED, "cgov_await -> 0, KILLED (got %d %s, %s)", r,
              E(r), outcome_name(res.outcome));
        CHECK(leaf[0] && gone(leaf), "after await the leaf %s is gone, so no process remains in it",
              leaf);
        /* A killed process leaves its cgroup early in its exit, before it is
         * a zombie: give the last ones a moment to get there. */
        int alive = 0;
        for (int tries = 0; tries < 100; tries++) {
                alive = 0;
                for (int i = 0; i < npids; i++)
                        if (!pid_dead_since(pids[i], starts[i]))
                                alive++;
                if (alive == 0)
                        break;
                usleep(10000);
        }
        CHECK(npids > 0 && alive == 0, "none of the %d processes of the tree still runs (%d do)", npids,
              alive);
        r = cgov_kill(j);
        CHECK(r == -ESRCH, "cgov_kill after the end -> -ESRCH (got %d %s)", r, E(r));
        cgov_job_free(j);
}

static void test_await_timeout(void) {
        static const char *const argv[] = { "sleep", "2", NULL };
        struct cgov_result res;
        cgov_job *j = NULL;
        int r;

        section("await with a timeout");
        struct cgov_job_spec s = spec_of(argv);
        r = cgov_submit(pool[P_B], &s, &j);
        if (!CHECK(r == 0 && j, "cgov_submit(sleep 2) -> 0 (got %d %s)", r, E(r)))
                return;
        count(P_B, 1, 0, 0);
        pid_t pid = cgov_job_pid(j);
        int64_t t0 = now_usec();
        memset(&res, 0, sizeof res);
        r = cgov_await(j, 50, &res);
        int64_t took = now_usec() - t0;
        CHECK(r == CGOV_E_TIMEOUT, "cgov_await(50 ms) on a running sleep 2 -> CGOV_E_TIMEOUT "
              "(got %d %s)", r, E(r));
        CHECK(took >= 45000 && took < 1500000, "... after about 50 ms (took %" PRId64 " us)", took);
        CHECK(pid > 0 && !pid_dead(pid), "... and the job goes on (pid %ld runs)", (long) pid);
        const char *cg = cgov_job_cgroup(j);
        CHECK(cg && is_dir(cg), "... in its leaf");
        memset(&res, 0, sizeof res);
        r = cgov_await(j, -1, &res);
        CHECK(r == 0 && res.outcome == CGOV_OUTCOME_EXITED && res.exit_status == 0,
              "a later cgov_await(-1) -> 0, EXITED 0 (got %d %s, %s %d)", r, E(r),
              outcome_name(res.outcome), res.exit_status);
        CHECK(res.wall_usec >= 1900000, "... after its 2 s (wall_usec %" PRIu64 ")", res.wall_usec);
        cgov_job_free(j);
}

static void test_bad_input(void) {
        static const char *const argv[] = { "true", NULL };
        static const char *const empty[] = { NULL };
        struct cgov_result res;
        struct cgov_job_spec s = spec_of(argv), noargv = spec_of(NULL), emptyargv = spec_of(empty);
        cgov_job *j = NULL;
        int r;

        section("bad input");
        memset(&res, 0, sizeof res);
        r = cgov_run(NULL, &s, &res);
        CHECK(r < 0, "cgov_run(NULL pool) -> negative (got %d %s)", r, E(r));
        r = cgov_run(pool[P_A], NULL, &res);
        CHECK(r < 0, "cgov_run(NULL spec) -> negative (got %d %s)", r, E(r));
        r = cgov_run(pool[P_A], &s, NULL);
        CHECK(r < 0, "cgov_run(NULL res) -> negative (got %d %s)", r, E(r));
        if (r >= 0)
                count(P_A, 1, 0, 0);
        r = cgov_run(pool[P_A], &noargv, &res);
        CHECK(r == -EINVAL, "cgov_run(spec.argv NULL) -> -EINVAL (got %d %s)", r, E(r));
        r = cgov_run(pool[P_A], &emptyargv, &res);
        CHECK(r < 0, "cgov_run(spec.argv empty) -> negative (got %d %s)", r, E(r));

        r = cgov_submit(NULL, &s, &j);
        CHECK(r < 0, "cgov_submit(NULL pool) -> negative (got %d %s)", r, E(r));
        r = cgov_submit(pool[P_A], NULL, &j);
        CHECK(r < 0, "cgov_submit(NULL spec) -> negative (got %d %s)", r, E(r));
        r = cgov_submit(pool[P_A], &s, NULL);
        CHECK(r < 0, "cgov_submit(NULL ret) -> negative (got %d %s)", r, E(r));
        if (r >= 0)
                count(P_A, 1, 0, 0);
        r = cgov_submit(pool[P_A], &noargv, &j);
        CHECK(r == -EINVAL, "cgov_submit(spec.argv NULL) -> -EINVAL (got %d %s)", r, E(r));

        r = cgov_await(NULL, 0, &res);
        CHECK(r < 0, "cgov_await(NULL job) -> negative (got %d %s)", r, E(r));
        r = cgov_kill(NULL);
        CHECK(r < 0, "cgov_kill(NULL job) -> negative (got %d %s)", r, E(r));
        cgov_job_free(NULL); /* must not crash */

        /* A bad request is neither a start nor a rejection, and holds nothing. */
        check_held(P_A, 0, 0, "after the bad input");
}

/* ---- waiting, killing, pool changes, slots, cgov_call, re-adoption ---------- */

static int walk_unexpected(const char *rel);

static int stat_of(cgov_pool *p, struct cgov_pool_status *st) {
        memset(st, 0, sizeof *st);
        return cgov_pool_status(p, st);
}

static struct cgov_job_spec job_spec(const char *const *argv, const char *name, uint64_t memory_max,
                                     int64_t queue_timeout_ms) {
        struct cgov_job_spec s = spec_of(argv);
        s.name = name;
        s.memory_max = memory_max;
        s.queue_timeout_ms = queue_timeout_ms;
        return s;
}

/* cgov_submit that must give a handle; NULL (a failed check) when not. */
static cgov_job *submit_ok(int p, const struct cgov_job_spec *s, const char *what) {
        cgov_job *j = NULL;
        int r = cgov_submit(pool[p], s, &j);
        if (!CHECK(r == 0 && j, "cgov_submit(%s) in %s -> 0 with a handle (got %d %s)", what,
                   pool_name[p], r, E(r)))
                return NULL;
        return j;
}

/* A job that waits has no pid and no leaf. */
static bool check_queued(cgov_job *j, const char *what) {
        pid_t pid = j ? cgov_job_pid(j) : -1;
        const char *cg = j ? cgov_job_cgroup(j) : "(no job)";
        return CHECK(j && pid == 0 && cg == NULL, "%s waits: cgov_job_pid 0, cgov_job_cgroup NULL "
                     "(got %ld, %s)", what, (long) pid, cg ? cg : "NULL");
}

static bool check_started(cgov_job *j, const char *what) {
        pid_t pid = j ? cgov_job_pid(j) : 0;
        const char *cg = j ? cgov_job_cgroup(j) : NULL;
        return CHECK(j && pid > 0 && cg && is_dir(cg), "%s runs: a pid (%ld) and a leaf (%s)", what,
                     (long) pid, cg ? cg : "NULL");
}

/* Awaits a job that should end soon; checks its outcome (and for EXITED or
 * SIGNALED its status); frees it. */
static bool await_is(cgov_job *j, enum cgov_outcome want, int status, struct cgov_result *res,
                     const char *what) {
        memset(res, 0, sizeof *res);
        if (!j)
                return CHECK(false, "%s: no job to await", what);
        int r = cgov_await(j, AWAIT_BOUND_MS, res);
        bool with_status = want == CGOV_OUTCOME_EXITED || want == CGOV_OUTCOME_SIGNALED;
        char want_s[64];
        fmt(want_s, sizeof want_s, "%s", outcome_name(want));
        if (with_status)
                fmt(want_s, sizeof want_s, "%s %d", outcome_name(want), status);
        bool ok = CHECK(r == 0 && res->outcome == want && (!with_status || res->exit_status == status),
                        "%s: cgov_await -> 0, %s (got %d %s, %s %d)", what, want_s, r, E(r),
                        outcome_name(res->outcome), res->exit_status);
        cgov_job_free(j);
        return ok;
}

/* Polls (every 10 ms, at most ms) until the job has a pid. */
static bool wait_pid(cgov_job *j, unsigned ms) {
        for (unsigned t = 0; j && t <= ms; t += 10) {
                if (cgov_job_pid(j) > 0)
                        return true;
                sleep_ms(10);
        }
        return false;
}

/* Polls until the pool shows `running` running jobs; returns the last status. */
static bool wait_running(cgov_pool *p, uint32_t running, unsigned ms, struct cgov_pool_status *st) {
        for (unsigned t = 0; t <= ms; t += 10) {
                if (stat_of(p, st) == 0 && st->jobs_running == running)
                        return true;
                sleep_ms(10);
        }
        return false;
}

static bool wait_gone(const char *path, unsigned ms) {
        for (unsigned t = 0; t <= ms; t += 10) {
                if (gone(path))
                        return true;
                sleep_ms(10);
        }
        return false;
}

static bool wait_dead(pid_t pid, unsigned ms) {
        for (unsigned t = 0; pid > 0 && t <= ms; t += 10) {
                if (pid_dead(pid))
                        return true;
                sleep_ms(10);
        }
        return pid > 0 && pid_dead(pid);
}

static void check_idle(int p, const char *when) {
        struct cgov_pool_status st;
        int r = stat_of(pool[p], &st);
        CHECK(r == 0 && st.jobs_running == 0 && st.jobs_queued == 0 && st.memory_reserved == 0 &&
                      st.slots_held == 0,
              "%s: %s is idle: 0 running, 0 queued, 0 reserved, 0 slots (got %d: %" PRIu32 ", %" PRIu32
              ", %" PRIu64 ", %" PRIu32 ")", when, pool_name[p], r, st.jobs_running, st.jobs_queued,
              st.memory_reserved, st.slots_held);
}

/* Drops a pool that is gone from the cleanup list. */
static void forget_pool(const char *path) {
        for (size_t i = 0; i < n_created; i++)
                if (strcmp(created[i], path) == 0) {
                        free(created[i]);
                        memmove(&created[i], &created[i + 1], (n_created - i - 1) * sizeof *created);
                        n_created--;
                        return;
                }
}

static void test_waiting(void) {
        static const char *const sleep30[] = { "sleep", "30", NULL };
        static const char *const exit3[] = { "sh", "-c", "exit 3", NULL };
        static const char *const true_[] = { "true", NULL };
        static const char *const sleep03[] = { "sleep", "0.3", NULL };
        struct cgov_pool_status st;
        struct cgov_result res;
        struct cgov_job_spec s;
        cgov_job *h, *w, *q1, *q2, *extra;
        int64_t t0, took;
        int r;

        section("waiting: a job that does not fit waits, and starts when room frees");
        s = job_spec(sleep30, "holder", 8 * MiB, 0);
        h = submit_ok(P_QW, &s, "sleep 30, filling queue/w's one slot");
        if (h)
                count(P_QW, 1, 0, 0);
        check_started(h, "the holder");
        s = job_spec(exit3, "waiter", 8 * MiB, 20000);
        w = submit_ok(P_QW, &s, "sh -c 'exit 3', queue_timeout_ms 20000");
        check_queued(w, "sh -c 'exit 3'");
        r = stat_of(pool[P_QW], &st);
        CHECK(r == 0 && st.jobs_queued == 1 && st.jobs_running == 1 && st.memory_reserved == 8 * MiB,
              "queue/w shows 1 queued, 1 running, 8 MiB reserved: a waiter reserves nothing (got %"
              PRIu32 ", %" PRIu32 ", %" PRIu64 ")", st.jobs_queued, st.jobs_running, st.memory_reserved);
        r = stat_of(pool[P_Q], &st);
        CHECK(r == 0 && st.jobs_queued == 1 && st.jobs_running == 1,
              "its parent queue shows 1 queued, 1 running (got %" PRIu32 ", %" PRIu32 ")",
              st.jobs_queued, st.jobs_running);
        if (w) {
                memset(&res, 0, sizeof res);
                r = cgov_await(w, 100, &res);
                CHECK(r == CGOV_E_TIMEOUT, "cgov_await(100 ms) on the waiter -> CGOV_E_TIMEOUT (got %d %s)",
                      r, E(r));
                check_queued(w, "... and it still");
        }
        finish_killed(h, "the holder");
        if (await_is(w, CGOV_OUTCOME_EXITED, 3, &res, "the waiter, once the holder is gone"))
                count(P_QW, 1, 0, 0);
        check_idle(P_QW, "after both");
        check_idle(P_Q, "after both");

        section("waiting: a wait that runs out");
        s = job_spec(sleep30, "holder", 8 * MiB, 0);
        h = submit_ok(P_QW, &s, "sleep 30, filling queue/w");
        if (h)
                count(P_QW, 1, 0, 0);
        s = job_spec(true_, "late", 8 * MiB, 0);
        w = submit_ok(P_QW, &s, "true, queue_timeout_ms 0: the pool's 400 ms");
        check_queued(w, "true");
        if (w) {
                memset(&res, 0, sizeof res);
                t0 = now_usec();
                r = cgov_await(w, AWAIT_BOUND_MS, &res);
                took = now_usec() - t0;
                CHECK(r == 0 && res.outcome == CGOV_OUTCOME_REJECTED && res.rejection == CGOV_E_TIMEOUT,
                      "its wait runs out: cgov_await -> 0 with REJECTED, rejection CGOV_E_TIMEOUT (got %d "
                      "%s, %s, %d %s)", r, E(r), outcome_name(res.outcome), res.rejection,
                      E(res.rejection));
                if (r == 0 && res.outcome == CGOV_OUTCOME_REJECTED)
                        count(P_QW, 0, 1, 0);
                CHECK(strcmp(res.rejected_by, "queue/w") == 0, "... rejected_by \"queue/w\" (got "
                      "\"%.255s\")", res.rejected_by);
                CHECK(took >= 300000 && took < 5000000, "... after about the pool's 400 ms (took %"
                      PRId64 " us)", took);
                CHECK(cgov_job_pid(w) == 0 && cgov_job_cgroup(w) == NULL, "... and it never started");
                cgov_job_free(w);
        }
        r = stat_of(pool[P_QW], &st);
        CHECK(r == 0 && st.jobs_queued == 0 && st.jobs_running == 1 && st.memory_reserved == 8 * MiB &&
                      st.slots_held <= st.jobs_running,
              "no queue entry and no busy slot left: queue/w shows 0 queued, 1 running, 8 MiB, "
              "slots_held at most the holder's (got %" PRIu32 ", %" PRIu32 ", %" PRIu64 ", %" PRIu32 ")",
              st.jobs_queued,
              st.jobs_running, st.memory_reserved, st.slots_held);
        r = stat_of(pool[P_Q], &st);
        CHECK(r == 0 && st.jobs_queued == 0 && st.jobs_running == 1, "... nor in its parent queue "
              "(got %" PRIu32 " queued, %" PRIu32 " running)", st.jobs_queued, st.jobs_running);
        s = job_spec(true_, "late-run", 8 * MiB, 200);
        memset(&res, 0, sizeof res);
        r = cgov_run(pool[P_QW], &s, &res);
        count(P_QW, r == 0, r < -4095, 0);
        CHECK(r == CGOV_E_TIMEOUT && res.outcome == CGOV_OUTCOME_REJECTED &&
                      res.rejection == CGOV_E_TIMEOUT,
              "cgov_run whose 200 ms wait runs out -> CGOV_E_TIMEOUT, REJECTED (got %d %s, %s %d)", r,
              E(r), outcome_name(res.outcome), res.rejection);
        finish_killed(h, "the holder");
        /* Had a timed-out waiter kept the slot, this never-waiting job would be refused. */
        s = job_spec(true_, NULL, 8 * MiB, -1);
        memset(&res, 0, sizeof res);
        r = cgov_run(pool[P_QW], &s, &res);
        count(P_QW, r == 0, r < -4095, 0);
        CHECK(r == 0 && res.outcome == CGOV_OUTCOME_EXITED && res.exit_status == 0,
              "the slot is free: a job that may not wait runs, EXITED 0 (got %d %s, %s %d)", r, E(r),
              outcome_name(res.outcome), res.exit_status);
        check_idle(P_QW, "after the timeouts");

        section("waiting: a full queue, a job that may not wait, a job too large to wait");
        s = job_spec(sleep30, "holder", 8 * MiB, 0);
        h = submit_ok(P_QW, &s, "sleep 30, filling queue/w");
        if (h)
                count(P_QW, 1, 0, 0);
        s = job_spec(true_, NULL, 8 * MiB, -1);
        memset(&res, 0, sizeof res);
        t0 = now_usec();
        r = cgov_run(pool[P_QW], &s, &res);
        took = now_usec() - t0;
        count(P_QW, r == 0, r < -4095, 0);
        check_rejection(r, &res, CGOV_E_NO_WORKERS, "queue/w", 1, 0, 1,
                        "queue_timeout_ms -1 while queue/w is full");
        CHECK(took < 1000000, "... at once (took %" PRId64 " us)", took);
        /* queue/v has a free slot: only memory refuses these. */
        s = job_spec(sleep30, "holder", 8 * MiB, 0);
        cgov_job *hv = submit_ok(P_QV, &s, "sleep 30 with 8 of queue/v's 32 MiB");
        if (hv)
                count(P_QV, 1, 0, 0);
        s = job_spec(true_, NULL, 40 * MiB, -1);
        memset(&res, 0, sizeof res);
        r = cgov_run(pool[P_QV], &s, &res);
        count(P_QV, r == 0, r < -4095, 0);
        check_rejection(r, &res, CGOV_E_INSUFFICIENT_MEMORY, "queue/v", 40 * MiB, 24 * MiB, 32 * MiB,
                        "a 40 MiB job that may not wait, in queue/v (32 MiB, 8 held)");
        s = job_spec(true_, NULL, 40 * MiB, 20000);
        memset(&res, 0, sizeof res);
        t0 = now_usec();
        r = cgov_run(pool[P_QV], &s, &res);
        took = now_usec() - t0;
        count(P_QV, r == 0, r < -4095, 0);
        check_rejection(r, &res, CGOV_E_INSUFFICIENT_MEMORY, "queue/v", 40 * MiB, 24 * MiB, 32 * MiB,
                        "the same job allowed to wait: refused too, with the same figures");
        CHECK(took < 1000000, "... at once: waiting cannot help it (took %" PRId64 " us)", took);
        r = stat_of(pool[P_QV], &st);
        CHECK(r == 0 && st.jobs_queued == 0, "queue/v has nobody waiting (got %" PRIu32 ")",
              st.jobs_queued);
        finish_killed(hv, "queue/v's holder");

        s = job_spec(sleep30, "queued-1", 8 * MiB, 20000);
        q1 = submit_ok(P_QW, &s, "sleep 30, queue_timeout_ms 20000");
        check_queued(q1, "the first");
        s.name = "queued-2";
        q2 = submit_ok(P_QW, &s, "another");
        check_queued(q2, "the second");
        s = job_spec(true_, "one-too-many", 8 * MiB, 20000);
        memset(&res, 0, sizeof res);
        t0 = now_usec();
        r = cgov_run(pool[P_QW], &s, &res);
        took = now_usec() - t0;
        count(P_QW, r == 0, r < -4095, 0);
        check_rejection(r, &res, CGOV_E_OVERLOADED, "queue/w", 1, 0, 2,
                        "cgov_run of a third waiter (max_queue 2)");
        CHECK(took < 1000000, "... at once (took %" PRId64 " us)", took);
        extra = NULL;
        r = cgov_submit(pool[P_QW], &s, &extra);
        count(P_QW, r == 0, r < -4095, 0);
        CHECK(r == CGOV_E_OVERLOADED && !extra, "cgov_submit of a third waiter -> CGOV_E_OVERLOADED, "
              "no handle (got %d %s)", r, E(r));
        if (r == 0)
                finish_killed(extra, "unexpectedly queued third waiter");
        r = stat_of(pool[P_QW], &st);
        CHECK(r == 0 && st.jobs_queued == 2 && st.jobs_running == 1 && st.memory_reserved == 8 * MiB,
              "the refusals changed nothing: 2 queued, 1 running, 8 MiB (got %" PRIu32 ", %" PRIu32
              ", %" PRIu64 ")", st.jobs_queued, st.jobs_running, st.memory_reserved);
        /* Waiters first, so that the holder's end starts nobody. */
        finish_killed(q1, "the first waiter");
        finish_killed(q2, "the second waiter");
        finish_killed(h, "the holder");
        check_idle(P_QW, "after the full queue");

        section("waiting: newcomers do not overtake the waiters of their pool");
        s = job_spec(sleep30, "holder", 16 * MiB, 0);
        h = submit_ok(P_QV, &s, "sleep 30 with 16 of queue/v's 32 MiB");
        if (h)
                count(P_QV, 1, 0, 0);
        s = job_spec(true_, "big", 24 * MiB, 20000);
        w = submit_ok(P_QV, &s, "true with 24 MiB, which does not fit");
        check_queued(w, "the 24 MiB job");
        s = job_spec(true_, "small", 8 * MiB, 20000);
        q1 = submit_ok(P_QV, &s, "true with 8 MiB, which would fit");
        check_queued(q1, "the 8 MiB newcomer");
        r = stat_of(pool[P_QV], &st);
        CHECK(r == 0 && st.jobs_queued == 2, "queue/v shows 2 queued (got %" PRIu32 ")", st.jobs_queued);
        finish_killed(h, "the holder");
        if (await_is(w, CGOV_OUTCOME_EXITED, 0, &res, "the 24 MiB waiter"))
                count(P_QV, 1, 0, 0);
        if (await_is(q1, CGOV_OUTCOME_EXITED, 0, &res, "the 8 MiB waiter"))
                count(P_QV, 1, 0, 0);
        check_idle(P_QV, "after them");

        section("waiting: a 1-slot pool serialises two jobs");
        s = job_spec(sleep03, "serial", 8 * MiB, 20000);
        t0 = now_usec();
        q1 = submit_ok(P_QW, &s, "sleep 0.3");
        q2 = submit_ok(P_QW, &s, "a second sleep 0.3");
        check_started(q1, "the first");
        check_queued(q2, "the second");
        if (await_is(q1, CGOV_OUTCOME_EXITED, 0, &res, "the first"))
                count(P_QW, 1, 0, 0);
        if (await_is(q2, CGOV_OUTCOME_EXITED, 0, &res, "the second"))
                count(P_QW, 1, 0, 0);
        took = now_usec() - t0;
        CHECK(res.wall_usec >= 300000, "the second ran its full 0.3 s (wall_usec %" PRIu64 ")",
              res.wall_usec);
        CHECK(took >= 600000, "both took at least 0.6 s in all: they did not overlap (took %" PRId64
              " us)", took);
        check_idle(P_QW, "after them");
}

static void test_killing(void) {
        static const char *const sleep30[] = { "sleep", "30", NULL };
        struct cgov_pool_status st;
        struct cgov_result res;
        struct cgov_job_spec s;
        cgov_job *h, *q, *b1, *b2, *o, *v, *f, *x;
        int r;

        section("killing: a queued job ends KILLED without starting");
        s = job_spec(sleep30, "holder", 8 * MiB, 0);
        h = submit_ok(P_QW, &s, "sleep 30, filling queue/w");
        if (h)
                count(P_QW, 1, 0, 0);
        s = job_spec(sleep30, "queued", 8 * MiB, 20000);
        q = submit_ok(P_QW, &s, "sleep 30, queue_timeout_ms 20000");
        check_queued(q, "it");
        stat_of(pool[P_Q], &st);
        uint64_t started0 = st.jobs_started;
        if (q) {
                r = cgov_kill(q);
                CHECK(r == 0, "cgov_kill of the waiter -> 0 (got %d %s)", r, E(r));
                memset(&res, 0, sizeof res);
                r = cgov_await(q, AWAIT_BOUND_MS, &res);
                CHECK(r == 0 && res.outcome == CGOV_OUTCOME_KILLED, "cgov_await -> 0, KILLED (got %d %s, "
                      "%s)", r, E(r), outcome_name(res.outcome));
                CHECK(cgov_job_pid(q) == 0 && cgov_job_cgroup(q) == NULL, "... it never had a pid or a "
                      "leaf");
                r = cgov_kill(q);
                CHECK(r == -ESRCH, "cgov_kill after its end -> -ESRCH (got %d %s)", r, E(r));
                cgov_job_free(q);
        }
        r = stat_of(pool[P_Q], &st);
        CHECK(r == 0 && st.jobs_started == started0, "queue's jobs_started did not move (%" PRIu64
              " -> %" PRIu64 ")", started0, st.jobs_started);
        r = stat_of(pool[P_QW], &st);
        CHECK(r == 0 && st.jobs_queued == 0 && st.jobs_running == 1, "queue/w: 0 queued, the holder "
              "still running (got %" PRIu32 ", %" PRIu32 ")", st.jobs_queued, st.jobs_running);
        finish_killed(h, "the holder");

        section("killing: cgov_kill_by_name");
        s = job_spec(sleep30, "batch", 8 * MiB, 20000);
        b1 = submit_ok(P_QW, &s, "sleep 30 named batch");
        if (b1)
                count(P_QW, 1, 0, 0);
        check_started(b1, "the first batch");
        b2 = submit_ok(P_QW, &s, "a second batch");
        check_queued(b2, "the second batch");
        s.name = "other";
        o = submit_ok(P_QW, &s, "sleep 30 named other");
        check_queued(o, "other");
        s.name = "batch";
        v = submit_ok(P_QV, &s, "sleep 30 named batch, in the sibling queue/v");
        if (v)
                count(P_QV, 1, 0, 0);
        check_started(v, "queue/v's batch");
        pid_t vpid = v ? cgov_job_pid(v) : 0;
        r = cgov_kill_by_name(pool[P_QW], "batch");
        CHECK(r == 2, "cgov_kill_by_name(queue/w, \"batch\") -> 2, the running and the queued one "
              "(got %d)", r);
        r = cgov_kill_by_name(pool[P_QW], "batch");
        CHECK(r == 0, "a second cgov_kill_by_name(queue/w, \"batch\") -> 0 (got %d %s)", r, E(r));
        await_is(b1, CGOV_OUTCOME_KILLED, 0, &res, "the running batch");
        if (b2)
                CHECK(cgov_job_pid(b2) == 0, "the queued batch never started");
        await_is(b2, CGOV_OUTCOME_KILLED, 0, &res, "the queued batch");
        r = stat_of(pool[P_QV], &st);
        CHECK(vpid > 0 && !pid_dead(vpid) && r == 0 && st.jobs_running == 1,
              "queue/v's batch is spared: pid %ld runs, queue/v shows 1 running (got %" PRIu32 ")",
              (long) vpid, st.jobs_running);
        bool o_started = wait_pid(o, 10000);
        CHECK(o_started, "other is spared and takes queue/w's freed slot (pid %ld)",
              o ? (long) cgov_job_pid(o) : 0L);
        if (o_started)
                count(P_QW, 1, 0, 0);
        r = cgov_kill_by_name(pool[P_Q], "nosuch");
        CHECK(r == 0, "cgov_kill_by_name(queue, \"nosuch\") -> 0 (got %d %s)", r, E(r));

        section("killing: cgov_flush");
        s = job_spec(sleep30, "tail", 8 * MiB, 20000);
        f = submit_ok(P_QW, &s, "sleep 30 behind other");
        check_queued(f, "tail");
        s = job_spec(sleep30, "x", 8 * MiB, 20000);
        x = submit_ok(P_QV, &s, "a second sleep 30 in queue/v");
        if (x)
                count(P_QV, 1, 0, 0);
        r = stat_of(pool[P_Q], &st);
        CHECK(r == 0 && st.jobs_running == 3 && st.jobs_queued == 1, "queue shows 3 running, 1 queued "
              "in its sub-pools (got %" PRIu32 ", %" PRIu32 ")", st.jobs_running, st.jobs_queued);
        r = cgov_flush(pool[P_Q]);
        CHECK(r == 4, "cgov_flush(queue) -> 4 (got %d)", r);
        await_is(o, CGOV_OUTCOME_KILLED, 0, &res, "other");
        if (f)
                CHECK(cgov_job_pid(f) == 0, "tail never started");
        await_is(f, CGOV_OUTCOME_KILLED, 0, &res, "tail");
        await_is(v, CGOV_OUTCOME_KILLED, 0, &res, "queue/v's batch");
        await_is(x, CGOV_OUTCOME_KILLED, 0, &res, "x");
        r = cgov_flush(pool[P_Q]);
        CHECK(r == 0, "a second cgov_flush(queue) -> 0 (got %d %s)", r, E(r));
        for (int p = P_Q; p <= P_QV; p++) {
                check_idle(p, "after the flush");
                char *left = subdirs(cgov_pool_cgroup(pool[p]));
                bool only_pools = p == P_Q ? strncmp(left, "s\nv\nw\n", 6) == 0 : left[0] == '\0';
                CHECK(only_pools, "%s has no leaf left (found: %s)", pool_name[p], left);
                free(left);
        }
}

static void test_pool_changes(void) {
        static const char *const sleep30[] = { "sleep", "30", NULL };
        static const char *const true_[] = { "true", NULL };
        struct cgov_pool_limits lim;
        struct cgov_pool_status st;
        struct cgov_result res;
        struct cgov_job_spec s;
        cgov_job *h, *w;
        char buf[256];
        int r;

        section("pool changes: raising max_jobs starts a waiter");
        s = job_spec(sleep30, "holder", 8 * MiB, 20000);
        h = submit_ok(P_QW, &s, "sleep 30, filling queue/w");
        if (h)
                count(P_QW, 1, 0, 0);
        w = submit_ok(P_QW, &s, "another sleep 30");
        check_queued(w, "it");
        lim = pool_lim[P_QW];
        lim.max_jobs = 2;
        r = cgov_pool_set_limits(pool[P_QW], &lim);
        CHECK(r == 0, "cgov_pool_set_limits(queue/w, max_jobs 2) -> 0 (got %d %s)", r, E(r));
        bool started = wait_pid(w, 10000);
        CHECK(started, "the waiter starts though nothing ended (pid %ld)", w ? (long) cgov_job_pid(w) : 0L);
        if (started)
                count(P_QW, 1, 0, 0);
        r = stat_of(pool[P_QW], &st);
        CHECK(r == 0 && st.max_jobs == 2 && st.jobs_running == 2 && st.jobs_queued == 0,
              "queue/w shows max_jobs 2, 2 running, 0 queued (got %" PRIu32 ", %" PRIu32 ", %" PRIu32 ")",
              st.max_jobs, st.jobs_running, st.jobs_queued);
        finish_killed(h, "the holder");
        finish_killed(w, "the started waiter");
        r = cgov_pool_set_limits(pool[P_QW], &pool_lim[P_QW]);
        r = r < 0 ? r : stat_of(pool[P_QW], &st);
        CHECK(r == 0 && st.max_jobs == 1, "queue/w back to max_jobs 1 (got %d %s, %" PRIu32 ")", r, E(r),
              st.max_jobs);

        section("pool changes: memory_max lowered below what runs");
        const char *dir = cgov_pool_cgroup(pool[P_QV]);
        s = job_spec(sleep30, "big", 24 * MiB, 0);
        h = submit_ok(P_QV, &s, "sleep 30 with 24 MiB");
        if (h)
                count(P_QV, 1, 0, 0);
        pid_t hpid = h ? cgov_job_pid(h) : 0;
        lim = pool_lim[P_QV];
        lim.memory_max = 16 * MiB;
        r = cgov_pool_set_limits(pool[P_QV], &lim);
        CHECK(r == 0, "cgov_pool_set_limits(queue/v, memory_max 16 MiB) -> 0 (got %d %s)", r, E(r));
        r = stat_of(pool[P_QV], &st);
        CHECK(r == 0 && st.memory_max == 16 * MiB && st.memory_reserved == 24 * MiB &&
                      st.jobs_running == 1,
              "queue/v shows memory_max 16 MiB, 24 MiB reserved, 1 running (got %" PRIu64 ", %" PRIu64
              ", %" PRIu32 ")", st.memory_max, st.memory_reserved, st.jobs_running);
        s = job_spec(true_, NULL, 4 * MiB, -1);
        memset(&res, 0, sizeof res);
        r = cgov_run(pool[P_QV], &s, &res);
        count(P_QV, r == 0, r < -4095, 0);
        check_rejection(r, &res, CGOV_E_INSUFFICIENT_MEMORY, "queue/v", 4 * MiB, 0, 16 * MiB,
                        "a new 4 MiB job while 24 of the new 16 MiB are held");
        read_line(dir, "memory.max", buf, sizeof buf);
        CHECK(strcmp(buf, "33554432") == 0, "queue/v's memory.max keeps the old 33554432 while the "
              "job runs (got \"%s\")", buf);
        CHECK(hpid > 0 && !pid_dead(hpid), "the running job is not touched (pid %ld runs)", (long) hpid);
        finish_killed(h, "the 24 MiB job");
        bool follows = false;
        for (int i = 0; i < 300 && !follows; i++) {
                read_line(dir, "memory.max", buf, sizeof buf);
                follows = strcmp(buf, "16777216") == 0;
                if (!follows)
                        sleep_ms(10);
        }
        CHECK(follows, "once it ended, queue/v's memory.max shows the new 16777216 (got \"%s\")", buf);
        memset(&res, 0, sizeof res);
        r = cgov_run(pool[P_QV], &s, &res);
        count(P_QV, r == 0, r < -4095, 0);
        CHECK(r == 0 && res.outcome == CGOV_OUTCOME_EXITED && res.exit_status == 0,
              "now a 4 MiB job runs, EXITED 0 (got %d %s, %s %d)", r, E(r), outcome_name(res.outcome),
              res.exit_status);
        r = cgov_pool_set_limits(pool[P_QV], &pool_lim[P_QV]);
        CHECK(r == 0, "cgov_pool_set_limits(queue/v, back to 32 MiB) -> 0 (got %d %s)", r, E(r));
        read_line(dir, "memory.max", buf, sizeof buf);
        CHECK(strcmp(buf, "33554432") == 0, "queue/v's memory.max is 33554432 again (got \"%s\")", buf);

        section("pool changes: cgov_pool_release");
        const struct cgov_pool_limits gl = { .memory_max = 16 * MiB, .max_jobs = 1, .pids_max = 32,
                                             .max_queue = 2 };
        cgov_pool *gp = NULL, *gs = NULL, *p2 = NULL;
        char gdir[PATH_MAX] = "", sdir[PATH_MAX] = "", leaf[PATH_MAX] = "";
        r = create_pool("queue/gone", &gl, &gp);
        CHECK(r == 0 && gp, "cgov_pool_create(\"queue/gone\") -> 0 (got %d %s)", r, E(r));
        if (r < 0)
                return;
        r = create_pool("queue/gone/sub", &(struct cgov_pool_limits){ 0 }, &gs);
        CHECK(r == 0 && gs, "cgov_pool_create(\"queue/gone/sub\") -> 0 (got %d %s)", r, E(r));
        if (r < 0)
                return;
        fmt(gdir, sizeof gdir, "%s", cgov_pool_cgroup(gp));
        fmt(sdir, sizeof sdir, "%s", cgov_pool_cgroup(gs));
        s = job_spec(sleep30, "runner", 8 * MiB, 0);
        h = NULL;
        r = cgov_submit(gp, &s, &h);
        CHECK(r == 0 && h, "a sleep 30 runs in queue/gone (got %d %s)", r, E(r));
        if (r == 0)
                count(P_Q, 1, 0, 0);
        else
                h = NULL;
        pid_t gpid = h ? cgov_job_pid(h) : 0;
        if (h && cgov_job_cgroup(h))
                fmt(leaf, sizeof leaf, "%s", cgov_job_cgroup(h));
        s = job_spec(sleep30, "waiter", 8 * MiB, 20000);
        w = NULL;
        r = cgov_submit(gp, &s, &w);
        CHECK(r == 0 && w, "a second one waits in queue/gone (got %d %s)", r, E(r));
        if (r < 0)
                w = NULL;
        check_queued(w, "it");
        r = cgov_pool_release(gp);
        CHECK(r == 0, "cgov_pool_release(queue/gone) -> 0 (got %d %s)", r, E(r));
        if (w) {
                memset(&res, 0, sizeof res);
                r = cgov_await(w, AWAIT_BOUND_MS, &res);
                CHECK(r == 0 && res.outcome == CGOV_OUTCOME_REJECTED && res.rejection == CGOV_E_POOL_GONE,
                      "the waiter ends: cgov_await -> 0, REJECTED, CGOV_E_POOL_GONE (got %d %s, %s, %d %s)",
                      r, E(r), outcome_name(res.outcome), res.rejection, E(res.rejection));
                if (r == 0 && res.outcome == CGOV_OUTCOME_REJECTED)
                        count(P_Q, 0, 1, 0);
                CHECK(strcmp(res.rejected_by, "queue/gone") == 0, "... rejected_by \"queue/gone\" (got "
                      "\"%.255s\")", res.rejected_by);
                CHECK(cgov_job_pid(w) == 0, "... it never started");
                cgov_job_free(w);
        }
        s = job_spec(true_, NULL, 4 * MiB, 0);
        cgov_job *late = NULL;
        r = cgov_submit(gp, &s, &late);
        count(P_Q, r == 0, r < -4095, 0);
        CHECK(r == CGOV_E_POOL_GONE, "cgov_submit to the released pool -> CGOV_E_POOL_GONE (got %d %s)",
              r, E(r));
        if (r == 0)
                finish_killed(late, "a job admitted by a released pool");
        memset(&res, 0, sizeof res);
        r = cgov_run(gs, &s, &res);
        count(P_Q, r == 0, r < -4095, 0);
        CHECK(r == CGOV_E_POOL_GONE && res.outcome == CGOV_OUTCOME_REJECTED &&
                      res.rejection == CGOV_E_POOL_GONE,
              "cgov_run in its sub-pool -> CGOV_E_POOL_GONE, REJECTED (got %d %s, %s %d)", r, E(r),
              outcome_name(res.outcome), res.rejection);
        r = cgov_acquire(gp, 1);
        CHECK(r == 0, "cgov_acquire(released pool, 1) -> 0 (got %d %s)", r, E(r));
        r = cgov_acquire(gs, 1);
        CHECK(r == 0, "cgov_acquire(its sub-pool, 1) -> 0 (got %d %s)", r, E(r));
        CHECK(gpid > 0 && !pid_dead(gpid) && leaf[0] && is_dir(leaf), "the running job goes on in its "
              "leaf (pid %ld)", (long) gpid);
        r = stat_of(gp, &st);
        CHECK(r == 0 && st.jobs_running == 1 && st.memory_reserved == 8 * MiB && st.jobs_queued == 0,
              "cgov_pool_status of the released handle -> 0: 1 running, 8 MiB, 0 queued (got %d %s: %"
              PRIu32 ", %" PRIu64 ", %" PRIu32 ")", r, E(r), st.jobs_running, st.memory_reserved,
              st.jobs_queued);
        cgov_pool *found = NULL;
        r = cgov_pool_find(gov, "queue/gone", &found);
        CHECK(r == -ENOENT, "cgov_pool_find(\"queue/gone\") -> -ENOENT (got %d %s)", r, E(r));
        r = cgov_pool_find(gov, "queue/gone/sub", &found);
        CHECK(r == -ENOENT, "cgov_pool_find(\"queue/gone/sub\") -> -ENOENT (got %d %s)", r, E(r));
        r = cgov_pool_create(gov, "queue/gone", &gl, &p2);
        CHECK(r == -EBUSY, "cgov_pool_create(\"queue/gone\") while its job runs -> -EBUSY (got %d %s)",
              r, E(r));
        r = cgov_pool_release(gp);
        CHECK(r == 0, "a second cgov_pool_release -> 0 (got %d %s)", r, E(r));
        CHECK(is_dir(gdir), "its cgroup %s stays while the job runs", gdir);
        finish_killed(h, "the job of the released pool");
        CHECK(wait_gone(sdir, 5000), "then the sub-pool's cgroup %s is removed", sdir);
        CHECK(wait_gone(gdir, 5000), "and the pool's cgroup %s", gdir);
        r = stat_of(gp, &st);
        CHECK(r == 0 && st.jobs_running == 0 && st.memory_reserved == 0, "the handle still answers "
              "cgov_pool_status: 0 running, 0 reserved (got %d %s: %" PRIu32 ", %" PRIu64 ")", r, E(r),
              st.jobs_running, st.memory_reserved);
        forget_pool("queue/gone/sub");
        forget_pool("queue/gone");
        p2 = NULL;
        r = create_pool("queue/gone", &gl, &p2);
        CHECK(r == 0 && p2, "cgov_pool_create(\"queue/gone\") once it is gone -> 0 (got %d %s)", r, E(r));
        if (r == 0 && p2) {
                s = job_spec(true_, NULL, 4 * MiB, 0);
                memset(&res, 0, sizeof res);
                r = cgov_run(p2, &s, &res);
                count(P_Q, r == 0, r < -4095, 0);
                CHECK(r == 0 && res.outcome == CGOV_OUTCOME_EXITED && res.exit_status == 0,
                      "a job runs in the new queue/gone, EXITED 0 (got %d %s, %s %d)", r, E(r),
                      outcome_name(res.outcome), res.exit_status);
        }
        check_idle(P_Q, "after the release");
}

static void test_slots(void) {
        static const char *const true_[] = { "true", NULL };
        struct cgov_pool_status st;
        struct cgov_result res;
        struct cgov_job_spec s;
        int r;

        section("slots without a process");
        r = cgov_acquire(pool[P_S], 2);
        CHECK(r == 2, "cgov_acquire(queue/s with max_jobs 3, 2) -> 2 (got %d)", r);
        r = cgov_acquire(pool[P_S], 2);
        CHECK(r == 1, "cgov_acquire(queue/s, 2) again -> 1, what is left (got %d)", r);
        r = cgov_acquire(pool[P_S], 1);
        CHECK(r == 0, "cgov_acquire(queue/s, 1) when full -> 0, without blocking (got %d %s)", r, E(r));
        r = stat_of(pool[P_S], &st);
        CHECK(r == 0 && st.slots_held == 3 && st.jobs_running == 0, "queue/s shows 3 slots held, 0 jobs "
              "running (got %" PRIu32 ", %" PRIu32 ")", st.slots_held, st.jobs_running);
        r = stat_of(pool[P_Q], &st);
        CHECK(r == 0 && st.slots_held == 3, "its parent queue shows them too (got %" PRIu32 ")",
              st.slots_held);
        r = cgov_acquire(pool[P_QV], 2);
        CHECK(r == 1, "cgov_acquire(queue/v, 2) -> 1: queue (max_jobs 4) has one left (got %d)", r);
        r = cgov_release(pool[P_QV], 1);
        CHECK(r == 0, "cgov_release(queue/v, 1) -> 0 (got %d %s)", r, E(r));

        s = job_spec(true_, NULL, 4 * MiB, -1);
        memset(&res, 0, sizeof res);
        r = cgov_run(pool[P_S], &s, &res);
        count(P_S, r == 0, r < -4095, 0);
        check_rejection(r, &res, CGOV_E_NO_WORKERS, "queue/s", 1, 0, 3,
                        "a job in queue/s while slots fill it");

        r = cgov_release(pool[P_S], 4);
        CHECK(r == -EINVAL, "cgov_release(queue/s, 4) holding 3 -> -EINVAL (got %d %s)", r, E(r));
        r = cgov_release(pool[P_QV], 1);
        CHECK(r == -EINVAL, "cgov_release(queue/v, 1) holding none -> -EINVAL (got %d %s)", r, E(r));
        r = stat_of(pool[P_S], &st);
        CHECK(r == 0 && st.slots_held == 3, "... nothing changed: queue/s still holds 3 (got %" PRIu32 ")",
              st.slots_held);
        r = stat_of(pool[P_Q], &st);
        CHECK(r == 0 && st.slots_held == 3, "... and queue 3 (got %" PRIu32 ")", st.slots_held);

        s = job_spec(true_, "after-slot", 4 * MiB, 0);
        cgov_job *w = submit_ok(P_S, &s, "true, waiting with the pool's 20 s");
        check_queued(w, "it");
        r = cgov_release(pool[P_S], 1);
        CHECK(r == 0, "cgov_release(queue/s, 1) -> 0 (got %d %s)", r, E(r));
        if (await_is(w, CGOV_OUTCOME_EXITED, 0, &res, "the waiter, in the released slot"))
                count(P_S, 1, 0, 0);
        r = stat_of(pool[P_S], &st);
        CHECK(r == 0 && st.slots_held == 2 && st.jobs_running == 0, "queue/s: 2 slots held, 0 running "
              "(got %" PRIu32 ", %" PRIu32 ")", st.slots_held, st.jobs_running);
        r = cgov_release(pool[P_S], 2);
        CHECK(r == 0, "cgov_release(queue/s, 2) -> 0 (got %d %s)", r, E(r));
        r = cgov_release(pool[P_S], 1);
        CHECK(r == -EINVAL, "cgov_release(queue/s, 1) holding none -> -EINVAL (got %d %s)", r, E(r));
        check_idle(P_S, "after the slots");
        check_idle(P_Q, "after the slots");
}

/* ---- functions for cgov_call: they run in a forked child ------------------ */

struct blob {
        const char *data;
        size_t len;
};

static int write_all(int fd, const char *p, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -1;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

static int fn_blob(void *arg, int out_fd) {
        const struct blob *b = arg;
        return write_all(out_fd, b->data, b->len) < 0 ? 99 : 42;
}

static int fn_whereami(void *arg, int out_fd) {
        char buf[4096];
        ssize_t n;
        (void) arg;
        int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 98;
        n = read(fd, buf, sizeof buf);
        close(fd);
        if (n <= 0)
                return 97;
        return write_all(out_fd, buf, (size_t) n) < 0 ? 99 : 0;
}

static int fn_crash(void *arg, int out_fd) {
        (void) arg;
        (void) out_fd;
        /* The default action, as in a normal build: a sanitizer build has
         * its own SIGSEGV handler, which would turn the crash into exit 1. */
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
        return 0;
}

static int fn_hog(void *arg, int out_fd) {
        size_t n = *(const size_t *) arg;
        volatile char *p = malloc(n);
        (void) out_fd;
        if (!p)
                return 2;
        for (size_t i = 0; i < n; i += 4096)
                p[i] = (char) i;
        return 0;
}

static int fn_sleep(void *arg, int out_fd) {
        (void) arg;
        (void) out_fd;
        sleep_ms(10000);
        return 0;
}

static void test_call(void) {
        struct cgov_result res;
        struct cgov_job_spec s;
        void *out;
        size_t out_len;
        int r;

        section("cgov_call: a C function in a fresh leaf");
        s = job_spec(NULL, "callee", 8 * MiB, 0);
        out = NULL, out_len = 0;
        memset(&res, 0, sizeof res);
        r = cgov_call(pool[P_QV], fn_whereami, NULL, &s, &res, &out, &out_len);
        if (r == 0)
                count(P_QV, 1, 0, 0);
        CHECK(r == 0 && res.outcome == CGOV_OUTCOME_EXITED && res.exit_status == 0,
              "cgov_call(reads /proc/self/cgroup) -> 0, EXITED 0 (got %d %s, %s %d)", r, E(r),
              outcome_name(res.outcome), res.exit_status);
        {
                char text[4096] = "", cgpath[PATH_MAX] = "", parent[PATH_MAX], leafdir[PATH_MAX];
                if (out)
                        fmt(text, sizeof text, "%.*s", (int) (out_len < 4095 ? out_len : 4095),
                            (const char *) out);
                const char *line = strstr(text, "0::");
                if (line) {
                        fmt(cgpath, sizeof cgpath, "%s", line + 3);
                        cgpath[strcspn(cgpath, "\n")] = '\0';
                }
                CHECK(cgpath[0] == '/', "its output came back: \"%s\"", cgpath);
                const char *pool_cg = cgov_pool_cgroup(pool[P_QV]);
                dirname_of(cgpath, parent, sizeof parent);
                CHECK(ends_with(parent, "/queue/v") && pool_cg && ends_with(pool_cg, parent),
                      "it ran in a leaf of queue/v (\"%s\")", parent);
                CHECK(strstr(basename_of(cgpath), "callee") != NULL, "whose name \"%s\" contains the "
                      "job's name \"callee\"", basename_of(cgpath));
                fmt(leafdir, sizeof leafdir, "%s/%s", pool_cg ? pool_cg : "", basename_of(cgpath));
                CHECK(cgpath[0] && gone(leafdir), "after cgov_call the leaf %s is gone", leafdir);
        }
        free(out);

        const size_t big = 256 * 1024;
        char *data = malloc(big);
        for (size_t i = 0; i < big; i++)
                data[i] = (char) ('a' + (i * 7 + i / 251) % 26);
        struct blob b = { data, big };
        out = NULL, out_len = 0;
        memset(&res, 0, sizeof res);
        r = cgov_call(pool[P_QV], fn_blob, &b, NULL, &res, &out, &out_len);
        if (r == 0)
                count(P_QV, 1, 0, 0);
        CHECK(r == 0 && res.outcome == CGOV_OUTCOME_EXITED && res.exit_status == 42,
              "cgov_call(writes 256 KiB, returns 42; spec NULL) -> 0, EXITED 42 (got %d %s, %s %d)", r,
              E(r), outcome_name(res.outcome), res.exit_status);
        CHECK(out && out_len == big && memcmp(out, data, big) == 0,
              "*out holds exactly the 262144 bytes it wrote (got %zu bytes, %s)", out_len,
              out && out_len == big ? (memcmp(out, data, big) == 0 ? "equal" : "different") : "-");
        free(out);
        free(data);

        section("cgov_call: a crash, an OOM, a timeout stay in the result");
        pid_t me = getpid();
        out = NULL, out_len = 0;
        memset(&res, 0, sizeof res);
        r = cgov_call(pool[P_QV], fn_crash, NULL, NULL, &res, &out, &out_len);
        if (r == 0)
                count(P_QV, 1, 0, 0);
        CHECK(r == 0 && res.outcome == CGOV_OUTCOME_SIGNALED && res.exit_status == SIGSEGV,
              "cgov_call(raise(SIGSEGV)) -> 0, SIGNALED 11 (got %d %s, %s %d)", r, E(r),
              outcome_name(res.outcome), res.exit_status);
        CHECK(getpid() == me, "... and this program lives on");
        free(out);

        size_t hog_bytes = 64 * MiB;
        s = job_spec(NULL, "fnhog", 16 * MiB, 0);
        out = NULL, out_len = 0;
        memset(&res, 0, sizeof res);
        r = cgov_call(pool[P_QV], fn_hog, &hog_bytes, &s, &res, &out, &out_len);
        if (r == 0)
                count(P_QV, 1, 0, res.outcome == CGOV_OUTCOME_OOM_KILLED);
        CHECK(r == 0 && res.outcome == CGOV_OUTCOME_OOM_KILLED,
              "cgov_call(touches 64 MiB, memory_max 16 MiB) -> 0, OOM_KILLED (got %d %s, %s %d)", r,
              E(r), outcome_name(res.outcome), res.exit_status);
        free(out);

        s = job_spec(NULL, "fnsleep", 4 * MiB, 0);
        s.timeout_ms = 300;
        out = NULL, out_len = 0;
        memset(&res, 0, sizeof res);
        r = cgov_call(pool[P_QV], fn_sleep, NULL, &s, &res, &out, &out_len);
        if (r == 0)
                count(P_QV, 1, 0, 0);
        CHECK(r == 0 && res.outcome == CGOV_OUTCOME_TIMED_OUT,
              "cgov_call(sleeps 10 s, timeout_ms 300) -> 0, TIMED_OUT (got %d %s, %s %d)", r, E(r),
              outcome_name(res.outcome), res.exit_status);
        free(out);

        b = (struct blob){ "ok", 2 };
        out = NULL, out_len = 0;
        memset(&res, 0, sizeof res);
        r = cgov_call(pool[P_QV], fn_blob, &b, NULL, &res, &out, &out_len);
        if (r == 0)
                count(P_QV, 1, 0, 0);
        CHECK(r == 0 && res.outcome == CGOV_OUTCOME_EXITED && res.exit_status == 42 && out &&
                      out_len == 2 && memcmp(out, "ok", 2) == 0,
              "after them a cgov_call still works: EXITED 42, \"ok\" (got %d %s, %s %d, %zu bytes)", r,
              E(r), outcome_name(res.outcome), res.exit_status, out_len);
        free(out);
        check_idle(P_QV, "after the calls");
        char *left = subdirs(cgov_pool_cgroup(pool[P_QV]));
        CHECK(left[0] == '\0', "queue/v has no leaf left (found: %s)", left);
        free(left);
}

/* cgov_close leaves the running jobs; the next cgov_open takes them back. */
static void test_readopt(void) {
        static const char *const sleep60[] = { "sleep", "60", NULL };
        static const char *const true_[] = { "true", NULL };
        struct cgov_pool_status st;
        struct cgov_result res;
        struct cgov_job_spec s;
        struct cgov_options o;
        cgov_job *surv, *bounded, *queued;
        char leaf[PATH_MAX] = "";
        pid_t spid = 0, bpid = 0;
        int r;

        section("re-adoption: cgov_close leaves the running jobs");
        s = job_spec(sleep60, "survivor", 12 * MiB, 0);
        surv = submit_ok(P_RI, &s, "sleep 60 named survivor, 12 MiB");
        check_started(surv, "survivor");
        if (surv) {
                spid = cgov_job_pid(surv);
                if (cgov_job_cgroup(surv))
                        fmt(leaf, sizeof leaf, "%s", cgov_job_cgroup(surv));
        }
        s = job_spec(sleep60, "bounded", 8 * MiB, 0);
        s.timeout_ms = 2500;
        int64_t t_bounded = now_usec();
        bounded = submit_ok(P_R, &s, "sleep 60 named bounded, timeout_ms 2500");
        bpid = bounded ? cgov_job_pid(bounded) : 0;
        s = job_spec(sleep60, "discarded", 4 * MiB, 20000);
        queued = submit_ok(P_RI, &s, "sleep 60 that waits behind survivor");
        check_queued(queued, "it");

        cgov_close(gov);
        gov = NULL;
        for (int i = 0; i < N_POOLS; i++)
                pool[i] = NULL;
        if (queued) {
                memset(&res, 0, sizeof res);
                r = cgov_await(queued, 0, &res);
                CHECK(r == -ESHUTDOWN, "cgov_await of the job queued at cgov_close -> -ESHUTDOWN (got %d %s)",
                      r, E(r));
                cgov_job_free(queued);
        }
        if (surv) {
                memset(&res, 0, sizeof res);
                r = cgov_await(surv, 0, &res);
                CHECK(r == -ESHUTDOWN, "cgov_await of a job still running at cgov_close -> -ESHUTDOWN "
                      "(got %d %s)", r, E(r));
                cgov_job_free(surv);
        }
        if (bounded)
                cgov_job_free(bounded);
        CHECK(spid > 0 && !pid_dead(spid) && leaf[0] && is_dir(leaf),
              "after cgov_close survivor still runs (pid %ld) in its leaf", (long) spid);
        CHECK(bpid > 0 && !pid_dead(bpid), "and so does bounded (pid %ld)", (long) bpid);

        section("re-adoption: cgov_open of the same root takes them back");
        memset(&o, 0, sizeof o);
        o.cgroup_root = root;
        r = cgov_open(&gov, &o);
        CHECK(r == 0 && gov, "cgov_open(%s) again -> 0 (got %d %s)", root, r, E(r));
        if (r < 0) {
                gov = NULL;
                return;
        }
        int missing = -1;
        for (int i = 0; i < N_POOLS; i++) {
                r = cgov_pool_find(gov, pool_name[i], &pool[i]);
                if (r < 0) {
                        pool[i] = NULL;
                        if (missing < 0)
                                missing = i;
                }
        }
        CHECK(missing < 0, "cgov_pool_find finds all %d pools again (first missing: %s)", N_POOLS,
              missing < 0 ? "none" : pool_name[missing]);
        if (!pools_ok())
                return;
        for (int p = 0; p < N_POOLS; p++) {
                r = stat_of(pool[p], &st);
                CHECK(r == 0 && st.memory_max == pool_lim[p].memory_max &&
                              st.max_jobs == pool_lim[p].max_jobs && st.pids_max == pool_lim[p].pids_max,
                      "%s comes back with memory_max %" PRIu64 " MiB, max_jobs %" PRIu32 ", pids_max %"
                      PRIu32 " (got %d: %" PRIu64 ", %" PRIu32 ", %" PRIu32 ")", pool_name[p],
                      pool_lim[p].memory_max / MiB, pool_lim[p].max_jobs, pool_lim[p].pids_max, r,
                      st.memory_max, st.max_jobs, st.pids_max);
        }
        r = stat_of(pool[P_RI], &st);
        CHECK(r == 0 && st.jobs_running == 1 && st.memory_reserved == 12 * MiB && st.jobs_queued == 0,
              "adopt/inner shows survivor: 1 running, 12 MiB reserved, 0 queued (got %" PRIu32 ", %"
              PRIu64 ", %" PRIu32 ")", st.jobs_running, st.memory_reserved, st.jobs_queued);
        r = stat_of(pool[P_R], &st);
        CHECK(r == 0 && st.jobs_running == 2 && st.memory_reserved == 20 * MiB,
              "adopt shows survivor and bounded: 2 running, 20 MiB reserved (got %" PRIu32 ", %" PRIu64
              ")", st.jobs_running, st.memory_reserved);
        {
                char *left = subdirs(cgov_pool_cgroup(pool[P_RI])), want_left[PATH_MAX];
                fmt(want_left, sizeof want_left, "%s\n", basename_of(leaf));
                CHECK(strcmp(left, want_left) == 0, "adopt/inner holds only survivor's leaf: the queued "
                      "job was discarded (found: %s)", left);
                free(left);
        }

        /* The pool's queue came back: max_queue 1 lets a job wait, 500 ms by default. */
        s = job_spec(true_, "probe", 4 * MiB, 0);
        cgov_job *probe = submit_ok(P_RI, &s, "true behind survivor");
        check_queued(probe, "it");
        if (probe) {
                int64_t t0 = now_usec();
                memset(&res, 0, sizeof res);
                r = cgov_await(probe, AWAIT_BOUND_MS, &res);
                int64_t took = now_usec() - t0;
                CHECK(r == 0 && res.outcome == CGOV_OUTCOME_REJECTED && res.rejection == CGOV_E_TIMEOUT &&
                              took >= 400000 && took < 5000000,
                      "its wait runs out after the pool's 500 ms: REJECTED, CGOV_E_TIMEOUT (got %d %s, %s, %d, "
                      "%" PRId64 " us)", r, E(r), outcome_name(res.outcome), res.rejection, took);
                cgov_job_free(probe);
        }

        bool dead = wait_dead(bpid, 15000);
        int64_t after = now_usec() - t_bounded;
        CHECK(dead && after >= 2400000, "bounded's timeout_ms 2500 still ends it (after %" PRId64 " ms)",
              after / 1000);
        bool freed = wait_running(pool[P_R], 1, 5000, &st);
        CHECK(freed && st.memory_reserved == 12 * MiB,
              "and adopt gets its 8 MiB back: 1 running, 12 MiB (got %" PRIu32 ", %" PRIu64 ")",
              st.jobs_running, st.memory_reserved);

        r = cgov_kill_by_name(pool[P_R], "survivor");
        CHECK(r == 1, "cgov_kill_by_name(adopt, \"survivor\") -> 1 (got %d)", r);
        r = cgov_kill_by_name(pool[P_R], "survivor");
        CHECK(r == 0, "a second call -> 0 (got %d %s)", r, E(r));
        CHECK(wait_dead(spid, 10000), "survivor (pid %ld) is dead", (long) spid);
        bool idle = wait_running(pool[P_R], 0, 10000, &st);
        CHECK(idle, "adopt shows 0 running (got %" PRIu32 ")", st.jobs_running);
        CHECK(leaf[0] && wait_gone(leaf, 5000), "survivor's leaf %s is gone", leaf);
        check_idle(P_R, "after the kill");
        check_idle(P_RI, "after the kill");

        /* The pool's job_memory_default came back too. */
        s = job_spec(sleep60, NULL, 0, -1);
        cgov_job *dflt = submit_ok(P_RI, &s, "sleep 60 naming no memory");
        r = stat_of(pool[P_RI], &st);
        CHECK(r == 0 && st.memory_reserved == 6 * MiB, "it reserves adopt/inner's job_memory_default "
              "6 MiB (got %" PRIu64 ")", st.memory_reserved);
        finish_killed(dflt, "the default-memory job");
}

/* After the re-adoption: every pool idle, no leaf anywhere. */
static void test_final_idle(void) {
        section("in the end every pool is idle and no leaf is left");
        for (int p = 0; p < N_POOLS; p++)
                check_idle(p, "at the end");
        int bad = walk_unexpected("");
        CHECK(bad == 0, "below the root only pool directories remain, no job leaves (%d others)", bad);
}

static void test_final_status(void) {
        section("every reservation came back; counters match");
        for (int p = 0; p < N_POOLS; p++) {
                struct cgov_pool_status st;
                memset(&st, 0, sizeof st);
                int r = cgov_pool_status(pool[p], &st);
                CHECK(r == 0 && st.memory_reserved == 0 && st.jobs_running == 0 && st.slots_held == 0 &&
                              st.jobs_queued == 0,
                      "%s: memory_reserved 0, jobs_running 0, slots_held 0, jobs_queued 0 (got %d: %"
                      PRIu64 ", %" PRIu32 ", %" PRIu32 ", %" PRIu32 ")", pool_name[p], r,
                      st.memory_reserved, st.jobs_running, st.slots_held, st.jobs_queued);
                CHECK(st.jobs_started == want[p].started, "%s: jobs_started %" PRIu64 " (got %" PRIu64 ")",
                      pool_name[p], want[p].started, st.jobs_started);
                CHECK(st.jobs_rejected == want[p].rejected, "%s: jobs_rejected %" PRIu64 " (got %" PRIu64
                      ")", pool_name[p], want[p].rejected, st.jobs_rejected);
                CHECK(st.jobs_oom_killed == want[p].oom_killed, "%s: jobs_oom_killed %" PRIu64
                      " (got %" PRIu64 ")", pool_name[p], want[p].oom_killed, st.jobs_oom_killed);
                CHECK(st.memory_max == pool_lim[p].memory_max && st.max_jobs == pool_lim[p].max_jobs &&
                              st.pids_max == pool_lim[p].pids_max,
                      "%s: limits still %" PRIu64 " MiB, %" PRIu32 " jobs, %" PRIu32 " pids",
                      pool_name[p], pool_lim[p].memory_max / MiB, pool_lim[p].max_jobs,
                      pool_lim[p].pids_max);
        }
}

/* Every directory below dir (relative to the root) must be a pool we made,
 * or the governor's own supervisor/ at the top. */
static int walk_unexpected(const char *rel) {
        char dir[PATH_MAX];
        struct dirent *de;
        int bad = 0;

        fmt(dir, sizeof dir, "%s%s%s", root, rel[0] ? "/" : "", rel);
        DIR *d = opendir(dir);
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                char sub[PATH_MAX], path[PATH_MAX];
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                fmt(path, sizeof path, "%s/%s", dir, de->d_name);
                if (!is_dir(path))
                        continue;
                fmt(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
                bool known = !rel[0] && strcmp(de->d_name, "supervisor") == 0;
                for (size_t i = 0; i < n_created && !known; i++)
                        known = strcmp(created[i], sub) == 0;
                if (!known) {
                        printf("         not a pool: %s\n", sub);
                        bad++;
                }
                bad += walk_unexpected(sub);
        }
        closedir(d);
        return bad;
}

static void test_close_and_cleanup(void) {
        char path[PATH_MAX];

        section("cgov_close and cleanup");
        if (gov)
                cgov_close(gov);
        gov = NULL;
        int bad = walk_unexpected("");
        CHECK(bad == 0, "after cgov_close the root holds only pool directories, no job leaves "
              "(%d others)", bad);

        int failed = 0;
        for (size_t i = n_created; i-- > 0;) {
                fmt(path, sizeof path, "%s/%s", root, created[i]);
                if (rmdir(path) < 0) {
                        printf("         rmdir %s: %s\n", path, strerror(errno));
                        failed++;
                }
                free(created[i]);
        }
        n_created = 0;
        fmt(path, sizeof path, "%s/supervisor", root);
        if (is_dir(path) && rmdir(path) < 0) {
                printf("         rmdir %s: %s\n", path, strerror(errno));
                failed++;
        }
        CHECK(failed == 0, "rmdir of every pool directory, deepest first (%d failed)", failed);
        int r = rmdir(root) == 0 ? 0 : -errno;
        CHECK(r == 0, "rmdir of the root %s (%s)", root, strerror(-r));
        CHECK(gone(root), "nothing is left: %s is gone", root);
}

/* "--alloc BYTES": allocate and touch BYTES, a page at a time. */
static int hog(const char *bytes) {
        size_t n = (size_t) strtoull(bytes, NULL, 0);
        volatile char *p = malloc(n);
        if (!p)
                return 2;
        for (size_t i = 0; i < n; i += 4096)
                p[i] = (char) i;
        printf("touched %zu bytes\n", n);
        return 0;
}

int main(int argc, char **argv) {
        if (argc == 3 && strcmp(argv[1], "--alloc") == 0)
                return hog(argv[2]);

        setvbuf(stdout, NULL, _IOLBF, 0);
        const char *base = getenv("CGOV_TEST_CGROUP");
        if (!base || !base[0]) {
                printf("api-consumer: CGOV_TEST_CGROUP is not set: it must name a cgroup v2 directory "
                       "with +memory +pids in cgroup.subtree_control where this program may create "
                       "subdirectories; skipping\n");
                return 77;
        }
        ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
        if (n <= 0) {
                printf("api-consumer: cannot find my own executable: %s\n", strerror(errno));
                return 1;
        }
        self_exe[n] = '\0';
        fmt(root, sizeof root, "%s/api-%ld", base, (long) getpid());
        signal(SIGALRM, watchdog);
        alarm(600);

        printf("api-consumer: root %s\n", root);
        test_strerror();
        test_open(base);
        if (gov) {
                test_pools();
                if (pools_ok()) {
                        test_job_leaf();
                        test_job_running();
                        test_exit_codes();
                        test_rejections();
                        test_oom();
                        test_timeout();
                        test_kill_tree();
                        test_await_timeout();
                        test_bad_input();
                        test_waiting();
                        test_killing();
                        test_pool_changes();
                        test_slots();
                        test_call();
                        test_final_status();
                        test_readopt();
                        if (gov && pools_ok())
                                test_final_idle();
                }
                test_close_and_cleanup();
        }

        printf("api-consumer: %u passed, %u failed\n", n_passed, n_failed);
        return n_failed == 0 ? 0 : 1;
}
