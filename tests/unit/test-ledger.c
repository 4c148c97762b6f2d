/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>

#include "cgov.h"
#include "ledger.h"

#define MiB (UINT64_C(1) << 20)

/* shared (10 jobs, 100 MiB) > tenant (2 jobs, 50 MiB) > team (no limits) */
static LedgerNode shared, tenant, team;

static void setup(void) {
        shared = (LedgerNode) { .memory_max = 100 * MiB, .max_jobs = 10 };
        tenant = (LedgerNode) { .parent = &shared, .memory_max = 50 * MiB, .max_jobs = 2 };
        team = (LedgerNode) { .parent = &tenant };
}

TestSuite(ledger, .init = setup);

Test(ledger, reserve_takes_memory_and_slot_on_every_node_of_the_chain) {
        cr_assert_eq(ledger_reserve(&team, 10 * MiB, 1, NULL), 0);
        cr_assert_eq(team.memory_reserved, 10 * MiB);
        cr_assert_eq(tenant.memory_reserved, 10 * MiB);
        cr_assert_eq(shared.memory_reserved, 10 * MiB);
        cr_assert_eq(team.slots_held, 1);
        cr_assert_eq(tenant.slots_held, 1);
        cr_assert_eq(shared.slots_held, 1);
}

Test(ledger, exact_fit_is_admitted) {
        cr_assert_eq(ledger_reserve(&tenant, 50 * MiB, 1, NULL), 0);
        cr_assert_eq(tenant.memory_reserved, 50 * MiB);
}

Test(ledger, one_byte_over_is_refused_with_figures) {
        LedgerRefusal r;
        cr_assert_eq(ledger_reserve(&tenant, 30 * MiB, 1, NULL), 0);
        cr_assert_eq(ledger_reserve(&tenant, 20 * MiB + 1, 1, &r), CGOV_E_INSUFFICIENT_MEMORY);
        cr_assert_eq(r.node, &tenant);
        cr_assert_eq(r.error, CGOV_E_INSUFFICIENT_MEMORY);
        cr_assert_eq(r.requested, 20 * MiB + 1);
        cr_assert_eq(r.available, 20 * MiB);
        cr_assert_eq(r.limit, 50 * MiB);
}

Test(ledger, nearest_pool_that_lacks_room_is_named) {
        LedgerRefusal r;
        /* Both tenant (50) and shared (100) lack 200 MiB: tenant is nearer. */
        cr_assert_eq(ledger_reserve(&team, 200 * MiB, 1, &r), CGOV_E_INSUFFICIENT_MEMORY);
        cr_assert_eq(r.node, &tenant);
}

Test(ledger, slots_are_checked_before_memory) {
        LedgerRefusal r;
        cr_assert_eq(ledger_reserve(&tenant, 1 * MiB, 1, NULL), 0);
        cr_assert_eq(ledger_reserve(&tenant, 1 * MiB, 1, NULL), 0);
        /* tenant lacks both a slot and the memory: the slot is named. */
        cr_assert_eq(ledger_reserve(&tenant, 60 * MiB, 1, &r), CGOV_E_NO_WORKERS);
        cr_assert_eq(r.node, &tenant);
        cr_assert_eq(r.requested, 1);
        cr_assert_eq(r.available, 0);
        cr_assert_eq(r.limit, 2);
}

Test(ledger, refusal_by_an_ancestor_reserves_nothing_anywhere) {
        LedgerNode other = { .parent = &shared, .memory_max = 100 * MiB };
        LedgerRefusal r;
        cr_assert_eq(ledger_reserve(&other, 80 * MiB, 1, NULL), 0);
        /* tenant has 50 MiB free, shared only 20: shared refuses. */
        cr_assert_eq(ledger_reserve(&team, 30 * MiB, 1, &r), CGOV_E_INSUFFICIENT_MEMORY);
        cr_assert_eq(r.node, &shared);
        cr_assert_eq(r.available, 20 * MiB);
        cr_assert_eq(r.limit, 100 * MiB);
        cr_assert_eq(team.memory_reserved, 0);
        cr_assert_eq(tenant.memory_reserved, 0);
        cr_assert_eq(team.slots_held, 0);
        cr_assert_eq(tenant.slots_held, 0);
        cr_assert_eq(shared.memory_reserved, 80 * MiB);
        cr_assert_eq(shared.slots_held, 1);
}

