/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target: arbitrary bytes as one .pool file. Whatever the input,
 * the loader must not crash, leak or read out of bounds, must either return
 * a policy or report at least one error, and a policy it returns must hold
 * only valid pools in parent-first order.
 *
 * Names are not looked up (POLICY_NO_LOOKUP): the name service is slow,
 * outside the code under test, and would make runs depend on the machine. */

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Policy *policy = NULL;
        PolicyDiagnostics diag = {};
        int r;

        r = policy_load_string("fuzz.pool", (const char *) data, size, POLICY_NO_LOOKUP, &policy, &diag);
        assert(r == 0 || r == -EBADMSG || r == -ENOMEM);
        assert((r == -EBADMSG) == (diag.n_errors > 0));
        assert(diag.n_items == diag.n_errors + diag.n_warnings);
        for (size_t i = 0; i < diag.n_items; i++)
                assert(diag.items[i].file && diag.items[i].message);
        if (r == 0) {
                for (size_t i = 0; i < policy->n_pools; i++) {
                        const PolicyPool *p = &policy->pools[i];
                        assert(p->depth >= 1);
                        assert((p->parent == SIZE_MAX) == (p->depth == 1));
                        assert(p->parent == SIZE_MAX || p->parent < i);
                        assert(policy_find(policy, p->path) == p);
                }
        }
        policy_free(policy);
        policy_diagnostics_done(&diag);
        return 0;
}
