/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* libcgov's client mode: cgov_open() with .address gives the same API over
 * cgovd's socket (docs/protocol.md). Each public function of the library
 * starts with `if (g->client) return client_...()`, so the two modes share
 * the handles and differ only in who does the work.
 *
 * What differs, because the daemon owns the pools: cgov_pool_create,
 * cgov_pool_set_limits and cgov_pool_release are -EPERM (pools come from
 * the daemon's policy); cgov_call is -EOPNOTSUPP (a function cannot cross
 * into another process); slots are held by the governor's connection and
 * return to their pools when it closes, or when the daemon restarts. */

#include <json-c/json.h>
#include <pthread.h>

#include "cgov.h"
#include "wire.h"

/* How long a waiting cgov_await keeps trying to reach a daemon that went
 * away (a restart takes a second or two; systemd's restart delay is 100 ms). */
#define CLIENT_RECONNECT_MS (60 * 1000)

typedef struct Client {
        char *address;
        pthread_mutex_t lock;   /* the shared connection: one exchange at a time */
        Wire *wire;             /* NULL after a failure: the next call reconnects */
        unsigned generation;    /* counts reconnections: slots do not survive them */
        /* Connections of finished Waits, kept for the next: a connection
         * costs the daemon an accept and a user-database lookup, more than
         * the Wait itself. Few, since each counts against the user's
         * connection limit. */
        Wire *idle[2];
        size_t n_idle;
} Client;

int client_open(const struct cgov_options *opts, cgov **ret);
void client_close(cgov *g);
void client_governor_free(cgov *g);   /* the last reference went */

/* One request on the shared connection: 0 with the reply's parameters (the
 * caller json_object_put()s them), or what the error maps to
 * (proto_error_to_code; res filled for a rejection when given). Takes params
 * (may be NULL). Requests that only read are retried once on a fresh
 * connection when the old one was found dead. */
int client_call(cgov *g, const char *method, json_object *params, const int *fds, size_t n_fds,
                json_object **ret, struct cgov_result *res);

int client_pool_find(cgov *g, const char *path, cgov_pool **ret); /* path NULL: the caller's default */
int client_pool_status(cgov_pool *p, struct cgov_pool_status *st);
/* detach: the job goes on, even waiting in a queue, when this governor's
 * connection closes (cgov run --detach); otherwise a job still queued then
 * never starts, as cgov_close() discards an embedded governor's. */
int client_submit(cgov_pool *p, const struct cgov_job_spec *spec, bool detach, cgov_job **ret,
                  struct cgov_result *res);
int client_await(cgov_job *j, int64_t timeout_ms, struct cgov_result *res);
int client_kill(cgov_job *j);
int client_kill_by_name(cgov_pool *p, const char *name);
int client_flush(cgov_pool *p);
pid_t client_job_pid(cgov_job *j);
const char *client_job_cgroup(cgov_job *j);
int client_acquire(cgov_pool *p, unsigned n);
int client_release(cgov_pool *p, unsigned n);

/* For the cgov command: a job by the id another process got (-ESRCH when
 * the daemon does not show it to us), and a job's id. */
int client_job_attach(cgov *g, uint64_t id, cgov_job **ret);
uint64_t client_job_id(cgov_job *j);
