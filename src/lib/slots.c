/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "client.h"
#include "internal.h"
#include "macro.h"

/* Slots without a process (Reactor's ConcurrencyTracker): work that runs on
 * the caller's own threads takes job slots on the whole chain, so it counts
 * against max_jobs exactly like a job. Grants are partial and immediate. */

_public_ int cgov_acquire(cgov_pool *p, unsigned n) {
        uint32_t grant = 0;

        assert_return(p, -EINVAL);
        assert_return(n <= INT32_MAX, -ERANGE);
        if (p->g->client)
                return client_acquire(p, n);

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

_public_ int cgov_release(cgov_pool *p, unsigned n) {
        int r = 0;

        assert_return(p, -EINVAL);
        if (p->g->client)
                return client_release(p, n);

        pthread_mutex_lock(&p->g->lock);
        if (n > p->slots_acquired)
                r = -EINVAL;
        else if (n > 0) {
                ledger_release(&p->ledger, 0, n);
                p->slots_acquired -= n;
                pool_settle(p);
        }
        pthread_mutex_unlock(&p->g->lock);
        /* The freed slots may be a waiter's turn. */
        if (r == 0 && n > 0)
                governor_wake(p->g);
        return r;
}
