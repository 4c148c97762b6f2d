/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "cgov.h"
#include "error.h"

static const int decisions[] = {
        CGOV_E_INSUFFICIENT_MEMORY, CGOV_E_NO_WORKERS, CGOV_E_TIMEOUT, CGOV_E_OVERLOADED, CGOV_E_POOL_GONE,
};

Test(error, every_decision_has_distinct_words_and_name) {
        for (size_t i = 0; i < 5; i++)
                for (size_t k = i + 1; k < 5; k++) {
                        cr_expect_str_neq(cgov_strerror(decisions[i]), cgov_strerror(decisions[k]));
                        cr_expect_str_neq(cgov_error_name(decisions[i]), cgov_error_name(decisions[k]));
                }
        cr_expect_str_eq(cgov_strerror(CGOV_E_INSUFFICIENT_MEMORY), "insufficient memory");
        cr_expect_str_eq(cgov_error_name(CGOV_E_NO_WORKERS), "NoWorkersAvailable");
}

Test(error, decisions_never_collide_with_errno) {
        for (size_t i = 0; i < 5; i++) {
                cr_expect_lt(decisions[i], -4095);
                cr_expect(cgov_is_decision(decisions[i]));
        }
        cr_expect_not(cgov_is_decision(-ENOENT));
        cr_expect_null(cgov_error_name(-ENOENT));
}

Test(error, errno_values_are_named_by_libc) {
        cr_expect_str_eq(cgov_strerror(-ENOENT), strerror(ENOENT));
        cr_expect_str_eq(cgov_strerror(-EMEDIUMTYPE), strerror(EMEDIUMTYPE));
        cr_expect_str_eq(cgov_strerror(0), "success");
        cr_expect_str_eq(cgov_strerror(-4500), "unknown error");
        cr_expect_str_eq(cgov_strerror(42), "unknown error");
}
