/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cgroupfs reader and writer against ordinary files in a temporary
 * directory: this proves the parsing and the dirfd plumbing only; what the
 * kernel does with the values is tested in tests/kernel/. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-fs.h"

static char dir[] = "/tmp/cgov-test-cgroup-fs.XXXXXX";
static int dfd = -1;

static void put(const char *file, const char *text) {
        FILE *f = fopen(file, "w");
        cr_assert_not_null(f);
        fputs(text, f);
        fclose(f);
}

static void setup(void) {
        cr_assert_not_null(mkdtemp(dir));
        cr_assert_eq(chdir(dir), 0);
        dfd = open(dir, O_RDONLY | O_DIRECTORY);
        cr_assert_geq(dfd, 0);
}

static void teardown(void) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        (void) !system(cmd);
}

TestSuite(cgroup_fs, .init = setup, .fini = teardown);

Test(cgroup_fs, parse_u64_reads_numbers_and_max) {
        uint64_t v;
        cr_assert_eq(cg_parse_u64("12345\n", &v), 0);
        cr_assert_eq(v, 12345);
        cr_assert_eq(cg_parse_u64("max\n", &v), 0);
        cr_assert_eq(v, CG_LIMIT_MAX);
        cr_assert_eq(cg_parse_u64("0", &v), 0);
        cr_assert_eq(v, 0);
}

Test(cgroup_fs, parse_u64_refuses_malformed_text) {
        uint64_t v = 7;
        cr_assert_eq(cg_parse_u64("", &v), -EINVAL);
        cr_assert_eq(cg_parse_u64("12a", &v), -EINVAL);
        cr_assert_eq(cg_parse_u64("-1", &v), -EINVAL);
        cr_assert_eq(cg_parse_u64("maxi", &v), -EINVAL);
        cr_assert_eq(cg_parse_u64("1 2", &v), -EINVAL);
        cr_assert_eq(cg_parse_u64("99999999999999999999", &v), -ERANGE);
        cr_assert_eq(v, 7, "a failed parse must not write the result");
}

Test(cgroup_fs, parse_key_finds_the_exact_key) {
        const char *events = "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 1\n";
        uint64_t v;
        cr_assert_eq(cg_parse_key_u64(events, "oom_kill", &v), 0);
        cr_assert_eq(v, 2);
        cr_assert_eq(cg_parse_key_u64(events, "oom", &v), 0);
        cr_assert_eq(v, 3);
        cr_assert_eq(cg_parse_key_u64(events, "max", &v), 0);
        cr_assert_eq(v, 12);
        cr_assert_eq(cg_parse_key_u64(events, "oom_group", &v), -ENOENT);
        cr_assert_eq(cg_parse_key_u64("usage_usec 1\nuser_usec", "user_usec", &v), -ENOENT);
        cr_assert_eq(cg_parse_key_u64("populated x\n", "populated", &v), -EINVAL);
}

Test(cgroup_fs, list_has_matches_whole_words) {
        cr_assert(cg_list_has("cpuset cpu io memory pids\n", "cpu"));
        cr_assert(cg_list_has("cpuset cpu io memory pids\n", "pids"));
        cr_assert_not(cg_list_has("cpuset io memory\n", "cpu"));
        cr_assert_not(cg_list_has("", "memory"));
}

Test(cgroup_fs, write_and_read_back_through_the_directory_fd) {
        uint64_t v;
        put("memory.max", "");
        cr_assert_eq(cg_write_u64(dfd, "memory.max", 1048576), 0);
        cr_assert_eq(cg_read_u64(dfd, "memory.max", &v), 0);
        cr_assert_eq(v, 1048576);
        put("pids.max", "");
        cr_assert_eq(cg_write_u64(dfd, "pids.max", CG_LIMIT_MAX), 0);
        char buf[16];
        cr_assert_eq(cg_read(dfd, "pids.max", buf, sizeof buf), 0);
        cr_assert_str_eq(buf, "max");
}

Test(cgroup_fs, missing_files_and_oversized_ones_are_errors) {
        char buf[8];
        uint64_t v;
        cr_assert_eq(cg_read_u64(dfd, "nope", &v), -ENOENT);
        cr_assert_eq(cg_write(dfd, "nope", "1"), -ENOENT, "cgroupfs never creates files: neither may we");
        put("big", "0123456789");
        cr_assert_eq(cg_read(dfd, "big", buf, sizeof buf), -EFBIG);
}

Test(cgroup_fs, keyed_files_and_populated) {
        uint64_t v;
        put("cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n");
        cr_assert_eq(cg_read_key_u64(dfd, "cpu.stat", "system_usec", &v), 0);
        cr_assert_eq(v, 500);
        put("cgroup.events", "populated 1\nfrozen 0\n");
        cr_assert_eq(cg_is_populated(dfd), 1);
        put("cgroup.events", "populated 0\nfrozen 0\n");
        cr_assert_eq(cg_is_populated(dfd), 0);
}

Test(cgroup_fs, enable_controllers_writes_only_available_ones) {
        static const char *const wanted[] = { "memory", "pids", "io", NULL };
        char buf[64];
        put("cgroup.subtree_control", "");
        cr_assert_eq(cg_enable_controllers(dfd, "cpu memory pids\n", wanted), 0);
        cr_assert_eq(cg_read(dfd, "cgroup.subtree_control", buf, sizeof buf), 0);
        cr_assert_str_eq(buf, "+memory +pids");
}

Test(cgroup_fs, rmdir_of_a_missing_cgroup_counts_as_done) {
        cr_assert_eq(mkdir("leaf", 0755), 0);
        cr_assert_eq(cg_rmdir(dfd, "leaf"), 0);
        cr_assert_eq(cg_rmdir(dfd, "leaf"), 0);
        cr_assert_eq(mkdir("full", 0755), 0);
        put("full/x", "");
        cr_assert_eq(cg_rmdir(dfd, "full"), -ENOTEMPTY);
}
