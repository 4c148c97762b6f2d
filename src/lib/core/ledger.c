/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>

#include "cgov.h"
#include "ledger.h"

static uint64_t room(uint64_t limit, uint64_t used) {
        /* A limit lowered below what is already held leaves no room, not a
         * wrapped-around huge one. */
        return used >= limit ? 0 : limit - used;
}

/* idle: decide against the limits alone, as if nothing were held; the
 * figures reported are the real ones all the same (what is free now). */
static int check_node(const LedgerNode *n, uint64_t memory, uint32_t slots, bool idle, LedgerRefusal *ret) {
        uint32_t slots_held = idle ? 0 : n->slots_held;
        uint64_t memory_reserved = idle ? 0 : n->memory_reserved;

        if (n->max_jobs > 0 && slots > room(n->max_jobs, slots_held)) {
                *ret = (LedgerRefusal) {
                        .node = n,
                        .error = CGOV_E_NO_WORKERS,
                        .requested = slots,
                        .available = room(n->max_jobs, n->slots_held),
                        .limit = n->max_jobs,
                };
                return ret->error;
        }
        if (n->memory_max > 0 && memory > room(n->memory_max, memory_reserved)) {
                *ret = (LedgerRefusal) {
                        .node = n,
                        .error = CGOV_E_INSUFFICIENT_MEMORY,
                        .requested = memory,
                        .available = room(n->memory_max, n->memory_reserved),
                        .limit = n->memory_max,
                };
                return ret->error;
        }
        return 0;
}

static int check_chain(const LedgerNode *n, uint64_t memory, uint32_t slots, bool idle,
                       LedgerRefusal *ret_refusal) {
        LedgerRefusal refusal;

        assert(n);
        for (const LedgerNode *i = n; i; i = i->parent) {
                int r = check_node(i, memory, slots, idle, &refusal);
                if (r < 0) {
                        if (ret_refusal)
                                *ret_refusal = refusal;
                        return r;
                }
        }
        return 0;
}

int ledger_check(const LedgerNode *n, uint64_t memory, uint32_t slots, LedgerRefusal *ret_refusal) {
        return check_chain(n, memory, slots, false, ret_refusal);
}

int ledger_check_ever(const LedgerNode *n, uint64_t memory, uint32_t slots, LedgerRefusal *ret_refusal) {
        return check_chain(n, memory, slots, true, ret_refusal);
}

void ledger_force(LedgerNode *n, uint64_t memory, uint32_t slots) {
        for (LedgerNode *i = n; i; i = i->parent) {
                i->memory_reserved += memory;
                i->slots_held += slots;
        }
}

int ledger_reserve(LedgerNode *n, uint64_t memory, uint32_t slots, LedgerRefusal *ret_refusal) {
        /* Check, then take: all or nothing without an undo path. The chain is
         * at most 16 nodes, and the caller holds the lock throughout. */
        int r = check_chain(n, memory, slots, false, ret_refusal);
        if (r < 0)
                return r;
        ledger_force(n, memory, slots);
        return 0;
}

void ledger_release(LedgerNode *n, uint64_t memory, uint32_t slots) {
        for (LedgerNode *i = n; i; i = i->parent) {
                assert(i->memory_reserved >= memory);
                assert(i->slots_held >= slots);
                i->memory_reserved -= memory;
                i->slots_held -= slots;
        }
}

uint32_t ledger_slots_free(const LedgerNode *n, uint32_t want) {
        uint32_t grant = want;

        for (const LedgerNode *i = n; i && grant > 0; i = i->parent)
                if (i->max_jobs > 0 && room(i->max_jobs, i->slots_held) < grant)
                        grant = (uint32_t) room(i->max_jobs, i->slots_held);
        return grant;
}
