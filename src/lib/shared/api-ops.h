/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The public API has two implementations: the embedded governor (the core
 * and a backend: internal.h) and the client of a cgovd (client.c). Each is
 * a table of these operations; api.c checks a call's arguments and hands it
 * to the table of the handle it was given. Every handle of either mode
 * (cgov, cgov_pool, cgov_job) begins with an ApiHandle, so api.c needs no
 * mode's struct layout. The tables: api_embedded (core/internal.h) and
 * api_client (client/client.h). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgov.h"

typedef struct ApiOps {
        void (*close)(cgov *g);

        int (*pool_create)(cgov *g, const char *path, const struct cgov_pool_limits *lim, cgov_pool **ret);
        int (*pool_find)(cgov *g, const char *path, cgov_pool **ret);
        int (*pool_set_limits)(cgov_pool *p, const struct cgov_pool_limits *lim);
        int (*pool_release)(cgov_pool *p);
        int (*pool_status)(cgov_pool *p, struct cgov_pool_status *st);
        const char *(*pool_path)(cgov_pool *p);
        const char *(*pool_cgroup)(cgov_pool *p);

        /* Each checks spec with job_spec_check(). */
        int (*submit)(cgov_pool *p, const struct cgov_job_spec *spec, cgov_job **ret);
        int (*run)(cgov_pool *p, const struct cgov_job_spec *spec, struct cgov_result *res);
        int (*await)(cgov_job *j, int64_t timeout_ms, struct cgov_result *res);
        int (*kill)(cgov_job *j);
        int (*kill_matching)(cgov_pool *p, const char *name);   /* name NULL: every job (flush) */
        pid_t (*job_pid)(cgov_job *j);
        const char *(*job_cgroup)(cgov_job *j);
        void (*job_free)(cgov_job *j);

        int (*acquire)(cgov_pool *p, unsigned n);
        int (*release)(cgov_pool *p, unsigned n);
        int (*call)(cgov_pool *p, cgov_fn fn, void *arg, const struct cgov_job_spec *spec, struct cgov_result *res,
                    void **out, size_t *out_len);
} ApiOps;

typedef struct ApiHandle {
        const ApiOps *ops;
} ApiHandle;

static inline const ApiOps *api_ops(const void *handle) {
        return ((const ApiHandle *) handle)->ops;
}


