/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <stddef.h>

#include "cgov.h"
#include "ledger.h"

static uint64_t room(uint64_t limit, uint64_t used) {
        /* A limit lowered below what is already held leaves no room, not a
         * wrapped-around huge one. */
        return used >= limit ? 0 : limit - used;
}

static int check_node(const LedgerNode *n, uint64_t memory, uint32_t slots, LedgerRefusal *ret) {
        if (n->max_jobs > 0 && slots > room(n->max_jobs, n->slots_held)) {
                *ret = (LedgerRefusal) {
                        .node = n,
                        .error = CGOV_E_NO_WORKERS,
                        .requested = slots,
                        .available = room(n->max_jobs, n->slots_held),
                        .limit = n->max_jobs,
                };
                return ret->error;
        }
        if (n->memory_max > 0 && memory > room(n->memory_max, n->memory_reserved)) {
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

int ledger_reserve(LedgerNode *n, uint64_t memory, uint32_t slots, LedgerRefusal *ret_refusal) {
        LedgerRefusal refusal;

        assert(n);
        /* Two passes keep it all-or-nothing without an undo path: the chain is
         * at most 16 nodes, and the caller holds the lock throughout. */
        for (const LedgerNode *i = n; i; i = i->parent) {
                int r = check_node(i, memory, slots, &refusal);
                if (r < 0) {
                        if (ret_refusal)
                                *ret_refusal = refusal;
                        return r;
                }
        }
        for (LedgerNode *i = n; i; i = i->parent) {
                i->memory_reserved += memory;
                i->slots_held += slots;
        }
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
