/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* libcgov's client mode: cgov_open() with .address gives the same API over
 * cgovd's socket (docs/protocol.md), as the table api_client (api.h); its
 * handles are its own (client.c), never the embedded governor's.
 *
 * What differs, because the daemon owns the pools: cgov_pool_create,
 * cgov_pool_set_limits and cgov_pool_release are -EPERM (pools come from
 * the daemon's policy); cgov_call is -EOPNOTSUPP (a function cannot cross
 * into another process); slots are held by the governor's connection and
 * return to their pools when it closes, or when the daemon restarts.
 *
 * Below, what the cgov command needs beyond the API. Each is -EINVAL (or
 * false, 0) for a handle of the embedded mode. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "cgov.h"

/* How long a waiting cgov_await keeps trying to reach a daemon that went
 * away (a restart takes a second or two; systemd's restart delay is 100 ms). */
#define CLIENT_RECONNECT_MS (60 * 1000)

#include "api-ops.h"

extern const ApiOps api_client;
int client_open(const struct cgov_options *opts, cgov **ret);

/* One request on the shared connection: 0 with the reply's parameters (the
 * caller json_object_put()s them), or what the error maps to
 * (proto_error_to_code; res filled for a rejection when given). Takes params
 * (may be NULL). Requests that only read are retried once on a fresh
 * connection when the old one was found dead. */
int client_call(cgov *g, const char *method, json_object *params, const int *fds, size_t n_fds,
                json_object **ret, struct cgov_result *res);

int client_pool_find(cgov *g, const char *path, cgov_pool **ret); /* path NULL: the caller's default */
/* detach: the job goes on, even waiting in a queue, when this governor's
 * connection closes (cgov run --detach); otherwise a job still queued then
 * never starts, as cgov_close() discards an embedded governor's. */
int client_submit(cgov_pool *p, const struct cgov_job_spec *spec, bool detach, cgov_job **ret,
                  struct cgov_result *res);

/* A job by the id another process got (-ESRCH when the daemon does not
 * show it to us), its id, and what the daemon last said of it. */
int client_job_attach(cgov *g, uint64_t id, cgov_job **ret);
uint64_t client_job_id(cgov_job *j);
bool client_job_ended(cgov_job *j);
bool client_job_queued(cgov_job *j);
