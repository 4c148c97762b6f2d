/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "internal.h"
#include "macro.h"

/* Slots without a process (Reactor's ConcurrencyTracker): work that runs on
 * the caller's own threads takes job slots on the whole chain, so it counts
 * against max_jobs exactly like a job. Grants are partial and immediate.
 *
 * Both calls are an admission decision on the caller's hot path (a slot
 * around each request, millions a second), so in the common case they make
 * no system call: the lock, a walk up the chain, and nothing else. */

/* Whether a queued job could use room freed on p's chain. A waiter's own
 * chain meets p's only if it waits in the subtree of p's top-level pool,
 * and that pool's jobs_queued counts its whole subtree. Lock held.
 *
 * Rejected: waking the supervisor on every release, as before. The eventfd
 * write is a system call (about 1 µs here, more than the whole decision),
 * and each one makes the supervisor take the lock for a dispatch pass that
 * finds nobody waiting, which the next acquire then contends with. Also
 * rejected: g->n_waiting alone, which would still wake for every release
 * while some unrelated tenant's queue is long. No wake-up is lost: a job
 * queues under the lock, after trying the ledger itself, so room freed
 * before it queued is room it has already seen. */
static bool chain_has_waiters(const cgov_pool *p) {
        while (p->parent)
                p = p->parent;
        return p->jobs_queued > 0;
}

int gov_acquire(cgov_pool *p, unsigned n) {
        uint32_t grant = 0;

        pthread_mutex_lock(&p->g->lock);
        if (!p->released && !p->g->closed) {
                grant = ledger_slots_free(&p->ledger, n);
                if (grant > 0) {
                        ledger_force(&p->ledger, 0, grant); /* what slots_free found free */
                        p->slots_acquired += grant;
                }
        }
        pthread_mutex_unlock(&p->g->lock);
        return (int) grant;
}

int gov_release(cgov_pool *p, unsigned n) {
        bool wake = false;
        int r = 0;

        pthread_mutex_lock(&p->g->lock);
        if (n > p->slots_acquired)
                r = -EINVAL;
        else if (n > 0) {
                ledger_release(&p->ledger, 0, n);
                p->slots_acquired -= n;
                pool_settle(p);
                wake = chain_has_waiters(p);
        }
        pthread_mutex_unlock(&p->g->lock);
        /* The freed slots may be a waiter's turn. */
        if (wake)
                governor_wake(p->g);
        return r;
}
