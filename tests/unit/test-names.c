/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "names.h"

Test(names, good_pool_paths_are_accepted_with_their_depth) {
        unsigned depth;
        cr_assert(pool_path_is_valid("shared", &depth));
        cr_assert_eq(depth, 1);
        cr_assert(pool_path_is_valid("shared/customer-a", &depth));
        cr_assert_eq(depth, 2);
        cr_assert(pool_path_is_valid("a_b/C.d/e-f/0", &depth));
        cr_assert_eq(depth, 4);
}

Test(names, bad_pool_paths_are_refused) {
        const char *bad[] = {
                "", "/", "/a", "a/", "a//b", "..", "a/../b", ".", "a/./b", ".hidden", "-dash",
                "supervisor", "a/supervisor", "cgroup.procs", "a/cgroup.x", "sp ace", "a@1",
                "tab\t", "ünï", "a:b",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                cr_expect_not(pool_path_is_valid(bad[i], NULL), "accepted \"%s\"", bad[i]);
        cr_expect_not(pool_path_is_valid(NULL, NULL));
}

Test(names, a_segment_has_at_most_64_characters) {
        char name[66];
        memset(name, 'a', 65);
        name[65] = '\0';
        cr_assert_not(pool_path_is_valid(name, NULL));
        name[64] = '\0';
        cr_assert(pool_path_is_valid(name, NULL));
}

Test(names, a_path_has_at_most_16_levels) {
        char path[64] = "a";
        for (int i = 1; i < 16; i++)
                strcat(path, "/a");
        cr_assert(pool_path_is_valid(path, NULL));
        strcat(path, "/a");
        cr_assert_not(pool_path_is_valid(path, NULL));
}

Test(names, supervisor_is_reserved_only_as_a_whole_segment) {
        cr_assert(pool_path_is_valid("supervisors", NULL));
        cr_assert(pool_path_is_valid("my-supervisor", NULL));
        cr_assert(pool_path_is_valid("cgroup", NULL));
}

Test(names, job_names_follow_the_segment_rules) {
        cr_assert(job_name_is_valid("build-42.x_y"));
        cr_assert_not(job_name_is_valid(""));
        cr_assert_not(job_name_is_valid("a/b"));
        cr_assert_not(job_name_is_valid(".x"));
        cr_assert_not(job_name_is_valid("a@b"));
        cr_assert_not(job_name_is_valid(NULL));
}

Test(names, leaf_names_round_trip_and_are_never_pool_names) {
        char leaf[96];
        uint64_t id;
        cr_assert_gt(job_leaf_name(leaf, sizeof leaf, "build", 17), 0);
        cr_assert_str_eq(leaf, "build@17");
        cr_assert(job_leaf_parse(leaf, &id));
        cr_assert_eq(id, 17);
        cr_assert_not(pool_path_is_valid(leaf, NULL));
        cr_assert_gt(job_leaf_name(leaf, sizeof leaf, NULL, 3), 0);
        cr_assert_str_eq(leaf, "job@3");
}

Test(names, malformed_leaf_names_do_not_parse) {
        const char *bad[] = { "build", "build@", "@17", "build@17x", "bu/ild@1", "build@-1", "supervisor" };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                cr_expect_not(job_leaf_parse(bad[i], NULL), "parsed \"%s\"", bad[i]);
}

Test(names, leaf_name_reports_a_too_small_buffer) {
        char leaf[6];
        cr_assert_eq(job_leaf_name(leaf, sizeof leaf, "build", 17), -ENAMETOOLONG);
}
