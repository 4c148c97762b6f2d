/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* The admission ledger: what each pool has promised. It knows nothing of
 * cgroups or processes, so it is tested as pure logic and can be driven
 * millions of times a second. The caller serialises access (the governor's
 * lock).
 *
 * A reservation takes `memory` bytes and `slots` job slots in every node of
 * the chain from a pool up to the top, all or nothing. Nodes are checked
 * nearest first and, at each node, slots before memory; the first node that
 * lacks room is the one reported. An exact fit is admitted. */

typedef struct LedgerNode LedgerNode;
struct LedgerNode {
        LedgerNode *parent;       /* NULL for a top-level pool */
        uint64_t memory_max;      /* 0: no limit */
        uint32_t max_jobs;        /* 0: no limit */
        uint64_t memory_reserved; /* by the whole subtree */
        uint32_t slots_held;      /* by the whole subtree: running jobs and bare slots */
};

typedef struct LedgerRefusal {
        const LedgerNode *node;   /* the node that refused */
        int error;                /* CGOV_E_NO_WORKERS or CGOV_E_INSUFFICIENT_MEMORY */
        uint64_t requested, available, limit;
} LedgerRefusal;

/* 0, or the refusal's code with *ret_refusal filled (nothing reserved). */
int ledger_reserve(LedgerNode *n, uint64_t memory, uint32_t slots, LedgerRefusal *ret_refusal);

/* The same decision without reserving: 0 or the refusal's code. */
int ledger_check(const LedgerNode *n, uint64_t memory, uint32_t slots, LedgerRefusal *ret_refusal);

/* Whether the request could fit at all, were the chain idle: 0, or the
 * refusal of the first node whose limit itself is too small. A job that can
 * never fit is refused at once rather than queued forever. */
int ledger_check_ever(const LedgerNode *n, uint64_t memory, uint32_t slots, LedgerRefusal *ret_refusal);

/* Takes a reservation regardless of limits: for jobs that already run when
 * a governor re-adopts them. */
void ledger_force(LedgerNode *n, uint64_t memory, uint32_t slots);

/* Returns what ledger_reserve() took. Releasing more than is held is a bug in
 * the caller; it is caught by assert(). */
void ledger_release(LedgerNode *n, uint64_t memory, uint32_t slots);

/* How many of `want` slots the whole chain could grant now (partial grants). */
uint32_t ledger_slots_free(const LedgerNode *n, uint32_t want);