Test(ledger, release_returns_the_chain_to_zero) {
        cr_assert_eq(ledger_reserve(&team, 7 * MiB, 1, NULL), 0);
        cr_assert_eq(ledger_reserve(&tenant, 9 * MiB, 1, NULL), 0);
        ledger_release(&team, 7 * MiB, 1);
        ledger_release(&tenant, 9 * MiB, 1);
        LedgerNode *all[] = { &team, &tenant, &shared };
        for (int i = 0; i < 3; i++) {
                cr_assert_eq(all[i]->memory_reserved, 0);
                cr_assert_eq(all[i]->slots_held, 0);
        }
}

Test(ledger, zero_limits_mean_no_limit) {
        LedgerNode free_node = {};
        cr_assert_eq(ledger_reserve(&free_node, CGOV_SIZE_MAX, 1000, NULL), 0);
        cr_assert_eq(free_node.slots_held, 1000);
}

Test(ledger, a_limit_lowered_below_what_is_held_has_no_room) {
        LedgerRefusal r;
        cr_assert_eq(ledger_reserve(&tenant, 40 * MiB, 1, NULL), 0);
        tenant.memory_max = 30 * MiB;
        cr_assert_eq(ledger_reserve(&tenant, 1, 1, &r), CGOV_E_INSUFFICIENT_MEMORY);
        cr_assert_eq(r.available, 0, "available must not wrap around");
}

Test(ledger, slots_free_grants_what_the_tightest_node_allows) {
        cr_assert_eq(ledger_slots_free(&team, 5), 2);
        cr_assert_eq(ledger_reserve(&team, 0, 1, NULL), 0);
        cr_assert_eq(ledger_slots_free(&team, 5), 1);
        cr_assert_eq(ledger_slots_free(&team, 0), 0);
        cr_assert_eq(ledger_reserve(&team, 0, 1, NULL), 0);
        cr_assert_eq(ledger_slots_free(&team, 5), 0);
}

Test(ledger, check_decides_like_reserve_without_taking) {
        LedgerRefusal r;
        cr_assert_eq(ledger_check(&team, 50 * MiB, 1, NULL), 0);
        cr_assert_eq(ledger_check(&team, 50 * MiB + 1, 1, &r), CGOV_E_INSUFFICIENT_MEMORY);
        cr_assert_eq(r.node, &tenant);
        cr_assert_eq(tenant.memory_reserved, 0);
        cr_assert_eq(tenant.slots_held, 0);
}

Test(ledger, check_ever_judges_the_limits_alone) {
        LedgerRefusal r;
        cr_assert_eq(ledger_reserve(&tenant, 50 * MiB, 2, NULL), 0);
        /* Full now, but 50 MiB could fit once the others end. */
        cr_assert_eq(ledger_check(&team, 50 * MiB, 1, NULL), CGOV_E_NO_WORKERS);
        cr_assert_eq(ledger_check_ever(&team, 50 * MiB, 1, NULL), 0);
        /* 51 MiB never fits tenant's 50 MiB. */
        cr_assert_eq(ledger_check_ever(&team, 51 * MiB, 1, &r), CGOV_E_INSUFFICIENT_MEMORY);
        cr_assert_eq(r.node, &tenant);
        cr_assert_eq(r.available, 0, "the figures are the real ones: nothing is free now");
        cr_assert_eq(ledger_check_ever(&team, 0, 3, &r), CGOV_E_NO_WORKERS);
        cr_assert_eq(r.limit, 2);
}

Test(ledger, force_takes_a_reservation_past_the_limits) {
        ledger_force(&team, 80 * MiB, 3);
        cr_assert_eq(tenant.memory_reserved, 80 * MiB);
        cr_assert_eq(tenant.slots_held, 3);
        cr_assert_eq(shared.memory_reserved, 80 * MiB);
        cr_assert_eq(ledger_slots_free(&team, 1), 0);
        ledger_release(&team, 80 * MiB, 3);
        cr_assert_eq(shared.slots_held, 0);
}
