/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

char fx_root[4096];
cgov *fx_gov;
static char fx_slice[64];

bool fx_backend_systemd(void) {
        const char *b = getenv("CGOV_TEST_BACKEND");
        return b && strcmp(b, "systemd") == 0;
}

void fx_setup_root_only(void) {
        static unsigned n;
        const char *base = getenv("CGOV_TEST_CGROUP");

        if (fx_backend_systemd()) {
                /* A parent slice of the test's own ("-" would nest it). */
                snprintf(fx_slice, sizeof fx_slice, "cgovt%dx%u.slice", (int) getpid(), n++);
                snprintf(fx_root, sizeof fx_root, "/sys/fs/cgroup/%s", fx_slice);
                return;
        }
        if (!base)
                cr_skip_test("CGOV_TEST_CGROUP is not set: kernel tests run through tests/kernel/run-kernel-tests, "
                             "which provides a real cgroup v2 with memory and pids (in a guest if need be)");
        snprintf(fx_root, sizeof fx_root, "%s/t%d-%u", base, (int) getpid(), n++);
}

struct cgov_options fx_options(void) {
        if (fx_backend_systemd())
                return (struct cgov_options) { .cgroup_root = fx_slice, .flags = CGOV_OPEN_SYSTEMD };
        return (struct cgov_options) { .cgroup_root = fx_root };
}

void fx_setup(void) {
        fx_setup_root_only();
        struct cgov_options o = fx_options();
        int r = cgov_open(&fx_gov, &o);
        cr_assert_eq(r, 0, "cgov_open(%s): %s", o.cgroup_root, cgov_strerror(r));
}

unsigned fx_job_units(void) {
        char cmd[256], line[512];
        unsigned n = 0;

        snprintf(cmd, sizeof cmd, "systemctl list-units --all --plain --no-legend '%.*s-job-*.service'",
                 (int) (strlen(fx_slice) - strlen(".slice")), fx_slice);
        FILE *f = popen(cmd, "r");
        cr_assert_not_null(f, "%s: %m", cmd);
        while (fgets(line, sizeof line, f))
                n++;
        pclose(f);
        return n;
}

/* Kill everything below dir, then remove the directories deepest first. */
static void remove_tree(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        char path[4096];

        if (!d)
                return;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
                remove_tree(path);
        }
        closedir(d);
        snprintf(path, sizeof path, "%s/cgroup.kill", dir);
        FILE *f = fopen(path, "w");
        if (f) {
                fputs("1", f);
                fclose(f);
        }
        for (int i = 0; i < 200 && rmdir(dir) < 0 && errno == EBUSY; i++)
                usleep(10000);
}

void fx_teardown(void) {
        if (fx_gov)
                cgov_close(fx_gov);
        fx_gov = NULL;
        if (fx_backend_systemd() && fx_slice[0]) {
                /* Stopping the parent slice stops every unit in it. */
                char cmd[256];
                snprintf(cmd, sizeof cmd, "systemctl stop %s; systemctl reset-failed 'cgovt*' 2>/dev/null", fx_slice);
                (void) !system(cmd);
                return;
        }
        if (fx_root[0])
                remove_tree(fx_root);
}

cgov_pool *fx_pool(const char *path, uint64_t memory_max, uint32_t max_jobs) {
        cgov_pool *p = NULL;
        struct cgov_pool_limits lim = { .memory_max = memory_max, .max_jobs = max_jobs };
        int r = cgov_pool_create(fx_gov, path, &lim, &p);
        cr_assert_eq(r, 0, "cgov_pool_create(%s): %s", path, cgov_strerror(r));
        return p;
}

int fx_run_capture(cgov_pool *p, struct cgov_job_spec *spec, struct cgov_result *res, char *out, size_t size) {
        int pipefd[2];
        cr_assert_eq(pipe(pipefd), 0);
        spec->flags |= CGOV_JOB_STDIO;
        spec->stdio[0] = -1;
        spec->stdio[1] = pipefd[1];
        spec->stdio[2] = 2;
        /* The job writes less than a pipe buffer, so cgov_run can finish
         * before we read. */
        int r = cgov_run(p, spec, res);
        close(pipefd[1]);
        ssize_t n = read(pipefd[0], out, size - 1);
        out[n > 0 ? n : 0] = '\0';
        close(pipefd[0]);
        return r;
}

