/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * api-consumer — a program written only against the public contract
 * (docs/libcgov.3, <cgov.h>), built the way an outside program is (pkg-config
 * against an installed libcgov). It proves on a real cgroup v2 kernel that an
 * outside caller gets what the contract promises: pools become cgroups with
 * the right limits, jobs run in fresh leaves of their pool, outcomes and
 * rejections carry the right figures, every reservation comes back.
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
static bool pid_dead(pid_t pid) {
        char path[64], buf[512];
        FILE *f;

        fmt(path, sizeof path, "/proc/%ld/stat", (long) pid);
        f = fopen(path, "re");
        if (!f)
                return true;
        bool dead = false;
        if (fgets(buf, sizeof buf, f)) {
                const char *p = strrchr(buf, ')');
                dead = p && (p[2] == 'Z' || p[2] == 'X');
        }
        fclose(f);
        return dead;
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

enum { P_SHARED, P_A, P_B, N_POOLS };
static cgov_pool *pool[N_POOLS];
static const char *const pool_name[N_POOLS] = { "shared", "shared/a", "shared/b" };
static const struct cgov_pool_limits pool_lim[N_POOLS] = {
        [P_SHARED] = { .memory_max = 64 * MiB, .max_jobs = 3, .pids_max = 512 },
        [P_A] = { .memory_max = 32 * MiB, .max_jobs = 2, .pids_max = 128 },
        [P_B] = { .memory_max = 32 * MiB, .max_jobs = 2, .pids_max = 128 },
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
        if (p != P_SHARED)
                count(P_SHARED, started, rejected, oom);
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
        return pool[P_SHARED] && pool[P_A] && pool[P_B];
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
                while (f && npids < 16 && fgets(line, sizeof line, f))
                        pids[npids++] = (pid_t) atol(line);
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
        int alive = 0;
        for (int i = 0; i < npids; i++)
                if (!pid_dead(pids[i]))
                        alive++;
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
                        test_final_status();
                }
                test_close_and_cleanup();
        }

        printf("api-consumer: %u passed, %u failed\n", n_passed, n_failed);
        return n_failed == 0 ? 0 : 1;
}