void fx_kill_await(cgov_job *j) {
        struct cgov_result res;
        cr_assert_eq(cgov_kill(j), 0);
        int r = cgov_await(j, -1, &res);
        cr_assert_eq(r, 0, "cgov_await: %s", cgov_strerror(r));
        cr_assert_eq(res.outcome, CGOV_OUTCOME_KILLED);
        cgov_job_free(j);
}

bool fx_exists(const char *path) {
        return access(path, F_OK) == 0;
}

char *fx_read(const char *dir, const char *file, char *buf, size_t size) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, file);
        FILE *f = fopen(path, "re");
        cr_assert_not_null(f, "open %s: %m", path);
        size_t n = fread(buf, 1, size - 1, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

uint64_t fx_read_u64(const char *dir, const char *file) {
        char buf[64];
        fx_read(dir, file, buf, sizeof buf);
        if (strncmp(buf, "max", 3) == 0)
                return UINT64_MAX;
        return strtoull(buf, NULL, 10);
}

unsigned fx_count_leaves(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        unsigned n = 0;
        char path[4096];

        if (!d)
                return 0;
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                /* cgroupfs: "name@id"; systemd: "<slice>-job-<id>.service" */
                size_t len = strlen(de->d_name);
                if (strchr(de->d_name, '@') ||
                    (strstr(de->d_name, "-job-") && len > 8 && strcmp(de->d_name + len - 8, ".service") == 0))
                        n++;
                snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
                n += fx_count_leaves(path);
        }
        closedir(d);
        return n;
}

void fx_assert_pool_idle(cgov_pool *p) {
        struct cgov_pool_status st;
        cr_assert_eq(cgov_pool_status(p, &st), 0);
        cr_assert_eq(st.memory_reserved, 0, "%s: %" PRIu64 " bytes still reserved", cgov_pool_path(p), st.memory_reserved);
        cr_assert_eq(st.jobs_running, 0, "%s: %u jobs still running", cgov_pool_path(p), st.jobs_running);
        cr_assert_eq(st.jobs_queued, 0, "%s: %u jobs still queued", cgov_pool_path(p), st.jobs_queued);
        cr_assert_eq(st.slots_held, 0, "%s: %u slots still held", cgov_pool_path(p), st.slots_held);
}

cgov_pool *fx_pool_queue(const char *path, uint64_t memory_max, uint32_t max_jobs, uint32_t max_queue,
                         uint64_t queue_timeout_ms) {
        cgov_pool *p = NULL;
        struct cgov_pool_limits lim = { .memory_max = memory_max, .max_jobs = max_jobs, .max_queue = max_queue,
                                        .queue_timeout_ms = queue_timeout_ms };
        int r = cgov_pool_create(fx_gov, path, &lim, &p);
        cr_assert_eq(r, 0, "cgov_pool_create(%s): %s", path, cgov_strerror(r));
        return p;
}

cgov_job *fx_submit(cgov_pool *p, struct cgov_job_spec spec) {
        cgov_job *j = NULL;
        int r = cgov_submit(p, &spec, &j);
        cr_assert_eq(r, 0, "cgov_submit(%s, %s): %s", cgov_pool_path(p), spec.argv[0], cgov_strerror(r));
        cr_assert_not_null(j);
        return j;
}

void fx_await(cgov_job *j, struct cgov_result *res) {
        int r = cgov_await(j, -1, res);
        cr_assert_eq(r, 0, "cgov_await: %s", cgov_strerror(r));
}

struct cgov_pool_status fx_status(cgov_pool *p) {
        struct cgov_pool_status st;
        int r = cgov_pool_status(p, &st);
        cr_assert_eq(r, 0, "cgov_pool_status(%s): %s", cgov_pool_path(p), cgov_strerror(r));
        return st;
}

uint64_t fx_now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

bool fx_wait_started(cgov_job *j, unsigned ms) {
        uint64_t end = fx_now_ms() + ms;
        while (cgov_job_pid(j) == 0) {
                if (fx_now_ms() > end)
                        return false;
                usleep(5000);
        }
        return true;
}

bool fx_wait_gone(const char *dir, unsigned ms) {
        uint64_t end = fx_now_ms() + ms;
        while (fx_exists(dir)) {
                if (fx_now_ms() > end)
                        return false;
                usleep(5000);
        }
        return true;
}

void fx_tmpfile(char *buf, size_t size) {
        snprintf(buf, size, "/tmp/cgov-test.XXXXXX");
        int fd = mkstemp(buf);
        cr_assert_geq(fd, 0, "mkstemp: %m");
        close(fd);
}
